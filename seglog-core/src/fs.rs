//! File mechanics every file-based backend shares: creation that leaves nothing half-made,
//! pre-allocation, durable directory entries and the single-writer lock.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{FallocateFlags, FlockOperation};

use crate::io::{AlignedBuf, Preallocation};

/// Creates `path` as a new segment of exactly `size` zero bytes, opened with `custom_flags`
/// (e.g. `O_DIRECT`), pre-allocated as `prealloc` says, durable, and exclusively locked.
///
/// Pre-allocation uses `fallocate`, falling back to `set_len` where the filesystem refuses
/// (`EOPNOTSUPP`); [`Preallocation::Zeroed`] then writes zeros over it. On any failure the
/// file is removed, so a retry does not meet `AlreadyExists`. The parent directory is
/// synced so the new name survives a crash.
pub fn create_segment_file(path: &Path, size: u64, custom_flags: i32, prealloc: Preallocation) -> io::Result<File> {
    let file = OpenOptions::new().read(true).write(true).create_new(true).custom_flags(custom_flags).open(path)?;
    let made = lock_exclusive(&file)
        .and_then(|()| preallocate(&file, size))
        .and_then(|()| if prealloc == Preallocation::Zeroed { write_zeros(&file, size) } else { Ok(()) })
        .and_then(|()| file.sync_all())
        .and_then(|()| sync_parent_dir(path));
    match made {
        Ok(()) => Ok(file),
        Err(e) => {
            drop(file);
            // The error that matters is `e`; a failed removal would only hide it.
            let _ = std::fs::remove_file(path);
            let _ = sync_parent_dir(path);
            Err(io::Error::new(e.kind(), format!("could not create segment of {size} bytes: {e}")))
        }
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
