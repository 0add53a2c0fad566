//! An in-process network for openraft nodes: a call goes straight to the target node's
//! `Raft` handle (openraft's router pattern, no sockets).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::kv::{Kv as C, KvStateMachine};
use openraft::alias::{SnapshotOf, VoteOf};
use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse};
use openraft::{Raft, RaftNetworkFactory, RaftNetworkV2};

pub type Node = Raft<C, KvStateMachine>;
pub type SnapshotData = std::io::Cursor<Vec<u8>>;

/// The nodes that are up, by id: a call to a node not in it is unreachable.
#[derive(Clone, Default)]
pub struct Router {
    pub nodes: Arc<Mutex<BTreeMap<u64, Node>>>,
}

impl Router {
    pub fn get(&self, id: u64) -> Option<Node> {
        self.nodes.lock().unwrap().get(&id).cloned()
    }
}

pub struct Connection {
    router: Router,
    target: u64,
}

fn unreachable(what: &str) -> Unreachable<C> {
    Unreachable::new(&std::io::Error::other(what.to_string()))
}

impl Connection {
    fn node(&self) -> Result<Node, Unreachable<C>> {
        self.router.get(self.target).ok_or_else(|| unreachable("node is down"))
    }
}

impl RaftNetworkFactory<C> for Router {
    type Network = Connection;

    async fn new_client(&mut self, target: u64, _node: &()) -> Connection {
        Connection { router: self.clone(), target }
    }
}

impl RaftNetworkV2<C> for Connection {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<C>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<C>, RPCError<C>> {
        let node = self.node()?;
        node.append_entries(rpc).await.map_err(|e| RPCError::Network(NetworkError::new(&e)))
    }

    async fn vote(&mut self, rpc: VoteRequest<C>, _option: RPCOption) -> Result<VoteResponse<C>, RPCError<C>> {
        let node = self.node()?;
        node.vote(rpc).await.map_err(|e| RPCError::Network(NetworkError::new(&e)))
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<C>,
        snapshot: SnapshotOf<C, SnapshotData>,
        _cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<C>, StreamingError<C>> {
        let node = self.node()?;
        node.install_full_snapshot(vote, snapshot).await.map_err(|e| StreamingError::Network(NetworkError::new(&e)))
    }
}
