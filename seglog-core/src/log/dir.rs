//! The directory seam: the few operations a log makes on its directory, so the same log
//! runs on files ([`FsDir`]) and on a simulated directory whose entries can be lost in a
//! crash (the testkit's).

use std::fmt::Debug;
use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::fs::lock_exclusive;
use crate::io::{OpenSegment, Preallocation, SegmentIo};

/// A directory holding one log: segment files, small metadata files and a lock.
///
/// Directory operations (create, rename, remove) need not be durable until
/// [`sync`](LogDir::sync) returns: the log syncs before anything depends on them, and the
/// testkit's simulated directory loses any that were not synced in a crash.
pub trait LogDir: Send + Sync + Debug + 'static {
    /// The segment backend.
    type Io: SegmentIo;
    /// Held while the log is open; dropping it releases the directory.
    type Lock: Send + Sync + Debug;

    /// The directory's path, for errors.
    fn path(&self) -> &Path;

    /// Must take the directory's exclusive writer lock, or fail with `WouldBlock` if
    /// another writer (in this process or another) holds it.
    fn lock(&self) -> io::Result<Self::Lock>;

    /// Must list the names of the regular files in the directory, in any order.
    fn list(&self) -> io::Result<Vec<String>>;

    /// Must create `name` as a new segment of `size` zero bytes, its contents durable
    /// (its directory entry need not be), holding its writer lock; `AlreadyExists` if it exists.
    fn create(&self, name: &str, size: u64, prealloc: Preallocation) -> io::Result<Self::Io>;

    /// Must open segment `name` for writing, holding its writer lock.
    fn open_writer(&self, name: &str) -> io::Result<Self::Io>;

    /// Must open segment `name` read-only.
    fn open_reader(&self, name: &str) -> io::Result<Self::Io>;

    /// Must return the whole contents of the small file `name`; `NotFound` if absent.
    fn read_file(&self, name: &str) -> io::Result<Vec<u8>>;

    /// Must create (or replace) the small file `name` holding `bytes`, its contents durable.
    fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()>;

    /// Must overwrite the start of the existing small file `name` with `bytes`, in place
    /// (one write, readers of the file see it at once); with `durable`, its contents must be
    /// durable before this returns (`fdatasync`).
    fn update_file(&self, name: &str, bytes: &[u8], durable: bool) -> io::Result<()>;

    /// Must rename `from` to `to`, replacing `to` atomically if it exists.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;

    /// Must remove `name`.
    fn remove(&self, name: &str) -> io::Result<()>;

    /// Must make every earlier create, rename and remove durable (`fsync` of the directory).
    fn sync(&self) -> io::Result<()>;
}

/// A log directory on the file system, with segments of backend `B`.
#[derive(Debug)]
pub struct FsDir<B> {
    path: PathBuf,
    /// The small file last updated in place, kept open: the log updates `log.flushed` after
    /// every sync.
    updated: Mutex<Option<(String, File)>>,
    _backend: PhantomData<fn() -> B>,
}

impl<B: OpenSegment> FsDir<B> {
    /// The directory at `path`, created (and its parent synced) if absent.
    pub fn new(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.is_dir() {
            std::fs::create_dir_all(&path)?;
            crate::fs::sync_parent_dir(&path)?;
        }
        Ok(Self { path, updated: Mutex::new(None), _backend: PhantomData })
    }

    /// The directory at `path`, which must exist; nothing is created.
    pub fn existing(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "not a directory"));
        }
        Ok(Self { path, updated: Mutex::new(None), _backend: PhantomData })
    }
}

impl<B> FsDir<B> {
    /// Closes the kept file if it is `name`, which is about to be replaced or removed.
    fn forget(&self, name: &str) {
        let mut updated = self.updated.lock().unwrap_or_else(|e| e.into_inner());
        if updated.as_ref().is_some_and(|(n, _)| n == name) {
            *updated = None;
        }
    }
}

impl<B: OpenSegment> LogDir for FsDir<B> {
    type Io = B;
    type Lock = File;

    fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> io::Result<File> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.path.join("LOCK"))?;
        lock_exclusive(&file).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                io::Error::new(io::ErrorKind::WouldBlock, "the log directory is locked by another writer")
            } else {
                e
            }
        })?;
        Ok(file)
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.path)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(names)
    }

    fn create(&self, name: &str, size: u64, prealloc: Preallocation) -> io::Result<B> {
        B::create(&self.path.join(name), size, prealloc)
    }

    fn open_writer(&self, name: &str) -> io::Result<B> {
        B::open_writer(&self.path.join(name))
    }

    fn open_reader(&self, name: &str) -> io::Result<B> {
        B::open_reader(&self.path.join(name))
    }

    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.path.join(name))
    }

    fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        self.forget(name);
        let mut f = File::create(self.path.join(name))?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn update_file(&self, name: &str, bytes: &[u8], durable: bool) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut updated = self.updated.lock().unwrap_or_else(|e| e.into_inner());
        let file = match &*updated {
            Some((n, f)) if n == name => f,
            _ => {
                let f = std::fs::OpenOptions::new().write(true).open(self.path.join(name))?;
                &updated.insert((name.to_string(), f)).1
            }
        };
        file.write_all_at(bytes, 0)?;
        if durable { file.sync_data() } else { Ok(()) }
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.forget(from);
        self.forget(to);
        std::fs::rename(self.path.join(from), self.path.join(to))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.forget(name);
        std::fs::remove_file(self.path.join(name))
    }

    fn sync(&self) -> io::Result<()> {
        File::open(&self.path)?.sync_all()
    }
}
