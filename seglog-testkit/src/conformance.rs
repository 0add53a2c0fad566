//! The API contract every backend must meet. Each check builds its own segment through
//! the harness and panics, naming what differed, if the backend breaks the contract.

use std::sync::Arc;
use std::thread;

use seglog_core::{Error, HEADER_LEN, MAX_PAYLOAD, ReadHint, Reader, RecoveryMode, SegmentIo, Writer};

use crate::Harness;
use crate::util::{payload, read_all, reader, reopen, writer};

/// Append, sync, read back: the seed example.
pub fn append_sync_read<H: Harness>(h: &mut H) {
    let mut w = writer(h, 1 << 20, 0);
    let (offset, on_disk) = w.append(b"event data").unwrap();
    assert_eq!((offset, on_disk), (0, HEADER_LEN + 10));
    assert_eq!(w.sync().unwrap(), 18);
    assert_eq!(w.flushed_offset().load(), 18);
    let mut r = reader(h, &w);
    for hint in [ReadHint::Random, ReadHint::Sequential] {
        let rec = r.read_record(offset, hint).unwrap();
        assert_eq!(&*rec, b"event data");
        assert_eq!((rec.offset(), rec.next_offset()), (0, 18));
    }
}

/// Offsets chain exactly for records of many sizes, including zero and larger than every
/// buffer, and read back by offset, by iteration, and through a second reader.
pub fn offsets_chain_for_all_sizes<H: Harness>(h: &mut H) {
    let sizes = [0, 1, 7, 8, 100, 2040, 2048, 2049, 4096, 65_536, 70_000, 300_000, 3];
    let mut w = writer(h, 2 << 20, 0);
    let mut expect = Vec::new();
    let mut next = 0;
    for (i, &len) in sizes.iter().enumerate() {
        let data = payload(i as u64, len);
        let (offset, on_disk) = w.append(&data).unwrap();
        assert_eq!(offset, next, "record {i} of {len} bytes");
        assert_eq!(on_disk, HEADER_LEN + len);
        next += on_disk as u64;
        assert_eq!(w.write_offset(), next);
        assert_eq!(w.remaining_bytes(), (2 << 20) - next);
        expect.push((offset, data));
    }
    assert_eq!(w.sync().unwrap(), next);
    let mut r = reader(h, &w);
    for (offset, data) in &expect {
        assert_eq!(&*r.read_record(*offset, ReadHint::Random).unwrap(), &data[..], "random read at {offset}");
        assert_eq!(&*r.read_record(*offset, ReadHint::Sequential).unwrap(), &data[..], "sequential read at {offset}");
    }
    assert_eq!(read_all(&mut r, 0), expect);
    let mut clone = r.try_clone().unwrap();
    assert_eq!(read_all(&mut clone, 0), expect);
}

/// Records start at the start offset; the region before it is the application's.
pub fn start_offset_and_segment_header<H: Harness>(h: &mut H) {
    let start = 4096 + 100;
    let mut w = writer(h, 1 << 20, start);
    assert_eq!(w.start_offset(), start);
    assert_eq!(w.write_offset(), start);
    let (offset, _) = w.append(b"first").unwrap();
    assert_eq!(offset, start);
    w.write_segment_header(b"MAGIC-v1").unwrap();
    w.append(b"second").unwrap();
    w.sync().unwrap();
    let too_long = vec![1u8; start as usize + 1];
    assert!(matches!(w.write_segment_header(&too_long), Err(Error::InvalidArgument { .. })));
    let mut r = reader(h, &w);
    let mut magic = [0u8; 8];
    r.read_segment_header(&mut magic).unwrap();
    assert_eq!(&magic, b"MAGIC-v1");
    assert!(matches!(r.read_record(0, ReadHint::Random), Err(Error::NotVisible { offset: 0, .. })));
    let all: Vec<Vec<u8>> = read_all(&mut r, start).into_iter().map(|(_, d)| d).collect();
    assert_eq!(all, vec![b"first".to_vec(), b"second".to_vec()]);
    drop(r);
    drop(w);
    let w = reopen(h, start, RecoveryMode::Strict).unwrap();
    assert_eq!(w.report().records, 2);
    assert!(w.report().is_clean(), "{:?}", w.report());
    let mut r = reader(h, &w);
    r.read_segment_header(&mut magic).unwrap();
    assert_eq!(&magic, b"MAGIC-v1");
}

