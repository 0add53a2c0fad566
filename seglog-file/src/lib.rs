#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use seglog_core::{OpenSegment, Preallocation, SegmentIo, fs};

/// A segment file read and written with `pread`/`pwrite`.
#[derive(Debug)]
pub struct FileIo {
    file: File,
    size: u64,
    path: PathBuf,
}

impl FileIo {
    fn new(file: File, path: &Path) -> io::Result<Self> {
        let size = fs::file_size(&file)?;
        Ok(Self { file, size, path: path.to_path_buf() })
    }

    /// The open file, for the application's own positioned I/O on its header region.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl AsRef<File> for FileIo {
    fn as_ref(&self) -> &File {
        &self.file
    }
}

impl SegmentIo for FileIo {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        fs::read_exact_at(&self.file, offset, buf)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        fs::write_all_at(&self.file, offset, data)
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn next_data(&self, offset: u64) -> io::Result<Option<std::ops::Range<u64>>> {
        fs::next_data(&self.file, offset, self.size)
    }

    fn cached(&self, range: std::ops::Range<u64>) -> seglog_core::Cached {
        fs::cached(&self.file, range)
    }

    fn uncache(&self, range: std::ops::Range<u64>) {
        fs::uncache(&self.file, range)
    }
}

impl OpenSegment for FileIo {
    fn create(path: &Path, size: u64, prealloc: Preallocation) -> io::Result<Self> {
        Self::new(fs::create_segment_file(path, size, 0, prealloc)?, path)
    }

    fn open_writer(path: &Path) -> io::Result<Self> {
        Self::new(fs::open_segment_file(path, 0)?, path)
    }

    fn open_reader(path: &Path) -> io::Result<Self> {
        Self::new(fs::open_segment_file_readonly(path, 0)?, path)
    }
}
