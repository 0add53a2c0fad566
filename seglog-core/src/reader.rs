//! Readers: random and sequential, lock-free, bounded by the flushed offset.

use std::path::Path;
use std::sync::Arc;

use crate::codec::{Corruption, HEADER_LEN, Header, decode_prefix};
use crate::crc::CrcCache;
use crate::error::{Error, Result, check_start_offset, open_error};
use crate::flushed::{FlushedOffset, Pin, PinSlot, View};
use crate::io::{OpenSegment, SegmentIo};
pub use crate::record::Record;
use crate::recovery::walk;
pub use crate::scan::Iter;
use crate::window::Window;
use crate::writer::io_error;

mod with_fetch;

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

#[derive(Clone, Debug)]
pub(crate) enum Bound {
    /// A segment with a writer: readers see up to its flushed offset.
    Live(FlushedOffset),
    /// A closed segment: readers see the valid records found when it was opened.
    Closed { start: u64, end: u64 },
}

impl Bound {
    /// Runs `attempt` against what is visible until it ran with no truncation in between
    /// ([`FlushedOffset::read_stable`]); a closed segment never changes.
    #[inline]
    pub(crate) fn read_stable<T>(
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

    /// [`FlushedOffset::recheck`]: true if what was read under `generation` still stands.
    #[inline]
    pub(crate) fn recheck(&self, generation: u64, claim: Option<(&PinSlot, u64)>) -> bool {
        match self {
            Bound::Live(f) => f.recheck(generation, claim),
            Bound::Closed { .. } => true,
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
pub struct Reader<B: SegmentIo> {
    io: Arc<B>,
    bound: Bound,
    fetch: Fetch,
    /// Present when records borrow from the mapping.
    pin: Option<Pin>,
}

/// A reader's buffer and checksum cache.
#[derive(Debug, Default)]
pub(crate) struct Fetch {
    pub(crate) window: Window,
    /// The truncation generation the window was filled under.
    generation: u64,
    pub(crate) crc: CrcCache,
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
                let io = B::open_reader(path).map_err(|e| open_error(path, "opening segment", e))?;
                Ok(Self::live(Arc::new(io), f))
            }
            None => Self::open_closed(path, 0),
        }
    }

    /// Opens a closed segment (no writer) whose records start at `start_offset`; reads are
    /// bounded by the end of the valid records, found by walking them now.
    pub fn open_closed(path: impl AsRef<Path>, start_offset: u64) -> Result<Self> {
        let path = path.as_ref();
        let io = B::open_reader(path).map_err(|e| open_error(path, "opening segment", e))?;
        Self::closed(Arc::new(io), start_offset)
    }
}

impl<B: SegmentIo> Reader<B> {
    /// A reader over an existing backend handle that follows a writer's flushed offset.
    /// It copies records into its own buffer: only [`Writer::reader`](crate::Writer::reader)
    /// knows the handle is the writer's, whose truncations its pins hold back.
    pub fn live(io: Arc<B>, flushed: FlushedOffset) -> Self {
        let fetch = Fetch { generation: flushed.generation(), ..Fetch::default() };
        Self { io, bound: Bound::Live(flushed), fetch, pin: None }
    }

    /// A reader on the writer's own handle: zero-copy if the backend maps the segment.
    pub(crate) fn of_writer(io: Arc<B>, flushed: FlushedOffset) -> Self {
        let mut reader = Self::live(io, flushed);
        reader.borrow_from_mapping();
        reader
    }

    /// Makes a writer's reader borrow from the mapping, if there is one, under a pin.
    fn borrow_from_mapping(&mut self) {
        if let Bound::Live(f) = &self.bound
            && self.io.mapped().is_some()
        {
            self.pin = Some(f.register_pin());
        }
    }

    /// A reader of a closed segment over an existing backend handle; see [`open_closed`](Self::open_closed).
    pub fn closed(io: Arc<B>, start_offset: u64) -> Result<Self> {
        check_start_offset(io.path(), io.size(), start_offset)?;
        let mut window = Window::default();
        let end = walk(&*io, &mut window, start_offset, io.size())?.end;
        let fetch = Fetch { window, ..Fetch::default() };
        Ok(Self { io, bound: Bound::Closed { start: start_offset, end }, fetch, pin: None })
    }

