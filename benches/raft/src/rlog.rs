//! databend's `raft-log` crate behind openraft's log storage, wired as databend-meta wires it
//! (`MetaRaftLog`): `append` queues the entries and a synced flush whose callback is
//! openraft's; `save_vote` queues the vote and a synced flush and waits for it; truncation
//! and purge are records ordered before every later synced flush. Entries are
//! postcard-encoded, as in seglog-raft.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex};

use openraft::alias::{LogIdOf, VoteOf};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use openraft_memstore::TypeConfig as C;
use raft_log::api::raft_log_writer::RaftLogWriter;
use raft_log::codeq::{Decode, Encode};
use raft_log::{Config, RaftLog, Types};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A serde value stored by raft-log as postcard bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pc<T>(pub T);

impl<T: Serialize> Encode for Pc<T> {
    fn encode<W: io::Write>(&self, w: W) -> io::Result<usize> {
        postcard::to_stdvec(&self.0).map_err(io::Error::other)?.encode(w)
    }
}

impl<T: DeserializeOwned> Decode for Pc<T> {
    fn decode<R: io::Read>(r: R) -> io::Result<Self> {
        let bytes = Vec::<u8>::decode(r)?;
        postcard::from_bytes(&bytes).map(Pc).map_err(io::Error::other)
    }
}

/// What raft-log calls when a flush is done: openraft's callback, or a waiting task.
pub enum Done {
    Flushed(IOFlushed<C>),
    Wait(tokio::sync::oneshot::Sender<io::Result<()>>),
}

impl raft_log::Callback for Done {
    fn send(self, res: io::Result<()>) {
        match self {
            Done::Flushed(cb) => cb.io_completed(res),
            Done::Wait(tx) => {
                let _ = tx.send(res);
            }
        }
    }
}

/// raft-log's types for openraft-memstore's type configuration.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct T;

impl Types for T {
    type LogId = Pc<LogIdOf<C>>;
    type LogPayload = Vec<u8>;
    type Vote = Pc<VoteOf<C>>;
    type Callback = Done;
    type UserData = ();

    fn log_index(log_id: &Self::LogId) -> u64 {
        log_id.0.index()
    }

    fn payload_size(payload: &Self::LogPayload) -> u64 {
        payload.len() as u64
    }
}

/// openraft log storage on a raft-log directory; the reader is a clone.
#[derive(Clone)]
pub struct RaftLogStore {
    log: Arc<Mutex<RaftLog<T>>>,
}

impl RaftLogStore {
    /// Opens (or creates) the raft-log in `dir`, with raft-log's default configuration.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let log = RaftLog::open(Arc::new(Config::new(dir.display())))?;
        Ok(Self { log: Arc::new(Mutex::new(log)) })
    }
}

impl RaftLogReader<C> for RaftLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<<C as openraft::RaftTypeConfig>::Entry>> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e + 1,
            Bound::Excluded(&e) => e,
            Bound::Unbounded => u64::MAX,
        };
        let log = self.log.lock().unwrap();
        log.read(start, end)
            .map(|r| r.and_then(|(_, payload)| postcard::from_bytes(&payload).map_err(io::Error::other)))
            .collect()
    }

    async fn read_vote(&mut self) -> io::Result<Option<VoteOf<C>>> {
        Ok(self.log.lock().unwrap().log_state().vote().map(|v| v.0.clone()))
    }
}

impl RaftLogStorage<C> for RaftLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> io::Result<LogState<C>> {
        let log = self.log.lock().unwrap();
        let state = log.log_state();
        let purged = state.purged().map(|p| p.0.clone());
        let last = state.last().map(|l| l.0.clone()).or_else(|| purged.clone());
        Ok(LogState { last_purged_log_id: purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<C>) -> io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let mut log = self.log.lock().unwrap();
            log.save_vote(Pc(vote.clone()))?;
            log.flush(true, Some(Done::Wait(tx)))?;
        }
        rx.await.map_err(io::Error::other)?
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<C>) -> io::Result<()>
    where
        I: IntoIterator<Item = <C as openraft::RaftTypeConfig>::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let encoded = entries
            .into_iter()
            .map(|e| Ok((Pc(e.log_id()), postcard::to_stdvec(&e).map_err(io::Error::other)?)))
            .collect::<io::Result<Vec<_>>>()?;
        let mut log = self.log.lock().unwrap();
        log.append(encoded)?;
        log.flush(true, Some(Done::Flushed(callback)))
    }

    async fn truncate_after(&mut self, last: Option<LogIdOf<C>>) -> io::Result<()> {
        let from = last.map_or(0, |l| l.index() + 1);
        let mut log = self.log.lock().unwrap();
        if log.log_state().last().is_none_or(|l| from > l.0.index()) {
            return Ok(());
        }
        log.truncate(from).map(drop)
    }

    async fn purge(&mut self, log_id: LogIdOf<C>) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        if log.log_state().purged().is_some_and(|p| p.0 >= log_id) {
            return Ok(());
        }
        log.purge(Pc(log_id)).map(drop)
    }
}
