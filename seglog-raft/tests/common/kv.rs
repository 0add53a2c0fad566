//! A key-value state machine with snapshots, for the tests and the `raft_kv` example: the
//! type configuration [`Kv`] (a request sets a key; the response is the value it replaced)
//! and [`KvStateMachine`], a map in memory whose snapshot is the whole map, postcard-encoded.
//! openraft's storage suite runs against it with the log store.

use std::collections::BTreeMap;
use std::io::{self, Cursor};
use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use openraft::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};
use serde::{Deserialize, Serialize};

/// A write: set `key` to `value`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub key: String,
    pub value: String,
}

impl std::fmt::Display for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "set {} ({} bytes)", self.key, self.value.len())
    }
}

openraft::declare_raft_types!(
    /// The tests' type configuration: `Set` requests, the replaced value as the response.
    pub Kv:
        D = Set,
        R = Option<String>,
        Node = (),
);

/// What a snapshot holds: the map and how far it got.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
struct Data {
    applied: Option<LogIdOf<Kv>>,
    membership: StoredMembershipOf<Kv>,
    map: BTreeMap<String, String>,
}

#[derive(Default)]
struct Inner {
    data: Data,
    /// The last snapshot built or installed: its meta and encoded data.
    snapshot: Option<(SnapshotMetaOf<Kv>, Vec<u8>)>,
}

/// A key-value map applied from the log; clones share it.
#[derive(Clone, Default)]
pub struct KvStateMachine(Arc<Mutex<Inner>>);

impl KvStateMachine {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.lock().unwrap().data.map.get(key).cloned()
    }

    /// How many keys are set.
    pub fn key_count(&self) -> usize {
        self.0.lock().unwrap().data.map.len()
    }
}

fn snapshot(meta: SnapshotMetaOf<Kv>, bytes: Vec<u8>) -> SnapshotOf<Kv, Cursor<Vec<u8>>> {
    SnapshotOf::<Kv, Cursor<Vec<u8>>> { meta, snapshot: Cursor::new(bytes) }
}

impl RaftSnapshotBuilder<Kv> for KvStateMachine {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn build_snapshot(&mut self) -> io::Result<SnapshotOf<Kv, Cursor<Vec<u8>>>> {
        let mut inner = self.0.lock().unwrap();
        let bytes = postcard::to_stdvec(&inner.data).map_err(io::Error::other)?;
        let meta =
            SnapshotMetaOf::<Kv> { last_log_id: inner.data.applied, last_membership: inner.data.membership.clone() };
        // The snapshot built becomes the current one: openraft sends it to lagging nodes.
        inner.snapshot = Some((meta.clone(), bytes.clone()));
        Ok(snapshot(meta, bytes))
    }
}

impl RaftStateMachine<Kv> for KvStateMachine {
    type SnapshotData = Cursor<Vec<u8>>;
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> io::Result<(Option<LogIdOf<Kv>>, StoredMembershipOf<Kv>)> {
        let inner = self.0.lock().unwrap();
        Ok((inner.data.applied, inner.data.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> io::Result<()>
    where
        S: futures_util::Stream<Item = io::Result<EntryResponder<Kv>>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let response = {
                let mut inner = self.0.lock().unwrap();
                inner.data.applied = Some(entry.log_id);
                match entry.payload {
                    EntryPayload::Blank => None,
                    EntryPayload::Normal(set) => inner.data.map.insert(set.key, set.value),
                    EntryPayload::Membership(m) => {
                        inner.data.membership = StoredMembershipOf::<Kv>::new(Some(entry.log_id), m);
                        None
                    }
                }
            };
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self {
        self.clone()
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMetaOf<Kv>, data: Cursor<Vec<u8>>) -> io::Result<()> {
        let bytes = data.into_inner();
        let data: Data = postcard::from_bytes(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("snapshot {meta}: {e}")))?;
        let mut inner = self.0.lock().unwrap();
        inner.data = data;
        inner.snapshot = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<SnapshotOf<Kv, Cursor<Vec<u8>>>>> {
        let inner = self.0.lock().unwrap();
        Ok(inner.snapshot.clone().map(|(meta, bytes)| snapshot(meta, bytes)))
    }
}
