//! The five recovery properties, checked on one crash image materialised through a harness.
//!
//! Every check returns the first violation as a message that starts with the property's
//! name, so the explorer can shrink a failing case while keeping the same failure.

use std::sync::Arc;

use seglog_core::codec::decode_prefix;
use seglog_core::{Damage, Error, HEADER_LEN, Reader, RecoveryMode, RecoveryReport, SegmentIo, ValidAfter, Writer};

use super::Recording;
use super::workload::{recoverable_after, survivors};
use crate::Harness;
use crate::util::payload;

/// What the explorer knows about the moment of the crash.
#[derive(Debug)]
pub(crate) struct Expect<'a> {
    /// Where records start.
    pub(crate) start: u64,
    /// Every record the workload appended, as (offset, payload).
    pub(crate) appended: &'a [(u64, Vec<u8>)],
    /// The end of the records acknowledged by a sync before the crash.
    pub(crate) acked: u64,
    /// Seeds the payloads appended after recovery.
    pub(crate) salt: u64,
}

/// How one crash state turned out, for the statistics.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Outcome {
    /// Strict recovery refused (valid records after the damage).
    pub(crate) strict_refused: bool,
    /// Recovery found damage with nothing valid after it: a torn tail.
    pub(crate) torn_tail: bool,
    /// Appended records that did not survive the crash.
    pub(crate) lost: usize,
}

/// True if the bytes of `image` at `at` form a valid record.
fn valid_at(image: &[u8], at: u64) -> bool {
    let Some(rest) = image.get(at as usize..) else { return false };
    match decode_prefix(rest) {
        Ok(Some(h)) => rest.get(HEADER_LEN..h.record_len() as usize).is_some_and(|p| h.verify(p).is_ok()),
        _ => false,
    }
}

/// Compared chunk by chunk, so the comparisons run as `memcmp`.
const CHUNK: usize = 512;

/// The first index where `a` and `b` (of equal length) differ.
fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    let c = a.chunks(CHUNK).zip(b.chunks(CHUNK)).position(|(x, y)| x != y)?;
    let i = a[c * CHUNK..].iter().zip(&b[c * CHUNK..]).position(|(x, y)| x != y)?;
    Some(c * CHUNK + i)
}

/// One past the last index where `a` and `b` (of equal length) differ.
fn last_diff_end(a: &[u8], b: &[u8]) -> Option<usize> {
    let c = a.chunks(CHUNK).zip(b.chunks(CHUNK)).rposition(|(x, y)| x != y)?;
    let to = ((c + 1) * CHUNK).min(a.len());
    let i = a[c * CHUNK..to].iter().zip(&b[c * CHUNK..to]).rposition(|(x, y)| x != y)?;
    Some(c * CHUNK + i + 1)
}

/// The first non-zero byte of `bytes`.
fn first_nonzero(bytes: &[u8]) -> Option<usize> {
    let zeros = [0; CHUNK];
    let c = bytes.chunks(CHUNK).position(|x| x != &zeros[..x.len()])?;
    bytes[c * CHUNK..].iter().position(|&b| b != 0).map(|i| c * CHUNK + i)
}

/// Makes the stored bytes equal `image` with at most one `overwrite` call (file
/// harnesses sync each call), creating the segment if its size differs.
pub(crate) fn materialise<H: Harness>(h: &mut H, image: &[u8]) -> Result<(), String> {
    let mut current = h.contents();
    if current.len() != image.len() {
        drop(h.create(image.len() as u64).map_err(|e| format!("harness: creating the segment: {e}"))?);
        current = vec![0; image.len()];
    }
    let (Some(lo), Some(hi)) = (first_diff(&current, image), last_diff_end(&current, image)) else { return Ok(()) };
    h.overwrite(lo as u64, &image[lo..hi]);
    Ok(())
}

/// Cuts the power through the harness, if it can simulate a power loss, and checks that
/// the backend kept what its own syncs made durable: after the power loss, a stored byte
/// may differ from the log's durable image only where a write since the last sync could
/// have landed. The log counts a sync as durable whenever the backend returned `Ok`, so
/// this is the one check that sees a backend whose `sync` does not make writes durable.
pub(crate) fn backend_power_loss<H: Harness>(h: &mut H, log: &Recording) -> Result<(), String> {
    match h.power_loss() {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => return Ok(()),
        Err(e) => return Err(format!("harness: simulating a power loss: {e}")),
    }
    let snap = log.snapshot(log.len());
    let got = h.contents();
    if got.len() != snap.durable.len() {
        return Err(format!(
            "durability: after the backend's power loss the segment holds {} bytes, not {}",
            got.len(),
            snap.durable.len()
        ));
    }
    let mut from = 0;
    while let Some(i) = first_diff(&got[from..], &snap.durable[from..]).map(|i| from + i) {
        // Skip past every pending write that covers the byte: it may have landed.
        let covered = snap.pending.iter().map(|(o, d)| (*o as usize, *o as usize + d.len()));
        let Some(end) = covered.filter(|&(lo, hi)| lo <= i && i < hi).map(|(_, hi)| hi).max() else {
            return Err(format!(
                "durability: after the backend's power loss byte {i} is {:#04x}, but the backend's syncs had \
                 returned Ok for {:#04x} there: its sync does not make writes durable",
                got[i], snap.durable[i]
            ));
        };
        from = end;
    }
    Ok(())
}

