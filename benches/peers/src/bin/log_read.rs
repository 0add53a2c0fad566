//! Reading a `seglog::Log` across segments beside one segment (issue 14): a scan of every
//! record, and random `read_record`s, of 1 KiB records, from one closed segment, from a log
//! whose records all lie in one segment, and from a log of many segments. Warm page cache.
//! The systems alternate round by round, so a machine whose load drifts shifts them all
//! alike. Prints per system the median over the rounds of the time per record and of its
//! per-round ratio to the one segment (range in brackets), in wall time and in the thread's
//! CPU time, which time spent waiting for a shared core does not inflate.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --bin log_read [-- ROUNDS [MiB [SEGMENT_MiB]]]`
//!
//! With `ROUNDS` = 0 and a fourth argument `SYSTEM` (0 to 5: the scans of the one segment,
//! the log of one segment and the log of many, then their random reads) it makes one pass
//! of that system, for an instruction count: under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='log_read::measured*'`
//! the total is the pass alone. Those counts are repeatable where wall time on a shared
//! machine is not.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use seglog_core::{Log, LogOptions, LogReader, ReadHint, Reader};
use seglog_file::FileIo;
use seglog_peers::shuffled;

const RECORD: usize = 1024;
const RANDOM_READS: usize = 1000;

fn thread_cpu() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Wall and thread CPU seconds `f` takes.
fn timed(f: impl FnOnce() -> usize) -> [f64; 2] {
    let (wall, cpu) = (Instant::now(), thread_cpu());
    black_box(f());
    [wall.elapsed().as_secs_f64(), thread_cpu() - cpu]
}

/// A log at `path` of `bytes` of records in segments of `segment` bytes; returns the
/// records' positions.
fn build_log(path: &Path, bytes: u64, segment: u64) -> Vec<u64> {
    let mut log =
        Log::<FileIo>::open(path, LogOptions::default().segment_size(segment).precreate(false)).expect("open the log");
    let record = vec![0x5au8; RECORD];
    let positions = (0..bytes / (8 + RECORD as u64)).map(|_| log.append(&record).expect("append").0).collect();
    log.sync().expect("sync");
    positions
}

#[inline(never)]
fn measured_scan_one_segment(r: &mut Reader<FileIo>) -> usize {
    let mut it = r.iter(0);
    let mut n = 0;
    while let Some(rec) = it.next_record().expect("scan") {
        n += rec.len();
    }
    n
}

#[inline(never)]
fn measured_scan_log(r: &mut LogReader<FileIo>) -> usize {
    let start = r.start_position();
    let mut it = r.iter(start);
    let mut n = 0;
    while let Some(rec) = it.next_record().expect("scan") {
        n += rec.len();
    }
    n
}

#[inline(never)]
fn measured_random_one_segment(r: &mut Reader<FileIo>, offsets: &[u64], order: &[usize]) -> usize {
    order.iter().map(|&i| r.read_record(offsets[i], ReadHint::Random).expect("read").len()).sum()
}

#[inline(never)]
fn measured_random_log(r: &mut LogReader<FileIo>, positions: &[u64], order: &[usize]) -> usize {
    order.iter().map(|&i| r.read_record(positions[i]).expect("read").len()).sum()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Prints, per system, the median per-record time and the per-round ratio to the first.
fn report(title: &str, names: &[&str], per_round: &[Vec<[f64; 2]>], records: usize) {
    println!("{title}: median over {} rounds, per record (ratio to {}: median [min-max])", per_round.len(), names[0]);
    for (s, name) in names.iter().enumerate() {
        let mut cells = Vec::new();
        for k in 0..2 {
            let mut times: Vec<f64> = per_round.iter().map(|r| r[s][k] / records as f64 * 1e9).collect();
            let mut ratios: Vec<f64> = per_round.iter().map(|r| r[s][k] / r[0][k]).collect();
            let t = median(&mut times);
            let m = median(&mut ratios);
            cells.push(format!("{t:8.1} ns  {m:.3}x [{:.3}-{:.3}]", ratios[0], ratios[ratios.len() - 1]));
        }
        println!("  {name:<22} wall {}   cpu {}", cells[0], cells[1]);
    }
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let rounds = args.first().copied().unwrap_or(9) as usize;
    let bytes = args.get(1).copied().unwrap_or(64) << 20;
    let segment = args.get(2).copied().unwrap_or(1) << 20;
    let dir = seglog_peers::bench_dir();
    let one = dir.path().join("one.seg");
    // As many records as each log holds: `bytes / (8 + RECORD)`.
    let offsets = seglog_benches::fill_segment::<FileIo>(&one, bytes, RECORD);
    let many = build_log(&dir.path().join("many"), bytes, segment);
    let whole = build_log(&dir.path().join("whole"), bytes, bytes + (2 << 20));
    let reopen = |name| Log::<FileIo>::open(dir.path().join(name), LogOptions::default().precreate(false));
    let (whole_log, many_log) = (reopen("whole").expect("reopen"), reopen("many").expect("reopen"));
    let segments = many_log.segments().len();
    let mut single = Reader::<FileIo>::open_closed(&one, 0).expect("reader");
    let (mut in_one, mut in_many) = (whole_log.reader(), many_log.reader());
    assert_eq!((offsets.len(), whole.len()), (many.len(), many.len()), "the systems hold the same records");
    let n = many.len();
    let order = shuffled(n, RANDOM_READS);
    seglog_peers::prewarm(dir.path());
    if rounds == 0 {
        // One pass of one system: one count each (the log's passes share a function).
        match args.get(3).copied().unwrap_or(0) {
            0 => black_box(measured_scan_one_segment(&mut single)),
            1 => black_box(measured_scan_log(&mut in_one)),
            2 => black_box(measured_scan_log(&mut in_many)),
            3 => black_box(measured_random_one_segment(&mut single, &offsets, &order)),
            4 => black_box(measured_random_log(&mut in_one, &whole, &order)),
            _ => black_box(measured_random_log(&mut in_many, &many, &order)),
        };
        println!("one pass: {n} records, {segments} segments in the log");
        return;
    }
    let names = ["one segment", "log, 1 segment", &format!("log, {segments} segments")];
    let (mut scans, mut randoms) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        scans.push(vec![
            timed(|| measured_scan_one_segment(&mut single)),
            timed(|| measured_scan_log(&mut in_one)),
            timed(|| measured_scan_log(&mut in_many)),
        ]);
        randoms.push(vec![
            timed(|| measured_random_one_segment(&mut single, &offsets, &order)),
            timed(|| measured_random_log(&mut in_one, &whole, &order)),
            timed(|| measured_random_log(&mut in_many, &many, &order)),
        ]);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("{} MiB of {RECORD}-byte records ({n}); load average {}", bytes >> 20, load.trim());
    report("scan", &names, &scans, n);
    report(&format!("{RANDOM_READS} random read_record"), &names, &randoms, RANDOM_READS);
}
