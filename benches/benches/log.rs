//! `seglog::Log` against one big segment, in one run: appending across many rolls, the
//! latency of the syncs right after a roll, opening logs of many segments, and reading
//! across segment boundaries. File backend only (the backends differ in moving bytes, which
//! the `backends` bench compares).
//!
//! `cargo bench -p seglog-benches --bench log`, then `python3 benches/report.py`.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use seglog_benches::{bench_dir, shuffled};
use seglog_core::{Log, LogOptions, ReadHint, Writer};
use seglog_file::FileIo;

const DIR: &str = env!("CARGO_TARGET_TMPDIR");
const ONE_SEGMENT: u64 = 1 << 30;
const LOG_SEGMENT: u64 = 4 << 20;
const RECORD: usize = 1024;
const PER_SYNC: u64 = 100;

/// Appends `PER_SYNC` records and syncs, per iteration, into one big segment (replaced,
/// untimed, when full).
fn append_one_segment(dir: &Path, iters: u64) -> Duration {
    let record = vec![0xa5u8; RECORD];
    let path = dir.join("one.seg");
    let mut writer: Option<Writer<FileIo>> = None;
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        if writer.as_ref().is_none_or(|w| w.remaining_bytes() < PER_SYNC * (8 + RECORD as u64)) {
            drop(writer.take());
            let _ = std::fs::remove_file(&path);
            writer = Some(Writer::create(&path, ONE_SEGMENT, 0).expect("create"));
        }
        let w = writer.as_mut().expect("writer");
        let started = Instant::now();
        for _ in 0..PER_SYNC {
            w.append(&record).expect("append");
        }
        w.sync().expect("sync");
        total += started.elapsed();
    }
    total
}

/// The same into a log of 4 MiB segments: rolls are timed; purging old segments (to bound
/// the disk used) is not. Also collects each sync's latency, split by whether a roll came
/// just before it.
fn append_log(dir: &Path, precreate: bool, iters: u64, latencies: &mut (Vec<Duration>, Vec<Duration>)) -> Duration {
    let record = vec![0xa5u8; RECORD];
    let path = dir.join(format!("log-{precreate}"));
    let _ = std::fs::remove_dir_all(&path);
    let options = LogOptions::default().segment_size(LOG_SEGMENT).precreate(precreate);
    let mut log = Log::<FileIo>::open(&path, options).expect("open");
    let mut total = Duration::ZERO;
    // Equal records: segment k starts at record k * per_segment, the position k * per_segment * (8 + RECORD).
    let per_segment = (LOG_SEGMENT - seglog_core::log::DATA_START) / (8 + RECORD as u64);
    for _ in 0..iters {
        let started = Instant::now();
        let mut rolled = false;
        for _ in 0..PER_SYNC {
            let (pos, _) = log.append(&record).expect("append");
            rolled |= pos > 0 && (pos / (8 + RECORD as u64)).is_multiple_of(per_segment);
        }
        let synced = Instant::now();
        let end = log.sync().expect("sync");
        let now = Instant::now();
        total += now - started;
        if rolled { &mut latencies.0 } else { &mut latencies.1 }.push(now - synced);
        if end > 64 * LOG_SEGMENT && end % (32 * LOG_SEGMENT) < PER_SYNC * (8 + RECORD as u64) {
            log.purge_before(end - 16 * LOG_SEGMENT).expect("purge");
        }
    }
    total
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v.get(((v.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default()
}

fn appends(c: &mut Criterion) {
    let dir = bench_dir(DIR);
    let mut g = c.benchmark_group("log_append_1KiB_sync_every_100");
    g.throughput(Throughput::Elements(PER_SYNC)).sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function(BenchmarkId::from_parameter("one_segment"), |b| {
        b.iter_custom(|iters| append_one_segment(dir.path(), iters))
    });
    for (precreate, name) in [(true, "log_4MiB"), (false, "log_4MiB_no_precreate")] {
        let mut lat = (Vec::new(), Vec::new());
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| append_log(dir.path(), precreate, iters, &mut lat))
        });
        let (after, other) = (&mut lat.0, &mut lat.1);
        println!(
            "{name}: sync after a roll p50 {:?} p99 {:?} ({} syncs); other syncs p50 {:?} p99 {:?} ({} syncs)",
            percentile(after, 0.5),
            percentile(after, 0.99),
            after.len(),
            percentile(other, 0.5),
            percentile(other, 0.99),
            other.len()
        );
    }
    g.finish();
}

