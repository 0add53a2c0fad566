//! Crash-state exploration: a [`Recorder`] decorator logs every write and sync a backend
//! sees, so the images a power loss could leave behind can be built from "durable" and
//! "live" state; [`explore`] runs seeded random workloads, materialises thousands of such
//! images through a [`Harness`](crate::Harness) and checks the five recovery properties
//! of the design brief on each.
//!
//! The crash model (docs/FORMAT.md, section 5): everything covered by a successful sync
//! survives; each later write may be lost, land whole, or land torn, independently per
//! 512-byte sector of the file and in any order. A crash state is therefore the
//! [`Snapshot::durable`] image plus any subset of the pending writes' [`Piece`]s, applied
//! in any order, with at most one of them torn (only a prefix of it lands).
//!
//! That model takes the backend's word for durability: a `sync` that returned `Ok` is
//! logged as durable. Where the harness can simulate a power loss
//! ([`Harness::power_loss`](crate::Harness::power_loss), as `MemHarness` does), the
//! explorer also cuts the power through it at each [`Step::Crash`] and after the last
//! step, and fails (property "durability") unless the backend kept every byte its
//! successful syncs covered: so a backend whose `sync` does nothing is caught.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use seglog_core::{AlignedBuf, SegmentIo};

use crate::{Decorator, decorate_segment_io};

mod check;
mod explore;
mod workload;

pub use explore::{Case, CrashPoint, ExploreStats, check_case, explore};
pub use workload::{Step, Workload};

/// The unit in which unsynced writes persist: pieces of a write split at multiples of
/// this many bytes of the file persist independently of each other.
pub const SECTOR: u64 = 512;

/// One backend call that changes or persists the stored bytes, as [`Recorder`] logs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `write_at(offset, data)`, successful or not (after a failure any part may have landed).
    Write {
        /// Where.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// A `sync()` that returned `Ok`: every earlier write is durable.
    Sync,
    /// A simulated power loss left exactly these bytes on disk, logged with
    /// [`Recording::crashed`]: earlier writes that are not in them are gone.
    Crash {
        /// The whole segment after the crash.
        image: Vec<u8>,
    },
}

#[derive(Debug)]
struct Log {
    initial: Vec<u8>,
    events: Vec<Event>,
}

/// The shared log of a [`Recorder`] and its clones, without any backend handle: keeping
/// it does not keep a file open or its writer lock held.
#[derive(Clone, Debug)]
pub struct Recording(Arc<Mutex<Log>>);

impl Recording {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many events have been logged so far.
    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// True if nothing has been logged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A recorder of another handle on the same segment (a writer reopened after `drop`),
    /// logging into this log.
    pub fn recorder<B: SegmentIo>(&self, inner: B) -> Recorder<B> {
        Recorder { inner: Arc::new(inner), log: self.clone() }
    }

    /// Logs that a simulated power loss left `image` on disk (the caller stored it behind
    /// the backend's back): it is the durable state from here on.
    pub fn crashed(&self, image: Vec<u8>) {
        self.lock().events.push(Event::Crash { image });
    }

    /// A copy of the events logged so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// The state a power loss right after the first `at` events would find: the bytes
    /// durable as of the last sync among them, and the writes after that sync.
    pub fn snapshot(&self, at: usize) -> Snapshot {
        let log = self.lock();
        let mut durable = log.initial.clone();
        let mut pending: Vec<(u64, Vec<u8>)> = Vec::new();
        for event in log.events.iter().take(at) {
            match event {
                Event::Write { offset, data } => pending.push((*offset, data.clone())),
                Event::Sync => {
                    for (offset, data) in pending.drain(..) {
                        put(&mut durable, offset, &data);
                    }
                }
                Event::Crash { image } => {
                    durable.clone_from(image);
                    pending.clear();
                }
            }
        }
        Snapshot { durable, pending }
    }
}

/// Copies `data` into `image` at `offset`, clipped to the image.
fn put(image: &mut [u8], offset: u64, data: &[u8]) {
    let at = (offset as usize).min(image.len());
    let n = data.len().min(image.len() - at);
    image[at..at + n].copy_from_slice(&data[..n]);
}

