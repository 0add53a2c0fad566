//! Readers of a log: lock-free on the read path, crossing segment boundaries.

use std::ops::Deref;
use std::sync::Arc;

use super::header::DATA_START;
use super::table::{Entry, Shared, Table};
use crate::error::{Error, Result};
use crate::io::SegmentIo;
use crate::reader::{Fetch, ReadHint, Record};
use crate::scan::Cursor;

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
///
/// It has one read buffer for all segments, so a log of many segments costs one buffer, and
/// moving to another segment costs one lookup in the table (no file is opened: the table
/// holds a handle on each segment).
#[derive(Debug)]
pub struct LogReader<B: SegmentIo> {
    shared: Arc<Shared<B>>,
    table: Arc<Table<B>>,
    generation: u64,
    /// The read buffer and checksum cache, shared by the segments: its bytes are those of
    /// segment `current.index` of this table, or none.
    fetch: Fetch,
    /// The segment last read: a scan looks the segment up once per segment, not per record.
    current: Option<Current>,
}

/// A segment of the table and its positions `[base, next)`.
#[derive(Clone, Copy, Debug)]
struct Current {
    index: usize,
    base: u64,
    next: u64,
}

impl Current {
    fn holds(&self, position: u64) -> bool {
        self.base <= position && position < self.next
    }

    /// The offset of `position` in the segment's file.
    fn offset(&self, position: u64) -> u64 {
        DATA_START + (position - self.base)
    }
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
        Self { shared, table, generation, fetch: Fetch::default(), current: None }
    }

    /// A second reader of the same log with its own buffers, for another thread.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(Self::new(Arc::clone(&self.shared)))
    }

    /// Re-loads the table if a roll, truncation or purge replaced it. The buffer stays
    /// allocated; its bytes go, as the segments' indexes may have changed.
    fn refresh(&mut self) {
        if self.shared.table_generation() != self.generation {
            (self.table, self.generation) = self.shared.load();
            self.forget();
        }
    }

    /// Drops the buffer's bytes and the segment they were from.
    fn forget(&mut self) {
        self.current = None;
        self.fetch.window.invalidate();
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
        let current = self.segment(position)?;
        let entry = entry(&self.shared, &self.table, current, position)?;
        let record = entry.reader.read_record_with(&mut self.fetch, current.offset(position), ReadHint::Random)?;
        Ok(LogRecord { position, record })
    }

    /// Iterates the records from `position` (a record's start, or the log's start), across
    /// segments.
    pub fn iter(&mut self, position: u64) -> LogIter<'_, B> {
        let cut_generation = self.shared.cut_generation();
        LogIter { reader: self, position, cut_generation, scan: None }
    }

    /// The segment that holds `position`, below the durable end: the one last read, or one
    /// lookup in the table (which drops the buffer's bytes, another file's).
    fn segment(&mut self, position: u64) -> Result<Current> {
        let table = &self.table;
        if position < table.start_position {
            return Err(Error::Purged { path: self.shared.dir.clone(), position, start: table.start_position });
        }
        let end = table.end_position();
        if position >= end {
            return Err(not_visible(&self.shared, table, position));
        }
        if let Some(current) = self.current.filter(|c| c.holds(position)) {
            return Ok(current);
        }
        let index = table.find(position).ok_or_else(|| not_visible(&self.shared, table, position))?;
        let base = table.entries.get(index).map_or(position, |e| e.base_position);
        let next = table.entries.get(index + 1).map_or(u64::MAX, |e| e.base_position);
        self.forget();
        let current = Current { index, base, next };
        self.current = Some(current);
        Ok(current)
    }
}

/// The entry of `current` in `table`.
fn entry<'t, B: SegmentIo>(
    shared: &Shared<B>,
    table: &'t Table<B>,
    current: Current,
    position: u64,
) -> Result<&'t Entry<B>> {
    table.entries.get(current.index).ok_or_else(|| not_visible(shared, table, position))
}

fn not_visible<B: SegmentIo>(shared: &Shared<B>, table: &Table<B>, position: u64) -> Error {
    Error::NotVisible {
        path: shared.dir.clone(),
        offset: position,
        start: table.start_position,
        end: table.end_position(),
    }
}

/// Iterates a log's records in order, across segments; see [`LogReader::iter`].
///
/// Not a `std::iter::Iterator`: each record borrows the reader until the next call. At the
/// durable end, [`next_record`](Self::next_record) returns `Ok(None)`; records synced later
/// are returned by later calls. A truncation below the iterator's position makes the next
/// call fail with [`Error::Truncated`]; a purge past it, with [`Error::Purged`].
///
/// Within a segment it is the segment's own scan ([`Iter`](crate::Iter)): records verified
/// in place in the read window, the end loaded once per window.
#[derive(Debug)]
pub struct LogIter<'r, B: SegmentIo> {
    reader: &'r mut LogReader<B>,
    position: u64,
    cut_generation: u64,
    /// The segment being scanned (of the reader's table at `generation`) and where its
    /// scan stands; `None` until the first record, and after the table is replaced.
    scan: Option<SegmentScan>,
}

#[derive(Clone, Copy, Debug)]
struct SegmentScan {
    generation: u64,
    segment: Current,
    cursor: Cursor,
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
        let reader = &*self.reader;
        if !matches!(self.scan, Some(s) if s.generation == reader.generation && s.segment.holds(self.position)) {
            self.scan = self.start_segment()?;
        }
        let reader = &mut *self.reader;
        let Some(scan) = self.scan.as_mut() else { return Ok(None) };
        let entry = entry(&reader.shared, &reader.table, scan.segment, self.position)?;
        let base = scan.segment.base;
        match entry.reader.scan_with(&mut reader.fetch, scan.cursor).next_into(&mut scan.cursor) {
            Ok(Some(record)) => {
                let position = self.position;
                self.position = base + (record.next_offset() - DATA_START);
                Ok(Some(LogRecord { position, record }))
            }
            // The tail's durable end (a sealed segment's end is the next one's start, where
            // the next call looks that one up).
            Ok(None) => Ok(None),
            Err(Error::Truncated { truncated_to, .. }) => {
                // The tail, cut below the position: the log announces the cut just after.
                let cut = base + truncated_to.saturating_sub(DATA_START);
                Err(Error::Truncated { path: reader.shared.dir.clone(), offset: self.position, truncated_to: cut })
            }
            Err(e) => Err(e),
        }
    }

    /// Where the next record is expected.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// A scan of the segment that holds the position: one lookup in the table. `None` at
    /// the durable end.
    fn start_segment(&mut self) -> Result<Option<SegmentScan>> {
        let (reader, position) = (&mut *self.reader, self.position);
        if position >= reader.table.end_position() && position >= reader.table.start_position {
            return Ok(None);
        }
        let segment = reader.segment(position)?;
        let cursor =
            entry(&reader.shared, &reader.table, segment, position)?.reader.scan_cursor(segment.offset(position));
        Ok(Some(SegmentScan { generation: reader.generation, segment, cursor }))
    }
}
