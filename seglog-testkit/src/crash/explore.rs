//! The explorer: seeded workloads, random crash states of them, and shrinking a failing
//! case to a minimal one before reporting it.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use super::check::{Expect, Outcome, check_image};
use super::workload::{Run, random_state, run};
use super::{Landed, Piece, Step, Workload};
use crate::Harness;
use crate::util::Rng;

/// Crash points taken per workload, and crash states per crash point.
const POINTS: usize = 8;
const STATES_PER_POINT: usize = 8;

/// Shrinking stops after this many attempts or this long, whichever comes first.
const SHRINK_TRIES: usize = 2000;
const SHRINK_TIME: Duration = Duration::from_secs(120);

/// What [`explore`] covered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExploreStats {
    /// Crash states materialised and checked.
    pub states: usize,
    /// Workloads run.
    pub workloads: usize,
    /// Crash points (moments in a workload) the states were taken at.
    pub crash_points: usize,
    /// Crashes inside workloads ([`Step::Crash`]), each recovered and appended past.
    pub workload_crashes: usize,
    /// States with a torn piece.
    pub torn_pieces: usize,
    /// States where recovery found a torn tail (damage with nothing valid after it).
    pub torn_tails: usize,
    /// States where strict recovery refused because valid records followed the damage.
    pub strict_refusals: usize,
    /// Appended records lost in the crashes (never acknowledged ones, by property 1).
    pub records_lost: usize,
}

impl fmt::Display for ExploreStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} crash states at {} crash points of {} workloads (with {} crashes recovered mid-workload): \
             {} with a torn piece, {} torn tails, {} strict refusals, {} unacknowledged records lost",
            self.states,
            self.crash_points,
            self.workloads,
            self.workload_crashes,
            self.torn_pieces,
            self.torn_tails,
            self.strict_refusals,
            self.records_lost
        )
    }
}

/// A moment of a workload: during step `step` (`steps.len()` is the final drop of the
/// writer), after `events` of the backend writes and syncs it made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashPoint {
    /// The step.
    pub step: usize,
    /// Backend events of that step that happened before the crash.
    pub events: usize,
}

/// One case of the explorer: a workload, and optionally a crash state of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// What ran.
    pub workload: Workload,
    /// When the power went; `None` checks the workload alone, without a crash.
    pub crash: Option<CrashPoint>,
    /// Which pending pieces reached the disk, in the order they landed.
    pub landed: Vec<Landed>,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  workload: {}", self.workload)?;
        match self.crash {
            None => write!(f, "  no crash"),
            Some(c) => write!(f, "  crash: during step {} after {} of its backend events", c.step, c.events),
        }
    }
}

/// Runs `case` on `h` and checks every recovery property; `Err` names the first violated.
pub fn check_case<H: Harness>(h: &mut H, case: &Case) -> Result<(), String> {
    eval(h, case).1.map(|_| ())
}

/// Runs `case`, returning it with its crash point and pieces normalised to what the run
/// has, and the outcome.
fn eval<H: Harness>(h: &mut H, case: &Case) -> (Case, Result<Outcome, String>) {
    let mut norm = case.clone();
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<Outcome, String> {
        let run = run(h, &case.workload)?;
        let Some(cp) = case.crash else { return Ok(Outcome::default()) };
        let at = run.position(cp.step, cp.events);
        let (step, events) = run.locate(at);
        norm.crash = Some(CrashPoint { step, events });
        let snap = run.log.snapshot(at);
        norm.landed.retain(|l| snap.piece(l).is_some());
        let ex = Expect {
            start: case.workload.start,
            appended: run.appended(at),
            acked: run.acked(at),
            salt: case.workload.salt,
        };
        check_image(h, &ex, &snap.image(&norm.landed))
    }));
    let outcome = outcome.unwrap_or_else(|p| {
        let what = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(format!("panic: {}", what.unwrap_or_default()))
    });
    (norm, outcome)
}

