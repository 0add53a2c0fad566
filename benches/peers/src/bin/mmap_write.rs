//! How should the mmap backend write? `pwrite` beside a read-only shared mapping (what
//! seglog-mmap does, like LMDB's default), or `memcpy` into a writable shared mapping
//! with `msync` to make it durable. 1 KiB records, synced every 1 and every 100 records,
//! and never; medians of 5 runs, in one process, alternating the two. The `pwrite` side
//! buffers as seglog's writer does: records are copied into a 256 KiB buffer that is
//! written when full and at each sync.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --bin mmap_write`

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::time::Instant;

const SEGMENT: u64 = 64 << 20;
const RECORD: usize = 1024;

fn create(path: &std::path::Path) -> std::fs::File {
    let _ = std::fs::remove_file(path);
    let f = OpenOptions::new().read(true).write(true).create_new(true).open(path).expect("create");
    rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, SEGMENT).expect("fallocate");
    f.sync_all().expect("sync");
    f
}

/// Records per second appending `n` records through `pwrite`, syncing every `every`.
fn pwrite(path: &std::path::Path, n: usize, every: Option<usize>) -> f64 {
    let f = create(path);
    // The read-only mapping readers use; writes go beside it.
    // SAFETY: the file outlives the mapping and is not truncated while mapped.
    let _map = unsafe { memmap2::Mmap::map(&f) }.expect("map");
    let record = vec![7u8; RECORD];
    let mut buf = Vec::with_capacity(256 << 10);
    let mut written = 0u64;
    let started = Instant::now();
    for i in 0..n {
        buf.extend_from_slice(&record);
        let sync = every.is_some_and(|e| (i + 1) % e == 0);
        if sync || buf.len() == buf.capacity() {
            f.write_all_at(&buf, written).expect("pwrite");
            written += buf.len() as u64;
            buf.clear();
        }
        if sync {
            f.sync_data().expect("fdatasync");
        }
    }
    f.write_all_at(&buf, written).expect("pwrite");
    n as f64 / started.elapsed().as_secs_f64()
}

/// The same through a writable shared mapping, `msync`ing the dirty range every `every`.
fn mapped(path: &std::path::Path, n: usize, every: Option<usize>) -> f64 {
    let f = create(path);
    // SAFETY: as above; this process is the only writer.
    let mut map = unsafe { memmap2::MmapMut::map_mut(&f) }.expect("map");
    let record = vec![7u8; RECORD];
    let mut synced = 0;
    let started = Instant::now();
    for i in 0..n {
        map[i * RECORD..(i + 1) * RECORD].copy_from_slice(&record);
        if every.is_some_and(|e| (i + 1) % e == 0) {
            map.flush_range(synced, (i + 1) * RECORD - synced).expect("msync");
            synced = ((i + 1) * RECORD) & !4095;
        }
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = seglog_peers::bench_dir();
    let path = dir.path().join("w.seg");
    for (every, n) in [(Some(1), 3000), (Some(100), 30_000), (None, 60_000)] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            a.push(pwrite(&path, n, every));
            b.push(mapped(&path, n, every));
        }
        let (a, b) = (median(a), median(b));
        let label = every.map_or("never".to_string(), |e| format!("every {e}"));
        println!(
            "1 KiB records, sync {label:>9}: pwrite {a:>10.0}/s, writable mapping + msync {b:>10.0}/s ({:.2}x)",
            b / a
        );
    }
}
