//! The durable offset, published beside the segment for followers in other processes.
//!
//! `<segment>.flushed` starts with a 40-byte header: the durable end (u64 LE), the
//! generation (u32 LE, bumped whenever the end moves backwards: a truncation, or a recovery
//! that kept less than was published), the layout version (u32 LE, 2), the segment it
//! belongs to (its inode number, u64 LE, and birth time, i64 LE seconds and u32 LE
//! nanoseconds), and the CRC32C of those 36 bytes (u32 LE). After it comes one u64 LE per
//! generation: entry `i` is where the cut that ended generation `i` went back to, so a
//! follower that missed several truncations finds the lowest cut since it last looked.
//!
//! The sidecar never claims more than is durable (docs/FORMAT.md §3.1 gives the proof):
//! - an end is written only after the `fdatasync` that made the records below it durable;
//! - a cut is written, with an end no higher than the last end published, and made durable
//!   (`fdatasync` of the sidecar) before the writer changes a byte of the segment, so a
//!   power loss cannot bring back an end from before the cut once the erase is durable;
//! - `create` writes a fresh sidecar and makes it and its directory entry durable before it
//!   returns, and every sidecar names the incarnation of the segment it speaks for, so a
//!   sidecar left by a deleted segment of the same name vouches for nothing.
//!
//! Ordinary ends are written with one `pwrite` and never synced: after a power loss the
//! sidecar may be stale (lower), never ahead.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::crc::crc32c;
use crate::fs::{FileId, file_size, path_id, read_exact_at, sync_parent_dir, write_all_at};

/// Bytes in a sidecar's header.
pub const SIDECAR_LEN: usize = 40;

/// The layout version, stored at bytes 12..16.
const VERSION: u32 = 2;

/// Bytes in each cut entry after the header.
const CUT_LEN: u64 = 8;

/// Cut entries read per call: a generation read from disk never sizes a buffer.
const CUTS_PER_READ: usize = 512;

/// The path of the sidecar of the segment at `segment`: the same name plus `.flushed`.
pub fn sidecar_path(segment: &Path) -> PathBuf {
    let mut name = OsString::from(segment.as_os_str());
    name.push(".flushed");
    PathBuf::from(name)
}

/// The incarnation of a segment file a sidecar speaks for.
///
/// The inode number alone is not enough: ext4 and xfs reuse a deleted file's inode number
/// for the next file made, so a segment deleted and re-created under the same name often
/// gets the same one. The birth time tells them apart. The device is left out: it can change
/// across reboots (btrfs, re-enumerated disks) while the file stays the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The segment's inode number.
    pub ino: u64,
    /// The segment's birth time in seconds, 0 where the filesystem keeps none.
    pub born_secs: i64,
    /// The nanoseconds of the birth time.
    pub born_nanos: u32,
}

impl Owner {
    pub(crate) fn of(id: FileId) -> Self {
        Self { ino: id.ino, born_secs: id.born.0, born_nanos: id.born.1 }
    }
}

/// What a sidecar says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// Every record below this offset is durable.
    pub end: u64,
    /// Bumped each time `end` moved backwards.
    pub generation: u32,
    /// The segment file this sidecar speaks for.
    pub owner: Owner,
}

/// The bytes of a sidecar header saying `published` (for tools and tests: the writer
/// writes its own).
pub fn encode(published: &Published) -> [u8; SIDECAR_LEN] {
    published.encode()
}

impl Published {
    fn encode(&self) -> [u8; SIDECAR_LEN] {
        let mut out = [0u8; SIDECAR_LEN];
        out[..8].copy_from_slice(&self.end.to_le_bytes());
        out[8..12].copy_from_slice(&self.generation.to_le_bytes());
        out[12..16].copy_from_slice(&VERSION.to_le_bytes());
        out[16..24].copy_from_slice(&self.owner.ino.to_le_bytes());
        out[24..32].copy_from_slice(&self.owner.born_secs.to_le_bytes());
        out[32..36].copy_from_slice(&self.owner.born_nanos.to_le_bytes());
        let crc = crc32c(&out[..36]);
        out[36..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8; SIDECAR_LEN]) -> Option<Self> {
        let (body, crc) = bytes.split_at(36);
        if crc32c(body).to_le_bytes() != crc {
            return None;
        }
        let u64_at = |at: usize| Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?));
        if u32_at(12)? != VERSION {
            return None;
        }
        Some(Self {
            end: u64_at(0)?,
            generation: u32_at(8)?,
            owner: Owner { ino: u64_at(16)?, born_secs: u64_at(24)? as i64, born_nanos: u32_at(32)? },
        })
    }
}

