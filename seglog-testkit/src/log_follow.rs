//! Checks for [`LogFollower`]: following a log from outside its writer across rolls,
//! truncations into older segments and purges, with the writer's step forced into every
//! backend call the follower makes ([`interleave::explore`](crate::interleave::explore)).
//! File backends run them ([`file_backend_tests!`](crate::file_backend_tests)).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use seglog_core::log::DATA_START;
use seglog_core::{Error, Log, LogFollower, OpenSegment};

use crate::FileHarness;
use crate::interleave::{Hooked, Hooks, explore};
use crate::log::small;
use crate::util::payload;

/// Records of this size: 8 fill a segment of [`small`] options.
const LEN: usize = 480;

/// Segment files a test can reach, to attach hooks to before they exist.
const SEGMENTS: u64 = 12;

fn record(i: u64) -> Vec<u8> {
    payload(0xf0 + i, LEN)
}

fn attach(hooks: &Arc<Hooks>, dir: &Path) {
    for seq in 1..=SEGMENTS {
        hooks.attach(&dir.join(format!("{seq:020}.seg")));
    }
}

fn detach(dir: &Path) {
    for seq in 1..=SEGMENTS {
        Hooks::detach(&dir.join(format!("{seq:020}.seg")));
    }
}

fn fresh(h: &FileHarness<impl OpenSegment>, name: &str, n: &mut u32) -> PathBuf {
    *n += 1;
    h.dir().join(format!("{name}-{n}"))
}

/// Polls until the follower has nothing more; returns (position, payload) of each record
/// and the errors met on the way.
fn drain<B: OpenSegment>(f: &mut LogFollower<B>) -> (Vec<(u64, Vec<u8>)>, Vec<Error>) {
    let (mut got, mut errors) = (Vec::new(), Vec::new());
    loop {
        match f.poll() {
            Ok(Some(r)) => got.push((r.position(), r.to_vec())),
            Ok(None) => return (got, errors),
            Err(e) => {
                assert!(errors.len() < 4, "errors without end: {errors:?} then {e}");
                errors.push(e);
            }
        }
    }
}

