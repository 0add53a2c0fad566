//! A log directory whose segments' syncs can be made to fail, over any real backend.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use seglog_core::{LogDir, Preallocation, SegmentIo};

/// Wraps a directory; the syncs of every segment it opens can be broken at once.
#[derive(Debug)]
pub struct FaultyDir<D: LogDir> {
    inner: D,
    broken: Arc<AtomicBool>,
}

impl<D: LogDir> FaultyDir<D> {
    pub fn new(inner: D) -> (Self, Breaker) {
        let broken = Arc::new(AtomicBool::new(false));
        (Self { inner, broken: Arc::clone(&broken) }, Breaker { broken })
    }

    fn track(&self, io: D::Io) -> Breakable<D::Io> {
        Breakable { inner: io, broken: Arc::clone(&self.broken) }
    }
}

/// Fails every later sync of every segment of its directory.
pub struct Breaker {
    broken: Arc<AtomicBool>,
}

impl Breaker {
    pub fn break_syncs(&self) {
        self.broken.store(true, Ordering::SeqCst);
    }
}

/// A segment whose syncs fail once its directory is broken (its writes still land, as
/// they reach the page cache before a real `fsync` fails).
#[derive(Debug)]
pub struct Breakable<B> {
    inner: B,
    broken: Arc<AtomicBool>,
}

impl<B: SegmentIo> SegmentIo for Breakable<B> {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn alignment(&self) -> usize {
        self.inner.alignment()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.inner.write_at(offset, data)
    }
    fn sync(&self) -> io::Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected sync failure"));
        }
        self.inner.sync()
    }
    fn mapped(&self) -> Option<&[u8]> {
        self.inner.mapped()
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}

impl<D: LogDir> LogDir for FaultyDir<D>
where
    D::Io: Send + Sync,
{
    type Io = Breakable<D::Io>;
    type Lock = D::Lock;

    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn lock(&self) -> io::Result<Self::Lock> {
        self.inner.lock()
    }
    fn list(&self) -> io::Result<Vec<String>> {
        self.inner.list()
    }
    fn create(&self, name: &str, size: u64, prealloc: Preallocation) -> io::Result<Self::Io> {
        Ok(self.track(self.inner.create(name, size, prealloc)?))
    }
    fn open_writer(&self, name: &str) -> io::Result<Self::Io> {
        Ok(self.track(self.inner.open_writer(name)?))
    }
    fn open_reader(&self, name: &str) -> io::Result<Self::Io> {
        Ok(self.track(self.inner.open_reader(name)?))
    }
    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        self.inner.read_file(name)
    }
    fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_file(name, bytes)
    }
    fn update_file(&self, name: &str, bytes: &[u8], durable: bool) -> io::Result<()> {
        self.inner.update_file(name, bytes, durable)
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        self.inner.remove(name)
    }
    fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }
}
