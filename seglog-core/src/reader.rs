//! Readers: random and sequential, lock-free, bounded by the flushed offset.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::codec::{Corruption, HEADER_LEN, Header, decode_prefix};
use crate::crc::CrcCache;
use crate::error::{Error, Result, check_start_offset};
use crate::flushed::{FlushedOffset, Pin, PinSlot, View};
use crate::io::{OpenSegment, SegmentIo};
use crate::recovery::walk;
use crate::window::Window;
use crate::writer::io_error;

/// Bytes read past a random read's header in the same call, so a record of up to 2 KiB
/// costs one backend call.
const RANDOM_AHEAD: usize = HEADER_LEN + 2048;

/// Read-ahead window of sequential reads through the page cache, where the kernel reads
/// ahead too.
const SEQUENTIAL_AHEAD: usize = 64 << 10;

/// Read-ahead window of sequential reads that bypass the page cache (O_DIRECT): with no
/// kernel read-ahead, each window is one synchronous device read, so it must be large
/// (measured: a cold scan ran at 0.52 GB/s with 64 KiB windows).
const DIRECT_SEQUENTIAL_AHEAD: usize = 1 << 20;

/// How a read will be followed, which decides how much is read ahead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadHint {
    /// An isolated read: the header and up to 2 KiB of payload in one call.
    #[default]
    Random,
    /// Part of a scan: a 64 KiB read-ahead window.
    Sequential,
}

/// A record's payload, borrowed from the mapping or from the reader's buffer.
///
/// Not `Copy` or `Clone`: a record borrowed from a mapping pins its bytes, and a
/// truncation that would change them waits until the record is dropped (the writer's
/// [`truncate`](crate::Writer::truncate)). Its bytes are reachable only through the record
/// ([`data`](Self::data), `Deref`), so no slice outlives the pin. Copy the bytes out
/// (`to_vec`) to keep them longer.
#[derive(Debug)]
pub struct Record<'a> {
    offset: u64,
    data: &'a [u8],
    crc: u32,
    continues_batch: bool,
    /// Released on drop; `None` unless the bytes are the mapping's.
    pin: Option<&'a PinSlot>,
}

impl Record<'_> {
    /// Where the record starts (its header).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the next record starts.
    pub fn next_offset(&self) -> u64 {
        self.offset + (HEADER_LEN + self.data.len()) as u64
    }

    /// The payload, borrowed for as long as the record lives.
    pub fn data(&self) -> &[u8] {
        self.data
    }

    /// The stored CRC32C (verified: it matches the record).
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// True for a record of an atomic batch that more records of the batch follow.
    pub fn continues_batch(&self) -> bool {
        self.continues_batch
    }
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        if let Some(pin) = self.pin {
            pin.release();
        }
    }
}

impl PartialEq for Record<'_> {
    fn eq(&self, other: &Self) -> bool {
        (self.offset, self.data, self.crc, self.continues_batch)
            == (other.offset, other.data, other.crc, other.continues_batch)
    }
}

impl Eq for Record<'_> {}

impl Deref for Record<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.data
    }
}

impl AsRef<[u8]> for Record<'_> {
    fn as_ref(&self) -> &[u8] {
        self.data
    }
}

#[derive(Clone, Debug)]
enum Bound {
    /// A segment with a writer: readers see up to its flushed offset.
    Live(FlushedOffset),
    /// A closed segment: readers see the valid records found when it was opened.
    Closed { start: u64, end: u64 },
}

impl Bound {
    /// Runs `attempt` against what is visible until it ran with no truncation in between
    /// ([`FlushedOffset::read_stable`]); a closed segment never changes.
    fn read_stable<T>(
        &self,
        pin: Option<&PinSlot>,
        mut attempt: impl FnMut(View) -> Result<(T, Option<u64>)>,
    ) -> Result<(T, View)> {
        match self {
            Bound::Live(f) => f.read_stable(pin, attempt),
            Bound::Closed { end, .. } => {
                let view = View { generation: 0, end: *end };
                attempt(view).map(|(value, _)| (value, view))
            }
        }
    }
}

