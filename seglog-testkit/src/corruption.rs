//! The recovery properties of the design brief, checked on damaged segments: torn tails
//! at every byte, bit flips, lost writes, hostile headers, I/O errors, failed syncs.

use std::io;

use seglog_core::{Corruption, Damage, Error, ReadHint, RecoveryMode, ValidAfter, Writer};

use crate::util::{payload, read_all, reader, reopen, writer};
use crate::{Faulty, Harness, Plan};

const SIZE: u64 = 64 << 10;

/// Writes `records` synced records and returns them with the end offset.
fn synced<H: Harness>(h: &mut H, start: u64, lens: &[usize]) -> (Vec<(u64, Vec<u8>)>, u64) {
    let mut w = writer(h, SIZE, start);
    let recs: Vec<_> = lens
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let data = payload(i as u64, len);
            (w.append(&data).unwrap().0, data)
        })
        .collect();
    let end = w.sync().unwrap();
    (recs, end)
}

/// The stored bytes from `from` on are all zero.
fn assert_zero_from<H: Harness>(h: &mut H, from: u64) {
    let bytes = h.contents();
    if let Some(i) = bytes[from as usize..].iter().position(|&b| b != 0) {
        panic!("non-zero byte at offset {} past the recovered end {from}", from as usize + i);
    }
}

/// A record torn at every byte is discarded, erased, and never comes back, whatever is
/// appended over it afterwards.
pub fn torn_tail_at_every_byte<H: Harness>(h: &mut H) {
    let (kept, end) = synced(h, 0, &[10, 300, 0, 50]);
    let torn = payload(99, 200);
    let mut image = seglog_core::codec::encode_header(&torn).to_vec();
    image.extend_from_slice(&torn);
    for cut in 1..image.len() {
        let mut partial = image.clone();
        partial[cut..].fill(0);
        h.overwrite(end, &partial);
        let nonzero = partial.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1) as u64;
        let mut w = reopen(h, 0, RecoveryMode::Strict).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let r = *w.report();
        assert_eq!((r.end, r.records, r.discarded_bytes), (end, 4, nonzero), "cut {cut}");
        if nonzero > 0 {
            assert_eq!(r.damage.map(|d| (d.offset, d.valid_after)), Some((end, ValidAfter::None)), "cut {cut}");
        }
        assert_zero_from(h, end);
        // Same size as the torn record: it must read back as itself, and nothing old may follow.
        let again = payload(1000 + cut as u64, 200);
        assert_eq!(w.append(&again).unwrap().0, end);
        w.sync().unwrap();
        let mut expect = kept.clone();
        expect.push((end, again));
        assert_eq!(read_all(&mut reader(h, &w), 0), expect, "cut {cut}");
        drop(w);
        let w = reopen(h, 0, RecoveryMode::Strict).unwrap();
        assert_eq!((w.report().records, w.report().damage), (5, None), "cut {cut}");
        drop(w);
        // Roll back to the torn state for the next cut.
        h.overwrite(end, &vec![0; image.len()]);
    }
}

/// seglog 0.3.6 defect P5: after recovery discards a torn record, a new record ending on
/// an old record boundary must not bring the stale records after it back.
pub fn no_resurrection_after_aligned_append<H: Harness>(h: &mut H) {
    let (kept, end) = synced(h, 0, &[40, 40]);
    let mut w = reopen(h, 0, RecoveryMode::Strict).unwrap();
    let b1 = payload(7, 200);
    let b2 = payload(8, 64);
    w.append(&b1).unwrap();
    let (b2_at, _) = w.append(&b2).unwrap();
    drop(w); // handed to the backend, never synced
    // Power loss kept b2's sector but tore b1.
    h.overwrite(end + 20, &[0; 100]);
    let mut w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
    let r = *w.report();
    assert_eq!(r.end, end);
    assert_eq!(r.damage.map(|d| d.valid_after), Some(ValidAfter::Found { offset: b2_at }));
    assert!(r.valid_records_after_damage());
    assert_zero_from(h, end);
    let c = payload(9, 200);
    let (c_at, n) = w.append(&c).unwrap();
    assert_eq!(c_at + n as u64, b2_at, "the new record ends where the stale one began");
    w.sync().unwrap();
    let mut expect = kept;
    expect.push((c_at, c));
    assert_eq!(read_all(&mut reader(h, &w), 0), expect);
    drop(w);
    let w = reopen(h, 0, RecoveryMode::Strict).unwrap();
    assert_eq!((w.report().end, w.report().records, w.report().damage), (b2_at, 3, None));
}

