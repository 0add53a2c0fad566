//! What recovery may erase without being told: only what a crash could have left.
//!
//! A crash leaves, past the last durable record, unsynced writes that landed whole, torn or
//! not at all, in any order. Where the last durable record ends, the bytes are therefore
//! zeros, a prefix of the header the writer wrote there (the rest zeros), or all of it: a
//! header that decodes, with a known kind and a length that fits. Damage that starts with
//! any other header, or that starts below the durable end the sidecar vouches for, is not
//! a torn tail: it is media damage, a wrong start offset, or a file that is not a segment.

use super::{RecoveryReport, SCAN_WINDOW, walk};
use crate::codec::{Corruption, HEADER_LEN, decode_prefix};
use crate::error::{Error, Result};
use crate::io::SegmentIo;
use crate::window::Window;

/// What [`Writer::open_with`](crate::Writer::open_with) may erase when the records end in
/// damage. Every mode keeps the valid records from the start offset on; they differ in
/// what they are willing to erase after them. docs/FORMAT.md, "When recovery erases",
/// states the same rules.
///
/// The default is [`TornTail`](Self::TornTail) because it is the one that never needs a
/// human after a power loss yet never erases what a power loss could not have left. `Strict`
/// keeps its meaning from before (and is stricter still); `Truncate`, once the default,
/// stays for the callers that want everything after the damage gone and say so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Like [`TornTail`](Self::TornTail), and also refuses (with [`Error::Damaged`]) when
    /// valid records follow the damage or the scan cannot rule them out, even past the
    /// durable end: unsynced records that a crash persisted out of order are kept for a
    /// human to look at. A crash can therefore make `Strict` refuse.
    Strict,
    /// Erases only a torn tail: what lies past the last durable record, which a crash alone
    /// can leave. Refuses, changing nothing, damage that starts below the durable end the
    /// segment's sidecar vouches for ([`Error::NotTornTail`]; so are records that end in
    /// zeros below it: synced records gone), damage whose header no
    /// write leaves, torn or not ([`Error::NotTornTail`], or [`Error::NotASegment`] when
    /// no record is valid at the start offset), and an empty file. What
    /// [`Writer::open`](crate::Writer::open) does.
    #[default]
    TornTail,
    /// Erases everything after the valid records, whatever it is: the caller has decided
    /// the damage is to go (`seglog recover --force`). Refuses only an empty file.
    Truncate,
}

/// Fails with the error recovery in `mode` refuses with, given what the scan found and the
/// durable end the sidecar vouches for; `Ok` when recovery may erase what `report` says.
pub(crate) fn judge<B: SegmentIo + ?Sized>(
    io: &B,
    report: &RecoveryReport,
    mode: RecoveryMode,
    durable_end: Option<u64>,
) -> Result<()> {
    if mode == RecoveryMode::Truncate {
        return Ok(());
    }
    let Some(d) = report.damage else { return lost_below(io, report, durable_end) };
    let below = durable_end.filter(|&v| d.offset < v);
    let foreign = no_write_leaves(d.reason);
    if below.is_some() || foreign {
        let path = io.path().to_path_buf();
        let likely_start = if report.records == 0 { likely_start(io, report.start_offset)? } else { None };
        if below.is_none() && report.records == 0 {
            return Err(Error::NotASegment { path, offset: d.offset, reason: Some(d.reason), likely_start });
        }
        return Err(Error::NotTornTail {
            path,
            offset: d.offset,
            reason: d.reason,
            valid_after: d.valid_after,
            durable_end: below,
            likely_start,
        });
    }
    if mode == RecoveryMode::Strict && report.valid_records_after_damage() {
        return Err(Error::Damaged {
            path: io.path().to_path_buf(),
            offset: d.offset,
            reason: d.reason,
            valid_after: d.valid_after,
        });
    }
    Ok(())
}

/// Refuses records that end cleanly, in zeros, below the durable end the sidecar vouches
/// for: records a sync made durable are gone (zeroed by media damage, or by a tool), which no
/// crash can do, so opening must not quietly append over where they were.
fn lost_below<B: SegmentIo + ?Sized>(io: &B, report: &RecoveryReport, durable_end: Option<u64>) -> Result<()> {
    match durable_end.filter(|&v| report.end < v) {
        None => Ok(()),
        Some(v) => Err(Error::NotTornTail {
            path: io.path().to_path_buf(),
            offset: report.end,
            reason: Corruption::ZeroHeader,
            valid_after: crate::recovery::ValidAfter::None,
            durable_end: Some(v),
            likely_start: None,
        }),
    }
}

/// True for damage no write of a record leaves where it starts, torn or not: a reserved
/// kind, a length that cannot fit, or non-zero bytes where no header fits. A torn header is
/// a prefix of a real one with zeros after it, so its kind is real and its length at most
/// the real one's.
fn no_write_leaves(reason: Corruption) -> bool {
    matches!(reason, Corruption::ReservedKind { .. } | Corruption::LengthOutOfBounds { .. } | Corruption::ShortHeader)
}

/// Where records are searched for when none is valid at the start offset: this far past it.
const LIKELY_SPAN: u64 = 64 << 10;

/// Bytes of candidate records checksummed before the search for a likely start gives up.
const LIKELY_WORK: u64 = 256 << 20;

/// The first offset in the first blocks of the segment, other than `start`, where a run of
/// valid records begins that ends cleanly or holds at least two records: the start offset
/// the caller probably meant. Skips the record that the header at `start` would end at, so
/// a damaged first record is not mistaken for a wrong start offset.
pub(crate) fn likely_start<B: SegmentIo + ?Sized>(io: &B, start: u64) -> Result<Option<u64>> {
    let size = io.size();
    let span_end = start.saturating_add(LIKELY_SPAN).min(size).min(SCAN_WINDOW as u64);
    if span_end < HEADER_LEN as u64 {
        return Ok(None);
    }
    let io_err = |offset, e| Error::Io {
        path: io.path().to_path_buf(),
        op: "searching for the start of the records",
        offset,
        source: e,
    };
    let mut head = Window::default();
    let bytes = head.get(io, 0, span_end as usize, 0, size).map_err(|e| io_err(0, e))?.to_vec();
    let first_end = bytes
        .get(start as usize..)
        .and_then(|b| decode_prefix(b).ok().flatten())
        .map(|h| start.saturating_add(h.record_len()));
    let mut work = LIKELY_WORK;
    let mut w = Window::default();
    for (at, h) in bytes.windows(HEADER_LEN).enumerate() {
        let at = at as u64;
        if at == start || Some(at) == first_end {
            continue;
        }
        let Ok(Some(header)) = decode_prefix(h) else { continue };
        if header.record_len() > size - at {
            continue;
        }
        let Some(left) = work.checked_sub(header.record_len()) else { return Ok(None) };
        work = left;
        let walked = walk(io, &mut w, at, size)?;
        if walked.records >= 2 || (walked.records == 1 && walked.stop == Corruption::ZeroHeader) {
            return Ok(Some(at));
        }
    }
    Ok(None)
}
