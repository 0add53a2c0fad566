//! Issue 13: what reopening a segment costs, beside seglog 0.3.6 in one run. Segments are
//! fallocated, records written once; "warm" means the page cache holds the pages the
//! records were written to and nothing else (the state after writing them), "cold" that
//! it holds none of the file. Both are set up, untimed, before every timed open.
//!
//! `cargo bench --manifest-path benches/peers/Cargo.toml --bench reopen`

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use seglog_file::FileIo;
use seglog_peers::systems::{Seglog, Upstream};
use seglog_peers::{Log, Recover, bench_dir, drop_cache, fill, remove};

/// Drops the file's pages, then (warm) reads back the first `cached` bytes.
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

/// Reopens a segment of `size` bytes holding `bytes` of records of `len` bytes.
fn reopen<L: Log + Recover>(c: &mut Criterion, dir: &Path, group: &str, size: u64, bytes: u64, len: usize, cold: bool) {
    let path = dir.join(format!("reopen-{}", L::NAME));
    let at = fill::<L>(&path, size, bytes, len, 10_000);
    let end = at.last().map_or(0, |o| o + 8 + len as u64);
    // One untimed open first: it leaves the segment as every later open finds it.
    L::recover(&path);
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(end)).sample_size(10);
    g.bench_function(BenchmarkId::from_parameter(L::NAME), |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                set_cache(&path, if cold { 0 } else { end });
                let started = Instant::now();
                std::hint::black_box(L::recover(&path));
                total += started.elapsed();
            }
            total
        })
    });
    g.finish();
    remove(&path);
}

fn reopens(c: &mut Criterion) {
    let dir = bench_dir();
    let dir = dir.path();
    for cold in [false, true] {
        let temp = if cold { "cold" } else { "warm" };
        let g = format!("reopen_512MiB_54MB_100B_{temp}");
        reopen::<Seglog<FileIo>>(c, dir, &g, 512 << 20, 54_000_000, 100, cold);
        reopen::<Upstream>(c, dir, &g, 512 << 20, 54_000_000, 100, cold);
        let g = format!("reopen_512MiB_300MB_1KiB_{temp}");
        reopen::<Seglog<FileIo>>(c, dir, &g, 512 << 20, 300_000_000, 1024, cold);
        reopen::<Upstream>(c, dir, &g, 512 << 20, 300_000_000, 1024, cold);
        let g = format!("open_1GiB_1MiB_1KiB_{temp}");
        reopen::<Seglog<FileIo>>(c, dir, &g, 1 << 30, 1 << 20, 1024, cold);
        reopen::<Upstream>(c, dir, &g, 1 << 30, 1 << 20, 1024, cold);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = reopens
}
criterion_main!(benches);