/// The crash state in words: the pending writes and the pieces of them that landed.
fn describe<H: Harness>(h: &mut H, case: &Case) -> String {
    let Some(cp) = case.crash else { return String::new() };
    let Ok(run) = catch_unwind(AssertUnwindSafe(|| run(h, &case.workload))) else { return String::new() };
    let Ok(run) = run else { return String::new() };
    let at = run.position(cp.step, cp.events);
    let snap = run.log.snapshot(at);
    let mut out = format!(
        "  records acknowledged up to offset {}; {} records appended in all\n  pending writes since the last sync (or crash):",
        run.acked(at),
        run.appended_total()
    );
    for (i, (offset, data)) in snap.pending.iter().enumerate() {
        out += &format!("\n    write #{i}: {} bytes at {offset}", data.len());
    }
    out += "\n  pieces that landed, in order:";
    if case.landed.is_empty() {
        out += " none";
    }
    for l in &case.landed {
        let Some(Piece { write, offset, len }) = snap.piece(l) else { continue };
        let how = l.prefix.map_or("whole".to_string(), |n| format!("TORN: only its first {n} bytes landed"));
        out += &format!("\n    write #{write} bytes [{offset}, {}): {how}", offset + len as u64);
    }
    out
}

/// The property a failure message names (the text before the first colon).
fn property(msg: &str) -> &str {
    msg.split(':').next().unwrap_or(msg)
}

/// Runs seeded random workloads on `h` and checks `states` crash states of them (at
/// least; whole crash points are finished). Deterministic for a given `seed`.
///
/// # Panics
///
/// On the first violated property, with the seed, the violated property, and a case
/// shrunk to as few steps and landed pieces as still fail the same way.
pub fn explore<H: Harness>(h: &mut H, seed: u64, states: usize) -> ExploreStats {
    let mut stats = ExploreStats::default();
    let mut rng = Rng::new(seed);
    while stats.states < states {
        let workload = Workload::random(&mut rng);
        let index = stats.workloads;
        stats.workloads += 1;
        let run = match run(h, &workload) {
            Ok(run) => run,
            Err(msg) => fail(h, seed, index, Case { workload, crash: None, landed: Vec::new() }, msg),
        };
        stats.workload_crashes += workload.steps.iter().filter(|s| matches!(s, Step::Crash(_))).count();
        for at in crash_positions(&run, &mut rng) {
            stats.crash_points += 1;
            let snap = run.log.snapshot(at);
            let pieces = snap.pieces();
            let ex =
                Expect { start: workload.start, appended: run.appended(at), acked: run.acked(at), salt: workload.salt };
            let k = if pieces.len() <= 1 { 1 + pieces.len() } else { STATES_PER_POINT };
            for _ in 0..k {
                let landed = random_state(&mut rng, &pieces);
                let result = catch_unwind(AssertUnwindSafe(|| check_image(h, &ex, &snap.image(&landed))));
                stats.states += 1;
                match result {
                    Ok(Ok(o)) => {
                        stats.torn_pieces += usize::from(landed.iter().any(|l| l.prefix.is_some()));
                        stats.torn_tails += usize::from(o.torn_tail);
                        stats.strict_refusals += usize::from(o.strict_refused);
                        stats.records_lost += o.lost;
                    }
                    failed => {
                        let msg = match failed {
                            Ok(Err(msg)) => msg,
                            _ => "panic: while checking (see the panic above)".to_string(),
                        };
                        let (step, events) = run.locate(at);
                        let case =
                            Case { workload: workload.clone(), crash: Some(CrashPoint { step, events }), landed };
                        fail(h, seed, index, case, msg)
                    }
                }
            }
        }
    }
    stats
}

/// Shrinks the failing `case` and panics with it.
fn fail<H: Harness>(h: &mut H, seed: u64, workload: usize, case: Case, msg: String) -> ! {
    let original = (case.workload.steps.len(), case.landed.len());
    let (min, msg, described) = shrink(h, case, msg);
    panic!(
        "crash explorer: {msg}\n  seed {seed} (SEGLOG_CRASH_SEED={seed}), workload #{workload}; \
         shrunk from {} steps and {} landed pieces to {} and {}:\n{min}\n{described}\n  as a value: {min:?}",
        original.0,
        original.1,
        min.workload.steps.len(),
        min.landed.len()
    )
}

