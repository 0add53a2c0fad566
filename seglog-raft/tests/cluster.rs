//! A 3-node openraft cluster in one process on `LogStore`s (calls go straight to the target
//! node's `Raft` handle, no sockets): elect, replicate 10,000 writes, restart the leader from
//! its directory with a fresh state machine, re-elect, check every acknowledged write on every
//! node (on the tests' key-value state machine); then a snapshot,
//! a purge, and a node that was down catching up by snapshot. Waits on cluster state only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::type_config::TypeConfigExt;
use openraft::{Config, Raft, SnapshotPolicy};
use seglog_core::LogOptions;
use seglog_raft::LogStore;

mod common;

use common::C;
use common::kv::{KvStateMachine, Set};
use common::router::{Node, Router};

fn config() -> Arc<Config> {
    let config = Config {
        heartbeat_interval: 50,
        election_timeout_min: 300,
        election_timeout_max: 600,
        // Snapshots only when the test asks, so it knows what is purged when.
        snapshot_policy: SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: 0,
        purge_batch_size: 1,
        ..Config::default()
    };
    Arc::new(config.validate().expect("config"))
}

fn options() -> LogOptions {
    LogOptions::default().segment_size(1 << 20)
}

/// Starts node `id` on the store in `dir` (created or recovered) and the state machine `sm`.
async fn start(router: &Router, id: u64, dir: &Path, sm: KvStateMachine) -> Node {
    let store = LogStore::<C>::open(dir, options()).expect("open the store");
    let node = Raft::new(id, config(), router.clone(), store, sm).await.expect("start the node");
    router.nodes.lock().unwrap().insert(id, node.clone());
    node
}

async fn stop(router: &Router, id: u64) {
    let node = router.nodes.lock().unwrap().remove(&id).expect("the node is up");
    node.shutdown().await.expect("shutdown");
}

const WAIT: Option<Duration> = Some(Duration::from_secs(60));

async fn leader(router: &Router, among: &[u64]) -> (u64, Node) {
    let node = router.get(among[0]).expect("up");
    let m = node
        .wait(WAIT)
        .metrics(|m| m.current_leader.is_some_and(|l| among.contains(&l)), "a leader among the nodes up")
        .await
        .expect("a leader is elected");
    let id = m.current_leader.expect("leader");
    (id, router.get(id).expect("the leader is up"))
}

fn request(i: u64) -> Set {
    Set { key: format!("client-{i}"), value: format!("value-{i}") }
}

/// Writes `range` from 16 concurrent clients through the leader among `among`; a client
/// told the node is not (or no longer) the leader finds the leader again and retries (the
/// write is idempotent). Adds the writes acknowledged to `acked`; returns the highest log
/// index among them.
async fn write(router: &Router, among: &[u64], range: std::ops::Range<u64>, acked: &mut BTreeSet<u64>) -> u64 {
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let router = router.clone();
            let among = among.to_vec();
            let range = range.clone();
            C::spawn(async move {
                let mut acked = Vec::new();
                let mut last = 0;
                let (_, mut node) = leader(&router, &among).await;
                for i in range.filter(|i| i % 16 == c) {
                    loop {
                        match node.client_write(request(i)).await {
                            Ok(resp) => {
                                last = last.max(resp.log_id.index());
                                break;
                            }
                            Err(e) if e.forward_to_leader().is_some() => node = leader(&router, &among).await.1,
                            Err(e) => panic!("write {i}: {e}"),
                        }
                    }
                    acked.push(i);
                }
                (acked, last)
            })
        })
        .collect();
    let mut last = 0;
    for c in clients {
        let (writes, l) = c.await.expect("client task");
        acked.extend(writes);
        last = last.max(l);
    }
    last
}

/// Waits until every node up has applied the last acknowledged write (at log index `last`),
/// then checks every acknowledged write on each.
async fn check_all(
    router: &Router,
    ids: &[u64],
    last: u64,
    acked: &BTreeSet<u64>,
    sms: &BTreeMap<u64, KvStateMachine>,
) {
    for id in ids {
        let node = router.get(*id).expect("up");
        node.wait(WAIT)
            .applied_index_at_least(Some(last), format!("node {id} applies everything"))
            .await
            .expect("applied");
        for i in acked {
            assert_eq!(
                sms[id].get(&format!("client-{i}")),
                Some(format!("value-{i}")),
                "node {id} lost acknowledged write {i}"
            );
        }
    }
}

#[test]
fn three_nodes_survive_a_leader_restart_and_catch_up_by_snapshot() {
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let dirs: BTreeMap<u64, PathBuf> = (1..=3).map(|id| (id, root.path().join(format!("node-{id}")))).collect();
    C::run(async {
        let router = Router::default();
        let mut sms: BTreeMap<u64, KvStateMachine> = (1..=3).map(|id| (id, KvStateMachine::default())).collect();
        for id in 1..=3 {
            start(&router, id, &dirs[&id], sms[&id].clone()).await;
        }
        router.get(1).expect("up").initialize(BTreeSet::from([1, 2, 3])).await.expect("initialize");
        let all = [1, 2, 3];

        let started = std::time::Instant::now();
        let mut acked = BTreeSet::new();
        let last = write(&router, &all, 0..10_000, &mut acked).await;
        eprintln!("10,000 writes from 16 clients: {:?}", started.elapsed());
        check_all(&router, &all, last, &acked, &sms).await;

        // Kill the leader's store: drop the node and reopen it from its directory.
        let (old, _) = leader(&router, &all).await;
        stop(&router, old).await;
        let rest: Vec<u64> = all.iter().copied().filter(|&i| i != old).collect();
        let last = write(&router, &rest, 10_000..11_000, &mut acked).await;
        // Its state machine is lost with it (it lives in memory): the restarted node rebuilds
        // it by applying its reopened log again, and what the new leader sends.
        sms.insert(old, KvStateMachine::default());
        start(&router, old, &dirs[&old], sms[&old].clone()).await;
        check_all(&router, &all, last, &acked, &sms).await;

        // A node goes down; the leader snapshots and purges past what it has; it comes back
        // and can only catch up by the snapshot.
        let (lid, _) = leader(&router, &all).await;
        let down = *all.iter().find(|&&i| i != lid).expect("a follower");
        stop(&router, down).await;
        let up: Vec<u64> = all.iter().copied().filter(|&i| i != down).collect();
        let last = write(&router, &up, 11_000..12_000, &mut acked).await;
        let (_, lead) = leader(&router, &up).await;
        lead.trigger().snapshot().await.expect("snapshot");
        let snap = lead.wait(WAIT).metrics(|m| m.snapshot.is_some(), "snapshot built").await.expect("snapshot");
        let upto = snap.snapshot.expect("snapshot").index();
        lead.trigger().purge_log(upto).await.expect("purge");
        lead.wait(WAIT).metrics(|m| m.purged.is_some_and(|p| p.index() >= upto), "purged").await.expect("purged");
        sms.insert(down, KvStateMachine::default());
        start(&router, down, &dirs[&down], sms[&down].clone()).await;
        check_all(&router, &all, last, &acked, &sms).await;
        let m = router.get(down).expect("up").metrics().borrow_watched().clone();
        assert!(m.snapshot.is_some_and(|s| s.index() >= upto), "node {down} caught up by the snapshot: {m:?}");
        for id in all {
            stop(&router, id).await;
        }
    });
}
