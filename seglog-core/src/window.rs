//! A reader-owned window of segment bytes: the one place reads reach the backend.

use std::io;

use crate::io::{AlignedBuf, SegmentIo, align_down, align_up};

/// Caches a run of bytes read from the backend.
///
/// The window never holds bytes at or past the `limit` given when it was filled.
/// Bytes below the flushed offset never change within a truncation generation, so a
/// cached window stays right however far the flushed offset moves on (its owner drops it
/// when the generation moves); bytes beyond it are fetched afresh.
///
/// It always reads through `read_at`, never the backend's mapping: only a reader whose
/// records pin the mapping may borrow from it (`reader.rs`). Recovery, truncation's walk,
/// closed readers and followers thus see an I/O error as an error, not a SIGBUS, and never
/// race a writer's changes to mapped bytes.
#[derive(Debug, Default)]
pub(crate) struct Window {
    buf: AlignedBuf,
    /// File offset of the first cached byte.
    off: u64,
    /// Where that byte sits in `buf`.
    start: usize,
    /// Cached bytes.
    len: usize,
}

impl Window {
    pub(crate) fn invalidate(&mut self) {
        self.len = 0;
    }

    /// The cached bytes and the file offset of the first: what a scan verifies records in
    /// without a lookup per record.
    #[inline]
    pub(crate) fn cached(&self) -> (u64, &[u8]) {
        let bytes = self.buf.get().get(self.start..self.start + self.len).unwrap_or_default();
        (self.off, bytes)
    }

    /// Returns exactly the bytes `[off, off + len)`, which must lie below `limit`. On a miss,
    /// reads `ahead` bytes from `off` (never past `limit`) in one backend call.
    pub(crate) fn get<'a, B: SegmentIo + ?Sized>(
        &'a mut self,
        io: &'a B,
        off: u64,
        len: usize,
        ahead: usize,
        limit: u64,
    ) -> io::Result<&'a [u8]> {
        let end = off + len as u64;
        debug_assert!(end <= limit && limit <= io.size());
        if off < self.off || end > self.off + self.len as u64 {
            self.fill(io, off, len.max(ahead).min((limit - off) as usize))?;
        }
        let from = self.start + (off - self.off) as usize;
        self.buf.get().get(from..from + len).ok_or_else(short_map)
    }

    fn fill<B: SegmentIo + ?Sized>(&mut self, io: &B, off: u64, want: usize) -> io::Result<()> {
        self.len = 0;
        let align = io.alignment();
        let lo = align_down(off, align);
        let hi = align_up(off + want as u64, align).min(io.size());
        let region = self.buf.region_to_overwrite((hi - lo) as usize, align);
        io.read_at(lo, region)?;
        self.off = off;
        self.start = (off - lo) as usize;
        self.len = want;
        Ok(())
    }
}

fn short_map() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "segment is shorter than its size")
}