/// Appended records are invisible until synced.
pub fn unsynced_records_are_invisible<H: Harness>(h: &mut H) {
    let mut w = writer(h, 1 << 20, 0);
    w.append(b"one").unwrap();
    w.sync().unwrap();
    let (two, _) = w.append(b"two").unwrap();
    let mut r = reader(h, &w);
    assert!(
        matches!(r.read_record(two, ReadHint::Random), Err(Error::NotVisible { offset, end: 11, .. }) if offset == two)
    );
    {
        let mut it = r.iter(0);
        assert_eq!(&*it.next_record().unwrap().unwrap(), b"one");
        assert!(it.next_record().unwrap().is_none());
    }
    w.sync().unwrap();
    assert_eq!(&*r.read_record(two, ReadHint::Random).unwrap(), b"two");
}

/// A sequential reader that reached the end sees records synced afterwards, even when its
/// read-ahead window already covered their offsets.
pub fn live_iterator_sees_later_syncs<H: Harness>(h: &mut H) {
    let mut w = writer(h, 1 << 20, 0);
    let mut r = reader(h, &w);
    let mut it = r.iter(0);
    assert!(it.next_record().unwrap().is_none());
    for round in 0..50u64 {
        let data = payload(round, 10 + round as usize);
        w.append(&data).unwrap();
        w.sync().unwrap();
        let got = it.next_record().unwrap().unwrap_or_else(|| panic!("round {round}: synced record not seen"));
        assert_eq!(&*got, &data[..]);
        drop(got);
        assert!(it.next_record().unwrap().is_none());
    }
}

/// Synced records survive reopening, and appending carries on after them.
pub fn reopen_keeps_synced_records<H: Harness>(h: &mut H) {
    let mut w = writer(h, 1 << 20, 0);
    let mut expect = Vec::new();
    for i in 0..100 {
        let data = payload(i, (i as usize * 37) % 900);
        expect.push((w.append(&data).unwrap().0, data));
    }
    let end = w.sync().unwrap();
    drop(w);
    let mut w = reopen(h, 0, RecoveryMode::Strict).unwrap();
    let report = *w.report();
    assert_eq!((report.end, report.records, report.damage, report.discarded_bytes), (end, 100, None, 0));
    assert_eq!(w.write_offset(), end);
    assert_eq!(w.flushed_offset().load(), end);
    let data = payload(100, 5);
    expect.push((w.append(&data).unwrap().0, data));
    w.sync().unwrap();
    assert_eq!(read_all(&mut reader(h, &w), 0), expect);
}

/// A segment fills exactly; a record that does not fit is refused and the writer goes on.
pub fn full_segment_refuses_and_stays_usable<H: Harness>(h: &mut H) {
    let size = 64 << 10;
    let mut w = writer(h, size, 0);
    let big = vec![7u8; (size / 2) as usize];
    w.append(&big).unwrap();
    let left = w.remaining_bytes();
    let too_big = vec![8u8; (left - HEADER_LEN as u64 + 1) as usize];
    match w.append(&too_big) {
        Err(Error::SegmentFull { offset, needed, available, .. }) => {
            assert_eq!((offset, needed, available), (size - left, left + 1, left));
        }
        other => panic!("expected SegmentFull, got {other:?}"),
    }
    assert!(!w.is_poisoned());
    let fits = vec![9u8; (left - HEADER_LEN as u64 - 3) as usize];
    let (offset, _) = w.append(&fits).unwrap();
    assert_eq!(w.remaining_bytes(), 3);
    assert!(matches!(w.append(b""), Err(Error::SegmentFull { .. })));
    assert_eq!(w.sync().unwrap(), size - 3);
    drop(w);
    let w = reopen(h, 0, RecoveryMode::Strict).unwrap();
    assert_eq!((w.report().records, w.report().end), (2, size - 3));
    let mut r = reader(h, &w);
    assert_eq!(&*r.read_record(offset, ReadHint::Random).unwrap(), &fits[..]);
}

