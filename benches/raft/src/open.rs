//! What opening costs with millions of entries: a store filled with `n` small entries is
//! closed, its files dropped from the page cache (cold) or not (warm), and reopened; then
//! the state openraft asks for first, the first read of an entry in a sealed segment (which
//! walks that segment) and a second read beside it. raft-log, which replays its whole WAL
//! at open, beside it.

use std::path::Path;
use std::time::{Duration, Instant};

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::testing::log_id;
use openraft::type_config::TypeConfigExt;
use openraft::{RaftLogReader, RaftTypeConfig};
use openraft_memstore::{ClientRequest, TypeConfig as C};
use seglog_core::LogOptions;
use seglog_raft::LogStore;

use crate::rlog::RaftLogStore;

fn entry(i: u64) -> <C as RaftTypeConfig>::Entry {
    let req = ClientRequest { client: "k".into(), serial: i, status: "v".repeat(100) };
    <C as RaftTypeConfig>::Entry::new_normal(log_id::<C>(1, 1, i), req)
}

/// Drops every file under `dir` from the page cache.
fn evict(dir: &Path) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            let f = std::fs::File::open(e.path()).expect("open");
            f.sync_all().expect("sync");
            rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
        }
    }
}

async fn fill<S: RaftLogStorage<C>>(store: &mut S, n: u64) {
    let mut i = 1;
    while i <= n {
        let to = (i + 999).min(n);
        let (tx, rx) = C::oneshot();
        store.append((i..=to).map(entry), IOFlushed::signal(tx)).await.expect("append");
        rx.await.expect("callback").expect("flushed");
        i = to + 1;
    }
}

async fn measure<S: RaftLogStorage<C>>(name: &str, n: u64, dir: &Path, open: impl Fn() -> S) {
    for cold in [true, false] {
        if cold {
            evict(dir);
        }
        let t = Instant::now();
        let mut store = open();
        let opened = t.elapsed();
        let t = Instant::now();
        let state = store.get_log_state().await.expect("state");
        let stated = t.elapsed();
        assert_eq!(state.last_log_id.map(|l| l.index()), Some(n));
        let mut reader = store.get_log_reader().await;
        let mid = n / 3;
        let t = Instant::now();
        let first = reader.try_get_log_entries(mid..mid + 1).await.expect("read");
        let read1 = t.elapsed();
        let t = Instant::now();
        let second = reader.try_get_log_entries(mid + 1..mid + 2).await.expect("read");
        let read2 = t.elapsed();
        assert_eq!((first[0].index(), second[0].index()), (mid, mid + 1));
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{name:<12} {n:>9} entries {:<5} open {:>9.1} ms  log state {:>7.3} ms  \
             first read of entry {mid} {:>8.2} ms  next entry {:>7.3} ms",
            if cold { "cold" } else { "warm" },
            ms(opened),
            ms(stated),
            ms(read1),
            ms(read2)
        );
        drop(reader);
        drop(store);
    }
}

/// Fills each store with `n` entries of about 130 bytes, then measures its reopening.
pub async fn run(n: u64, root: &Path) {
    let dir = root.join("open-seglog");
    let _ = std::fs::remove_dir_all(&dir);
    {
        let mut store = LogStore::<C>::open(&dir, LogOptions::default()).expect("open");
        fill(&mut store, n).await;
    }
    let segments = std::fs::read_dir(&dir).expect("dir").count();
    println!("seglog-raft: {n} entries in {segments} files (64 MiB segments)");
    measure("seglog-raft", n, &dir, || LogStore::<C>::open(&dir, LogOptions::default()).expect("open")).await;
    let _ = std::fs::remove_dir_all(&dir);

    let dir = root.join("open-raftlog");
    let _ = std::fs::remove_dir_all(&dir);
    {
        let mut store = RaftLogStore::open(&dir).expect("open");
        fill(&mut store, n).await;
    }
    measure("raft-log", n, &dir, || RaftLogStore::open(&dir).expect("open")).await;
    let _ = std::fs::remove_dir_all(&dir);
}
