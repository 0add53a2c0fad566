//! The flush thread: the log's only writer. It takes commands in the order the store sent
//! them, so every write (entries, vote, truncation, purge) reaches the disk in that order;
//! appends queued together share one `sync` (group commit).

use std::io;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use futures_channel::oneshot;
use openraft::RaftTypeConfig;
use openraft::alias::{LogIdOf, VoteOf};
use openraft::storage::IOFlushed;
use seglog_core::{Log, LogDir, SegmentIo};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::meta::RaftMeta;
use crate::state::{Shared, State, poisoned};

/// Replies to a command the store waits for.
pub(crate) type Done = oneshot::Sender<io::Result<()>>;

/// What the flush thread does, in order.
pub(crate) enum Cmd<C: RaftTypeConfig> {
    /// Append these encoded entries (index, bytes), then report through `callback` once durable.
    Append { seq: u64, entries: Vec<(u64, Vec<u8>)>, callback: IOFlushed<C> },
    /// Make everything before durable, then save this vote.
    Vote { vote: VoteOf<C>, done: Done },
    /// Drop entries from `from` on, durably.
    Truncate { from: u64, done: Done },
    /// Save the new purge watermark, then drop what lies at or below it.
    Purge { purged: LogIdOf<C>, done: Done },
}

/// An append waiting in a group commit: its sequence number, entries and callback.
type Queued<C> = (u64, Vec<(u64, Vec<u8>)>, IOFlushed<C>);

pub(crate) struct Worker<C: RaftTypeConfig, B: SegmentIo, D: LogDir<Io = B>> {
    pub log: Log<B, D>,
    pub shared: Arc<Shared<C, B>>,
    pub rx: Receiver<Cmd<C>>,
}

