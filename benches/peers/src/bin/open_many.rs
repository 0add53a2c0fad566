//! Opening a `seglog::Log` of many sealed segments plus a full tail (issue 14): builds the
//! log with the public API (1 KiB records, one sync per segment), then times `Log::open`
//! (default options: `TornTail`, sealed segments checked by their headers, which is what
//! makes the cost O(segments) + O(tail bytes)) with the page cache warm and dropped, and
//! deletes the log.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --bin open_many -- SEGMENTS SEGMENT_MiB TAIL_MiB`

use std::time::Instant;

use seglog_core::{Log, LogOptions};
use seglog_file::FileIo;
use seglog_peers::{drop_cache, payload, prewarm};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (segments, seg_mib, tail_mib) = (arg(1, 1000), arg(2, 4), arg(3, 64));
    let dir = seglog_peers::bench_dir();
    let path = dir.path().join("log");
    let record = payload(1024);
    let started = Instant::now();
    let data = seglog_core::log::DATA_START;
    // Equal records: a segment of S bytes holds (S - DATA_START) / 1032 of them.
    let per = |mib: u64| ((mib << 20) - data) / (8 + record.len() as u64);
    let mut log = Log::<FileIo>::open(&path, LogOptions::default().segment_size(seg_mib << 20)).expect("open");
    for _ in 0..segments {
        for _ in 0..per(seg_mib) {
            log.append(&record).expect("append");
        }
        log.sync().expect("sync");
    }
    drop(log);
    // The tail: a segment of TAIL_MiB, filled (its walk is the O(tail bytes) part).
    let mut log = Log::<FileIo>::open(&path, LogOptions::default().segment_size(tail_mib << 20)).expect("open");
    for _ in 0..per(tail_mib) {
        log.append(&record).expect("append");
    }
    log.sync().expect("sync");
    let info = log.segments();
    drop(log);
    println!(
        "built {} sealed segments of {seg_mib} MiB + a {tail_mib} MiB tail holding {} records in {:.0?}",
        info.len() - 1,
        info.last().map_or(0, |s| s.records),
        started.elapsed()
    );
    let options = LogOptions::default().precreate(false);
    for round in 0..3 {
        for cold in [false, true] {
            if cold {
                drop_cache(&path);
            } else {
                prewarm(&path.join(info.last().map(|s| s.path.file_name().expect("name").to_owned()).expect("tail")));
            }
            let t = Instant::now();
            let log = Log::<FileIo>::open(&path, options).expect("open");
            let took = t.elapsed();
            let n = log.segments().len();
            drop(log);
            println!("round {round}: open ({}) {n} segments in {took:.1?}", if cold { "cold" } else { "warm" });
        }
    }
    drop(dir);
}
