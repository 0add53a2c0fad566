//! Followers in another process than the writer, checked against what was durable.
//!
//! A child process appends records (alone and in batches), syncs, and truncates, sometimes
//! through records never synced; it prints the sequence numbers each sync made durable.
//! Followers in this process poll all along and keep every record they yield. At the end,
//! every yielded record must be one that some sync made durable, and intact: a follower
//! yields no record that was never synced, and no torn one.
//!
//! `SEGLOG_FOLLOW_STRESS_OPS` sets the writer's steps (default 1500, a few seconds) and
//! `SEGLOG_FOLLOW_STRESS_SEED` its seed.

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use seglog_core::{Error, Follower, Writer};
use seglog_file::FileIo;

const CHILD_ENV: &str = "SEGLOG_FOLLOW_STRESS_PATH";
const FOLLOWERS: usize = 3;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(default)
}

/// xorshift64*: enough randomness for a schedule, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// A record's payload: its sequence number, then bytes derived from it, so a torn or
/// misplaced record shows.
fn payload(seq: u64, len: usize) -> Vec<u8> {
    let mut out = seq.to_le_bytes().to_vec();
    out.extend((0..len).map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i) as u8));
    out
}

fn check_payload(bytes: &[u8]) -> u64 {
    let seq = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(bytes, payload(seq, bytes.len() - 8), "record {seq} is not intact");
    seq
}

/// Run as the writer by `followers_yield_only_durable_records`.
#[test]
fn follow_stress_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let ops = env_u64("SEGLOG_FOLLOW_STRESS_OPS", 1500);
    let mut rng = Rng(env_u64("SEGLOG_FOLLOW_STRESS_SEED", 0x5eed) | 1);
    let mut w = Writer::<FileIo>::open(&path, 0).unwrap();
    let mut out = std::io::stdout().lock();
    let mut seq = 0u64;
    // Record ends that a truncation may cut to (not inside a batch), with the sequence
    // numbers appended since the last sync.
    let mut boundaries = vec![0u64];
    let mut unsynced: Vec<u64> = Vec::new();
    for _ in 0..ops {
        match rng.below(10) {
            0..=5 => {
                let n = 1 + rng.below(3) as usize;
                let records: Vec<Vec<u8>> = (0..n).map(|i| payload(seq + i as u64, rng.below(200) as usize)).collect();
                if w.remaining_bytes() < 4096 {
                    w.truncate(0).unwrap();
                    boundaries = vec![0];
                    unsynced.clear();
                }
                let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
                w.append_batch(&refs).unwrap();
                unsynced.extend(seq..seq + n as u64);
                seq += n as u64;
                boundaries.push(w.write_offset());
            }
            6..=8 => {
                w.sync().unwrap();
                let durable: Vec<String> = unsynced.drain(..).map(|s| s.to_string()).collect();
                writeln!(out, "durable {}", durable.join(" ")).unwrap();
            }
            _ => {
                // Anywhere: below the durable end, or among records not yet synced.
                let keep = 1 + rng.below(boundaries.len() as u64) as usize;
                boundaries.truncate(keep);
                let cut = *boundaries.last().unwrap();
                if cut == w.write_offset() {
                    continue; // nothing to cut, nothing synced
                }
                w.truncate(cut).unwrap();
                // What was cut is gone; which unsynced records survived does not matter:
                // they become durable only at the next sync, which lists them then.
                unsynced.clear();
                // The cut's sync made every record it kept durable, synced before or not.
                let mut r = seglog_core::Reader::<FileIo>::open(&path, Some(w.flushed_offset())).unwrap();
                let mut it = r.iter(0);
                let mut kept = Vec::new();
                while let Some(rec) = it.next_record().unwrap() {
                    kept.push(check_payload(&rec).to_string());
                }
                writeln!(out, "durable {}", kept.join(" ")).unwrap();
            }
        }
    }
    w.sync().unwrap();
    let durable: Vec<String> = unsynced.drain(..).map(|s| s.to_string()).collect();
    writeln!(out, "durable {}", durable.join(" ")).unwrap();
    out.flush().unwrap();
    std::process::exit(0);
}

/// The followers' side: poll while the child writes, then check.
#[test]
fn followers_yield_only_durable_records() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("segment.log");
    drop(Writer::<FileIo>::create(&path, 256 << 10, 0).unwrap());
    let mut followers: Vec<Follower<FileIo>> =
        (0..FOLLOWERS).map(|_| Follower::<FileIo>::open(&path, 0).unwrap()).collect();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "follow_stress_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap());
    let (mut yielded, mut truncations) = (Vec::new(), 0u64);
    let mut poll_all = |followers: &mut Vec<Follower<FileIo>>| {
        for f in followers.iter_mut() {
            loop {
                // A record may borrow the follower until it is dropped: take what it says first.
                let got = f.wait(Duration::from_micros(200)).map(|r| r.map(|rec| check_payload(&rec)));
                match got {
                    Ok(Some(seq)) => yielded.push(seq),
                    Ok(None) => break,
                    Err(Error::Truncated { .. }) => {
                        truncations += 1;
                        *f = Follower::<FileIo>::open(&path, 0).unwrap();
                    }
                    Err(e) => panic!("follower: {e}"),
                }
            }
        }
    };
    while child.try_wait().unwrap().is_none() {
        poll_all(&mut followers);
    }
    poll_all(&mut followers);
    assert!(child.wait().unwrap().success());
    let log = reader.join().unwrap();
    let durable: HashSet<u64> = log
        .lines()
        .filter_map(|l| l.split_once("durable"))
        .flat_map(|(_, seqs)| seqs.split_whitespace().filter_map(|s| s.parse().ok()).collect::<Vec<_>>())
        .collect();
    let violations: Vec<u64> = yielded.iter().copied().filter(|s| !durable.contains(s)).collect();
    println!(
        "{} records yielded by {FOLLOWERS} followers, {truncations} truncations seen, {} never-synced records yielded",
        yielded.len(),
        violations.len()
    );
    assert!(!yielded.is_empty());
    assert!(
        violations.is_empty(),
        "records yielded that no sync made durable: {:?}",
        &violations[..violations.len().min(20)]
    );
}
