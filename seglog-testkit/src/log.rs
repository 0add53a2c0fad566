//! Checks for [`Log`]: rolling, reading across segments, truncation, purge, the directory
//! lock and the errors of reading outside the log. File backends run them
//! ([`file_backend_tests!`](crate::file_backend_tests)); [`log_damage`](crate::log_damage)
//! has the checks of damaged and stray files.

use std::path::PathBuf;

use seglog_core::{Error, Log, LogOptions, LogReader, OpenSegment, SegmentIo};

use crate::FileHarness;
use crate::util::payload;

/// Segment size of the checks: one header block and one block of records, so a few
/// records roll (and direct I/O's block rule holds).
pub const SMALL_SEGMENT: u64 = 8192;

/// The log directory of a harness.
pub fn log_dir<B>(h: &FileHarness<B>) -> PathBuf
where
    B: OpenSegment,
{
    h.dir().join("log")
}

/// Options with [`SMALL_SEGMENT`]s.
pub fn small() -> LogOptions {
    LogOptions::default().segment_size(SMALL_SEGMENT)
}

/// Every durable record from the log's start, as (position, payload).
pub fn read_all<B: SegmentIo>(r: &mut LogReader<B>) -> Vec<(u64, Vec<u8>)> {
    let start = r.start_position();
    let mut it = r.iter(start);
    let mut out = Vec::new();
    while let Some(rec) = it.next_record().unwrap_or_else(|e| panic!("iterating: {e}")) {
        out.push((rec.position(), rec.to_vec()));
    }
    out
}

/// Appends `n` records numbered from `from` (sizes 0 to ~1.5 KiB), returning (position, payload).
pub fn append_n<B: SegmentIo, D: seglog_core::LogDir<Io = B>>(
    log: &mut Log<B, D>,
    from: u64,
    n: u64,
) -> Vec<(u64, Vec<u8>)> {
    (from..from + n)
        .map(|i| {
            let p = payload(i, (i as usize * 97) % 1500);
            let (pos, _) = log.append(&p).unwrap_or_else(|e| panic!("appending record {i}: {e}"));
            (pos, p)
        })
        .collect()
}

/// Records roll across many segments; positions are strictly increasing and stable across
/// reopen; every record reads back by position and by iteration; `segments()` chains.
pub fn log_round_trip_across_rolls<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    assert!(log.report().created);
    let recs = append_n(&mut log, 0, 60);
    assert!(recs.windows(2).all(|w| w[0].0 < w[1].0), "positions not increasing");
    let end = log.sync().unwrap();
    assert_eq!(end, log.end_position());
    let segs = log.segments();
    assert!(segs.len() > 5, "60 records of up to 1.5 KiB should roll 4 KiB segments: {segs:?}");
    assert_eq!(segs.iter().map(|s| s.records).sum::<u64>(), 60);
    for w in segs.windows(2) {
        assert_eq!(w[0].end_position, w[1].first_position);
        assert!(w[0].sealed && w[0].seq < w[1].seq);
    }
    assert!(!segs.last().unwrap().sealed);
    let mut r = log.reader();
    assert_eq!(read_all(&mut r), recs);
    for (pos, p) in recs.iter().rev() {
        let rec = r.read_record(*pos).unwrap();
        assert_eq!((rec.position(), &*rec), (*pos, p.as_slice()));
    }
    drop(r);
    drop(log);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    assert!(!log.report().created && log.report().tail.is_clean());
    assert_eq!(log.segments(), segs);
    assert_eq!(read_all(&mut log.reader()), recs);
    let more = append_n(&mut log, 60, 3);
    assert_eq!(more[0].0, end, "the next position after reopen is the old end");
    log.sync().unwrap();
    assert_eq!(read_all(&mut log.reader()).len(), 63);
}

