//! The application's segment header, before the start offset.

use super::{Writer, invalid};
use crate::error::Result;
use crate::io::{AlignedBuf, SegmentIo, align_up};

impl<B: SegmentIo> Writer<B> {
    /// Writes `header` at offset 0, into the region before the start offset that belongs
    /// to the application, and makes it durable. Records are not touched.
    pub fn write_segment_header(&mut self, header: &[u8]) -> Result<()> {
        self.check_poison()?;
        let len = header.len() as u64;
        if len > self.start_offset {
            return Err(invalid(
                self.io.path(),
                format!("a segment header of {len} bytes does not fit before the start offset {}", self.start_offset),
            ));
        }
        // Direct I/O writes whole blocks: read the blocks the header touches, patch, write.
        let span = align_up(len, self.align).min(self.size) as usize;
        let mut block = AlignedBuf::new();
        let region = block.region(span, self.align);
        if span as u64 != len
            && let Err(e) = self.io.read_at(0, region)
        {
            return Err(self.poisoned("reading the segment header", 0, e));
        }
        region.get_mut(..header.len()).unwrap_or_default().copy_from_slice(header);
        // The buffered last block may share a block with the header; keep its copy current.
        if self.buf_off < len {
            let from = self.buf_off as usize;
            let patch = header.get(from..).unwrap_or_default();
            self.buf.get_mut().get_mut(..patch.len()).unwrap_or_default().copy_from_slice(patch);
        }
        if let Err(e) = self.io.write_at(0, block.get()) {
            return Err(self.poisoned("writing the segment header", 0, e));
        }
        if let Err(e) = self.io.sync() {
            return Err(self.poisoned("syncing the segment header", 0, e));
        }
        Ok(())
    }
}
