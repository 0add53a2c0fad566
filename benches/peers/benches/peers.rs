//! seglog beside the published seglog 0.3.6, okaywal and a raw baseline, on identical
//! workloads in one run. See BENCHMARKS.md for the results and how to read them.
//!
//! `cargo bench --manifest-path benches/peers/Cargo.toml --bench peers`
//! `python3 benches/report.py --criterion benches/peers/target/criterion --baseline seglog-0.3.6`

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use seglog_core::OpenSegment;
use seglog_direct::DirectIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_peers::raw::{RawLog, RawRead};
use seglog_peers::systems::{Named, Okaywal, Seglog, SeglogRead, SeglogZeroed, Upstream, UpstreamRead};
use seglog_peers::{
    Log, Read, Recover, bench_dir, drop_cache, fill, payload, prewarm, remove, shuffled, writer_with_followers,
};

const APPEND_SEGMENT: u64 = 256 << 20;
const READ_BYTES: u64 = 64 << 20;
const SCAN_BYTES: u64 = 256 << 20;

/// How an append benchmark's segments start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Created and then read once, so every page is in the page cache.
    Prewarmed,
    /// Just created, as an application meets a new segment.
    Fresh,
}

/// Appends `batch` records of `len` bytes per iteration, syncing after every `sync_every`
/// (never, if `None`). The log lives across criterion's samples; a full one is replaced
/// (created, and read into the page cache if `start` says so) untimed.
fn appends<L: Log>(
    log: &mut Option<L>,
    path: &Path,
    (len, batch, sync_every): (usize, u64, Option<u64>),
    start: Start,
    iters: u64,
) -> Duration {
    let record = payload(len);
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        if log.as_ref().is_none_or(|l| l.remaining() < batch * (8 + len as u64) + 4096) {
            drop(log.take());
            remove(path);
            let fresh = L::create(path, APPEND_SEGMENT);
            if start == Start::Prewarmed {
                prewarm(path);
            }
            *log = Some(fresh);
        }
        let l = log.as_mut().expect("log");
        let started = Instant::now();
        for i in 1..=batch {
            l.append(&record);
            if sync_every.is_some_and(|n| i % n == 0) {
                l.sync();
            }
        }
        total += started.elapsed();
    }
    total
}

/// Runs `appends` as one criterion benchmark, on one log kept for all its samples.
fn bench_appends<L: Log>(
    c: &mut Criterion,
    dir: &Path,
    group: String,
    len: usize,
    batch: u64,
    sync_every: Option<u64>,
    start: Start,
) {
    let path = dir.join(format!("append-{}", L::NAME));
    let mut log: Option<L> = None;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(batch));
    if sync_every.is_some() {
        g.sample_size(30).measurement_time(Duration::from_secs(6));
    }
    g.bench_function(BenchmarkId::from_parameter(L::NAME), |b| {
        b.iter_custom(|n| appends::<L>(&mut log, &path, (len, batch, sync_every), start, n))
    });
    g.finish();
    drop(log);
    remove(&path);
}

fn append_unsynced<L: Log>(c: &mut Criterion, dir: &Path) {
    if !L::UNSYNCED {
        return;
    }
    for (len, batch, label) in [(100, 10_000, "100B"), (1024, 2_000, "1KiB"), (64 << 10, 32, "64KiB")] {
        bench_appends::<L>(c, dir, format!("append_unsynced_{label}"), len, batch, None, Start::Prewarmed);
    }
}

fn append_synced<L: Log>(c: &mut Criterion, dir: &Path) {
    for every in [1u64, 10, 100] {
        bench_appends::<L>(
            c,
            dir,
            format!("append_1KiB_sync_every_{every}"),
            1024,
            every,
            Some(every),
            Start::Prewarmed,
        );
    }
}

/// Appends into segments as `Writer::create` leaves them, never read: what a new segment
/// costs an application.
fn append_fresh<L: Log>(c: &mut Criterion, dir: &Path) {
    if L::UNSYNCED {
        bench_appends::<L>(c, dir, "append_fresh_unsynced_1KiB".into(), 1024, 2_000, None, Start::Fresh);
    }
    for every in [1u64, 10] {
        let group = format!("append_fresh_1KiB_sync_every_{every}");
        bench_appends::<L>(c, dir, group, 1024, every, Some(every), Start::Fresh);
    }
}