/// A batch that does not fit in the current segment rolls whole; one larger than a segment,
/// or a record over the maximum, is refused with nothing written.
pub fn log_batches_are_never_split<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let a = vec![1u8; 3000];
    log.append(&a).unwrap();
    let (first, bytes) = log.append_batch(&[&[2u8; 600], &[3u8; 600]]).unwrap();
    assert_eq!(bytes, 1216);
    let segs = log.segments();
    assert_eq!(segs.len(), 2, "the batch rolled whole: {segs:?}");
    assert_eq!(segs[1].first_position, first);
    let before = log.end_position();
    let capacity = SMALL_SEGMENT - seglog_core::log::DATA_START;
    match log.append(&vec![0u8; capacity as usize]) {
        Err(Error::TooLargeForSegment { needed, capacity: c, .. }) => assert_eq!((needed, c), (capacity + 8, capacity)),
        other => panic!("expected TooLargeForSegment, got {other:?}"),
    }
    assert!(matches!(log.append_batch(&[&[0u8; 3000], &[0u8; 3000]]), Err(Error::TooLargeForSegment { .. })));
    assert_eq!(log.end_position(), before);
    log.sync().unwrap();
    let all = read_all(&mut log.reader());
    assert_eq!(all.iter().map(|(_, p)| p.len()).collect::<Vec<_>>(), [3000, 600, 600]);
    // The largest record that fits still goes in.
    log.append(&vec![9u8; capacity as usize - 8]).unwrap();
    log.sync().unwrap();
    assert_eq!(read_all(&mut log.reader()).len(), 4);
}

/// A second open of the directory, while the first lives, is `Locked`; afterwards it opens.
pub fn log_second_open_is_locked<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let log = Log::<B>::open(&dir, small()).unwrap();
    match Log::<B>::open(&dir, small()) {
        Err(e @ Error::Locked { .. }) => assert!(e.to_string().contains("LOCK"), "{e}"),
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(log);
    Log::<B>::open(&dir, small()).unwrap();
}

/// Below the start is `Purged` (naming the start), at or past the durable end
/// `NotVisible` (unsynced records included), inside a record an error, never bytes.
pub fn log_reads_outside_are_errors<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let recs = append_n(&mut log, 0, 20);
    let end = log.sync().unwrap();
    let (unsynced, _) = log.append(b"not yet").unwrap();
    let mut r = log.reader();
    assert!(
        matches!(r.read_record(unsynced), Err(Error::NotVisible { offset, end: e, .. }) if offset == unsynced && e == end)
    );
    assert!(matches!(r.read_record(end + 1000), Err(Error::NotVisible { .. })));
    // Inside a 1 KiB record of pseudo-random bytes: not a valid record there.
    let (mid, _) = recs.iter().find(|(_, p)| p.len() > 100).unwrap();
    assert!(r.read_record(mid + 20).is_err());
    let cut = recs[10].0;
    let start = log.purge_before(cut).unwrap();
    assert!(start <= cut && start > 0, "start {start}, asked {cut}");
    match r.read_record(0) {
        Err(e @ Error::Purged { .. }) => assert!(e.to_string().contains(&format!("starts at position {start}")), "{e}"),
        other => panic!("expected Purged, got {other:?}"),
    }
    let mut it = r.iter(0);
    assert!(matches!(it.next_record(), Err(Error::Purged { .. })));
    let kept = read_all(&mut r);
    assert_eq!(kept.first().map(|k| k.0), Some(start));
    assert!(kept.len() >= 10 && kept.ends_with(&recs[10..]));
}