/// A payload over the format's maximum is refused without poisoning the writer.
pub fn oversized_record_is_refused<H: Harness>(h: &mut H) {
    let mut w = writer(h, 64 << 10, 0);
    // calloc'd and never touched, so this costs no memory.
    let huge = vec![0u8; MAX_PAYLOAD + 1];
    assert!(
        matches!(w.append(&huge), Err(Error::RecordTooLarge { len, max: MAX_PAYLOAD, .. }) if len == MAX_PAYLOAD + 1)
    );
    assert!(!w.is_poisoned());
    w.append(b"ok").unwrap();
    assert_eq!(w.sync().unwrap(), 10);
}

/// Bad read offsets give errors naming the offset, never a panic or a wrong record.
pub fn bad_read_offsets_are_errors<H: Harness>(h: &mut H) {
    let mut w = writer(h, 64 << 10, 16);
    let data: Vec<u8> = (0..=255).collect();
    let (offset, _) = w.append(&data).unwrap();
    w.sync().unwrap();
    let end = w.write_offset();
    let mut r = reader(h, &w);
    for bad in [offset + 1, offset + 4, offset + 8, offset + 100, end - 1] {
        match r.read_record(bad, ReadHint::Random) {
            Err(e @ (Error::Corrupt { .. } | Error::NotVisible { .. })) => assert_eq!(e.offset(), Some(bad)),
            other => panic!("read at mid-record offset {bad}: {other:?}"),
        }
    }
    for bad in [0, 15, end, end + 1, 64 << 10, u64::MAX] {
        assert!(
            matches!(r.read_record(bad, ReadHint::Random), Err(Error::NotVisible { offset, .. }) if offset == bad),
            "offset {bad}"
        );
    }
    let mid = offset + 3;
    let mut it = r.iter(mid);
    assert!(matches!(it.next_record(), Err(Error::Corrupt { offset, .. }) if offset == mid));
}

/// Readers in other threads see every synced record and nothing else while the writer
/// keeps appending.
pub fn concurrent_readers_see_only_synced_records<H: Harness>(h: &mut H)
where
    H::Io: 'static,
{
    const RECORDS: u64 = 3000;
    let mut w = writer(h, 4 << 20, 0);
    let base = reader(h, &w);
    let mut threads = Vec::new();
    for t in 0..3 {
        let mut r = base.try_clone().unwrap();
        threads.push(thread::spawn(move || {
            let mut it = r.iter(0);
            let mut seen = 0u64;
            while seen < RECORDS {
                match it.next_record().unwrap() {
                    Some(rec) => {
                        assert_eq!(&*rec, &payload(seen, len_of(seen))[..], "reader {t}, record {seen}");
                        seen += 1;
                    }
                    None => thread::yield_now(),
                }
            }
            assert!(it.next_record().unwrap().is_none());
            seen
        }));
    }
    for i in 0..RECORDS {
        w.append(&payload(i, len_of(i))).unwrap();
        if i % 7 == 0 || i == RECORDS - 1 {
            w.sync().unwrap();
        }
    }
    for t in threads {
        assert_eq!(t.join().unwrap(), RECORDS);
    }

    fn len_of(i: u64) -> usize {
        (i as usize * 131) % 1500
    }
}

