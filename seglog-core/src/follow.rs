//! Following a segment that a writer in another process appends to.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result, check_start_offset, open_error};
use crate::flushed::FlushedOffset;
use crate::fs::{FileId, file_id, path_id};
use crate::io::{OpenSegment, SegmentIo};
use crate::polled::Polled;
use crate::reader::{Reader, Record};
use crate::sidecar::{Owner, Published, lowest_cut, read_sidecar, sidecar_path};
use crate::wake::Wake;
use crate::writer::io_error;

/// Longest wait between looks at the sidecar, even when inotify is quiet: a missed or
/// coalesced event costs at most this much latency.
const MAX_QUIET: Duration = Duration::from_millis(100);

/// Reads a segment read-only, yielding each record once it is durable, as a writer in
/// another process appends and syncs.
///
/// The writer publishes its durable end in the sidecar file `<segment>.flushed` after each
/// successful sync (see docs/FORMAT.md). A follower never reads past that end, so it never
/// yields a record that recovery after a power loss could discard. It opens both files
/// read-only, never writes them, and takes no lock. It wakes on inotify events on the
/// sidecar, looking again at least every 100 ms.
///
/// If the writer truncates below the follower's position, or a recovering writer kept less
/// than had been published (media damage), the follower returns [`Error::Truncated`]. It
/// checks the sidecar again after reading, before it returns what it read, and reads again
/// if a truncation was published meanwhile, so a call never returns a record that a
/// truncation published before the call returned had cut. [`poll`](Self::poll) checks one
/// record per sidecar read; [`poll_many`](Self::poll_many) a whole read window of them.
///
/// If the segment is deleted and a new one is created under the same name, the follower
/// notices (the path then names another file than the one it holds open) and follows the
/// new file from its start offset: [`position`](Self::position) goes back. It never
/// mixes the two files: it reads a file only under an end published for that very file.
pub struct Follower<B: SegmentIo> {
    reader: Reader<B>,
    flushed: FlushedOffset,
    /// The segment file `reader` reads, held open so its inode number cannot be reused
    /// while we compare it with what the path names.
    _pinned: File,
    target: Target,
    watch: Watch,
    pos: u64,
    /// Where the records from `pos`, read and checked, end.
    checked_next: Option<u64>,
    /// The sidecar was read (and was ours) after the last record was read: that read is the
    /// next record's "before" read, so `ready` need not read it again.
    fresh: bool,
}

/// The segment file a follower reads.
#[derive(Debug)]
struct Target {
    path: PathBuf,
    id: FileId,
    size: u64,
    start_offset: u64,
}

/// What a follower knows of the sidecar.
#[derive(Debug)]
struct Watch {
    path: PathBuf,
    /// The sidecar and which file it was when opened.
    file: Option<(File, FileId)>,
    published: Option<Published>,
    /// The sidecar was replaced: the next one read counts as a cut to the start offset, as
    /// nothing says which cuts came in between.
    lost: bool,
    wake: Wake,
}

impl<B: OpenSegment> Follower<B> {
    /// Follows the segment at `path`, whose records start at `start_offset`, from its first
    /// record.
    pub fn open(path: impl AsRef<Path>, start_offset: u64) -> Result<Self> {
        let path = path.as_ref();
        let (pinned, id, io) = open_pinned::<B>(path)?;
        check_start_offset(path, io.size(), start_offset)?;
        let flushed = FlushedOffset::new(start_offset, start_offset);
        let mut follower = Self {
            target: Target { path: path.to_path_buf(), id, size: io.size(), start_offset },
            reader: Reader::live(Arc::new(io), flushed.clone()),
            flushed,
            _pinned: pinned,
            watch: Watch::new(sidecar_path(path), false),
            pos: start_offset,
            checked_next: None,
            fresh: false,
        };
        follower.refresh()?;
        Ok(follower)
    }

