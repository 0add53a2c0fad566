//! The durable offset, published beside the segment for followers in other processes.
//!
//! `<segment>.flushed` starts with 16 bytes: the durable end (u64 LE), the generation (u32
//! LE, bumped whenever the end moves backwards: a truncation, or a recovery that kept less
//! than was published), and the CRC32C of those 12 bytes (u32 LE). After them comes one
//! u64 LE per generation: entry `i` is where the cut that ended generation `i` went back
//! to, so a follower that missed several truncations finds the lowest cut since it last
//! looked. The writer writes a cut's entry before the header that counts it.
//!
//! The writer rewrites the header with one `pwrite` after each successful `fdatasync` of
//! the segment, and never syncs the sidecar: after a power loss it can only be stale, never
//! ahead of the durable records, because it is written after they are durable.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::crc::crc32c;
use crate::fs::{read_exact_at, write_all_at};

/// Bytes in a sidecar's header.
pub const SIDECAR_LEN: usize = 16;

/// Bytes in each cut entry after the header.
const CUT_LEN: u64 = 8;

/// The path of the sidecar of the segment at `segment`: the same name plus `.flushed`.
pub fn sidecar_path(segment: &Path) -> PathBuf {
    let mut name = OsString::from(segment.as_os_str());
    name.push(".flushed");
    PathBuf::from(name)
}

/// What a sidecar says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// Every record below this offset is durable.
    pub end: u64,
    /// Bumped each time `end` moved backwards.
    pub generation: u32,
}

impl Published {
    fn encode(&self) -> [u8; SIDECAR_LEN] {
        let mut out = [0u8; SIDECAR_LEN];
        out[..8].copy_from_slice(&self.end.to_le_bytes());
        out[8..12].copy_from_slice(&self.generation.to_le_bytes());
        let crc = crc32c(&out[..12]);
        out[12..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8; SIDECAR_LEN]) -> Option<Self> {
        let (body, crc) = bytes.split_at(12);
        if crc32c(body).to_le_bytes() != crc {
            return None;
        }
        let (end, generation) = body.split_at(8);
        Some(Self {
            end: u64::from_le_bytes(end.try_into().ok()?),
            generation: u32::from_le_bytes(generation.try_into().ok()?),
        })
    }
}

/// The lowest cut made in generations `[from, to)`, from the sidecar's cut entries; `None`
/// if an entry is missing (a sidecar rewritten since).
pub fn lowest_cut(file: &File, from: u32, to: u32) -> io::Result<Option<u64>> {
    if to <= from {
        return Ok(None);
    }
    let mut bytes = vec![0u8; ((to - from) as u64 * CUT_LEN) as usize];
    match read_exact_at(file, SIDECAR_LEN as u64 + u64::from(from) * CUT_LEN, &mut bytes) {
        Ok(()) => {
            Ok(bytes.chunks_exact(CUT_LEN as usize).filter_map(|c| Some(u64::from_le_bytes(c.try_into().ok()?))).min())
        }
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a sidecar's header; `None` if it is short or torn (its checksum fails).
pub fn read_sidecar(file: &File) -> io::Result<Option<Published>> {
    let mut bytes = [0u8; SIDECAR_LEN];
    match read_exact_at(file, 0, &mut bytes) {
        Ok(()) => Ok(Published::decode(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// The writer's handle on its sidecar.
#[derive(Debug)]
pub(crate) struct Sidecar {
    file: File,
    published: Published,
}

impl Sidecar {
    /// Opens (creating if needed) the sidecar of `segment` and publishes `end`, bumping
    /// the generation if `end` is below what was published before.
    pub(crate) fn open(segment: &Path, end: u64) -> io::Result<Self> {
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(sidecar_path(segment))?;
        let mut sidecar = match read_sidecar(&file)? {
            Some(old) => Self { file, published: old },
            None => {
                // Missing or torn (only a power loss tears it, and no follower outlives that).
                file.set_len(SIDECAR_LEN as u64)?;
                Self { file, published: Published { end, generation: 0 } }
            }
        };
        if sidecar.published.end > end {
            // Less survived than was published (media damage, or another segment of the same name).
            sidecar.cut(end)
        } else {
            sidecar.advance(end)
        }?;
        Ok(sidecar)
    }

    /// Publishes a new durable end (at or past the last one).
    pub(crate) fn advance(&mut self, end: u64) -> io::Result<()> {
        self.published.end = end;
        self.write()
    }

    /// Publishes a lower end under a new generation, recording where the cut went.
    pub(crate) fn cut(&mut self, end: u64) -> io::Result<()> {
        let generation = self.published.generation;
        write_all_at(&self.file, SIDECAR_LEN as u64 + u64::from(generation) * CUT_LEN, &end.to_le_bytes())?;
        self.published = Published { end, generation: generation.wrapping_add(1) };
        self.write()
    }

    fn write(&mut self) -> io::Result<()> {
        write_all_at(&self.file, 0, &self.published.encode())
    }
}
