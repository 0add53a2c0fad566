//! How the suites reach a backend.

use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use seglog_core::{OpenSegment, SegmentIo};

use crate::mem::MemIo;

/// Builds fresh segments of one backend for the suites, and reaches under it to read
/// and damage the stored bytes as a crash or a failing disk would.
///
/// # The contract
///
/// The checks rely on these, and a harness must meet them:
///
/// - Every handle it returns for a segment sees the same bytes: `read_at` through any
///   handle must see writes made through every other handle of the segment (a writer's,
///   a reader's, one opened after a reopen), as two file descriptors of one file do.
/// - A writer dropped without a sync hands its buffered writes to the backend, but the
///   checks never count on those unsynced writes: they may or may not survive a reopen or
///   a [`power_loss`](Self::power_loss).
/// - [`contents`](Self::contents) and [`overwrite`](Self::overwrite) reach the stored
///   bytes behind the backend's back, as a crash or a failing disk would; an `overwrite`
///   is durable at once and seen by the handles opened after it.
/// - [`power_loss`](Self::power_loss), where the harness can simulate one, keeps exactly
///   what the backend's own successful `sync`s made durable (plus any subset of later
///   writes) and loses the rest. A harness that cannot leaves the default, which reports
///   `Unsupported`: the checks that need it then print that they were skipped.
pub trait Harness {
    /// The backend under test.
    type Io: SegmentIo;

    /// Creates a new zeroed segment of `size` bytes (replacing any earlier one) and
    /// returns a handle for its writer.
    fn create(&mut self, size: u64) -> io::Result<Self::Io>;

    /// A handle for a new writer of the existing segment; earlier writers are dropped.
    fn open_writer(&mut self) -> io::Result<Self::Io>;

    /// A read-only handle on the existing segment.
    fn open_reader(&mut self) -> io::Result<Self::Io>;

    /// The stored bytes, as the next open would find them.
    fn contents(&mut self) -> Vec<u8>;

    /// Overwrites stored bytes behind the backend's back.
    fn overwrite(&mut self, offset: u64, bytes: &[u8]);

    /// Cuts the power under the segment: afterwards the stored bytes, as the next open and
    /// [`contents`](Self::contents) find them, are what the backend's successful `sync`s
    /// made durable, and any unsynced write may be lost. The caller drops every handle of
    /// the segment first. This is how the suites and the crash explorer check the backend's
    /// own durability, not only core's use of `sync`.
    ///
    /// The default fails with `io::ErrorKind::Unsupported`: a harness over real files
    /// cannot lose the page cache (see [`durability`](crate::durability) for what checks
    /// those instead).
    fn power_loss(&mut self) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "this harness cannot simulate a power loss"))
    }
}

/// Harness for [`MemIo`]; it simulates a power loss with [`MemIo::power_loss`].
#[derive(Debug)]
pub struct MemHarness {
    io: Option<MemIo>,
    align: usize,
}

impl Default for MemHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl MemHarness {
    /// A harness with no segment yet.
    pub fn new() -> Self {
        Self { io: None, align: 1 }
    }

    /// A harness whose segments demand `align`-aligned I/O, like `O_DIRECT`.
    pub fn with_alignment(align: usize) -> Self {
        Self { io: None, align }
    }

    fn io(&self) -> io::Result<MemIo> {
        self.io.clone().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no segment created"))
    }
}

impl Harness for MemHarness {
    type Io = MemIo;

    fn create(&mut self, size: u64) -> io::Result<MemIo> {
        let io = MemIo::with_alignment(size, self.align);
        self.io = Some(io.clone());
        Ok(io)
    }

    fn open_writer(&mut self) -> io::Result<MemIo> {
        self.io()
    }

    fn open_reader(&mut self) -> io::Result<MemIo> {
        self.io()
    }

    fn contents(&mut self) -> Vec<u8> {
        self.io.as_ref().map(MemIo::contents).unwrap_or_default()
    }

    fn overwrite(&mut self, offset: u64, bytes: &[u8]) {
        // Behind the backend's back: no alignment rules apply.
        if let Some(io) = &self.io {
            io.overwrite(offset, bytes);
        }
    }

    fn power_loss(&mut self) -> io::Result<()> {
        self.io()?.power_loss();
        Ok(())
    }
}

/// Harness for any backend whose segments are files, in a fresh temporary directory.
///
/// Put the directory on a real filesystem (the target directory, say), not tmpfs:
/// O_DIRECT refuses tmpfs.
#[derive(Debug)]
pub struct FileHarness<B> {
    dir: tempfile::TempDir,
    path: PathBuf,
    _backend: PhantomData<fn() -> B>,
}

impl<B: OpenSegment> FileHarness<B> {
    /// A harness whose segments live in a new temporary directory under `parent`.
    pub fn new_in(parent: impl AsRef<Path>) -> Self {
        let parent = parent.as_ref();
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        let dir = tempfile::Builder::new()
            .prefix("seglog-test-")
            .tempdir_in(parent)
            .unwrap_or_else(|e| panic!("creating a temporary directory in {}: {e}", parent.display()));
        let path = dir.path().join("segment.log");
        Self { dir, path, _backend: PhantomData }
    }

    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl<B: OpenSegment> Harness for FileHarness<B> {
    type Io = B;

    fn create(&mut self, size: u64) -> io::Result<B> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        B::create(&self.path, size, seglog_core::Preallocation::Fallocate)
    }

    fn open_writer(&mut self) -> io::Result<B> {
        B::open_writer(&self.path)
    }

    fn open_reader(&mut self) -> io::Result<B> {
        B::open_reader(&self.path)
    }

    fn contents(&mut self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap_or_else(|e| panic!("reading {}: {e}", self.path.display()))
    }

    fn overwrite(&mut self, offset: u64, bytes: &[u8]) {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.path.display()));
        file.write_all_at(bytes, offset).unwrap_or_else(|e| panic!("writing {}: {e}", self.path.display()));
        file.sync_data().unwrap_or_else(|e| panic!("syncing {}: {e}", self.path.display()));
    }
}
