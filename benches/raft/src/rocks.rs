//! A RocksDB log store with the fsync pattern of openraft's RocksDB example
//! (`examples/log-rocks` in the openraft repository, which is not published for 0.10):
//! `append` writes one `WriteBatch` (readable on return), then a thread syncs the WAL
//! (`flush_wal(true)`) and calls the callback; `save_vote` writes and syncs before it
//! returns. Entries and metadata are postcard-encoded, as in seglog-raft, so the two differ
//! in storage only.

use std::fmt::Debug;
use std::io;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::alias::{LogIdOf, VoteOf};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, RaftTypeConfig};
use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch};
use serde::Serialize;
use serde::de::DeserializeOwned;

const LOGS: &str = "logs";
const META: &str = "meta";
const VOTE: &[u8] = b"vote";
const PURGED: &[u8] = b"purged";

/// openraft log storage on a RocksDB database (column families `logs` and `meta`).
pub struct RocksLogStore<C> {
    db: Arc<DB>,
    _c: PhantomData<fn() -> C>,
}

impl<C> Clone for RocksLogStore<C> {
    fn clone(&self) -> Self {
        Self { db: Arc::clone(&self.db), _c: PhantomData }
    }
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl<C: RaftTypeConfig> RocksLogStore<C> {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let cfs = [LOGS, META].map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&options, dir, cfs).map_err(other)?;
        Ok(Self { db: Arc::new(db), _c: PhantomData })
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> io::Result<Option<T>> {
        let cf = self.db.cf_handle(META).expect("meta");
        let Some(bytes) = self.db.get_cf(&cf, key).map_err(other)? else { return Ok(None) };
        postcard::from_bytes(&bytes).map(Some).map_err(other)
    }

    fn put<T: Serialize>(&self, key: &[u8], value: &T) -> io::Result<()> {
        let cf = self.db.cf_handle(META).expect("meta");
        self.db.put_cf(&cf, key, postcard::to_stdvec(value).map_err(other)?).map_err(other)
    }
}

impl<C> RaftLogReader<C> for RocksLogStore<C>
where
    C: RaftTypeConfig,
    C::Entry: Serialize + DeserializeOwned,
    VoteOf<C>: Serialize + DeserializeOwned,
    LogIdOf<C>: Serialize + DeserializeOwned,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<C::Entry>> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        };
        let cf = self.db.cf_handle(LOGS).expect("logs");
        let mut out = Vec::new();
        for item in self.db.iterator_cf(&cf, IteratorMode::From(&start.to_be_bytes(), Direction::Forward)) {
            let (key, value) = item.map_err(other)?;
            let index = u64::from_be_bytes(key[..8].try_into().expect("8-byte key"));
            if !range.contains(&index) {
                break;
            }
            out.push(postcard::from_bytes(&value).map_err(other)?);
        }
        Ok(out)
    }

    async fn read_vote(&mut self) -> io::Result<Option<VoteOf<C>>> {
        self.get(VOTE)
    }
}

impl<C> RaftLogStorage<C> for RocksLogStore<C>
where
    C: RaftTypeConfig,
    C::Entry: Serialize + DeserializeOwned,
    VoteOf<C>: Serialize + DeserializeOwned,
    LogIdOf<C>: Serialize + DeserializeOwned,
{
    type LogReader = Self;

    async fn get_log_state(&mut self) -> io::Result<LogState<C>> {
        let cf = self.db.cf_handle(LOGS).expect("logs");
        let last = match self.db.iterator_cf(&cf, IteratorMode::End).next() {
            Some(item) => {
                let (_, value) = item.map_err(other)?;
                Some(postcard::from_bytes::<C::Entry>(&value).map_err(other)?.log_id())
            }
            None => None,
        };
        let purged: Option<LogIdOf<C>> = self.get(PURGED)?;
        Ok(LogState { last_log_id: last.or_else(|| purged.clone()), last_purged_log_id: purged })
    }

    async fn get_log_reader(&mut self) -> Self {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<C>) -> io::Result<()> {
        self.put(VOTE, vote)?;
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || db.flush_wal(true).map_err(other)).await.map_err(other)?
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<C>) -> io::Result<()>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let cf = self.db.cf_handle(LOGS).expect("logs");
        let mut batch = WriteBatch::default();
        for entry in entries {
            batch.put_cf(&cf, entry.index().to_be_bytes(), postcard::to_stdvec(&entry).map_err(other)?);
        }
        self.db.write(batch).map_err(other)?;
        // Readable now; durable once the WAL is synced, off this task.
        let db = Arc::clone(&self.db);
        std::thread::spawn(move || callback.io_completed(db.flush_wal(true).map_err(other)));
        Ok(())
    }

    async fn truncate_after(&mut self, last: Option<LogIdOf<C>>) -> io::Result<()> {
        let from = last.map_or(0, |l| l.index() + 1);
        let cf = self.db.cf_handle(LOGS).expect("logs");
        self.db.delete_range_cf(&cf, from.to_be_bytes(), u64::MAX.to_be_bytes()).map_err(other)
    }

    async fn purge(&mut self, log_id: LogIdOf<C>) -> io::Result<()> {
        // The watermark first: entries at or below it are ignored even if still present.
        self.put(PURGED, &log_id)?;
        let cf = self.db.cf_handle(LOGS).expect("logs");
        self.db.delete_range_cf(&cf, 0u64.to_be_bytes(), (log_id.index() + 1).to_be_bytes()).map_err(other)
    }
}
