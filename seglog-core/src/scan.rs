//! Sequential reads: an iterator that checks what is visible once per window, not per record.
//!
//! A random read pays for the whole seqlock ([`FlushedOffset::read_stable`](crate::FlushedOffset))
//! on every record: load the generation, load the end, find the record, verify it, re-check.
//! A scan pays for it once per window: the read that fills the window (or, for a reader that
//! borrows from the mapping, the read of the next record there) loads the generation and
//! the end, checks the record at its position and re-checks, and leaves behind a *run*:
//! bytes known to lie below an end published under that generation, in the window (or the
//! mapping). Each later record in the run is decoded and verified in place, in one pass
//! over its bytes, and returned after only the seqlock's re-check
//! ([`FlushedOffset::recheck`](crate::FlushedOffset)), which for a reader that copies is one
//! load of the generation:
//!
//! - unchanged: no truncation came since the run was read, so the record is still the
//!   segment's, below an end published under that generation, and its bytes (a private
//!   copy, or mapped bytes that no truncation has touched and that the pin now holds) are
//!   exactly what was verified;
//! - moved: the run is dropped and the record read again under the seqlock, which reports
//!   [`Error::Truncated`] at once if the cut went below the position, and reads the new
//!   bytes if it did not.
//!
//! A run never extends past the end visible when it was read, so records synced later come
//! from a later seqlocked read, as they must; a record that is not whole in the run, or not
//! valid, is left to that read too, which says what is wrong with it.

use std::ops::Range;

use crate::codec::{HEADER_LEN, Header, decode_prefix};
use crate::crc::CrcCache;
use crate::error::{Error, Result};
use crate::flushed::PinSlot;
use crate::io::SegmentIo;
use crate::reader::{At, Bound, Fetch};
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
pub struct Iter<'r, B: SegmentIo> {
    io: &'r B,
    bound: &'r Bound,
    fetch: &'r mut Fetch,
    /// Present when records borrow from the mapping.
    pin: Option<&'r PinSlot>,
    /// The start offset and read-ahead; `offset` is set per read.
    at: At,
    pos: u64,
    /// The truncation generation of the last seqlocked read: the run was read under it.
    generation: u64,
    /// The run ends here: the window's (or mapping's) bytes from `pos` up to here were read
    /// under `generation`, below the end visible then.
    run_end: u64,
}

impl<'r, B: SegmentIo> Iter<'r, B> {
    /// An iterator at `cursor`: a fresh one (`Reader::scan_cursor`, no run
    /// yet), or a place an earlier one left ([`cursor`](Self::cursor)) with the same run, for
    /// a caller that cannot hold the iterator between records (a log's iterator, whose
    /// segments change under it).
    pub(crate) fn resume(
        io: &'r B,
        bound: &'r Bound,
        fetch: &'r mut Fetch,
        pin: Option<&'r PinSlot>,
        cursor: Cursor,
    ) -> Self {
        let Cursor { at, generation, run_end } = cursor;
        Self { io, bound, fetch, pin, at, pos: at.offset, generation, run_end }
    }

    /// Where this iterator stands, run included, for [`resume`](Self::resume).
    #[inline]
    pub(crate) fn cursor(&self) -> Cursor {
        Cursor { at: At { offset: self.pos, ..self.at }, generation: self.generation, run_end: self.run_end }
    }

