//! Following a segment that a writer in another process appends to.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify;

use crate::error::{Error, Result, check_start_offset, open_error};
use crate::flushed::FlushedOffset;
use crate::io::{OpenSegment, SegmentIo};
use crate::reader::{ReadHint, Reader, Record};
use crate::sidecar::{Published, lowest_cut, read_sidecar, sidecar_path};
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
/// than had been published (media damage), the follower returns [`Error::Truncated`].
pub struct Follower<B: SegmentIo> {
    reader: Reader<B>,
    flushed: FlushedOffset,
    sidecar_path: PathBuf,
    sidecar: Option<File>,
    published: Option<Published>,
    pos: u64,
    wake: Option<OwnedFd>,
}

impl<B: OpenSegment> Follower<B> {
    /// Follows the segment at `path`, whose records start at `start_offset`, from its first
    /// record.
    pub fn open(path: impl AsRef<Path>, start_offset: u64) -> Result<Self> {
        let path = path.as_ref();
        let io = B::open_reader(path).map_err(|e| open_error(path, "opening segment", e))?;
        check_start_offset(path, io.size(), start_offset)?;
        let flushed = FlushedOffset::new(start_offset, start_offset);
        let mut follower = Self {
            reader: Reader::live(Arc::new(io), flushed.clone()),
            flushed,
            sidecar_path: sidecar_path(path),
            sidecar: None,
            published: None,
            pos: start_offset,
            wake: None,
        };
        follower.refresh()?;
        Ok(follower)
    }
}

impl<B: SegmentIo> Follower<B> {
    /// The next durable record, or `Ok(None)` at once if there is none yet.
    pub fn poll(&mut self) -> Result<Option<Record<'_>>> {
        if !self.ready()? {
            return Ok(None);
        }
        self.read_next().map(Some)
    }

    /// The next durable record, waiting up to `timeout` for one; `Ok(None)` on timeout.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<Record<'_>>> {
        let deadline = Instant::now() + timeout;
        while !self.ready()? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.sleep(left.min(MAX_QUIET));
        }
        self.read_next().map(Some)
    }

    /// Where the next record is expected.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The durable end the writer last published.
    pub fn durable_end(&self) -> u64 {
        self.flushed.load()
    }

    /// True if a record is ready to read. Looks at the sidecar every time, not only when
    /// caught up: a truncation may have cut bytes this follower's read window still holds,
    /// and the sidecar is where it learns so (one 16-byte read).
    fn ready(&mut self) -> Result<bool> {
        self.refresh()?;
        Ok(self.pos < self.flushed.load())
    }

    fn read_next(&mut self) -> Result<Record<'_>> {
        let next = match self.reader.read_record(self.pos, ReadHint::Sequential).map(|r| r.next_offset()) {
            Ok(next) => next,
            Err(e @ Error::Corrupt { .. }) => {
                // The writer may have cut these bytes since we looked: say so if it did.
                self.refresh()?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let at = self.pos;
        self.pos = next;
        self.reader.read_record(at, ReadHint::Sequential)
    }

    /// Reads the sidecar and moves the visible end to what it says.
    fn refresh(&mut self) -> Result<()> {
        if self.sidecar.is_none() {
            match File::open(&self.sidecar_path) {
                Ok(f) => {
                    self.wake = watch(&self.sidecar_path);
                    self.sidecar = Some(f);
                }
                // No writer has published anything yet.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io_error(&self.sidecar_path, "opening the sidecar", 0, e)),
            }
        }
        let Some(file) = &self.sidecar else { return Ok(()) };
        let published =
            match read_sidecar(file).map_err(|e| io_error(&self.sidecar_path, "reading the sidecar", 0, e))? {
                Some(p) if p.end <= self.reader.io().size() => p,
                // Torn mid-write, or nonsense: keep what we had and look again later.
                _ => return Ok(()),
            };
        if let Some(old) = self.published
            && old.generation != published.generation
        {
            // The end went back since we looked: find how far, from the cut entries (or, if
            // the sidecar was rewritten from scratch, assume the worst: the start).
            let cuts = lowest_cut(file, old.generation, published.generation)
                .map_err(|e| io_error(&self.sidecar_path, "reading the sidecar", 0, e))?;
            let cut = cuts.unwrap_or(self.reader.start_offset()).min(published.end);
            self.flushed.cut(cut);
            if self.pos > cut {
                let path = self.reader.io().path().to_path_buf();
                return Err(Error::Truncated { path, offset: self.pos, truncated_to: cut });
            }
        }
        self.published = Some(published);
        self.flushed.publish(published.end);
        Ok(())
    }

    /// Sleeps until the sidecar changes or `max` passes.
    fn sleep(&mut self, max: Duration) {
        let Some(fd) = &self.wake else {
            std::thread::sleep(max.min(Duration::from_millis(1)));
            return;
        };
        let timeout = Timespec { tv_sec: max.as_secs() as i64, tv_nsec: i64::from(max.subsec_nanos()) };
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        if rustix::event::poll(&mut fds, Some(&timeout)).is_ok_and(|n| n > 0) {
            // Drain the queued events; what they say does not matter, the sidecar does.
            let mut buf = [0u8; 4096];
            while rustix::io::read(fd, &mut buf).is_ok_and(|n| n > 0) {}
        }
    }
}

/// An inotify descriptor watching `path` for modification, or `None` where inotify is not
/// available (the follower then polls).
fn watch(path: &Path) -> Option<OwnedFd> {
    let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC).ok()?;
    let events = inotify::WatchFlags::MODIFY | inotify::WatchFlags::ATTRIB | inotify::WatchFlags::DELETE_SELF;
    inotify::add_watch(&fd, path, events).ok()?;
    Some(fd)
}
