//! The segment table readers share with the log's writer: an immutable snapshot replaced
//! whole on roll, truncation and purge, plus the list of truncation cuts iterators watch.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::header::DATA_START;
use crate::io::SegmentIo;
use crate::reader::Reader;

/// One segment of the chain as readers see it.
#[derive(Debug)]
pub(crate) struct Entry<B: SegmentIo> {
    pub seq: u64,
    pub path: PathBuf,
    pub base_position: u64,
    pub base_record: u64,
    /// A reader bounded by the segment's durable end: the tail writer's flushed offset,
    /// or a fixed bound for a sealed segment. Readers clone it.
    pub reader: Reader<B>,
    /// Records in a sealed segment; `None` for the tail (the log counts those).
    pub records: Option<u64>,
}

impl<B: SegmentIo> Entry<B> {
    /// The tail's entry: a reader on a handle of its own (not the writer's, which holds the
    /// segment's writer lock for as long as any reader lives) following `writer`.
    pub fn tail<D: super::LogDir<Io = B>>(
        dir: &D,
        header: &super::header::SegmentHeader,
        writer: &crate::Writer<B>,
    ) -> crate::Result<Self> {
        let name = super::header::segment_name(header.seq);
        let io = dir.open_reader(&name).map_err(|e| super::scan::io_error(dir.path(), &name, "opening segment", e))?;
        Ok(Self {
            seq: header.seq,
            path: dir.path().join(name),
            base_position: header.base_position,
            base_record: header.base_record,
            reader: Reader::live(Arc::new(io), writer.flushed_offset()),
            records: None,
        })
    }

    /// The end of the durable records, as a position.
    pub fn end_position(&self) -> u64 {
        self.base_position + (self.reader.visible_end() - DATA_START)
    }

    pub fn duplicate(&self) -> crate::Result<Self> {
        Ok(Self {
            seq: self.seq,
            path: self.path.clone(),
            base_position: self.base_position,
            base_record: self.base_record,
            reader: self.reader.try_clone()?,
            records: self.records,
        })
    }
}

/// The chain from the log's start to its tail (the last entry).
#[derive(Debug)]
pub(crate) struct Table<B: SegmentIo> {
    pub start_position: u64,
    pub entries: Vec<Entry<B>>,
}

impl<B: SegmentIo> Table<B> {
    /// The durable end of the log.
    pub fn end_position(&self) -> u64 {
        self.entries.last().map_or(self.start_position, Entry::end_position)
    }

    /// The index of the segment holding `position`: the last whose base is at or below it
    /// (so a position on a boundary belongs to the later segment, and empty segments are skipped).
    pub fn find(&self, position: u64) -> Option<usize> {
        self.entries.partition_point(|e| e.base_position <= position).checked_sub(1)
    }
}

/// What the writer shares with every reader.
#[derive(Debug)]
pub(crate) struct Shared<B: SegmentIo> {
    pub dir: PathBuf,
    table: RwLock<Arc<Table<B>>>,
    /// Bumped after each table replacement: readers re-load the table when it moves.
    table_generation: AtomicU64,
    /// Where each truncation cut, in order; `cut_generation` is its length.
    cuts: Mutex<Vec<u64>>,
    cut_generation: AtomicU64,
}

impl<B: SegmentIo> Shared<B> {
    pub fn new(dir: PathBuf, table: Table<B>) -> Self {
        Self {
            dir,
            table: RwLock::new(Arc::new(table)),
            table_generation: AtomicU64::new(0),
            cuts: Mutex::new(Vec::new()),
            cut_generation: AtomicU64::new(0),
        }
    }

    /// The current table and its generation.
    pub fn load(&self) -> (Arc<Table<B>>, u64) {
        // Acquire pairs with the Release in `replace`: a reader that sees generation g also
        // sees the table stored before it (or a later one, which is as good).
        let generation = self.table_generation.load(Ordering::Acquire);
        let table = Arc::clone(&self.table.read().unwrap_or_else(|e| e.into_inner()));
        (table, generation)
    }

    pub fn table_generation(&self) -> u64 {
        self.table_generation.load(Ordering::Acquire)
    }

    pub fn replace(&self, table: Table<B>) {
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
        self.table_generation.fetch_add(1, Ordering::Release);
    }

    /// Announces a truncation to `position`, before the table or any byte changes.
    pub fn cut(&self, position: u64) {
        let mut cuts = self.cuts.lock().unwrap_or_else(|e| e.into_inner());
        cuts.push(position);
        self.cut_generation.store(cuts.len() as u64, Ordering::Release);
    }

    pub fn cut_generation(&self) -> u64 {
        self.cut_generation.load(Ordering::Acquire)
    }

    /// The lowest cut since generation `since`, if any.
    pub fn lowest_cut_since(&self, since: u64) -> Option<u64> {
        let cuts = self.cuts.lock().unwrap_or_else(|e| e.into_inner());
        cuts.get(since as usize..).and_then(|c| c.iter().copied().min())
    }
}
