//! Fuzz targets: each function takes arbitrary bytes, drives seglog with them and panics
//! if seglog panics or breaks the contract (DESIGN.md, docs/FORMAT.md). The cargo-fuzz
//! targets in `fuzz/` call them under libFuzzer (nightly); `tests/fuzz_replay.rs` replays
//! the committed corpus and seeded mutations of it through them on stable.
//!
//! Results are checked against a reference model written from docs/FORMAT.md (the walk
//! of section 2.4, the valid-record search of section 4), not against seglog-core's code.
//! A valid record after damage is one recovery could keep: a valid kind-0 record, or a run
//! of valid kind-1 records that ends in one.

mod model;

use std::sync::Arc;

use seglog_core::codec::{decode_header, decode_prefix, encode_header_kind};
use seglog_core::{Corruption, Error, HEADER_LEN, MAX_PAYLOAD, ReadHint, Reader, RecoveryMode};
use seglog_core::{Writer, verify};

use crate::MemIo;
use crate::util::read_all;

use model::{LEN_MASK, MODEL_WORK, Model, record_crc_model, spend};

const HINTS: [ReadHint; 2] = [ReadHint::Random, ReadHint::Sequential];

/// The block size of the aligned (O_DIRECT-like) recovery run of [`recover`].
const BLOCK: usize = 512;

/// Decodes a header at every byte position of `data` and checks each result against the
/// format: all-zero windows end the records, reserved kinds name the kind, the fields are
/// the stored bytes, and a checksum verifies exactly when re-encoding the payload gives
/// back the same 8 bytes. Then encodes `data` as a payload and decodes it again.
pub fn decode(data: &[u8]) {
    let mut work = MODEL_WORK;
    for at in 0..data.len() {
        let rest = &data[at..];
        let prefix = decode_prefix(rest);
        let Some(window) = rest.first_chunk::<HEADER_LEN>() else {
            assert_eq!(prefix, Err(Corruption::ShortHeader), "offset {at}: {} bytes decoded", rest.len());
            continue;
        };
        let header = decode_header(*window);
        assert_eq!(prefix, header, "offset {at}: decode_prefix and decode_header disagree");
        let word = u32::from_le_bytes([window[0], window[1], window[2], window[3]]);
        let kind = (word >> 30) as u8;
        let h = match header {
            Ok(None) => {
                assert_eq!(*window, [0; HEADER_LEN], "offset {at}: a non-zero header read as the end");
                continue;
            }
            Err(e) => {
                assert_eq!(e, Corruption::ReservedKind { kind }, "offset {at}: word {word:#010x}");
                assert!(kind >= 2, "offset {at}: kind {kind} is not reserved");
                continue;
            }
            Ok(Some(h)) => h,
        };
        assert!(kind <= 1 && *window != [0; HEADER_LEN], "offset {at}: {window:02x?} accepted");
        let stored = u32::from_le_bytes([window[4], window[5], window[6], window[7]]);
        let want = (word.to_le_bytes(), word & LEN_MASK, stored, kind == 1, 8 + u64::from(word & LEN_MASK));
        assert_eq!((h.len_bytes, h.payload_len, h.crc, h.continues_batch, h.record_len()), want, "offset {at}");
        let n = h.payload_len as usize;
        let Some(payload) = rest.get(HEADER_LEN..HEADER_LEN + n).filter(|_| spend(&mut work, n as u64)) else {
            // A payload cut short: verifying it must not panic, whatever it says.
            let _ = h.verify(rest.get(HEADER_LEN..).unwrap_or_default());
            continue;
        };
        let computed = record_crc_model(&h.len_bytes, payload);
        let verdict = h.verify(payload);
        let want = if computed == stored { Ok(()) } else { Err(Corruption::ChecksumMismatch { stored, computed }) };
        assert_eq!(verdict, want, "offset {at}: verifying a {n}-byte payload");
        let reencoded = encode_header_kind(payload, h.continues_batch);
        assert_eq!(reencoded == *window, verdict.is_ok(), "offset {at}: re-encoding disagrees with verify");
    }
    if data.len() <= MAX_PAYLOAD {
        for continues in [false, true] {
            let h =
                decode_header(encode_header_kind(data, continues)).ok().flatten().expect("an encoded header decodes");
            assert_eq!((h.payload_len as usize, h.continues_batch), (data.len(), continues));
            assert_eq!(h.verify(data), Ok(()), "an encoded {}-byte record does not verify", data.len());
            if let Some((first, tail)) = data.split_first() {
                // CRC32C catches every error burst up to 32 bits: a changed byte always shows.
                let changed = [&[first ^ 0x5a][..], tail].concat();
                assert!(h.verify(&changed).is_err(), "a changed first byte still verifies");
            }
        }
    }
}

