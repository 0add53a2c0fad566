//! Issue 13: recovery erases without being told only what a crash could have left, and
//! opening costs the records, not the segment.

use seglog_core::{Cached, Corruption, Damage, Error, RecoveryMode, RecoveryReport, SegmentIo, ValidAfter, Writer};

use crate::Harness;
use crate::sparse::Counted;
use crate::util::{payload, writer};

const SIZE: u64 = 64 << 10;

/// Recovers the existing segment in `mode`, with `durable_end` as the sidecar's word.
fn recover<H: Harness>(h: &mut H, mode: RecoveryMode, durable_end: Option<u64>) -> Result<RecoveryReport, Error> {
    let io = h.open_writer().unwrap_or_else(|e| panic!("reopening the segment: {e}"));
    Writer::recover_with(io, 0, mode, durable_end).map(|w| *w.report())
}

/// Like [`recover`], asserting that it refuses and changes no byte.
fn refused<H: Harness>(h: &mut H, mode: RecoveryMode, durable_end: Option<u64>) -> Error {
    let before = h.contents();
    let got = recover(h, mode, durable_end);
    assert!(h.contents() == before, "{mode:?} recovery changed bytes: {got:?}");
    got.expect_err(&format!("{mode:?} with durable end {durable_end:?} opened"))
}

/// Synced records of 100 bytes at offsets from `start`; returns their offsets and the end.
fn synced<H: Harness>(h: &mut H, size: u64, start: u64, n: usize) -> (Vec<u64>, u64) {
    let mut w = writer(h, size, start);
    let offsets = (0..n).map(|i| w.append(&payload(i as u64, 100)).unwrap().0).collect();
    (offsets, w.sync().unwrap())
}

/// Flips one byte of the stored segment.
fn flip<H: Harness>(h: &mut H, at: u64) {
    let byte = h.contents()[at as usize];
    h.overwrite(at, &[!byte]);
}

/// Regression (issue 13): damage below the durable end the sidecar vouches for is not a
/// torn tail: `TornTail` and `Strict` refuse it, naming that end and changing nothing;
/// `Truncate` erases it. A stale durable end at or below the damage leaves it a torn tail.
pub fn default_refuses_damage_below_durable_end<H: Harness>(h: &mut H) {
    let (recs, end) = synced(h, SIZE, 0, 8);
    flip(h, recs[7] + 20);
    for mode in [RecoveryMode::TornTail, RecoveryMode::Strict] {
        match refused(h, mode, Some(end)) {
            Error::NotTornTail { offset, durable_end, valid_after, likely_start: None, .. } => {
                assert_eq!((offset, durable_end, valid_after), (recs[7], Some(end), ValidAfter::None), "{mode:?}");
            }
            e => panic!("{mode:?}: expected NotTornTail, got {e:?}"),
        }
    }
    // The sidecar may be stale: vouching for less, the damage may be what a crash left.
    let r = recover(h, RecoveryMode::TornTail, Some(recs[7])).unwrap();
    assert_eq!((r.end, r.records), (recs[7], 7));
    assert!(h.contents()[recs[7] as usize..].iter().all(|&b| b == 0));

    let (recs, end) = synced(h, SIZE, 0, 8);
    flip(h, recs[3] + 50);
    match refused(h, RecoveryMode::TornTail, Some(end)) {
        Error::NotTornTail { offset, valid_after, durable_end, .. } => {
            assert_eq!((offset, valid_after, durable_end), (recs[3], ValidAfter::Found { offset: recs[4] }, Some(end)));
        }
        e => panic!("expected NotTornTail, got {e:?}"),
    }
    let r = recover(h, RecoveryMode::Truncate, Some(end)).unwrap();
    assert_eq!((r.end, r.records), (recs[3], 3));
    assert!(h.contents()[recs[3] as usize..].iter().all(|&b| b == 0));
}

/// Regression: durable records zeroed were reported clean. The records end in zeros below
/// the durable end the sidecar vouches for (no crash does that: a sync made them durable),
/// so `TornTail` and `Strict` refuse, naming the end and changing nothing, instead of
/// reopening the segment as clean and appending over where they were. `Truncate` opens it.
pub fn zeroed_durable_records_are_not_reported_clean<H: Harness>(h: &mut H) {
    let (recs, end) = synced(h, SIZE, 0, 8);
    h.overwrite(recs[5], &vec![0; (end - recs[5]) as usize]);
    for mode in [RecoveryMode::TornTail, RecoveryMode::Strict] {
        match refused(h, mode, Some(end)) {
            Error::NotTornTail { offset, durable_end, reason: Corruption::ZeroHeader, .. } => {
                assert_eq!((offset, durable_end), (recs[5], Some(end)), "{mode:?}");
            }
            e => panic!("{mode:?}: expected NotTornTail, got {e:?}"),
        }
    }
    // A stale sidecar vouching for no more than what is left: clean.
    let r = recover(h, RecoveryMode::TornTail, Some(recs[5])).unwrap();
    assert_eq!((r.end, r.records, r.damage), (recs[5], 5, None));
    let (recs, end) = synced(h, SIZE, 0, 8);
    h.overwrite(recs[5], &vec![0; (end - recs[5]) as usize]);
    let r = recover(h, RecoveryMode::Truncate, Some(end)).unwrap();
    assert_eq!((r.end, r.records), (recs[5], 5));
}

