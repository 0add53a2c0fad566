#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(not(target_os = "linux"))]
compile_error!("seglog-direct needs Linux: it uses O_DIRECT and statx(STATX_DIOALIGN)");

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, OFlags, StatxFlags};
use seglog_core::{OpenSegment, Preallocation, SegmentIo, fs};

/// The alignment used where the kernel does not report one.
pub const DEFAULT_ALIGNMENT: usize = 4096;

/// Where a [`DirectIo`]'s alignment came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlignmentSource {
    /// Reported by `statx(STATX_DIOALIGN)` for this file.
    Statx,
    /// The kernel or filesystem did not report one; [`DEFAULT_ALIGNMENT`] is used.
    Default,
}

/// A segment file opened with `O_DIRECT`.
#[derive(Debug)]
pub struct DirectIo {
    direct: File,
    buffered: File,
    size: u64,
    align: usize,
    source: AlignmentSource,
    path: PathBuf,
}

impl DirectIo {
    fn new(direct: File, path: &Path, writable: bool) -> io::Result<Self> {
        let size = fs::file_size(&direct)?;
        let (align, source) = dio_alignment(&direct)?;
        let buffered = OpenOptions::new().read(true).write(writable).open(path)?;
        Ok(Self { direct, buffered, size, align, source, path: path.to_path_buf() })
    }

    /// A buffered handle on the same file, for the application's own positioned I/O on
    /// its header region.
    pub fn file(&self) -> &File {
        &self.buffered
    }

    /// Whether the alignment was reported by the kernel or assumed.
    pub fn alignment_source(&self) -> AlignmentSource {
        self.source
    }
}

/// The alignment direct I/O needs on `file`: the larger of the offset and memory
/// alignments `statx` reports, or [`DEFAULT_ALIGNMENT`].
fn dio_alignment(file: &File) -> io::Result<(usize, AlignmentSource)> {
    match rustix::fs::statx(file, "", AtFlags::EMPTY_PATH, StatxFlags::DIOALIGN) {
        Ok(st)
            if StatxFlags::from_bits_retain(st.stx_mask).contains(StatxFlags::DIOALIGN)
                && st.stx_dio_offset_align != 0 =>
        {
            let align = st.stx_dio_offset_align.max(st.stx_dio_mem_align) as usize;
            if !align.is_power_of_two() {
                return Err(io::Error::other(format!(
                    "statx reports a direct I/O alignment of {align}, not a power of two"
                )));
            }
            Ok((align, AlignmentSource::Statx))
        }
        Ok(_) => Ok((DEFAULT_ALIGNMENT, AlignmentSource::Default)),
        Err(e) if e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::INVAL => {
            Ok((DEFAULT_ALIGNMENT, AlignmentSource::Default))
        }
        Err(e) => Err(e.into()),
    }
}

/// Turns the open's `EINVAL` into an error that says the filesystem refuses `O_DIRECT`.
///
/// Whether a filesystem takes `O_DIRECT` is found by trying the open, never from its name:
/// tmpfs, long the usual example of a refusal, accepts it since Linux 6.6.
fn explain(e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "the filesystem refuses O_DIRECT (ramfs and some FUSE or overlay setups do); use the file or mmap backend there",
        )
    } else {
        e
    }
}

const DIRECT: i32 = OFlags::DIRECT.bits() as i32;

impl AsRef<File> for DirectIo {
    fn as_ref(&self) -> &File {
        &self.buffered
    }
}

impl SegmentIo for DirectIo {
    fn size(&self) -> u64 {
        self.size
    }

    fn alignment(&self) -> usize {
        self.align
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        fs::read_exact_at(&self.direct, offset, buf)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        fs::write_all_at(&self.direct, offset, data)
    }

    fn sync(&self) -> io::Result<()> {
        self.direct.sync_data()
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn next_data(&self, offset: u64) -> io::Result<Option<std::ops::Range<u64>>> {
        fs::next_data(&self.direct, offset, self.size)
    }

    fn uncache(&self, range: std::ops::Range<u64>) {
        // Reads here bypass the page cache, but `next_data` still counts what others cached.
        fs::uncache(&self.direct, range)
    }
}

impl OpenSegment for DirectIo {
    fn create(path: &Path, size: u64, prealloc: Preallocation) -> io::Result<Self> {
        let file = fs::create_segment_file(path, size, DIRECT, prealloc).map_err(explain)?;
        Self::new(file, path, true).inspect_err(|_| {
            let _ = std::fs::remove_file(path);
        })
    }

    fn open_writer(path: &Path) -> io::Result<Self> {
        Self::new(fs::open_segment_file(path, DIRECT).map_err(explain)?, path, true)
    }

    fn open_reader(path: &Path) -> io::Result<Self> {
        Self::new(fs::open_segment_file_readonly(path, DIRECT).map_err(explain)?, path, false)
    }
}
