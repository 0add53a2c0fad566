//! Readers: random and sequential, lock-free, bounded by the flushed offset.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::codec::{Corruption, HEADER_LEN, Header, decode_prefix};
use crate::crc::CrcCache;
use crate::error::{Error, Result, check_start_offset, open_error};
use crate::flushed::FlushedOffset;
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    offset: u64,
    data: &'a [u8],
    crc: u32,
    continues_batch: bool,
}

impl<'a> Record<'a> {
    /// Where the record starts (its header).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the next record starts.
    pub fn next_offset(&self) -> u64 {
        self.offset + (HEADER_LEN + self.data.len()) as u64
    }

    /// The payload, with the borrow's full lifetime.
    pub fn data(&self) -> &'a [u8] {
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

/// Reads records of one segment. Takes no lock; any number may run beside the writer,
/// each in its own thread (clone with [`try_clone`](Self::try_clone)).
///
/// A reader never returns a byte at or past the flushed offset, so it never sees a
/// record that is not durable, nor a torn one.
pub struct Reader<B: SegmentIo> {
    io: Arc<B>,
    bound: Bound,
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
    pub fn live(io: Arc<B>, flushed: FlushedOffset) -> Self {
        let generation = flushed.generation();
        Self { io, bound: Bound::Live(flushed), window: Window::default(), generation, crc: CrcCache::default() }
    }

    /// A reader of a closed segment over an existing backend handle; see [`open_closed`](Self::open_closed).
    pub fn closed(io: Arc<B>, start_offset: u64) -> Result<Self> {
        check_start_offset(io.path(), io.size(), start_offset)?;
        let mut window = Window::default();
        let end = walk(&*io, &mut window, start_offset, io.size())?.end;
        Ok(Self {
            io,
            bound: Bound::Closed { start: start_offset, end },
            window,
            generation: 0,
            crc: CrcCache::default(),
        })
    }

    /// A second reader of the same segment with its own buffer, for another thread.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(Self {
            io: Arc::clone(&self.io),
            bound: self.bound.clone(),
            window: Window::default(),
            generation: self.generation,
            crc: CrcCache::default(),
        })
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
        let end = self.visible_end();
        self.read_below(offset, hint, end)
    }

    /// Iterates the records from `start`, which must be a record boundary: the start
    /// offset, or a [`Record::next_offset`].
    pub fn iter(&mut self, start: u64) -> Iter<'_, B> {
        let generation = self.current_generation();
        Iter { reader: self, pos: start, generation }
    }

    fn current_generation(&self) -> u64 {
        match &self.bound {
            Bound::Live(f) => f.generation(),
            Bound::Closed { .. } => 0,
        }
    }

    /// Reads `buf.len()` bytes from offset 0: the application's region before the start
    /// offset (see [`Writer::write_segment_header`](crate::Writer::write_segment_header)).
    pub fn read_segment_header(&mut self, buf: &mut [u8]) -> Result<()> {
        let len = buf.len();
        let size = self.io.size();
        if len as u64 > size {
            return Err(Error::InvalidArgument {
                path: self.io.path().to_path_buf(),
                what: format!("a header of {len} bytes is longer than the {size}-byte segment"),
            });
        }
        let bytes = self
            .window
            .get(&*self.io, 0, len, 0, size)
            .map_err(|e| io_error(self.io.path(), "reading the segment header", 0, e))?;
        buf.copy_from_slice(bytes);
        // Header bytes are the application's and may change: never serve them from cache.
        self.window.invalidate();
        Ok(())
    }

    /// The backend handle.
    pub fn io(&self) -> &B {
        &self.io
    }

    fn read_below(&mut self, offset: u64, hint: ReadHint, mut end: u64) -> Result<Record<'_>> {
        let ahead = match hint {
            ReadHint::Random => RANDOM_AHEAD,
            ReadHint::Sequential if self.io.alignment() > 1 => DIRECT_SEQUENTIAL_AHEAD,
            ReadHint::Sequential => SEQUENTIAL_AHEAD,
        };
        // A truncation can cut bytes while they are read: check its generation before and
        // after, and read again (against the new end) if one happened in between.
        let header = loop {
            let generation = self.current_generation();
            if generation != self.generation {
                self.window.invalidate();
                self.generation = generation;
            }
            let checked = self.check_record(offset, ahead, end);
            if self.current_generation() == generation {
                break checked?;
            }
            end = end.min(self.visible_end());
        };
        let io = &*self.io;
        let len = header.record_len() as usize;
        let bytes = self
            .window
            .get(io, offset, len, ahead, end)
            .map_err(|e| io_error(io.path(), "reading record", offset, e))?;
        let data = bytes.get(HEADER_LEN..).unwrap_or_default();
        Ok(Record { offset, data, crc: header.crc, continues_batch: header.continues_batch })
    }

    /// Reads and verifies the record at `offset` below `end`; returns its header. Its bytes
    /// are then in the window (or the mapping).
    fn check_record(&mut self, offset: u64, ahead: usize, end: u64) -> Result<Header> {
        let start = self.start_offset();
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
}

/// Iterates records in order; see [`Reader::iter`].
///
/// Not a `std::iter::Iterator`: each record borrows the reader's buffer until the next
/// call. When it reaches the visible end, [`next_record`](Self::next_record) returns
/// `Ok(None)`; records synced later are returned by later calls.
///
/// If the writer truncates the segment below the iterator's position, the next call
/// returns [`Error::Truncated`]; a truncation at or past its position does not disturb it.
pub struct Iter<'r, B: SegmentIo> {
    reader: &'r mut Reader<B>,
    pos: u64,
    generation: u64,
}

impl<B: SegmentIo> Iter<'_, B> {
    /// The next record, `Ok(None)` at the visible end, or an error naming the offset.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        let generation = self.reader.current_generation();
        if generation != self.generation {
            if let Bound::Live(f) = &self.reader.bound
                && let Some(cut) = f.lowest_cut_since(self.generation)
                && cut < self.pos
            {
                return Err(Error::Truncated {
                    path: self.reader.io.path().to_path_buf(),
                    offset: self.pos,
                    truncated_to: cut,
                });
            }
            self.generation = generation;
        }
        let end = self.reader.visible_end();
        if self.pos >= end && self.pos >= self.reader.start_offset() {
            return Ok(None);
        }
        let record = self.reader.read_below(self.pos, ReadHint::Sequential, end)?;
        self.pos = record.next_offset();
        Ok(Some(record))
    }

    /// Where the next record is expected.
    pub fn position(&self) -> u64 {
        self.pos
    }
}
