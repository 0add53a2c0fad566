//! Decorators for the scan's cost: [`Sparse`] makes any backend report which ranges hold
//! data, as a filesystem with holes does; [`Counted`] counts the bytes a scan reads.

use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use seglog_core::{AlignedBuf, SegmentIo};

use crate::{Decorator, Harness, decorate_segment_io};

/// The granularity of [`Sparse`]'s holes: a filesystem block.
const BLOCK: u64 = 4096;

/// Wraps a backend and answers [`SegmentIo::next_data`] as a filesystem would if every
/// all-zero 4 KiB block were a hole, so core's skipping path runs on a backend that cannot
/// tell (such as [`MemIo`](crate::MemIo)). Everything else passes through.
#[derive(Debug)]
pub struct Sparse<B> {
    inner: Arc<B>,
}

impl<B> Clone for Sparse<B> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<B: SegmentIo> Sparse<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        Self { inner: Arc::new(inner) }
    }

    /// True if the block at `at` holds a non-zero byte.
    fn has_data(&self, at: u64, buf: &mut AlignedBuf) -> io::Result<bool> {
        let len = BLOCK.min(self.inner.size() - at) as usize;
        let align = self.inner.alignment();
        let region = buf.region_to_overwrite(len.next_multiple_of(align), align);
        let region = region.get_mut(..len).unwrap_or_default();
        self.inner.read_at(at, region)?;
        Ok(region.iter().any(|&b| b != 0))
    }
}

impl<B: SegmentIo> Decorator for Sparse<B> {
    type Inner = B;

    fn inner(&self) -> &B {
        &self.inner
    }

    fn next_data(&self, offset: u64) -> io::Result<Option<Range<u64>>> {
        let size = self.inner.size();
        let mut buf = AlignedBuf::new();
        let mut at = offset - offset % BLOCK;
        while at < size && !self.has_data(at, &mut buf)? {
            at += BLOCK;
        }
        if at >= size {
            return Ok(None);
        }
        let start = at.max(offset);
        while at < size && self.has_data(at, &mut buf)? {
            at += BLOCK;
        }
        Ok(Some(start..at.min(size)))
    }
}
decorate_segment_io!(Sparse);

/// A [`Harness`] whose backend is `H`'s wrapped in [`Sparse`]: `backend_tests!(mem_sparse,
/// SparseHarness(MemHarness::new()))` runs every suite through the skipping path.
#[derive(Debug)]
pub struct SparseHarness<H>(pub H);

impl<H: Harness> Harness for SparseHarness<H> {
    type Io = Sparse<H::Io>;

    fn create(&mut self, size: u64) -> io::Result<Self::Io> {
        self.0.create(size).map(Sparse::new)
    }

    fn open_writer(&mut self) -> io::Result<Self::Io> {
        self.0.open_writer().map(Sparse::new)
    }

    fn open_reader(&mut self) -> io::Result<Self::Io> {
        self.0.open_reader().map(Sparse::new)
    }

    fn contents(&mut self) -> Vec<u8> {
        self.0.contents()
    }

    fn overwrite(&mut self, offset: u64, bytes: &[u8]) {
        self.0.overwrite(offset, bytes);
    }
}

/// Wraps a backend and counts the bytes `read_at` returns, and notes the ranges core gives
/// back to the page cache ([`SegmentIo::uncache`]); clones share both.
#[derive(Debug)]
pub struct Counted<B> {
    inner: Arc<B>,
    read: Arc<AtomicU64>,
    uncached: Arc<Mutex<Vec<Range<u64>>>>,
}

impl<B> Clone for Counted<B> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner), read: Arc::clone(&self.read), uncached: Arc::clone(&self.uncached) }
    }
}

impl<B: SegmentIo> Counted<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        Self { inner: Arc::new(inner), read: Arc::default(), uncached: Arc::default() }
    }

    /// The ranges core has asked to drop from the page cache so far, in order.
    pub fn uncached(&self) -> Vec<Range<u64>> {
        self.uncached.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        // A statistic read after the reads it counts, on the same thread.
        self.read.load(Ordering::Relaxed)
    }
}

impl<B: SegmentIo> Decorator for Counted<B> {
    type Inner = B;

    fn inner(&self) -> &B {
        &self.inner
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.read.fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.inner.read_at(offset, buf)
    }

    fn mapped(&self) -> Option<&[u8]> {
        // Reads through a mapping could not be counted.
        None
    }

    fn uncache(&self, range: Range<u64>) {
        self.uncached.lock().unwrap_or_else(|e| e.into_inner()).push(range.clone());
        self.inner.uncache(range)
    }
}
decorate_segment_io!(Counted);
