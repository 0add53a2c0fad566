//! How seglog's costs grow with the work: record size, segment size, bytes recovered,
//! readers beside one writer. See BENCHMARKS.md ("Scale").
//!
//! `cargo bench --manifest-path benches/peers/Cargo.toml --bench scale`

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use seglog_core::{OpenSegment, ReadHint, Reader, Writer};
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_peers::systems::Seglog;
use seglog_peers::{bench_dir, drop_cache, fill, payload, prewarm, remove, shuffled, writer_with_followers};

/// Unsynced appends of records from 16 B to 1 MiB, about 4 MiB per iteration.
fn append_by_size(c: &mut Criterion, dir: &Path) {
    let mut g = c.benchmark_group("scale_append_by_record_size");
    for len in [16usize, 64, 256, 1024, 4096, 16 << 10, 64 << 10, 256 << 10, 1 << 20] {
        let batch = ((4 << 20) / (8 + len)).max(4) as u64;
        g.throughput(Throughput::Bytes(batch * len as u64));
        g.bench_function(BenchmarkId::from_parameter(len), |b| {
            let path = dir.join("by-size");
            b.iter_custom(|iters| {
                let record = payload(len);
                let mut total = Duration::ZERO;
                let mut w: Option<Writer<FileIo>> = None;
                for _ in 0..iters {
                    if w.as_ref().is_none_or(|w| w.remaining_bytes() < batch * (8 + len as u64) + 4096) {
                        drop(w.take());
                        remove(&path);
                        w = Some(Writer::create(&path, 256 << 20, 0).expect("create"));
                        prewarm(&path);
                    }
                    let w = w.as_mut().expect("writer");
                    let started = Instant::now();
                    for _ in 0..batch {
                        w.append(&record).expect("append");
                    }
                    total += started.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

/// Random reads of 1 KiB records in segments of 64 MiB to 4 GiB, cached and cold.
fn read_by_segment_size<B: OpenSegment>(c: &mut Criterion, dir: &Path, backend: &str) {
    for size in [64u64 << 20, 256 << 20, 1 << 30, 4 << 30] {
        let path = dir.join("by-segment");
        let at = fill::<Seglog<FileIo>>(&path, size, size - (1 << 20), 1024, 1000);
        let order = shuffled(at.len(), 1 << 16);
        for cold in [false, true] {
            if cold && backend == "mmap" {
                continue; // fadvise cannot evict pages a mapping holds: it would not be cold
            }
            let temp = if cold { "cold" } else { "cached" };
            let mut g = c.benchmark_group(format!("scale_random_read_1KiB_{temp}_{backend}"));
            g.throughput(Throughput::Elements(200)).sample_size(10);
            let mut next = 0;
            g.bench_function(BenchmarkId::from_parameter(format!("{}MiB", size >> 20)), |b| {
                let mut reader = Reader::<B>::open_closed(&path, 0).expect("reader");
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        if cold {
                            drop_cache(&path);
                        }
                        let started = Instant::now();
                        for _ in 0..200 {
                            reader.read_record(at[order[next % order.len()]], ReadHint::Random).expect("read");
                            next += 1;
                        }
                        total += started.elapsed();
                    }
                    total
                })
            });
            g.finish();
        }
        remove(&path);
    }
}

/// `Writer::open` recovery of 16 MiB to 1 GiB of 1 KiB records, warm.
fn recover_by_bytes(c: &mut Criterion, dir: &Path) {
    let mut g = c.benchmark_group("scale_recover_by_bytes_warm");
    g.sample_size(10);
    for bytes in [16u64 << 20, 64 << 20, 256 << 20, 1 << 30] {
        let path = dir.join("by-bytes");
        fill::<Seglog<FileIo>>(&path, bytes + (1 << 20), bytes, 1024, 1000);
        prewarm(&path);
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(BenchmarkId::from_parameter(format!("{}MiB", bytes >> 20)), |b| {
            b.iter(|| Writer::<FileIo>::open(&path, 0).expect("open").report().records)
        });
        remove(&path);
    }
    g.finish();
}

/// One writer appending 1 KiB records (sync every 100) while 1 to 8 readers follow it;
/// the time until every reader has read every record.
fn readers_beside_writer(c: &mut Criterion, dir: &Path) {
    const RECORDS: u64 = 50_000;
    let mut g = c.benchmark_group("scale_readers_following_one_writer");
    g.sample_size(10).throughput(Throughput::Elements(RECORDS));
    for readers in [1usize, 2, 4, 8] {
        let path = dir.join("follow");
        g.bench_function(BenchmarkId::from_parameter(readers), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| writer_with_followers::<FileIo>(&path, readers, RECORDS)).sum())
        });
    }
    g.finish();
}

fn scale(c: &mut Criterion) {
    let dir = bench_dir();
    let dir = dir.path();
    append_by_size(c, dir);
    read_by_segment_size::<FileIo>(c, dir, "file");
    read_by_segment_size::<MmapIo>(c, dir, "mmap");
    recover_by_bytes(c, dir);
    readers_beside_writer(c, dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = scale
}
criterion_main!(benches);
