//! Checks of the sidecar and of followers in other processes (issue 10, defects 3, 4, 5
//! and 10), with the interleaving harness where a race is involved.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use seglog_core::sidecar::{Published, read_sidecar, sidecar_path};
use seglog_core::{Error, Follower, OpenSegment, Writer};

use crate::FileHarness;
use crate::interleave::{Call, Hooked, Hooks, Point, explore};
use crate::util::payload;

/// Every record a fresh follower yields now.
fn drain<B: OpenSegment>(path: &Path) -> Vec<Vec<u8>> {
    let mut f = Follower::<B>::open(path, 0).unwrap();
    std::iter::from_fn(|| f.poll().unwrap().map(|r| r.to_vec())).collect()
}

fn published(path: &Path) -> Option<Published> {
    read_sidecar(&std::fs::File::open(sidecar_path(path)).unwrap()).unwrap()
}

/// A fresh segment path for each run of an exploration.
fn fresh(dir: &Path, name: &str, n: &mut usize) -> PathBuf {
    *n += 1;
    dir.join(format!("{name}-{n}.log"))
}

/// Defect 3 of issue 10: `truncate` wrote the cut to the sidecar before its `fdatasync`,
/// unbounded by the durable end, so a follower polling during a truncation (or after one
/// whose sync failed: the same state) yielded records no sync had covered.
///
/// The writer appends `a`, syncs, appends `b` and `c`, and truncates to the end of `b`. At
/// every point of the truncation's backend calls a new follower drains the segment: it may
/// see `b` only once the truncation's sync has returned.
pub fn sidecar_never_claims_more_than_is_durable<B: OpenSegment>(h: &mut FileHarness<B>) {
    let (a, b, c) = (payload(1, 100), payload(2, 100), payload(3, 100));
    let mut n = 0;
    let mut first_run: Vec<Point> = Vec::new();
    let explored = explore(1, |hooks, schedule| {
        let path = fresh(h.dir(), "cut", &mut n);
        hooks.attach(&path);
        let mut w = Writer::<Hooked<B>>::create(&path, 64 << 10, 0).unwrap();
        w.append(&a).unwrap();
        let durable = w.sync().unwrap();
        w.append(&b).unwrap();
        let (cut, _) = w.append(&c).unwrap();
        hooks.reset_counts();
        if let Some(s) = schedule {
            let synced_at = first_run.iter().position(|p| *p == Point::after(Call::Sync, 0));
            let b_is_durable = first_run.iter().position(|p| *p == s.point) >= synced_at;
            let (path, a, b) = (path.clone(), a.clone(), b.clone());
            hooks.at(s.point, move || {
                let got = drain::<B>(&path);
                let allowed = if b_is_durable { vec![a, b] } else { vec![a] };
                assert!(allowed.starts_with(&got), "at {:?} a follower yielded {} records", s.point, got.len());
                let end = published(&path).map(|p| p.end);
                assert!(end <= Some(durable) || b_is_durable, "at {:?} the sidecar claims {end:?}", s.point);
            });
        }
        w.truncate(cut).unwrap();
        drop(w);
        if schedule.is_none() {
            first_run = hooks.trace();
        }
        Hooks::detach(&path);
        assert_eq!(drain::<B>(&path), vec![a.clone(), b.clone()]);
    });
    assert!(explored.schedules >= 4, "{explored:?}");
}