/// Strict recovery refuses when valid records follow damage, and changes no byte.
pub fn strict_refuses_and_changes_nothing<H: Harness>(h: &mut H) {
    let (recs, _) = synced(h, 0, &[100; 10]);
    let victim = recs[3].0;
    for pos in [victim, victim + 2, victim + 3, victim + 5, victim + 8, victim + 50, victim + 107] {
        let before = h.contents();
        let mut flipped = [before[pos as usize]];
        flipped[0] ^= 0x10;
        h.overwrite(pos, &flipped);
        let damaged = h.contents();
        match reopen(h, 0, RecoveryMode::Strict) {
            // A flip that makes a header no write leaves is refused as not a torn tail.
            Err(Error::Damaged { offset, valid_after, .. } | Error::NotTornTail { offset, valid_after, .. }) => {
                assert_eq!(offset, victim, "flip at {pos}");
                assert_eq!(valid_after, ValidAfter::Found { offset: recs[4].0 }, "flip at {pos}");
            }
            other => panic!("flip at {pos}: expected Damaged, got {other:?}"),
        }
        assert!(h.contents() == damaged, "strict recovery changed bytes (flip at {pos})");
        h.overwrite(pos, &[before[pos as usize]]);
    }
}

/// seglog 0.3.6 defect P6: a bit flip mid-log is reported, not taken for the end of the log.
pub fn mid_log_flip_is_reported<H: Harness>(h: &mut H) {
    let (recs, _) = synced(h, 32, &[300; 10]);
    let (victim, _) = recs[2];
    h.overwrite(victim + 8 + 150, &[0x5a]);
    let w = reopen(h, 32, RecoveryMode::Truncate).unwrap();
    let r = *w.report();
    assert_eq!((r.end, r.records), (victim, 2));
    let d = r.damage.expect("damage reported");
    assert!(matches!(d.reason, Corruption::ChecksumMismatch { .. }), "{d:?}");
    assert_eq!(d.valid_after, ValidAfter::Found { offset: recs[3].0 });
    assert_zero_from(h, victim);
}

/// Out-of-order persistence: a lost sector in the middle of unsynced records, with later
/// ones persisted, is reported as damage with valid records after it.
pub fn lost_write_is_reported<H: Harness>(h: &mut H) {
    let (_, end) = synced(h, 0, &[500; 5]);
    let mut w = reopen(h, 0, RecoveryMode::Strict).unwrap();
    let later: Vec<u64> = (0..5).map(|i| w.append(&payload(50 + i, 500)).unwrap().0).collect();
    drop(w);
    let lost = (later[1] + 100) & !511;
    h.overwrite(lost, &[0; 512]);
    match reopen(h, 0, RecoveryMode::Strict) {
        Err(Error::Damaged { valid_after: ValidAfter::Found { offset }, .. }) => assert!(offset > lost, "{offset}"),
        other => panic!("expected Damaged, got {other:?}"),
    }
    let w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
    assert!(w.report().valid_records_after_damage());
    assert!(w.report().end >= end && w.report().end <= lost);
}

