//! A log: a directory of segments that rolls, recovers, truncates and purges as one
//! crash-safe sequence of records (docs/FORMAT.md, section 8).
//!
//! Positions are `u64` byte positions, strictly increasing in append order and never
//! reused or renumbered. The chain of segments is recorded in their headers: each names the
//! segment it follows and the position it starts at, which is where that one ends.

mod cut;
mod dir;
mod files;
mod follow;
mod header;
mod open;
mod options;
mod reader;
mod scan;
mod spare;
mod table;
mod walk;
mod witness;

use std::path::Path;
use std::sync::Arc;

pub use dir::{FsDir, LogDir};
pub use follow::LogFollower;
pub use header::DATA_START;
pub use options::{LogOptions, LogReport, SegmentInfo};
pub use reader::{LogIter, LogReader, LogRecord};

use files::{make_segment, remove_all, write_meta};
use header::{Meta, SegmentHeader, segment_name};
use spare::{Spare, tmp_name};
use table::{Entry, Shared, Table};
use witness::Witness;

use crate::codec::{MAX_PAYLOAD, batch_len};
use crate::error::{Error, Result};
use crate::io::{OpenSegment, SegmentIo};
use crate::writer::Writer;

/// A log of records over a directory of fixed-size segments, with one writer.
///
/// [`append`](Self::append) buffers and [`sync`](Self::sync) makes durable, as
/// [`Writer`] does for one segment; when a record does not fit in the current segment the log
/// rolls to a new one (the caller never sees `SegmentFull`). [`reader`](Self::reader)s in
/// any thread see the durable records. Every crash, at any step of a roll, truncation or
/// purge, reopens to a prefix of what was appended that holds every synced record.
///
/// If a write, sync or directory operation fails, the log is poisoned: every later call
/// that changes it fails. Reopen it to recover.
#[derive(Debug)]
pub struct Log<B: SegmentIo, D: LogDir<Io = B> = FsDir<B>> {
    dir: Arc<D>,
    /// The next segment's file, being made in the background ([`LogOptions::precreate`]).
    spare: Option<Spare<B>>,
    options: LogOptions,
    meta: Meta,
    shared: Arc<Shared<B>>,
    writer: Writer<B>,
    tail: Tail,
    report: LogReport,
    /// `log.flushed`: the durable end, for followers and recovery.
    witness: Witness,
    poison: Option<String>,
    // Last, so the lock is released after every handle is closed.
    _lock: D::Lock,
}

/// The tail segment, as the writer knows it.
#[derive(Clone, Debug)]
struct Tail {
    seq: u64,
    base_position: u64,
    base_record: u64,
    /// Records appended to it, synced or not, and those synced.
    appended: u64,
    synced: u64,
}

impl<B: OpenSegment> Log<B, FsDir<B>> {
    /// Opens the log in directory `dir`, creating the directory and the log if absent, and
    /// otherwise recovering it (docs/FORMAT.md, section 8.5). Fails with [`Error::Locked`]
    /// while another `Log` has it open, in this process or another.
    pub fn open(dir: impl AsRef<Path>, options: LogOptions) -> Result<Self> {
        let path = dir.as_ref();
        let fs = FsDir::new(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            op: "creating the log directory",
            offset: 0,
            source: e,
        })?;
        Self::open_in(fs, options)
    }

    /// Walks the log in `dir` read-only, taking no lock, and reports every segment: what
    /// [`open`](Self::open) would find, with every sealed segment walked to its end. Damage
    /// in a sealed segment, a gap or a bad file is an error naming the file and offset;
    /// damage in the tail is reported in [`LogReport::tail`].
    pub fn verify(dir: impl AsRef<Path>) -> Result<LogReport> {
        let path = dir.as_ref();
        let fs = FsDir::<B>::existing(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            op: "opening the log directory",
            offset: 0,
            source: e,
        })?;
        open::verify(&fs)
    }
}