    /// The next record, `Ok(None)` at the visible end, or an error naming the offset.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        let Some((at, found)) = self.advance()? else { return Ok(None) };
        let next = at + found.0.record_len();
        let record = record(&*self.fetch, self.io, self.pin, at, found)?;
        self.pos = next;
        Ok(Some(record))
    }

    /// [`next_record`](Self::next_record), consuming the iterator so that the record
    /// borrows what the iterator borrowed; leaves in `cursor` where it then stands.
    #[inline]
    pub(crate) fn next_into(mut self, cursor: &mut Cursor) -> Result<Option<Record<'r>>> {
        let found = self.advance();
        *cursor = self.cursor();
        let Some((at, found)) = found? else { return Ok(None) };
        let next = at + found.0.record_len();
        let Self { io, fetch, pin, .. } = self;
        let record = record(&*fetch, io, pin, at, found)?;
        cursor.at.offset = next;
        Ok(Some(record))
    }

    /// Where the next record is expected.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The checked record at the position, from the run or read under the seqlock;
    /// `None` at the visible end. Leaves the position where it was.
    #[inline]
    fn advance(&mut self) -> Result<Option<(u64, Next<'r>)>> {
        let found = match self.next_in_run() {
            Some(found) => found,
            None => match self.read_checked()? {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        Ok(Some((self.pos, found)))
    }

    /// The record at the position if it lies whole in the run's bytes, is valid, and no
    /// truncation came since the run was read (pinning it if it is the mapping's); `None`
    /// sends the caller to [`read_checked`](Self::read_checked), which reports what is wrong.
    #[inline]
    fn next_in_run(&mut self) -> Option<Next<'r>> {
        let pos = self.pos;
        // A run of a reader that borrows is the mapping's bytes, else the window's.
        let map = match self.pin {
            Some(_) => Some(self.io.mapped()?),
            None => None,
        };
        let (base, bytes) = match map {
            Some(map) => (0, map),
            None => self.fetch.window.cached(),
        };
        let (header, range) = valid_record(bytes, base, pos, self.run_end, &mut self.fetch.crc)?;
        let place = match map {
            Some(map) => Place::Mapped(map.get(range)?),
            None => Place::Window(range),
        };
        let end = pos + header.record_len();
        // After the read, as in `read_stable`: unchanged, the bytes read were the run's.
        if !self.bound.recheck(self.generation, self.pin.map(|slot| (slot, end))) {
            self.run_end = pos;
            return None;
        }
        Some((header, place))
    }

    /// Reads the record at the position under the seqlock, reporting a truncation below it,
    /// and starts a run after it.
    #[inline(never)]
    fn read_checked(&mut self) -> Result<Option<Next<'r>>> {
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
            let (header, mapped) = fetch.check_record(io, map, at, view)?;
            // The run: what later calls may read without loading the end again.
            let place = match mapped {
                Some(bytes) => {
                    run_end = view.end;
                    Place::Mapped(bytes)
                }
                None => {
                    // `check_record` left the record in the window.
                    let (base, bytes) = fetch.window.cached();
                    run_end = view.end.min(base + bytes.len() as u64);
                    let from = (pos - base) as usize;
                    Place::Window(from..from + header.record_len() as usize)
                }
            };
            Ok((Some((header, place)), Some(pos + header.record_len())))
        })?;
        self.generation = view.generation;
        self.run_end = run_end;
        Ok(found)
    }
}

/// The checked record at `at`: its bytes are the pinned mapping's, or in the window. `pin`
/// is held whenever this reader pins (by `read_stable`, or by the re-check of `next_in_run`).
#[inline]
fn record<'a, B: SegmentIo>(
    fetch: &'a Fetch,
    io: &B,
    pin: Option<&'a PinSlot>,
    at: u64,
    (header, place): Next<'a>,
) -> Result<Record<'a>> {
    // Built first so that an error below still releases the pin.
    let mut record = Record { offset: at, data: &[], crc: header.crc, continues_batch: header.continues_batch, pin };
    let bytes = match place {
        Place::Mapped(bytes) => bytes,
        Place::Window(range) => fetch.window.cached().1.get(range).ok_or_else(|| {
            let e = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "record left the read window");
            io_error(io.path(), "reading record", at, e)
        })?,
    };
    record.data = bytes.get(HEADER_LEN..).unwrap_or_default();
    Ok(record)
}

/// Where an iterator stands: its position (`at.offset`) and read-ahead, and the run it
/// holds, valid while the reader's buffer is not used for anything else.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor {
    pub(crate) at: At,
    /// The truncation generation the run was read under.
    pub(crate) generation: u64,
    /// The run's end; at the position, no run.
    pub(crate) run_end: u64,
}

/// A checked record: its header, and where its bytes are.
type Next<'r> = (Header, Place<'r>);

/// Where a checked record's bytes are.
enum Place<'r> {
    /// In the mapping, pinned.
    Mapped(&'r [u8]),
    /// At this range of the window's cached bytes.
    Window(Range<usize>),
}

/// The header and place in `bytes` (whose first byte is at file offset `base`) of the valid
/// record at `pos`, if it lies whole below `limit`.
#[inline]
pub(crate) fn valid_record(
    bytes: &[u8],
    base: u64,
    pos: u64,
    limit: u64,
    crc: &mut CrcCache,
) -> Option<(Header, Range<usize>)> {
    let bytes = bytes.get(..usize::try_from(limit.checked_sub(base)?).ok()?)?;
    let from = usize::try_from(pos.checked_sub(base)?).ok()?;
    let header = decode_prefix(bytes.get(from..)?).ok()??;
    let range = from..from.checked_add(header.record_len() as usize)?;
    header.verify_cached(bytes.get(range.clone())?.get(HEADER_LEN..)?, crc).ok()?;
    Some((header, range))
}