/// Defect 4 of issue 10: a follower's generation moved only when it refreshed the sidecar
/// before a read, so a truncation plus an append landing during its `pread` was read under
/// the old end: it yielded a record that was never synced.
///
/// At every point of a follower's poll, the writer truncates to the follower's position,
/// appends a record of the same size there and dies before syncing it. The follower must
/// yield nothing; once a new writer has recovered (and synced) the record, it yields it.
pub fn follower_rechecks_the_sidecar_after_reading<B: OpenSegment>(h: &mut FileHarness<B>) {
    let (first, old, unsynced) = (payload(4, 60), payload(5, 60), payload(6, 60));
    let mut n = 0;
    let explored = explore(1, |hooks, schedule| {
        let path = fresh(h.dir(), "recheck", &mut n);
        let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
        w.append(&first).unwrap();
        let cut = w.sync().unwrap();
        hooks.attach(&path);
        let mut f = Follower::<Hooked<B>>::open(&path, 0).unwrap();
        assert_eq!(f.poll().unwrap().map(|r| r.to_vec()), Some(first.clone()));
        w.append(&old).unwrap();
        w.sync().unwrap();
        let writer = Arc::new(Mutex::new(Some(w)));
        hooks.reset_counts();
        if let Some(s) = schedule {
            let (writer, unsynced) = (Arc::clone(&writer), unsynced.clone());
            hooks.at(s.point, move || {
                let mut w = writer.lock().unwrap().take().unwrap();
                w.truncate(cut).unwrap();
                w.append(&unsynced).unwrap();
                drop(w); // the record reaches the file, never synced
            });
        }
        let got = f.poll().unwrap().map(|r| r.to_vec());
        Hooks::detach(&path);
        if schedule.is_none() {
            assert_eq!(got, Some(old.clone()));
            return;
        }
        assert_eq!(got, None, "at {:?} the follower yielded a record across a truncation", schedule);
        let mut w = Writer::<B>::open(&path, 0).unwrap();
        assert_eq!(f.poll().unwrap().map(|r| (r.offset(), r.to_vec())), Some((cut, unsynced.clone())));
        w.append(b"more").unwrap();
        w.sync().unwrap();
        assert_eq!(f.poll().unwrap().map(|r| r.to_vec()), Some(b"more".to_vec()));
    });
    assert!(explored.schedules >= 2, "{explored:?}");
}

/// Defect 5 of issue 10: a follower kept the deleted segment's descriptor; once a new
/// segment was made under the same name it read the deleted file under the new file's
/// end, then failed forever. It must follow the new file from its start.
pub fn follower_follows_a_recreated_segment<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    for remove_sidecar in [false, true] {
        let mut w = Writer::<B>::create(&path, 64 << 10, 16).unwrap();
        for i in 0..3 {
            w.append(&payload(10 + i, 40)).unwrap();
        }
        w.sync().unwrap();
        let mut f = Follower::<B>::open(&path, 16).unwrap();
        assert_eq!(f.poll().unwrap().map(|r| r.to_vec()), Some(payload(10, 40)));
        drop(w);
        std::fs::remove_file(&path).unwrap();
        if remove_sidecar {
            std::fs::remove_file(sidecar_path(&path)).unwrap();
        }
        // Deleted, not yet made again: the follower goes on with the file it holds.
        assert_eq!(f.poll().unwrap().map(|r| r.to_vec()), Some(payload(11, 40)));
        let mut w = Writer::<B>::create(&path, 32 << 10, 16).unwrap();
        w.append(b"new first").unwrap();
        w.append(&payload(20, 300)).unwrap();
        w.sync().unwrap();
        let mut got: Vec<(u64, Vec<u8>)> =
            std::iter::from_fn(|| f.poll().unwrap().map(|r| (r.offset(), r.to_vec()))).collect();
        // The deleted file's last record may come first, if its own sidecar survives with
        // it (deleted too); never anything of one file under the other's end.
        if remove_sidecar && got.first().is_some_and(|(at, _)| *at == 112) {
            assert_eq!(got.remove(0).1, payload(12, 40));
        }
        let want = vec![(16, b"new first".to_vec()), (16 + 8 + 9, payload(20, 300))];
        assert_eq!(got, want, "remove_sidecar {remove_sidecar}");
        assert!(f.poll().unwrap().is_none());
        assert_eq!(f.position(), f.durable_end());
        drop(w);
        std::fs::remove_file(&path).unwrap();
    }
}

/// Defect 10 of issue 10: a sidecar with a valid checksum claiming generation 0xFFFFFFFF
/// made a follower size a 32 GiB buffer from it. It must fail cleanly, naming the file.
pub fn hostile_sidecar_is_refused_cleanly<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
    w.append(b"one").unwrap();
    w.append(b"two").unwrap();
    w.sync().unwrap();
    let mut f = Follower::<B>::open(&path, 0).unwrap();
    assert_eq!(f.poll().unwrap().map(|r| r.to_vec()), Some(b"one".to_vec()));
    let real = published(&path).unwrap();
    let hostile = seglog_core::sidecar::encode(&Published { generation: u32::MAX, ..real });
    std::fs::write(sidecar_path(&path), hostile).unwrap();
    match f.poll() {
        // No cut entries back the claim: assume the worst, a cut to the start.
        Err(e @ Error::Truncated { .. }) => assert!(e.to_string().contains("segment.log"), "{e}"),
        other => panic!("expected Truncated, got {other:?}"),
    }
    drop(w);
}
