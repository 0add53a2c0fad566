//! A multi-threaded stress check: a writer appends, batches, syncs and truncates while
//! readers and iterators in other threads check every record they get against the facts
//! of what was durable when they got it.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use seglog_core::{Error, FlushedOffset, ReadHint, Reader, Record, RecoveryMode, SegmentIo, Writer};

use crate::util::{Rng, env_number, payload};
use crate::{Decorator, Harness, decorate_segment_io};

const SIZE: u64 = 128 << 10;

/// What the writer knows of one record.
#[derive(Debug)]
struct Fact {
    offset: u64,
    len: usize,
    /// Set by the sync that made it durable, before the writer publishes it.
    durable: bool,
    /// The generation of the truncation that cut it, recorded before that truncation starts.
    cut_in: Option<u64>,
}

#[derive(Debug, Default)]
struct Facts {
    records: HashMap<u64, Fact>,
    /// Every record ever appended, as (id, offset), for random reads.
    all: Vec<(u64, u64)>,
    /// Appended, not yet cut, not yet durable.
    pending: Vec<u64>,
}

type Shared = Arc<Mutex<Facts>>;

fn lock(facts: &Shared) -> MutexGuard<'_, Facts> {
    facts.lock().unwrap_or_else(|e| e.into_inner())
}

/// Passes calls through, and marks the pending records durable when a sync succeeds:
/// exactly when they are, before the writer publishes them.
#[derive(Debug)]
struct SyncWatch<B> {
    inner: B,
    facts: Shared,
}

impl<B: SegmentIo> Decorator for SyncWatch<B> {
    type Inner = B;
    fn inner(&self) -> &B {
        &self.inner
    }
    fn sync(&self) -> io::Result<()> {
        self.inner.sync()?;
        let mut facts = lock(&self.facts);
        for id in std::mem::take(&mut facts.pending) {
            if let Some(f) = facts.records.get_mut(&id) {
                f.durable = true;
            }
        }
        Ok(())
    }
}
decorate_segment_io!(SyncWatch);

/// A payload that names its record: id, offset, then bytes derived from the id.
fn record_bytes(id: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut p = payload(id, len);
    p[..8].copy_from_slice(&id.to_le_bytes());
    p[8..16].copy_from_slice(&offset.to_le_bytes());
    p
}

/// Violations found, with the first few described.
#[derive(Debug, Default)]
struct Violations {
    count: AtomicUsize,
    first: Mutex<Vec<String>>,
}

impl Violations {
    fn report(&self, what: String) {
        if self.count.fetch_add(1, Ordering::Relaxed) < 5 {
            self.first.lock().unwrap_or_else(|e| e.into_inner()).push(what);
        }
    }
}

/// Checks a record returned by a read that started under generation `since`.
fn check(rec: &Record<'_>, since: u64, facts: &Shared, bad: &Violations) {
    let data: &[u8] = rec;
    let id = u64::from_le_bytes(data.get(..8).and_then(|b| b.try_into().ok()).unwrap_or_default());
    let facts = lock(facts);
    let Some(fact) = facts.records.get(&id) else {
        return bad.report(format!("record at {} names unknown id {id}", rec.offset()));
    };
    if fact.offset != rec.offset() || data != record_bytes(id, fact.offset, fact.len) {
        bad.report(format!("record at {} is not record {id} as written at {}", rec.offset(), fact.offset));
    } else if !fact.durable {
        bad.report(format!("record {id} at {} returned before it was durable", fact.offset));
    } else if fact.cut_in.is_some_and(|g| g <= since) {
        bad.report(format!("record {id} at {} returned after its truncation began", fact.offset));
    }
}

/// What the threads share besides the facts.
#[derive(Debug, Default)]
struct Run {
    stop: AtomicBool,
    /// Records read and checked, by all readers.
    seen: AtomicUsize,
    bad: Violations,
}

