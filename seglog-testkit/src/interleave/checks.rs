//! Regression checks for the reader races of issue 10, each a deterministic schedule (or a
//! forced thread interleaving) run on every backend.

use std::sync::Arc;

use seglog_core::{Error, ReadHint, RecoveryMode, SegmentIo, Writer};

use super::{Call, Hooked, Hooks, explore};
use crate::Harness;
use crate::util::payload;

const SIZE: u64 = 64 << 10;
const LEN: usize = 100;

/// Record `i`'s length: record 4, the one the checks read, is longer than a random read's
/// first call, so reading it takes two backend calls and a truncation can land between.
fn len(i: usize) -> usize {
    if i == 4 { 3000 } else { LEN }
}

/// A writer on a fresh hooked segment holding `n` synced records of [`len`] bytes; their offsets.
fn hooked_writer<H: Harness>(h: &mut H, hooks: &Arc<Hooks>, n: usize) -> (Writer<Hooked<H::Io>>, Vec<u64>) {
    let io = Hooked::new(h.create(SIZE).unwrap(), Arc::clone(hooks));
    let mut w = Writer::recover(io, 0, RecoveryMode::Strict).unwrap();
    let offsets = (0..n).map(|i| w.append(&payload(i as u64, len(i))).unwrap().0).collect();
    w.sync().unwrap();
    (w, offsets)
}

/// Issue 10, defect 1: a read that a truncation and an append overtake returns only what
/// is durable. At every point inside a read of record 4 (random and sequential), the
/// writer cuts back to record 4 (step 0) or record 3 (step 1) and appends records of the
/// same sizes that reach the backend unsynced: the read must say `NotVisible`, never
/// return them; when the writer syncs them (step 2), it returns the new record, never the
/// cut one.
pub fn reader_never_returns_unsynced_record_after_truncate<H: Harness>(h: &mut H) {
    for hint in [ReadHint::Random, ReadHint::Sequential] {
        let explored = explore(3, |hooks, schedule| {
            let (mut w, offsets) = hooked_writer(h, hooks, 8);
            let mut r = w.reader();
            hooks.reset_counts();
            let step = schedule.map(|s| s.step);
            let from = if step == Some(1) { 3 } else { 4 };
            let cut = offsets[from];
            if let Some(s) = schedule {
                hooks.at(s.point, move || {
                    w.truncate(cut).unwrap();
                    for i in from..8 {
                        w.append(&payload(100 + i as u64, len(i))).unwrap();
                    }
                    if s.step == 2 {
                        w.sync().unwrap();
                    }
                    // Dropping the writer hands the buffered records to the backend, unsynced.
                });
            }
            let got = r.read_record(offsets[4], hint).map(|rec| rec.to_vec());
            hooks.stop();
            match step {
                None => assert_eq!(got.unwrap(), payload(4, len(4))),
                Some(2) => assert_eq!(got.unwrap(), payload(104, len(4)), "{schedule:?}"),
                Some(_) => assert!(
                    matches!(got, Err(Error::NotVisible { end, .. }) if end == cut),
                    "{schedule:?}: {:?}",
                    got.map(|d| d.get(..8).map(<[u8]>::to_vec))
                ),
            }
        });
        eprintln!("interleave: {hint:?} read: {explored:?}");
        assert!(explored.schedules >= 6, "{explored:?}");
    }
}

/// Issue 10, defect 2: a truncation below an iterator's position that lands while its
/// read is in flight makes that very call return `Truncated`, never a record of the new
/// history at the old position (step 0). A cut exactly at its position (step 1) is not
/// below it: the call returns the new record there.
pub fn iterator_reports_truncation_during_read<H: Harness>(h: &mut H) {
    let explored = explore(2, |hooks, schedule| {
        let (mut w, offsets) = hooked_writer(h, hooks, 8);
        let mut r = w.reader();
        // A fresh reader starting at record 4, so its first call reaches the backend.
        let mut it = r.iter(offsets[4]);
        hooks.reset_counts();
        let cut_at = if schedule.is_some_and(|s| s.step == 1) { 4 } else { 2 };
        if let Some(s) = schedule {
            let cut = offsets[cut_at];
            hooks.at(s.point, move || {
                w.truncate(cut).unwrap();
                // Same sizes: the old position is a record boundary of the new history.
                for i in cut_at..8 {
                    w.append(&payload(100 + i as u64, len(i))).unwrap();
                }
                w.sync().unwrap();
            });
        }
        let got = it.next_record().map(|rec| rec.map(|r| (r.offset(), r.to_vec())));
        hooks.stop();
        match schedule.map(|s| s.step) {
            None => assert_eq!(got.unwrap(), Some((offsets[4], payload(4, len(4))))),
            Some(0) => assert!(
                matches!(got, Err(Error::Truncated { offset, truncated_to, .. })
                    if offset == offsets[4] && truncated_to == offsets[2]),
                "{schedule:?}: {got:?}"
            ),
            Some(_) => assert_eq!(got.unwrap(), Some((offsets[4], payload(104, len(4)))), "{schedule:?}"),
        }
    });
    eprintln!("interleave: {explored:?}");
    assert!(explored.schedules >= 2, "{explored:?}");
}

/// Issue 10, defect 6: a record a reader holds never changes. On a backend that maps the
/// segment the writer's readers hand out slices of the mapping with no backend call; a
/// truncation in another thread that cuts below such a record waits until it is dropped
/// (seen through [`FlushedOffset::truncation_waits`](seglog_core::FlushedOffset::truncation_waits),
/// with no timing), and the record reads the same throughout. Elsewhere the record is a
/// copy and the truncation does not wait.
pub fn mapped_record_survives_truncation<H: Harness>(h: &mut H) {
    let hooks = Hooks::new();
    let (mut w, offsets) = hooked_writer(h, &hooks, 6);
    let mapped = w.io().mapped().is_some();
    let flushed = w.flushed_offset();
    let mut r = w.reader();
    hooks.reset_counts();
    let rec = r.read_record(offsets[3], ReadHint::Random).unwrap();
    let reads = hooks.trace().iter().filter(|p| p.call == Call::Read).count();
    assert_eq!(reads > 0, !mapped, "a zero-copy read reached read_at, or a copying one did not");
    let before = rec.to_vec();
    let generation = flushed.generation();
    let cut = offsets[1];
    let writer = std::thread::spawn(move || {
        w.truncate(cut).unwrap();
        w.append(&[0xab; 3 * LEN]).unwrap();
        w.sync().unwrap();
        w
    });
    // The writer announces the cut at once; then it either waits for our record or finishes.
    while flushed.generation() == generation {
        std::thread::yield_now();
    }
    while flushed.truncation_waits() == 0 && !writer.is_finished() {
        std::thread::yield_now();
    }
    assert_eq!(&*rec, &before[..], "a held record changed under a truncation");
    assert_eq!(flushed.truncation_waits(), u64::from(mapped));
    if mapped {
        assert!(!writer.is_finished(), "the truncation went on while a record in the cut was held");
    }
    drop(rec);
    let w = writer.join().unwrap();
    assert_eq!(w.flushed_offset().load(), cut + 8 + 3 * LEN as u64);
    let rec = r.read_record(cut, ReadHint::Random).unwrap();
    assert_eq!(&*rec, &[0xab; 3 * LEN][..]);
}