/// Wraps a backend and logs every `write_at` (offset and bytes) and every successful
/// `sync`, passing each call through unchanged. Clones share the log.
#[derive(Debug)]
pub struct Recorder<B> {
    inner: Arc<B>,
    log: Recording,
}

impl<B> Clone for Recorder<B> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner), log: self.log.clone() }
    }
}

impl<B: SegmentIo> Recorder<B> {
    /// Wraps `inner`, taking its stored bytes now as the durable starting image.
    pub fn new(inner: B) -> io::Result<Self> {
        let size = usize::try_from(inner.size()).map_err(io::Error::other)?;
        let mut buf = AlignedBuf::new();
        // Direct I/O needs an aligned buffer, even for this one read.
        let region = buf.region(size, inner.alignment());
        inner.read_at(0, region)?;
        let initial = region.to_vec();
        Ok(Self { inner: Arc::new(inner), log: Recording(Arc::new(Mutex::new(Log { initial, events: Vec::new() }))) })
    }

    /// The log, detached from the backend handle: keep this, not a clone of the recorder,
    /// to let the handle (and a file backend's writer lock) go with the writer.
    pub fn recording(&self) -> Recording {
        self.log.clone()
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl<B: SegmentIo> Decorator for Recorder<B> {
    type Inner = B;

    fn inner(&self) -> &B {
        &self.inner
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.log.lock().events.push(Event::Write { offset, data: data.to_vec() });
        self.inner.write_at(offset, data)
    }

    fn sync(&self) -> io::Result<()> {
        self.inner.sync()?;
        self.log.lock().events.push(Event::Sync);
        Ok(())
    }
}
decorate_segment_io!(Recorder);

/// A sector-sized piece of a pending write: the unit that persists or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Which pending write, counted from 0 after the last sync.
    pub write: usize,
    /// Where the piece starts in the file.
    pub offset: u64,
    /// Its length: up to the next sector boundary or the end of the write.
    pub len: usize,
}

/// A piece that reached the disk in a crash state; `prefix` is `Some(n)` if it was torn
/// and only its first `n` bytes landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Landed {
    /// Which pending write.
    pub write: usize,
    /// Where the piece starts in the file (identifies it within the write).
    pub offset: u64,
    /// `Some(n)`: torn, only the first `n` bytes landed.
    pub prefix: Option<usize>,
}

/// What a power loss at one moment finds: the durable bytes and the writes not yet synced.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The stored bytes as of the last successful sync.
    pub durable: Vec<u8>,
    /// The writes after it, in order, as (offset, bytes).
    pub pending: Vec<(u64, Vec<u8>)>,
}

impl Snapshot {
    /// Every pending write split at [`SECTOR`] boundaries of the file, in write order.
    pub fn pieces(&self) -> Vec<Piece> {
        let mut out = Vec::new();
        for (write, (offset, data)) in self.pending.iter().enumerate() {
            let end = offset + data.len() as u64;
            let mut at = *offset;
            while at < end {
                let next = ((at / SECTOR + 1) * SECTOR).min(end);
                out.push(Piece { write, offset: at, len: (next - at) as usize });
                at = next;
            }
        }
        out
    }

    /// The piece `landed` names, if this snapshot has it.
    pub fn piece(&self, landed: &Landed) -> Option<Piece> {
        let (offset, data) = self.pending.get(landed.write)?;
        let end = offset + data.len() as u64;
        let ok = landed.offset >= *offset
            && landed.offset < end
            && (landed.offset == *offset || landed.offset.is_multiple_of(SECTOR));
        ok.then(|| {
            let next = ((landed.offset / SECTOR + 1) * SECTOR).min(end);
            Piece { write: landed.write, offset: landed.offset, len: (next - landed.offset) as usize }
        })
    }

    /// The crash image: the durable bytes with the `landed` pieces applied in order (a
    /// torn one only up to its prefix). Pieces this snapshot does not have are skipped.
    pub fn image(&self, landed: &[Landed]) -> Vec<u8> {
        let mut image = self.durable.clone();
        for l in landed {
            let Some(p) = self.piece(l) else { continue };
            let (offset, data) = &self.pending[p.write];
            let from = (p.offset - offset) as usize;
            let n = l.prefix.map_or(p.len, |k| k.min(p.len));
            put(&mut image, p.offset, &data[from..from + n]);
        }
        image
    }
}
