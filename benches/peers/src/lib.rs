//! The systems `benches/peers.rs` compares, behind one small interface each: seglog on
//! its three backends, the published seglog 0.3.6, okaywal, and a raw baseline.

pub mod raw;
pub mod systems;

use std::path::{Path, PathBuf};

/// Appends records and makes them durable.
pub trait Log: Sized {
    /// The name in reports.
    const NAME: &'static str;
    /// True if `append` can be measured without a sync after it (okaywal cannot).
    const UNSYNCED: bool = true;

    /// Creates a log of `size` bytes at `path` (a file, or a directory for okaywal).
    fn create(path: &Path, size: u64) -> Self;
    /// Appends one record; returns where it can be read from again.
    fn append(&mut self, data: &[u8]) -> u64;
    /// Makes every record appended so far durable.
    fn sync(&mut self);
    /// Bytes left for records.
    fn remaining(&self) -> u64;
}

/// Reads records back.
pub trait Read: Sized {
    /// Opens the log at `path`, created by the matching [`Log`].
    fn open(path: &Path) -> Self;
    /// Reads the record at `at` (as [`Log::append`] returned it); returns its length.
    fn read(&mut self, at: u64) -> usize;
    /// Reads every record in order; returns the payload bytes seen.
    fn scan(&mut self) -> usize;
}

/// Recovers a log after a restart: what opening it for writing costs.
pub trait Recover {
    /// Opens the log at `path` for writing, recovering it; returns the records found.
    fn recover(path: &Path) -> u64;
}

/// A directory for benchmark files on the target directory's filesystem (never tmpfs).
pub fn bench_dir() -> tempfile::TempDir {
    let parent = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-peers");
    std::fs::create_dir_all(&parent).expect("creating the bench directory");
    tempfile::Builder::new().prefix("run-").tempdir_in(parent).expect("creating a bench dir")
}

/// Removes a log at `path`, file or directory, with seglog's sidecar.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(".flushed");
    let _ = std::fs::remove_file(PathBuf::from(sidecar));
}

pub use seglog_benches::{drop_cache, prewarm, shuffled};

/// One writer appending `records` 1 KiB records to a new 64 MiB segment at `path`,
/// syncing every 100, while `readers` threads follow it through the flushed offset;
/// returns the time until every reader has read every record.
pub fn writer_with_followers<B: seglog_core::OpenSegment>(
    path: &Path,
    readers: usize,
    records: u64,
) -> std::time::Duration {
    use seglog_core::{Reader, Writer};
    remove(path);
    let mut w = Writer::<B>::create(path, 64 << 20, 0).expect("create");
    prewarm(path);
    let base = Reader::<B>::open(path, Some(w.flushed_offset())).expect("reader");
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..readers)
        .map(|_| {
            let mut r = base.try_clone().expect("clone");
            std::thread::spawn(move || {
                let mut it = r.iter(0);
                let mut seen = 0;
                while seen < records {
                    match it.next_record().expect("read") {
                        Some(_) => seen += 1,
                        None => std::thread::yield_now(),
                    }
                }
            })
        })
        .collect();
    let record = payload(1024);
    for i in 1..=records {
        w.append(&record).expect("append");
        if i % 100 == 0 {
            w.sync().expect("sync");
        }
    }
    w.sync().expect("sync");
    handles.into_iter().for_each(|h| h.join().expect("reader"));
    started.elapsed()
}

/// Fills a new log at `path` with records of `len` bytes until about `bytes` are used,
/// syncing every `sync_every` records; returns where each record can be read.
pub fn fill<L: Log>(path: &Path, size: u64, bytes: u64, len: usize, sync_every: usize) -> Vec<u64> {
    remove(path);
    let mut log = L::create(path, size);
    let record = payload(len);
    let mut at = Vec::new();
    let per = (8 + len) as u64;
    while (at.len() as u64 + 1) * per <= bytes && log.remaining() >= per + 64 {
        at.push(log.append(&record));
        if at.len() % sync_every == 0 {
            log.sync();
        }
    }
    log.sync();
    at
}

/// A payload of `len` bytes.
pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}
