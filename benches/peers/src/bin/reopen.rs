//! Reopening a segment after a restart, seglog beside seglog 0.3.6, alternating the systems
//! round by round so that a machine whose load drifts (shared cores) shifts both alike.
//! Segments are fallocated and filled once; before every timed open the page cache is set
//! up, untimed: **warm** holds the pages the records were written to and nothing else,
//! **cold** none of the file. A third system, **raw**, is the baseline of this machine: a
//! plain walk of the same records with 1 MiB `pread`s and the CRC32C of each, then an
//! `fdatasync` (benches/peers/src/raw.rs). Prints per group and system the median over the
//! rounds of the wall time and of the process's CPU time (user + system of all its threads,
//! so a second thread's work is counted; waiting for a shared core does not inflate it),
//! and the medians of the per-round ratios 0.3.6 / seglog and raw / seglog (>1: seglog is
//! faster).
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --bin reopen [-- ROUNDS [GROUP]]`
//! (GROUP: a substring of the group names to run only those).
//!
//! `... --bin reopen -- profile GROUP N` opens seglog's segment of GROUP N times, warm, and
//! nothing else: for `perf record`.

use std::path::Path;
use std::time::Instant;

use seglog_file::FileIo;
use seglog_peers::raw::RawLog;
use seglog_peers::systems::{Seglog, Upstream};
use seglog_peers::{Log, Recover, bench_dir, drop_cache, fill, remove};

/// Drops the file's pages, then reads back the first `cached` bytes (0: none).
fn set_cache(path: &Path, cached: u64) {
    drop_cache(path);
    if cached > 0 {
        let file = std::fs::File::open(path).expect("open");
        let mut buf = vec![0; 1 << 20];
        let mut at = 0;
        while at < cached {
            let n = (cached - at).min(buf.len() as u64) as usize;
            std::os::unix::fs::FileExt::read_exact_at(&file, &mut buf[..n], at).expect("warm read");
            at += n as u64;
        }
    }
}

/// Wall and process CPU seconds `f` takes.
fn timed(f: impl FnOnce() -> u64) -> [f64; 2] {
    let cpu = || {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    };
    let (wall, on_cpu) = (Instant::now(), cpu());
    std::hint::black_box(f());
    [wall.elapsed().as_secs_f64(), cpu() - on_cpu]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// One group: segment size, bytes of records, record length.
struct Group {
    name: &'static str,
    size: u64,
    bytes: u64,
    len: usize,
}

const GROUPS: [Group; 3] = [
    Group { name: "512MiB_54MB_100B", size: 512 << 20, bytes: 54_000_000, len: 100 },
    Group { name: "512MiB_300MB_1KiB", size: 512 << 20, bytes: 300_000_000, len: 1024 },
    Group { name: "1GiB_1MiB_1KiB", size: 1 << 30, bytes: 1 << 20, len: 1024 },
];

/// Fills a segment of `L` for `g`, opens it once (leaving it as every later open finds it),
/// and returns the end of its records.
fn prepare<L: Log + Recover>(path: &Path, g: &Group) -> u64 {
    let at = fill::<L>(path, g.size, g.bytes, g.len, 10_000);
    L::recover(path);
    at.last().map_or(0, |o| o + 8 + g.len as u64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = bench_dir();
    if args.first().map(String::as_str) == Some("profile") {
        let g = GROUPS.iter().find(|g| g.name.contains(args[1].as_str())).expect("group");
        let n: usize = args[2].parse().expect("N");
        let path = dir.path().join("seglog");
        let end = prepare::<Seglog<FileIo>>(&path, g);
        set_cache(&path, end);
        for _ in 0..n {
            Seglog::<FileIo>::recover(&path);
        }
        remove(&path);
        return;
    }
    let rounds: usize = args.first().map_or(10, |r| r.parse().expect("ROUNDS"));
    let only = args.get(1).cloned().unwrap_or_default();
    println!(
        "group | temp | seglog wall / cpu ms | 0.3.6 wall / cpu ms | raw wall / cpu ms \
         | 0.3.6/seglog wall, cpu | raw/seglog wall, cpu"
    );
    for g in GROUPS.iter().filter(|g| g.name.contains(only.as_str())) {
        let paths = ["seglog", "upstream", "raw"].map(|name| dir.path().join(name));
        let ends = [
            prepare::<Seglog<FileIo>>(&paths[0], g),
            prepare::<Upstream>(&paths[1], g),
            prepare::<RawLog>(&paths[2], g),
        ];
        let opens: [fn(&Path) -> u64; 3] = [Seglog::<FileIo>::recover, Upstream::recover, RawLog::recover];
        for cold in [false, true] {
            let mut t: [Vec<[f64; 2]>; 3] = Default::default();
            for _ in 0..rounds {
                for k in 0..3 {
                    set_cache(&paths[k], if cold { 0 } else { ends[k] });
                    t[k].push(timed(|| opens[k](&paths[k])));
                }
            }
            let ms = |s: usize, k: usize| median(t[s].iter().map(|x| x[k] * 1e3).collect());
            let ratio = |s: usize, k: usize| median(t[0].iter().zip(&t[s]).map(|(a, b)| b[k] / a[k]).collect());
            println!(
                "{} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2}x, {:.2}x | {:.2}x, {:.2}x",
                g.name,
                if cold { "cold" } else { "warm" },
                ms(0, 0),
                ms(0, 1),
                ms(1, 0),
                ms(1, 1),
                ms(2, 0),
                ms(2, 1),
                ratio(1, 0),
                ratio(1, 1),
                ratio(2, 0),
                ratio(2, 1)
            );
        }
        paths.iter().for_each(|p| remove(p));
    }
}