/// A reader of a closed segment is bounded by the end of the valid records, not by the
/// file's length: stale bytes after them are never returned.
pub fn closed_reader_is_bounded_by_valid_records<H: Harness>(h: &mut H) {
    let mut w = writer(h, 64 << 10, 0);
    w.append(b"kept").unwrap();
    let end = w.sync().unwrap();
    w.append(b"never synced, then damaged").unwrap();
    let (stale, _) = w.append(b"never synced, valid").unwrap();
    drop(w);
    // Both unsynced records reached the stored bytes (handed over on drop); damage the first.
    h.overwrite(end, &[0xff]);
    let io = Arc::new(h.open_reader().unwrap());
    let size = io.size();
    let mut r = Reader::closed(io, 0).unwrap();
    assert_eq!(r.visible_end(), end);
    assert_eq!(&*r.read_record(0, ReadHint::Random).unwrap(), b"kept");
    assert!(matches!(r.read_record(stale, ReadHint::Random), Err(Error::NotVisible { .. })));
    assert!(matches!(Reader::closed(Arc::new(h.open_reader().unwrap()), size + 1), Err(Error::InvalidArgument { .. })));
}

/// A start offset past the end of the segment is refused.
pub fn start_offset_past_end_is_refused<H: Harness>(h: &mut H) {
    let io = h.create(4096).unwrap();
    assert!(matches!(Writer::recover(io, 4097, RecoveryMode::Truncate), Err(Error::InvalidArgument { .. })));
    let w = Writer::recover(h.open_writer().unwrap(), 4096, RecoveryMode::Strict).unwrap();
    assert_eq!(w.remaining_bytes(), 0);
}

/// `verify` reports what recovery would find and writes nothing.
pub fn verify_reports_without_writing<H: Harness>(h: &mut H) {
    let mut w = writer(h, 64 << 10, 8);
    let offsets: Vec<u64> = (0..5).map(|i| w.append(&payload(i, 100)).unwrap().0).collect();
    let end = w.sync().unwrap();
    let io = h.open_reader().unwrap();
    let report = seglog_core::verify(&io, 8).unwrap();
    assert_eq!((report.records, report.end, report.damage), (5, end, None));
    h.overwrite(offsets[2] + 20, &[0xee]);
    let before = h.contents();
    let report = seglog_core::verify(&h.open_reader().unwrap(), 8).unwrap();
    assert_eq!((report.records, report.end), (2, offsets[2]));
    assert_eq!(report.damage.map(|d| d.valid_after), Some(seglog_core::ValidAfter::Found { offset: offsets[3] }));
    assert!(h.contents() == before, "verify changed bytes");
    assert!(matches!(seglog_core::verify(&io, (64 << 10) + 1), Err(Error::InvalidArgument { .. })));
}

/// A random read of a record that fits in the optimistic window is one backend call, and a
/// sequential scan reads whole windows, not records. (A reader opened apart from the writer
/// copies on every backend; the writer's own readers on a mapped backend make no call at
/// all: `interleave::mapped_record_survives_truncation`.)
pub fn reads_batch_backend_calls<H: Harness>(h: &mut H) {
    let mut w = writer(h, 1 << 20, 0);
    let small: Vec<u64> = (0..2000).map(|i| w.append(&payload(i, 100)).unwrap().0).collect();
    let (fits, _) = w.append(&payload(9, 2048)).unwrap();
    w.sync().unwrap();
    let io = crate::Faulty::new(h.open_reader().unwrap(), crate::Plan::default());
    let per_call = 1;
    let mut r = Reader::live(Arc::new(io.clone()), w.flushed_offset());
    r.read_record(fits, ReadHint::Random).unwrap();
    assert_eq!(io.reads(), per_call, "a random read of a 2 KiB record");
    r.read_record(small[1000], ReadHint::Random).unwrap();
    assert_eq!(io.reads(), 2 * per_call, "a random read of a 100-byte record");
    let before = io.reads();
    assert_eq!(read_all(&mut r, 0).len(), 2001);
    // 2000 records of 108 bytes are 216,000 bytes: four 64 KiB windows, not 2000 reads.
    assert!(io.reads() - before <= 5 * per_call, "{} reads for a scan", io.reads() - before);
}
