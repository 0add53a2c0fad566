//! [`LogStore`]: openraft's log storage over a seglog [`Log`].

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use futures_channel::oneshot;
use openraft::alias::{LogIdOf, VoteOf};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, RaftTypeConfig};
use seglog_core::{FsDir, Log, LogDir, LogOptions, OpenSegment, SegmentIo};
use seglog_file::FileIo;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::index::PosIndex;
use crate::meta::RaftMeta;
use crate::state::{Shared, State, decode};
use crate::worker::{Cmd, Worker};

/// openraft log storage ([`RaftLogStorage`]) over a seglog [`Log`] in one directory.
///
/// Each entry is one record of the log, encoded with postcard; the vote, the committed id
/// and the purge watermark are in [`META_FILE`](crate::META_FILE) beside the segments. A
/// flush thread owns the log: [`append`](RaftLogStorage::append) hands it the entries and
/// returns at once (they are readable from memory until durable), and the thread writes
/// every append queued behind the one it is syncing, syncs once, and then calls their
/// callbacks. `save_vote`, `truncate_after` and `purge` go through the same queue, so
/// every write reaches the disk in the order it was made, and each returns once durable.
///
/// A failed write poisons the store: the callbacks waiting on it get the error and every
/// later call fails. Reopen the directory to recover.
pub struct LogStore<C: RaftTypeConfig, B: SegmentIo = FileIo, D: LogDir<Io = B> = FsDir<B>> {
    shared: Arc<Shared<C, B>>,
    tx: Option<mpsc::Sender<Cmd<C>>>,
    thread: Option<JoinHandle<()>>,
    seq: u64,
    _dir: PhantomData<fn() -> D>,
}

/// Reads a [`LogStore`]'s entries and vote from any task; sees every entry appended,
/// durable or not, as soon as `append` returns.
pub struct LogStoreReader<C: RaftTypeConfig, B: SegmentIo = FileIo> {
    shared: Arc<Shared<C, B>>,
}

impl<C: RaftTypeConfig, B: SegmentIo> Clone for LogStoreReader<C, B> {
    fn clone(&self) -> Self {
        Self { shared: Arc::clone(&self.shared) }
    }
}

impl<C: RaftTypeConfig, B: SegmentIo> fmt::Debug for LogStoreReader<C, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogStoreReader").finish_non_exhaustive()
    }
}

impl<C: RaftTypeConfig, B: SegmentIo, D: LogDir<Io = B>> fmt::Debug for LogStore<C, B, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogStore").field("seq", &self.seq).finish_non_exhaustive()
    }
}

