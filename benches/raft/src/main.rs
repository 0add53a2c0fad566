//! seglog-raft beside openraft's in-memory store (the ceiling), a RocksDB log store with
//! the fsync pattern of openraft's RocksDB example, and databend's raft-log; seglog::Log
//! alone with the same fsync pattern as the floor under the store. 1 KiB entries.
//!
//! Workloads, each system in a fresh directory, systems rotated round by round:
//! - the store alone: one append at a time (append + flush callback latency, entries/s),
//!   and 16 appends in flight (entries/s);
//! - a 3-node in-process cluster (openraft's router pattern): 1 client, then 16 clients.
//!
//! `cargo run --release -- [rounds] [dir]` from `benches/raft`; prints each run and then
//! the medians over rounds with their range. `cargo run --release -- open [entries] [dir]`
//! measures reopening a store that holds millions of entries instead.

mod open;
mod rlog;
mod rocks;
mod router;
mod work;

use std::collections::BTreeMap;
use std::path::PathBuf;

use work::System;

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("open") {
        args.next();
        let n: u64 = args.next().map_or(2_000_000, |n| n.parse().expect("entries: a number"));
        let root = args.next().map_or_else(|| PathBuf::from("target/bench-data"), PathBuf::from);
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        runtime.block_on(open::run(n, &root));
        return;
    }
    let rounds: usize = args.next().map_or(3, |r| r.parse().expect("rounds: a number"));
    let root = args.next().map_or_else(|| PathBuf::from("target/bench-data"), PathBuf::from);
    let systems = [System::Seglog, System::Rocks, System::RaftLog, System::Memory, System::LogAlone];
    // (system, figure) -> (figure name, one value per round)
    let mut all: BTreeMap<(usize, usize), (&str, Vec<f64>)> = BTreeMap::new();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    for round in 0..rounds {
        for k in 0..systems.len() {
            let s = (round + k) % systems.len();
            let system = systems[s];
            let dir = root.join(format!("r{round}-{}", system.slug()));
            let _ = std::fs::remove_dir_all(&dir);
            let figures = runtime.block_on(work::run(system, &dir));
            let _ = std::fs::remove_dir_all(&dir);
            for (i, (name, value)) in figures.into_iter().enumerate() {
                println!("round {round} {:<28} {name:<34} {value:>10.1}", system.name());
                all.entry((s, i)).or_insert((name, Vec::new())).1.push(value);
            }
        }
    }
    println!("\nmedians over {rounds} rounds (min..max):");
    let mut last = usize::MAX;
    for ((s, _), (name, mut values)) in all {
        if s != last {
            println!("{}", systems[s].name());
            last = s;
        }
        values.sort_by(f64::total_cmp);
        let median = values[values.len() / 2];
        println!("  {name:<34} {median:>10.1}  ({:.1}..{:.1})", values[0], values[values.len() - 1]);
    }
}
