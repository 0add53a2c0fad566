//! Following a log that a writer in another process appends to (docs/FORMAT.md 8.7).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dir::{FsDir, LogDir};
use super::header::{DATA_START, Meta, SegmentHeader, segment_name};
use super::reader::LogRecord;
use super::scan::{self, file_error, io_error};
use super::witness::{Published, WITNESS, WITNESS_LEN};
use crate::error::{Error, Result};
use crate::flushed::FlushedOffset;
use crate::io::{AlignedBuf, OpenSegment};
use crate::reader::{ReadHint, Reader};
use crate::wake::Wake;

/// Longest wait between looks at `log.flushed`, even when inotify is quiet.
const MAX_QUIET: Duration = Duration::from_millis(100);

/// Directory scans tried before an error is reported: a writer rolling, truncating or
/// purging can remove a file between the listing and the opening.
const SCAN_TRIES: usize = 5;

/// Reads a log read-only, yielding each record once it is durable, as a writer in another
/// process appends, syncs, rolls, truncates and purges.
///
/// The writer publishes the log's durable end in `log.flushed` after each successful sync
/// (docs/FORMAT.md, section 8.7); a follower never reads past it, so it never yields a
/// record that recovery after a power loss could discard. It follows the chain of segments
/// across rolls, takes no lock and writes nothing. It wakes on inotify events on
/// `log.flushed`, looking again at least every 100 ms.
///
/// It reads `log.flushed` again after reading each record and before returning it, so it
/// never yields a record that a truncation or purge had removed when the call began:
/// - a truncation below the follower's position makes the call fail with
///   [`Error::Truncated`] (naming the cut), and the follower continues from the cut;
/// - a purge past its position makes the call fail with [`Error::Purged`] (naming the new
///   start), and the follower continues from the log's start.
pub struct LogFollower<B: OpenSegment> {
    dir: FsDir<B>,
    log_id: u128,
    /// The log's start when it was opened.
    start: u64,
    witness: Option<File>,
    /// What `log.flushed` said at the last look.
    published: Option<Published>,
    pos: u64,
    segment: Option<Segment<B>>,
    wake: Wake,
}

/// The segment the follower reads.
struct Segment<B: OpenSegment> {
    header: SegmentHeader,
    reader: Reader<B>,
    /// What `reader` may read: the published end, within the segment.
    visible: FlushedOffset,
    /// The successor's base, once known: the segment's end.
    bound: Option<u64>,
}