/// Treats `data` as a whole segment (records start at 0, or where [`start_offset`] says)
/// and recovers it: [`verify`] must match the model; `Strict` must open with the same report
/// or refuse with [`Error::Damaged`] naming the damage and change no byte; `Truncate` must
/// open with the same report, keep the valid prefix and zero everything after it; a second
/// recovery must be clean with the same records; and an append that ends where discarded
/// records began must not bring them back. Runs once with 1-byte and once with 512-byte
/// aligned I/O (the input padded with zeros to whole blocks).
pub fn recover(data: &[u8]) {
    let start = start_offset(data);
    recover_aligned(data, start, 1);
    let mut padded = data.to_vec();
    padded.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
    recover_aligned(&padded, start, BLOCK);
}

/// Opens `data` as a closed segment (records from 0, or where [`start_offset`] says) and
/// reads it: `read_record` at every record boundary and at offsets taken from the input,
/// with both hints, must give exactly the record the format finds there or an error naming
/// that offset; an iterator from the start must yield exactly the valid records; an
/// iterator from anywhere must yield only records that re-verify below the visible end.
pub fn read(data: &[u8]) {
    let start = start_offset(data);
    let size = data.len() as u64;
    let io = Arc::new(MemIo::from_bytes(data.to_vec()));
    let mut reader = match Reader::closed(io, start) {
        Err(Error::InvalidArgument { .. }) if start > size => return,
        Err(e) => panic!("opening a closed reader (start {start}, size {size}): {e}"),
        Ok(_) if start > size => panic!("a closed reader opened with start {start} past the {size}-byte segment"),
        Ok(r) => r,
    };
    let model = Model::of(data, start);
    assert_eq!((reader.start_offset(), reader.visible_end()), (start, model.end), "closed reader's bounds");
    for (i, offset) in read_offsets(data, start, &model).into_iter().enumerate() {
        // Alternate the order of the hints, so each finds the window the other left.
        for hint in if i % 2 == 0 { HINTS } else { [HINTS[1], HINTS[0]] } {
            let got = reader.read_record(offset, hint).map(|r| (r.offset(), r.data().to_vec(), r.continues_batch()));
            let expected = if offset < start || offset >= model.end { None } else { Some(model.record_at(offset)) };
            match (got, expected) {
                (Ok((at, bytes, continues)), Some(Ok(m))) => {
                    assert_eq!((at, continues), (offset, m.continues_batch), "{hint:?} read at {offset}");
                    assert_eq!(bytes, model.payload(m), "{hint:?} read at {offset}: payload");
                    assert!(m.next() <= model.end, "{hint:?} read at {offset}: record ends past the visible end");
                }
                (Err(Error::NotVisible { offset: o, start: s, end: e, .. }), None) => {
                    assert_eq!((o, s, e), (offset, start, model.end), "{hint:?} read at {offset}");
                }
                (Err(Error::Corrupt { offset: o, reason, .. }), Some(Err(c))) => {
                    assert_eq!((o, reason), (offset, c), "{hint:?} read at {offset}");
                }
                (got, expected) => panic!("{hint:?} read at {offset}: got {got:?}, the format says {expected:?}"),
            }
        }
    }
    assert_eq!(read_all(&mut reader, start), model.records_with_bytes(), "iterating from the start");
    let from = read_offsets(data, start, &model).last().copied().unwrap_or(start);
    let mut it = reader.iter(from);
    for _ in 0..=size / 8 + 1 {
        let at = it.position();
        match it.next_record() {
            Ok(Some(r)) => {
                assert!(r.offset() == at && r.next_offset() <= model.end, "iterating from {from}: record at {at}");
                let m = model.record_at(at).unwrap_or_else(|c| panic!("iterating from {from}: {c} at {at}"));
                assert_eq!(r.data(), model.payload(m), "iterating from {from}: payload at {at}");
            }
            Ok(None) => {
                assert!(at >= model.end && at >= start, "iterating from {from}: ended at {at}");
                break;
            }
            Err(e @ (Error::NotVisible { .. } | Error::Corrupt { .. })) => {
                assert_eq!(e.offset(), Some(at), "iterating from {from}: {e}");
                break;
            }
            Err(e) => panic!("iterating from {from}: unexpected error at {at}: {e}"),
        }
    }
    let mut buf = vec![0; data.len().min(start as usize)];
    reader.read_segment_header(&mut buf).unwrap_or_else(|e| panic!("reading a {}-byte header: {e}", buf.len()));
    assert_eq!(buf, data[..buf.len()], "segment header bytes");
    let mut too_long = vec![0; data.len() + 1];
    assert!(matches!(reader.read_segment_header(&mut too_long), Err(Error::InvalidArgument { .. })));
}

