//! Where crash images are recovered: the simulated directory, or real files of a backend.

use std::marker::PhantomData;
use std::path::PathBuf;

use seglog_core::{FsDir, LogDir, OpenSegment, SegmentIo};

use crate::simdir::{DirImage, SimDir};

/// Where crash images are recovered: a simulated directory or real files.
pub trait LogTarget {
    /// The segment backend.
    type Io: SegmentIo;
    /// The directory type.
    type Dir: LogDir<Io = Self::Io>;
    /// The alignment workloads should write with (the backend's block size).
    fn alignment(&self) -> usize;
    /// A directory holding exactly `image`'s files, durable; replaces the previous one.
    fn materialise(&mut self, image: &DirImage) -> Self::Dir;
    /// Another handle on the directory last materialised, to reopen it.
    fn again(&mut self) -> Self::Dir;
    /// Every how many states the costly check (append, sync, reopen) runs: each costs
    /// several `fsync`s on real files.
    fn full_every(&self) -> usize {
        1
    }
}

/// Recovers images in a [`SimDir`].
#[derive(Debug)]
pub struct SimTarget {
    align: usize,
    dir: Option<SimDir>,
}

impl SimTarget {
    /// Images recovered in memory, with `align`-aligned I/O.
    pub fn new(align: usize) -> Self {
        Self { align, dir: None }
    }
}

impl LogTarget for SimTarget {
    type Io = crate::simdir::SimFile;
    type Dir = SimDir;
    fn alignment(&self) -> usize {
        self.align
    }
    fn materialise(&mut self, image: &DirImage) -> SimDir {
        let dir = SimDir::from_image(image, self.align);
        self.dir = Some(dir.clone());
        dir
    }
    fn again(&mut self) -> SimDir {
        self.dir.clone().unwrap_or_else(|| SimDir::new(self.align))
    }
}

/// Recovers images as real files of backend `B`, in a directory under `parent` (a real
/// file system: direct I/O refuses tmpfs).
#[derive(Debug)]
pub struct FsTarget<B> {
    root: tempfile::TempDir,
    align: usize,
    _backend: PhantomData<fn() -> B>,
}

impl<B: OpenSegment> FsTarget<B> {
    /// A target under `parent` whose workloads write `align`-aligned (4096 for direct I/O).
    pub fn new_in(parent: impl AsRef<std::path::Path>, align: usize) -> Self {
        std::fs::create_dir_all(parent.as_ref()).unwrap();
        let root = tempfile::Builder::new().prefix("seglog-logcrash-").tempdir_in(parent).unwrap();
        Self { root, align, _backend: PhantomData }
    }

    fn path(&self) -> PathBuf {
        self.root.path().join("log")
    }
}

impl<B: OpenSegment> LogTarget for FsTarget<B> {
    type Io = B;
    type Dir = FsDir<B>;
    fn alignment(&self) -> usize {
        self.align
    }
    fn materialise(&mut self, image: &DirImage) -> FsDir<B> {
        let path = self.path();
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        for (name, bytes) in &image.files {
            std::fs::write(path.join(name), bytes).unwrap();
        }
        FsDir::existing(&path).unwrap()
    }
    fn again(&mut self) -> FsDir<B> {
        FsDir::existing(self.path()).unwrap()
    }
    fn full_every(&self) -> usize {
        8
    }
}