/// A log of `segments` sealed segments of `size` bytes filled with 1 KiB records, plus a
/// half-full tail.
fn build_log(dir: &Path, segments: u64, size: u64) -> std::path::PathBuf {
    let path = dir.join(format!("open-{segments}x{size}"));
    let mut log = Log::<FileIo>::open(&path, LogOptions::default().segment_size(size)).expect("open");
    let record = vec![0x5au8; RECORD];
    let per = (size - seglog_core::log::DATA_START) / (8 + RECORD as u64);
    for _ in 0..(segments * per + per / 2) {
        log.append(&record).expect("append");
    }
    log.sync().expect("sync");
    path
}

fn opens(c: &mut Criterion) {
    let dir = bench_dir(DIR);
    let mut g = c.benchmark_group("log_open");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (segments, size, name) in [(100, 1 << 20, "100x1MiB"), (1000, 1 << 20, "1000x1MiB"), (250, 4 << 20, "250x4MiB")]
    {
        let path = build_log(dir.path(), segments, size);
        let options = LogOptions::default().precreate(false);
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| Log::<FileIo>::open(&path, options).expect("open").segments().len())
        });
    }
    g.finish();
}

fn reads(c: &mut Criterion) {
    let dir = bench_dir(DIR);
    let path = build_log(dir.path(), 64, 1 << 20);
    let log = Log::<FileIo>::open(&path, LogOptions::default().precreate(false)).expect("open");
    let mut reader = log.reader();
    let mut positions = Vec::new();
    let mut it = reader.iter(0);
    while let Some(r) = it.next_record().expect("scan") {
        positions.push(r.position());
    }
    let one = dir.path().join("one.seg");
    let offsets = seglog_benches::fill_segment::<FileIo>(&one, 64 << 20, RECORD);
    let mut single = seglog_core::Reader::<FileIo>::open_closed(&one, 0).expect("reader");
    let order = shuffled(positions.len().min(offsets.len()), 1 << 16);
    let mut g = c.benchmark_group("log_random_read_1KiB");
    g.throughput(Throughput::Elements(1000));
    let mut next = 0;
    g.bench_function(BenchmarkId::from_parameter("one_segment"), |b| {
        b.iter(|| {
            (0..1000)
                .map(|_| {
                    next += 1;
                    single.read_record(offsets[order[next % order.len()]], ReadHint::Random).expect("read").len()
                })
                .sum::<usize>()
        })
    });
    g.bench_function(BenchmarkId::from_parameter("log_64x1MiB"), |b| {
        b.iter(|| {
            (0..1000)
                .map(|_| {
                    next += 1;
                    reader.read_record(positions[order[next % order.len()]]).expect("read").len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
    let mut g = c.benchmark_group("log_scan_1KiB");
    g.throughput(Throughput::Bytes(64 << 20)).sample_size(10);
    g.bench_function(BenchmarkId::from_parameter("one_segment_64MiB"), |b| {
        b.iter(|| {
            let mut it = single.iter(0);
            let mut n = 0;
            while let Some(r) = it.next_record().expect("scan") {
                n += r.len();
            }
            n
        })
    });
    g.bench_function(BenchmarkId::from_parameter("log_64x1MiB"), |b| {
        b.iter(|| {
            let mut it = reader.iter(0);
            let mut n = 0;
            while let Some(r) = it.next_record().expect("scan") {
                n += r.len();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, appends, opens, reads);
criterion_main!(benches);
