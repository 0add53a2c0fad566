//! The flushed offset and the truncation generation: what readers may see, as a seqlock.
//!
//! The protocol, in the order each side runs it (the letters name the steps in comments):
//!
//! - Writer, sync: make bytes durable, then **W-publish**: store the new end (`Release`).
//! - Writer, truncate: **W-lower** the end to the cut, **W-bump** the generation
//!   (`Release`), **W-fence** (`fence(SeqCst)`), **W-scan** the readers' pins and wait for
//!   those in the cut (`Acquire`); only then change a byte at or past the cut.
//! - Reader ([`FlushedOffset::read_stable`], the one place this is written): **R-gen**
//!   load the generation (`Acquire`), **R-end** load the end (`Acquire`), read and verify
//!   bytes below it, **R-pin** (mapped records only) store the pin, **R-fence** (`fence
//!   (Acquire)`, `fence(SeqCst)` after a pin), **R-check** reload the generation; if it
//!   moved, drop the pin and start again.
//! - Reader, scan (`scan.rs`): the above once per window; for each later record in the
//!   bytes that read covered, only R-pin, R-fence and R-check against the generation it
//!   loaded ([`FlushedOffset::recheck`]): a truncation since then sends it back to the top.
//!
//! Loading the generation before the end is what makes the end belong to that generation:
//! the other order can pair an end from before a truncation with bytes from after it.

use std::sync::Arc;

use crate::sync::{AtomicU64, Mutex, Ordering, backoff, fence, lock};

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
    /// The pin of every reader that borrows record bytes from a mapping.
    pins: Mutex<Vec<Arc<PinSlot>>>,
    /// Truncations that found a pinned record in their cut and waited for it.
    waits: AtomicU64,
}

/// What a reader may see: the end of the durable records under one generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) generation: u64,
    pub(crate) end: u64,
}

/// One reader's claim on the bytes of the mapped record it has handed out: their end, or
/// [`UNPINNED`]. A truncation whose cut lies below that end waits until it is released.
/// Padded to its own cache lines so readers in different threads never contend.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct PinSlot(AtomicU64);

const UNPINNED: u64 = 0;

impl PinSlot {
    /// Claims bytes up to `end`; takes effect once the claim is re-checked ([`FlushedOffset::read_stable`]).
    fn hold(&self, end: u64) {
        // Relaxed: the SeqCst fence after it (R-fence) orders it before R-check.
        self.0.store(end, Ordering::Relaxed);
    }

    /// Drops the claim: the writer may now change the bytes.
    pub(crate) fn release(&self) {
        // Release: the reader's reads of the pinned bytes happen before the writer's W-scan
        // load that sees this (Acquire), and so before it changes them.
        self.0.store(UNPINNED, Ordering::Release);
    }
}

/// A registered [`PinSlot`]; dropping it unregisters.
#[derive(Debug)]
pub(crate) struct Pin {
    slot: Arc<PinSlot>,
    owner: FlushedOffset,
}

impl Pin {
    pub(crate) fn slot(&self) -> &PinSlot {
        &self.slot
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        lock(&self.owner.0.pins).retain(|p| !Arc::ptr_eq(p, &self.slot));
    }
}

impl FlushedOffset {
    pub(crate) fn new(start_offset: u64, offset: u64) -> Self {
        Self(Arc::new(Shared {
            start_offset,
            offset: AtomicU64::new(offset),
            generation: AtomicU64::new(0),
            cuts: Mutex::new(Vec::new()),
            pins: Mutex::new(Vec::new()),
            waits: AtomicU64::new(0),
        }))
    }

    /// A bound that never moves: readers of a sealed segment (one no writer appends to)
    /// see the records in `[start_offset, end)`, with no scan to find `end`.
    pub fn fixed(start_offset: u64, end: u64) -> Self {
        Self::new(start_offset, end)
    }

    /// The current flushed offset.
    pub fn load(&self) -> u64 {
        // Acquire: pairs with W-publish, so the bytes below it are visible.
        self.0.offset.load(Ordering::Acquire)
    }

    /// Where the segment's records start.
    pub fn start_offset(&self) -> u64 {
        self.0.start_offset
    }

    /// W-publish: the bytes below `offset` are durable.
    pub(crate) fn publish(&self, offset: u64) {
        // Release: publishes the writes below `offset` to readers that load it (Acquire).
        self.0.offset.store(offset, Ordering::Release);
    }

    /// How many truncations there have been. Bytes below the flushed offset never change
    /// while this stays the same.
    pub fn generation(&self) -> u64 {
        // Acquire: pairs with W-bump, so the lowered end is seen with it.
        self.0.generation.load(Ordering::Acquire)
    }

    /// How many truncations found a reader holding a zero-copy record in the cut region
    /// and waited for it to be dropped (a diagnostic; mapped backends only).
    pub fn truncation_waits(&self) -> u64 {
        self.0.waits.load(Ordering::Relaxed)
    }

