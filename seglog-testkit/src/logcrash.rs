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
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use seglog_core::{Error, FsDir, Log, LogDir, LogOptions, OpenSegment, RecoveryMode, SegmentIo};

use crate::log::read_all;
use crate::simdir::{DirImage, SimDir};
use crate::util::{Rng, payload};

/// Segment size of the workloads: a header block and a block of records.
const SEGMENT: u64 = 8192;
const STEPS: usize = 28;
/// One event in this many is a crash moment (a workload makes some 200 events).
const ONE_IN: usize = 16;
const IMAGES_PER_POINT: usize = 6;

/// Where crash images are recovered: a simulated directory or real files.
pub trait LogTarget {
    /// The segment backend.
    type Io: SegmentIo;
    /// The directory type.
    type Dir: LogDir<Io = Self::Io>;
    /// The alignment workloads should write with (the backend's block size).
    fn alignment(&self) -> usize;
    /// A directory holding exactly `image`'s files, durable; replaces the previous one.
    fn materialise(&mut self, image: &DirImage) -> Self::Dir;
    /// Another handle on the directory last materialised, to reopen it.
    fn again(&mut self) -> Self::Dir;
    /// Every how many states the costly check (append, sync, reopen) runs: each costs
    /// several `fsync`s on real files.
    fn full_every(&self) -> usize {
        1
    }
}

/// Recovers images in a [`SimDir`].
#[derive(Debug)]
pub struct SimTarget {
    align: usize,
    dir: Option<SimDir>,
}

impl SimTarget {
    /// Images recovered in memory, with `align`-aligned I/O.
    pub fn new(align: usize) -> Self {
        Self { align, dir: None }
    }
}

impl LogTarget for SimTarget {
    type Io = crate::simdir::SimFile;
    type Dir = SimDir;
    fn alignment(&self) -> usize {
        self.align
    }
    fn materialise(&mut self, image: &DirImage) -> SimDir {
        let dir = SimDir::from_image(image, self.align);
        self.dir = Some(dir.clone());
        dir
    }
    fn again(&mut self) -> SimDir {
        self.dir.clone().unwrap_or_else(|| SimDir::new(self.align))
    }
}

/// Recovers images as real files of backend `B`, in a directory under `parent` (a real
/// file system: direct I/O refuses tmpfs).
#[derive(Debug)]
pub struct FsTarget<B> {
    root: tempfile::TempDir,
    align: usize,
    _backend: PhantomData<fn() -> B>,
}

impl<B: OpenSegment> FsTarget<B> {
    /// A target under `parent` whose workloads write `align`-aligned (4096 for direct I/O).
    pub fn new_in(parent: impl AsRef<std::path::Path>, align: usize) -> Self {
        std::fs::create_dir_all(parent.as_ref()).unwrap();
        let root = tempfile::Builder::new().prefix("seglog-logcrash-").tempdir_in(parent).unwrap();
        Self { root, align, _backend: PhantomData }
    }

    fn path(&self) -> PathBuf {
        self.root.path().join("log")
    }
}

