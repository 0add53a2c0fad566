//! An in-memory backend.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use seglog_core::SegmentIo;

/// A segment held in memory. Clones share the bytes, like two handles on one file.
///
/// Every write is "durable" at once; use [`Faulty`](crate::Faulty) to make it fail.
///
/// With an alignment above 1 it behaves like `O_DIRECT`: offsets, lengths and buffer
/// addresses that are not multiples of it fail with `InvalidInput` (EINVAL), so core's
/// block handling is tested on any machine.
#[derive(Clone, Debug)]
pub struct MemIo {
    bytes: Arc<RwLock<Vec<u8>>>,
    align: usize,
    path: PathBuf,
}

impl MemIo {
    /// A zeroed segment of `size` bytes.
    pub fn new(size: u64) -> Self {
        Self::from_bytes(vec![0; size as usize])
    }

    /// A segment holding exactly `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes: Arc::new(RwLock::new(bytes)), align: 1, path: PathBuf::from("<memory>") }
    }

    /// A zeroed segment of `size` bytes that demands `align`-aligned I/O, like `O_DIRECT`.
    pub fn with_alignment(size: u64, align: usize) -> Self {
        assert!(align.is_power_of_two(), "alignment {align} is not a power of two");
        Self { align, ..Self::new(size) }
    }

    fn check_aligned(&self, offset: u64, len: usize, addr: *const u8) -> io::Result<()> {
        let a = self.align;
        if !offset.is_multiple_of(a as u64) || !len.is_multiple_of(a) || !(addr as usize).is_multiple_of(a) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unaligned direct I/O: offset {offset}, length {len}, alignment {a}"),
            ));
        }
        Ok(())
    }

    /// A copy of the stored bytes.
    pub fn contents(&self) -> Vec<u8> {
        self.bytes.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Overwrites stored bytes directly, as corruption would.
    pub fn overwrite(&self, offset: u64, data: &[u8]) {
        let mut bytes = self.bytes.write().unwrap_or_else(|e| e.into_inner());
        let at = offset as usize;
        bytes[at..at + data.len()].copy_from_slice(data);
    }
}

impl SegmentIo for MemIo {
    fn size(&self) -> u64 {
        self.bytes.read().unwrap_or_else(|e| e.into_inner()).len() as u64
    }

    fn alignment(&self) -> usize {
        self.align
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.check_aligned(offset, buf.len(), buf.as_ptr())?;
        let bytes = self.bytes.read().unwrap_or_else(|e| e.into_inner());
        let src = usize::try_from(offset)
            .ok()
            .and_then(|at| bytes.get(at..at.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the segment"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.check_aligned(offset, data.len(), data.as_ptr())?;
        let mut bytes = self.bytes.write().unwrap_or_else(|e| e.into_inner());
        let dst = usize::try_from(offset)
            .ok()
            .and_then(|at| bytes.get_mut(at..at.checked_add(data.len())?))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "write past the end of the segment"))?;
        dst.copy_from_slice(data);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
