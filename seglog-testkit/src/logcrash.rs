//! Crash-state exploration of [`Log`]: seeded workloads of appends, batches, syncs,
//! truncations (into older segments too), purges and reopens run on a [`SimDir`]; at random
//! moments, including inside a roll, a truncation, a purge or a recovery, the state is
//! captured, and crash images drawn from it (each directory operation not yet made durable
//! by a directory sync kept or lost, each unsynced write landed, lost or torn) are
//! recovered on a [`LogTarget`] (the simulated directory or real files of any backend) and
//! checked against the five properties of the design brief, for the log as a whole:
//!
//! 1. every record acknowledged by `sync` (and not since truncated or purged) survives;
//! 2. the records are a contiguous run of what was appended, positions included: a prefix,
//!    with no gap, from a start no later than the durable one;
//! 3. nothing truncated or purged reads again, even after new records are appended and the
//!    log reopened;
//! 4. `Strict` refuses exactly when `Truncate` reports valid records after damage, and
//!    otherwise recovers the same records;
//! 5. a byte flipped anywhere in any file gives an error naming a path of the directory,
//!    never a panic.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use seglog_core::{Error, Log, LogOptions};

use crate::log::read_all;
use crate::simdir::SimDir;
use crate::util::{Rng, payload};

mod check;
mod race;
mod target;

pub use race::readers_at_every_event;

/// A log in a simulated directory.
type SimLog = Log<crate::simdir::SimFile, SimDir>;

use check::{check_flipped, check_image};
pub use target::{FsTarget, LogTarget, SimTarget};

/// Segment size of the workloads: a header block and a block of records.
const SEGMENT: u64 = 8192;
const STEPS: usize = 28;
/// One event in this many is a crash moment (a workload makes some 200 events).
const ONE_IN: usize = 16;
const IMAGES_PER_POINT: usize = 6;

/// One step of a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogStep {
    /// Append these payload sizes as one batch (one size: a single record).
    Append(Vec<usize>),
    /// `sync`.
    Sync,
    /// Truncate to the `n`-th record boundary of the log (modulo their number).
    Truncate(usize),
    /// Purge before the `n`-th record (modulo their number).
    Purge(usize),
    /// Drop the log and open it again.
    Reopen,
}

/// A record as the model knows it.
type Rec = (u64, Vec<u8>, bool);

/// What the log must hold at one moment.
#[derive(Clone, Debug, Default)]
struct Model {
    /// Every record appended and not truncated or purged: (position, payload, ends a batch).
    records: Vec<Rec>,
    /// The acknowledged durable end and start.
    acked_end: u64,
    start: u64,
}

/// A step's span of events and the model before and after it.
#[derive(Debug)]
struct Phase {
    events: (u64, u64),
    before: Model,
    after: Model,
}

/// What [`explore`] covered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogExploreStats {
    /// Crash images recovered and checked.
    pub states: usize,
    /// Workloads run.
    pub workloads: usize,
    /// Images that lost at least one directory operation.
    pub lost_dir_ops: usize,
    /// Images with a torn piece.
    pub torn: usize,
    /// Images `Strict` refused.
    pub strict_refusals: usize,
    /// Images with a byte flipped, checked for clear errors.
    pub flipped: usize,
    /// Crash moments inside a roll, truncation or purge (a directory operation pending).
    pub mid_dir_ops: usize,
}

impl fmt::Display for LogExploreStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} log crash states from {} workloads: {} lost a directory operation ({} moments with one pending), \
             {} torn, {} strict refusals, {} with a flipped byte",
            self.states,
            self.workloads,
            self.lost_dir_ops,
            self.mid_dir_ops,
            self.torn,
            self.strict_refusals,
            self.flipped
        )
    }
}

/// Recovery opens make no spare: fewer files, and nothing running behind the checks.
fn options() -> LogOptions {
    LogOptions::default().segment_size(SEGMENT).precreate(false)
}

/// A random workload.
pub fn workload(rng: &mut Rng) -> Vec<LogStep> {
    (0..STEPS)
        .map(|_| match rng.below(100) {
            0..=49 => {
                let n = if rng.chance(25) { 1 + rng.below(3) } else { 1 };
                LogStep::Append(
                    (0..n).map(|_| if rng.chance(5) { 3000 + rng.below(1000) } else { rng.below(1200) }).collect(),
                )
            }
            50..=74 => LogStep::Sync,
            75..=84 => LogStep::Truncate(rng.below(1000)),
            85..=92 => LogStep::Purge(rng.below(1000)),
            _ => LogStep::Reopen,
        })
        .collect()
}

