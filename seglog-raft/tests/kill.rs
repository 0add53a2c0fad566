//! Real SIGKILLs, on every backend: a child process (this test binary, re-executed with
//! `--exact <backend>::child`) opens a `LogStore`, then appends with up to 8 appends in
//! flight, saves higher votes, truncates (after a vote for a new term, as a new leader
//! does) and purges, saying on stdout each thing that became durable: an append whose
//! flush callback reported success, a vote or a truncation or a purge that returned. The
//! parent kills it at a random moment (during its open, or while it writes), reopens the
//! directory itself and checks that the vote and the purge watermark never went backwards
//! and are at least what the child reported; that every entry whose callback succeeded is
//! there unless a later truncation or purge removed it; that no entry a truncation cut ever
//! comes back; and that every entry held is byte for byte the one appended. The next child
//! goes on in the same directory.
//!
//! Log ids never repeat: each child starts a term above every vote and entry on disk, and
//! takes a new one before each truncation, so an entry's term tells which cuts cover it.
//! `SEGLOG_RAFT_KILL_SEED` sets the seed (default: a fixed one) and
//! `SEGLOG_RAFT_KILL_ROUNDS` the kills per backend (default 12).

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{C, entry};
use openraft::alias::VoteOf;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::testing::log_id;
use openraft::type_config::TypeConfigExt;
use openraft::{RaftLogReader, Vote};
use seglog_core::{LogOptions, OpenSegment};
use seglog_raft::LogStore;
use seglog_testkit::util::{Rng, env_number};

const ENV_BACKEND: &str = "SEGLOG_RAFT_KILL_CHILD_BACKEND";
const ENV_DIR: &str = "SEGLOG_RAFT_KILL_CHILD_DIR";
const ENV_SEED: &str = "SEGLOG_RAFT_KILL_CHILD_SEED";

/// Marks the child's lines on stdout, which libtest shares.
const MARK: &str = "seglog-raft-kill-child:";

fn options() -> LogOptions {
    // Small segments: they roll every few dozen entries, so purges remove files.
    LogOptions::default().segment_size(64 << 10)
}

