//! Checks of the scan's fast path (issue 12): an iterator verifies what is visible once per
//! window and then returns the window's records after one re-check of the truncation
//! generation each. A window validated once can go stale: these checks land truncations
//! between two records served from one window, and at every point inside a scan.

use std::sync::Arc;

use seglog_core::{Error, Record, RecoveryMode, SegmentIo, Writer};

use crate::Harness;
use crate::interleave::{Call, Hooked, Hooks, explore};
use crate::util::payload;

const SIZE: u64 = 64 << 10;
const LEN: usize = 100;
const RECORDS: u64 = 8;

/// A writer on a fresh hooked segment holding [`RECORDS`] synced records of `LEN` bytes
/// (payloads 0..); their offsets.
fn hooked_writer<H: Harness>(h: &mut H, hooks: &Arc<Hooks>) -> (Writer<Hooked<H::Io>>, Vec<u64>) {
    let io = Hooked::new(h.create(SIZE).unwrap(), Arc::clone(hooks));
    let mut w = Writer::recover(io, 0, RecoveryMode::Strict).unwrap();
    let offsets = (0..RECORDS).map(|i| w.append(&payload(i, LEN)).unwrap().0).collect();
    w.sync().unwrap();
    (w, offsets)
}

/// Cuts at `offsets[cut]` and writes records `cut..` again with payloads `100 + i`, synced:
/// the same sizes, so every old position is a record boundary of the new history.
fn rewrite_from<B: SegmentIo>(w: &mut Writer<B>, offsets: &[u64], cut: usize) {
    w.truncate(offsets[cut]).unwrap();
    for i in cut as u64..RECORDS {
        w.append(&payload(100 + i, LEN)).unwrap();
    }
    w.sync().unwrap();
}

fn owned(r: Result<Option<Record<'_>>, Error>) -> Result<Option<(u64, Vec<u8>)>, Error> {
    r.map(|rec| rec.map(|r| (r.offset(), r.to_vec())))
}

/// A truncation that lands between two records served from the same window is noticed
/// before the second is returned: below the position, that call says `Truncated` (it
/// would otherwise return the old record, whose bytes are still in the window and valid);
/// at the position, it returns the new record there; above it, the old records up to the
/// cut and then the new ones. The records after the first come from the window: no
/// backend read, on a backend that copies, between the first and the truncation.
pub fn scan_notices_truncation_between_records_of_one_window<H: Harness>(h: &mut H) {
    for (cut, want) in [(2, None), (3, Some(103)), (5, Some(3))] {
        let hooks = Hooks::new();
        let (mut w, offsets) = hooked_writer(h, &hooks);
        let mut r = w.reader();
        let mut it = r.iter(0);
        let reads = || hooks.trace().iter().filter(|p| p.call == Call::Read).count();
        assert_eq!(owned(it.next_record()).unwrap(), Some((0, payload(0, LEN))));
        let after_first = reads();
        for (i, &at) in offsets.iter().enumerate().take(3).skip(1) {
            assert_eq!(owned(it.next_record()).unwrap(), Some((at, payload(i as u64, LEN))));
        }
        assert_eq!(reads(), after_first, "records 1 and 2 were not served from the window");
        rewrite_from(&mut w, &offsets, cut);
        let got = owned(it.next_record());
        match want {
            None => assert!(
                matches!(got, Err(Error::Truncated { offset, truncated_to, .. })
                    if offset == offsets[3] && truncated_to == offsets[cut]),
                "cut at record {cut}: {got:?}"
            ),
            Some(seed) => {
                assert_eq!(got.unwrap(), Some((offsets[3], payload(seed, LEN))), "cut at record {cut}");
                for (i, &at) in offsets.iter().enumerate().skip(4) {
                    let seed = if i < cut { i as u64 } else { 100 + i as u64 };
                    let got = owned(it.next_record()).unwrap();
                    assert_eq!(got, Some((at, payload(seed, LEN))), "cut at record {cut}, record {i}");
                }
                assert_eq!(owned(it.next_record()).unwrap(), None);
            }
        }
    }
}

/// At every point inside a whole scan (the window fills; and, on a backend that maps, each
/// record's look at the mapping, which falls between records of one run), the writer cuts
/// at record 2 (step 0) or record 6 (step 1) and rewrites the rest with new payloads,
/// synced. Every record the scan returns is the history's when it is returned: old before
/// the truncation lands; during the call it lands in, old or what comes after; after it,
/// `Truncated` at once if the position was past the cut, else the old records up to the cut
/// and the new ones from there. Never a new record where the scan should have stopped,
/// never a stale one after the truncation.
pub fn scan_sees_truncation_at_every_point<H: Harness>(h: &mut H) {
    let explored = explore(2, |hooks, schedule| {
        let (mut w, offsets) = hooked_writer(h, hooks);
        let end = w.flushed_offset().load();
        let mut r = w.reader();
        let mut it = r.iter(0);
        hooks.reset_counts();
        let cut = if schedule.is_some_and(|s| s.step == 1) { 6 } else { 2 };
        if let Some(s) = schedule {
            let offsets = offsets.clone();
            hooks.at(s.point, move || rewrite_from(&mut w, &offsets, cut));
        }
        // The call during which the truncation landed.
        let mut landed = None;
        for i in 0..=RECORDS as usize {
            let got = owned(it.next_record());
            if landed.is_none() && hooks.fired() == 1 {
                landed = Some(i);
            }
            let at = offsets.get(i).copied().unwrap_or(end);
            // What the history holds at `i` once the truncation has landed; `None`: the
            // position was past the cut then, so it is `Truncated`.
            let after = |k: usize| match (k > cut, i) {
                (true, _) => None,
                (false, i) if i < cut => Some(payload(i as u64, LEN)),
                (false, _) => Some(payload(100 + i as u64, LEN)),
            };
            let allowed: Vec<Option<Vec<u8>>> = match landed {
                Some(k) if k < i => vec![after(k)],
                // Landing during this call: the call may come before it or after it.
                Some(k) => vec![Some(payload(i as u64, LEN)), after(k)],
                None => vec![Some(payload(i as u64, LEN))],
            };
            let last = i == RECORDS as usize;
            let stop = !matches!(got, Ok(Some(_)));
            match got {
                Ok(None) => assert!(last && allowed.iter().any(Option::is_some), "{schedule:?}: ended at {i}"),
                Ok(Some((offset, data))) => {
                    assert_eq!(offset, at, "{schedule:?}");
                    assert!(!last && allowed.contains(&Some(data)), "{schedule:?}: record {i} is not the history's");
                }
                Err(e) => {
                    let truncated = matches!(e, Error::Truncated { offset, truncated_to, .. }
                        if offset == at && truncated_to == offsets[cut]);
                    assert!(truncated && allowed.contains(&None), "{schedule:?}: record {i}: {e}");
                }
            }
            if stop {
                break;
            }
        }
        hooks.stop();
    });
    assert!(explored.schedules >= 2, "{explored:?}");
}
