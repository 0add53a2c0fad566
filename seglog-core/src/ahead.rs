//! Zero-filling ahead of the write position, so frequent syncs land in written blocks.
//!
//! A segment made with `fallocate` holds *unwritten* extents. The first `fdatasync` that
//! covers a block of one must also commit the extent's conversion to written in the
//! filesystem's journal, which costs about as much again as the data (on ext4 here: ~200 µs
//! against ~100 µs; see BENCHMARKS.md). When syncs are frequent, the writer therefore
//! writes zeros over a region just past its write position before an `fdatasync`: that one
//! sync converts the region, and the next many syncs land in written blocks. Appends that
//! rarely sync pay nothing, because the zeros are only written while the bytes per sync are
//! small. Bytes past the write position are zero already (creation, recovery and truncation
//! all leave them so), so writing zeros there changes nothing a reader or recovery can see.

use crate::io::{AlignedBuf, SegmentIo, align_up};

/// Syncs that cover at most this many new bytes, on average, count as frequent. Above it the
/// data written per sync dominates its cost and the extent conversion is noise.
const FREQUENT: u64 = 256 << 10;

/// Bounds of one zero-filled region: at least enough for a few small syncs, at most what
/// one sync can write without a noticeable stall.
const MIN_CHUNK: u64 = 64 << 10;
const MAX_CHUNK: u64 = 1 << 20;

/// How many syncs of the average size one region is meant to cover.
const SYNCS_PER_CHUNK: u64 = 64;

/// Regions start on a page boundary: the block holding the write position is already
/// written, and whole pages avoid a read-modify-write in the page cache.
const PAGE: usize = 4096;

/// The writer's record of where written zeros lie ahead of it.
#[derive(Debug)]
pub(crate) struct ZeroAhead {
    /// Every byte from the write position up to here is a written (not just allocated) zero.
    zeroed_to: u64,
    /// The write position at the last sync.
    last_sync: u64,
    /// Moving average of the bytes each sync covered.
    avg_per_sync: u64,
    /// Off once a zero-fill has failed: the optimisation is never worth an error.
    enabled: bool,
    zeros: AlignedBuf,
}

impl ZeroAhead {
    /// Starts at `write_offset`, knowing nothing about the blocks past it.
    pub(crate) fn new(write_offset: u64) -> Self {
        Self {
            zeroed_to: write_offset,
            last_sync: write_offset,
            avg_per_sync: u64::MAX,
            enabled: true,
            zeros: AlignedBuf::new(),
        }
    }

    /// Records that the whole segment, up to `size`, holds written zeros past the records
    /// (a [`Preallocation::Zeroed`](crate::Preallocation::Zeroed) segment).
    pub(crate) fn all_written(&mut self, size: u64) {
        self.zeroed_to = size;
    }

    /// Called before each `fdatasync` with the write position (everything before it has
    /// been handed to the backend). When syncs are frequent and the written zeros ahead run
    /// low, writes the next region of zeros, so this sync converts it. Returns the bytes
    /// written.
    pub(crate) fn before_sync<B: SegmentIo + ?Sized>(&mut self, io: &B, write_offset: u64) -> u64 {
        let covered = write_offset.saturating_sub(self.last_sync);
        self.last_sync = write_offset;
        self.avg_per_sync = match self.avg_per_sync {
            u64::MAX => covered,
            avg => (avg * 3 + covered) / 4,
        };
        if !self.enabled || self.avg_per_sync > FREQUENT {
            return 0;
        }
        let chunk = (self.avg_per_sync * SYNCS_PER_CHUNK).clamp(MIN_CHUNK, MAX_CHUNK);
        if self.zeroed_to >= write_offset.saturating_add(chunk / 2) {
            return 0;
        }
        let align = io.alignment().max(PAGE);
        let from = align_up(self.zeroed_to.max(write_offset), align);
        let to = align_up(from + chunk, align).min(io.size());
        if from >= to {
            return 0;
        }
        let len = (to - from) as usize;
        let region = self.zeros.region(len, align);
        match io.write_at(from, region) {
            Ok(()) => {
                self.zeroed_to = to;
                to - from
            }
            Err(_) => {
                // Nothing promised depends on these zeros; the sync that follows reports
                // any real trouble with the device.
                self.enabled = false;
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Mutex;

    /// Records each write's range.
    #[derive(Debug, Default)]
    struct Writes(Mutex<Vec<(u64, usize)>>);

    impl SegmentIo for Writes {
        fn size(&self) -> u64 {
            64 << 20
        }
        fn read_at(&self, _: u64, _: &mut [u8]) -> std::io::Result<()> {
            Ok(())
        }
        fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
            assert!(data.iter().all(|&b| b == 0));
            self.0.lock().unwrap().push((offset, data.len()));
            Ok(())
        }
        fn sync(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn path(&self) -> &Path {
            Path::new("writes")
        }
    }

    #[test]
    fn frequent_small_syncs_zero_ahead_in_page_aligned_chunks() {
        let io = Writes::default();
        let mut ahead = ZeroAhead::new(0);
        let mut pos = 0;
        let mut written = 0;
        for _ in 0..1000 {
            pos += 1032;
            written += ahead.before_sync(&io, pos);
        }
        let writes = io.0.lock().unwrap().clone();
        assert!(!writes.is_empty());
        for (i, &(off, len)) in writes.iter().enumerate() {
            assert_eq!(off % 4096, 0, "write {i} starts on a page");
            assert!(len as u64 >= MIN_CHUNK && len as u64 <= MAX_CHUNK + 4096);
        }
        // Regions are contiguous and stay ahead of the writer without running far past it.
        for w in writes.windows(2) {
            assert_eq!(w[0].0 + w[0].1 as u64, w[1].0);
        }
        assert!(ahead.zeroed_to > pos);
        assert!(written <= pos + 2 * MAX_CHUNK);
    }

    #[test]
    fn rare_large_syncs_write_no_zeros() {
        let io = Writes::default();
        let mut ahead = ZeroAhead::new(0);
        let mut pos = 0;
        for _ in 0..50 {
            pos += 4 << 20;
            if pos > io.size() {
                break;
            }
            assert_eq!(ahead.before_sync(&io, pos), 0);
        }
        assert!(io.0.lock().unwrap().is_empty());
    }

    #[test]
    fn zeroed_segments_need_no_zero_fill() {
        let io = Writes::default();
        let mut ahead = ZeroAhead::new(0);
        ahead.all_written(io.size());
        for i in 1..100 {
            assert_eq!(ahead.before_sync(&io, i * 100), 0);
        }
    }

    #[test]
    fn zero_fill_stops_at_the_segment_end() {
        let io = Writes::default();
        let start = io.size() - 10_000;
        let mut ahead = ZeroAhead::new(start);
        for i in 1..=9 {
            ahead.before_sync(&io, start + i * 1000);
        }
        let writes = io.0.lock().unwrap().clone();
        assert!(!writes.is_empty());
        for &(off, len) in &writes {
            assert!(off + len as u64 <= io.size());
        }
    }
}
