//! Resident memory of a writer and of readers over a 1 GiB segment: anonymous memory
//! (what seglog allocates) must stay bounded whatever the segment's size.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --bin memory`

use seglog_core::{Reader, Writer};
use seglog_file::FileIo;
use seglog_mmap::MmapIo;

/// (anonymous, file-backed) resident KiB of this process.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("RssAnon:"), field("RssFile:"))
}

fn main() {
    let dir = seglog_peers::bench_dir();
    let path = dir.path().join("memory.seg");
    let size = 1u64 << 30;
    let record = seglog_peers::payload(1024);
    let (base, _) = rss();

    let mut w = Writer::<FileIo>::create(&path, size, 0).expect("create");
    let mut peak = 0;
    let mut n = 0u64;
    while w.remaining_bytes() >= 1032 {
        w.append(&record).expect("append");
        n += 1;
        if n.is_multiple_of(1000) {
            w.sync().expect("sync");
            peak = peak.max(rss().0);
        }
    }
    w.sync().expect("sync");
    println!("writer: {n} records (1 GiB): anonymous RSS grew {} KiB at most", peak.saturating_sub(base));
    let after_writer = rss().0;

    let mut r = Reader::<FileIo>::open(&path, Some(w.flushed_offset())).expect("reader");
    let mut it = r.iter(0);
    let mut peak = 0;
    let mut seen = 0u64;
    while it.next_record().expect("scan").is_some() {
        seen += 1;
        if seen.is_multiple_of(10_000) {
            peak = peak.max(rss().0);
        }
    }
    println!(
        "file reader: scanned {seen} records: anonymous RSS grew {} KiB at most",
        peak.saturating_sub(after_writer)
    );
    drop(r);
    drop(w);

    let before = rss().0;
    let w = Writer::<FileIo>::open(&path, 0).expect("open");
    println!("recovery: {} records: anonymous RSS grew {} KiB", w.report().records, rss().0.saturating_sub(before));
    drop(w);

    let (anon0, file0) = rss();
    let mut r = Reader::<MmapIo>::open_closed(&path, 0).expect("mmap reader");
    let mut it = r.iter(0);
    while it.next_record().expect("scan").is_some() {}
    let (anon1, file1) = rss();
    println!(
        "mmap reader: anonymous RSS grew {} KiB; file-backed (mapped page cache, reclaimable) {} KiB",
        anon1.saturating_sub(anon0),
        file1.saturating_sub(file0)
    );
}
