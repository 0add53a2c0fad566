//! Sequential reads: an iterator that checks what is visible once per window, not per record.
//!
//! A random read pays for the seqlock ([`FlushedOffset::read_stable`](crate::FlushedOffset))
//! on every record: load the generation and the end, read, verify, re-check. A scan pays
//! it once per window: the read that fills the window (or, for a reader that borrows from
//! the mapping, looks at the next stretch of it) checks the record at its position under
//! the seqlock and, in the same attempt, verifies every record that follows in those bytes
//! below the visible end, in one tight pass: the *run*. Each later record of the run is
//! returned after only the seqlock's re-check ([`FlushedOffset::recheck`](crate::FlushedOffset)),
//! which for a reader that copies is one load of the generation:
//!
//! - unchanged: no truncation came since the run was verified, so its records are still
//!   the segment's, below an end published under that generation, and (being verified
//!   copies, or pinned mapped bytes no truncation has touched) exactly what was checked;
//! - moved: the run is dropped and the record read again under the seqlock, which reports
//!   [`Error::Truncated`] at once if the cut went below the position, and reads the new
//!   bytes if it did not.
//!
//! A run never extends past the end visible when it was verified, so records synced later
//! come from a later seqlocked read, as they must.

use crate::codec::{HEADER_LEN, decode_prefix};
use crate::crc::CrcCache;
use crate::error::{Error, Result};
use crate::flushed::PinSlot;
use crate::io::SegmentIo;
use crate::reader::{At, Bound, Fetch, Found, mapped_range};
use crate::record::Record;
use crate::writer::io_error;

/// Iterates records in order; see [`Reader::iter`](crate::Reader::iter).
///
/// Not a `std::iter::Iterator`: each record borrows the reader's buffer until the next
/// call. When it reaches the visible end, [`next_record`](Self::next_record) returns
/// `Ok(None)`; records synced later are returned by later calls.
///
/// If the writer truncates the segment below the iterator's position, the next call
/// returns [`Error::Truncated`], also when the truncation lands while that call reads, or
/// after the record it is about to return was read ahead; a truncation at or past its
/// position does not disturb it.
#[derive(Debug)]
pub struct Iter<'r, B: SegmentIo> {
    io: &'r B,
    bound: &'r Bound,
    fetch: &'r mut Fetch,
    /// Present when records borrow from the mapping.
    pin: Option<&'r PinSlot>,
    /// The start offset and read-ahead; `offset` is set per read.
    at: At,
    pos: u64,
    /// The truncation generation of the last read: the run was verified under it.
    generation: u64,
    /// The records from `pos` up to here are the run: verified, under `generation`, below
    /// the end visible then.
    run_end: u64,
}

impl<'r, B: SegmentIo> Iter<'r, B> {
    pub(crate) fn new(
        io: &'r B,
        bound: &'r Bound,
        fetch: &'r mut Fetch,
        pin: Option<&'r PinSlot>,
        at: At,
        generation: u64,
    ) -> Self {
        Self { io, bound, fetch, pin, at, pos: at.offset, generation, run_end: at.offset }
    }

    /// The next record, `Ok(None)` at the visible end, or an error naming the offset.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        let found = match self.from_run() {
            Some(found) => found,
            None => match self.read_checked()? {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        let at = self.pos;
        self.pos = at + found.0.record_len();
        self.record(at, found)
    }