impl<C, B, D> Worker<C, B, D>
where
    C: RaftTypeConfig,
    VoteOf<C>: Serialize + DeserializeOwned,
    LogIdOf<C>: Serialize + DeserializeOwned,
    B: SegmentIo,
    D: LogDir<Io = B>,
{
    pub fn run(mut self) {
        while let Ok(first) = self.rx.recv() {
            // Group commit: take every append queued behind the first, write them all, sync once.
            let mut batch = Vec::new();
            let mut next = Some(first);
            let mut other = None;
            while let Some(cmd) = next.take() {
                match cmd {
                    Cmd::Append { seq, entries, callback } => batch.push((seq, entries, callback)),
                    cmd => {
                        other = Some(cmd);
                        break;
                    }
                }
                next = self.rx.try_recv().ok();
            }
            if !batch.is_empty() {
                self.append(batch);
            }
            match other {
                Some(Cmd::Vote { vote, done }) => {
                    let _ = done.send(self.guarded(|w| w.save(|m| m.vote = Some(vote))));
                }
                Some(Cmd::Truncate { from, done }) => {
                    let _ = done.send(self.guarded(|w| w.truncate(from)));
                }
                Some(Cmd::Purge { purged, done }) => {
                    let _ = done.send(self.guarded(|w| w.purge(purged)));
                }
                Some(Cmd::Append { .. }) | None => {}
            }
        }
        // The store was dropped: save the committed id it had, best effort.
        let _ = self.guarded(|w| w.save(|_| {}));
    }

    fn append(&mut self, batch: Vec<Queued<C>>) {
        let max_seq = batch.iter().map(|b| b.0).max().unwrap_or(0);
        let mut written = Vec::new();
        let mut callbacks = Vec::with_capacity(batch.len());
        let mut result = self.guarded(|_| Ok(()));
        for (_, entries, callback) in batch {
            callbacks.push(callback);
            if result.is_err() {
                continue;
            }
            result = self.guarded(|w| w.write(&entries, &mut written));
        }
        if result.is_ok() {
            result = self.guarded(|w| w.log.sync().map(drop).map_err(io::Error::other));
        }
        if result.is_ok() {
            result = self.guarded(|w| {
                let mut state = w.shared.lock();
                for &(index, position) in &written {
                    state.index.push(index, position)?;
                }
                // Readers now find these in the log; entries appended since stay in memory.
                state.pending.retain(|_, (seq, _)| *seq > max_seq);
                Ok(())
            });
        }
        for callback in callbacks {
            let r = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            callback.io_completed(r);
        }
    }

    /// Appends encoded entries to the log, cutting it first if they overwrite entries.
    fn write(&mut self, entries: &[(u64, Vec<u8>)], written: &mut Vec<(u64, u64)>) -> io::Result<()> {
        for (index, bytes) in entries {
            let next = written.last().map(|w| w.0 + 1).or_else(|| self.shared.lock().index.next());
            if next.is_some_and(|n| *index < n) {
                // Entries written in this batch but not yet indexed: index them before the cut.
                self.log.sync().map_err(io::Error::other)?;
                {
                    let mut state = self.shared.lock();
                    for &(i, p) in written.iter() {
                        state.index.push(i, p)?;
                    }
                }
                written.clear();
                self.truncate(*index)?;
            }
            let (position, _) = self.log.append(bytes).map_err(io::Error::other)?;
            written.push((*index, position));
        }
        Ok(())
    }

    /// Replaces the meta file with the store's current values changed by `change`, and
    /// then makes the change the store's (so a later write, even one made at close after a
    /// caller gave up waiting, never writes an older vote or watermark).
    fn save(&mut self, change: impl FnOnce(&mut RaftMeta<C>)) -> io::Result<()> {
        // Every earlier write is durable before the vote is: never a vote without its log.
        self.log.sync().map_err(io::Error::other)?;
        let mut meta = self.shared.lock().meta.clone();
        change(&mut meta);
        RaftMeta::<C>::store(&meta.encode()?, self.log.dir())?;
        let mut state = self.shared.lock();
        state.meta.vote = meta.vote;
        state.meta.purged = meta.purged;
        Ok(())
    }

    fn truncate(&mut self, from: u64) -> io::Result<()> {
        let mut state = self.shared.lock();
        let (Some(first), Some(next)) = (state.index.first(), state.index.next()) else { return Ok(()) };
        if from >= next {
            return Ok(());
        }
        let position = if from <= first {
            self.log.start_position()
        } else {
            let State { index, reader, .. } = &mut *state;
            index.position(from, reader)?.ok_or_else(|| io::Error::other(format!("entry {from} not in the log")))?
        };
        // The lock is held: no reader reads the positions being cut.
        self.log.truncate(position).map_err(io::Error::other)?;
        state.index.truncate(from);
        Ok(())
    }

    fn purge(&mut self, purged: LogIdOf<C>) -> io::Result<()> {
        let upto = purged.index();
        // The watermark is durable before any segment goes.
        self.save(|m| m.purged = Some(purged))?;
        let next = self.shared.lock().index.next();
        match next {
            None => Ok(()),
            Some(next) if upto + 1 >= next => {
                // Purged past the last entry: empty the log, so the next entry (upto + 1 or
                // later) starts it again without a gap.
                self.truncate(0)?;
                self.log.purge_before(self.log.end_position()).map_err(io::Error::other)?;
                self.shared.lock().index.clear();
                Ok(())
            }
            Some(_) => {
                let point = self.shared.lock().index.purge_point(upto + 1);
                if let Some(point) = point {
                    self.log.purge_before(point).map_err(io::Error::other)?;
                }
                self.shared.lock().index.purge(upto);
                Ok(())
            }
        }
    }

    /// Runs a write; a failure poisons the store (the log may hold what a crash would
    /// leave, so only reopening sorts it out).
    fn guarded(&mut self, step: impl FnOnce(&mut Self) -> io::Result<()>) -> io::Result<()> {
        if let Some(cause) = &self.shared.lock().poison {
            return Err(poisoned(cause));
        }
        let result = step(self);
        if let Err(e) = &result {
            self.shared.lock().poison = Some(e.to_string());
        }
        result
    }
}