/// Where the fuzz functions start the records of `data`: inputs that begin with `S` take
/// it from their next two bytes (little-endian); all others start at 0.
pub fn start_offset(data: &[u8]) -> u64 {
    match data {
        [b'S', lo, hi, ..] => u64::from(u16::from_le_bytes([*lo, *hi])),
        _ => 0,
    }
}

fn recover_aligned(seg: &[u8], start: u64, align: usize) {
    let size = seg.len() as u64;
    let ctx = format!("{size}-byte segment, start {start}, alignment {align}");
    let verified = verify(&mem(seg, align), start);
    if start > size {
        assert!(matches!(verified, Err(Error::InvalidArgument { .. })), "{ctx}: verify gave {verified:?}");
        for mode in [RecoveryMode::Strict, RecoveryMode::Truncate] {
            let io = mem(seg, align);
            let got = Writer::recover(io.clone(), start, mode).map(|w| *w.report());
            assert!(matches!(got, Err(Error::InvalidArgument { .. })), "{ctx}: {mode:?} recovery gave {got:?}");
            assert!(io.contents() == seg, "{ctx}: a refused {mode:?} recovery changed bytes");
        }
        return;
    }
    if size == 0 {
        // An empty file is not a segment: every way in refuses it, changing nothing.
        assert!(matches!(verified, Err(Error::NotASegment { .. })), "{ctx}: verify gave {verified:?}");
        for mode in [RecoveryMode::Strict, RecoveryMode::TornTail, RecoveryMode::Truncate] {
            let got = Writer::recover(mem(seg, align), start, mode).map(|w| *w.report());
            assert!(matches!(got, Err(Error::NotASegment { .. })), "{ctx}: {mode:?} recovery gave {got:?}");
        }
        return;
    }
    let report = verified.unwrap_or_else(|e| panic!("{ctx}: verify: {e}"));
    let model = Model::of(seg, start);
    model.check_report(&report, &ctx);

    let io = mem(seg, align);
    match Writer::recover(io.clone(), start, RecoveryMode::Strict) {
        Ok(w) => {
            assert!(!report.valid_records_after_damage(), "{ctx}: Strict opened past {:?}", report.damage);
            assert_eq!(*w.report(), report, "{ctx}: Strict recovery's report differs from verify's");
            drop(w);
            model.check_erased(&io.contents(), &ctx);
        }
        Err(Error::Damaged { offset, reason, valid_after, .. }) => {
            let damage = report.damage.filter(|_| report.valid_records_after_damage());
            let damage = damage.unwrap_or_else(|| panic!("{ctx}: Strict refused a segment verify calls {report:?}"));
            assert_eq!((offset, reason, valid_after), (damage.offset, damage.reason, damage.valid_after), "{ctx}");
            assert!(io.contents() == seg, "{ctx}: a refusing Strict recovery changed bytes");
        }
        // Damage whose header no write leaves is not a torn tail: refused whole.
        Err(e @ (Error::NotTornTail { .. } | Error::NotASegment { .. })) => {
            let damage = report.damage.unwrap_or_else(|| panic!("{ctx}: Strict refused a clean segment: {e}"));
            assert_eq!(e.offset(), Some(damage.offset), "{ctx}: {e}");
            assert!(
                matches!(
                    damage.reason,
                    Corruption::ReservedKind { .. } | Corruption::LengthOutOfBounds { .. } | Corruption::ShortHeader
                ),
                "{ctx}: Strict refused {e}, but a write can leave {damage:?}"
            );
            assert!(io.contents() == seg, "{ctx}: a refusing Strict recovery changed bytes");
        }
        Err(e) => panic!("{ctx}: Strict recovery: {e}"),
    }

    let io = mem(seg, align);
    let w = Writer::recover(io.clone(), start, RecoveryMode::Truncate).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert_eq!(*w.report(), report, "{ctx}: Truncate recovery's report differs from verify's");
    assert_eq!(read_all(&mut w.reader(), start), model.records_with_bytes(), "{ctx}: records after Truncate");
    drop(w);
    model.check_erased(&io.contents(), &ctx);

    let mut w = Writer::recover(io.clone(), start, RecoveryMode::Strict)
        .unwrap_or_else(|e| panic!("{ctx}: recovering a recovered segment: {e}"));
    let again = *w.report();
    assert!(again.is_clean() && again.discarded_bytes == 0, "{ctx}: second recovery found {again:?}");
    assert_eq!((again.end, again.records), (report.end, report.records), "{ctx}: second recovery");
    assert_eq!(read_all(&mut w.reader(), start), model.records_with_bytes(), "{ctx}: records after 2nd recovery");

    // No resurrection: a record ending exactly where discarded records began must be the last.
    let Some(target) = model.resurrection_target(&report) else { return };
    let payload = vec![0xa5; (target - report.end) as usize - HEADER_LEN];
    w.append(&payload).unwrap_or_else(|e| panic!("{ctx}: appending {} bytes: {e}", payload.len()));
    w.sync().unwrap_or_else(|e| panic!("{ctx}: syncing: {e}"));
    drop(w);
    let after = verify(&io, start).unwrap_or_else(|e| panic!("{ctx}: verify after append: {e}"));
    assert!(after.is_clean(), "{ctx}: append ending at {target} brought bytes back: {after:?}");
    assert_eq!((after.end, after.records), (target, report.records + 1), "{ctx}: append ending at {target}");
}

fn mem(seg: &[u8], align: usize) -> MemIo {
    if align == 1 {
        return MemIo::from_bytes(seg.to_vec());
    }
    let io = MemIo::with_alignment(seg.len() as u64, align);
    io.overwrite(0, seg);
    io
}

/// Offsets to read at: the edges, every record boundary, a point inside each record, and
/// 16-bit numbers taken from the input's last 32 bytes.
fn read_offsets(data: &[u8], start: u64, model: &Model) -> Vec<u64> {
    let (size, end) = (data.len() as u64, model.end);
    let mut v = vec![0, start, start + 1, end, end.saturating_sub(1), end.saturating_sub(8), size, size + 1, u64::MAX];
    for r in model.records.iter().take(512) {
        v.extend([r.offset, r.offset + 1 + r.len % 9]);
    }
    v.extend(data.rchunks_exact(2).take(16).map(|p| u64::from(u16::from_le_bytes([p[0], p[1]])) % (size + 16)));
    v
}
