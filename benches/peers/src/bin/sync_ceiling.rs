//! Appends of 1 KiB records, each made durable before the next, side by side: what the
//! sync per record costs on this device, and so how fast any log could be here. Systems:
//! seglog 0.3.6 (its `commit`), seglog-file as `Writer::create` leaves it (fallocated;
//! its writer zero-fills ahead while syncs are frequent), seglog-file on a
//! `Preallocation::Zeroed` segment, and four raw loops that write the same record format
//! with no checks: `pwrite` + `fdatasync`, and one `pwritev2(RWF_DSYNC)` per record, each
//! into a fallocated (unwritten) file and into a file whose blocks were written with zeros
//! first. Every round creates each system's file afresh (untimed), as an application meets
//! a new segment, and the systems alternate round by round in a rotating order, so load
//! that drifts shifts them all alike. Prints per system the median records/s over the
//! rounds and the median (and range) of its per-round ratio to seglog 0.3.6 and to raw
//! `pwrite` + `fdatasync` into a fallocated file.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --bin sync_ceiling [-- ROUNDS [RECORDS]]`

use std::fs::{File, OpenOptions};
use std::io::IoSlice;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use rustix::io::ReadWriteFlags;
use seglog_file::FileIo;
use seglog_peers::systems::{Seglog, SeglogZeroed, Upstream};
use seglog_peers::{Log, payload, remove};

/// Each system's segment: room for the records with the writer's zero-fill ahead of them.
const SEGMENT: u64 = 16 << 20;

/// How a raw loop makes a record durable.
#[derive(Clone, Copy)]
enum Durable {
    /// `pwrite`, then `fdatasync`: two syscalls.
    Fdatasync,
    /// `pwritev2` with `RWF_DSYNC`: one syscall, the kernel syncs the range after the write.
    Dsync,
}

/// A raw log: seglog's record format (length, CRC32C, payload), no checks.
struct Raw {
    file: File,
    record: Vec<u8>,
    at: u64,
    durable: Durable,
}

impl Raw {
    /// Creates the file at `path`: fallocated, or with every block written (zeros, then
    /// `fdatasync`) when `written`.
    fn create(path: &Path, written: bool, durable: Durable) -> Self {
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(path).expect("create");
        if written {
            let zeros = vec![0u8; 1 << 20];
            for at in (0..SEGMENT).step_by(zeros.len()) {
                file.write_all_at(&zeros, at).expect("zero-fill");
            }
        } else {
            rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, SEGMENT).expect("fallocate");
        }
        file.sync_all().expect("fsync");
        Self { file, record: Vec::new(), at: 0, durable }
    }

    /// Appends `data` as one record and makes it durable.
    fn append_durable(&mut self, data: &[u8]) {
        let len = (data.len() as u32).to_le_bytes();
        self.record.clear();
        self.record.extend_from_slice(&len);
        self.record.extend_from_slice(&seglog_core::crc::record_crc(len, data).to_le_bytes());
        self.record.extend_from_slice(data);
        match self.durable {
            Durable::Fdatasync => {
                self.file.write_all_at(&self.record, self.at).expect("pwrite");
                self.file.sync_data().expect("fdatasync");
            }
            Durable::Dsync => {
                let done =
                    rustix::io::pwritev2(&self.file, &[IoSlice::new(&self.record)], self.at, ReadWriteFlags::DSYNC)
                        .expect("pwritev2");
                assert_eq!(done, self.record.len(), "short pwritev2");
            }
        }
        self.at += self.record.len() as u64;
    }
}

/// One system: its name and a run of `records` durable appends into a new file at a path,
/// returning the seconds the appends took (creating the file is untimed).
type System = (&'static str, fn(&Path, &[u8], u64) -> f64);

fn timed_log<L: Log>(path: &Path, record: &[u8], records: u64) -> f64 {
    let mut log = L::create(path, SEGMENT);
    let started = Instant::now();
    for _ in 0..records {
        log.append(record);
        log.sync();
    }
    started.elapsed().as_secs_f64()
}

fn timed_raw<const WRITTEN: bool, const DSYNC: bool>(path: &Path, record: &[u8], records: u64) -> f64 {
    let mut log = Raw::create(path, WRITTEN, if DSYNC { Durable::Dsync } else { Durable::Fdatasync });
    let started = Instant::now();
    for _ in 0..records {
        log.append_durable(record);
    }
    started.elapsed().as_secs_f64()
}

const SYSTEMS: [System; 7] = [
    ("seglog-0.3.6", timed_log::<Upstream>),
    ("raw fallocated, fdatasync", timed_raw::<false, false>),
    ("seglog-file (default)", timed_log::<Seglog<FileIo>>),
    ("seglog-file, Zeroed", timed_log::<SeglogZeroed>),
    ("raw written, fdatasync", timed_raw::<true, false>),
    ("raw fallocated, RWF_DSYNC", timed_raw::<false, true>),
    ("raw written, RWF_DSYNC", timed_raw::<true, true>),
];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(9);
    let records: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    assert!(records * 1032 + (2 << 20) <= SEGMENT, "{records} records do not fit a segment");
    let dir = seglog_peers::bench_dir();
    let record = payload(1024);
    // rates[system][round], records per second.
    let mut rates = vec![Vec::with_capacity(rounds); SYSTEMS.len()];
    for round in 0..rounds {
        for k in 0..SYSTEMS.len() {
            let i = (round + k) % SYSTEMS.len();
            let path = dir.path().join(format!("sys-{i}"));
            remove(&path);
            let secs = (SYSTEMS[i].1)(&path, &record, records);
            remove(&path);
            rates[i].push(records as f64 / secs);
        }
    }
    println!("1 KiB records, each durable before the next; {records} per system per round, {rounds} rounds");
    println!("  {:28} {:>10} {:>22} {:>22}", "system", "records/s", "x seglog 0.3.6", "x raw fallocated");
    for (i, (name, _)) in SYSTEMS.iter().enumerate() {
        let ratio = |base: usize| {
            let mut r: Vec<f64> = rates[i].iter().zip(&rates[base]).map(|(s, b)| s / b).collect();
            let m = median(&mut r);
            format!("{m:.2} ({:.2}-{:.2})", r[0], r[r.len() - 1])
        };
        let rate = median(&mut rates[i].clone());
        let (lo, hi) = {
            let mut r = rates[i].clone();
            r.sort_by(f64::total_cmp);
            (r[0], r[r.len() - 1])
        };
        println!("  {name:28} {rate:>10.0} {:>22} {:>22}   [{lo:.0}-{hi:.0}]", ratio(0), ratio(1));
    }
}