    /// The next durable record, or `Ok(None)` at once if there is none yet.
    ///
    /// Costs a read of the sidecar per record (the check after reading it). To follow a
    /// busy segment, [`poll_many`](Self::poll_many) checks a whole read window of records
    /// against one.
    pub fn poll(&mut self) -> Result<Option<Record<'_>>> {
        Ok(self.poll_up_to(1)?.next())
    }

    /// The durable records the read window holds from the position on (up to 64 KiB of
    /// them, 1 MiB under O_DIRECT), checked against one pair of sidecar reads, before and
    /// after reading them; empty at once if there is none yet. See [`Polled`] for what it
    /// guarantees: the same as [`poll`](Self::poll) gives for each record, at the time of
    /// the call.
    pub fn poll_many(&mut self) -> Result<Polled<'_>> {
        self.poll_up_to(usize::MAX)
    }

    /// The next durable record, waiting up to `timeout` for one; `Ok(None)` on timeout.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<Record<'_>>> {
        Ok(self.wait_up_to(1, timeout)?.next())
    }

    /// [`poll_many`](Self::poll_many), waiting up to `timeout` for a record; empty on
    /// timeout.
    pub fn wait_many(&mut self, timeout: Duration) -> Result<Polled<'_>> {
        self.wait_up_to(usize::MAX, timeout)
    }

    fn poll_up_to(&mut self, max: usize) -> Result<Polled<'_>> {
        loop {
            if !self.ready()? {
                return Ok(Polled::new(&[], &mut self.pos));
            }
            if self.read_checked(max)? {
                return self.take();
            }
        }
    }

    fn wait_up_to(&mut self, max: usize, timeout: Duration) -> Result<Polled<'_>> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.ready()? {
                if self.read_checked(max)? {
                    return self.take();
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Polled::new(&[], &mut self.pos));
            }
            self.watch.sleep(left.min(MAX_QUIET));
        }
    }

    /// True if a record is ready to read. Looks at the sidecar before every record, not
    /// only when caught up: a truncation may have cut bytes this follower's read window
    /// still holds, and the sidecar is where it learns so (one small read; the look after
    /// the previous record counts). When caught up, or when the sidecar speaks for another
    /// file, also looks whether either file was replaced.
    fn ready(&mut self) -> Result<bool> {
        if std::mem::take(&mut self.fresh) && self.pos < self.flushed.load() {
            return Ok(true);
        }
        if self.refresh()? && self.pos < self.flushed.load() {
            return Ok(true);
        }
        if self.target.replaced()? {
            self.reopen()?;
        } else if self.watch.replaced()? {
            // Deleted and made again: what happened in between is unknown.
            self.watch = Watch::new(self.watch.path.clone(), true);
        } else {
            return Ok(false);
        }
        Ok(self.refresh()? && self.pos < self.flushed.load())
    }

    /// Follows the file the path names now, from its start offset.
    fn reopen(&mut self) -> Result<()> {
        let Target { path, start_offset, .. } = &self.target;
        let (path, start) = (path.clone(), *start_offset);
        let (pinned, id, io) = open_pinned::<B>(&path)?;
        check_start_offset(&path, io.size(), start)?;
        self.flushed = FlushedOffset::new(start, start);
        self.target = Target { path, id, size: io.size(), start_offset: start };
        self.reader = Reader::live(Arc::new(io), self.flushed.clone());
        self._pinned = pinned;
        self.pos = start;
        self.fresh = false;
        self.watch = Watch::new(self.watch.path.clone(), false);
        Ok(())
    }
}

impl<B: SegmentIo> Follower<B> {
    /// Where the next record is expected.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The durable end the writer last published.
    pub fn durable_end(&self) -> u64 {
        self.flushed.load()
    }

    fn refresh(&mut self) -> Result<bool> {
        self.watch.refresh(&self.target, &self.flushed, self.pos)
    }

    /// Reads and checks up to `max` records from the position, seqlock-style: the sidecar
    /// read before (in `ready`) and the one after must both be intact, speak for this file,
    /// and show the same generation. The writer publishes a cut there, durably, before it
    /// changes a byte, so an unchanged generation proves that no byte read was cut; and
    /// every byte read lay below an end published under that generation. Returns false if a
    /// cut (or a new file) came between (read again), and `Truncated` if the cut went below
    /// the position.
    fn read_checked(&mut self, max: usize) -> Result<bool> {
        let before = self.watch.generation();
        let read = self.reader.verify_run(self.pos, max);
        if !self.refresh()? || self.watch.generation() != before {
            return Ok(false);
        }
        self.checked_next = Some(read?);
        self.fresh = true;
        Ok(true)
    }

