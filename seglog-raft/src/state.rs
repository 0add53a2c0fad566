//! What the store, its readers and its flush thread share.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Mutex, MutexGuard};

use openraft::RaftTypeConfig;
use openraft::alias::LogIdOf;
use openraft::entry::RaftEntry;
use seglog_core::{LogReader, SegmentIo};
use serde::de::DeserializeOwned;

use crate::index::PosIndex;
use crate::meta::RaftMeta;

/// The store's state, behind one lock.
///
/// Reads hold the lock while they read from the log, and the flush thread takes it before
/// it cuts the log, so a reader never reads a position a truncation is rewriting.
pub(crate) struct State<C: RaftTypeConfig, B: SegmentIo> {
    /// The vote, committed id and purge watermark as the store has them (durable except
    /// `committed`, which is saved best effort with the next write of the meta file).
    pub meta: RaftMeta<C>,
    /// The last entry appended (maybe purged since), synced or not.
    pub last: Option<LogIdOf<C>>,
    /// Entries appended but not yet durable, which the log's readers cannot see yet:
    /// index -> (append sequence number, entry).
    pub pending: BTreeMap<u64, (u64, C::Entry)>,
    /// Where each durable entry is in the log.
    pub index: PosIndex,
    /// Reads the log's durable records.
    pub reader: LogReader<B>,
    /// Why the store stopped, after a failed write: every later call fails with it.
    pub poison: Option<String>,
}

/// The lock around [`State`].
pub(crate) struct Shared<C: RaftTypeConfig, B: SegmentIo> {
    state: Mutex<State<C, B>>,
}

impl<C: RaftTypeConfig, B: SegmentIo> Shared<C, B> {
    pub fn new(state: State<C, B>) -> Self {
        Self { state: Mutex::new(state) }
    }

    pub fn lock(&self) -> MutexGuard<'_, State<C, B>> {
        // A panic while holding it leaves nothing half-changed that a read could trip on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<C: RaftTypeConfig, B: SegmentIo> State<C, B>
where
    C::Entry: DeserializeOwned + Clone,
{
    /// Fails once the store is poisoned.
    pub fn check(&self) -> io::Result<()> {
        match &self.poison {
            None => Ok(()),
            Some(cause) => Err(poisoned(cause)),
        }
    }

    /// The entries in `[start, end)` that the log holds: from the purge watermark to the last
    /// entry appended, stopping at the first not held.
    pub fn read_range(&mut self, start: u64, end: u64) -> io::Result<Vec<C::Entry>> {
        self.check()?;
        let purged_next = self.meta.purged.as_ref().map_or(0, |p| p.index() + 1);
        let last_next = self.last.as_ref().map_or(0, |l| l.index() + 1);
        // Nothing lies below the first entry held: start there, not at 0, after a first
        // append at a high index.
        let held = [self.index.first(), self.pending.keys().next().copied()].into_iter().flatten().min();
        let start = start.max(purged_next).max(held.unwrap_or(0));
        let end = end.min(last_next);
        let mut out = Vec::with_capacity(end.saturating_sub(start).min(4096) as usize);
        for i in start..end {
            match self.read_one(i)? {
                Some(e) => out.push(e),
                // Only the front may be missing (a purge not yet applied to the segments is
                // not a gap: the index still holds those entries).
                None if out.is_empty() => continue,
                None => break,
            }
        }
        Ok(out)
    }

    fn read_one(&mut self, i: u64) -> io::Result<Option<C::Entry>> {
        if let Some((_, e)) = self.pending.get(&i) {
            return Ok(Some(e.clone()));
        }
        let Some(position) = self.index.position(i, &mut self.reader)? else { return Ok(None) };
        let record = self.reader.read_record(position).map_err(io::Error::other)?;
        let entry: C::Entry = decode(&record, record.position())?;
        if entry.index() != i {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("log position {position} holds entry {}, expected {i}", entry.index()),
            ));
        }
        Ok(Some(entry))
    }
}

/// Decodes an entry from a record's payload.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], position: u64) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| {
        io::Error::new(io::ErrorKind::InvalidData, format!("cannot decode the entry at log position {position}: {e}"))
    })
}

/// The error every call gets once the store is poisoned.
pub(crate) fn poisoned(cause: &str) -> io::Error {
    io::Error::other(format!("the raft log store is poisoned by an earlier failure; reopen it: {cause}"))
}