fn random_reads<L: Log, R: Read>(c: &mut Criterion, dir: &Path) {
    for (len, label) in [(100, "100B"), (1024, "1KiB")] {
        let path = dir.join(format!("random-{}", L::NAME));
        let at = fill::<L>(&path, READ_BYTES + (1 << 20), READ_BYTES, len, 1000);
        prewarm(&path);
        let mut reader = R::open(&path);
        let order = shuffled(at.len(), 1 << 16);
        let mut next = 0;
        let mut g = c.benchmark_group(format!("random_read_{label}"));
        g.throughput(Throughput::Elements(1000));
        g.bench_function(BenchmarkId::from_parameter(L::NAME), |b| {
            b.iter(|| {
                let mut sum = 0;
                for _ in 0..1000 {
                    sum += reader.read(at[order[next % order.len()]]);
                    next += 1;
                }
                sum
            })
        });
        g.finish();
        drop(reader);
        remove(&path);
    }
}

/// okaywal's reads: by the position each chunk was written at.
fn random_reads_okaywal(c: &mut Criterion, dir: &Path) {
    for (len, label) in [(100, "100B"), (1024, "1KiB")] {
        let path = dir.join("random-okaywal");
        remove(&path);
        let mut log = Okaywal::create(&path, READ_BYTES);
        let record = payload(len);
        // Entries of 1000 chunks each, like the others' syncs every 1000 records.
        let count = READ_BYTES / (8 + len as u64);
        let mut at = Vec::with_capacity(count as usize);
        for _ in 0..count / 1000 {
            at.extend(log.append_batch_durable(&record, 1000));
        }
        prewarm(&path);
        let order = shuffled(at.len(), 1 << 16);
        let mut buf = Vec::new();
        let mut next = 0;
        let mut g = c.benchmark_group(format!("random_read_{label}"));
        g.throughput(Throughput::Elements(1000));
        g.bench_function(BenchmarkId::from_parameter("okaywal"), |b| {
            b.iter(|| {
                let mut sum = 0;
                for _ in 0..1000 {
                    sum += log.read(at[order[next % order.len()]], &mut buf);
                    next += 1;
                }
                sum
            })
        });
        g.finish();
        drop(log);
        remove(&path);
    }
}

/// Times `f` on a cold page cache (dropped, untimed, before each run) or a warm one.
fn timed(path: &Path, cold: bool, iters: u64, mut f: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        if cold {
            drop_cache(path);
        } else {
            prewarm(path);
        }
        let started = Instant::now();
        f();
        total += started.elapsed();
    }
    total
}

fn scan_and_recover<L: Log + Recover, R: Read>(c: &mut Criterion, dir: &Path) {
    scan_and_recover_records::<L, R>(c, dir, 1024, "1KiB", &[false, true]);
    scan_and_recover_records::<L, R>(c, dir, 100, "100B", &[false]);
}

fn scan_and_recover_records<L: Log + Recover, R: Read>(
    c: &mut Criterion,
    dir: &Path,
    len: usize,
    label: &str,
    temps: &[bool],
) {
    let path = dir.join(format!("scan-{}", L::NAME));
    fill::<L>(&path, SCAN_BYTES + (1 << 20), SCAN_BYTES, len, 1000);
    for &cold in temps {
        let temp = if cold { "cold" } else { "warm" };
        let mut g = c.benchmark_group(format!("scan_256MiB_{label}_{temp}"));
        g.throughput(Throughput::Bytes(SCAN_BYTES)).sample_size(10);
        g.bench_function(BenchmarkId::from_parameter(L::NAME), |b| {
            b.iter_custom(|n| {
                let mut reader = R::open(&path);
                timed(&path, cold, n, || {
                    reader.scan();
                })
            })
        });
        g.finish();
        let mut g = c.benchmark_group(format!("recover_256MiB_{label}_{temp}"));
        g.throughput(Throughput::Bytes(SCAN_BYTES)).sample_size(10);
        g.bench_function(BenchmarkId::from_parameter(L::NAME), |b| {
            b.iter_custom(|n| {
                timed(&path, cold, n, || {
                    L::recover(&path);
                })
            })
        });
        g.finish();
    }
    remove(&path);
}

fn recover_okaywal(c: &mut Criterion, dir: &Path) {
    let path = dir.join("scan-okaywal");
    remove(&path);
    let mut log = Okaywal::create(&path, SCAN_BYTES);
    let record = payload(1024);
    for _ in 0..SCAN_BYTES / 1032 / 1000 {
        log.append_batch_durable(&record, 1000);
    }
    drop(log);
    for cold in [false, true] {
        let temp = if cold { "cold" } else { "warm" };
        let mut g = c.benchmark_group(format!("recover_256MiB_1KiB_{temp}"));
        g.throughput(Throughput::Bytes(SCAN_BYTES)).sample_size(10);
        g.bench_function(BenchmarkId::from_parameter("okaywal"), |b| {
            b.iter_custom(|n| {
                timed(&path, cold, n, || {
                    Okaywal::recover(&path);
                })
            })
        });
        g.finish();
    }
    remove(&path);
}

const FOLLOW_RECORDS: u64 = 50_000;

