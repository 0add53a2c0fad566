//! The three backends side by side on the same workloads, in one run.
//!
//! `cargo bench -p seglog-benches --bench backends`, then
//! `python3 benches/report.py` for the table of medians and ratios to the file backend.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use seglog_benches::{bench_dir, drop_cache, fill_segment, prewarm, segment_path, shuffled};
use seglog_core::{OpenSegment, ReadHint, Reader, Writer};
use seglog_direct::DirectIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;

const DIR: &str = env!("CARGO_TARGET_TMPDIR");
const APPEND_SEGMENT: u64 = 256 << 20;
const SCAN_SEGMENT: u64 = 256 << 20;
const READ_SEGMENT: u64 = 64 << 20;

/// The one list of backends: runs `$f::<Io>(c, dir, "name")` for each.
macro_rules! each_backend {
    ($f:ident, $c:expr, $dir:expr) => {
        $f::<FileIo>($c, $dir, "file");
        $f::<MmapIo>($c, $dir, "mmap");
        $f::<DirectIo>($c, $dir, "direct");
    };
}

/// When an append benchmark syncs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sync {
    Never,
    EachRecord,
    EachBatch,
}

/// Appends `batch` records of `len` bytes per iteration, creating a fresh segment (untimed)
/// whenever the current one cannot take another batch.
fn append_batches<B: OpenSegment>(dir: &Path, name: &str, len: usize, batch: u64, sync: Sync, iters: u64) -> Duration {
    let record = vec![0xa5u8; len];
    let mut n = 0;
    let mut writer: Option<Writer<B>> = None;
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let room = writer.as_ref().map_or(0, |w| w.remaining_bytes());
        if room < batch * (8 + len as u64) {
            drop(writer.take());
            let _ = std::fs::remove_file(segment_path(dir, name, n));
            n += 1;
            writer = Some(Writer::<B>::create(segment_path(dir, name, n), APPEND_SEGMENT, 0).expect("create"));
        }
        let w = writer.as_mut().expect("writer");
        let started = Instant::now();
        for _ in 0..batch {
            w.append(&record).expect("append");
            if sync == Sync::EachRecord {
                w.sync().expect("sync");
            }
        }
        if sync == Sync::EachBatch {
            w.sync().expect("sync");
        }
        total += started.elapsed();
    }
    drop(writer);
    let _ = std::fs::remove_file(segment_path(dir, name, n));
    total
}

fn append_unsynced<B: OpenSegment>(c: &mut Criterion, dir: &Path, backend: &str) {
    for (len, batch, label) in [(100, 10_000, "100B"), (1024, 2_000, "1KiB"), (64 << 10, 32, "64KiB")] {
        let mut g = c.benchmark_group(format!("append_unsynced_{label}"));
        g.throughput(Throughput::Elements(batch));
        g.bench_function(BenchmarkId::from_parameter(backend), |b| {
            b.iter_custom(|iters| {
                append_batches::<B>(dir, &format!("{backend}-append"), len, batch, Sync::Never, iters)
            })
        });
        g.finish();
    }
}

fn append_synced<B: OpenSegment>(c: &mut Criterion, dir: &Path, backend: &str) {
    for (every, sync, label) in [(1u64, Sync::EachRecord, "every_1"), (100, Sync::EachBatch, "every_100")] {
        let mut g = c.benchmark_group(format!("append_1KiB_sync_{label}"));
        g.throughput(Throughput::Elements(every));
        g.bench_function(BenchmarkId::from_parameter(backend), |b| {
            // One batch of `every` records and one sync per iteration.
            b.iter_custom(|iters| append_batches::<B>(dir, &format!("{backend}-sync"), 1024, every, sync, iters))
        });
        g.finish();
    }
}

