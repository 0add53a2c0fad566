//! File mechanics every file-based backend shares: creation that leaves nothing half-made,
//! pre-allocation, durable directory entries and the single-writer lock.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{AtFlags, FallocateFlags, FlockOperation, Statx, StatxFlags};

use crate::io::{AlignedBuf, Preallocation};

/// Creates `path` as a new segment of exactly `size` zero bytes, opened with `custom_flags`
/// (e.g. `O_DIRECT`), pre-allocated as `prealloc` says, durable, and exclusively locked.
///
/// Pre-allocation uses `fallocate`, falling back to `set_len` where the filesystem refuses
/// (`EOPNOTSUPP`); [`Preallocation::Zeroed`] then writes zeros over it. On any failure the
/// file is removed, so a retry does not meet `AlreadyExists`. The parent directory is
/// synced so the new name survives a crash.
///
/// The file is made without `custom_flags` and then opened again with them: a filesystem
/// that refuses a flag (ramfs refuses `O_DIRECT`) does so only after the inode exists, and
/// this way the file is known to be ours to remove. Whether a filesystem accepts a flag is
/// found by trying, never by its name. An error from that second open is returned as the
/// kernel gave it (`raw_os_error` intact), so a backend can explain it.
pub fn create_segment_file(path: &Path, size: u64, custom_flags: i32, prealloc: Preallocation) -> io::Result<File> {
    let plain = OpenOptions::new().read(true).write(true).create_new(true).open(path)?;
    let id = file_id(&plain);
    let file = match id.as_ref().map_err(copy_error).and_then(|id| reopen_as(&plain, path, custom_flags, *id)) {
        Ok(file) => file,
        Err(e) => {
            drop(plain);
            remove_created(path, id.ok());
            return Err(e);
        }
    };
    drop(plain);
    let made = lock_exclusive(&file)
        .and_then(|()| preallocate(&file, size))
        .and_then(|()| if prealloc == Preallocation::Zeroed { write_zeros(&file, size) } else { Ok(()) })
        .and_then(|()| file.sync_all())
        .and_then(|()| sync_parent_dir(path));
    match made {
        Ok(()) => Ok(file),
        Err(e) => {
            drop(file);
            remove_created(path, id.ok());
            Err(io::Error::new(e.kind(), format!("could not create segment of {size} bytes: {e}")))
        }
    }
}

/// Opens the file `plain` names again with `custom_flags`, checking that `path` still names it.
fn reopen_as(plain: &File, path: &Path, custom_flags: i32, id: FileId) -> io::Result<File> {
    if custom_flags == 0 {
        return plain.try_clone();
    }
    let file = OpenOptions::new().read(true).write(true).custom_flags(custom_flags).open(path)?;
    if file_id(&file)? != id {
        return Err(io::Error::other("the new segment file was replaced while it was being created"));
    }
    Ok(file)
}

fn copy_error(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// Removes the file at `path` that a failed create made, if `path` still names that file
/// (`id`), and makes the removal durable. Best effort: the error that matters is the one
/// that made the create fail, and a failed removal would only hide it.
pub(crate) fn remove_created(path: &Path, id: Option<FileId>) {
    if id.is_some() && path_id(path).ok() != id {
        return;
    }
    let _ = std::fs::remove_file(path);
    let _ = sync_parent_dir(path);
}

/// Which file a descriptor or path names, down to its incarnation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    /// The device, `major << 32 | minor`.
    pub(crate) dev: u64,
    /// The inode number.
    pub(crate) ino: u64,
    /// The birth time (seconds, nanoseconds), or `(0, 0)` where the filesystem keeps none.
    /// Tells a re-created file from the deleted one whose inode number it reuses, as ext4
    /// and xfs often do.
    pub(crate) born: (i64, u32),
}

const ID_MASK: StatxFlags = StatxFlags::INO.union(StatxFlags::BTIME);

impl FileId {
    fn of(st: &Statx) -> Self {
        let born = if StatxFlags::from_bits_retain(st.stx_mask).contains(StatxFlags::BTIME) {
            (st.stx_btime.tv_sec, st.stx_btime.tv_nsec)
        } else {
            (0, 0)
        };
        Self { dev: u64::from(st.stx_dev_major) << 32 | u64::from(st.stx_dev_minor), ino: st.stx_ino, born }
    }

    fn of_metadata(m: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self { dev: m.dev(), ino: m.ino(), born: (0, 0) }
    }
}

/// The identity of the open file `file`.
pub(crate) fn file_id(file: &File) -> io::Result<FileId> {
    match rustix::fs::statx(file, "", AtFlags::EMPTY_PATH, ID_MASK) {
        Ok(st) => Ok(FileId::of(&st)),
        // Kernels before 4.11 have no statx: no birth time either.
        Err(e) if e == rustix::io::Errno::NOSYS => Ok(FileId::of_metadata(&file.metadata()?)),
        Err(e) => Err(e.into()),
    }
}

/// The identity of the file `path` names now (following symlinks).
pub(crate) fn path_id(path: &Path) -> io::Result<FileId> {
    match rustix::fs::statx(rustix::fs::CWD, path, AtFlags::empty(), ID_MASK) {
        Ok(st) => Ok(FileId::of(&st)),
        Err(e) if e == rustix::io::Errno::NOSYS => Ok(FileId::of_metadata(&std::fs::metadata(path)?)),
        Err(e) => Err(e.into()),
    }
}

