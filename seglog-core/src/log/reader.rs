//! Readers of a log: lock-free on the read path, crossing segment boundaries.

use std::ops::Deref;
use std::sync::Arc;

use super::header::DATA_START;
use super::table::{Shared, Table};
use crate::error::{Error, Result};
use crate::io::SegmentIo;
use crate::reader::{ReadHint, Reader, Record};

/// A record of a log, borrowed from its reader; derefs to the payload. Like
/// [`Record`], it may pin zero-copy bytes against truncation: drop it before truncating.
#[derive(Debug, PartialEq, Eq)]
pub struct LogRecord<'a> {
    position: u64,
    record: Record<'a>,
}

impl<'a> LogRecord<'a> {
    pub(super) fn new(position: u64, record: Record<'a>) -> Self {
        Self { position, record }
    }

    /// The record's position in the log.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The position of the record after it.
    pub fn next_position(&self) -> u64 {
        self.position + (self.record.next_offset() - self.record.offset())
    }

    /// The payload.
    pub fn data(&self) -> &[u8] {
        self.record.data()
    }

    /// True for a record of an atomic batch that more records of the batch follow.
    pub fn continues_batch(&self) -> bool {
        self.record.continues_batch()
    }

    /// The stored CRC32C (verified: it matches the record).
    pub fn crc(&self) -> u32 {
        self.record.crc()
    }
}

impl Deref for LogRecord<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.record.data()
    }
}

impl AsRef<[u8]> for LogRecord<'_> {
    fn as_ref(&self) -> &[u8] {
        self.record.data()
    }
}

/// Reads a log's durable records, from any thread, beside its writer.
///
/// Reading takes no lock while the log's set of segments stays the same: the reader checks
/// one atomic generation per read and re-loads the segment table (a brief read lock) only
/// after a roll, truncation or purge. It never returns a record that is not durable.
#[derive(Debug)]
pub struct LogReader<B: SegmentIo> {
    shared: Arc<Shared<B>>,
    table: Arc<Table<B>>,
    generation: u64,
    /// This reader's own reader of each segment, by table index, made on first use.
    segments: Vec<Option<Reader<B>>>,
    /// The segment last read and its positions `[base, next base)`: a scan looks the
    /// segment up once per segment, not once per record.
    current: (usize, u64, u64),
}

impl<B: crate::io::OpenSegment> LogReader<B> {
    /// A reader of the log in `dir` that writes nothing and takes no lock, for tools and
    /// other processes. It sees the records as they are now: sealed segments up to their
    /// durable ends, and the tail up to the end of its valid records, walked when opening.
    /// While a writer has the log open, that walk can include records it has written but
    /// not yet synced, and the reader does not see later ones.
    pub fn open(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = dir.as_ref();
        let fs = super::FsDir::<B>::existing(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            op: "opening the log directory",
            offset: 0,
            source: e,
        })?;
        super::open::read_only(&fs)
    }
}

impl<B: SegmentIo> LogReader<B> {
    pub(crate) fn new(shared: Arc<Shared<B>>) -> Self {
        let (table, generation) = shared.load();
        let segments = table.entries.iter().map(|_| None).collect();
        Self { shared, table, generation, segments, current: (0, 1, 0) }
    }