fn random_reads<B: OpenSegment>(c: &mut Criterion, dir: &Path, backend: &str) {
    for (len, label) in [(100, "100B"), (1024, "1KiB")] {
        let path = segment_path(dir, &format!("{backend}-random"), len);
        let offsets = fill_segment::<B>(&path, READ_SEGMENT, len);
        prewarm(&path);
        let mut reader = Reader::<B>::open_closed(&path, 0).expect("reader");
        let order = shuffled(offsets.len(), 1 << 16);
        let mut next = 0;
        let mut g = c.benchmark_group(format!("random_read_{label}"));
        g.throughput(Throughput::Elements(1000));
        g.bench_function(BenchmarkId::from_parameter(backend), |b| {
            b.iter(|| {
                let mut sum = 0;
                for _ in 0..1000 {
                    let offset = offsets[order[next % order.len()]];
                    next += 1;
                    sum += reader.read_record(offset, ReadHint::Random).expect("read").len();
                }
                sum
            })
        });
        g.finish();
        drop(reader);
        let _ = std::fs::remove_file(&path);
    }
}

fn scan_all<B: OpenSegment>(reader: &mut Reader<B>) -> usize {
    let mut it = reader.iter(0);
    let mut bytes = 0;
    while let Some(r) = it.next_record().expect("scan") {
        bytes += r.len();
    }
    bytes
}

fn scan_and_recover<B: OpenSegment>(c: &mut Criterion, dir: &Path, backend: &str) {
    let path = segment_path(dir, &format!("{backend}-scan"), 0);
    fill_segment::<B>(&path, SCAN_SEGMENT, 1024);
    prewarm(&path);
    let mut g = c.benchmark_group("scan_256MiB_1KiB_warm");
    g.sample_size(10).throughput(Throughput::Bytes(SCAN_SEGMENT));
    let mut reader = Reader::<B>::open_closed(&path, 0).expect("reader");
    g.bench_function(BenchmarkId::from_parameter(backend), |b| b.iter(|| scan_all(&mut reader)));
    g.finish();
    drop(reader);

    let mut g = c.benchmark_group("recover_256MiB_1KiB_warm");
    g.sample_size(10).throughput(Throughput::Bytes(SCAN_SEGMENT));
    g.bench_function(BenchmarkId::from_parameter(backend), |b| {
        b.iter(|| Writer::<B>::open(&path, 0).expect("open").report().records)
    });
    g.finish();

    // A mapping keeps the pages it has touched (opening a closed reader walks them all), and
    // fadvise cannot evict mapped pages: a cold mmap run would not be cold. Skip it.
    if backend != "mmap" {
        cold_reads::<B>(c, &path, backend);
    }
    let _ = std::fs::remove_file(&path);
}

fn cold_reads<B: OpenSegment>(c: &mut Criterion, path: &Path, backend: &str) {
    let mut g = c.benchmark_group("scan_256MiB_1KiB_cold");
    g.sample_size(10).throughput(Throughput::Bytes(SCAN_SEGMENT));
    g.bench_function(BenchmarkId::from_parameter(backend), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut reader = Reader::<B>::open_closed(path, 0).expect("reader");
                drop_cache(path);
                let started = Instant::now();
                scan_all(&mut reader);
                total += started.elapsed();
            }
            total
        })
    });
    g.finish();

    let offsets = Reader::<B>::open_closed(path, 0).map(|mut r| {
        let mut it = r.iter(0);
        let mut v = Vec::new();
        while let Some(rec) = it.next_record().expect("scan") {
            v.push(rec.offset());
        }
        v
    });
    let offsets = offsets.expect("reader");
    let order = shuffled(offsets.len(), 1 << 16);
    let mut g = c.benchmark_group("random_read_1KiB_cold");
    g.sample_size(20).throughput(Throughput::Elements(200));
    g.bench_function(BenchmarkId::from_parameter(backend), |b| {
        let mut next = 0;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut reader = Reader::<B>::open_closed(path, 0).expect("reader");
                drop_cache(path);
                let started = Instant::now();
                for _ in 0..200 {
                    let offset = offsets[order[next % order.len()]];
                    next += 1;
                    reader.read_record(offset, ReadHint::Random).expect("read");
                }
                total += started.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn backends(c: &mut Criterion) {
    let dir = bench_dir(DIR);
    let dir = dir.path();
    each_backend!(append_unsynced, c, dir);
    each_backend!(append_synced, c, dir);
    each_backend!(random_reads, c, dir);
    each_backend!(scan_and_recover, c, dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = backends
}
criterion_main!(benches);