impl<B: SegmentIo, D: LogDir<Io = B>> Log<B, D> {
    /// Opens (or creates) the log in `dir`; see [`open`](Log::open).
    pub fn open_in(dir: D, options: LogOptions) -> Result<Self> {
        open::open(dir, options)
    }

    /// Appends one record; returns its position and the bytes it occupies (8 + its length).
    /// Durable and visible to readers after [`sync`](Self::sync).
    pub fn append(&mut self, data: &[u8]) -> Result<(u64, usize)> {
        self.append_batch(&[data])
    }

    /// Appends `records` as one atomic batch, never split across segments: after any crash
    /// all of them are kept or none. Returns the first's position and the bytes they occupy.
    ///
    /// A record longer than [`MAX_PAYLOAD`], or a batch larger than a segment's record area,
    /// is refused with nothing written and the log still usable.
    pub fn append_batch(&mut self, records: &[&[u8]]) -> Result<(u64, usize)> {
        self.check_poison()?;
        let needed = batch_len(records).map_err(|len| Error::RecordTooLarge {
            path: self.dir.path().to_path_buf(),
            len,
            max: MAX_PAYLOAD,
        })?;
        let capacity = self.options.segment_size - DATA_START;
        if needed > self.writer.remaining_bytes() {
            if needed > capacity {
                return Err(Error::TooLargeForSegment { path: self.dir.path().to_path_buf(), needed, capacity });
            }
            self.roll()?;
        }
        let (offset, bytes) = self.writer.append_batch(records)?;
        self.tail.appended += records.len() as u64;
        self.prepare_next();
        Ok((self.position(offset), bytes))
    }

    /// Makes every appended record durable, then visible to readers; returns the durable
    /// end position. A failure poisons the log.
    pub fn sync(&mut self) -> Result<u64> {
        self.check_poison()?;
        let end = self.writer.sync()?;
        self.tail.synced = self.tail.appended;
        let end = self.position(end);
        // Only after the records below `end` are durable.
        self.poisoning(|log| log.witness.publish(&*log.dir, end, false))?;
        Ok(end)
    }

    /// A reader of the durable records, for any thread.
    pub fn reader(&self) -> LogReader<B> {
        LogReader::new(Arc::clone(&self.shared))
    }

    /// The first position the log still holds (it moves on with [`purge_before`](Self::purge_before)).
    pub fn start_position(&self) -> u64 {
        self.shared.load().0.start_position
    }

    /// The position the next record will get: the end of the appended records, synced or not.
    pub fn end_position(&self) -> u64 {
        self.position(self.writer.write_offset())
    }