/// Opens an existing segment for reading and writing and takes its exclusive writer lock.
/// Fails with `WouldBlock` if another writer holds it.
pub fn open_segment_file(path: &Path, custom_flags: i32) -> io::Result<File> {
    let file = OpenOptions::new().read(true).write(true).custom_flags(custom_flags).open(path)?;
    refuse_non_file(&file)?;
    lock_exclusive(&file)?;
    Ok(file)
}

/// Opens an existing segment read-only, with no lock.
pub fn open_segment_file_readonly(path: &Path, custom_flags: i32) -> io::Result<File> {
    let file = OpenOptions::new().read(true).custom_flags(custom_flags).open(path)?;
    refuse_non_file(&file)?;
    Ok(file)
}

fn refuse_non_file(file: &File) -> io::Result<()> {
    if file.metadata()?.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"))
    }
}

/// Takes the exclusive, non-blocking `flock` that marks the one writer of a segment.
///
/// `flock` locks belong to the open file description, so two opens in one process
/// conflict just as two processes do.
pub fn lock_exclusive(file: &File) -> io::Result<()> {
    rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive).map_err(|e| {
        if e == rustix::io::Errno::WOULDBLOCK {
            io::Error::new(io::ErrorKind::WouldBlock, "segment is locked by another writer")
        } else {
            io::Error::from(e)
        }
    })
}

fn preallocate(file: &File, size: u64) -> io::Result<()> {
    if size == 0 {
        return Ok(());
    }
    match rustix::fs::fallocate(file, FallocateFlags::empty(), 0, size) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => file.set_len(size),
        Err(e) => Err(e.into()),
    }
}

/// Writes zeros over `[0, size)` in 1 MiB pieces from a 4096-aligned buffer, which also
/// suits a file opened with `O_DIRECT` (whose size must then be block-aligned).
fn write_zeros(file: &File, size: u64) -> io::Result<()> {
    const PIECE: u64 = 1 << 20;
    let mut buf = AlignedBuf::new();
    let zeros = buf.region(PIECE as usize, 4096);
    let mut at = 0;
    while at < size {
        let n = (size - at).min(PIECE) as usize;
        write_all_at(file, at, zeros.get(..n).unwrap_or_default())?;
        at += n as u64;
    }
    Ok(())
}

/// Syncs the directory holding `path`, making a creation or removal durable.
pub fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Reads exactly `buf.len()` bytes at `offset`, retrying short reads and `EINTR`.
pub fn read_exact_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Writes all of `data` at `offset`, retrying short writes and `EINTR`.
pub fn write_all_at(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, offset)
}

/// Size of the file in bytes.
pub fn file_size(file: &File) -> io::Result<u64> {
    Ok(file.metadata()?.len())
}

/// The first range at or after `offset` of `file` (whose segment is `size` bytes) that may
/// hold data, for [`SegmentIo::next_data`](crate::SegmentIo::next_data): `lseek(SEEK_DATA)`,
/// then `lseek(SEEK_HOLE)`. Holes, and on ext4 and xfs unwritten extents with no page cached,
/// read as zeros and are skipped. Where the filesystem cannot say, all of it may be data.
///
/// Moves the file position, which seglog never uses (all its I/O is positioned).
pub fn next_data(file: &File, offset: u64, size: u64) -> io::Result<Option<std::ops::Range<u64>>> {
    use rustix::fs::SeekFrom;
    use rustix::io::Errno;
    if offset >= size {
        return Ok(None);
    }
    let unknown = Ok(Some(offset..size));
    let start = match rustix::fs::seek(file, SeekFrom::Data(offset)) {
        Ok(start) => start,
        // No data at or past `offset`, or `offset` past the end of the file. If the file
        // is shorter than the segment, let the reads fail as they would have.
        Err(Errno::NXIO) => return if file_size(file)? >= size { Ok(None) } else { unknown },
        Err(Errno::INVAL | Errno::OPNOTSUPP | Errno::NOSYS) => return unknown,
        Err(e) => return Err(e.into()),
    };
    if start >= size {
        return Ok(None);
    }
    let end = match rustix::fs::seek(file, SeekFrom::Hole(start)) {
        Ok(end) => end.clamp(start + 1, size),
        Err(Errno::NXIO | Errno::INVAL | Errno::OPNOTSUPP | Errno::NOSYS) => size,
        Err(e) => return Err(e.into()),
    };
    Ok(Some(start.max(offset)..end))
}

/// How much of `range` of `file` the page cache holds, for
/// [`SegmentIo::cached`](crate::SegmentIo::cached): `cachestat(2)`, or
/// [`Cached::Unknown`](crate::Cached::Unknown) where the kernel has none (before Linux 6.5)
/// or it fails. An empty range holds no page.
pub fn cached(file: &File, range: std::ops::Range<u64>) -> crate::Cached {
    if range.is_empty() {
        return crate::Cached::Pages(0);
    }
    match seglog_cachestat::cachestat(file, range.start, Some(range.end - range.start)) {
        Ok(stat) => crate::Cached::Pages(stat.cached),
        Err(_) => crate::Cached::Unknown,
    }
}

/// Advises the kernel to drop the clean cached pages of `range` of `file`, for
/// [`SegmentIo::uncache`](crate::SegmentIo::uncache): `posix_fadvise(POSIX_FADV_DONTNEED)`.
/// Advice: a failure changes nothing that matters, so it is ignored.
pub fn uncache(file: &File, range: std::ops::Range<u64>) {
    if let Some(len) = std::num::NonZeroU64::new(range.end.saturating_sub(range.start)) {
        let _ = rustix::fs::fadvise(file, range.start, Some(len), rustix::fs::Advice::DontNeed);
    }
}
