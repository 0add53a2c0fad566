//! Atomic batches: all or nothing after any crash, never seen in part.

use seglog_core::{Error, HEADER_LEN, MAX_PAYLOAD, ReadHint, RecoveryMode, ValidAfter};

use crate::Harness;
use crate::util::{payload, read_all, reader, reopen, writer};

const SIZE: u64 = 64 << 10;

/// A batch appends its records back to back, becomes visible whole at the sync, and
/// survives reopening; an empty batch writes nothing.
pub fn batch_round_trip<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 0);
    w.append(b"before").unwrap();
    let parts = [payload(1, 10), payload(2, 0), payload(3, 3000)];
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let (first, on_disk) = w.append_batch(&refs).unwrap();
    assert_eq!((first, on_disk), (14, 3 * HEADER_LEN + 3010));
    assert_eq!(w.append_batch(&[]).unwrap(), (14 + on_disk as u64, 0));
    let mut r = reader(h, &w);
    assert!(matches!(r.read_record(first, ReadHint::Random), Err(Error::NotVisible { .. })));
    let end = w.sync().unwrap();
    assert_eq!(end, 14 + on_disk as u64);
    let got: Vec<Vec<u8>> = read_all(&mut r, 0).into_iter().map(|(_, d)| d).collect();
    assert_eq!(got, vec![b"before".to_vec(), parts[0].clone(), parts[1].clone(), parts[2].clone()]);
    drop((r, w));
    let w = reopen(h, 0, RecoveryMode::Strict).unwrap();
    assert_eq!((w.report().records, w.report().end, w.report().damage), (4, end, None));
}

/// A batch that does not fit, or holds an oversized record, is refused before any byte is
/// written, and the writer goes on.
pub fn oversized_batch_is_refused_whole<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 0);
    let big = vec![1u8; (SIZE / 2) as usize];
    let huge = vec![0u8; MAX_PAYLOAD + 1];
    let before = w.write_offset();
    assert!(
        matches!(w.append_batch(&[b"a", &big, &big]), Err(Error::SegmentFull { needed, .. }) if needed == 3 * 8 + 1 + SIZE)
    );
    assert!(matches!(w.append_batch(&[b"a", &huge]), Err(Error::RecordTooLarge { .. })));
    assert_eq!(w.write_offset(), before);
    assert!(!w.is_poisoned());
    w.append_batch(&[b"a", b"b"]).unwrap();
    w.sync().unwrap();
    assert_eq!(read_all(&mut reader(h, &w), 0).len(), 2);
}

/// A batch torn at any byte is discarded whole; only a complete batch survives.
pub fn torn_batch_is_all_or_nothing<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 0);
    w.append(b"kept").unwrap();
    let end = w.sync().unwrap();
    let parts = [payload(4, 40), payload(5, 1), payload(6, 70)];
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let (_, len) = w.append_batch(&refs).unwrap();
    drop(w); // handed to the backend, never synced
    let image = h.contents()[end as usize..end as usize + len].to_vec();
    for cut in (1..len).step_by(3).chain([len - 1, len]) {
        let mut partial = image.clone();
        partial[cut..].fill(0);
        h.overwrite(end, &partial);
        let w = reopen(h, 0, RecoveryMode::Strict).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let records = if cut == len { 4 } else { 1 };
        assert_eq!(w.report().records, records, "cut {cut}");
        if cut < len {
            assert_eq!(w.report().end, end, "cut {cut}");
            assert_eq!(w.report().damage.map(|d| d.valid_after), Some(ValidAfter::None), "cut {cut}");
        }
        let got = read_all(&mut reader(h, &w), 0);
        assert_eq!(got.len() as u64, records, "cut {cut}");
        drop(w);
        h.overwrite(end, &vec![0; len]);
    }
}

/// A batch whose middle was lost while its last record persisted (out-of-order writes) is
/// discarded, and the valid record after the hole is reported.
pub fn batch_with_lost_middle_is_reported<H: Harness>(h: &mut H) {
    let mut w = writer(h, SIZE, 0);
    let end = w.sync().unwrap();
    let parts = [payload(7, 600), payload(8, 600), payload(9, 600)];
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    w.append_batch(&refs).unwrap();
    drop(w);
    let last = end + 2 * (HEADER_LEN as u64 + 600);
    h.overwrite(end + 700, &[0; 100]);
    assert!(
        matches!(reopen(h, 0, RecoveryMode::Strict), Err(Error::Damaged { valid_after: ValidAfter::Found { offset }, .. }) if offset == last)
    );
    let w = reopen(h, 0, RecoveryMode::Truncate).unwrap();
    assert_eq!((w.report().end, w.report().records), (end, 0));
}