fn reader_loop<B: SegmentIo>(
    mut r: Reader<B>,
    flushed: FlushedOffset,
    sequential: bool,
    seed: u64,
    facts: &Shared,
    run: &Run,
) {
    let mut rng = Rng::new(seed);
    let (stop, bad) = (&run.stop, &run.bad);
    let seen = &run.seen;
    while !stop.load(Ordering::Acquire) {
        if sequential {
            let since = flushed.generation();
            let mut it = r.iter(0);
            loop {
                let since = since.max(flushed.generation());
                match it.next_record() {
                    Ok(Some(rec)) => {
                        check(&rec, since, facts, bad);
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(None) | Err(Error::Truncated { .. }) => break,
                    Err(e) => {
                        bad.report(format!("iterator: {e}"));
                        break;
                    }
                }
            }
        } else {
            // The latest records, where truncations cut and appends land.
            let target = {
                let f = lock(facts);
                let recent = f.all.len().min(64);
                f.all.get(f.all.len() - recent + rng.below(recent)).map(|&(_, offset)| offset)
            };
            let Some(offset) = target else { continue };
            let since = flushed.generation();
            // A stale offset may now be mid-record or past the end: those errors are fine.
            if let Ok(rec) = r.read_record(offset, ReadHint::Random) {
                check(&rec, since, facts, bad);
                seen.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Issue 10's stress run, in seconds: a writer appends, batches, syncs and truncates
/// (`SEGLOG_STRESS_OPS` operations, 1200 by default) while four threads read: random reads
/// and iterators, on the writer's own readers (zero-copy where the backend maps) and on
/// readers of their own handles. Every record returned must be exactly as written, durable
/// when it was returned, and not cut by a truncation that began before the read.
pub fn readers_see_only_durable_records_under_stress<H: Harness>(h: &mut H) {
    let ops = env_number("SEGLOG_STRESS_OPS", 1200);
    let facts: Shared = Arc::default();
    let io = SyncWatch { inner: h.create(SIZE).unwrap(), facts: Arc::clone(&facts) };
    let mut w = Writer::recover(io, 0, RecoveryMode::Strict).unwrap();
    let flushed = w.flushed_offset();
    let run = Run::default();
    let readers: Vec<(Reader<_>, bool)> = vec![
        (w.reader(), true),
        (w.reader(), false),
        (
            Reader::live(
                Arc::new(SyncWatch { inner: h.open_reader().unwrap(), facts: Arc::clone(&facts) }),
                flushed.clone(),
            ),
            true,
        ),
        (
            Reader::live(
                Arc::new(SyncWatch { inner: h.open_reader().unwrap(), facts: Arc::clone(&facts) }),
                flushed.clone(),
            ),
            false,
        ),
    ];
    std::thread::scope(|s| {
        for (i, (r, seq)) in readers.into_iter().enumerate() {
            let (flushed, facts, run) = (flushed.clone(), &facts, &run);
            s.spawn(move || reader_loop(r, flushed, seq, i as u64 + 1, facts, run));
        }
        write_loop(&mut w, ops, &facts, &run.seen);
        run.stop.store(true, Ordering::Release);
    });
    let (seen, bad) = (run.seen.load(Ordering::Relaxed), &run.bad);
    let count = bad.count.load(Ordering::Relaxed);
    eprintln!("stress: {ops}+ writer operations, {seen} records read and checked, {count} violations");
    assert_eq!(count, 0, "{count} violations in {seen} records read, first: {:#?}", bad.first.lock().unwrap());
    assert!(seen > 0, "the readers read nothing");
}

/// The writer's side: units are single records or batches, the boundaries it may cut at.
///
/// Runs `ops` operations, and on until the readers have checked `ops` records (a fast
/// backend would otherwise finish before they start), but never more than `20 * ops`.
fn write_loop<B: SegmentIo>(w: &mut Writer<SyncWatch<B>>, ops: u64, facts: &Shared, seen: &AtomicUsize) {
    let mut rng = Rng::new(0x5eed);
    let mut units: Vec<(u64, Vec<u64>)> = Vec::new();
    let mut next_id = 1u64;
    for i in 0..20 * ops {
        if i >= ops && seen.load(Ordering::Relaxed) as u64 >= ops {
            break;
        }
        let roll = rng.below(100);
        if roll < 15 || w.remaining_bytes() < 2048 {
            let k = if w.remaining_bytes() < 2048 { 0 } else { rng.below(units.len() + 1) };
            let cut = units.get(k).map_or(w.write_offset(), |u| u.0);
            {
                let mut f = lock(facts);
                let generation = w.flushed_offset().generation() + 1;
                for id in units.drain(k..).flat_map(|u| u.1) {
                    if let Some(fact) = f.records.get_mut(&id) {
                        fact.cut_in = Some(generation);
                    }
                    f.pending.retain(|&p| p != id);
                }
            }
            w.truncate(cut).unwrap();
        } else if roll < 35 {
            w.sync().unwrap();
        } else {
            let n = if roll < 45 { 2 + rng.below(2) } else { 1 };
            let mut at = w.write_offset();
            let mut ids = Vec::new();
            let mut bodies = Vec::new();
            for _ in 0..n {
                let len = 16 + rng.below(300);
                bodies.push(record_bytes(next_id, at, len));
                ids.push(next_id);
                at += 8 + len as u64;
                next_id += 1;
            }
            {
                let mut f = lock(facts);
                for (id, body) in ids.iter().zip(&bodies) {
                    let offset = u64::from_le_bytes(body[8..16].try_into().unwrap());
                    f.records.insert(*id, Fact { offset, len: body.len(), durable: false, cut_in: None });
                    f.all.push((*id, offset));
                    f.pending.push(*id);
                }
            }
            let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
            let (offset, _) = w.append_batch(&refs).unwrap();
            units.push((offset, ids));
        }
    }
}