/// Reads records of one segment. Takes no lock; any number may run beside the writer,
/// each in its own thread (clone with [`try_clone`](Self::try_clone)).
///
/// A reader never returns a byte at or past the flushed offset, so it never sees a
/// record that is not durable, nor a torn one.
///
/// A reader made by [`Writer::reader`](crate::Writer::reader) on a backend that maps the
/// segment returns records borrowed from the mapping (zero-copy), each pinning its bytes
/// against truncation while it lives; every other reader copies into its own buffer.
#[derive(Debug)]
pub struct Reader<B: SegmentIo> {
    bound: Bound,
    fetch: Fetch<B>,
    /// Present when records borrow from the mapping.
    pin: Option<Pin>,
}

/// The part of a reader that reaches the backend.
#[derive(Debug)]
struct Fetch<B: SegmentIo> {
    io: Arc<B>,
    window: Window,
    /// The truncation generation the window was filled under.
    generation: u64,
    crc: CrcCache,
}

impl<B: OpenSegment> Reader<B> {
    /// Opens a segment read-only. With `Some(flushed)` (from
    /// [`Writer::flushed_offset`](crate::Writer::flushed_offset)) it follows the writer;
    /// with `None` it is a closed segment whose records start at offset 0, and reads are
    /// bounded by the end of its valid records. Use [`open_closed`](Self::open_closed) for a
    /// closed segment with a reserved header.
    pub fn open(path: impl AsRef<Path>, flushed: Option<FlushedOffset>) -> Result<Self> {
        match flushed {
            Some(f) => {
                let path = path.as_ref();
                let io = B::open_reader(path).map_err(|e| io_error(path, "opening segment", 0, e))?;
                Ok(Self::live(Arc::new(io), f))
            }
            None => Self::open_closed(path, 0),
        }
    }

    /// Opens a closed segment (no writer) whose records start at `start_offset`; reads are
    /// bounded by the end of the valid records, found by walking them now.
    pub fn open_closed(path: impl AsRef<Path>, start_offset: u64) -> Result<Self> {
        let path = path.as_ref();
        let io = B::open_reader(path).map_err(|e| io_error(path, "opening segment", 0, e))?;
        Self::closed(Arc::new(io), start_offset)
    }
}

impl<B: SegmentIo> Reader<B> {
    /// A reader over an existing backend handle that follows a writer's flushed offset.
    /// It copies records into its own buffer: only [`Writer::reader`](crate::Writer::reader)
    /// knows the handle is the writer's, whose truncations its pins hold back.
    pub fn live(io: Arc<B>, flushed: FlushedOffset) -> Self {
        let generation = flushed.generation();
        Self { bound: Bound::Live(flushed), fetch: Fetch::new(io, Window::default(), generation), pin: None }
    }

    /// A reader on the writer's own handle: zero-copy if the backend maps the segment.
    pub(crate) fn of_writer(io: Arc<B>, flushed: FlushedOffset) -> Self {
        let mut reader = Self::live(io, flushed);
        reader.borrow_from_mapping();
        reader
    }

    /// Switches a writer's reader to borrowing from the mapping, if there is one.
    fn borrow_from_mapping(&mut self) {
        if let Bound::Live(f) = &self.bound
            && self.fetch.io.mapped().is_some()
        {
            self.pin = Some(f.register_pin());
            self.fetch.window = Window::zero_copy();
        }
    }

    /// A reader of a closed segment over an existing backend handle; see [`open_closed`](Self::open_closed).
    pub fn closed(io: Arc<B>, start_offset: u64) -> Result<Self> {
        check_start_offset(io.path(), io.size(), start_offset)?;
        let mut window = Window::default();
        let end = walk(&*io, &mut window, start_offset, io.size())?.end;
        Ok(Self { bound: Bound::Closed { start: start_offset, end }, fetch: Fetch::new(io, window, 0), pin: None })
    }