impl<B: OpenSegment> LogFollower<B> {
    /// Starts following the log in `dir` at `position` (a record's start; the log's start
    /// to read everything it holds).
    pub fn open(dir: impl AsRef<Path>, position: u64) -> Result<Self> {
        let path = dir.as_ref();
        let dir = FsDir::existing(path).map_err(|e| io_error(path, "", "opening the log directory", e))?;
        let meta = match dir.read_file(scan::META) {
            Ok(bytes) => Meta::decode(&bytes).map_err(|what| file_error(path, scan::META, 0, what))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(file_error(path, scan::META, 0, "missing: not a log directory"));
            }
            Err(e) => return Err(io_error(path, scan::META, "reading", e)),
        };
        // The first look happens in the first `poll`, so a position the log no longer holds
        // is reported there (and moved past), not here.
        Ok(Self {
            dir,
            log_id: meta.log_id,
            start: meta.start_position,
            witness: None,
            published: None,
            pos: position,
            segment: None,
            wake: Wake::default(),
        })
    }

    /// Starts following the log in `dir` at its start (what `log.meta` says now).
    pub fn open_at_start(dir: impl AsRef<Path>) -> Result<Self> {
        let mut follower = Self::open(dir, 0)?;
        follower.pos = follower.start;
        Ok(follower)
    }

    /// The position of the next record it will yield.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The durable end it last read from `log.flushed`.
    pub fn durable_end(&self) -> u64 {
        self.published.map_or(0, |p| p.end)
    }

    /// The next durable record, or `None` if there is none yet.
    pub fn poll(&mut self) -> Result<Option<LogRecord<'_>>> {
        loop {
            if !self.ready()? {
                return Ok(None);
            }
            if let Some(next) = self.read_checked()? {
                return self.take(next).map(Some);
            }
        }
    }

    /// Like [`poll`](Self::poll), waiting up to `timeout` for a record.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<LogRecord<'_>>> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.ready()? {
                if let Some(next) = self.read_checked()? {
                    return self.take(next).map(Some);
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.sleep(left.min(MAX_QUIET));
        }
    }

    /// Reads `log.flushed`: reports a cut below the position or a purge past it (moving
    /// the position on), and returns true when a record is durable at the position.
    fn ready(&mut self) -> Result<bool> {
        let Some(now) = self.look()? else { return Ok(false) };
        Ok(self.pos < now.end)
    }

    /// Reads `log.flushed`, returning what it says now (`None` while absent or invalid).
    fn look(&mut self) -> Result<Option<Published>> {
        let root = self.dir.path().to_path_buf();
        if self.witness.is_none() {
            match File::open(root.join(WITNESS)) {
                Ok(f) => {
                    self.wake = Wake::watch(&root.join(WITNESS));
                    self.witness = Some(f);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_error(&root, WITNESS, "opening", e)),
            }
        }
        let Some(file) = &self.witness else { return Ok(None) };
        let mut buf = [0u8; WITNESS_LEN];
        let read = crate::fs::read_exact_at(file, 0, &mut buf);
        let now = match read.ok().and_then(|()| Published::decode(&buf)).filter(|p| p.log_id == self.log_id) {
            Some(now) => now,
            // Being replaced (a writer making it anew) or torn: look again later.
            None => {
                self.witness = None;
                return Ok(None);
            }
        };
        let before = self.published.replace(now);
        if let Some(before) = before
            && before.generation != now.generation
        {
            let cut = now.lowest_cut_since(before.generation).unwrap_or(now.start).min(now.end);
            if cut < self.pos {
                let at = std::mem::replace(&mut self.pos, cut);
                self.segment = None;
                return Err(Error::Truncated { path: root, offset: at, truncated_to: cut });
            }
        }
        if self.pos < now.start {
            let at = std::mem::replace(&mut self.pos, now.start);
            self.segment = None;
            return Err(Error::Purged { path: root, position: at, start: now.start });
        }
        Ok(Some(now))
    }

    /// Reads the record at the position, then looks at `log.flushed` again: returns where
    /// the record ends if nothing was cut or purged meanwhile (else `None`: look again).
    fn read_checked(&mut self) -> Result<Option<u64>> {
        let Some(before) = self.published else { return Ok(None) };
        let next = loop {
            let pos = self.pos;
            let segment = match self.segment_at(pos, before.end) {
                Ok(segment) => segment,
                // The directory already says so (`log.meta` is a purge's commit point),
                // `log.flushed` not yet.
                Err(Error::Purged { path, position, start }) => {
                    self.pos = start;
                    self.segment = None;
                    return Err(Error::Purged { path, position, start });
                }
                Err(e) => return Err(e),
            };
            let offset = DATA_START + (pos - segment.header.base_position);
            let unbounded = segment.bound.is_none();
            let read = segment.reader.read_record(offset, ReadHint::Sequential).map(|r| r.next_offset());
            match read {
                Ok(next) => break Some(next),
                // Past the end of a segment that has rolled: move to its successor.
                Err(_) if unbounded && self.successor()? => continue,
                Err(e) => break self.check_after_error(e)?,
            }
        };
        let after = self.look()?;
        let unchanged = after.is_some_and(|a| a.generation == before.generation && a.start <= self.pos);
        Ok(next.filter(|_| unchanged))
    }

    /// A read failed where the log said a durable record lies: an error, unless the log
    /// changed meanwhile (then `None`: look again).
    fn check_after_error(&mut self, e: Error) -> Result<Option<u64>> {
        let before = self.published;
        match self.look()? {
            Some(now) if Some(now.generation) == before.map(|b| b.generation) && now.start <= self.pos => Err(e),
            _ => Ok(None),
        }
    }

    fn take(&mut self, next: u64) -> Result<LogRecord<'_>> {
        let at = self.pos;
        let segment = self.segment.as_mut().ok_or_else(|| file_error(self.dir.path(), "", at, "no segment"))?;
        let base = segment.header.base_position;
        self.pos = base + (next - DATA_START);
        let record = segment.reader.read_record(DATA_START + (at - base), ReadHint::Sequential)?;
        Ok(LogRecord::new(at, record))
    }

    /// The segment holding `position`, its reader allowed up to `end`.
    fn segment_at(&mut self, position: u64, end: u64) -> Result<&mut Segment<B>> {
        let holds = |s: &Segment<B>| s.header.base_position <= position && s.bound.is_none_or(|b| position < b);
        if !self.segment.as_ref().is_some_and(holds) {
            self.segment = Some(self.locate(position)?);
        }
        let segment = self.segment.as_mut().ok_or_else(|| file_error(self.dir.path(), "", position, "no segment"))?;
        let limit = segment.bound.map_or(end, |b| b.min(end));
        let base = segment.header.base_position;
        segment.visible.publish(DATA_START + limit.saturating_sub(base).min(segment.header.segment_size - DATA_START));
        Ok(segment)
    }

    /// Finds the segment holding `position` by scanning the directory's chain.
    fn locate(&mut self, position: u64) -> Result<Segment<B>> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.locate_once(position) {
                Ok(s) => return Ok(s),
                Err(e @ Error::Purged { .. }) => return Err(e),
                Err(e) if tries >= SCAN_TRIES => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    fn locate_once(&mut self, position: u64) -> Result<Segment<B>> {
        let root = self.dir.path().to_path_buf();
        let scan = scan::scan(&self.dir)?;
        if let Some(meta) = scan.meta
            && position < meta.start_position
        {
            return Err(Error::Purged { path: root, position, start: meta.start_position });
        }
        let chain = scan.chain;
        let index = chain.partition_point(|l| l.header.base_position <= position).checked_sub(1);
        let Some(index) = index else {
            return Err(file_error(&root, scan::META, 0, format!("no segment holds position {position}")));
        };
        let bound = chain.get(index + 1).map(|n| n.header.base_position);
        let link = chain.into_iter().nth(index).ok_or_else(|| file_error(&root, "", position, "no segment"))?;
        Ok(self.segment(link.header, link.io, bound))
    }

    fn segment(&self, header: SegmentHeader, io: B, bound: Option<u64>) -> Segment<B> {
        let visible = FlushedOffset::new(DATA_START, DATA_START);
        Segment { header, reader: Reader::live(Arc::new(io), visible.clone()), visible, bound }
    }

    /// The current segment has no record at the position: if its successor (`seq + 1`,
    /// since no cut was published) starts there, moves to it and returns true.
    fn successor(&mut self) -> Result<bool> {
        let Some(current) = &mut self.segment else { return Ok(false) };
        let (seq, root) = (current.header.seq, self.dir.path().to_path_buf());
        let name = segment_name(seq + 1);
        let io = match self.dir.open_reader(&name) {
            Ok(io) => io,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error(&root, &name, "opening segment", e)),
        };
        let mut buf = AlignedBuf::new();
        let block = buf.region(DATA_START as usize, io.alignment());
        crate::io::SegmentIo::read_at(&io, 0, block)
            .map_err(|e| io_error(&root, &name, "reading the segment header", e))?;
        let header = SegmentHeader::decode(block).map_err(|what| file_error(&root, &name, 0, what))?;
        if header.log_id != self.log_id || header.prev_seq != seq || header.base_position != self.pos {
            return Ok(false);
        }
        current.bound = Some(header.base_position);
        self.segment = Some(self.segment(header, io, None));
        Ok(true)
    }

    fn sleep(&mut self, max: Duration) {
        self.wake.sleep(max);
    }

    /// The log's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl<B: OpenSegment> std::fmt::Debug for LogFollower<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFollower").field("dir", &self.dir.path()).field("position", &self.pos).finish()
    }
}
