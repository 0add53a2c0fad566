//! Real-process crash tests, the one place that lists the backends they run on:
//! `cargo test -p seglog-testkit --test kill file` selects one.
//!
//! A child process (this test binary, re-executed with `--exact <backend>::child`) opens a
//! segment with `Writer::open`, which recovers it, then appends records of random sizes
//! (0 B to 70 KiB; record `i`'s bytes are a function of the seed and `i`), some in atomic
//! batches, syncing at random points and printing the acknowledged end and record count
//! after each sync. The parent kills it with SIGKILL at a random moment: right after spawn,
//! during the recovery in `Writer::open` (a large, well-filled segment makes that take
//! measurable time), or while it appends. A kill is not a power loss: the page cache
//! survives, so no valid record can follow damage and `Strict` recovery must open. The
//! parent checks that every acknowledged record is there, byte for byte at its offset,
//! that the records are exactly records `0..n` of the sequence, and that nothing past the
//! recovered end is non-zero. The next child reopens the same segment.
//!
//! `SEGLOG_KILL_SEED` sets the seed (default: a fixed one) and `SEGLOG_KILL_ROUNDS` the
//! kills per backend (default 40). Run with `--nocapture` to see the figures.

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use seglog_core::{OpenSegment, RecoveryMode, RecoveryReport, Writer};
use seglog_direct::DirectIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_testkit::util::{Rng, env_number};

mod child;
use child::{ENV_BACKEND, Msg, child_main, kill_child, record};

/// Segment files go under the target directory: a real filesystem, never tmpfs.
const DIR: &str = env!("CARGO_TARGET_TMPDIR");

/// Records start here; the bytes before it are the application's, and must survive.
const START: u64 = 64;
const APP_HEADER: &[u8] = b"seglog kill test";

/// Recovering a small segment takes a few milliseconds, mostly its sync; a large one holds
/// many records, and its recovery takes tens of milliseconds to scan them.
const SMALL: u64 = 8 << 20;
const LARGE: u64 = 64 << 20;
const LARGE_PREFILL: u64 = 24 << 20;

/// The line at which each backend's test is generated: one line per backend.
macro_rules! kill_tests {
    ($name:ident, $backend:ty) => {
        mod $name {
            use super::*;

            /// Kills a writer process many times, checking the segment after each kill.
            #[test]
            fn killed_writer_loses_nothing_acknowledged() {
                run::<$backend>(stringify!($name));
            }

            /// The re-executed writer; does nothing unless the parent set it up.
            #[test]
            fn child() {
                if std::env::var(ENV_BACKEND).as_deref() == Ok(stringify!($name)) {
                    child_main::<$backend>();
                }
            }
        }
    };
}

kill_tests!(file, FileIo);
kill_tests!(mmap, MmapIo);
kill_tests!(direct, DirectIo);

/// A pause of up to `max`, drawn from `rng`.
fn upto(rng: &mut Rng, max: Duration) -> Duration {
    Duration::from_micros(rng.below(max.as_micros() as usize + 1) as u64)
}

/// One segment the rounds take turns on, and what the rounds so far proved about it.
struct Lane {
    path: PathBuf,
    size: u64,
    prefill: u64,
    /// Records the last check found: a kill never loses one, so no later check finds fewer.
    floor: u64,
    /// How long the last child's `Writer::open` took.
    open_time: Duration,
}

impl Lane {
    /// A new segment with the application header and the first `prefill` bytes of records.
    fn reset<B: OpenSegment>(&mut self, data_seed: u64) {
        for p in [self.path.clone(), self.path.with_extension("seg.flushed")] {
            let _ = std::fs::remove_file(p);
        }
        let mut w = Writer::<B>::create(&self.path, self.size, START).unwrap();
        w.write_segment_header(APP_HEADER).unwrap();
        let mut seq = 0;
        while w.write_offset() < self.prefill {
            w.append(&record(data_seed, seq)).unwrap();
            seq += 1;
        }
        w.sync().unwrap();
        self.floor = seq;
    }
}