    /// A second reader of the same segment with its own buffer, for another thread.
    pub fn try_clone(&self) -> Result<Self> {
        let generation = self.fetch.generation;
        let mut clone = Self {
            bound: self.bound.clone(),
            fetch: Fetch::new(Arc::clone(&self.fetch.io), Window::default(), generation),
            pin: None,
        };
        if self.pin.is_some() {
            clone.borrow_from_mapping();
        }
        Ok(clone)
    }

    /// Where the records start.
    pub fn start_offset(&self) -> u64 {
        match &self.bound {
            Bound::Live(f) => f.start_offset(),
            Bound::Closed { start, .. } => *start,
        }
    }

    /// The end of what this reader may see: the flushed offset now, or a closed segment's end.
    pub fn visible_end(&self) -> u64 {
        match &self.bound {
            Bound::Live(f) => f.load(),
            Bound::Closed { end, .. } => *end,
        }
    }

    /// Reads the record that starts at `offset`, verifying its checksum.
    ///
    /// Fails with [`Error::NotVisible`] at or past the visible end, and with
    /// [`Error::Corrupt`] if `offset` is not the start of a valid record.
    pub fn read_record(&mut self, offset: u64, hint: ReadHint) -> Result<Record<'_>> {
        let start = self.start_offset();
        let ahead = self.fetch.ahead(hint);
        let pin = self.pin.as_ref().map(Pin::slot);
        let fetch = &mut self.fetch;
        let (header, view) = self.bound.read_stable(pin, |view| {
            let header = fetch.check_record(start, offset, ahead, view)?;
            Ok((header, Some(offset + header.record_len())))
        })?;
        fetch.record(offset, header, ahead, view.end, pin)
    }

    /// Iterates the records from `start`, which must be a record boundary: the start
    /// offset, or a [`Record::next_offset`].
    pub fn iter(&mut self, start: u64) -> Iter<'_, B> {
        let generation = match &self.bound {
            Bound::Live(f) => f.generation(),
            Bound::Closed { .. } => 0,
        };
        Iter { reader: self, pos: start, generation }
    }

    /// Reads `buf.len()` bytes from offset 0: the application's region before the start
    /// offset (see [`Writer::write_segment_header`](crate::Writer::write_segment_header)).
    pub fn read_segment_header(&mut self, buf: &mut [u8]) -> Result<()> {
        let len = buf.len();
        let io = &*self.fetch.io;
        let size = io.size();
        if len as u64 > size {
            return Err(Error::InvalidArgument {
                path: io.path().to_path_buf(),
                what: format!("a header of {len} bytes is longer than the {size}-byte segment"),
            });
        }
        // Header bytes are the application's and may change at any time: never serve them
        // from a cache or the mapping, only through a read.
        let mut window = Window::default();
        let bytes =
            window.get(io, 0, len, 0, size).map_err(|e| io_error(io.path(), "reading the segment header", 0, e))?;
        buf.copy_from_slice(bytes);
        Ok(())
    }

    /// The backend handle.
    pub fn io(&self) -> &B {
        &self.fetch.io
    }
}

impl<B: SegmentIo> Fetch<B> {
    fn new(io: Arc<B>, window: Window, generation: u64) -> Self {
        Self { io, window, generation, crc: CrcCache::default() }
    }

    fn ahead(&self, hint: ReadHint) -> usize {
        match hint {
            ReadHint::Random => RANDOM_AHEAD,
            ReadHint::Sequential if self.io.alignment() > 1 => DIRECT_SEQUENTIAL_AHEAD,
            ReadHint::Sequential => SEQUENTIAL_AHEAD,
        }
    }

