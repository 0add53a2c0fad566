//! Durable truncation: the cursor, the readers and the bytes on disk all move back.

use std::sync::Arc;

use seglog_core::{Error, ReadHint, Reader, RecoveryMode, Writer};

use crate::util::{payload, read_all, reader, reopen, writer};
use crate::{Faulty, Harness, Plan};

const SIZE: u64 = 64 << 10;

/// The next append after a truncation lands exactly at the cut, reads back as itself,
/// and the cut records never return, even under appends of their own sizes.
pub fn truncate_then_append_lands_at_cut<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 16);
    let recs: Vec<(u64, Vec<u8>)> =
        (0..6).map(|i| (w.append(&payload(i, 100 + i as usize)).unwrap().0, payload(i, 100 + i as usize))).collect();
    w.sync().unwrap();
    let cut = recs[3].0;
    w.truncate(cut).unwrap();
    assert_eq!((w.write_offset(), w.flushed_offset().load()), (cut, cut));
    assert!(h.contents()[cut as usize..].iter().all(|&b| b == 0), "cut bytes not erased");
    // Same size as the record that stood at the cut: the old bytes must not show through.
    let again = payload(100, 103);
    assert_eq!(w.append(&again).unwrap().0, cut);
    w.sync().unwrap();
    let mut expect = recs[..3].to_vec();
    expect.push((cut, again));
    assert_eq!(read_all(&mut reader(h, &w), 16), expect);
    drop(w);
    let w = reopen(h, 16, RecoveryMode::Strict).unwrap();
    assert_eq!((w.report().records, w.report().end, w.report().damage), (4, cut + 8 + 103, None));
}

/// Only record and batch boundaries within the records are accepted.
pub fn truncate_rejects_non_boundaries<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 0);
    let (a, _) = w.append(b"aaaa").unwrap();
    let (batch, _) = w.append_batch(&[b"b1", b"b2"]).unwrap();
    let end = w.sync().unwrap();
    for bad in [a + 1, a + 8, batch + 10, end + 1] {
        assert!(matches!(w.truncate(bad), Err(Error::InvalidArgument { .. })), "offset {bad}");
    }
    assert!(!w.is_poisoned());
    w.truncate(end).unwrap();
    assert_eq!(w.write_offset(), end);
    w.truncate(batch).unwrap();
    w.truncate(0).unwrap();
    assert_eq!((w.write_offset(), w.flushed_offset().load()), (0, 0));
    // Unsynced records can be cut too.
    w.append(b"x").unwrap();
    w.append(b"y").unwrap();
    w.truncate(9).unwrap();
    assert_eq!(w.sync().unwrap(), 9);
    assert_eq!(read_all(&mut reader(h, &w), 0), vec![(0, b"x".to_vec())]);
}

/// Readers lose sight of the cut at once; a window over the cut never serves old bytes;
/// an iterator past the cut gets `Truncated`, one before it carries on.
pub fn readers_follow_a_truncation<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 0);
    let offsets: Vec<u64> = (0..10).map(|i| w.append(&payload(i, 50)).unwrap().0).collect();
    w.sync().unwrap();
    let mut random = reader(h, &w);
    assert_eq!(&*random.read_record(offsets[6], ReadHint::Sequential).unwrap(), &payload(6, 50)[..]);
    let mut behind = reader(h, &w);
    let mut ahead = reader(h, &w);
    let mut it_behind = behind.iter(0);
    let mut it_ahead = ahead.iter(0);
    for _ in 0..2 {
        it_behind.next_record().unwrap().unwrap();
    }
    for _ in 0..8 {
        it_ahead.next_record().unwrap().unwrap();
    }
    w.truncate(offsets[5]).unwrap();
    assert!(matches!(random.read_record(offsets[6], ReadHint::Random), Err(Error::NotVisible { .. })));
    assert!(
        matches!(it_ahead.next_record(), Err(Error::Truncated { offset, truncated_to, .. }) if offset == offsets[8] && truncated_to == offsets[5])
    );
    // New records of the same size where the old ones were.
    for i in 0..5 {
        w.append(&payload(100 + i, 50)).unwrap();
    }
    w.sync().unwrap();
    assert_eq!(&*random.read_record(offsets[6], ReadHint::Random).unwrap(), &payload(101, 50)[..]);
    let mut seen = 2;
    while let Some(rec) = it_behind.next_record().unwrap() {
        let want = if seen < 5 { payload(seen, 50) } else { payload(100 + seen - 5, 50) };
        assert_eq!(&*rec, &want[..], "record {seen}");
        seen += 1;
    }
    assert_eq!(seen, 10);
}

/// A truncation whose erase fails poisons the writer; reopening keeps every record before
/// the cut.
pub fn failed_truncation_poisons<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 0);
    let offsets: Vec<u64> = (0..8).map(|i| w.append(&payload(i, 300)).unwrap().0).collect();
    w.sync().unwrap();
    drop(w);
    let io = Faulty::new(h.open_writer().unwrap(), Plan::default());
    let mut w = Writer::recover(io.clone(), 0, RecoveryMode::Strict).unwrap();
    io.set_plan(Plan { fail_write: Some(0), short_write: 100, ..Plan::default() });
    assert!(matches!(w.truncate(offsets[4]), Err(Error::Io { .. })));
    assert!(w.is_poisoned());
    assert!(matches!(w.append(b"x"), Err(Error::Poisoned { .. })));
    drop((w, io));
    let w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
    let got = read_all(&mut Reader::live(Arc::new(h.open_reader().unwrap()), w.flushed_offset()), 0);
    assert!(got.len() >= 4, "records before the cut were lost: {}", got.len());
    for (i, (offset, data)) in got.iter().enumerate() {
        assert_eq!((*offset, data), (offsets[i], &payload(i as u64, 300)), "record {i}");
    }
}
