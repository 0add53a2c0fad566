//! The workloads, run against one system in one directory.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::testing::log_id;
use openraft::type_config::TypeConfigExt;
use openraft::{Config, Raft, RaftTypeConfig};
use openraft_memstore::{ClientRequest, MemStateMachine, TypeConfig as C};
use seglog_core::LogOptions;
use seglog_raft::LogStore;

use crate::rlog::RaftLogStore;
use crate::rocks::RocksLogStore;
use crate::router::{Node, Router};

/// Named figures of one run, in a fixed order per system.
pub type Figures = Vec<(&'static str, f64)>;

const ALONE_1: u64 = 2_000;
const ALONE_16: u64 = 20_000;
const CLUSTER_1: u64 = 2_000;
const CLUSTER_16: u64 = 10_000;
const WAIT: Option<Duration> = Some(Duration::from_secs(60));

/// A system under test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum System {
    /// seglog-raft's `LogStore` on the file backend, default `LogOptions`.
    Seglog,
    /// RocksDB, openraft's example fsync pattern.
    Rocks,
    /// databend's raft-log, databend-meta's fsync pattern.
    RaftLog,
    /// openraft-memstore's in-memory log store: the ceiling (no disk).
    Memory,
    /// `seglog_core::Log` itself, no Raft: append + sync, the floor under the store.
    LogAlone,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::Seglog => "seglog-raft",
            System::Rocks => "rocksdb (openraft example)",
            System::RaftLog => "raft-log 0.4.6",
            System::Memory => "openraft memstore",
            System::LogAlone => "seglog::Log alone",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            System::Seglog => "seglog",
            System::Rocks => "rocks",
            System::RaftLog => "raftlog",
            System::Memory => "mem",
            System::LogAlone => "log",
        }
    }
}

/// This process's user + system CPU time so far.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat.rsplit(')').next().expect("stat").split_whitespace().collect();
    // Fields 14 and 15 (utime, stime), counted after the command name: 12 and 13 here.
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

fn entry(i: u64) -> <C as RaftTypeConfig>::Entry {
    let req = ClientRequest { client: "k".into(), serial: i, status: "v".repeat(1024) };
    <C as RaftTypeConfig>::Entry::new_normal(log_id::<C>(1, 1, i), req)
}

fn pct(sorted: &[Duration], p: usize) -> f64 {
    sorted.get(sorted.len().saturating_sub(1) * p / 100).copied().unwrap_or_default().as_secs_f64() * 1e6
}

/// Runs every workload `system` has.
pub async fn run(system: System, dir: &Path) -> Figures {
    if system == System::LogAlone {
        return log_alone(dir);
    }
    let alone = dir.join("alone");
    let mut figures = match system {
        System::Seglog => store_alone(LogStore::<C>::open(&alone, LogOptions::default()).expect("open")).await,
        System::Rocks => store_alone(RocksLogStore::<C>::open(&alone).expect("open")).await,
        System::RaftLog => store_alone(RaftLogStore::open(&alone).expect("open")).await,
        System::Memory | System::LogAlone => store_alone(openraft_memstore::new_mem_store().0).await,
    };
    figures.extend(cluster(system, dir).await);
    figures
}

/// The floor: `seglog_core::Log` with entry-sized records, one synced at a time, then 16
/// appended per sync (the batch a full group commit of 16 would make).
fn log_alone(dir: &Path) -> Figures {
    let mut log = seglog_core::Log::<seglog_file::FileIo>::open(dir, LogOptions::default()).expect("open");
    let record = postcard::to_stdvec(&entry(1)).expect("encode");
    let mut lat = Vec::new();
    let started = Instant::now();
    for _ in 0..ALONE_1 {
        let t = Instant::now();
        log.append(&record).expect("append");
        log.sync().expect("sync");
        lat.push(t.elapsed());
    }
    let rate1 = ALONE_1 as f64 / started.elapsed().as_secs_f64();
    lat.sort();
    let started = Instant::now();
    for _ in 0..ALONE_16 / 16 {
        for _ in 0..16 {
            log.append(&record).expect("append");
        }
        log.sync().expect("sync");
    }
    let rate16 = ALONE_16 as f64 / started.elapsed().as_secs_f64();
    vec![
        ("alone 1 in flight entries/s", rate1),
        ("alone 1 in flight p50 us", pct(&lat, 50)),
        ("alone 1 in flight p99 us", pct(&lat, 99)),
        ("alone 16 in flight entries/s", rate16),
    ]
}