impl<B: OpenSegment> LogTarget for FsTarget<B> {
    type Io = B;
    type Dir = FsDir<B>;
    fn alignment(&self) -> usize {
        self.align
    }
    fn materialise(&mut self, image: &DirImage) -> FsDir<B> {
        let path = self.path();
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        for (name, bytes) in &image.files {
            std::fs::write(path.join(name), bytes).unwrap();
        }
        FsDir::existing(&path).unwrap()
    }
    fn again(&mut self) -> FsDir<B> {
        FsDir::existing(self.path()).unwrap()
    }
    fn full_every(&self) -> usize {
        8
    }
}

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
fn run(dir: &SimDir, steps: &[LogStep], salt: u64, precreate: bool) -> Result<Vec<Phase>, String> {
    let options = options().precreate(precreate);
    let mut log = Log::open_in(dir.clone(), options).map_err(|e| e.to_string())?;
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
                let got = read_all(&mut log.reader());
                let end = log.end_position();
                model.records.retain(|r| r.0 < end);
                if got.len() != model.records.len() {
                    return Err(format!("reopen found {} records, the model {}", got.len(), model.records.len()));
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
        let phases = run(&dir, &steps, wseed, precreate).unwrap_or_else(|e| {
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

/// Recovers `image` and checks properties 1 to 4 (3 after later appends only if `full`);
/// returns whether `Strict` refused.
fn check_image<T: LogTarget>(
    target: &mut T,
    image: &DirImage,
    phase: &Phase,
    salt: u64,
    full: bool,
) -> Result<bool, String> {
    // Strict first: when it refuses it must have changed nothing, so Truncate then sees the
    // image as the crash left it. When it opens, it recovered what Truncate would have.
    let (refused, mut log) =
        match Log::open_in(target.materialise(image), options().recovery_mode(RecoveryMode::Strict)) {
            Ok(log) => (false, log),
            Err(Error::Damaged { .. }) => {
                (true, Log::open_in(target.again(), options()).map_err(|e| format!("Truncate failed: {e}"))?)
            }
            Err(e) => return Err(format!("Strict failed: {e}")),
        };
    if refused != log.report().valid_records_after_damage() {
        return Err(format!("Strict refused: {refused}, but the tail's report says {:?}", log.report().tail));
    }
    let got = read_all(&mut log.reader());
    let start = log.start_position();
    check_records(&got, start, log.end_position(), phase)?;
    if !full {
        return Ok(refused);
    }
    // Property 3 after later appends: new records land at the end, and only they follow.
    let mut want = got;
    for i in 0..3 {
        let p = payload(salt.wrapping_add(i), 16 + i as usize * 1500);
        let (pos, _) = log.append(&p).map_err(|e| format!("append after recovery: {e}"))?;
        want.push((pos, p));
    }
    log.sync().map_err(|e| format!("sync after recovery: {e}"))?;
    drop(log);
    let log = Log::open_in(target.again(), options()).map_err(|e| format!("reopen after appends: {e}"))?;
    let again = read_all(&mut log.reader());
    if again != want {
        return Err(format!("after appending and reopening: {} records, expected {}", again.len(), want.len()));
    }
    Ok(refused)
}

/// Properties 1 and 2 against the phase's models.
fn check_records(got: &[(u64, Vec<u8>)], start: u64, end: u64, phase: &Phase) -> Result<(), String> {
    let (b, a) = (&phase.before, &phase.after);
    let longest = if a.records.len() > b.records.len() { &a.records } else { &b.records };
    let first = got.first().map_or(end, |g| g.0);
    if first != start {
        return Err(format!("the first record is at {first}, the log starts at {start}"));
    }
    if start < b.start.min(a.start) {
        return Err(format!("the log starts at {start}, before the purged start {}", b.start.min(a.start)));
    }
    let from = longest.iter().position(|r| r.0 >= start).unwrap_or(longest.len());
    for (i, (pos, data)) in got.iter().enumerate() {
        match longest.get(from + i) {
            Some(r) if r.0 == *pos && r.1 == *data => {}
            other => {
                return Err(format!("record {i} at {pos} is not what was appended there ({:?})", other.map(|r| r.0)));
            }
        }
    }
    let must_from = b.start.max(a.start);
    let must_end = b.acked_end.min(a.acked_end);
    if start > must_from && must_from < must_end {
        return Err(format!("the log starts at {start}, past the durable start {must_from}"));
    }
    if must_end > must_from && end < must_end {
        return Err(format!("acknowledged records lost: the log ends at {end}, {must_end} was acknowledged"));
    }
    Ok(())
}

/// Property 5: flips one byte of one file and recovers; any error must name a path in the
/// directory. Never panics (the caller catches one as a failure).
fn check_flipped<T: LogTarget>(target: &mut T, image: &DirImage, rng: &mut Rng) -> Result<bool, String> {
    let mut image = image.clone();
    let names: Vec<String> = image.files.keys().cloned().collect();
    if let Some(name) = names.get(rng.below(names.len())) {
        let bytes = image.files.get_mut(name).unwrap();
        if !bytes.is_empty() {
            let at = if rng.chance(50) { rng.below(bytes.len().min(128)) } else { rng.below(bytes.len()) };
            bytes[at] ^= 1 << rng.below(8);
        }
    }
    let dir = target.materialise(&image);
    let root = dir.path().to_path_buf();
    let named = |e: &Error| {
        let text = e.to_string();
        if text.contains(&*root.to_string_lossy()) {
            Ok(())
        } else {
            Err(format!("error names no file of the log: {text}"))
        }
    };
    match Log::open_in(dir, options()) {
        Ok(log) => {
            let mut r = log.reader();
            let start = r.start_position();
            let mut it = r.iter(start);
            loop {
                match it.next_record() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return named(&e).map(|()| false),
                }
            }
            Ok(false)
        }
        Err(e) => named(&e).map(|()| false),
    }
}