macro_rules! kill_tests {
    ($name:ident, $backend:ty) => {
        mod $name {
            use super::*;

            /// Kills a process writing through a `LogStore` many times, checking the
            /// directory after each kill.
            #[test]
            fn killed_store_keeps_every_acknowledged_write() {
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

kill_tests!(file, seglog_file::FileIo);
kill_tests!(mmap, seglog_mmap::MmapIo);
kill_tests!(direct, seglog_direct::DirectIo);

/// What the child says after [`MARK`], one flushed line each, once it is durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    /// The store is open.
    Opened,
    /// Entries `from..=to` of `term`: their append's callback reported success.
    Ack { term: u64, from: u64, to: u64 },
    /// `save_vote` of a vote for `term` returned.
    Vote(u64),
    /// `truncate_after(index)` is about to be called: the entries it would cut may be gone
    /// after a kill even if [`Msg::Cut`] was never said (killed between the two).
    Cutting { index: u64, term: u64 },
    /// `truncate_after(index)` returned; every entry of a term below `term` past `index` is cut.
    Cut { index: u64, term: u64 },
    /// `purge(term, index)` returned.
    Purge { term: u64, index: u64 },
}

impl Msg {
    fn parse(line: &str) -> Option<Self> {
        let mut words = line[line.find(MARK)? + MARK.len()..].split_whitespace();
        let tag = words.next()?;
        let mut nums = words.map(|w| w.parse::<u64>().ok());
        let mut n = || nums.next().flatten();
        Some(match tag {
            "opened" => Msg::Opened,
            "ack" => Msg::Ack { term: n()?, from: n()?, to: n()? },
            "vote" => Msg::Vote(n()?),
            "cutting" => Msg::Cutting { index: n()?, term: n()? },
            "cut" => Msg::Cut { index: n()?, term: n()? },
            "purge" => Msg::Purge { term: n()?, index: n()? },
            _ => return None,
        })
    }
}

fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    // A leading newline keeps libtest's "test ... " prefix off our line.
    let _ = writeln!(out, "\n{MARK} {line}");
    let _ = out.flush();
}

fn vote(term: u64) -> VoteOf<C> {
    Vote::new(term, 1)
}

/// The writer process: open, then write until killed.
fn child_main<B: OpenSegment + Send + Sync + 'static>() {
    let dir = std::env::var(ENV_DIR).expect("the parent sets the directory");
    let mut rng = Rng::new(env_number(ENV_SEED, 0));
    C::run(async move {
        let mut store = LogStore::<C, B>::open(&dir, options()).unwrap_or_else(|e| panic!("child: open {dir}: {e}"));
        let state = store.get_log_state().await.expect("log state");
        let mut reader = store.get_log_reader().await;
        // The term of every entry held, to name the entry a truncation or purge keeps.
        let mut terms: BTreeMap<u64, u64> = reader
            .try_get_log_entries(..)
            .await
            .expect("read")
            .iter()
            .map(|e| (e.index(), e.log_id().leader_id.term))
            .collect();
        let old_vote = reader.read_vote().await.expect("vote").map_or(0, |v| v.leader_id.term);
        say(format_args!("opened"));
        let mut purged = state.last_purged_log_id.map_or(0, |p| p.index());
        let mut next = state.last_log_id.map_or(1, |l| l.index() + 1);
        let mut term = old_vote.max(state.last_log_id.map_or(0, |l| l.leader_id.term)) + 1;
        store.save_vote(&vote(term)).await.expect("vote");
        say(format_args!("vote {term}"));
        let mut waits = VecDeque::new();
        loop {
            match rng.below(100) {
                0..=89 => {
                    let to = next + rng.below(4) as u64;
                    let entries: Vec<_> = (next..=to).map(|i| entry(term, i)).collect();
                    let (tx, rx) = C::oneshot();
                    store.append(entries, IOFlushed::signal(tx)).await.expect("append");
                    waits.push_back((rx, term, next, to));
                    terms.extend((next..=to).map(|i| (i, term)));
                    next = to + 1;
                }
                90..=93 => {
                    term += 1;
                    store.save_vote(&vote(term)).await.expect("vote");
                    say(format_args!("vote {term}"));
                }
                94..=96 if next > purged + 2 => {
                    // A new leader's truncation: a new term first, then the cut.
                    let keep = next - 1 - rng.below(((next - purged - 2) as usize).min(30)) as u64;
                    term += 1;
                    store.save_vote(&vote(term)).await.expect("vote");
                    say(format_args!("vote {term}"));
                    say(format_args!("cutting {keep} {term}"));
                    store.truncate_after(Some(log_id::<C>(terms[&keep], 1, keep))).await.expect("truncate");
                    say(format_args!("cut {keep} {term}"));
                    terms.split_off(&(keep + 1));
                    next = keep + 1;
                }
                97..=99 => {
                    // Mostly a few entries within the log; now and then past its end, as a
                    // snapshot does.
                    let (t, upto) = if rng.below(8) == 0 || next <= purged + 1 {
                        (term, next + rng.below(5) as u64)
                    } else {
                        let upto = purged + 1 + rng.below(((next - purged - 1) as usize).min(50)) as u64;
                        (terms[&upto], upto)
                    };
                    store.purge(log_id::<C>(t, 1, upto)).await.expect("purge");
                    say(format_args!("purge {t} {upto}"));
                    terms = terms.split_off(&(upto + 1));
                    purged = upto;
                    next = next.max(upto + 1);
                }
                _ => {}
            }
            while waits.len() > rng.below(9) {
                let (rx, t, from, to) = waits.pop_front().expect("wait");
                rx.await.expect("callback").expect("flushed");
                say(format_args!("ack {t} {from} {to}"));
            }
        }
    });
}

/// What the rounds so far proved, which no later round may undo.
#[derive(Default)]
struct Floor {
    vote: u64,
    purged: u64,
    /// Truncations that returned, (index kept, term after): an entry of a lower term past
    /// the index never comes back.
    cuts: Vec<(u64, u64)>,
    /// Truncations begun, returned or not: an acknowledged entry they would cut may be gone.
    begun: Vec<(u64, u64)>,
}

fn run<B: OpenSegment + Send + Sync + 'static>(backend: &'static str) {
    let seed = env_number("SEGLOG_RAFT_KILL_SEED", 0x5eed_4a17);
    let rounds = env_number("SEGLOG_RAFT_KILL_ROUNDS", 12);
    println!("raft kill [{backend}]: SEGLOG_RAFT_KILL_SEED={seed:#x}");
    let mut rng = Rng::new(seed ^ backend.bytes().fold(0, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)));
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let dir = tmp.path().join("raft");
    let (began, mut floor, mut stats) = (Instant::now(), Floor::default(), BTreeMap::<&str, u64>::new());
    for round in 0..rounds {
        let ctx = format!("[raft kill {backend}] SEGLOG_RAFT_KILL_SEED={seed:#x}, round {round}");
        // Mostly while writing; now and then right after spawn, which may land in the open.
        let aim = if rng.below(5) == 0 {
            (false, Duration::from_micros(rng.below(20_000) as u64))
        } else {
            (true, Duration::from_micros(rng.below(150_000) as u64))
        };
        let msgs = kill_child(&ctx, backend, &dir, rng.next_u64(), aim);
        *stats.entry("rounds").or_default() += 1;
        *stats.entry("killed while writing").or_default() += u64::from(msgs.contains(&Msg::Opened));
        check::<B>(&ctx, &dir, &msgs, &mut floor, &mut stats);
    }
    println!("raft kill [{backend}]: {stats:?} in {:.1?}", began.elapsed());
    assert!(stats["acknowledged entries checked"] > 0, "no round acknowledged an entry");
}