/// The store alone: one append awaited at a time, then up to 16 in flight.
async fn store_alone<S: RaftLogStorage<C>>(mut store: S) -> Figures {
    let mut lat = Vec::new();
    let started = Instant::now();
    for i in 1..=ALONE_1 {
        let (tx, rx) = C::oneshot();
        let t = Instant::now();
        store.append([entry(i)], IOFlushed::signal(tx)).await.expect("append");
        rx.await.expect("callback").expect("flushed");
        lat.push(t.elapsed());
    }
    let rate1 = ALONE_1 as f64 / started.elapsed().as_secs_f64();
    lat.sort();
    let (started, cpu0) = (Instant::now(), cpu());
    let mut waits = VecDeque::new();
    for i in ALONE_1 + 1..=ALONE_1 + ALONE_16 {
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
    let rate16 = ALONE_16 as f64 / started.elapsed().as_secs_f64();
    let cpu16 = (cpu() - cpu0).as_secs_f64() * 1e6 / ALONE_16 as f64;
    vec![
        ("alone 1 in flight entries/s", rate1),
        ("alone 1 in flight p50 us", pct(&lat, 50)),
        ("alone 1 in flight p99 us", pct(&lat, 99)),
        ("alone 16 in flight entries/s", rate16),
        ("alone 16 in flight CPU us/entry", cpu16),
    ]
}

fn config() -> Arc<Config> {
    let config =
        Config { heartbeat_interval: 100, election_timeout_min: 1000, election_timeout_max: 2000, ..Config::default() };
    Arc::new(config.validate().expect("config"))
}

async fn start(router: &Router, system: System, id: u64, dir: &Path) -> Node {
    let sm: Arc<MemStateMachine> = openraft_memstore::new_mem_store().1;
    let (c, r) = (config(), router.clone());
    let node = match system {
        System::Seglog => Raft::new(id, c, r, LogStore::<C>::open(dir, LogOptions::default()).expect("open"), sm).await,
        System::Rocks => Raft::new(id, c, r, RocksLogStore::<C>::open(dir).expect("open"), sm).await,
        System::RaftLog => Raft::new(id, c, r, RaftLogStore::open(dir).expect("open"), sm).await,
        System::Memory | System::LogAlone => Raft::new(id, c, r, openraft_memstore::new_mem_store().0, sm).await,
    };
    let node = node.expect("start the node");
    router.nodes.lock().unwrap().insert(id, node.clone());
    node
}

async fn leader(router: &Router) -> Node {
    let node = router.get(1).expect("up");
    let m = node.wait(WAIT).metrics(|m| m.current_leader.is_some(), "a leader").await.expect("a leader");
    router.get(m.current_leader.expect("leader")).expect("the leader is up")
}

/// `count` writes of 1 KiB from `clients` concurrent clients: writes/s, latencies sorted,
/// CPU µs per write (all three nodes run in this process).
async fn write(router: &Router, from: u64, count: u64, clients: u64) -> (f64, Vec<Duration>, f64) {
    let (started, cpu0) = (Instant::now(), cpu());
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let router = router.clone();
            C::spawn(async move {
                let mut node = leader(&router).await;
                let mut lat = Vec::new();
                for i in (from..from + count).filter(|i| i % clients == c) {
                    let req = ClientRequest { client: format!("k{i}"), serial: 1, status: "v".repeat(1024) };
                    let t = Instant::now();
                    // On a loaded machine a leader's lease can lapse: find the leader, retry.
                    while let Err(e) = node.client_write(req.clone()).await {
                        assert!(e.forward_to_leader().is_some(), "write {i}: {e}");
                        node = leader(&router).await;
                    }
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("client"));
    }
    lat.sort();
    let cpu = (cpu() - cpu0).as_secs_f64() * 1e6 / count as f64;
    (count as f64 / started.elapsed().as_secs_f64(), lat, cpu)
}

async fn cluster(system: System, dir: &Path) -> Figures {
    let router = Router::default();
    for id in 1..=3 {
        start(&router, system, id, &dir.join(format!("node-{id}"))).await;
    }
    router.get(1).expect("up").initialize(BTreeSet::from([1, 2, 3])).await.expect("initialize");
    leader(&router).await;
    let (rate1, lat1, _) = write(&router, 0, CLUSTER_1, 1).await;
    let (rate16, lat16, cpu16) = write(&router, CLUSTER_1, CLUSTER_16, 16).await;
    for id in 1..=3 {
        let node = router.nodes.lock().unwrap().remove(&id).expect("up");
        node.shutdown().await.expect("shutdown");
    }
    vec![
        ("3 nodes 1 client writes/s", rate1),
        ("3 nodes 1 client p50 us", pct(&lat1, 50)),
        ("3 nodes 1 client p99 us", pct(&lat1, 99)),
        ("3 nodes 16 clients writes/s", rate16),
        ("3 nodes 16 clients p50 us", pct(&lat16, 50)),
        ("3 nodes 16 clients p99 us", pct(&lat16, 99)),
        ("3 nodes 16 clients CPU us/write", cpu16),
    ]
}