/// The writer rolls to a new segment (sync included) at every call the follower makes
/// while it reads the last records of a segment and looks for the next: the follower
/// yields every record once, in order, and only durable ones.
pub fn log_follower_across_a_roll<B: OpenSegment>(h: &mut FileHarness<B>) {
    let mut n = 0;
    let explored = explore(1, |hooks, schedule| {
        let dir = fresh(h, "roll", &mut n);
        let mut log = Log::<B>::open(&dir, small()).unwrap();
        let mut want: Vec<(u64, Vec<u8>)> = Vec::new();
        for i in 0..7 {
            want.push((log.append(&record(i)).unwrap().0, record(i)));
        }
        log.sync().unwrap();
        attach(hooks, &dir);
        // Opened at the race: every call it makes (listing, headers, records) is a point.
        let mut f = LogFollower::<Hooked<B>>::open(&dir, want[5].0).unwrap();
        hooks.reset_counts();
        let log = Arc::new(Mutex::new(log));
        let added = Arc::new(Mutex::new(Vec::new()));
        if let Some(s) = schedule {
            let (log, added) = (Arc::clone(&log), Arc::clone(&added));
            hooks.at(s.point, move || {
                let mut log = log.lock().unwrap();
                for i in 7..10 {
                    let (pos, _) = log.append(&record(i)).unwrap();
                    added.lock().unwrap().push((pos, record(i)));
                }
                log.sync().unwrap();
                assert!(log.segments().len() >= 2, "the actor must roll");
            });
        }
        let (got, errors) = drain(&mut f);
        hooks.stop();
        detach(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        if schedule.is_none() {
            // The race's second half, without a race: the same roll after the fact.
            assert_eq!(got, want[5..]);
            return;
        }
        let (got_later, errors) = drain(&mut f);
        assert!(errors.is_empty(), "{errors:?}");
        let all: Vec<_> = want[5..].iter().chain(added.lock().unwrap().iter()).cloned().collect();
        let seen: Vec<_> = got.into_iter().chain(got_later).collect();
        assert_eq!(seen, all, "at {schedule:?}");
        assert!(f.position() > DATA_START, "{}", f.position());
    });
    assert!(explored.schedules >= 2, "{explored:?}");
}

/// While the follower reads in a later segment, the writer truncates into an older one
/// and appends different records: the follower never yields a record the truncation
/// removed once it has happened, reports the cut, and then yields the new records.
pub fn log_follower_across_a_truncation<B: OpenSegment>(h: &mut FileHarness<B>) {
    let mut n = 0;
    let explored = explore(1, |hooks, schedule| {
        let dir = fresh(h, "cut", &mut n);
        let mut log = Log::<B>::open(&dir, small()).unwrap();
        let old: Vec<(u64, Vec<u8>)> = (0..14).map(|i| (log.append(&record(i)).unwrap().0, record(i))).collect();
        log.sync().unwrap();
        // A cut in the first segment, the follower in the second.
        let cut = old[3].0;
        attach(hooks, &dir);
        let mut f = LogFollower::<Hooked<B>>::open(&dir, old[10].0).unwrap();
        hooks.reset_counts();
        let log = Arc::new(Mutex::new(log));
        let new: Vec<Vec<u8>> = (100..103).map(record).collect();
        let cut_done = Arc::new(Mutex::new(false));
        if let Some(s) = schedule {
            let (log, new, cut_done) = (Arc::clone(&log), new.clone(), Arc::clone(&cut_done));
            hooks.at(s.point, move || {
                let mut log = log.lock().unwrap();
                log.truncate(cut).unwrap();
                *cut_done.lock().unwrap() = true;
                for r in &new {
                    log.append(r).unwrap();
                }
                log.sync().unwrap();
            });
        }
        let first = f.poll().map(|r| r.map(|r| (r.position(), r.to_vec())));
        hooks.stop();
        detach(&dir);
        let Some(s) = schedule else {
            assert_eq!(first.unwrap(), Some(old[10].clone()));
            return;
        };
        match first {
            // Read before the cut began: an old record, still there then.
            Ok(Some(r)) => {
                assert!(!*cut_done.lock().unwrap() || r.0 < cut, "at {s:?} yielded {} past the cut", r.0);
                assert_eq!(r, old[10]);
            }
            Ok(None) => {}
            Err(Error::Truncated { truncated_to, .. }) => assert_eq!(truncated_to, cut),
            Err(e) => panic!("at {s:?}: {e}"),
        }
        let (got, errors) = drain(&mut f);
        assert!(errors.len() <= 1, "{errors:?}");
        if let Some(e) = errors.first() {
            assert!(matches!(e, Error::Truncated { truncated_to, .. } if *truncated_to == cut), "{e}");
        }
        let payloads: Vec<Vec<u8>> = got.iter().map(|g| g.1.clone()).collect();
        assert_eq!(payloads, new, "at {s:?}: after the cut, only the new records");
        assert_eq!(got.first().map(|g| g.0), Some(cut));
    });
    assert!(explored.schedules >= 2, "{explored:?}");
}

/// While the follower reads the first segment, the writer purges past it: the follower
/// never yields a purged record once the purge has happened, reports it, and goes on from
/// the new start.
pub fn log_follower_across_a_purge<B: OpenSegment>(h: &mut FileHarness<B>) {
    let mut n = 0;
    let explored = explore(1, |hooks, schedule| {
        let dir = fresh(h, "purge", &mut n);
        let mut log = Log::<B>::open(&dir, small()).unwrap();
        let all: Vec<(u64, Vec<u8>)> = (0..30).map(|i| (log.append(&record(i)).unwrap().0, record(i))).collect();
        log.sync().unwrap();
        attach(hooks, &dir);
        let mut f = LogFollower::<Hooked<B>>::open(&dir, all[1].0).unwrap();
        hooks.reset_counts();
        let log = Arc::new(Mutex::new(log));
        let start = Arc::new(Mutex::new(None));
        if let Some(s) = schedule {
            let (log, start, to) = (Arc::clone(&log), Arc::clone(&start), all[20].0);
            hooks.at(s.point, move || {
                *start.lock().unwrap() = Some(log.lock().unwrap().purge_before(to).unwrap());
            });
        }
        let first = f.poll().map(|r| r.map(|r| (r.position(), r.to_vec())));
        hooks.stop();
        detach(&dir);
        let Some(s) = schedule else {
            assert_eq!(first.unwrap(), Some(all[1].clone()));
            return;
        };
        let start = start.lock().unwrap().unwrap();
        assert!(start > all[1].0, "the purge must pass the follower");
        match first {
            // Read before the purge's commit point: still in the log then.
            Ok(Some(r)) => assert_eq!(r, all[1]),
            Ok(None) => {}
            Err(Error::Purged { start: s2, .. }) => assert_eq!(s2, start),
            Err(e) => panic!("at {s:?}: {e}"),
        }
        let (got, errors) = drain(&mut f);
        assert!(errors.len() <= 1, "{errors:?}");
        let want: Vec<_> = all.iter().filter(|r| r.0 >= start).cloned().collect();
        assert_eq!(got, want, "at {s:?}: after the purge, the records from the new start");
    });
    assert!(explored.schedules >= 2, "{explored:?}");
}

/// The follower sees only what `sync` made durable, and waits for more.
pub fn log_follower_sees_only_durable_records<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = h.dir().join("durable");
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let mut f = LogFollower::<B>::open(&dir, 0).unwrap();
    assert!(f.poll().unwrap().is_none());
    let (a, _) = log.append(&record(1)).unwrap();
    assert!(f.poll().unwrap().is_none(), "an unsynced record");
    log.sync().unwrap();
    let got = f.wait(std::time::Duration::from_secs(5)).unwrap().map(|r| (r.position(), r.to_vec()));
    assert_eq!(got, Some((a, record(1))));
    assert!(f.wait(std::time::Duration::from_millis(10)).unwrap().is_none());
    assert_eq!(f.durable_end(), f.position());
}