impl<C, B> LogStore<C, B, FsDir<B>>
where
    C: RaftTypeConfig,
    C::Entry: Serialize + DeserializeOwned + Clone,
    VoteOf<C>: Serialize + DeserializeOwned,
    LogIdOf<C>: Serialize + DeserializeOwned,
    B: OpenSegment + Send + Sync + 'static,
{
    /// Opens the store in directory `dir`, creating it if absent and otherwise recovering
    /// the log (as [`Log::open`] does) and reading the vote and watermarks.
    pub fn open(dir: impl AsRef<Path>, options: LogOptions) -> io::Result<Self> {
        let path = dir.as_ref();
        let fs = FsDir::new(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Self::open_in(fs, options)
    }
}

impl<C, B, D> LogStore<C, B, D>
where
    C: RaftTypeConfig,
    C::Entry: Serialize + DeserializeOwned + Clone,
    VoteOf<C>: Serialize + DeserializeOwned,
    LogIdOf<C>: Serialize + DeserializeOwned,
    B: SegmentIo + Send + Sync + 'static,
    D: LogDir<Io = B>,
{
    /// Opens the store in `dir`; see [`open`](LogStore::open).
    ///
    /// Opening reads the meta file, the log's first record and its tail segment (which the
    /// log's own recovery walks too): O(segments + bytes in the tail), not O(entries). An
    /// older segment's entries are located the first time one of them is read.
    pub fn open_in(dir: D, options: LogOptions) -> io::Result<Self> {
        let mut log = Log::open_in(dir, options).map_err(io::Error::other)?;
        let mut meta = RaftMeta::<C>::load(log.dir())?;
        let mut reader = log.reader();
        let start = log.start_position();
        let mut index = PosIndex::default();
        if log.end_position() > start {
            let record = reader.read_record(start).map_err(io::Error::other)?;
            let first: C::Entry = decode(&record, start)?;
            // A record may pin zero-copy bytes while it lives; let it go before reading on.
            drop(record);
            let segments: Vec<_> = log.segments().iter().map(|s| (s.first_position, s.records)).collect();
            index = PosIndex::build(first.index(), &segments, &mut reader)?;
        }
        let purged_next = meta.purged.as_ref().map_or(0, |p| p.index() + 1);
        if index.next().is_some_and(|next| next <= purged_next) {
            // A purge past the last entry was durable but the log not yet emptied (a crash
            // came between): empty it now, so the next entry starts it without a gap.
            log.truncate(start).map_err(io::Error::other)?;
            index.clear();
        }
        let last = match index.next() {
            Some(next) => Some(read_log_id::<C, B>(&mut index, &mut reader, next - 1)?),
            None => None,
        };
        meta.committed = checked_committed::<C, B>(meta.committed.take(), &meta, &last, &mut index, &mut reader)?;
        let state = State { meta, last, pending: Default::default(), index, reader, poison: None };
        let shared = Arc::new(Shared::new(state));
        let (tx, rx) = mpsc::channel();
        let worker = Worker { log, shared: Arc::clone(&shared), rx };
        let thread = std::thread::Builder::new()
            .name("seglog-raft-flush".into())
            .spawn(move || worker.run())
            .map_err(|e| io::Error::new(e.kind(), format!("starting the flush thread: {e}")))?;
        Ok(Self { shared, tx: Some(tx), thread: Some(thread), seq: 0, _dir: PhantomData })
    }

    fn send(&self, cmd: Cmd<C>) -> io::Result<()> {
        let tx = self.tx.as_ref().ok_or_else(|| io::Error::other("the store is closed"))?;
        tx.send(cmd).map_err(|_| io::Error::other("the flush thread has stopped"))
    }

    /// Sends a command the caller waits for, and waits.
    async fn call(&self, cmd: impl FnOnce(oneshot::Sender<io::Result<()>>) -> Cmd<C>) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.send(cmd(done))?;
        wait.await.map_err(|_| io::Error::other("the flush thread has stopped"))?
    }
}

/// Reads the log id of entry `i` from the log.
fn read_log_id<C, B>(index: &mut PosIndex, reader: &mut seglog_core::LogReader<B>, i: u64) -> io::Result<LogIdOf<C>>
where
    C: RaftTypeConfig,
    C::Entry: DeserializeOwned + Clone,
    B: SegmentIo,
{
    let position =
        index.position(i, reader)?.ok_or_else(|| io::Error::other(format!("entry {i} is not in the log")))?;
    let record = reader.read_record(position).map_err(io::Error::other)?;
    let entry: C::Entry = decode(&record, position)?;
    Ok(entry.log_id())
}

/// The saved committed id if the log still backs it: committed ids are saved best effort,
/// so one may be ahead of what a crash kept of the log, and is then forgotten.
fn checked_committed<C, B>(
    committed: Option<LogIdOf<C>>,
    meta: &RaftMeta<C>,
    last: &Option<LogIdOf<C>>,
    index: &mut PosIndex,
    reader: &mut seglog_core::LogReader<B>,
) -> io::Result<Option<LogIdOf<C>>>
where
    C: RaftTypeConfig,
    C::Entry: DeserializeOwned + Clone,
    B: SegmentIo,
{
    let Some(c) = committed else { return Ok(None) };
    if meta.purged.as_ref().is_some_and(|p| c.index() <= p.index()) {
        return Ok(Some(c));
    }
    if last.as_ref().is_none_or(|l| c.index() > l.index()) {
        return Ok(None);
    }
    if index.position(c.index(), reader)?.is_none() {
        return Ok(None);
    }
    let held = read_log_id::<C, B>(index, reader, c.index())?;
    Ok((held == c).then_some(c))
}