/// Regression (issue 13): what a crash leaves past the durable end (a record whose first
/// sector was lost, with a later unsynced record persisted) is erased by the default with
/// no human, whatever the sidecar says up to that end; `Strict` refuses it.
pub fn default_erases_what_a_crash_leaves<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 0);
    for i in 0..3 {
        w.append(&payload(i, 100)).unwrap();
    }
    let end = w.sync().unwrap();
    let (lost, _) = w.append(&payload(3, 700)).unwrap();
    let (late, _) = w.append(&payload(4, 50)).unwrap();
    let written = late + 8 + 50;
    drop(w);
    h.overwrite(lost, &[0; 8]);
    for durable_end in [Some(end), None] {
        match refused(h, RecoveryMode::Strict, durable_end) {
            Error::Damaged { offset, valid_after, .. } => {
                assert_eq!((offset, valid_after), (end, ValidAfter::Found { offset: late }));
            }
            e => panic!("expected Damaged, got {e:?}"),
        }
    }
    let image = h.contents();
    for durable_end in [Some(end), Some(0), None] {
        h.overwrite(0, &image);
        let r = recover(h, RecoveryMode::TornTail, durable_end).unwrap();
        let damage =
            Damage { offset: end, reason: Corruption::ZeroHeader, valid_after: ValidAfter::Found { offset: late } };
        assert_eq!((r.end, r.records, r.damage, r.discarded_bytes), (end, 3, Some(damage), written - end));
        assert!(h.contents()[end as usize..].iter().all(|&b| b == 0), "{durable_end:?}");
    }
}

/// Regression (issue 13): a text file over a segment's bytes is not a segment: `Strict` and
/// the default refuse it and change nothing, though `verify` still describes it; `Truncate`,
/// asked, erases it.
pub fn text_is_not_a_segment<H: Harness>(h: &mut H) {
    drop(writer(h, SIZE, 0));
    let text = "Recovery must not zero a file that merely looks damaged.\n".repeat(60);
    h.overwrite(0, text.as_bytes());
    for mode in [RecoveryMode::TornTail, RecoveryMode::Strict] {
        match refused(h, mode, None) {
            Error::NotASegment { offset: 0, reason: Some(_), likely_start: None, .. } => {}
            e => panic!("{mode:?}: expected NotASegment, got {e:?}"),
        }
    }
    let io = h.open_reader().unwrap();
    let report = seglog_core::verify(&io, 0).unwrap();
    assert_eq!((report.records, report.discarded_bytes), (0, text.len() as u64));
    let r = recover(h, RecoveryMode::Truncate, None).unwrap();
    assert_eq!((r.end, r.discarded_bytes), (0, text.len() as u64));
}

/// Regression (issue 13): an empty file is not a segment, for recovery and verify alike.
pub fn empty_file_is_not_a_segment<H: Harness>(h: &mut H) {
    drop(h.create(0).unwrap());
    for mode in [RecoveryMode::TornTail, RecoveryMode::Strict, RecoveryMode::Truncate] {
        match recover(h, mode, None) {
            Err(Error::NotASegment { offset: 0, reason: None, .. }) => {}
            other => panic!("{mode:?}: expected NotASegment, got {other:?}"),
        }
    }
    let io = h.open_reader().unwrap();
    assert!(matches!(seglog_core::verify(&io, 0), Err(Error::NotASegment { .. })));
}

