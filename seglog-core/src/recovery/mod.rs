//! The recovery scan: where the valid records end, and what lies beyond.
//!
//! Phase one walks records from the start offset, verifying each, until an all-zero
//! header, a record that is not valid, or fewer than 8 bytes left. That position is the
//! recovered end. Phase two looks past it: it finds the last non-zero byte (everything
//! up to it must be erased, or a later append could end on an old record boundary and
//! bring stale records back) and searches the non-zero bytes for a valid record at any
//! byte position, which would mean the damage is not a torn tail but a hole with good
//! records after it (media corruption, or unsynced writes persisted out of order).

use std::fmt;

use crate::codec::{Corruption, HEADER_LEN, Header, decode_prefix};
use crate::crc::{CrcCache, RecordCrc};
use crate::error::{Error, Result, check_start_offset};
use crate::io::SegmentIo;
use crate::window::Window;

mod policy;
mod search;

pub use policy::RecoveryMode;
pub(crate) use policy::judge;
pub(crate) use search::data_ranges;
use search::{find_valid_after, last_nonzero_end};

/// Whether valid records were found after the damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidAfter {
    /// None: the damage is a torn tail.
    None,
    /// At least one; the first starts at `offset`.
    Found {
        /// Offset of the first valid record found past the damage.
        offset: u64,
    },
    /// The scan stopped at its work bound (a large run of non-zero garbage) before it
    /// could rule valid records out.
    Unknown,
}

impl fmt::Display for ValidAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidAfter::None => f.write_str("with no valid records after it"),
            ValidAfter::Found { offset } => write!(f, "with a valid record after it at offset {offset}"),
            ValidAfter::Unknown => f.write_str("and the scan could not rule out valid records after it"),
        }
    }
}

/// Damage found at the end of the valid records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Where it is: the end of the valid prefix.
    pub offset: u64,
    /// What is wrong there. [`Corruption::ZeroHeader`] means the records ended cleanly
    /// but non-zero bytes lie further on.
    pub reason: Corruption,
    /// Whether valid records follow it.
    pub valid_after: ValidAfter,
}

/// What recovery found (and, when opening a writer, did).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Where the records start.
    pub start_offset: u64,
    /// The end of the valid records: where the next append goes.
    pub end: u64,
    /// Valid records in `[start_offset, end)`.
    pub records: u64,
    /// Damage at `end`, if any non-zero byte lies at or past it.
    pub damage: Option<Damage>,
    /// Bytes from `end` to the last non-zero byte, erased by a writer's recovery.
    pub discarded_bytes: u64,
}

impl RecoveryReport {
    pub(crate) fn fresh(start_offset: u64) -> Self {
        Self { start_offset, end: start_offset, records: 0, damage: None, discarded_bytes: 0 }
    }

    /// True when the records ended cleanly and nothing lies after them.
    pub fn is_clean(&self) -> bool {
        self.damage.is_none()
    }

    /// True when valid records were found after the damage (or could not be ruled out):
    /// recovering in `Truncate` mode discards them.
    pub fn valid_records_after_damage(&self) -> bool {
        matches!(self.damage, Some(Damage { valid_after: ValidAfter::Found { .. } | ValidAfter::Unknown, .. }))
    }
}

/// Bytes read per backend call while scanning: large reads run at page-cache speed.
const SCAN_WINDOW: usize = 1 << 20;

/// Phase two's fixed work allowance, in bytes checksummed or headers examined, on top
/// of four units per byte of the region it searches.
const BASE_WORK: u64 = 1 << 30;

/// Walks a segment as recovery would, writing nothing, and reports what it holds: the
/// records, where they end, and any damage with whether valid records follow it.
///
/// This is what [`Writer::open`](crate::Writer::open) would find; unlike it, `verify`
/// takes no lock and changes no byte, so it is safe on a segment a writer has open
/// (its view then races the writer's unsynced appends, which show as a torn tail).
pub fn verify<B: SegmentIo + ?Sized>(io: &B, start_offset: u64) -> Result<RecoveryReport> {
    check_start_offset(io.path(), io.size(), start_offset)?;
    scan(io, start_offset)
}

/// What recovery in `mode` would do, writing nothing: the report of what it would keep and
/// erase when it would open, or the error it would refuse with. `durable_end` is what the
/// segment's sidecar vouches for, as in [`Writer::recover_with`](crate::Writer::recover_with).
pub fn check<B: SegmentIo + ?Sized>(
    io: &B,
    start_offset: u64,
    mode: RecoveryMode,
    durable_end: Option<u64>,
) -> Result<RecoveryReport> {
    let report = verify(io, start_offset)?;
    judge(io, &report, mode, durable_end)?;
    Ok(report)
}