impl<C: RaftTypeConfig, B: SegmentIo, D: LogDir<Io = B>> Drop for LogStore<C, B, D> {
    fn drop(&mut self) {
        // The thread finishes what was queued, saves the committed id and closes the log,
        // so the directory is free again when this returns.
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<C, B> RaftLogReader<C> for LogStoreReader<C, B>
where
    C: RaftTypeConfig,
    C::Entry: Serialize + DeserializeOwned + Clone,
    VoteOf<C>: Serialize + DeserializeOwned,
    LogIdOf<C>: Serialize + DeserializeOwned,
    B: SegmentIo + Send + Sync + 'static,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + fmt::Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, io::Error> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => u64::MAX,
        };
        self.shared.lock().read_range(start, end)
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<C>>, io::Error> {
        Ok(self.shared.lock().meta.vote.clone())
    }
}

impl<C, B, D> RaftLogStorage<C> for LogStore<C, B, D>
where
    C: RaftTypeConfig,
    C::Entry: Serialize + DeserializeOwned + Clone,
    VoteOf<C>: Serialize + DeserializeOwned,
    LogIdOf<C>: Serialize + DeserializeOwned,
    B: SegmentIo + Send + Sync + 'static,
    D: LogDir<Io = B>,
{
    type LogReader = LogStoreReader<C, B>;

    async fn get_log_state(&mut self) -> Result<LogState<C>, io::Error> {
        let state = self.shared.lock();
        state.check()?;
        let purged = state.meta.purged.clone();
        let last = state.last.clone().max(purged.clone());
        Ok(LogState { last_purged_log_id: purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        LogStoreReader { shared: Arc::clone(&self.shared) }
    }

    async fn save_vote(&mut self, vote: &VoteOf<C>) -> Result<(), io::Error> {
        self.shared.lock().check()?;
        // The flush thread makes it the store's vote once durable.
        let vote = vote.clone();
        self.call(|done| Cmd::Vote { vote, done }).await
    }

    async fn save_committed(&mut self, committed: Option<LogIdOf<C>>) -> Result<(), io::Error> {
        // Best effort, as openraft allows: written with the next vote or purge, or at close.
        self.shared.lock().meta.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogIdOf<C>>, io::Error> {
        Ok(self.shared.lock().meta.committed.clone())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<C>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        let mut held = Vec::new();
        for entry in entries {
            let bytes = postcard::to_stdvec(&entry).map_err(io::Error::other)?;
            encoded.push((entry.index(), bytes));
            held.push(entry);
        }
        self.seq += 1;
        let seq = self.seq;
        {
            let mut state = self.shared.lock();
            state.check()?;
            if let Some(last) = held.last() {
                state.last = Some(last.log_id());
                // Entries past the new last are overwritten: they must not be read again.
                let _ = state.pending.split_off(&(last.index() + 1));
            }
            for entry in held {
                state.pending.insert(entry.index(), (seq, entry));
            }
        }
        self.send(Cmd::Append { seq, entries: encoded, callback })
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogIdOf<C>>) -> Result<(), io::Error> {
        let from = last_log_id.as_ref().map_or(0, |l| l.index() + 1);
        {
            let mut state = self.shared.lock();
            state.check()?;
            if state.last.as_ref().is_none_or(|l| from > l.index()) {
                return Ok(());
            }
            // Readers stop seeing the cut entries now; the log drops them before this returns.
            let _ = state.pending.split_off(&from);
            state.last = last_log_id;
        }
        self.call(|done| Cmd::Truncate { from, done }).await
    }

    async fn purge(&mut self, log_id: LogIdOf<C>) -> Result<(), io::Error> {
        {
            let state = self.shared.lock();
            state.check()?;
            if state.meta.purged.as_ref().is_some_and(|p| *p >= log_id) {
                return Ok(());
            }
        }
        let upto = log_id.index();
        // The flush thread makes it the store's watermark once durable.
        self.call(|done| Cmd::Purge { purged: log_id, done }).await?;
        let mut state = self.shared.lock();
        let kept = state.pending.split_off(&(upto + 1));
        state.pending = kept;
        Ok(())
    }
}
