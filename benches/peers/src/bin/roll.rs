//! Appending across segment rolls side by side (issue 14): 1 KiB records synced every 100,
//! into a `seglog::Log` of 4 MiB segments, beside one big segment of seglog, the published
//! seglog 0.3.6, okaywal (which rolls its own segment files) and the raw baseline (one
//! fallocated file, `pwrite` + `fdatasync`). The systems alternate round by round on fresh
//! files, so a machine whose load drifts shifts them all alike. Prints per system the median
//! over the rounds of the time per sync and of its per-round ratio to raw (>1 is slower than
//! raw), in wall time and in the thread's CPU time, and the latency of each `sync` call,
//! split for the log into the first sync after a roll and the others.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --bin roll [-- ROUNDS [MiB [NAME]]]`
//! (with NAME, only raw and the system of that name).

use std::path::Path;
use std::time::{Duration, Instant};

use seglog_core::{Log as SegLog, LogOptions, Preallocation};
use seglog_file::FileIo;
use seglog_peers::raw::RawLog;
use seglog_peers::systems::{Okaywal, Seglog, Upstream};
use seglog_peers::{Log, payload, remove};

const RECORD: usize = 1024;
const PER_SYNC: u64 = 100;
const LOG_SEGMENT: u64 = 4 << 20;

/// What one round of one system measured.
struct Round {
    wall: f64,
    cpu: f64,
    /// Latency of each sync call: (right after a roll, others).
    syncs: (Vec<Duration>, Vec<Duration>),
}

fn thread_cpu() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Appends `bytes` of records to a fresh `L` of one big file, syncing every `PER_SYNC`.
fn one_file<L: Log>(path: &Path, bytes: u64) -> Round {
    remove(path);
    let mut log = L::create(path, bytes + (8 << 20));
    let rounds = bytes / (PER_SYNC * (8 + RECORD as u64));
    let record = payload(RECORD);
    let out = timed(rounds, |_| {
        for _ in 0..PER_SYNC {
            log.append(&record);
        }
        let t = Instant::now();
        log.sync();
        (t.elapsed(), false)
    });
    drop(log);
    remove(path);
    out
}

/// The same into a `seglog::Log` of 4 MiB segments: every roll on the timed path.
fn seglog_log(path: &Path, bytes: u64, options: LogOptions) -> Round {
    remove(path);
    let mut log = SegLog::<FileIo>::open(path, options.segment_size(LOG_SEGMENT)).expect("open");
    let rounds = bytes / (PER_SYNC * (8 + RECORD as u64));
    let record = payload(RECORD);
    // Equal records: segment k starts at record k * per_segment (no `segments()` call,
    // which clones every segment's path, on the timed path).
    let per_segment = (LOG_SEGMENT - seglog_core::log::DATA_START) / (8 + RECORD as u64);
    let out = timed(rounds, |_| {
        let mut rolled = false;
        for _ in 0..PER_SYNC {
            let (pos, _) = log.append(&record).expect("append");
            rolled |= pos > 0 && (pos / (8 + RECORD as u64)).is_multiple_of(per_segment);
        }
        let t = Instant::now();
        log.sync().expect("sync");
        (t.elapsed(), rolled)
    });
    drop(log);
    remove(path);
    out
}

fn timed(rounds: u64, mut step: impl FnMut(u64) -> (Duration, bool)) -> Round {
    let mut syncs = (Vec::new(), Vec::new());
    let (wall, cpu) = (Instant::now(), thread_cpu());
    for i in 0..rounds {
        let (latency, rolled) = step(i);
        if rolled { &mut syncs.0 } else { &mut syncs.1 }.push(latency);
    }
    Round { wall: wall.elapsed().as_secs_f64() / rounds as f64, cpu: (thread_cpu() - cpu) / rounds as f64, syncs }
}

type System<'a> = (&'static str, Box<dyn FnMut() -> Round + 'a>);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let mib: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(512);
    let only = args.get(3).map_or("", String::as_str);
    let bytes = mib << 20;
    let dir = seglog_peers::bench_dir();
    let p = |name: &str| dir.path().join(name);
    let (raw, seg, up, okay) = (p("raw"), p("seg"), p("up"), p("okaywal"));
    let (log, log_np, log_z) = (p("log"), p("log-np"), p("log-z"));
    let mut systems: Vec<System<'_>> = vec![
        ("raw", Box::new(|| one_file::<RawLog>(&raw, bytes))),
        ("seglog-file one segment", Box::new(|| one_file::<Seglog<FileIo>>(&seg, bytes))),
        ("seglog Log 4 MiB segments", Box::new(|| seglog_log(&log, bytes, LogOptions::default()))),
        (
            "seglog Log, no pre-creation",
            Box::new(|| seglog_log(&log_np, bytes, LogOptions::default().precreate(false))),
        ),
        (
            "seglog Log, zeroed spares",
            Box::new(|| seglog_log(&log_z, bytes, LogOptions::default().preallocation(Preallocation::Zeroed))),
        ),
        ("seglog-0.3.6 one segment", Box::new(|| one_file::<Upstream>(&up, bytes))),
        ("okaywal", Box::new(|| one_file::<Okaywal>(&okay, bytes))),
    ];
    systems.retain(|(name, _)| {
        *name == "raw" || *name == "seglog-file one segment" || only.is_empty() || name.contains(only)
    });
    let mut results: Vec<Vec<Round>> = systems.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, (_, run)) in systems.iter_mut().enumerate() {
            results[i].push(run());
        }
    }
    println!(
        "1 KiB records, sync every {PER_SYNC}, {mib} MiB per round, {rounds} rounds; per sync of {PER_SYNC} records: wall | CPU"
    );
    for (i, (name, _)) in systems.iter().enumerate() {
        let mut line = format!("  {name:28}");
        for clock in 0..2 {
            let get = |r: &Round| if clock == 0 { r.wall } else { r.cpu };
            let mut ratios: Vec<f64> = results[0].iter().zip(&results[i]).map(|(raw, r)| get(r) / get(raw)).collect();
            let mut t: Vec<f64> = results[i].iter().map(get).collect();
            let t = median(&mut t);
            let r = median(&mut ratios);
            let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
            line += &format!(" | {:7.1} us  x raw {r:.2} ({lo:.2}-{hi:.2})", t * 1e6);
            if name.starts_with("seglog Log") {
                if let Some(one) = systems.iter().position(|(n, _)| *n == "seglog-file one segment") {
                    let mut by_one: Vec<f64> =
                        results[one].iter().zip(&results[i]).map(|(o, r)| get(r) / get(o)).collect();
                    let m = median(&mut by_one);
                    line += &format!(" x one {m:.2} ({:.2}-{:.2})", by_one[0], by_one[by_one.len() - 1]);
                }
            }
        }
        println!("{line}");
    }
    println!("sync latency (all rounds): p50 / p99, count");
    for (i, (name, _)) in systems.iter().enumerate() {
        let mut after: Vec<Duration> = results[i].iter().flat_map(|r| r.syncs.0.iter().copied()).collect();
        let mut other: Vec<Duration> = results[i].iter().flat_map(|r| r.syncs.1.iter().copied()).collect();
        let mut line = format!("  {name:28} others {}", pct(&mut other));
        if !after.is_empty() {
            line += &format!("; right after a roll {}", pct(&mut after));
        }
        println!("{line}");
    }
}

fn pct(v: &mut [Duration]) -> String {
    v.sort();
    let at = |p: f64| v.get(((v.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default();
    format!("{:.0} / {:.0} us ({})", at(0.5).as_secs_f64() * 1e6, at(0.99).as_secs_f64() * 1e6, v.len())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
