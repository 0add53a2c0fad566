//! The flushed offset: how far readers may read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The end of the durable records, published by the writer after each successful sync.
///
/// Cloning shares the value. Readers [`load`](Self::load) it with `Acquire`; the writer
/// stores it with `Release` only after the bytes below it are durable, so a reader that
/// sees offset `n` also sees every byte below `n`. Readers never return a byte at or past it.
#[derive(Clone, Debug)]
pub struct FlushedOffset(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    start_offset: u64,
    offset: AtomicU64,
}

impl FlushedOffset {
    pub(crate) fn new(start_offset: u64, offset: u64) -> Self {
        Self(Arc::new(Shared { start_offset, offset: AtomicU64::new(offset) }))
    }

    /// The current flushed offset.
    pub fn load(&self) -> u64 {
        self.0.offset.load(Ordering::Acquire)
    }

    /// Where the segment's records start.
    pub fn start_offset(&self) -> u64 {
        self.0.start_offset
    }

    pub(crate) fn publish(&self, offset: u64) {
        self.0.offset.store(offset, Ordering::Release);
    }
}