/// Every record a reader sees, or the error it hits.
fn records<B: SegmentIo>(r: &mut Reader<B>, start: u64) -> Result<Vec<(u64, Vec<u8>)>, Error> {
    let mut it = r.iter(start);
    let mut out = Vec::new();
    while let Some(rec) = it.next_record()? {
        out.push((rec.offset(), rec.to_vec()));
    }
    Ok(out)
}

fn recover<H: Harness>(h: &mut H, start: u64, mode: RecoveryMode) -> Result<Result<Writer<H::Io>, Error>, String> {
    recover_vouched(h, start, mode, None)
}

fn recover_vouched<H: Harness>(
    h: &mut H,
    start: u64,
    mode: RecoveryMode,
    durable_end: Option<u64>,
) -> Result<Result<Writer<H::Io>, Error>, String> {
    let io = h.open_writer().map_err(|e| format!("harness: opening a writer: {e}"))?;
    Ok(Writer::recover_with(io, start, mode, durable_end))
}

/// Materialises `image`, recovers it in both modes and checks every property.
pub(crate) fn check_image<H: Harness>(h: &mut H, ex: &Expect<'_>, image: &[u8]) -> Result<Outcome, String> {
    // What the image holds, from the appended list alone.
    let (kept, walked) = survivors(image, ex.appended);
    let end = ex
        .appended
        .get(kept)
        .map_or_else(|| ex.appended.last().map_or(ex.start, |(o, d)| o + 8 + d.len() as u64), |r| r.0);
    let stranded = recoverable_after(image, ex.appended, walked);
    let nonzero_end = image.iter().rposition(|&b| b != 0).map_or(0, |i| i as u64 + 1).max(end);

    // (e) Strict first: it must refuse exactly when appended records lie past the damage,
    // and then change no byte.
    materialise(h, image)?;
    let strict = match recover(h, ex.start, RecoveryMode::Strict)? {
        Ok(w) => Ok(*w.report()),
        Err(Error::Damaged { offset, valid_after, .. }) => {
            if let Some(at) = first_diff(&h.contents(), image) {
                return Err(format!("strict mode: refused (damage at {offset}) but changed the byte at {at}"));
            }
            Err((offset, valid_after))
        }
        Err(e) => return Err(format!("strict mode: recovery failed with {e} ({e:?}), not Damaged")),
    };
    if let (Ok(_), Some(at)) = (&strict, stranded) {
        return Err(format!("strict mode: opened although the appended record at {at} lies past the damage at {end}"));
    }

    if strict.is_ok() {
        // Strict recovery may have erased a torn tail: put the crash image back.
        materialise(h, image)?;
    }
    // (f) The default never needs a human after a power loss. The sidecar is published after
    // each sync and never synced, so a crash leaves it missing or at any end published
    // before: at most the acknowledged end. Refusal only grows with the vouched end, so
    // the acknowledged end is the case to try.
    let default = match recover_vouched(h, ex.start, RecoveryMode::TornTail, Some(ex.acked))? {
        Ok(w) => *w.report(),
        Err(e) => return Err(format!("torn tail: the default recovery refused a crash state: {e} ({e:?})")),
    };
    materialise(h, image)?;
    let mut w = match recover(h, ex.start, RecoveryMode::Truncate)? {
        Ok(w) => w,
        Err(e) => return Err(format!("prefix: truncating recovery failed: {e} ({e:?})")),
    };
    let r: RecoveryReport = *w.report();
    let got = records(&mut w.reader(), ex.start).map_err(|e| format!("prefix: reading the recovered records: {e}"))?;

    // (a) durability
    if r.end < ex.acked {
        return Err(format!(
            "durability: recovered up to {}, but records up to {} were acknowledged by a sync",
            r.end, ex.acked
        ));
    }
    // (b) prefix: exactly the leading intact appended records, no gap, no garbage.
    if got.len() > ex.appended.len() || got[..] != ex.appended[..got.len()] {
        let bad = got.iter().zip(ex.appended).position(|(a, b)| a != b).unwrap_or(ex.appended.len());
        return Err(format!("prefix: recovered record #{bad} differs from the appended one ({} recovered)", got.len()));
    }
    if (r.end, r.records, got.len()) != (end, kept as u64, kept) {
        return Err(format!(
            "prefix: recovered {} records ending at {} (report: {} records), expected the {kept} intact ones ending at {end}",
            got.len(),
            r.end,
            r.records
        ));
    }
    // (d) reporting: the damage, what was discarded, and whether valid records follow.
    let damage_ok = match r.damage {
        None => nonzero_end == end,
        Some(Damage { offset, .. }) => offset == end && nonzero_end > end,
    };
    if !damage_ok || r.discarded_bytes != nonzero_end - end {
        return Err(format!("reporting: {r:?}, but non-zero bytes run from the end {end} to {nonzero_end}"));
    }
    let valid_after = r.damage.map_or(ValidAfter::None, |d| d.valid_after);
    match (stranded, valid_after) {
        (Some(at), ValidAfter::Found { offset }) if offset <= at && valid_at(image, offset) => {}
        (Some(_), ValidAfter::Unknown) => {}
        (Some(at), _) => {
            return Err(format!(
                "reporting: the appended record at {at} survives past the damage at {end}, report says {valid_after:?}"
            ));
        }
        (None, ValidAfter::Found { offset }) if !valid_at(image, offset) => {
            return Err(format!("reporting: valid record reported at {offset}, but the bytes there are not one"));
        }
        _ => {}
    }
    if default != r {
        return Err(format!("torn tail: the default recovery found {default:?}, truncate found {r:?}"));
    }
    // (e) strict and truncate agree.
    match strict {
        Ok(s) if s != r => return Err(format!("strict mode: opened with {s:?}, truncate found {r:?}")),
        Err(_) if !r.valid_records_after_damage() => {
            return Err(format!("strict mode: refused, but truncate reports no valid records after the damage: {r:?}"));
        }
        Err((offset, va)) if (offset, va) != (end, valid_after) => {
            return Err(format!("strict mode: refused naming {offset} ({va:?}), truncate found {r:?}"));
        }
        _ => {}
    }

    // (c) no resurrection: the discarded bytes are zero, and records of the discarded
    // sizes, which end exactly on the old boundaries, bring nothing back.
    if let Some(i) = first_nonzero(&h.contents()[end as usize..]) {
        return Err(format!("no resurrection: byte {} past the recovered end {end} is not zero", end as usize + i));
    }
    let mut expect = got;
    let sizes = ex.appended.iter().skip(kept).take(3).map(|(_, d)| d.len()).chain([100]);
    for (i, len) in sizes.enumerate() {
        let data = payload(ex.salt ^ 0x5eed ^ ((i as u64) << 32), len);
        match w.append(&data) {
            Ok((off, _)) => expect.push((off, data)),
            Err(Error::SegmentFull { .. }) => break,
            Err(e) => return Err(format!("no resurrection: appending after recovery: {e}")),
        }
    }
    let synced = w.sync().map_err(|e| format!("no resurrection: syncing after recovery: {e}"))?;
    let seen = records(&mut w.reader(), ex.start).map_err(|e| format!("no resurrection: reading back: {e}"))?;
    if seen != expect {
        return Err(format!(
            "no resurrection: after appending, read {} records, expected {}",
            seen.len(),
            expect.len()
        ));
    }
    drop(w);
    let w = match recover(h, ex.start, RecoveryMode::Strict)? {
        Ok(w) => w,
        Err(e) => return Err(format!("no resurrection: strict reopen after appending failed: {e}")),
    };
    let again = *w.report();
    if (again.end, again.records, again.damage) != (synced, expect.len() as u64, None) {
        return Err(format!(
            "no resurrection: strict reopen after appending found {again:?}, expected a clean end at {synced}"
        ));
    }
    let io = h.open_reader().map_err(|e| format!("harness: opening a reader: {e}"))?;
    let mut closed =
        Reader::closed(Arc::new(io), ex.start).map_err(|e| format!("no resurrection: closed reader: {e}"))?;
    drop(w);
    let seen =
        records(&mut closed, ex.start).map_err(|e| format!("no resurrection: reading the reopened segment: {e}"))?;
    if seen != expect {
        return Err(format!(
            "no resurrection: the reopened segment holds {} records, expected {}",
            seen.len(),
            expect.len()
        ));
    }
    Ok(Outcome {
        strict_refused: strict.is_err(),
        torn_tail: valid_after == ValidAfter::None && r.damage.is_some(),
        lost: ex.appended.len() - kept,
    })
}
