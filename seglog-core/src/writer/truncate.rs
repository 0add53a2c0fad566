//! Cutting the segment back, and durably zeroing what is cut.

use std::io;

use super::{Writer, invalid};
use crate::error::Result;
use crate::io::{AlignedBuf, SegmentIo, align_down, align_up};
use crate::recovery::{data_ranges, walk};
use crate::window::Window;

impl<B: SegmentIo> Writer<B> {
    /// Cuts the segment back to `offset`, which must be the start offset, the write offset,
    /// or the end of a record (not inside an atomic batch): the next append lands exactly
    /// there.
    ///
    /// Readers stop seeing anything at or past `offset` before any byte changes; then the
    /// cut bytes are durably zeroed, so no later append can bring them back. Readers'
    /// windows over the cut are dropped; an [`Iter`](crate::Iter) positioned past the cut
    /// returns [`Error::Truncated`](crate::Error::Truncated). A failure poisons the writer.
    ///
    /// On a backend that maps the segment, records handed out by [`reader`](Self::reader)s
    /// are slices of the mapping: the truncation waits until every such record in the cut
    /// region is dropped before it changes a byte. A thread that holds one and truncates
    /// below it waits for itself forever: drop records (or copy them) before truncating.
    pub fn truncate(&mut self, offset: u64) -> Result<()> {
        self.check_poison()?;
        if offset < self.start_offset || offset > self.write_offset {
            return Err(invalid(
                self.io.path(),
                format!(
                    "cannot truncate to offset {offset}: records lie in [{}, {})",
                    self.start_offset, self.write_offset
                ),
            ));
        }
        if offset == self.write_offset {
            return Ok(());
        }
        self.flush_buf()?;
        let mut w = Window::default();
        let walked = walk(&*self.io, &mut w, self.start_offset, offset)?;
        if walked.end != offset {
            return Err(invalid(
                self.io.path(),
                format!(
                    "cannot truncate to offset {offset}: not the end of a record or batch (the nearest before it is {})",
                    walked.end
                ),
            ));
        }
        self.flushed.cut(offset);
        // Zero-copy records in the cut must be dropped before their bytes change.
        self.flushed.wait_for_pins(align_down(offset, self.align));
        // Durably, before any byte changes, and claiming no record that is not yet durable.
        if let Some(sidecar) = &mut self.sidecar
            && let Err(e) = sidecar.cut(offset)
        {
            // Followers could not be told to stop reading what we would erase.
            return Err(self.poisoned("announcing a truncation", offset, e));
        }
        let old_end = self.write_offset;
        if let Err(e) = erase(&*self.io, offset, old_end) {
            return Err(self.poisoned("erasing truncated records", offset, e));
        }
        if let Err(e) = self.io.sync() {
            return Err(self.poisoned("syncing a truncation", offset, e));
        }
        self.write_offset = offset;
        self.buf_off = align_down(offset, self.align);
        self.buf_len = (offset - self.buf_off) as usize;
        if self.buf_len > 0 {
            let block = self.buf.get_mut().get_mut(..self.align).unwrap_or_default();
            if let Err(e) = self.io.read_at(self.buf_off, block) {
                return Err(self.poisoned("reading the last block", self.buf_off, e));
            }
        }
        // Everything below the cut is durable now, synced or not before.
        self.flushed.publish(offset);
        self.publish_to_sidecar();
        Ok(())
    }
}

/// Durably-to-be zeroes `[from, to)`, writing only the ranges the backend says may hold
/// data: the rest already reads as zeros, and writing zeros there would turn holes and
/// unwritten extents into written blocks that every later open must read. (Not
/// `fallocate(FALLOC_FL_ZERO_RANGE)`: docs/FORMAT.md section 4 says why.)
pub(super) fn erase<B: SegmentIo + ?Sized>(io: &B, from: u64, to: u64) -> io::Result<()> {
    if from >= to {
        return Ok(());
    }
    for range in data_ranges(io, from, to)? {
        erase_range(io, range.start, range.end)?;
    }
    Ok(())
}

/// Durably-to-be zeroes `[from, to)`, rounding out to whole blocks and keeping the bytes
/// before `from` in its block.
fn erase_range<B: SegmentIo + ?Sized>(io: &B, from: u64, to: u64) -> io::Result<()> {
    let align = io.alignment();
    let mut at = align_down(from, align);
    let hi = align_up(to, align).min(io.size());
    let mut buf = AlignedBuf::new();
    while at < hi {
        let n = (hi - at).min(1 << 20) as usize;
        let region = buf.region(n, align);
        if at < from {
            let block = region.get_mut(..align).unwrap_or_default();
            io.read_at(at, block)?;
            block.get_mut((from - at) as usize..).unwrap_or_default().fill(0);
        }
        io.write_at(at, region)?;
        at += n as u64;
    }
    Ok(())
}