    /// The segments of the log, from its start to the tail.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let (table, _) = self.shared.load();
        let last = table.entries.len().saturating_sub(1);
        table.entries.iter().enumerate().map(|(i, e)| info(e, (i == last).then_some(self.tail.synced))).collect()
    }

    /// What recovery found when the log was opened.
    pub fn report(&self) -> &LogReport {
        &self.report
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The directory the log is in, for a caller that keeps small files of its own beside
    /// the segments (names the log does not use are left alone; `*.tmp` files are deleted
    /// at open).
    pub fn dir(&self) -> &D {
        &self.dir
    }

    /// True once a failure has poisoned the log.
    pub fn is_poisoned(&self) -> bool {
        self.poison.is_some() || self.writer.is_poisoned()
    }

    fn position(&self, offset: u64) -> u64 {
        self.tail.base_position + (offset - DATA_START)
    }

    fn check_poison(&self) -> Result<()> {
        match &self.poison {
            None => Ok(()),
            Some(cause) => Err(Error::Poisoned {
                path: self.dir.path().to_path_buf(),
                offset: self.end_position(),
                cause: cause.clone(),
            }),
        }
    }

    /// Runs a step whose failure leaves the directory in a state only reopening sorts out.
    fn poisoning<T>(&mut self, step: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let out = step(self);
        if let Err(e) = &out {
            self.poison = Some(e.to_string());
        }
        out
    }

    /// Seals the tail and continues in a new segment (docs/FORMAT.md, section 8.4, Roll).
    fn roll(&mut self) -> Result<()> {
        // Every record of the tail is durable before its successor's header says where it ends.
        self.sync()?;
        let end = self.end_position();
        let header = SegmentHeader {
            log_id: self.meta.log_id,
            seq: self.tail.seq + 1,
            prev_seq: self.tail.seq,
            base_position: end,
            base_record: self.tail.base_record + self.tail.appended,
            segment_size: self.options.segment_size,
        };
        let writer = self.poisoning(|log| log.make_segment(&header))?;
        self.install(writer, header, None)
    }

    /// Creates the segment `header` describes and makes it durable under its name (roll
    /// steps 2 and 3); returns its writer. Takes the pre-created file if there is one.
    fn make_segment(&mut self, header: &SegmentHeader) -> Result<Writer<B>> {
        let spare = self.spare.take().map(|s| (s.seq, s.size, s.take()));
        let io = match spare {
            Some((seq, size, Ok(io))) if seq == header.seq && size == header.segment_size => Some(io),
            Some((seq, _, result)) => {
                // Made for another segment, or failed: it is only a temporary file.
                drop(result);
                let _ = self.dir.remove(&tmp_name(seq));
                None
            }
            None => None,
        };
        make_segment(&*self.dir, &self.options, header, io)
    }

    /// Starts making the next segment's file, if the options ask for it, once the tail is
    /// half full. Not at once after a roll: the first syncs into a new segment are the
    /// costly ones (the file system converts its first extents), and a creation running
    /// beside them (`fallocate`, `fsync`, directory `fsync`) makes them slower still.
    fn prepare_next(&mut self) {
        let half = (self.options.segment_size - DATA_START) / 2;
        if self.options.precreate && self.spare.is_none() && self.writer.remaining_bytes() <= half {
            self.spare =
                Some(Spare::spawn(&self.dir, self.tail.seq + 1, self.options.segment_size, self.options.preallocation));
        }
    }

    /// Makes `writer` (on the segment `header` describes) the tail; the old tail is sealed,
    /// or, with `keep = Some(n)`, only the first `n` entries of the table are kept (a truncation).
    fn install(&mut self, writer: Writer<B>, header: SegmentHeader, keep: Option<usize>) -> Result<()> {
        let (table, _) = self.shared.load();
        let keep = keep.unwrap_or(table.entries.len());
        let mut entries = Vec::with_capacity(keep + 1);
        for (i, e) in table.entries.iter().take(keep).enumerate() {
            let mut e = e.duplicate()?;
            if i + 1 == table.entries.len() {
                e.records = Some(self.tail.appended);
            }
            entries.push(e);
        }
        let tail = Entry::tail(&*self.dir, &header, &writer);
        let tail = self.poisoning(|_| tail)?;
        entries.push(tail);
        self.writer = writer;
        self.tail = Tail {
            seq: header.seq,
            base_position: header.base_position,
            base_record: header.base_record,
            appended: 0,
            synced: 0,
        };
        self.shared.replace(Table { start_position: table.start_position, entries });
        self.prepare_next();
        Ok(())
    }
}

impl<B: SegmentIo, D: LogDir<Io = B>> Drop for Log<B, D> {
    fn drop(&mut self) {
        // Before the lock goes: a new writer of the directory must not meet our temporary file
        // half made.
        if let Some(spare) = self.spare.take() {
            let _ = spare.take();
        }
    }
}

fn info<B: SegmentIo>(e: &Entry<B>, tail_records: Option<u64>) -> SegmentInfo {
    SegmentInfo {
        path: e.path.clone(),
        seq: e.seq,
        first_position: e.base_position,
        end_position: e.end_position(),
        records: tail_records.or(e.records).unwrap_or(0),
        sealed: tail_records.is_none(),
    }
}
