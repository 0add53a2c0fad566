//! A log: a directory of segments that rolls, recovers, truncates and purges as one
//! crash-safe sequence of records (docs/FORMAT.md, section 8).
//!
//! Positions are `u64` byte positions, strictly increasing in append order and never
//! reused or renumbered. The chain of segments is recorded in their headers: each names the
//! segment it follows and the position it starts at, which is where that one ends.

mod dir;
mod header;
mod open;
mod options;
mod reader;
mod scan;
mod table;
mod walk;

use std::path::Path;
use std::sync::Arc;

pub use dir::{FsDir, LogDir};
pub use header::DATA_START;
pub use options::{LogOptions, LogReport, SegmentInfo};
pub use reader::{LogIter, LogReader, LogRecord};

use header::{Meta, SegmentHeader, segment_name};
use scan::{META, io_error};
use table::{Entry, Shared, Table};

use crate::codec::{HEADER_LEN, MAX_PAYLOAD};
use crate::error::{Error, Result};
use crate::flushed::FlushedOffset;
use crate::io::{AlignedBuf, OpenSegment, SegmentIo};
use crate::reader::Reader;
use crate::recovery::RecoveryMode;
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
    dir: D,
    options: LogOptions,
    meta: Meta,
    shared: Arc<Shared<B>>,
    writer: Writer<B>,
    tail: Tail,
    report: LogReport,
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
        let mut needed = 0u64;
        for r in records {
            if r.len() > MAX_PAYLOAD {
                return Err(Error::RecordTooLarge {
                    path: self.dir.path().to_path_buf(),
                    len: r.len(),
                    max: MAX_PAYLOAD,
                });
            }
            needed += (HEADER_LEN + r.len()) as u64;
        }
        let capacity = self.options.segment_size - DATA_START;
        if needed > self.writer.remaining_bytes() {
            if needed > capacity {
                return Err(Error::TooLargeForSegment { path: self.dir.path().to_path_buf(), needed, capacity });
            }
            self.roll()?;
        }
        let (offset, bytes) = self.writer.append_batch(records)?;
        self.tail.appended += records.len() as u64;
        Ok((self.position(offset), bytes))
    }

    /// Makes every appended record durable, then visible to readers; returns the durable
    /// end position. A failure poisons the log.
    pub fn sync(&mut self) -> Result<u64> {
        self.check_poison()?;
        let end = self.writer.sync()?;
        self.tail.synced = self.tail.appended;
        Ok(self.position(end))
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
        let writer = self.poisoning(|log| make_segment(&log.dir, &log.options, &header))?;
        self.install(writer, header, None)
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
        entries.push(Entry {
            seq: header.seq,
            path: self.dir.path().join(segment_name(header.seq)),
            base_position: header.base_position,
            base_record: header.base_record,
            reader: writer.reader(),
            records: None,
        });
        self.writer = writer;
        self.tail = Tail {
            seq: header.seq,
            base_position: header.base_position,
            base_record: header.base_record,
            appended: 0,
            synced: 0,
        };
        self.shared.replace(Table { start_position: table.start_position, entries });
        Ok(())
    }

    /// Durably drops every record at or after `position`, which must be a record boundary
    /// (not inside a batch) at or after the log's start: the next append lands there.
    ///
    /// Readers stop seeing the cut records first; an iterator past the cut gets
    /// [`Error::Truncated`]. Once this returns, no crash can bring them back.
    pub fn truncate(&mut self, position: u64) -> Result<()> {
        self.check_poison()?;
        let end = self.end_position();
        let (table, _) = self.shared.load();
        if position < table.start_position {
            return Err(Error::Purged { path: self.dir.path().to_path_buf(), position, start: table.start_position });
        }
        if position > end {
            return Err(Error::InvalidArgument {
                path: self.dir.path().to_path_buf(),
                what: format!("cannot truncate to position {position}: the log ends at {end}"),
            });
        }
        if position == end {
            return Ok(());
        }
        let index = table.find(position).unwrap_or(0);
        let last = table.entries.len() - 1;
        if index == last {
            let offset = DATA_START + (position - self.tail.base_position);
            self.writer.truncate(offset)?;
            let mut reader = self.writer.reader();
            self.tail.appended = walk::count_to(&mut reader, offset)?;
            self.tail.synced = self.tail.appended;
            self.shared.cut(position);
            return Ok(());
        }
        let Some(entry) = table.entries.get(index) else { return Ok(()) };
        let offset = DATA_START + (position - entry.base_position);
        let mut reader = entry.reader.try_clone()?;
        let records = walk::count_to(&mut reader, offset)?;
        // Readers first: from here they see the log end at `position`.
        self.shared.cut(position);
        let name = segment_name(entry.seq);
        let io = self.dir.open_reader(&name).map_err(|e| io_error(self.dir.path(), &name, "opening segment", e))?;
        let mut entries = Vec::with_capacity(index + 1);
        for e in table.entries.iter().take(index) {
            entries.push(e.duplicate()?);
        }
        entries.push(Entry {
            reader: Reader::live(Arc::new(io), FlushedOffset::fixed(DATA_START, offset)),
            records: Some(records),
            ..entry.duplicate()?
        });
        self.shared.replace(Table { start_position: table.start_position, entries });
        let header = SegmentHeader {
            log_id: self.meta.log_id,
            seq: self.tail.seq + 1,
            prev_seq: entry.seq,
            base_position: position,
            base_record: entry.base_record + records,
            segment_size: self.options.segment_size,
        };
        // The commit point: once the new segment's name is durable, the chain skips the cut.
        let writer = self.poisoning(|log| make_segment(&log.dir, &log.options, &header))?;
        let orphans: Vec<String> = table.entries.iter().skip(index + 1).map(|e| segment_name(e.seq)).collect();
        self.install(writer, header, Some(index + 1))?;
        self.poisoning(|log| remove_all(&log.dir, &orphans))
    }

    /// Durably drops the segments that lie entirely before `position` (never the tail);
    /// returns the log's new start, at or before `position`. Reading a dropped position
    /// then fails with [`Error::Purged`].
    pub fn purge_before(&mut self, position: u64) -> Result<u64> {
        self.check_poison()?;
        let (table, _) = self.shared.load();
        let last = table.entries.len() - 1;
        let ends = |i: usize| table.entries.get(i + 1).map_or(u64::MAX, |n| n.base_position);
        let keep = (0..last).find(|&i| ends(i) > position).unwrap_or(last);
        let Some(first) = table.entries.get(keep).filter(|_| keep > 0) else {
            return Ok(table.start_position);
        };
        let meta = Meta {
            start_seq: first.seq,
            start_position: first.base_position,
            start_record: first.base_record,
            ..self.meta
        };
        // The commit point: the new start is durable before any file goes.
        self.poisoning(|log| write_meta(&log.dir, &meta))?;
        self.meta = meta;
        let mut entries = Vec::with_capacity(table.entries.len() - keep);
        for e in table.entries.iter().skip(keep) {
            entries.push(e.duplicate()?);
        }
        self.shared.replace(Table { start_position: meta.start_position, entries });
        let purged: Vec<String> = table.entries.iter().take(keep).map(|e| segment_name(e.seq)).collect();
        self.poisoning(|log| remove_all(&log.dir, &purged))?;
        Ok(meta.start_position)
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

/// Creates the segment `header` describes and makes it durable under its name (roll steps
/// 2 and 3); returns its writer.
fn make_segment<D: LogDir>(dir: &D, options: &LogOptions, header: &SegmentHeader) -> Result<Writer<D::Io>> {
    let root = dir.path();
    let name = segment_name(header.seq);
    let tmp = format!("{name}.tmp");
    let made = (|| {
        let io = dir
            .create(&tmp, header.segment_size, options.preallocation)
            .map_err(|e| io_error(root, &tmp, "creating segment", e))?;
        let mut buf = AlignedBuf::new();
        let block = buf.region(DATA_START as usize, io.alignment());
        let bytes = header.encode();
        block.get_mut(..bytes.len()).unwrap_or_default().copy_from_slice(&bytes);
        io.write_at(0, block).map_err(|e| io_error(root, &tmp, "writing the segment header", e))?;
        io.sync().map_err(|e| io_error(root, &tmp, "syncing the segment header", e))
    })();
    if let Err(e) = made {
        // Nothing refers to the temporary file; open deletes it if this fails too.
        let _ = dir.remove(&tmp);
        return Err(e);
    }
    dir.rename(&tmp, &name).map_err(|e| io_error(root, &name, "naming a new segment", e))?;
    dir.sync().map_err(|e| io_error(root, &name, "syncing the log directory", e))?;
    let io = dir.open_writer(&name).map_err(|e| io_error(root, &name, "opening segment", e))?;
    Writer::recover(io, DATA_START, RecoveryMode::Truncate)
}

/// Replaces `log.meta` durably: temporary file, sync, rename, directory sync.
fn write_meta<D: LogDir>(dir: &D, meta: &Meta) -> Result<()> {
    let root = dir.path();
    let tmp = "log.meta.tmp";
    dir.write_file(tmp, &scan::meta_bytes(meta)).map_err(|e| io_error(root, tmp, "writing", e))?;
    dir.rename(tmp, META).map_err(|e| io_error(root, META, "replacing", e))?;
    dir.sync().map_err(|e| io_error(root, META, "syncing the log directory", e))
}

/// Removes `names` and syncs the directory once.
fn remove_all<D: LogDir>(dir: &D, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    for name in names {
        match dir.remove(name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(dir.path(), name, "removing", e));
            }
            _ => {}
        }
    }
    dir.sync().map_err(|e| io_error(dir.path(), "", "syncing the log directory", e))
}