/// The lowest cut made in generations `[from, to)`, from the sidecar's cut entries; `None`
/// if an entry is missing (a sidecar rewritten since, or one that claims generations it
/// holds no entries for). Reads the entries in bounded pieces: the generations come from
/// disk and size nothing.
pub fn lowest_cut(file: &File, from: u32, to: u32) -> io::Result<Option<u64>> {
    if to <= from {
        return Ok(None);
    }
    let entry = |g: u32| SIDECAR_LEN as u64 + u64::from(g) * CUT_LEN;
    let (mut at, past) = (entry(from), entry(to));
    if file_size(file)? < past {
        return Ok(None);
    }
    let mut piece = [0u8; CUTS_PER_READ * CUT_LEN as usize];
    let mut lowest = u64::MAX;
    while at < past {
        let n = (past - at).min(piece.len() as u64) as usize;
        let bytes = piece.get_mut(..n).unwrap_or_default();
        match read_exact_at(file, at, bytes) {
            Ok(()) => {}
            // Shortened since we looked: rewritten from scratch.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        for cut in bytes.chunks_exact(CUT_LEN as usize).filter_map(|c| Some(u64::from_le_bytes(c.try_into().ok()?))) {
            lowest = lowest.min(cut);
        }
        at += n as u64;
    }
    Ok(Some(lowest))
}