/// Headers that lie (a 1 GiB length, a reserved kind) end recovery with the reason, and
/// reads of them fail cleanly.
pub fn hostile_headers<H: Harness>(h: &mut H) {
    type Expect = fn(Corruption) -> bool;
    let cases: [([u8; 8], Expect); 3] = [
        ([0xff, 0xff, 0xff, 0x3f, 1, 2, 3, 4], |c| matches!(c, Corruption::LengthOutOfBounds { .. })),
        ([5, 0, 0, 0x80, 1, 2, 3, 4], |c| c == Corruption::ReservedKind { kind: 2 }),
        ([5, 0, 0, 0xc0, 1, 2, 3, 4], |c| c == Corruption::ReservedKind { kind: 3 }),
    ];
    for (header, expected) in cases {
        let (_, end) = synced(h, 0, &[20]);
        h.overwrite(end, &header);
        let w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
        let d = w.report().damage.expect("damage reported");
        assert_eq!(d.offset, end);
        assert!(expected(d.reason), "{header:?}: {:?}", d.reason);
        drop(w);
        h.overwrite(end, &header);
        let io = std::sync::Arc::new(h.open_reader().unwrap());
        let mut r = seglog_core::Reader::closed(io, 0).unwrap();
        assert_eq!(r.visible_end(), end);
        assert!(matches!(r.read_record(end, ReadHint::Random), Err(Error::NotVisible { .. })));
    }
}

/// A segment of random bytes opens with an error or an empty, reported log, never a panic.
pub fn random_bytes_never_panic<H: Harness>(h: &mut H) {
    for seed in 0..4u64 {
        drop(writer(h, SIZE, 0));
        h.overwrite(0, &payload(seed, SIZE as usize));
        let io = std::sync::Arc::new(h.open_reader().unwrap());
        let mut r = seglog_core::Reader::closed(io, 0).unwrap();
        for off in (0..SIZE).step_by(997) {
            let _ = r.read_record(off, ReadHint::Random);
        }
        match reopen(h, 0, RecoveryMode::Strict) {
            Ok(w) => assert!(!w.report().valid_records_after_damage()),
            Err(Error::Damaged { .. } | Error::NotTornTail { .. } | Error::NotASegment { .. }) => {}
            Err(e) => panic!("seed {seed}: {e}"),
        }
        let w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
        let end = w.report().end;
        drop(w);
        assert_zero_from(h, end);
    }
}