    /// The records `read_checked` checked, from the read window the check filled: the very
    /// bytes checked, with no second backend call. (A follower's reader copies even from a
    /// mapping: it cannot pin bytes against a writer in another process.)
    fn take(&mut self) -> Result<Polled<'_>> {
        let (at, end) = (self.pos, self.checked_next.take().unwrap_or(self.pos));
        match self.reader.cached(at, end) {
            Some(bytes) => Ok(Polled::new(bytes, &mut self.pos)),
            None => {
                let e = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "records left the read window");
                Err(io_error(&self.target.path, "reading record", at, e))
            }
        }
    }
}

impl Target {
    /// True if the path now names another file (a new segment made under the same name).
    fn replaced(&self) -> Result<bool> {
        match path_id(&self.path) {
            Ok(now) => Ok(now != self.id),
            // Deleted and not (yet) made again: the file we hold is still the segment.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&self.path, "looking up the segment", 0, e)),
        }
    }
}

impl Watch {
    fn new(path: PathBuf, lost: bool) -> Self {
        Self { path, file: None, published: None, lost, wake: Wake::default() }
    }

    fn generation(&self) -> Option<u32> {
        self.published.map(|p| p.generation)
    }

    /// True if the sidecar we hold is no longer the one at its path.
    fn replaced(&self) -> Result<bool> {
        let Some((_, id)) = &self.file else { return Ok(false) };
        match path_id(&self.path) {
            Ok(now) => Ok(now != *id),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(io_error(&self.path, "looking up the sidecar", 0, e)),
        }
    }

    /// Reads the sidecar and moves `flushed` to what it says, for a follower at `pos` of
    /// `target`. True if the sidecar is intact and speaks for `target`; false (changing
    /// nothing) if it is missing, torn mid-write, another file's, or nonsense.
    fn refresh(&mut self, target: &Target, flushed: &FlushedOffset, pos: u64) -> Result<bool> {
        if self.file.is_none() {
            match File::open(&self.path).and_then(|f| Ok((file_id(&f)?, f))) {
                Ok((id, f)) => {
                    self.wake = Wake::watch(&self.path);
                    self.file = Some((f, id));
                }
                // No writer has published anything yet.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(io_error(&self.path, "opening the sidecar", 0, e)),
            }
        }
        let Some((file, _)) = &self.file else { return Ok(false) };
        let read = read_sidecar(file).map_err(|e| io_error(&self.path, "reading the sidecar", 0, e))?;
        let published = match read {
            Some(p) if p.owner == Owner::of(target.id) && p.end <= target.size => p,
            _ => return Ok(false),
        };
        let missed = match self.published {
            Some(old) if old.generation != published.generation => Some(old.generation),
            _ => None,
        };
        if missed.is_some() || self.lost {
            // The end went back since we looked: find how far, from the cut entries (or, if
            // the sidecar was rewritten from scratch, assume the worst: the start).
            let cuts = match missed {
                Some(from) if !self.lost => lowest_cut(file, from, published.generation)
                    .map_err(|e| io_error(&self.path, "reading the sidecar", 0, e))?,
                _ => None,
            };
            let cut = cuts.unwrap_or(target.start_offset).min(published.end);
            flushed.cut(cut);
            if pos > cut {
                return Err(Error::Truncated { path: target.path.clone(), offset: pos, truncated_to: cut });
            }
        }
        self.published = Some(published);
        self.lost = false;
        flushed.publish(published.end);
        Ok(true)
    }

    /// Sleeps until the sidecar changes or `max` passes.
    fn sleep(&mut self, max: Duration) {
        self.wake.sleep(max);
    }
}

/// Opens the segment at `path` with `B`, and a plain handle on the same file to know it by.
fn open_pinned<B: OpenSegment>(path: &Path) -> Result<(File, FileId, B)> {
    let err = |e| open_error(path, "opening segment", e);
    for _ in 0..3 {
        let pinned = File::open(path).map_err(err)?;
        let id = file_id(&pinned).map_err(err)?;
        let io = B::open_reader(path).map_err(err)?;
        // `io` opened the file `pinned` holds unless the path was replaced in between; as
        // `pinned` keeps that inode alive, its number cannot name another file meanwhile.
        if path_id(path).map_err(err)? == id {
            return Ok((pinned, id, io));
        }
    }
    Err(err(std::io::Error::other("the file kept being replaced while it was opened")))
}