/// Regression (issue 13): opened with the wrong start offset, recovery refuses and names
/// the offset where the records start, whether or not a durable end is vouched for.
pub fn wrong_start_offset_is_named<H: Harness>(h: &mut H) {
    let (_, end) = synced(h, SIZE, 64, 5);
    let mut w = Writer::recover(h.open_writer().unwrap(), 64, RecoveryMode::Strict).unwrap();
    w.write_segment_header(&[0xA5; 64]).unwrap();
    drop(w);
    match refused(h, RecoveryMode::TornTail, None) {
        Error::NotASegment { offset: 0, likely_start: Some(64), .. } => {}
        e => panic!("expected NotASegment naming 64, got {e:?}"),
    }
    // A header that decodes like a record's is refused below the durable end.
    let mut w = Writer::recover(h.open_writer().unwrap(), 64, RecoveryMode::Strict).unwrap();
    w.write_segment_header(&[1, 0, 0, 0, 7, 7, 7, 7]).unwrap();
    drop(w);
    match refused(h, RecoveryMode::TornTail, Some(end)) {
        Error::NotTornTail { offset: 0, durable_end: Some(e), likely_start: Some(64), .. } => assert_eq!(e, end),
        e => panic!("expected NotTornTail naming 64, got {e:?}"),
    }
    let io = h.open_writer().unwrap();
    let r = *Writer::recover_with(io, 64, RecoveryMode::TornTail, Some(end)).unwrap().report();
    assert_eq!((r.end, r.records, r.damage), (end, 5, None));
}

/// Issue 13, part 1: recovery reads the records and what the backend says may hold data
/// past them, not the rest of the segment. (On a backend that cannot tell, that is all.)
pub fn scan_reads_only_what_may_hold_data<H: Harness>(h: &mut H) {
    const BIG: u64 = 64 << 20;
    // Records written straight to a fresh segment: no scan has touched the rest of it, so
    // a filesystem still knows it holds nothing.
    let mut block = seglog_core::AlignedBuf::new();
    let io = h.create(BIG).unwrap();
    let bytes = block.region(4096, io.alignment());
    let mut end = 0;
    for i in 0..10 {
        let data = payload(i, 100);
        let header = seglog_core::codec::encode_header(&data);
        bytes[end..end + 8].copy_from_slice(&header);
        bytes[end + 8..end + 108].copy_from_slice(&data);
        end += 108;
    }
    io.write_at(0, block.get()).unwrap();
    io.sync().unwrap();
    drop(io);
    let end = end as u64;
    let io = Counted::new(h.open_writer().unwrap());
    let mut may_hold = 0;
    let mut at = end;
    while at < BIG {
        let Some(r) = io.next_data(at).unwrap() else { break };
        assert!(r.start >= at && r.end > r.start && r.end <= BIG, "next_data({at}) = {r:?}");
        may_hold += r.end - r.start;
        at = r.end;
    }
    let w = Writer::recover(io.clone(), 0, RecoveryMode::TornTail).unwrap();
    assert_eq!((w.report().end, w.report().damage), (end, None));
    // The walk reads a window ahead of the records: allow one window, plus one block. Through
    // a mapping, the page faults of that window make the kernel read ahead and cache pages
    // that then count as data: allow for that too.
    let readahead = if io.inner().mapped().is_some() { 16 << 20 } else { 0 };
    let bound = end + may_hold + (1 << 20) + 4096 + readahead;
    assert!(
        io.bytes_read() <= bound,
        "read {} bytes; the records and what may hold data come to {bound}",
        io.bytes_read()
    );
}

/// Issue 13, part 1: a valid record far past the damage, with unwritten space between,
/// is found whether the backend skips that space or reads it.
pub fn valid_record_past_a_hole_is_found<H: Harness>(h: &mut H) {
    const BIG: u64 = 8 << 20;
    let (_, end) = synced(h, BIG, 0, 3);
    let data = payload(9, 300);
    let mut record = seglog_core::codec::encode_header(&data).to_vec();
    record.extend_from_slice(&data);
    let far = 6 << 20;
    h.overwrite(end, &[0x11, 0x22]);
    h.overwrite(far, &record);
    // Nothing reads the file through the page cache before the erase (harness contents
    // would), so a filesystem still reports the space between as a hole.
    match recover(h, RecoveryMode::Strict, None) {
        Err(Error::Damaged { offset, valid_after, .. }) => {
            assert_eq!((offset, valid_after), (end, ValidAfter::Found { offset: far }))
        }
        other => panic!("expected Damaged, got {other:?}"),
    }
    // Past the walk's read-ahead window: nothing reads this part of the hole.
    let probe = 2 << 20;
    let io = h.open_reader().unwrap();
    let before = io.next_data(probe).unwrap();
    drop(io);
    let r = recover(h, RecoveryMode::TornTail, Some(end)).unwrap();
    assert_eq!((r.end, r.discarded_bytes), (end, far + 308 - end));
    // Regression (issue 13): erasing does not turn the hole into written zeros that every
    // later open must read. Checked where I/O bypasses the page cache: elsewhere the
    // kernel's read-ahead may cache pages of the hole, which then count as data whatever
    // the erase did.
    let io = h.open_reader().unwrap();
    if io.alignment() > 1 {
        let (before, after) = (before.map_or(u64::MAX, |r| r.start), io.next_data(probe).unwrap());
        assert!(after.as_ref().is_none_or(|r| r.start >= before), "the hole at {probe} now holds data: {after:?}");
    }
    drop(io);
    assert!(h.contents()[end as usize..].iter().all(|&b| b == 0));
}