    /// A second reader of the same segment with its own buffer, for another thread.
    pub fn try_clone(&self) -> Result<Self> {
        let fetch = Fetch { generation: self.fetch.generation, ..Fetch::default() };
        let mut clone = Self { io: Arc::clone(&self.io), bound: self.bound.clone(), fetch, pin: None };
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
    /// `offset` must be a record boundary: the start offset, an offset returned by
    /// [`Writer::append`](crate::Writer::append), or a [`Record::next_offset`] of a record
    /// read before. Only those, or the records [`iter`](Self::iter) yields, are certain to
    /// be records the writer appended. At any other offset, such as one inside a payload,
    /// the call fails with [`Error::Corrupt`] when the bytes there are not a valid record,
    /// but returns `Ok` when they happen to form one (a payload that embeds an encoded
    /// record, say): the format cannot tell the two apart (docs/FORMAT.md, section 2.4).
    ///
    /// Fails with [`Error::NotVisible`] at or past the visible end.
    pub fn read_record(&mut self, offset: u64, hint: ReadHint) -> Result<Record<'_>> {
        let at = At { start: self.start_offset(), offset, ahead: ahead(&*self.io, hint) };
        read(&*self.io, &self.bound, &mut self.fetch, self.pin.as_ref().map(Pin::slot), at)
    }

    /// The truncation generation now (a closed segment's never moves).
    fn generation(&self) -> u64 {
        match &self.bound {
            Bound::Live(f) => f.generation(),
            Bound::Closed { .. } => 0,
        }
    }

    /// Iterates the records from `start`, which must be a record boundary: the start
    /// offset, or a [`Record::next_offset`].
    pub fn iter(&mut self, start: u64) -> Iter<'_, B> {
        let cursor = self.scan_cursor(start);
        Iter::resume(&*self.io, &self.bound, &mut self.fetch, self.pin.as_ref().map(Pin::slot), cursor)
    }

    /// Reads and verifies the record at `offset` as [`read_record`](Self::read_record)
    /// does (sequentially), then verifies in place the records after it that lie whole in
    /// the bytes the read window holds, up to `max` records in all; returns where the last
    /// one verified ends. The window's bytes all lie below an end visible under the current
    /// generation (it is dropped when the generation moves), so each record verified here
    /// was below the visible end when it was read. For the follower, which checks the
    /// sidecar again before it hands any of them out ([`cached`](Self::cached)).
    pub(crate) fn verify_run(&mut self, offset: u64, max: usize) -> Result<u64> {
        let mut pos = self.read_record(offset, ReadHint::Sequential)?.next_offset();
        let Fetch { window, crc, .. } = &mut self.fetch;
        let (base, bytes) = window.cached();
        let limit = base + bytes.len() as u64;
        for _ in 1..max {
            match crate::scan::valid_record(bytes, base, pos, limit, crc) {
                Some((header, _)) => pos += header.record_len(),
                None => break,
            }
        }
        Ok(pos)
    }

    /// The bytes `[from, to)` if the read window holds them all (no backend call).
    pub(crate) fn cached(&self, from: u64, to: u64) -> Option<&[u8]> {
        let (base, bytes) = self.fetch.window.cached();
        let from = usize::try_from(from.checked_sub(base)?).ok()?;
        let to = usize::try_from(to.checked_sub(base)?).ok()?;
        bytes.get(from..to)
    }

    /// Reads `buf.len()` bytes from offset 0: the application's region before the start
    /// offset (see [`Writer::write_segment_header`](crate::Writer::write_segment_header)).
    pub fn read_segment_header(&mut self, buf: &mut [u8]) -> Result<()> {
        let len = buf.len();
        let io = &*self.io;
        let size = io.size();
        if len as u64 > size {
            return Err(Error::InvalidArgument {
                path: io.path().to_path_buf(),
                what: format!("a header of {len} bytes is longer than the {size}-byte segment"),
            });
        }
        let bytes = self
            .fetch
            .window
            .get(io, 0, len, 0, size)
            .map_err(|e| io_error(io.path(), "reading the segment header", 0, e))?;
        buf.copy_from_slice(bytes);
        // Header bytes are the application's and may change: never serve them from cache.
        self.fetch.window.invalidate();
        Ok(())
    }

    /// The backend handle.
    pub fn io(&self) -> &B {
        &self.io
    }
}