fn run<B: OpenSegment>(backend: &'static str) {
    let seed = env_number("SEGLOG_KILL_SEED", 0x6b11_1ed5);
    let rounds = env_number("SEGLOG_KILL_ROUNDS", 40);
    println!("kill [{backend}]: SEGLOG_KILL_SEED={seed:#x}");
    let mut rng = Rng::new(seed ^ backend.bytes().fold(0, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)));
    let data_seed = rng.next_u64();
    std::fs::create_dir_all(DIR).unwrap();
    let dir = tempfile::Builder::new().prefix("seglog-kill-").tempdir_in(DIR).unwrap();
    let mut lanes = [(SMALL, 0), (LARGE, LARGE_PREFILL)].map(|(size, prefill)| {
        let path = dir.path().join(format!("{}.seg", size >> 20));
        let mut lane = Lane { path, size, prefill, floor: 0, open_time: Duration::from_millis(2) };
        lane.reset::<B>(data_seed);
        lane
    });
    let (began, mut stats) = (Instant::now(), BTreeMap::<&str, u64>::new());
    for round in 0..rounds {
        let ctx = format!("[kill {backend}] SEGLOG_KILL_SEED={seed:#x}, round {round}");
        let lane = &mut lanes[usize::from(rng.below(3) == 0)];
        // Kill this long after spawn (stage 0), after "opening" (1) or after "opened" (2).
        let aim = match rng.below(20) {
            0..=3 => (0, upto(&mut rng, Duration::from_micros(1500))),
            4..=10 => (1, upto(&mut rng, lane.open_time.mul_f64(1.2))),
            11..=13 => (2, upto(&mut rng, Duration::from_micros(500))),
            _ => (2, upto(&mut rng, Duration::from_millis(25))),
        };
        let msgs = kill_child(&ctx, backend, &lane.path, (data_seed, rng.next_u64()), aim);
        let mut must_hold: Vec<_> =
            msgs.iter().filter_map(|m| if let Msg::Ack(e, n) = *m { Some((e, n)) } else { None }).collect();
        let last_ack = must_hold.last().map(|a| a.1);
        let opened = msgs.iter().find_map(|m| if let Msg::Opened(e, n, d, t) = *m { Some((e, n, d, t)) } else { None });
        let phase = match (opened, msgs.first()) {
            (Some(_), _) => "killed while appending",
            (None, Some(Msg::Opening)) => "killed during recovery",
            _ => "killed before opening",
        };
        *stats.entry(phase).or_default() += 1;
        *stats.entry("acknowledged syncs checked").or_default() += must_hold.len() as u64;
        if let Some((end, records, discarded, micros)) = opened {
            lane.open_time = Duration::from_micros(micros.max(200));
            *stats.entry("torn tails erased by a child").or_default() += u64::from(discarded > 0);
            must_hold.push((end, records));
        }
        // Mostly check a copy, so the next child finds the kill's torn tail itself.
        let on_copy = rng.below(3) != 0;
        let target = if on_copy { dir.path().join("copy.seg") } else { lane.path.clone() };
        if on_copy {
            std::fs::copy(&lane.path, &target).unwrap();
        }
        let report = check::<B>(&ctx, &target, data_seed, &must_hold, lane.floor);
        if on_copy {
            for p in [target.with_extension("seg.flushed"), target] {
                std::fs::remove_file(p).unwrap();
            }
        }
        let kept = report.records - last_ack.unwrap_or(report.records).min(report.records);
        for (key, n) in [
            ("rounds", 1),
            ("checks on a copy", u64::from(on_copy)),
            ("MiB of records verified", (report.end - START) >> 20),
            ("torn tails found", u64::from(report.discarded_bytes > 0)),
            ("unacknowledged records kept", kept),
        ] {
            *stats.entry(key).or_default() += n;
        }
        lane.floor = report.records;
        if report.end > lane.size / 4 * 3 {
            lane.reset::<B>(data_seed);
            *stats.entry("segments reset").or_default() += 1;
        }
    }
    println!("kill [{backend}] SEGLOG_KILL_SEED={seed:#x}: {stats:?} in {:.1?}", began.elapsed());
    assert_eq!(stats["rounds"], rounds);
}