/// Runs `steps` on `dir`, returning each step's phase.
/// `opened` is called with each log opened (a reader per open, say).
fn run(
    dir: &SimDir,
    steps: &[LogStep],
    salt: u64,
    precreate: bool,
    opened: &mut dyn FnMut(&SimLog),
) -> Result<Vec<Phase>, String> {
    let options = options().precreate(precreate);
    let mut log = Log::open_in(dir.clone(), options).map_err(|e| e.to_string())?;
    opened(&log);
    let mut model = Model::default();
    // A crash while the log is being created must leave an empty log (or none).
    let mut phases = vec![Phase { events: (0, dir.events()), before: model.clone(), after: model.clone() }];
    let mut counter = 0u64;
    for step in steps {
        let before = model.clone();
        let from = dir.events();
        match step {
            LogStep::Append(sizes) => {
                let payloads: Vec<Vec<u8>> = sizes
                    .iter()
                    .map(|&n| {
                        counter += 1;
                        payload(salt ^ counter, n.max(8))
                    })
                    .collect();
                let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
                match log.append_batch(&refs) {
                    Ok((mut pos, _)) => {
                        for (i, p) in payloads.iter().enumerate() {
                            model.records.push((pos, p.clone(), i + 1 == payloads.len()));
                            pos += 8 + p.len() as u64;
                        }
                    }
                    // Refused whole, nothing written: the log goes on as before.
                    Err(Error::TooLargeForSegment { .. }) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            LogStep::Sync => model.acked_end = log.sync().map_err(|e| e.to_string())?,
            LogStep::Truncate(n) => {
                let bounds: Vec<u64> = std::iter::once(model.start)
                    .chain(model.records.iter().filter(|r| r.2).map(|r| r.0 + 8 + r.1.len() as u64))
                    .collect();
                let to = bounds[n % bounds.len()];
                log.truncate(to).map_err(|e| e.to_string())?;
                model.records.retain(|r| r.0 < to);
                model.acked_end = model.acked_end.min(to);
            }
            LogStep::Purge(n) => {
                let to = model.records.get(n % model.records.len().max(1)).map_or(model.start, |r| r.0);
                let start = log.purge_before(to).map_err(|e| e.to_string())?;
                if start > to || start < model.start {
                    return Err(format!("purge before {to} moved the start from {} to {start}", model.start));
                }
                model.start = start;
                model.records.retain(|r| r.0 >= start);
            }
            LogStep::Reopen => {
                drop(log);
                log = Log::open_in(dir.clone(), options).map_err(|e| e.to_string())?;
                opened(&log);
                let got = read_all(&mut log.reader());
                let end = log.end_position();
                model.records.retain(|r| r.0 < end);
                let want: Vec<(u64, Vec<u8>)> = model.records.iter().map(|r| (r.0, r.1.clone())).collect();
                if got != want {
                    return Err(format!("reopen found {} records, not the model's {}", got.len(), want.len()));
                }
                model.acked_end = end;
                model.start = log.start_position();
            }
        }
        phases.push(Phase { events: (from, dir.events()), before, after: model.clone() });
    }
    Ok(phases)
}

/// Explores `states` crash states (at least) of seeded workloads, recovering each on `target`.
pub fn explore<T: LogTarget>(target: &mut T, seed: u64, states: usize) -> LogExploreStats {
    let mut stats = LogExploreStats::default();
    let mut rng = Rng::new(seed);
    while stats.states < states {
        let wseed = rng.next_u64();
        let mut wrng = Rng::new(wseed);
        let steps = workload(&mut wrng);
        // Half the workloads roll into segments a background thread pre-created.
        let precreate = wrng.chance(50);
        let dir = SimDir::new(target.alignment());
        dir.capture_randomly(wrng.next_u64(), ONE_IN);
        let phases = run(&dir, &steps, wseed, precreate, &mut |_| {}).unwrap_or_else(|e| {
            panic!("workload {wseed:#x} (precreate {precreate}) failed without a crash: {e}\n{steps:?}")
        });
        stats.workloads += 1;
        for (event, snap) in dir.take_captured() {
            let phase = phases.iter().find(|p| p.events.0 < event && event <= p.events.1);
            let Some(phase) = phase else { continue };
            stats.mid_dir_ops += usize::from(snap.pending_ops() > 0);
            for _ in 0..IMAGES_PER_POINT {
                let (image, lost, torn) = snap.image(&mut wrng);
                stats.states += 1;
                stats.lost_dir_ops += usize::from(lost > 0);
                stats.torn += usize::from(torn);
                let flip = wrng.chance(12);
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    if flip {
                        check_flipped(target, &image, &mut wrng)
                    } else {
                        let full = stats.states.is_multiple_of(target.full_every());
                        check_image(target, &image, phase, wseed ^ event, full)
                    }
                }));
                match outcome {
                    Ok(Ok(refused)) => {
                        stats.strict_refusals += usize::from(refused);
                        stats.flipped += usize::from(flip);
                    }
                    Ok(Err(e)) => panic!("{} (precreate {precreate})", report(wseed, event, &steps, phase, &e)),
                    Err(p) => {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                        panic!(
                            "{} (precreate {precreate})",
                            report(wseed, event, &steps, phase, &format!("panicked: {msg:?}"))
                        );
                    }
                }
            }
        }
    }
    stats
}

fn report(wseed: u64, event: u64, steps: &[LogStep], phase: &Phase, e: &str) -> String {
    format!(
        "log crash state failed: {e}\nworkload seed {wseed:#x}, crash after event {event} (step events {:?})\nsteps: {steps:?}\nmodel before: {} records, acked end {}, start {}; after: {} records, acked end {}, start {}",
        phase.events,
        phase.before.records.len(),
        phase.before.acked_end,
        phase.before.start,
        phase.after.records.len(),
        phase.after.acked_end,
        phase.after.start
    )
}
