#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use seglog_core::{OpenSegment, Preallocation, SegmentIo, fs};

/// A segment file mapped read-only for zero-copy reads, written with `pwrite`.
#[derive(Debug)]
pub struct MmapIo {
    file: File,
    map: Option<Mmap>,
    size: u64,
    path: PathBuf,
}

impl MmapIo {
    fn new(file: File, path: &Path) -> io::Result<Self> {
        let size = fs::file_size(&file)?;
        let map = if size == 0 { None } else { Some(map_whole(&file, size)?) };
        Ok(Self { file, map, size, path: path.to_path_buf() })
    }

    /// The open file, for the application's own positioned I/O on its header region.
    pub fn file(&self) -> &File {
        &self.file
    }
}

#[expect(unsafe_code, reason = "memmap2 cannot prove the file outlives changes by other processes")]
fn map_whole(file: &File, size: u64) -> io::Result<Mmap> {
    let len = usize::try_from(size)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "segment larger than the address space"))?;
    // SAFETY: the mapping is read-only and shared. Bytes below the flushed offset never
    // change while it lives (core writes only at or past it, and recovery erases only past
    // the valid records before any reader can see them), so slices handed to readers are
    // stable. The file is `len` bytes now (checked by the caller from its metadata);
    // segment files never shrink through seglog, and truncation by another process is
    // documented as unsupported (it would raise SIGBUS on access).
    let map = unsafe { memmap2::MmapOptions::new().len(len).map(file)? };
    Ok(map)
}

impl AsRef<File> for MmapIo {
    fn as_ref(&self) -> &File {
        &self.file
    }
}

impl SegmentIo for MmapIo {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let src = self
            .mapped()
            .and_then(|m| m.get(usize::try_from(offset).ok()?..usize::try_from(offset).ok()?.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the segment"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        fs::write_all_at(&self.file, offset, data)
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn mapped(&self) -> Option<&[u8]> {
        Some(self.map.as_deref().unwrap_or_default())
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn next_data(&self, offset: u64) -> io::Result<Option<std::ops::Range<u64>>> {
        fs::next_data(&self.file, offset, self.size)
    }
}

impl OpenSegment for MmapIo {
    fn create(path: &Path, size: u64, prealloc: Preallocation) -> io::Result<Self> {
        let file = fs::create_segment_file(path, size, 0, prealloc)?;
        Self::new(file, path).inspect_err(|_| {
            // Creation succeeded but mapping failed: leave nothing half-made.
            let _ = std::fs::remove_file(path);
        })
    }

    fn open_writer(path: &Path) -> io::Result<Self> {
        Self::new(fs::open_segment_file(path, 0)?, path)
    }

    fn open_reader(path: &Path) -> io::Result<Self> {
        Self::new(fs::open_segment_file_readonly(path, 0)?, path)
    }
}