/// One writer appending 1 KiB records (durable every 100) while three reader threads
/// follow it; one iteration ends when every reader has read every record.
fn follow_seglog<B: OpenSegment + Named>(c: &mut Criterion, dir: &Path) {
    let path = dir.join(format!("follow-{}", B::NAME));
    let mut g = c.benchmark_group("follow_1_writer_3_readers_1KiB");
    g.sample_size(10).throughput(Throughput::Elements(FOLLOW_RECORDS));
    g.bench_function(BenchmarkId::from_parameter(B::NAME), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| writer_with_followers::<B>(&path, 3, FOLLOW_RECORDS)).sum())
    });
    g.finish();
    remove(&path);
}

/// The same with seglog 0.3.6. Its iterator's read-ahead never sees records synced after
/// it filled (defect W7), so its readers step from record to record by offset instead.
fn follow_upstream(c: &mut Criterion, dir: &Path) {
    use seglog_upstream::read::{ReadError, ReadHint as UpHint, Reader as UpReader};
    let path = dir.join("follow-upstream");
    let mut g = c.benchmark_group("follow_1_writer_3_readers_1KiB");
    g.sample_size(10).throughput(Throughput::Elements(FOLLOW_RECORDS));
    g.bench_function(BenchmarkId::from_parameter("seglog-0.3.6"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove(&path);
                let mut w = seglog_upstream::write::Writer::<0>::create(&path, 64 << 20, 0).expect("create");
                prewarm(&path);
                let started = Instant::now();
                let readers: Vec<_> = (0..3)
                    .map(|_| {
                        let mut r = UpReader::<0>::open(&path, Some(w.flushed_offset())).expect("reader");
                        thread::spawn(move || {
                            let (mut at, mut seen) = (0u64, 0);
                            while seen < FOLLOW_RECORDS {
                                match r.read_record(at, UpHint::Random) {
                                    Ok(rec) => {
                                        at += rec.len as u64;
                                        seen += 1;
                                    }
                                    Err(ReadError::OutOfBounds { .. } | ReadError::TruncationMarker { .. }) => {
                                        thread::yield_now()
                                    }
                                    Err(e) => panic!("read: {e}"),
                                }
                            }
                        })
                    })
                    .collect();
                let record = payload(1024);
                for i in 1..=FOLLOW_RECORDS {
                    w.append_data(&record).expect("append");
                    if i % 100 == 0 {
                        w.sync().expect("sync");
                    }
                }
                w.sync().expect("sync");
                readers.into_iter().for_each(|h| h.join().expect("reader"));
                total += started.elapsed();
            }
            total
        })
    });
    g.finish();
    remove(&path);
}

fn peers(c: &mut Criterion) {
    let dir = bench_dir();
    let dir = dir.path();
    // The one list of systems, per workload.
    append_unsynced::<RawLog>(c, dir);
    append_unsynced::<Seglog<FileIo>>(c, dir);
    append_unsynced::<Seglog<MmapIo>>(c, dir);
    append_unsynced::<Seglog<DirectIo>>(c, dir);
    append_unsynced::<Upstream>(c, dir);

    append_synced::<RawLog>(c, dir);
    append_synced::<Seglog<FileIo>>(c, dir);
    append_synced::<SeglogZeroed>(c, dir);
    append_synced::<Seglog<MmapIo>>(c, dir);
    append_synced::<Seglog<DirectIo>>(c, dir);
    append_synced::<Upstream>(c, dir);
    append_synced::<Okaywal>(c, dir);

    append_fresh::<RawLog>(c, dir);
    append_fresh::<Seglog<FileIo>>(c, dir);
    append_fresh::<SeglogZeroed>(c, dir);
    append_fresh::<Upstream>(c, dir);

    random_reads::<RawLog, RawRead>(c, dir);
    random_reads::<Seglog<FileIo>, SeglogRead<FileIo>>(c, dir);
    random_reads::<Seglog<MmapIo>, SeglogRead<MmapIo>>(c, dir);
    random_reads::<Seglog<DirectIo>, SeglogRead<DirectIo>>(c, dir);
    random_reads::<Upstream, UpstreamRead>(c, dir);
    random_reads_okaywal(c, dir);

    scan_and_recover::<RawLog, RawRead>(c, dir);
    scan_and_recover::<Seglog<FileIo>, SeglogRead<FileIo>>(c, dir);
    scan_and_recover::<Seglog<MmapIo>, SeglogRead<MmapIo>>(c, dir);
    scan_and_recover::<Seglog<DirectIo>, SeglogRead<DirectIo>>(c, dir);
    scan_and_recover::<Upstream, UpstreamRead>(c, dir);
    recover_okaywal(c, dir);

    follow_seglog::<FileIo>(c, dir);
    follow_seglog::<MmapIo>(c, dir);
    follow_seglog::<DirectIo>(c, dir);
    follow_upstream(c, dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = peers
}
criterion_main!(benches);