/// Greedily removes steps and landed pieces, untears and halves appends, keeping each
/// change after which the case still violates the same property.
fn shrink<H: Harness>(h: &mut H, case: Case, msg: String) -> (Case, String, String) {
    let (mut best, first) = eval(h, &case);
    let mut msg = match first {
        Err(m) => m,
        Ok(_) => return (case, msg, "  (the case did not fail again when rerun)".into()),
    };
    let deadline = Instant::now() + SHRINK_TIME;
    let mut tries = 0;
    let mut attempt = |h: &mut H, cand: Case, best: &mut Case, msg: &mut String| -> bool {
        if tries >= SHRINK_TRIES || Instant::now() > deadline || cand == *best {
            return false;
        }
        tries += 1;
        match eval(h, &cand) {
            (norm, Err(m)) if property(&m) == property(msg) => {
                (*best, *msg) = (norm, m);
                true
            }
            _ => false,
        }
    };
    loop {
        let mut progress = false;
        // Steps after the crash cannot matter much: try dropping them all at once.
        if let Some(cp) = best.crash
            && cp.step + 1 < best.workload.steps.len()
        {
            let mut cand = best.clone();
            cand.workload.steps.truncate(cp.step + 1);
            progress |= attempt(h, cand, &mut best, &mut msg);
        }
        // Landed pieces, in halves, quarters, …, then one at a time.
        let mut chunk = best.landed.len().div_ceil(2).max(1);
        while chunk >= 1 && !best.landed.is_empty() {
            let mut i = 0;
            while i < best.landed.len() {
                let mut cand = best.clone();
                cand.landed.drain(i..(i + chunk).min(cand.landed.len()));
                if attempt(h, cand, &mut best, &mut msg) {
                    progress = true;
                } else {
                    i += chunk;
                }
            }
            chunk /= 2;
        }
        if let Some(i) = best.landed.iter().position(|l| l.prefix.is_some()) {
            let mut cand = best.clone();
            cand.landed[i].prefix = None;
            progress |= attempt(h, cand, &mut best, &mut msg);
        }
        // Steps, one at a time, from the last; the crash point moves with its step.
        for i in (0..best.workload.steps.len()).rev() {
            let Some(mut cand) = without_step(&best, i) else { continue };
            if attempt(h, cand.clone(), &mut best, &mut msg) {
                progress = true;
                continue;
            }
            if let Step::Append(len) = best.workload.steps[i]
                && len > 0
            {
                cand = best.clone();
                cand.workload.steps[i] = Step::Append(len / 2);
                progress |= attempt(h, cand, &mut best, &mut msg);
            }
        }
        if !progress {
            let described = describe(h, &best);
            return (best, msg, described);
        }
    }
}

/// `case` without step `i`, unless the crash happens during it.
fn without_step(case: &Case, i: usize) -> Option<Case> {
    let mut cand = case.clone();
    if let Some(cp) = &mut cand.crash {
        match i.cmp(&cp.step) {
            std::cmp::Ordering::Equal => return None,
            std::cmp::Ordering::Less => cp.step -= 1,
            std::cmp::Ordering::Greater => {}
        }
    }
    cand.workload.steps.remove(i);
    Some(cand)
}

/// Log positions to crash at, mostly ones with unsynced writes pending.
fn crash_positions(run: &Run, rng: &mut Rng) -> Vec<usize> {
    let base = run.acks.first().map_or(0, |a| a.0);
    let mut pending = 0;
    let mut interesting = Vec::new();
    for (i, event) in run.log.events().iter().enumerate() {
        match event {
            super::Event::Write { .. } => pending += 1,
            super::Event::Sync | super::Event::Crash { .. } => pending = 0,
        }
        if pending > 0 && i + 1 >= base {
            interesting.push(i + 1);
        }
    }
    let total = run.log.len();
    (0..POINTS)
        .map(|_| match interesting.len() {
            n if n > 0 && rng.chance(85) => interesting[rng.below(n)],
            _ => base + rng.below(total - base + 1),
        })
        .collect()
}