/// Reads and verifies the record at `at.offset` under the seqlock, through `fetch`.
#[inline]
fn read<'a, B: SegmentIo>(
    io: &'a B,
    bound: &Bound,
    fetch: &'a mut Fetch,
    pin: Option<&'a PinSlot>,
    at: At,
) -> Result<Record<'a>> {
    let (found, view) = bound.read_stable(pin, |view| {
        // Asked for once per attempt, before any byte of it is read.
        let map = if pin.is_some() { io.mapped() } else { None };
        let found = fetch.check_record(io, map, at, view)?;
        Ok((found, Some(at.offset + found.0.record_len())))
    })?;
    fetch.record(io, at, found, view.end, pin)
}

/// Where a read starts and how far it reads ahead.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At {
    pub(crate) start: u64,
    pub(crate) offset: u64,
    pub(crate) ahead: usize,
}

pub(crate) fn ahead<B: SegmentIo + ?Sized>(io: &B, hint: ReadHint) -> usize {
    match hint {
        ReadHint::Random => RANDOM_AHEAD,
        ReadHint::Sequential if io.alignment() > 1 => DIRECT_SEQUENTIAL_AHEAD,
        ReadHint::Sequential => SEQUENTIAL_AHEAD,
    }
}

/// A verified record's header, and its bytes if they are the mapping's.
pub(crate) type Found<'a> = (Header, Option<&'a [u8]>);

impl Fetch {
    /// Reads and verifies the record at `at.offset` below `view.end`: from `map` if it is
    /// the mapping (returning its bytes), else through the window (where its bytes stay).
    #[inline]
    pub(crate) fn check_record<'a, B: SegmentIo + ?Sized>(
        &mut self,
        io: &'a B,
        map: Option<&'a [u8]>,
        at: At,
        view: View,
    ) -> Result<Found<'a>> {
        if view.generation != self.generation {
            // The window may hold bytes a truncation has since cut.
            self.window.invalidate();
            self.generation = view.generation;
        }
        let (offset, end) = (at.offset, view.end);
        let path = || io.path().to_path_buf();
        if offset < at.start || offset >= end {
            return Err(Error::NotVisible { path: path(), offset, start: at.start, end });
        }
        let corrupt = |reason| Error::Corrupt { path: path(), offset, reason };
        let available = end - offset;
        if available < HEADER_LEN as u64 {
            return Err(corrupt(Corruption::ShortHeader));
        }
        let read_err = |e| io_error(io.path(), "reading record", offset, e);
        let header_bytes = match map {
            Some(map) => mapped_range(map, offset, HEADER_LEN).map_err(read_err)?,
            None => self.window.get(io, offset, HEADER_LEN, at.ahead, end).map_err(read_err)?,
        };
        let header = match decode_prefix(header_bytes) {
            Ok(Some(h)) => h,
            Ok(None) => return Err(corrupt(Corruption::ZeroHeader)),
            Err(c) => return Err(corrupt(c)),
        };
        let len = header.record_len();
        if len > available {
            return Err(corrupt(Corruption::LengthOutOfBounds { len, available }));
        }
        let (bytes, mapped) = match map {
            Some(map) => {
                let bytes = mapped_range(map, offset, len as usize).map_err(read_err)?;
                (bytes, Some(bytes))
            }
            None => (self.window.get(io, offset, len as usize, at.ahead, end).map_err(read_err)?, None),
        };
        header.verify_cached(bytes.get(HEADER_LEN..).unwrap_or_default(), &mut self.crc).map_err(corrupt)?;
        Ok((header, mapped))
    }

    /// The record [`check_record`](Self::check_record) verified: its bytes are the pinned
    /// mapping's, or still in the window (no backend call).
    fn record<'a, B: SegmentIo + ?Sized>(
        &'a mut self,
        io: &'a B,
        at: At,
        (header, mapped): Found<'a>,
        end: u64,
        pin: Option<&'a PinSlot>,
    ) -> Result<Record<'a>> {
        // Built first so that an error below still releases the pin.
        let mut record =
            Record { offset: at.offset, data: &[], crc: header.crc, continues_batch: header.continues_batch, pin };
        let bytes = match mapped {
            Some(bytes) => bytes,
            None => self
                .window
                .get(io, at.offset, header.record_len() as usize, at.ahead, end)
                .map_err(|e| io_error(io.path(), "reading record", at.offset, e))?,
        };
        record.data = bytes.get(HEADER_LEN..).unwrap_or_default();
        Ok(record)
    }
}

/// `len` bytes of the mapping at `offset`.
pub(crate) fn mapped_range(map: &[u8], offset: u64, len: usize) -> std::io::Result<&[u8]> {
    usize::try_from(offset)
        .ok()
        .and_then(|at| map.get(at..at.checked_add(len)?))
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "segment is shorter than its size"))
}