    /// Where the next record is expected.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The record at the position if the run holds it and no truncation came since the run
    /// was verified (pinning it if it is the mapping's); `None` sends the caller to
    /// [`read_checked`](Self::read_checked).
    fn from_run(&mut self) -> Option<Found<'r>> {
        let pos = self.pos;
        if pos >= self.run_end {
            return None;
        }
        // A run of a reader that borrows was verified in the mapping, else in the window.
        let map = match self.pin {
            Some(_) => Some(self.io.mapped()?),
            None => None,
        };
        let (base, bytes) = match map {
            Some(map) => (0, map),
            None => self.fetch.window.cached(),
        };
        let from = usize::try_from(pos.checked_sub(base)?).ok()?;
        let header = decode_prefix(bytes.get(from..)?).ok()??;
        let end = pos + header.record_len();
        // Verified, so it fits; but mapped bytes are re-read here and change under a
        // truncation, which the re-check below then reports.
        if end > self.run_end {
            return None;
        }
        let mapped = match map {
            Some(map) => Some(mapped_range(map, pos, header.record_len() as usize).ok()?),
            None => None,
        };
        if !self.bound.recheck(self.generation, self.pin.map(|slot| (slot, end))) {
            self.run_end = pos;
            return None;
        }
        Some((header, mapped))
    }

    /// Reads the record at the position under the seqlock, reporting a truncation below it,
    /// and verifies the run that follows it.
    fn read_checked(&mut self) -> Result<Option<Found<'r>>> {
        let (pos, since) = (self.pos, self.generation);
        let at = At { offset: pos, ..self.at };
        let (io, bound, pin) = (self.io, self.bound, self.pin);
        let fetch = &mut *self.fetch;
        self.run_end = pos;
        let mut run_end = pos;
        let (found, view) = bound.read_stable(pin, |view| {
            if view.generation != since
                && let Bound::Live(f) = bound
                && let Some(cut) = f.lowest_cut_since(since)
                && cut < pos
            {
                // Checked on every attempt, so a truncation during this call is reported
                // now rather than read past into the new history.
                return Err(Error::Truncated { path: io.path().to_path_buf(), offset: pos, truncated_to: cut });
            }
            if pos >= view.end && pos >= at.start {
                return Ok((None, None));
            }
            // Asked for once per attempt, before any byte of it is read.
            let map = if pin.is_some() { io.mapped() } else { None };
            let found = fetch.check_record(io, map, at, view)?;
            let end = pos + found.0.record_len();
            // In this attempt, so the re-check that ends it covers the run's bytes too.
            run_end = match (map, found.1) {
                (Some(map), Some(_)) => verify_run(map, 0, end, view.end.min(pos + at.ahead as u64), &mut fetch.crc),
                _ => {
                    let (base, bytes) = fetch.window.cached();
                    verify_run(bytes, base, end, view.end, &mut fetch.crc)
                }
            };
            Ok((Some(found), Some(end)))
        })?;
        self.generation = view.generation;
        self.run_end = run_end;
        Ok(found)
    }

    /// The record `found` at `at`: its bytes are the pinned mapping's, or in the window.
    fn record(&self, at: u64, (header, mapped): Found<'r>) -> Result<Option<Record<'_>>> {
        // Held whenever this reader pins: by `read_stable`, or by the re-check of `from_run`.
        let pin = self.pin;
        // Built first so that an error below still releases the pin.
        let mut record =
            Record { offset: at, data: &[], crc: header.crc, continues_batch: header.continues_batch, pin };
        let bytes = match mapped {
            Some(bytes) => bytes,
            None => {
                let (base, window) = self.fetch.window.cached();
                let from = at.checked_sub(base).and_then(|f| usize::try_from(f).ok()).unwrap_or(usize::MAX);
                window.get(from..from.saturating_add(header.record_len() as usize)).ok_or_else(|| {
                    let e = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "record left the read window");
                    io_error(self.io.path(), "reading record", at, e)
                })?
            }
        };
        record.data = bytes.get(HEADER_LEN..).unwrap_or_default();
        Ok(Some(record))
    }
}

/// Verifies the records that follow one another in `bytes` (whose first byte is at file
/// offset `base`) from offset `from`, below `limit`. Returns where the verified run ends:
/// at the first record that is not whole below `limit`, or not valid (the seqlocked read
/// then reaches it and reports what is wrong, or that it is not visible).
fn verify_run(bytes: &[u8], base: u64, from: u64, limit: u64, crc: &mut CrcCache) -> u64 {
    let Some(mut at) = from.checked_sub(base).and_then(|a| usize::try_from(a).ok()) else { return from };
    let stop = usize::try_from(limit.saturating_sub(base)).unwrap_or(usize::MAX);
    let bytes = bytes.get(..stop.min(bytes.len())).unwrap_or_default();
    while let Some(Ok(Some(header))) = bytes.get(at..).map(decode_prefix) {
        let end = at + HEADER_LEN + header.payload_len as usize;
        let Some(payload) = bytes.get(at + HEADER_LEN..end) else { break };
        if header.verify_cached(payload, crc).is_err() {
            break;
        }
        at = end;
    }
    base + at as u64
}
