//! Sequential scans side by side, alternating the systems round by round so that a machine
//! whose load drifts (shared cores) shifts them all alike: the raw pread-window loop,
//! seglog's closed readers on each backend, its live readers (the writer's: generation
//! re-checked per record, zero-copy and pinned on mmap), its file follower (a record per
//! `poll`, and a window of them per `poll_many`), and seglog
//! 0.3.6. Warm page cache. Prints per system the median over the rounds of the time per
//! record and of its per-round ratio to raw (>1 is faster than raw), both in wall time and
//! in the thread's CPU time, which time spent waiting for a shared core does not inflate.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --bin scan [-- ROUNDS [MiB [NAME]]]`
//! (with NAME, only raw and the system of that name).

use std::path::Path;
use std::time::Instant;

use seglog_core::{Follower, Reader, Writer};
use seglog_direct::DirectIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_peers::raw::{RawLog, RawRead};
use seglog_peers::systems::{Seglog, SeglogRead, Upstream, UpstreamRead};
use seglog_peers::{Read, fill, prewarm, remove};

type Scan<'a> = Box<dyn FnMut() -> u64 + 'a>;

/// Counts the records of an iterator to its end.
fn iterate<B: seglog_core::SegmentIo>(r: &mut Reader<B>) -> u64 {
    let mut it = r.iter(0);
    let mut n = 0;
    while let Some(rec) = it.next_record().expect("scan") {
        n += u64::from(!rec.is_empty());
    }
    n
}

/// Wall and thread CPU seconds `f` takes.
fn timed(f: impl FnOnce() -> u64) -> [f64; 2] {
    let cpu = || {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    };
    let (wall, on_cpu) = (Instant::now(), cpu());
    std::hint::black_box(f());
    [wall.elapsed().as_secs_f64(), cpu() - on_cpu]
}

fn run(dir: &Path, len: usize, label: &str, rounds: usize, bytes: u64, only: &str) {
    let (seg, raw, up) = (dir.join("seglog"), dir.join("raw"), dir.join("upstream"));
    let size = bytes + (1 << 20);
    let records = fill::<Seglog<FileIo>>(&seg, size, bytes, len, 1000).len() as u64;
    fill::<RawLog>(&raw, size, bytes, len, 1000);
    fill::<Upstream>(&up, size, bytes, len, 1000);
    let file_w = Writer::<FileIo>::open(&seg, 0).expect("open");
    let mut file_live = file_w.reader();
    // A second copy: one writer per segment.
    let seg_m = dir.join("seglog-mmap");
    std::fs::copy(&seg, &seg_m).expect("copy");
    let mmap_w = Writer::<MmapIo>::open(&seg_m, 0).expect("open");
    let mut mmap_live = mmap_w.reader();
    let mut raw_r = RawRead::open(&raw);
    let mut up_r = UpstreamRead::open(&up);
    let mut file_r = SeglogRead::<FileIo>::open(&seg);
    let mut mmap_r = SeglogRead::<MmapIo>::open(&seg);
    let mut direct_r = SeglogRead::<DirectIo>::open(&seg);
    let mut systems: Vec<(&str, &Path, Scan<'_>)> = vec![
        ("raw", &raw, Box::new(|| raw_r.scan() as u64)),
        ("seglog-file", &seg, Box::new(|| file_r.scan() as u64)),
        ("seglog-mmap", &seg, Box::new(|| mmap_r.scan() as u64)),
        ("seglog-direct", &seg, Box::new(|| direct_r.scan() as u64)),
        ("seglog-file live", &seg, Box::new(|| iterate(&mut file_live))),
        ("seglog-mmap live (zero-copy)", &seg_m, Box::new(|| iterate(&mut mmap_live))),
        (
            "seglog-file follower",
            &seg,
            Box::new(|| {
                let mut f = Follower::<FileIo>::open(&seg, 0).expect("follower");
                let mut n = 0;
                while f.poll().expect("poll").is_some() {
                    n += 1;
                }
                n
            }),
        ),
        (
            "seglog-file follower poll_many",
            &seg,
            Box::new(|| {
                let mut f = Follower::<FileIo>::open(&seg, 0).expect("follower");
                let mut n = 0;
                loop {
                    let polled = f.poll_many().expect("poll_many");
                    if polled.is_empty() {
                        break n;
                    }
                    n += polled.count() as u64;
                }
            }),
        ),
        ("seglog-0.3.6", &up, Box::new(|| up_r.scan() as u64)),
    ];
    systems.retain(|(name, _, _)| *name == "raw" || only.is_empty() || *name == only);
    let mut times = vec![[Vec::new(), Vec::new()]; systems.len()];
    for _ in 0..rounds {
        for (i, (_, path, scan)) in systems.iter_mut().enumerate() {
            prewarm(path);
            let [wall, cpu] = timed(scan);
            times[i][0].push(wall);
            times[i][1].push(cpu);
        }
    }
    println!("{label}: {records} records, {} MiB, {rounds} rounds; wall | CPU time", bytes >> 20);
    for (i, (name, _, _)) in systems.iter().enumerate() {
        let mut line = format!("  {name:28}");
        for clock in 0..2 {
            let mut ratios: Vec<f64> = times[0][clock].iter().zip(&times[i][clock]).map(|(raw, t)| raw / t).collect();
            let t = median(&mut times[i][clock].clone());
            let r = median(&mut ratios);
            let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
            line += &format!(" | {:6.1} ns/rec {:5.2} GB/s x raw {r:.2} ({lo:.2}-{hi:.2})", t * 1e9 / records as f64, bytes as f64 / t / 1e9);
        }
        println!("{line}");
    }
    drop(systems);
    drop((file_w, mmap_w));
    for p in [&seg, &seg_m, &raw, &up] {
        remove(p);
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(7);
    let mib: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(256);
    let only = args.get(3).map_or("", String::as_str);
    let dir = seglog_peers::bench_dir();
    run(dir.path(), 100, "100 B records", rounds, mib << 20, only);
    run(dir.path(), 1024, "1 KiB records", rounds, mib << 20, only);
}
