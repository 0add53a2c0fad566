//! Shared pieces of seglog's benchmarks: building segments, picking offsets, dropping the
//! page cache. Benchmarks live in `benches/`; see BENCHMARKS.md at the repository root.

use std::path::{Path, PathBuf};

use seglog_core::{OpenSegment, SegmentIo, Writer};

/// A directory for benchmark segments on the target directory's filesystem (never tmpfs:
/// O_DIRECT refuses it).
pub fn bench_dir(target_tmp: &str) -> tempfile::TempDir {
    std::fs::create_dir_all(target_tmp).expect("creating the target tmp dir");
    tempfile::Builder::new().prefix("seglog-bench-").tempdir_in(target_tmp).expect("creating a bench dir")
}

/// Creates a segment of `size` bytes at `path` filled with records of `len` bytes until
/// fewer than one more fits, synced; returns their offsets.
pub fn fill_segment<B: OpenSegment>(path: &Path, size: u64, len: usize) -> Vec<u64> {
    let _ = std::fs::remove_file(path);
    let mut w = Writer::<B>::create(path, size, 0).expect("create");
    let record = vec![0x5a; len];
    let mut offsets = Vec::new();
    while w.remaining_bytes() >= (8 + len) as u64 {
        offsets.push(w.append(&record).expect("append").0);
    }
    w.sync().expect("sync");
    offsets
}

/// A fixed pseudo-random permutation-ish walk over `n` indices (xorshift), so every
/// backend reads the same offsets in the same order.
pub fn shuffled(n: usize, count: usize) -> Vec<usize> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        })
        .collect()
}

/// Drops the pages of every file at or under `path` from the page cache
/// (`posix_fadvise(DONTNEED)` after an `fdatasync`), so the next read goes to the device.
/// Needs no privileges.
pub fn drop_cache(path: &Path) {
    for f in files(path) {
        let file = std::fs::File::open(&f).expect("open for fadvise");
        file.sync_data().expect("sync before fadvise");
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
    }
}

/// Reads every byte of every file at or under `path` once, so its pages are cached.
pub fn prewarm(path: &Path) {
    for f in files(path) {
        let _ = std::fs::read(f).expect("prewarm read");
    }
}

/// `path` itself if it is a file, else every file under it.
fn files(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    std::fs::read_dir(path).into_iter().flatten().flatten().flat_map(|e| files(&e.path())).collect()
}

/// A fresh path in `dir` for the `i`-th segment of a run.
pub fn segment_path(dir: &Path, name: &str, i: usize) -> PathBuf {
    dir.join(format!("{name}-{i}.seg"))
}

/// The segment's size, for throughput figures.
pub fn size_of<B: SegmentIo>(io: &B) -> u64 {
    io.size()
}