    /// A second reader of the same log with its own buffers, for another thread.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(Self::new(Arc::clone(&self.shared)))
    }

    fn refresh(&mut self) {
        if self.shared.table_generation() != self.generation {
            *self = Self::new(Arc::clone(&self.shared));
        }
    }

    /// The first position the log still holds.
    pub fn start_position(&mut self) -> u64 {
        self.refresh();
        self.table.start_position
    }

    /// The end of the durable records: positions below it may be read.
    pub fn end_position(&mut self) -> u64 {
        self.refresh();
        self.table.end_position()
    }

    /// Reads the record at `position`, which must be a record's start: a position returned
    /// by `append`, or a record's [`next_position`](LogRecord::next_position).
    ///
    /// Fails with [`Error::Purged`] below the log's start, [`Error::NotVisible`] at or past
    /// the durable end, and [`Error::Corrupt`] (naming the segment file and offset) where
    /// the bytes at `position` are not a valid record.
    pub fn read_record(&mut self, position: u64) -> Result<LogRecord<'_>> {
        self.refresh();
        self.read_at(position, ReadHint::Random)
    }

    /// Iterates the records from `position` (a record's start, or the log's start), across
    /// segments.
    pub fn iter(&mut self, position: u64) -> LogIter<'_, B> {
        let cut_generation = self.shared.cut_generation();
        LogIter { reader: self, position, cut_generation }
    }

    fn read_at(&mut self, position: u64, hint: ReadHint) -> Result<LogRecord<'_>> {
        let table = &self.table;
        if position < table.start_position {
            return Err(Error::Purged { path: self.shared.dir.clone(), position, start: table.start_position });
        }
        let end = table.end_position();
        let (cached, base, next) = self.current;
        let found = if base <= position && position < next && position < end {
            Some(cached)
        } else {
            let found = table.find(position).filter(|_| position < end);
            if let Some(i) = found {
                let next = table.entries.get(i + 1).map_or(u64::MAX, |e| e.base_position);
                self.current = (i, table.entries.get(i).map_or(0, |e| e.base_position), next);
            }
            found
        };
        let Some(index) = found else {
            return Err(Error::NotVisible {
                path: self.shared.dir.clone(),
                offset: position,
                start: table.start_position,
                end,
            });
        };
        let Some(entry) = table.entries.get(index) else {
            return Err(Error::NotVisible {
                path: self.shared.dir.clone(),
                offset: position,
                start: table.start_position,
                end,
            });
        };
        let offset = DATA_START + (position - entry.base_position);
        let slot = self.segments.get_mut(index).ok_or_else(|| Error::NotVisible {
            path: self.shared.dir.clone(),
            offset: position,
            start: table.start_position,
            end,
        })?;
        let reader = match slot {
            Some(r) => r,
            None => slot.insert(entry.reader.try_clone()?),
        };
        let record = reader.read_record(offset, hint)?;
        Ok(LogRecord { position, record })
    }
}

/// Iterates a log's records in order, across segments; see [`LogReader::iter`].
///
/// Not a `std::iter::Iterator`: each record borrows the reader until the next call. At the
/// durable end, [`next_record`](Self::next_record) returns `Ok(None)`; records synced later
/// are returned by later calls. A truncation below the iterator's position makes the next
/// call fail with [`Error::Truncated`]; a purge past it, with [`Error::Purged`].
#[derive(Debug)]
pub struct LogIter<'r, B: SegmentIo> {
    reader: &'r mut LogReader<B>,
    position: u64,
    cut_generation: u64,
}

impl<B: SegmentIo> LogIter<'_, B> {
    /// The next record, `Ok(None)` at the durable end, or an error naming the file and offset.
    pub fn next_record(&mut self) -> Result<Option<LogRecord<'_>>> {
        let shared = &self.reader.shared;
        let generation = shared.cut_generation();
        if generation != self.cut_generation {
            if let Some(cut) = shared.lowest_cut_since(self.cut_generation)
                && cut < self.position
            {
                return Err(Error::Truncated { path: shared.dir.clone(), offset: self.position, truncated_to: cut });
            }
            self.cut_generation = generation;
        }
        self.reader.refresh();
        if self.position >= self.reader.table.end_position() && self.position >= self.reader.table.start_position {
            return Ok(None);
        }
        let record = self.reader.read_at(self.position, ReadHint::Sequential)?;
        self.position = record.next_position();
        Ok(Some(record))
    }

    /// Where the next record is expected.
    pub fn position(&self) -> u64 {
        self.position
    }
}
