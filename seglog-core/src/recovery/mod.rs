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

use crate::codec::Corruption;
use crate::error::{Error, Result, check_start_offset};
use crate::io::SegmentIo;
use crate::window::Window;

mod policy;
mod search;
mod shed;
mod walk;

pub use policy::RecoveryMode;
pub(crate) use policy::judge;
pub(crate) use search::data_ranges;
use search::{find_valid_after, last_nonzero_end};
use walk::payload_crc;
pub(crate) use walk::walk;

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
    shed::shed_cached_holes(io, end).map_err(io_err)?;
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