/// Reads a sidecar's header; `None` if it is short, torn (its checksum fails) or of
/// another layout.
pub fn read_sidecar(file: &File) -> io::Result<Option<Published>> {
    let mut bytes = [0u8; SIDECAR_LEN];
    match read_exact_at(file, 0, &mut bytes) {
        Ok(()) => Ok(Published::decode(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// The durable end that the sidecar of `segment` vouches for: `Some` only if the sidecar
/// exists, is intact, and belongs to this incarnation of the segment file; `None` otherwise.
/// Never ahead of the durable records; may be stale (lower).
pub(crate) fn vouched_end(segment: &Path) -> io::Result<Option<u64>> {
    let size = match std::fs::metadata(segment) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Found::load(segment, false)?.and_then(|found| found.vouched_end(size)))
}

/// A segment's sidecar as recovery finds it: opened and read once, then handed to
/// [`Sidecar::open_found`] to publish what recovery kept, so opening a writer reads it once.
#[derive(Debug)]
pub(crate) struct Found {
    /// The sidecar file, if it exists.
    file: Option<File>,
    /// The segment file the path names now.
    owner: Owner,
    /// What the sidecar says, if it is intact and speaks for `owner`.
    published: Option<Published>,
    /// Whether it also holds every cut entry its generation counts: only then does the
    /// writer carry on from it rather than start it over.
    entries: bool,
}

impl Found {
    /// Reads the sidecar of `segment` (opened for writing too when `write`); `None` when the
    /// segment itself is gone.
    pub(crate) fn load(segment: &Path, write: bool) -> io::Result<Option<Self>> {
        let not_found = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
        let owner = match path_id(segment) {
            Ok(id) => Owner::of(id),
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let file = match OpenOptions::new().read(true).write(write).open(sidecar_path(segment)) {
            Ok(f) => f,
            Err(e) if not_found(&e) => return Ok(Some(Self { file: None, owner, published: None, entries: false })),
            Err(e) => return Err(e),
        };
        let published = read_sidecar(&file)?.filter(|p| p.owner == owner);
        let entries = match published {
            Some(p) => SIDECAR_LEN as u64 + u64::from(p.generation) * CUT_LEN <= file_size(&file)?,
            None => false,
        };
        Ok(Some(Self { file: Some(file), owner, published, entries }))
    }

    /// The durable end this sidecar vouches for, for a segment of `size` bytes.
    pub(crate) fn vouched_end(&self, size: u64) -> Option<u64> {
        self.published.map(|p| p.end).filter(|&end| end <= size)
    }
}

/// The writer's handle on its sidecar.
#[derive(Debug)]
pub(crate) struct Sidecar {
    file: File,
    published: Published,
}

impl Sidecar {
    /// Writes a fresh sidecar for the segment just created at `segment`, whose records
    /// start at `end`, and makes it and its directory entry durable. A sidecar already at
    /// the path belonged to a deleted segment of the same name: it is overwritten in place,
    /// so its followers see the new owner and move to the new file.
    pub(crate) fn create(segment: &Path, end: u64) -> io::Result<Self> {
        let owner = Owner::of(path_id(segment)?);
        let path = sidecar_path(segment);
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
        let sidecar = Self { file, published: Published { end, generation: 0, owner } };
        sidecar.write()?;
        sidecar.sync()?;
        sync_parent_dir(&path)?;
        Ok(sidecar)
    }

    /// Opens (creating if needed) the sidecar of the existing segment at `segment`, whose
    /// recovered end is `end`, and publishes it: as a cut if the sidecar said more. `found`
    /// is the sidecar as [`Found::load`] (for writing) read it before recovery: it is not
    /// opened or read again.
    ///
    /// Call it once the records below `end` are durable (after recovery's sync, or when the
    /// sidecar already vouches for them), or, when `end` is at or below what the sidecar
    /// vouches for, before an erase below that: it then only publishes a cut, durably, as a
    /// truncation does before erasing.
    pub(crate) fn open_found(found: Found, segment: &Path, end: u64) -> io::Result<Self> {
        let Found { file, owner, published, entries } = found;
        let ours = published.filter(|_| entries);
        let file = match file {
            Some(file) => file,
            None => {
                OpenOptions::new().read(true).write(true).create(true).truncate(false).open(sidecar_path(segment))?
            }
        };
        let Some(old) = ours else {
            // Missing, torn, another file's, or nonsense: start over. Not synced: if this
            // is lost, what is left vouches for nothing, as now.
            file.set_len(SIDECAR_LEN as u64)?;
            let sidecar = Self { file, published: Published { end, generation: 0, owner } };
            sidecar.write()?;
            return Ok(sidecar);
        };
        let mut sidecar = Self { file, published: old };
        if old.end > end {
            // Less survived than was published (media damage, or a recovery told to discard).
            sidecar.cut(end)?;
        } else {
            sidecar.advance(end)?;
        }
        Ok(sidecar)
    }

    /// Publishes a new durable end (at or past the last one). Not synced: losing it only
    /// leaves the sidecar stale.
    pub(crate) fn advance(&mut self, end: u64) -> io::Result<()> {
        self.published.end = end;
        self.write()
    }

    /// Publishes a cut to `offset` under a new generation, recording where it went, and
    /// makes it durable: call it before changing any byte at or past `offset`.
    ///
    /// The end published is `offset` or the last end published, whichever is lower: the
    /// records between them are not durable yet (the caller advances after its sync).
    pub(crate) fn cut(&mut self, offset: u64) -> io::Result<()> {
        let generation = self.published.generation;
        let end = offset.min(self.published.end);
        // After 2^32 - 1 cuts the count wraps to 0; followers then find no entries for the
        // generations they missed and assume the worst (a cut to the start).
        if generation < u32::MAX {
            write_all_at(&self.file, SIDECAR_LEN as u64 + u64::from(generation) * CUT_LEN, &end.to_le_bytes())?;
        }
        self.published = Published { end, generation: generation.wrapping_add(1), ..self.published };
        self.write()?;
        self.sync()
    }

    fn write(&self) -> io::Result<()> {
        write_all_at(&self.file, 0, &self.published.encode())?;
        power_loss::written(self.published);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()?;
        power_loss::synced(self.published);
        Ok(())
    }

    /// Swaps the file for `/dev/full`, where every write fails.
    #[cfg(test)]
    pub(crate) fn break_writes(&mut self) {
        if let Ok(full) = OpenOptions::new().read(true).write(true).open("/dev/full") {
            self.file = full;
        }
    }
}

/// What a power loss could leave of the sidecar, for tests: the header last synced, or any
/// written after it. Nothing outside tests.
#[cfg(not(test))]
mod power_loss {
    pub(super) fn written(_: super::Published) {}
    pub(super) fn synced(_: super::Published) {}
}

#[cfg(test)]
mod power_loss {
    use std::cell::RefCell;

    use super::Published;

    thread_local! {
        static SINCE_SYNC: RefCell<Vec<Published>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn written(p: Published) {
        SINCE_SYNC.with(|v| v.borrow_mut().push(p));
    }

    pub(super) fn synced(p: Published) {
        SINCE_SYNC.with(|v| *v.borrow_mut() = vec![p]);
    }

    /// Every header a power loss now could leave in this thread's sidecars.
    pub(crate) fn possible() -> Vec<Published> {
        SINCE_SYNC.with(|v| v.borrow().clone())
    }
}

#[cfg(test)]
#[path = "sidecar_tests.rs"]
mod tests;