/// An I/O error during the recovery scan is returned, never taken for the end of the log,
/// and nothing is erased.
pub fn read_error_during_recovery_is_returned<H: Harness>(h: &mut H) {
    let (recs, _) = synced(h, 0, &[1000; 20]);
    let before = h.contents();
    let io = Faulty::new(h.open_writer().unwrap(), Plan { fail_reads_from: Some(recs[12].0), ..Plan::default() });
    match Writer::recover(io, 0, RecoveryMode::Truncate) {
        Err(Error::Io { .. }) => {}
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert!(h.contents() == before, "a failed recovery changed bytes");
    let w = reopen(h, 0, RecoveryMode::Strict).unwrap();
    assert_eq!(w.report().records, 20);
}

/// A failed sync poisons the writer: nothing later succeeds, the flushed offset does not
/// move, and reopening keeps every record acknowledged before it.
pub fn failed_sync_poisons<H: Harness>(h: &mut H) {
    let (recs, end) = synced(h, 0, &[100; 3]);
    let io = Faulty::new(h.open_writer().unwrap(), Plan::default());
    let mut w = Writer::recover(io.clone(), 0, RecoveryMode::Strict).unwrap();
    w.append(b"lost?").unwrap();
    io.set_plan(Plan { fail_sync: Some(0), ..Plan::default() });
    assert!(matches!(w.sync(), Err(Error::Io { .. })));
    assert!(w.is_poisoned());
    // fsyncgate: the retry would "succeed" on a real kernel; here it must not even be tried.
    io.set_plan(Plan::default());
    assert!(matches!(w.sync(), Err(Error::Poisoned { .. })));
    assert!(matches!(w.append(b"x"), Err(Error::Poisoned { .. })));
    assert!(matches!(w.write_segment_header(b""), Err(Error::Poisoned { .. })));
    assert_eq!(w.flushed_offset().load(), end);
    drop((w, io));
    let w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
    let got = read_all(&mut reader(h, &w), 0);
    assert_eq!(got[..3], recs[..]);
}

/// A failed or short write poisons the writer, and offsets never drift from the bytes on
/// disk, whether the write fails inside `append` (a record larger than the write buffer)
/// or inside `sync`.
pub fn failed_write_poisons<H: Harness>(h: &mut H) {
    let cases = [
        (0, io::ErrorKind::Other, 300_000),
        (37, io::ErrorKind::StorageFull, 300_000),
        (4096, io::ErrorKind::Other, 40_000),
        (0, io::ErrorKind::Other, 10),
    ];
    for (short, kind, len) in cases {
        let mut w = writer(h, 1 << 20, 0);
        let recs: Vec<_> = (0..3).map(|i| (w.append(&payload(i, 100)).unwrap().0, payload(i, 100))).collect();
        let end = w.sync().unwrap();
        drop(w);
        let io = Faulty::new(h.open_writer().unwrap(), Plan::default());
        let mut w = Writer::recover(io.clone(), 0, RecoveryMode::Strict).unwrap();
        io.set_plan(Plan { fail_write: Some(0), short_write: short, write_error: Some(kind), ..Plan::default() });
        let big = payload(5, len);
        let failed = w.append(&big).and_then(|_| w.sync());
        assert!(matches!(failed, Err(Error::Io { .. })), "{failed:?}");
        assert!(w.is_poisoned());
        io.set_plan(Plan::default());
        assert!(matches!(w.append(b"x"), Err(Error::Poisoned { .. })));
        assert!(matches!(w.sync(), Err(Error::Poisoned { .. })));
        assert_eq!(w.flushed_offset().load(), end);
        drop((w, io));
        let mut w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
        assert_eq!((w.report().end, w.report().records), (end, 3), "short write of {short}, record of {len}");
        let (at, _) = w.append(b"after").unwrap();
        assert_eq!(at, end);
        w.sync().unwrap();
        let got = read_all(&mut reader(h, &w), 0);
        assert_eq!(got[..3], recs[..]);
        assert_eq!(got[3], (end, b"after".to_vec()));
    }
}

/// Recovery erases the discarded tail and syncs before the writer accepts appends.
pub fn recovery_erases_then_syncs<H: Harness>(h: &mut H) {
    let (_, end) = synced(h, 0, &[64; 4]);
    h.overwrite(end + 10, &[1, 2, 3]);
    let io = Faulty::new(h.open_writer().unwrap(), Plan::default());
    let w = Writer::recover(io.clone(), 0, RecoveryMode::Truncate).unwrap();
    assert_eq!(
        w.report().damage,
        Some(Damage { offset: end, reason: Corruption::ZeroHeader, valid_after: ValidAfter::None })
    );
    assert_eq!(w.report().discarded_bytes, 13);
    let log = io.log();
    let first_sync = log.iter().position(|op| matches!(op, crate::Op::Sync { .. })).expect("a sync");
    assert!(
        log[..first_sync].iter().any(|op| matches!(op, crate::Op::Write { offset, .. } if *offset <= end)),
        "{log:?}"
    );
    drop((w, io));
    assert_zero_from(h, end);
}

/// Megabytes of random bytes after the records exhaust the search's work bound: the report
/// says valid records cannot be ruled out, and `Strict` refuses rather than guess.
pub fn garbage_beyond_budget_is_unknown<H: Harness>(h: &mut H) {
    const BIG: u64 = 16 << 20;
    let mut w = writer(h, BIG, 0);
    w.append(b"kept").unwrap();
    let end = w.sync().unwrap();
    drop(w);
    h.overwrite(end, &payload(77, (BIG - end) as usize));
    let before = h.contents();
    match reopen(h, 0, RecoveryMode::Strict) {
        Err(
            Error::Damaged { offset, valid_after: ValidAfter::Unknown, .. }
            | Error::NotTornTail { offset, valid_after: ValidAfter::Unknown, .. },
        ) => assert_eq!(offset, end),
        other => panic!("expected Damaged with Unknown, got {other:?}"),
    }
    assert!(h.contents() == before, "strict recovery changed bytes");
    let w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
    assert_eq!((w.report().end, w.report().records), (end, 1));
    assert_eq!(w.report().damage.map(|d| d.valid_after), Some(ValidAfter::Unknown));
    drop(w);
    assert_zero_from(h, end);
}
