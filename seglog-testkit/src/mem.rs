//! An in-memory backend.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use seglog_core::SegmentIo;

/// A segment held in memory. Clones share the bytes, like two handles on one file.
///
/// A write is visible to every handle at once and durable once a later `sync` returns:
/// [`power_loss`](Self::power_loss) puts back every byte written since the last sync, as
/// a machine that lost power before its disk got them would. So the suites and the crash
/// explorer can check, through [`MemHarness`](crate::MemHarness), that a backend built
/// on it really syncs. Use [`Faulty`](crate::Faulty) to make calls fail.
///
/// With an alignment above 1 it behaves like `O_DIRECT`: offsets, lengths and buffer
/// addresses that are not multiples of it fail with `InvalidInput` (EINVAL), so core's
/// block handling is tested on any machine.
#[derive(Clone)]
pub struct MemIo {
    state: Arc<RwLock<State>>,
    align: usize,
    path: PathBuf,
}

#[derive(Default)]
struct State {
    bytes: Vec<u8>,
    /// What each write since the last sync overwrote, as (offset, old bytes), in order: a
    /// power loss puts them back newest first. Kept instead of a second copy of the
    /// segment, so an unsynced segment costs only its unsynced bytes twice.
    undo: Vec<(usize, Vec<u8>)>,
}

impl fmt::Debug for MemIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the bytes: a failing check would print the whole segment.
        let s = self.read();
        f.debug_struct("MemIo")
            .field("path", &self.path)
            .field("size", &s.bytes.len())
            .field("align", &self.align)
            .field("unsynced_writes", &s.undo.len())
            .finish()
    }
}

impl MemIo {
    /// A zeroed segment of `size` bytes.
    pub fn new(size: u64) -> Self {
        Self::from_bytes(vec![0; size as usize])
    }

    /// A segment holding exactly `bytes`, all durable.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self {
            state: Arc::new(RwLock::new(State { bytes, undo: Vec::new() })),
            align: 1,
            path: PathBuf::from("<memory>"),
        }
    }

    /// A zeroed segment of `size` bytes that demands `align`-aligned I/O, like `O_DIRECT`.
    pub fn with_alignment(size: u64, align: usize) -> Self {
        assert!(align.is_power_of_two(), "alignment {align} is not a power of two");
        Self { align, ..Self::new(size) }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
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

    /// A copy of the stored bytes, synced or not: what every handle reads.
    pub fn contents(&self) -> Vec<u8> {
        self.read().bytes.clone()
    }

    /// Overwrites stored bytes directly and durably, as corruption would.
    pub fn overwrite(&self, offset: u64, data: &[u8]) {
        let mut s = self.write();
        let at = offset as usize;
        s.bytes[at..at + data.len()].copy_from_slice(data);
        // Durable at once: a power loss must not put the old bytes back.
        for (from, old) in &mut s.undo {
            let lo = at.max(*from);
            let hi = (at + data.len()).min(*from + old.len());
            if lo < hi {
                old[lo - *from..hi - *from].copy_from_slice(&data[lo - at..hi - at]);
            }
        }
    }

    /// Simulates a power loss: every byte written since the last successful `sync` goes
    /// back to what it was then, for every handle. Synced writes and
    /// [`overwrite`](Self::overwrite)s stay.
    pub fn power_loss(&self) {
        let mut s = self.write();
        let undo = std::mem::take(&mut s.undo);
        for (at, old) in undo.into_iter().rev() {
            s.bytes[at..at + old.len()].copy_from_slice(&old);
        }
    }

    /// Bytes written since the last sync, counting rewrites of the same bytes again.
    pub fn unsynced_bytes(&self) -> usize {
        self.read().undo.iter().map(|(_, old)| old.len()).sum()
    }
}

impl SegmentIo for MemIo {
    fn size(&self) -> u64 {
        self.read().bytes.len() as u64
    }

    fn alignment(&self) -> usize {
        self.align
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.check_aligned(offset, buf.len(), buf.as_ptr())?;
        let s = self.read();
        let src = usize::try_from(offset)
            .ok()
            .and_then(|at| s.bytes.get(at..at.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the segment"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.check_aligned(offset, data.len(), data.as_ptr())?;
        let mut s = self.write();
        let at = usize::try_from(offset)
            .ok()
            .filter(|at| at.checked_add(data.len()).is_some_and(|end| end <= s.bytes.len()))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "write past the end of the segment"))?;
        let old = s.bytes[at..at + data.len()].to_vec();
        s.undo.push((at, old));
        s.bytes[at..at + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        self.write().undo.clear();
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_loss_drops_exactly_the_unsynced_writes() {
        let io = MemIo::new(16);
        io.write_at(0, &[1; 4]).unwrap();
        io.sync().unwrap();
        io.write_at(2, &[2; 4]).unwrap();
        io.write_at(4, &[3; 4]).unwrap();
        io.overwrite(7, &[9; 2]);
        let clone = io.clone();
        assert_eq!(clone.contents()[..10], [1, 1, 2, 2, 3, 3, 3, 9, 9, 0]);
        assert_eq!(io.unsynced_bytes(), 8);
        clone.power_loss();
        // The overwrite was durable; the unsynced writes are gone, for every handle.
        assert_eq!(io.contents()[..10], [1, 1, 1, 1, 0, 0, 0, 9, 9, 0]);
        assert_eq!(io.unsynced_bytes(), 0);
    }
}
