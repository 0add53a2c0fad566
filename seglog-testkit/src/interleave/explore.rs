//! The schedule explorer: every point of a workload's backend calls x every actor step.

use std::sync::Arc;

use super::hooked::{Hooks, Point};

/// One schedule: run actor step `step` at `point`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Where the actor runs.
    pub point: Point,
    /// Which of the workload's actor steps runs there (the workload decides what each is).
    pub step: usize,
}

/// What [`explore`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Explored {
    /// Points the workload passed with no actor armed.
    pub points: usize,
    /// Schedules run (points x steps), each with its actor run exactly once.
    pub schedules: usize,
}

/// Runs `workload` once with no actor, to learn the points its backend calls pass, then
/// once per point and actor step with that step armed there.
///
/// `workload(hooks, schedule)` must build everything afresh on each run (a new segment
/// through the harness), put its backend behind [`Hooked`](super::Hooked) with `hooks`,
/// arm the actor for `schedule` with [`Hooks::at`] if there is one, run, and assert what it
/// must see. Runs are single-threaded and deterministic, so the points before the armed
/// one are those of the first run and every schedule reproduces. Panics if an armed actor
/// never ran: a schedule that tests nothing is a bug in the workload.
pub fn explore(steps: usize, mut workload: impl FnMut(&Arc<Hooks>, Option<Schedule>)) -> Explored {
    let hooks = Hooks::new();
    workload(&hooks, None);
    let points = hooks.trace();
    let mut explored = Explored { points: points.len(), schedules: 0 };
    for &point in &points {
        for step in 0..steps {
            let hooks = Hooks::new();
            let schedule = Schedule { point, step };
            workload(&hooks, Some(schedule));
            assert_eq!(hooks.fired(), 1, "the actor armed for {schedule:?} did not run exactly once");
            explored.schedules += 1;
        }
    }
    explored
}
