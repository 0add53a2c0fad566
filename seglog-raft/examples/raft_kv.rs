//! A 3-node key-value cluster in one process on seglog-raft stores: writes from one client
//! and from 16, a leader killed and restarted from its directory, and the store alone
//! (append + flush callback latency), on the tests' key-value state machine. Run with `cargo run --release --example raft_kv -p seglog-raft`; files go
//! under the target directory. Figures depend on the disk and on what else the machine runs.

#[path = "../tests/common/kv.rs"]
mod kv;
#[path = "../tests/common/router.rs"]
mod router;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv::{Kv as C, KvStateMachine, Set};
use openraft::async_runtime::watch::WatchReceiver;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::testing::log_id;
use openraft::type_config::TypeConfigExt;
use openraft::{Config, Raft, RaftTypeConfig};
use router::{Node, Router};
use seglog_core::LogOptions;
use seglog_raft::LogStore;

const WAIT: Option<Duration> = Some(Duration::from_secs(60));

fn config() -> Arc<Config> {
    let config =
        Config { heartbeat_interval: 50, election_timeout_min: 300, election_timeout_max: 600, ..Config::default() };
    Arc::new(config.validate().expect("config"))
}

/// Where each node's log goes: under the target dir, on the disk the benchmarks use.
fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/raft_kv");
    let _ = std::fs::remove_dir_all(&root);
    root
}

async fn start(router: &Router, id: u64, dir: &Path, sm: KvStateMachine) -> Node {
    let log = LogStore::<C>::open(dir, LogOptions::default()).expect("open the store");
    let node = Raft::new(id, config(), router.clone(), log, sm).await.expect("start the node");
    router.nodes.lock().unwrap().insert(id, node.clone());
    node
}

async fn leader(router: &Router, among: &[u64]) -> Node {
    let node = router.get(among[0]).expect("up");
    let m = node
        .wait(WAIT)
        .metrics(|m| m.current_leader.is_some_and(|l| among.contains(&l)), "a leader")
        .await
        .expect("a leader is elected");
    router.get(m.current_leader.expect("leader")).expect("the leader is up")
}

/// `count` writes of 1 KiB values from `clients` concurrent clients; returns writes/s and
/// each write's latency, sorted.
async fn write(router: &Router, among: &[u64], from: u64, count: u64, clients: u64) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (router, among) = (router.clone(), among.to_vec());
            C::spawn(async move {
                let mut node = leader(&router, &among).await;
                let mut latencies = Vec::new();
                for i in (from..from + count).filter(|i| i % clients == c) {
                    let req = Set { key: format!("k{i}"), value: "v".repeat(1024) };
                    let t = Instant::now();
                    while let Err(e) = node.client_write(req.clone()).await {
                        assert!(e.forward_to_leader().is_some(), "write {i}: {e}");
                        node = leader(&router, &among).await;
                    }
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("client"));
    }
    latencies.sort();
    (count as f64 / started.elapsed().as_secs_f64(), latencies)
}

fn pct(sorted: &[Duration], p: usize) -> Duration {
    sorted.get(sorted.len().saturating_sub(1) * p / 100).copied().unwrap_or_default()
}

