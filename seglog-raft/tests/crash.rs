//! Power loss at every step: the scenario runs on the testkit's simulated directory, which
//! captures what a crash could leave after each of its events (file writes not yet synced
//! torn or lost, directory operations not yet synced lost or kept); each image reopens to a
//! store that holds every acknowledged write and nothing cut or purged.

mod common;

use std::collections::BTreeSet;

use common::{C, Model, Op, apply, observe, scenario};
use openraft::alias::LogIdOf;
use openraft::type_config::TypeConfigExt;
use seglog_core::LogOptions;
use seglog_raft::LogStore;
use seglog_testkit::simdir::SimDir;
use seglog_testkit::util::{Rng, env_number};

/// One completed operation: the simulated directory's event count before and after it
/// (every callback awaited), and the model after it.
struct Step {
    start: u64,
    end: u64,
    op: Op,
    after: Model,
}

fn options() -> LogOptions {
    // No background pre-creation: the events then happen in the same order every run.
    LogOptions::default().segment_size(16 << 10).precreate(false)
}

/// Checks the store a crash right after event `e` left.
fn check(e: u64, seen: &Model, steps: &[Step]) {
    let before = steps.iter().rev().find(|s| s.end <= e).map(|s| s.after.clone()).unwrap_or_default();
    let inflight = steps.iter().find(|s| s.start < e && e < s.end);
    let after = inflight.map_or(&before, |s| &s.after);
    let what = || format!("crash after event {e}, during {:?}", inflight.map(|s| &s.op));
    assert!(seen.vote == before.vote || seen.vote == after.vote, "{}: vote {:?}", what(), seen.vote);
    assert!(seen.purged == before.purged || seen.purged == after.purged, "{}: purged {:?}", what(), seen.purged);
    if let Some(Step { op: Op::AppendThenVote { .. }, .. }) = inflight
        && seen.vote == after.vote
    {
        assert_eq!(seen.entries, after.entries, "{}: the vote is durable, so are the appends before it", what());
    }
    let purged_next = seen.purged.map_or(0, |p| p.index() + 1);
    let allowed: BTreeSet<LogIdOf<C>> = before.entries.values().chain(after.entries.values()).cloned().collect();
    for id in seen.entries.values() {
        assert!(allowed.contains(id), "{}: entry {id} was cut, purged or never appended", what());
    }
    for (i, id) in &before.entries {
        let required = *i >= purged_next && after.entries.get(i) == Some(id);
        if required {
            assert_eq!(seen.entries.get(i), Some(id), "{}: acknowledged entry {i} lost", what());
        }
    }
    if let Some(c) = seen.committed {
        let backed = seen.purged.is_some_and(|p| c.index() <= p.index()) || seen.entries.get(&c.index()) == Some(&c);
        assert!(backed, "{}: committed {c} is not in the log", what());
    }
}

fn crash_at_every_step(align: usize) {
    let images = env_number("SEGLOG_RAFT_CRASH_IMAGES", 10);
    let mut rng = Rng::new(env_number("SEGLOG_RAFT_CRASH_SEED", 15));
    C::run(async {
        let sim = SimDir::new(align);
        sim.capture_at(1..=1_000_000);
        let mut store = LogStore::<C, _, _>::open_in(sim.clone(), options()).expect("open");
        let mut model = Model::default();
        let mut steps = Vec::new();
        for op in scenario() {
            let start = sim.events();
            apply(&mut store, &mut model, &op).await.expect("apply");
            steps.push(Step { start, end: sim.events(), op, after: model.clone() });
        }
        drop(store);
        let captured = sim.take_captured();
        assert!(captured.len() > 100, "the scenario makes over a hundred events, got {}", captured.len());
        let mut checked = 0;
        for (e, snapshot) in &captured {
            for _ in 0..images {
                let (image, _, _) = snapshot.image(&mut rng);
                let mut store = LogStore::<C, _, _>::open_in(SimDir::from_image(&image, align), options())
                    .unwrap_or_else(|err| panic!("crash after event {e}: reopen failed: {err}"));
                let seen = observe(&mut store).await.expect("observe");
                check(*e, &seen, &steps);
                checked += 1;
            }
        }
        eprintln!("checked {checked} crash images over {} events", captured.len());
    });
}

#[test]
fn crash_at_every_step_buffered() {
    crash_at_every_step(1);
}

#[test]
fn crash_at_every_step_aligned() {
    crash_at_every_step(4096);
}