/// Runs one child on `dir` and kills it `aim.1` after spawn, or after it opened the store
/// if `aim.0`; returns what it said.
fn kill_child(ctx: &str, backend: &str, dir: &Path, seed: u64, aim: (bool, Duration)) -> Vec<Msg> {
    let stderr_path = dir.with_extension("stderr");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", &format!("{backend}::child"), "--nocapture", "--test-threads=1"])
        .env(ENV_BACKEND, backend)
        .env(ENV_DIR, dir)
        .env(ENV_SEED, seed.to_string())
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().expect("stdout");
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
    let mut msgs = Vec::new();
    if aim.0 {
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(m) => {
                    msgs.push(m);
                    if m == Msg::Opened {
                        break;
                    }
                }
                Err(e) => panic!("{ctx}: the child did not open the store ({e:?}): {msgs:?}"),
            }
        }
    }
    std::thread::sleep(aim.1);
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    lines.join().expect("the line reader");
    msgs.extend(rx.try_iter());
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert_eq!(status.signal(), Some(9), "{ctx}: the child ended before the kill, after {msgs:?}:\n{stderr}");
    msgs
}

/// Reopens `dir` after a kill and checks it against what the child said and `floor`.
fn check<B: OpenSegment + Send + Sync + 'static>(
    ctx: &str,
    dir: &Path,
    msgs: &[Msg],
    floor: &mut Floor,
    stats: &mut BTreeMap<&'static str, u64>,
) {
    if !dir.exists() {
        assert!(msgs.is_empty(), "{ctx}: no directory, yet the child said {msgs:?}");
        return;
    }
    for m in msgs {
        match *m {
            Msg::Vote(t) => floor.vote = floor.vote.max(t),
            Msg::Purge { index, .. } => floor.purged = floor.purged.max(index),
            Msg::Cut { index, term } => floor.cuts.push((index, term)),
            Msg::Cutting { index, term } => floor.begun.push((index, term)),
            Msg::Opened | Msg::Ack { .. } => {}
        }
    }
    let cut = |term: u64, index: u64, cuts: &[(u64, u64)]| cuts.iter().any(|&(k, t)| index > k && term < t);
    C::run(async {
        let mut store = LogStore::<C, B>::open(dir, options()).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
        let seen = common::observe(&mut store).await.unwrap_or_else(|e| panic!("{ctx}: read: {e}"));
        let held_vote = seen.vote.map_or(0, |v| v.leader_id.term);
        assert!(held_vote >= floor.vote, "{ctx}: vote went back to term {held_vote}; term {} was saved", floor.vote);
        floor.vote = held_vote;
        let purged = seen.purged.map_or(0, |p| p.index());
        assert!(purged >= floor.purged, "{ctx}: purge watermark went back to {purged} from {}", floor.purged);
        floor.purged = purged;
        let entries = store.get_log_reader().await.try_get_log_entries(..).await.expect("read");
        for e in &entries {
            let (term, index) = (e.log_id().leader_id.term, e.index());
            assert!(!cut(term, index, &floor.cuts), "{ctx}: entry {index} of term {term} was cut, yet came back");
            assert!(index > purged, "{ctx}: entry {index} is at or below the purge watermark {purged}");
            let want = postcard::to_stdvec(&entry(term, index)).expect("encode");
            assert_eq!(postcard::to_stdvec(e).expect("encode"), want, "{ctx}: entry {index} of term {term} differs");
        }
        let mut checked = 0;
        for m in msgs {
            if let Msg::Ack { term, from, to } = *m {
                for index in
                    (from..=to).filter(|&i| i > purged && !cut(term, i, &floor.cuts) && !cut(term, i, &floor.begun))
                {
                    let held = seen.entries.get(&index).map(|id| id.leader_id.term);
                    assert_eq!(held, Some(term), "{ctx}: entry {index} of term {term} was acknowledged, then lost");
                    checked += 1;
                }
            }
        }
        *stats.entry("acknowledged entries checked").or_default() += checked;
        for m in msgs {
            let key = match m {
                Msg::Opened => continue,
                Msg::Ack { .. } => "acknowledged appends said",
                Msg::Vote(_) => "votes said",
                Msg::Cut { .. } => "truncations said",
                Msg::Cutting { .. } => continue,
                Msg::Purge { .. } => "purges said",
            };
            *stats.entry(key).or_default() += 1;
        }
        *stats.entry("entries held").or_default() += entries.len() as u64;
    });
}