/// Scans the segment and reports what it holds; reads only.
pub(crate) fn scan<B: SegmentIo + ?Sized>(io: &B, start: u64) -> Result<RecoveryReport> {
    let size = io.size();
    if size == 0 {
        return Err(Error::NotASegment { path: io.path().to_path_buf(), offset: 0, reason: None, likely_start: None });
    }
    let mut w = Window::default();
    let walked = walk(io, &mut w, start, size)?;
    let end = walked.end;
    let io_err =
        |e| Error::Io { path: io.path().to_path_buf(), op: "scanning past the valid records", offset: end, source: e };
    let erase_end = last_nonzero_end(io, &mut w, end, size).map_err(io_err)?;
    let damage = if erase_end == end {
        None
    } else {
        // The records of a batch cut short are a torn tail, not valid records after damage:
        // search from where the walk stopped.
        let search_from = walked.stopped_at.max(end);
        let valid_after = if search_from >= erase_end {
            ValidAfter::None
        } else {
            find_valid_after(io, search_from, erase_end, size).map_err(io_err)?
        };
        let reason = if walked.stopped_at > end { Corruption::IncompleteBatch } else { walked.stop };
        Some(Damage { offset: end, reason, valid_after })
    };
    Ok(RecoveryReport { start_offset: start, end, records: walked.records, damage, discarded_bytes: erase_end - end })
}

/// Where a walk of the valid records ended.
pub(crate) struct Walked {
    /// End of the last complete record or batch: the recovered end.
    pub(crate) end: u64,
    /// Where the walk stopped: past `end` when a batch was cut short.
    pub(crate) stopped_at: u64,
    /// Records in `[start, end)`.
    pub(crate) records: u64,
    /// Why it stopped.
    pub(crate) stop: Corruption,
}

/// Walks the valid records from `start` until damage, the end of the records, or `limit`.
pub(crate) fn walk<B: SegmentIo + ?Sized>(io: &B, w: &mut Window, start: u64, limit: u64) -> Result<Walked> {
    let size = io.size();
    let io_err =
        |offset: u64, e| Error::Io { path: io.path().to_path_buf(), op: "walking the records", offset, source: e };
    let (mut pos, mut end) = (start, start);
    let (mut records, mut in_batch) = (0, 0);
    let mut crcs = CrcCache::default();
    // Read ahead only as far as the backend says data lies: a window into a hole would make
    // the kernel zero-fill and cache pages that the scan past the records then reads again.
    let mut data_end = 0;
    let stop = loop {
        if pos >= limit {
            break Corruption::ZeroHeader;
        }
        if size - pos < HEADER_LEN as u64 {
            break Corruption::ShortHeader;
        }
        if pos >= data_end {
            data_end = io.next_data(pos).map_err(|e| io_err(pos, e))?.map_or(pos, |r| r.end.max(pos));
        }
        let ahead = SCAN_WINDOW.min((data_end - pos) as usize);
        let bytes = w.get(io, pos, HEADER_LEN, ahead, size).map_err(|e| io_err(pos, e))?;
        let header = match decode_prefix(bytes) {
            Ok(Some(h)) => h,
            Ok(None) => break Corruption::ZeroHeader,
            Err(c) => break c,
        };
        let available = size - pos;
        if header.record_len() > available {
            break Corruption::LengthOutOfBounds { len: header.record_len(), available };
        }
        let crc = payload_crc(io, w, pos, &header, size, &mut crcs, ahead).map_err(|e| io_err(pos, e))?;
        if let Err(c) = header.check_crc(crc) {
            break c;
        }
        pos += header.record_len();
        in_batch += 1;
        if !header.continues_batch {
            records += in_batch;
            in_batch = 0;
            end = pos;
        }
    };
    Ok(Walked { end, stopped_at: pos, records, stop })
}

/// The record checksum of the record at `pos`, reading its payload in window-sized pieces
/// (and up to `ahead` bytes ahead of it); payload bytes at or past `nonzero_end` are known
/// to be zero and are not read.
fn payload_crc<B: SegmentIo + ?Sized>(
    io: &B,
    w: &mut Window,
    pos: u64,
    header: &Header,
    nonzero_end: u64,
    crcs: &mut CrcCache,
    ahead: usize,
) -> std::io::Result<u32> {
    let size = io.size();
    let from = pos + HEADER_LEN as u64;
    let to = from + u64::from(header.payload_len);
    if to <= nonzero_end && header.payload_len as usize <= SCAN_WINDOW {
        let payload = w.get(io, from, header.payload_len as usize, ahead, size)?;
        return Ok(crcs.record_crc(header.len_bytes, payload));
    }
    let mut crc = RecordCrc::new(header.len_bytes);
    let mut at = from;
    let read_to = to.min(nonzero_end.max(from));
    while at < read_to {
        let n = ((read_to - at) as usize).min(SCAN_WINDOW);
        crc.update(w.get(io, at, n, SCAN_WINDOW, size)?);
        at += n as u64;
    }
    crc.update_zeros(to - at);
    Ok(crc.finish())
}
