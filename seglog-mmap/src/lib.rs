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
    // SAFETY: the mapping is read-only and shared; `len` is the file's length now (the
    // caller read it from its metadata), and seglog never shrinks a segment file.
    // Slices of it reach safe code only as the records of a reader made by
    // `Writer::reader` on this same handle; everything else (recovery, truncation's walk,
    // closed readers, followers, `read_at`) reads through `pread`. Each such record pins
    // its bytes for its whole life (released by its `Drop`; `Record::data` borrows from
    // the record), and the only in-place change seglog makes to bytes a reader may see,
    // `Writer::truncate`, bumps the generation and then waits until no pin covers the cut
    // before writing (seglog-core/src/flushed.rs states the protocol, tests/loom.rs
    // model-checks it). Appends write only past every reader's visible end. Before
    // pinning, core reads a record's bytes optimistically and discards them if the
    // generation moved meanwhile (a seqlock read): that read may overlap a truncation's
    // `pwrite`, the kernel changing file-backed memory as with any shared mapping, and
    // only a record whose bytes the pin then holds still is handed out. No other seglog
    // writer can change the file meanwhile: this handle, which every such reader shares,
    // holds the exclusive writer lock until the last of them is dropped. Changes by
    // programs that ignore the lock, or a truncation of the file by another process
    // (SIGBUS on access), are outside this contract, as for every memory map.
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
        // Through the file, not the mapping: an I/O error is then an error, where a copy from
        // the mapping would take a SIGBUS and kill the process.
        fs::read_exact_at(&self.file, offset, buf)
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

    fn cached(&self, range: std::ops::Range<u64>) -> seglog_core::Cached {
        fs::cached(&self.file, range)
    }

    fn uncache(&self, range: std::ops::Range<u64>) {
        fs::uncache(&self.file, range)
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