    /// Reads and verifies the record at `offset` below `view.end`; returns its header. Its
    /// bytes are then in the window (or the mapping).
    fn check_record(&mut self, start: u64, offset: u64, ahead: usize, view: View) -> Result<Header> {
        if view.generation != self.generation {
            // The window may hold bytes a truncation has since cut.
            self.window.invalidate();
            self.generation = view.generation;
        }
        let end = view.end;
        let path = || self.io.path().to_path_buf();
        if offset < start || offset >= end {
            return Err(Error::NotVisible { path: path(), offset, start, end });
        }
        let corrupt = |reason| Error::Corrupt { path: self.io.path().to_path_buf(), offset, reason };
        let available = end - offset;
        if available < HEADER_LEN as u64 {
            return Err(corrupt(Corruption::ShortHeader));
        }
        let io = &*self.io;
        let read_err = |e| io_error(io.path(), "reading record", offset, e);
        let bytes = self.window.get(io, offset, HEADER_LEN, ahead, end).map_err(read_err)?;
        let header = match decode_prefix(bytes) {
            Ok(Some(h)) => h,
            Ok(None) => return Err(corrupt(Corruption::ZeroHeader)),
            Err(c) => return Err(corrupt(c)),
        };
        let len = header.record_len();
        if len > available {
            return Err(corrupt(Corruption::LengthOutOfBounds { len, available }));
        }
        let bytes = self.window.get(io, offset, len as usize, ahead, end).map_err(read_err)?;
        header.verify_cached(bytes.get(HEADER_LEN..).unwrap_or_default(), &mut self.crc).map_err(corrupt)?;
        Ok(header)
    }

    /// The record [`check_record`](Self::check_record) verified: its bytes come from the
    /// window (no backend call) or the pinned mapping.
    fn record<'a>(
        &'a mut self,
        offset: u64,
        header: Header,
        ahead: usize,
        end: u64,
        pin: Option<&'a PinSlot>,
    ) -> Result<Record<'a>> {
        // Built first so that an error below still releases the pin.
        let mut record = Record { offset, data: &[], crc: header.crc, continues_batch: header.continues_batch, pin };
        let io = &*self.io;
        let bytes = self
            .window
            .get(io, offset, header.record_len() as usize, ahead, end)
            .map_err(|e| io_error(io.path(), "reading record", offset, e))?;
        record.data = bytes.get(HEADER_LEN..).unwrap_or_default();
        Ok(record)
    }
}

/// Iterates records in order; see [`Reader::iter`].
///
/// Not a `std::iter::Iterator`: each record borrows the reader's buffer until the next
/// call. When it reaches the visible end, [`next_record`](Self::next_record) returns
/// `Ok(None)`; records synced later are returned by later calls.
///
/// If the writer truncates the segment below the iterator's position, the next call
/// returns [`Error::Truncated`], also when the truncation lands while that call reads; a
/// truncation at or past its position does not disturb it.
#[derive(Debug)]
pub struct Iter<'r, B: SegmentIo> {
    reader: &'r mut Reader<B>,
    pos: u64,
    generation: u64,
}

impl<B: SegmentIo> Iter<'_, B> {
    /// The next record, `Ok(None)` at the visible end, or an error naming the offset.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        let (pos, since) = (self.pos, self.generation);
        let reader = &mut *self.reader;
        let start = reader.start_offset();
        let ahead = reader.fetch.ahead(ReadHint::Sequential);
        let pin = reader.pin.as_ref().map(Pin::slot);
        let fetch = &mut reader.fetch;
        let bound = &reader.bound;
        let (found, view) = bound.read_stable(pin, |view| {
            if view.generation != since
                && let Bound::Live(f) = bound
                && let Some(cut) = f.lowest_cut_since(since)
                && cut < pos
            {
                // Checked on every attempt, so a truncation during this call is reported
                // now rather than read past into the new history.
                return Err(Error::Truncated { path: fetch.io.path().to_path_buf(), offset: pos, truncated_to: cut });
            }
            if pos >= view.end && pos >= start {
                return Ok((None, None));
            }
            let header = fetch.check_record(start, pos, ahead, view)?;
            Ok((Some(header), Some(pos + header.record_len())))
        })?;
        self.generation = view.generation;
        let Some(header) = found else { return Ok(None) };
        let record = fetch.record(pos, header, ahead, view.end, pin)?;
        self.pos = record.next_offset();
        Ok(Some(record))
    }

    /// Where the next record is expected.
    pub fn position(&self) -> u64 {
        self.pos
    }
}
