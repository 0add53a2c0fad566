//! The child side of the kill tests, and the parent's half of talking to it: the writer
//! process, the record sequence it writes, the lines it prints, and spawning and killing it.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use seglog_core::{Error, OpenSegment, Writer};
use seglog_testkit::util::{Rng, env_number};

use super::START;

pub(crate) const ENV_BACKEND: &str = "SEGLOG_KILL_CHILD_BACKEND";
const ENV_PATH: &str = "SEGLOG_KILL_CHILD_PATH";
const ENV_DATA_SEED: &str = "SEGLOG_KILL_CHILD_DATA_SEED";
const ENV_RNG_SEED: &str = "SEGLOG_KILL_CHILD_RNG_SEED";

/// Marks the child's lines on stdout, which libtest shares.
const MARK: &str = "seglog-kill-child:";

/// Record `seq` of the sequence: a length from 0 to 70 KiB and bytes that depend only on
/// `data_seed` and `seq`, starting with `seq` itself so a misplaced record shows.
pub(crate) fn record(data_seed: u64, seq: u64) -> Vec<u8> {
    let mut rng = Rng::new(data_seed ^ seq.wrapping_mul(0xd1b5_4a32_d192_ed03));
    let len = match rng.below(20) {
        0 => 0,
        1..=10 => 1 + rng.below(256),
        11..=17 => rng.below(4097),
        _ => rng.below((70 << 10) + 1),
    };
    let mut data = seglog_testkit::util::payload(rng.next_u64(), len);
    let tag = seq.to_le_bytes();
    let n = len.min(tag.len());
    data[..n].copy_from_slice(&tag[..n]);
    data
}

/// What the child prints after [`MARK`], one flushed line each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Msg {
    /// About to call `Writer::open`.
    Opening,
    /// `Writer::open` returned: the recovered end and records, bytes erased, microseconds.
    Opened(u64, u64, u64, u64),
    /// A sync returned: records `0..count`, ending at `end`, are acknowledged: (end, count).
    Ack(u64, u64),
}

impl Msg {
    fn parse(line: &str) -> Option<Self> {
        let mut words = line[line.find(MARK)? + MARK.len()..].split_whitespace();
        let tag = words.next()?;
        let mut nums = words.map(|w| w.parse::<u64>().ok());
        let mut n = || nums.next().flatten();
        Some(match tag {
            "opening" => Msg::Opening,
            "opened" => Msg::Opened(n()?, n()?, n()?, n()?),
            "ack" => Msg::Ack(n()?, n()?),
            _ => return None,
        })
    }

    /// How far the child got: 1 once it is opening the segment, 2 once it has opened it.
    fn stage(&self) -> u8 {
        if *self == Msg::Opening { 1 } else { 2 }
    }
}

fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    // A leading newline keeps libtest's "test ... " prefix off our line.
    let _ = writeln!(out, "\n{MARK} {line}");
    let _ = out.flush();
}

/// The writer process: recover, then append and sync until killed.
pub(crate) fn child_main<B: OpenSegment>() {
    let path = std::env::var(ENV_PATH).expect("the parent sets the segment path");
    let data_seed = env_number(ENV_DATA_SEED, 0);
    let mut rng = Rng::new(env_number(ENV_RNG_SEED, 0));
    say(format_args!("opening"));
    let began = Instant::now();
    let mut w = Writer::<B>::open(&path, START).unwrap_or_else(|e| panic!("child: opening {path}: {e}"));
    let r = *w.report();
    let micros = began.elapsed().as_micros();
    say(format_args!("opened {} {} {} {micros}", r.end, r.records, r.discarded_bytes));
    let mut seq = r.records;
    // Rare syncs let the 256 KiB write buffer fill and flush mid-record: torn tails.
    let sync_one_in = [2, 4, 16, 64, 256, 1024][rng.below(6)];
    loop {
        let n = if rng.below(5) == 0 { 2 + rng.below(3) as u64 } else { 1 };
        let batch: Vec<Vec<u8>> = (seq..seq + n).map(|s| record(data_seed, s)).collect();
        let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
        let appended = if n == 1 { w.append(refs[0]) } else { w.append_batch(&refs) };
        match appended {
            Ok(_) => seq += n,
            Err(Error::SegmentFull { .. }) => {
                let end = w.sync().unwrap_or_else(|e| panic!("child: syncing: {e}"));
                say(format_args!("ack {end} {seq}"));
                std::thread::sleep(Duration::from_secs(60)); // Until the kill.
            }
            Err(e) => panic!("child: appending record {seq}: {e}"),
        }
        if rng.below(sync_one_in) == 0 {
            let end = w.sync().unwrap_or_else(|e| panic!("child: syncing: {e}"));
            say(format_args!("ack {end} {seq}"));
        }
    }
}

/// Runs one child on `path`, kills it `aim.1` after it reaches [`Msg::stage`] `aim.0`,
/// and returns what it said.
pub(crate) fn kill_child(ctx: &str, backend: &str, path: &Path, seeds: (u64, u64), aim: (u8, Duration)) -> Vec<Msg> {
    let stderr_path = path.with_extension("stderr");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &format!("{backend}::child"), "--nocapture", "--test-threads=1"])
        .env(ENV_BACKEND, backend)
        .env(ENV_PATH, path)
        .env(ENV_DATA_SEED, seeds.0.to_string())
        .env(ENV_RNG_SEED, seeds.1.to_string())
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let spawned = Instant::now();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let lines = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        // A line cut short by the kill has no newline: it was never fully said.
        while r.read_line(&mut line).is_ok_and(|n| n > 0) && line.ends_with('\n') {
            if let Some(m) = Msg::parse(&line)
                && tx.send(m).is_err()
            {
                break;
            }
            line.clear();
        }
    });
    let (mut msgs, mut reached) = (Vec::new(), 0);
    while reached < aim.0 {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(m) => {
                reached = reached.max(m.stage());
                msgs.push(m);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("{ctx}: the child said nothing for 30 s"),
        }
    }
    let since = if aim.0 == 0 { spawned.elapsed() } else { Duration::ZERO };
    std::thread::sleep(aim.1.saturating_sub(since));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    lines.join().unwrap();
    msgs.extend(rx.try_iter());
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert_eq!(status.signal(), Some(9), "{ctx}: the child ended before the kill, after {msgs:?}:\n{stderr}");
    msgs
}