/// Truncating into an older segment drops every later record and segment; new records land
/// at the cut; nothing cut reads again after reopen, and an iterator past the cut gets
/// `Truncated`.
pub fn log_truncate_into_older_segment<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let recs = append_n(&mut log, 0, 40);
    log.sync().unwrap();
    let segs = log.segments();
    let cut = recs[12].0;
    assert!(cut < segs[segs.len() - 2].first_position, "the cut must lie in an older segment");
    let mut r = log.reader();
    let mut it = r.iter(recs[30].0);
    assert!(it.next_record().unwrap().is_some());
    assert!(log.truncate(recs[12].0 + 1).is_err(), "a non-boundary is refused");
    log.truncate(cut).unwrap();
    assert!(matches!(it.next_record(), Err(Error::Truncated { truncated_to, .. }) if truncated_to == cut));
    assert_eq!(log.end_position(), cut);
    assert_eq!(read_all(&mut r), recs[..12]);
    let fresh = append_n(&mut log, 1000, 30);
    assert_eq!(fresh[0].0, cut);
    log.sync().unwrap();
    let want: Vec<_> = recs[..12].iter().chain(&fresh).cloned().collect();
    assert_eq!(read_all(&mut r), want);
    // The segments after the cut's are new ones: no name is reused.
    let max_old = segs.last().unwrap().seq;
    let now = log.segments();
    let cut_seg = now.iter().rposition(|s| s.seq <= max_old).unwrap();
    assert!(now[cut_seg + 1..].iter().all(|s| s.seq > max_old), "{now:?}");
    for s in segs.iter().filter(|s| s.first_position > cut) {
        assert!(!s.path.exists(), "{} was cut away but exists", s.path.display());
    }
    drop(r);
    drop(log);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    assert_eq!(read_all(&mut log.reader()), want);
    // Truncating within the tail, and to the very start.
    let start = log.start_position();
    log.truncate(start).unwrap();
    assert_eq!(read_all(&mut log.reader()), []);
    let again = append_n(&mut log, 5000, 5);
    log.sync().unwrap();
    drop(log);
    let log = Log::<B>::open(&dir, small()).unwrap();
    assert_eq!(read_all(&mut log.reader()), again);
}

/// Purge drops whole segments before the position, durably, never the tail; the start
/// survives reopen; purging everything keeps the tail.
pub fn log_purge_keeps_the_rest<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let recs = append_n(&mut log, 0, 40);
    log.sync().unwrap();
    let segs = log.segments();
    assert_eq!(log.purge_before(0).unwrap(), 0);
    let target = segs[3].first_position + 1;
    let start = log.purge_before(target).unwrap();
    assert_eq!(start, segs[3].first_position);
    assert_eq!(log.start_position(), start);
    for s in &segs[..3] {
        assert!(!s.path.exists(), "{} was purged but exists", s.path.display());
    }
    let kept: Vec<_> = recs.iter().filter(|(p, _)| *p >= start).cloned().collect();
    assert_eq!(read_all(&mut log.reader()), kept);
    drop(log);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    assert_eq!(log.start_position(), start);
    assert_eq!(read_all(&mut log.reader()), kept);
    let end = log.end_position();
    let start = log.purge_before(u64::MAX).unwrap();
    assert_eq!(log.segments().len(), 1);
    assert_eq!(start, log.segments()[0].first_position);
    let (pos, _) = log.append(b"after").unwrap();
    assert_eq!(pos, end);
    log.sync().unwrap();
    assert_eq!(&*log.reader().read_record(pos).unwrap(), b"after");
}

/// A reader in another thread, iterating while the writer appends and rolls, sees every
/// record in order and only synced ones.
pub fn log_reader_in_another_thread<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let mut reader = log.reader().try_clone().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Option<u64>>();
    let thread = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut pos = 0;
        // Each message is a durable end the writer acknowledged: read up to it.
        while let Ok(Some(end)) = rx.recv() {
            let mut it = reader.iter(pos);
            while let Some(rec) = it.next_record().unwrap() {
                seen.push(rec.to_vec());
            }
            pos = it.position();
            assert!(pos >= end, "reader stopped at {pos} below the durable end {end}");
        }
        seen
    });
    let mut all = Vec::new();
    for round in 0..20u64 {
        for (_, p) in append_n(&mut log, round * 10, 10) {
            all.push(p);
        }
        tx.send(Some(log.sync().unwrap())).unwrap();
    }
    tx.send(None).unwrap();
    assert_eq!(thread.join().unwrap(), all);
}