/// Issue 13, part 1: zeros really written past the records (as `Preallocation::Zeroed`
/// leaves them) are read by the scan but not left in the page cache unless they were there
/// before; a backend that cannot tell what is cached keeps everything.
pub fn scan_leaves_the_page_cache_as_it_found_it<H: Harness>(h: &mut H) {
    const BIG: u64 = 8 << 20;
    // Written zeros up to here: under the size past which recovery probes for cached holes.
    const WRITTEN: u64 = 3 << 20;
    let (_, end) = synced(h, BIG, 0, 3);
    // Past the walk's read-ahead and the scan's first chunk, which may hold cached records.
    let tail = (1 << 20)..WRITTEN;
    let io = h.open_writer().unwrap();
    let mut zeros = seglog_core::AlignedBuf::new();
    let zeros = zeros.region(1 << 20, io.alignment());
    let mut at = 4096;
    while at < WRITTEN {
        io.write_at(at, &zeros[..(WRITTEN - at).min(1 << 20) as usize]).unwrap();
        at += 1 << 20;
    }
    io.sync().unwrap();
    io.uncache(0..BIG);
    drop(io);

    // Not cached before: read, then given back.
    let io = Counted::new(h.open_writer().unwrap());
    let before = io.cached(tail.clone());
    let r = *Writer::recover(io.clone(), 0, RecoveryMode::TornTail).unwrap().report();
    assert_eq!((r.end, r.damage), (end, None));
    let given_back = io.uncached();
    assert!(given_back.iter().all(|g| g.start >= end), "gave back records' pages: {given_back:?}");
    match before {
        Cached::Unknown => assert!(
            given_back.iter().all(|g| g.end <= tail.start || g.start >= tail.end),
            "gave back zeros it read, {given_back:?}, without knowing whether they were cached"
        ),
        Cached::Pages(0) => assert_eq!(io.cached(tail.clone()), Cached::Pages(0), "the scan left its zeros cached"),
        Cached::Pages(n) => panic!("{n} pages of the tail cached after dropping them"),
    }
    drop(io);

    // Cached before: stays cached.
    let io = Counted::new(h.open_writer().unwrap());
    let mut buf = vec![0; (tail.end - tail.start) as usize];
    if io.alignment() == 1 {
        io.read_at(tail.start, &mut buf).unwrap();
    }
    // Without the zeros its read-ahead cached past them, which recovery would probe (and
    // drop a written chunk of: `cached_zeros_past_the_records_are_not_read`).
    io.uncache(WRITTEN..BIG);
    let before = io.cached(tail.clone());
    let ours = io.uncached().len();
    Writer::recover(io.clone(), 0, RecoveryMode::TornTail).unwrap();
    let given_back = io.uncached().split_off(ours);
    assert!(
        given_back.iter().all(|g| g.end <= tail.start || g.start >= tail.end),
        "gave back what was cached before: {given_back:?}"
    );
    if let Cached::Pages(n) = before {
        assert!(n > 0, "reading the tail cached none of it");
        assert_eq!(io.cached(tail), before, "the scan dropped pages it found cached");
    }
}

/// Issue 13, part 1: zeros that read-ahead cached over unwritten space past the records
/// count as data to `SEEK_DATA`; recovery drops them and skips that space rather than read
/// it on every open. Checked where the backend can tell what is cached.
pub fn cached_zeros_past_the_records_are_not_read<H: Harness>(h: &mut H) {
    const BIG: u64 = 64 << 20;
    const CACHED: u64 = 24 << 20;
    let (_, end) = synced(h, BIG, 0, 3);
    let io = h.open_writer().unwrap();
    if io.cached(0..4096) == Cached::Unknown {
        return;
    }
    // What a reader of the last records and its read-ahead leave behind.
    let mut buf = vec![0; 1 << 20];
    for at in (0..CACHED).step_by(1 << 20) {
        io.read_at(at, &mut buf).unwrap();
    }
    assert!(io.next_data(end).unwrap().is_some_and(|r| r.end >= CACHED), "reading cached no zeros");
    drop(io);
    let io = Counted::new(h.open_writer().unwrap());
    let r = *Writer::recover(io.clone(), 0, RecoveryMode::TornTail).unwrap().report();
    assert_eq!((r.end, r.damage), (end, None));
    // The walk's window, and what lies within the 1 MiB kept and the 2 MiB chunk above it.
    let bound = (256 << 10) + (4 << 20);
    assert!(io.bytes_read() <= bound, "read {} bytes of {CACHED} cached; expected at most {bound}", io.bytes_read());
}