async fn cluster() {
    let name = "seglog-raft";
    let root = root();
    let router = Router::default();
    let mut sms: Vec<_> = (0..=3).map(|_| KvStateMachine::default()).collect();
    let dir = |id: u64| root.join(format!("node-{id}"));
    for id in 1..=3 {
        start(&router, id, &dir(id), sms[id as usize].clone()).await;
    }
    let all = [1, 2, 3];
    router.get(1).expect("up").initialize(BTreeSet::from(all)).await.expect("initialize");
    leader(&router, &all).await;
    println!("{name}: 3 nodes up, a leader elected");
    let (rate, lat) = write(&router, &all, 0, 2_000, 1).await;
    println!("  1 client:   {rate:>8.0} writes/s (1 KiB), latency p50 {:?} p99 {:?}", pct(&lat, 50), pct(&lat, 99));
    let (rate, lat) = write(&router, &all, 2_000, 10_000, 16).await;
    println!("  16 clients: {rate:>8.0} writes/s (1 KiB), latency p50 {:?} p99 {:?}", pct(&lat, 50), pct(&lat, 99));
    let old = leader(&router, &all).await;
    let id = old.metrics().borrow_watched().id;
    let node = router.nodes.lock().unwrap().remove(&id).expect("up");
    node.shutdown().await.expect("shutdown");
    drop((node, old));
    let t = Instant::now();
    let rest: Vec<u64> = all.iter().copied().filter(|&i| i != id).collect();
    leader(&router, &rest).await;
    println!("  killed leader {id}; a new leader in {:?}", t.elapsed());
    write(&router, &rest, 12_000, 1_000, 16).await;
    let t = Instant::now();
    // A fresh state machine (the old one lived in memory): the node rebuilds it from its log.
    sms[id as usize] = KvStateMachine::default();
    let node = start(&router, id, &dir(id), sms[id as usize].clone()).await;
    println!("  restarted node {id} from its directory in {:?}", t.elapsed());
    let last = leader(&router, &rest).await.metrics().borrow_watched().last_log_index;
    node.wait(WAIT).applied_index_at_least(last, "caught up").await.expect("caught up");
    let missing = (0..13_000).filter(|i| sms[id as usize].get(&format!("k{i}")).is_none()).count();
    println!(
        "  node {id} caught up in {:?}: {} keys; acknowledged writes missing on it: {missing}",
        t.elapsed(),
        sms[id as usize].key_count()
    );
    for id in all {
        let node = router.nodes.lock().unwrap().remove(&id);
        if let Some(node) = node {
            node.shutdown().await.expect("shutdown");
        }
    }
}

/// The baseline: `seglog::Log` itself, a 1 KiB record appended and synced at a time.
fn log_alone() {
    let dir = root().join("log");
    let mut log = seglog_core::Log::<seglog_file::FileIo>::open(&dir, LogOptions::default()).expect("open");
    let record = vec![b'v'; 1100];
    let started = Instant::now();
    for _ in 0..2_000 {
        log.append(&record).expect("append");
        log.sync().expect("sync");
    }
    let rate = 2_000.0 / started.elapsed().as_secs_f64();
    println!("seglog::Log alone, append+sync each: {rate:>8.0} records/s");
}

/// The store alone: 1 KiB entries, one append awaited at a time, then up to 16 in flight.
async fn store_alone() {
    let dir = root().join("alone");
    let mut store = LogStore::<C>::open(&dir, LogOptions::default()).expect("open");
    let entry = |i: u64| {
        let req = Set { key: format!("k{i}"), value: "v".repeat(1024) };
        <C as RaftTypeConfig>::Entry::new_normal(log_id::<C>(1, 1, i), req)
    };
    let mut lat = Vec::new();
    let started = Instant::now();
    for i in 1..=2_000 {
        let (tx, rx) = C::oneshot();
        let t = Instant::now();
        store.append([entry(i)], IOFlushed::signal(tx)).await.expect("append");
        rx.await.expect("callback").expect("flushed");
        lat.push(t.elapsed());
    }
    lat.sort();
    let rate = 2_000.0 / started.elapsed().as_secs_f64();
    println!(
        "store alone, 1 in flight:  {rate:>8.0} entries/s, append+callback p50 {:?} p99 {:?}",
        pct(&lat, 50),
        pct(&lat, 99)
    );
    let started = Instant::now();
    let mut waits = std::collections::VecDeque::new();
    for i in 2_001..=22_000 {
        let (tx, rx) = C::oneshot();
        store.append([entry(i)], IOFlushed::signal(tx)).await.expect("append");
        waits.push_back(rx);
        if waits.len() >= 16 {
            waits.pop_front().expect("wait").await.expect("callback").expect("flushed");
        }
    }
    for rx in waits {
        rx.await.expect("callback").expect("flushed");
    }
    let rate = 20_000.0 / started.elapsed().as_secs_f64();
    println!("store alone, 16 in flight: {rate:>8.0} entries/s (group commit)");
}

fn main() {
    C::run(async {
        log_alone();
        store_alone().await;
        cluster().await;
    });
}