/// Regression: readers kept the tail writer's own handle, and with it the segment's writer
/// lock, so a reader that outlived its `Log` made reopening the log fail with `Locked`.
pub fn log_reader_outliving_the_log_does_not_lock_it<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let recs = append_n(&mut log, 0, 10);
    log.sync().unwrap();
    let mut reader = log.reader();
    assert_eq!(read_all(&mut reader), recs);
    drop(log);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let more = append_n(&mut log, 10, 1);
    log.sync().unwrap();
    // The old reader still reads what it could see.
    assert_eq!(&*reader.read_record(recs[9].0).unwrap(), recs[9].1.as_slice());
    assert_eq!(read_all(&mut log.reader()), recs.into_iter().chain(more).collect::<Vec<_>>());
}

/// Records at the same offset of different segments read back as their own: a reader has
/// one read buffer for all segments, and moving to another segment must drop the bytes it
/// holds of the last one (they would pass their checksum, as another record's).
pub fn log_reads_alternating_segments_return_each_segments_bytes<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    // Equal sizes, distinct payloads: record i and i + per lie at the same offset.
    let recs: Vec<(u64, Vec<u8>)> =
        (0..200u64).map(|i| (log.append(&payload(i, 100)).unwrap().0, payload(i, 100))).collect();
    log.sync().unwrap();
    let per = log.segments()[0].records as usize;
    assert!(log.segments().len() > 4 && per > 2, "{:?}", log.segments());
    let mut r = log.reader();
    for i in 0..recs.len() - per {
        for (pos, p) in [&recs[i], &recs[i + per], &recs[i]] {
            assert_eq!(&*r.read_record(*pos).unwrap(), p.as_slice(), "record at {pos}");
        }
    }
    // Iterating, reading elsewhere, then iterating on from where the iterator stopped.
    for i in 0..recs.len() - per - 1 {
        let next = {
            let mut it = r.iter(recs[i].0);
            assert_eq!(&*it.next_record().unwrap().unwrap(), recs[i].1.as_slice());
            it.position()
        };
        assert_eq!(&*r.read_record(recs[i + per].0).unwrap(), recs[i + per].1.as_slice());
        let mut it = r.iter(next);
        let rec = it.next_record().unwrap().unwrap();
        assert_eq!((rec.position(), &*rec), (recs[i + 1].0, recs[i + 1].1.as_slice()));
    }
}

/// One iterator kept while the log appends, syncs and rolls returns every record once, in
/// order, as it becomes durable, crossing each new segment; a cut of the tail below it
/// then makes it fail with `Truncated` at the cut.
pub fn log_iterator_carries_on_across_rolls<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let mut reader = log.reader();
    let start = reader.start_position();
    let mut it = reader.iter(start);
    assert!(it.next_record().unwrap().is_none());
    let (mut all, mut seen) = (Vec::new(), Vec::new());
    for round in 0..30u64 {
        all.extend(append_n(&mut log, round * 3, 3));
        // Before the sync, only what a roll made durable: none of the tail's new records.
        let synced = seen.len();
        while let Some(rec) = it.next_record().unwrap() {
            seen.push((rec.position(), rec.to_vec()));
        }
        let tail = log.segments().last().unwrap().first_position;
        assert!(all.starts_with(&seen), "round {round}: a record not appended");
        assert!(seen[synced..].iter().all(|(p, _)| *p < tail), "round {round}: an unsynced record of the tail");
        log.sync().unwrap();
        while let Some(rec) = it.next_record().unwrap() {
            seen.push((rec.position(), rec.to_vec()));
        }
        assert_eq!(seen, all, "round {round}");
    }
    let segs = log.segments();
    assert!(segs.len() > 10, "90 records of up to 1.5 KiB should roll 4 KiB segments: {segs:?}");
    let tail = segs.last().unwrap();
    let cut = all.iter().map(|(p, _)| *p).find(|&p| p >= tail.first_position).unwrap();
    log.truncate(cut).unwrap();
    assert!(matches!(it.next_record(), Err(Error::Truncated { truncated_to, .. }) if truncated_to == cut));
}
