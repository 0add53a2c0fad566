//! Checks of `Follower::poll_many` (issue 12): a whole read window of records checked
//! against one pair of sidecar reads, with forced interleavings of truncations and
//! re-created segments between the reads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use seglog_core::{Follower, OpenSegment, Writer};

use crate::FileHarness;
use crate::interleave::{Hooked, Hooks, explore};
use crate::util::payload;

/// Takes every record `poll_many` returns now, with its offset.
fn take_many<B: OpenSegment>(f: &mut Follower<B>) -> Vec<(u64, Vec<u8>)> {
    f.poll_many().unwrap().map(|r| (r.offset(), r.to_vec())).collect()
}

/// A fresh segment path for each run of an exploration.
fn fresh(dir: &Path, n: &mut usize) -> PathBuf {
    *n += 1;
    dir.join(format!("many-{n}.log"))
}

/// `poll_many` yields every durable record once, in order, window after window, never one
/// past the durable end; records of a batch not taken come again in the next one, and
/// `poll` and `poll_many` mix.
pub fn follower_poll_many_yields_each_durable_record_once<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    let mut w = Writer::<B>::create(&path, 4 << 20, 0).unwrap();
    // 2 MiB of records: several read windows, also of O_DIRECT's 1 MiB ones.
    let records: Vec<Vec<u8>> = (0..20_000).map(|i| payload(i, 1 + i as usize % 200)).collect();
    for r in &records {
        w.append(r).unwrap();
    }
    let durable = w.sync().unwrap();
    w.append(b"not synced").unwrap();
    let mut f = Follower::<B>::open(&path, 0).unwrap();
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut batches = 0;
    loop {
        let polled = f.poll_many().unwrap();
        if polled.is_empty() {
            break;
        }
        batches += 1;
        // Take three, leave the rest: they come first in the next batch.
        got.extend(polled.take(3).map(|r| r.to_vec()));
        if let Some(r) = f.poll().unwrap() {
            got.push(r.to_vec());
        }
        got.extend(take_many(&mut f).into_iter().map(|(_, r)| r));
    }
    assert_eq!(got, records);
    assert!(batches >= 3, "{batches} batches");
    assert_eq!((f.position(), f.durable_end()), (durable, durable));
    let end = w.sync().unwrap();
    let polled = f.poll_many().unwrap();
    assert_eq!(polled.end_offset(), end);
    assert_eq!(polled.map(|r| r.to_vec()).collect::<Vec<_>>(), vec![b"not synced".to_vec()]);
}

/// At every point of the segment reads of a `poll_many` (between the sidecar read before
/// and the read of the window, and between that read and the sidecar read after), one of:
/// a truncation to the follower's position, a truncation into the middle of the records
/// the batch would return, each followed by an append of other records left unsynced, or
/// the segment deleted and made again with other records. The batch must never hold a
/// record a truncation cut or one that was never synced, and must follow the new file, from
/// its start, once it exists.
pub fn follower_poll_many_rechecks_the_sidecar<B: OpenSegment>(h: &mut FileHarness<B>) {
    let first = payload(1, 60);
    let old: Vec<Vec<u8>> = (0..10).map(|i| payload(10 + i, 60)).collect();
    let unsynced = payload(30, 100);
    let new: Vec<Vec<u8>> = (0..3).map(|i| payload(40 + i, 30)).collect();
    let (old_at, mid) = (8 + 60, 68 + 4 * 68);
    let mut n = 0;
    let explored = explore(3, |hooks, schedule| {
        let path = fresh(h.dir(), &mut n);
        let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
        w.append(&first).unwrap();
        w.sync().unwrap();
        hooks.attach(&path);
        let mut f = Follower::<Hooked<B>>::open(&path, 0).unwrap();
        assert_eq!(f.poll().unwrap().map(|r| r.to_vec()), Some(first.clone()));
        for r in &old {
            w.append(r).unwrap();
        }
        w.sync().unwrap();
        let writer = Arc::new(Mutex::new(Some(w)));
        hooks.reset_counts();
        let step = schedule.map(|s| s.step);
        if let Some(s) = schedule {
            let (writer, path, unsynced, new) = (Arc::clone(&writer), path.clone(), unsynced.clone(), new.clone());
            hooks.at(s.point, move || {
                let mut w = writer.lock().unwrap().take().unwrap();
                if s.step == 2 {
                    drop(w);
                    std::fs::remove_file(&path).unwrap();
                    let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
                    for r in &new {
                        w.append(r).unwrap();
                    }
                    w.sync().unwrap();
                    return;
                }
                w.truncate(if s.step == 0 { old_at } else { mid }).unwrap();
                w.append(&unsynced).unwrap();
                drop(w); // the record reaches the file, never synced
            });
        }
        let got = take_many(&mut f);
        Hooks::detach(&path);
        let with_offsets = |from: u64, records: &[Vec<u8>]| {
            let mut at = from;
            records
                .iter()
                .map(|r| {
                    at += 8 + r.len() as u64;
                    (at - 8 - r.len() as u64, r.clone())
                })
                .collect::<Vec<_>>()
        };
        let want = match step {
            None => with_offsets(old_at, &old),
            Some(0) => Vec::new(),
            Some(1) => with_offsets(old_at, &old[..4]),
            _ => with_offsets(0, &new),
        };
        assert_eq!(got, want, "at {schedule:?} the batch held the wrong records");
        assert!(take_many(&mut f).is_empty(), "at {schedule:?}");
        if step == Some(0) || step == Some(1) {
            // Once a writer has recovered (and synced) the appended record, it comes.
            let _w = Writer::<B>::open(&path, 0).unwrap();
            let at = if step == Some(0) { old_at } else { mid };
            assert_eq!(take_many(&mut f), vec![(at, unsynced.clone())], "at {schedule:?}");
        }
    });
    assert!(explored.schedules >= 6, "{explored:?}");
}