    /// W-lower, W-bump, W-fence: announces a cut at `offset`, before any byte at or past
    /// it changes. Readers that start after this see at most `offset`; those mid-read see
    /// the new generation when they re-check, or are seen by [`wait_for_pins`](Self::wait_for_pins).
    pub(crate) fn cut(&self, offset: u64) {
        let mut cuts = lock(&self.0.cuts);
        self.0.offset.fetch_min(offset, Ordering::AcqRel);
        cuts.push(offset);
        // Release: a reader that loads this generation (R-gen, Acquire) then loads the
        // lowered end, never the old one.
        self.0.generation.store(cuts.len() as u64, Ordering::Release);
        // SeqCst fence: every byte the caller changes from here is ordered after the bump,
        // so a reader whose read saw a changed byte sees the bump at R-check (after its
        // R-fence); and with the readers' SeqCst R-fence, either W-scan sees a reader's pin
        // or that reader's R-check sees the bump (store-buffering needs SeqCst on both sides).
        fence(Ordering::SeqCst);
    }

    /// W-scan: waits until no reader pins a mapped record that ends past `from`. Call after
    /// [`cut`](Self::cut), before changing bytes at or past `from`. Deadlocks if the
    /// calling thread itself holds such a record.
    pub(crate) fn wait_for_pins(&self, from: u64) {
        // A snapshot: a reader registered later loads the new generation at its first read
        // (it locked `pins` after we did, and so after the bump).
        let pins: Vec<Arc<PinSlot>> = lock(&self.0.pins).clone();
        let mut waited = false;
        for pin in pins {
            let mut spins = 0;
            // Acquire: pairs with the reader's release, ordering its reads of the bytes
            // before our changes to them.
            while pin.0.load(Ordering::Acquire) > from {
                if !waited {
                    waited = true;
                    // Counted before waiting, so a test can see that the writer waits.
                    self.0.waits.fetch_add(1, Ordering::Relaxed);
                }
                backoff(spins);
                spins = spins.saturating_add(1);
            }
        }
    }

    /// A new pin slot for a reader that will borrow from a mapping.
    pub(crate) fn register_pin(&self) -> Pin {
        let slot = Arc::new(PinSlot(AtomicU64::new(UNPINNED)));
        lock(&self.0.pins).push(Arc::clone(&slot));
        Pin { slot, owner: self.clone() }
    }

    /// R-gen, R-end: the generation, then the end that belongs to it.
    #[inline]
    pub(crate) fn view(&self) -> View {
        // Acquire: pairs with W-bump, so `end` below is at most the cut of that generation.
        let generation = self.0.generation.load(Ordering::Acquire);
        // Acquire: pairs with W-publish, so the bytes below `end` are visible.
        let end = self.0.offset.load(Ordering::Acquire);
        View { generation, end }
    }

    /// The seqlock read, the one place it is written: runs `attempt` against a [`View`]
    /// until no truncation happened while it ran, and returns its result and that view.
    ///
    /// `attempt` returns its value and, for a zero-copy record, the end of the bytes to pin
    /// in `pin`; the pin is held when this returns `Ok` and must be released by the caller
    /// (the record's drop). Errors are re-checked too: an error seen while a truncation
    /// ran may be an artefact of it.
    #[inline]
    pub(crate) fn read_stable<T, E>(
        &self,
        pin: Option<&PinSlot>,
        mut attempt: impl FnMut(View) -> Result<(T, Option<u64>), E>,
    ) -> Result<(T, View), E> {
        loop {
            let view = self.view();
            let out = attempt(view);
            let claim = match (&out, pin) {
                (Ok((_, Some(end))), Some(slot)) => Some((slot, *end)),
                _ => None,
            };
            if self.recheck(view.generation, claim) {
                return out.map(|(value, _)| (value, view));
            }
        }
    }

    /// R-pin, R-fence, R-check: true if no truncation came since `generation` was loaded
    /// (R-gen) and what was read under it was read; with a `claim`, the pin also holds the
    /// bytes up to its end from now until released. The second half of
    /// [`read_stable`](Self::read_stable), and all a scan does per record it verified
    /// earlier under `generation` (`scan.rs`): one load when nothing was cut.
    #[inline]
    pub(crate) fn recheck(&self, generation: u64, claim: Option<(&PinSlot, u64)>) -> bool {
        match claim {
            Some((slot, end)) => {
                slot.hold(end);
                // SeqCst: orders the pin before R-check against W-bump and W-scan (see `cut`).
                fence(Ordering::SeqCst);
            }
            None => {
                // Acquire: if what was read saw a byte changed after W-bump, R-check below
                // sees the bump (pairs with the fence in `cut`).
                fence(Ordering::Acquire);
            }
        }
        // R-check. Relaxed: ordered by the fence above.
        if self.0.generation.load(Ordering::Relaxed) == generation {
            return true;
        }
        if let Some((slot, _)) = claim {
            // Not ours any more; a waiting truncation may go on.
            slot.release();
        }
        false
    }

    /// The lowest cut made since generation `since`, if any.
    pub(crate) fn lowest_cut_since(&self, since: u64) -> Option<u64> {
        let cuts = lock(&self.0.cuts);
        cuts.get(since as usize..).and_then(|c| c.iter().copied().min())
    }
}
