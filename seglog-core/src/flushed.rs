//! The flushed offset: how far readers may read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Bumped by every truncation, after it lowers `offset` and before it changes a byte.
    generation: AtomicU64,
    /// Where each truncation cut, indexed by the generation it started; truncations are rare.
    cuts: Mutex<Vec<u64>>,
}

impl FlushedOffset {
    pub(crate) fn new(start_offset: u64, offset: u64) -> Self {
        Self(Arc::new(Shared {
            start_offset,
            offset: AtomicU64::new(offset),
            generation: AtomicU64::new(0),
            cuts: Mutex::new(Vec::new()),
        }))
    }

    /// A bound that never moves: readers of a sealed segment (one no writer appends to)
    /// see the records in `[start_offset, end)`, with no scan to find `end`.
    pub fn fixed(start_offset: u64, end: u64) -> Self {
        Self::new(start_offset, end)
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

    /// How many truncations there have been. Bytes below the flushed offset never change
    /// while this stays the same.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// Announces a cut at `offset`: lowers the flushed offset to it (if higher) and bumps
    /// the generation, before any byte at or past `offset` changes.
    pub(crate) fn cut(&self, offset: u64) {
        let mut cuts = self.0.cuts.lock().unwrap_or_else(|e| e.into_inner());
        self.0.offset.fetch_min(offset, Ordering::AcqRel);
        cuts.push(offset);
        self.0.generation.store(cuts.len() as u64, Ordering::Release);
    }

    /// The lowest cut made since generation `since`, if any.
    pub(crate) fn lowest_cut_since(&self, since: u64) -> Option<u64> {
        let cuts = self.0.cuts.lock().unwrap_or_else(|e| e.into_inner());
        cuts.get(since as usize..).and_then(|c| c.iter().copied().min())
    }
}