/// Recovers `path` in `Strict` mode and checks it; returns what recovery reported.
/// `must_hold` lists (end, records) pairs the child acknowledged or recovered itself.
fn check<B: OpenSegment>(
    ctx: &str,
    path: &Path,
    data_seed: u64,
    must_hold: &[(u64, u64)],
    floor: u64,
) -> RecoveryReport {
    let w = Writer::<B>::open_with(path, START, RecoveryMode::Strict).unwrap_or_else(|e| {
        panic!("{ctx}: Strict refused a segment after a process kill: {e} (regression test: {BUG})")
    });
    let report = *w.report();
    let mut reader = w.reader();
    let mut it = reader.iter(START);
    let mut ends = vec![START];
    while let Some(rec) = it.next_record().unwrap_or_else(|e| panic!("{ctx}: reading record {}: {e}", ends.len() - 1)) {
        let (seq, at) = (ends.len() as u64 - 1, rec.offset());
        assert_eq!(at, *ends.last().unwrap(), "{ctx}: record {seq} is not where the one before it ends");
        let tag = rec.data().get(..8).map(|t| u64::from_le_bytes(t.try_into().unwrap()));
        assert!(rec.data() == record(data_seed, seq), "{ctx}: record {seq} at {at} is wrong (tagged {tag:?})");
        ends.push(rec.next_offset());
    }
    let (end, seq) = (*ends.last().unwrap(), ends.len() as u64 - 1);
    assert_eq!((end, seq), (report.end, report.records), "{ctx}: records read vs recovery's {report:?}");
    assert!(seq >= floor, "{ctx}: {seq} records recovered, but an earlier check found {floor}");
    for &(at, count) in must_hold {
        let found = ends.get(count as usize);
        assert_eq!(found, Some(&at), "{ctx}: {count} records ending at {at} were acknowledged; {seq} recovered");
    }
    drop(reader);
    drop(w); // Releases the lock and the file before the next child opens it.
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(APP_HEADER), "{ctx}: the application header changed");
    if let Some(i) = bytes[end as usize..].iter().position(|&b| b != 0) {
        panic!("{ctx}: byte {} past the recovered end {end} is not zero", end + i as u64);
    }
    report
}

const BUG: &str = "strict_refuses_torn_batch_after_killed_erase";

/// Regression: a SIGKILL while recovery erased a torn batch could leave a segment `Strict`
/// refused.
///
/// Recovery zeroes `[end, E)` front to back with `pwrite`s of up to 1 MiB, and the kernel
/// stops a killed `pwrite` at a page boundary. When the torn tail is an atomic batch whose
/// first records are complete, the kill can zero the batch's first header and leave a
/// later, complete kind-1 record of it. The search for valid records after damage counted
/// that record, so the next `Strict` recovery refused (and `Truncate` reported records
/// lost), though the batch was never complete. It now counts a batch record only if its
/// run of batch records ends in a valid record that ends the batch. Real kills reached
/// this state: 4 of 200 kills during `Writer::open` of such a torn batch did.
#[test]
fn strict_refuses_torn_batch_after_killed_erase() {
    let dir = tempfile::tempdir_in(DIR).unwrap();
    let path = dir.path().join("segment.log");
    let mut w = Writer::<FileIo>::create(&path, SMALL, START).unwrap();
    w.append(b"acknowledged").unwrap();
    let end = w.sync().unwrap();
    let parts = [vec![1; 16 << 10], vec![2; 100], vec![3; 200]];
    w.append_batch(&[&parts[0], &parts[1], &parts[2]]).unwrap();
    drop(w); // Hands the batch to the file, unsynced, like a writer killed before its sync.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let batch_end = end + 3 * 8 + (16 << 10) + 300;
    file.write_all_at(&[0; 150], batch_end - 150).unwrap();
    let torn = seglog_core::verify_path::<FileIo>(&path, START).unwrap();
    assert!(!torn.valid_records_after_damage(), "a torn batch alone is accepted: {torn:?}");
    // The next writer's recovery was killed after zeroing the first page of the tail.
    file.write_all_at(&vec![0; (4096 - end % 4096) as usize], end).unwrap();
    let w = Writer::<FileIo>::open_with(&path, START, RecoveryMode::Strict)
        .unwrap_or_else(|e| panic!("Strict refused a segment only process kills touched: {e}"));
    assert_eq!((w.report().end, w.report().records), (end, 1));
}
