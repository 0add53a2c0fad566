//! An in-memory backend.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use seglog_core::SegmentIo;

/// A segment held in memory. Clones share the bytes, like two handles on one file.
///
/// Every write is "durable" at once; use [`Faulty`](crate::Faulty) to make it fail.
#[derive(Clone, Debug)]
pub struct MemIo {
    bytes: Arc<RwLock<Vec<u8>>>,
    path: PathBuf,
}

impl MemIo {
    /// A zeroed segment of `size` bytes.
    pub fn new(size: u64) -> Self {
        Self { bytes: Arc::new(RwLock::new(vec![0; size as usize])), path: PathBuf::from("<memory>") }
    }

    /// A segment holding exactly `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes: Arc::new(RwLock::new(bytes)), path: PathBuf::from("<memory>") }
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

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let bytes = self.bytes.read().unwrap_or_else(|e| e.into_inner());
        let src = usize::try_from(offset)
            .ok()
            .and_then(|at| bytes.get(at..at.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the segment"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
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
