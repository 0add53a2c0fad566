//! Seeded random workloads, run through a [`Recorder`] so every crash state of them can
//! be rebuilt afterwards.

use std::fmt;

use seglog_core::codec::encode_header_kind;
use seglog_core::{Error, RecoveryMode, Writer};

use super::check::{backend_power_loss, materialise};
use super::{Landed, Piece, Recorder, Recording};
use crate::Harness;
use crate::util::{Rng, payload};

/// One step of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Append a record with a payload of this many bytes (refused if it does not fit).
    Append(usize),
    /// `Writer::sync`.
    Sync,
    /// Drop the writer (which hands its buffer to the backend without syncing) and open a
    /// new one on the segment in strict mode, which must find it clean.
    Reopen,
    /// Drop the writer, cut the power (a crash state drawn from this seed), recover in
    /// truncate mode and go on appending over whatever was discarded.
    Crash(u64),
    /// Append the first `count` of these payload lengths as one atomic batch.
    Batch {
        /// How many records (1 to 3).
        count: usize,
        /// Their payload lengths.
        lens: [usize; 3],
    },
    /// `Writer::truncate` to a record (batch) boundary, this many thousandths of the way
    /// through the records.
    Truncate(u16),
}

/// A workload: a segment layout and the steps run on it from creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Segment size in bytes.
    pub size: u64,
    /// Where records start.
    pub start: u64,
    /// Seeds the payloads, so each record's bytes are distinct.
    pub salt: u64,
    /// What to do, in order.
    pub steps: Vec<Step>,
}

/// The segment size of the explorer's workloads: small, so each crash image is cheap to
/// materialise, and still larger than the biggest append.
pub(crate) const SEGMENT: u64 = 256 << 10;

/// The largest append the explorer's workloads make.
pub(crate) const MAX_APPEND: usize = 70 << 10;

impl Workload {
    /// A random workload: 1 to 40 steps, appends of 0 B to 70 KiB skewed toward small.
    pub(crate) fn random(rng: &mut Rng) -> Self {
        let start = [0, 0, 0, 64, 4096 + 100][rng.below(5)];
        let n = 1 + rng.below(40);
        let sync_pct = [10, 25, 50][rng.below(3)];
        let steps = (0..n)
            .map(|_| match rng.below(100) {
                p if p < sync_pct => Step::Sync,
                p if p < sync_pct + 6 => Step::Reopen,
                p if p < sync_pct + 10 => Step::Crash(rng.next_u64()),
                p if p < sync_pct + 18 => {
                    Step::Batch { count: 1 + rng.below(3), lens: [append_len(rng), append_len(rng), append_len(rng)] }
                }
                p if p < sync_pct + 22 => Step::Truncate(rng.below(1001) as u16),
                _ => Step::Append(append_len(rng)),
            })
            .collect();
        Self { size: SEGMENT, start, salt: rng.next_u64(), steps }
    }
}

/// An append size: mostly small, sometimes sector- or block-sized, rarely up to 70 KiB.
fn append_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=39 => rng.below(64),
        40..=69 => rng.below(1024),
        70..=79 => [496, 504, 512, 4088, 4096][rng.below(5)] + rng.below(3),
        80..=93 => rng.below(8 << 10),
        94..=97 => rng.below(32 << 10),
        _ => rng.below(MAX_APPEND + 1),
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "segment of {} bytes, records from offset {}, payload salt {:#x}; steps:",
            self.size, self.start, self.salt
        )?;
        for (i, s) in self.steps.iter().enumerate() {
            write!(f, "\n    {i:>3}: {s:?}")?;
        }
        Ok(())
    }
}

/// Records as (offset, payload), in order.
pub(crate) type Records = Vec<(u64, Vec<u8>)>;

/// What running a workload left behind.
#[derive(Debug)]
pub(crate) struct Run {
    /// Every backend write and sync, from the segment's creation.
    pub(crate) log: Recording,
    /// Per epoch (the segment's life between crashes of [`Step::Crash`]): the log position
    /// it starts at, and every record appended in it (not refused) after the ones that
    /// survived the crash before it, as (offset, payload), in order.
    pub(crate) epochs: Vec<(usize, Records)>,
    /// (events logged, offset): once that many events had happened, every record below
    /// the offset had been acknowledged by a sync (or made durable by recovery).
    pub(crate) acks: Vec<(usize, u64)>,
    /// Per step, the log positions before and after it; one more entry at the end for
    /// the final drop of the writer, which hands its buffer to the backend unsynced.
    pub(crate) spans: Vec<(usize, usize)>,
}

impl Run {
    /// The end of the acknowledged records for a crash after `at` events: the latest
    /// acknowledgement, which a truncation lowers.
    pub(crate) fn acked(&self, at: usize) -> u64 {
        self.acks.iter().rev().find(|(n, _)| *n <= at).map_or(0, |(_, o)| *o)
    }

    /// The records appended in the epoch of a crash after `at` events.
    pub(crate) fn appended(&self, at: usize) -> &[(u64, Vec<u8>)] {
        self.epochs.iter().rev().find(|(from, _)| *from <= at).map_or(&[], |(_, recs)| recs)
    }

    /// Records appended in all epochs.
    pub(crate) fn appended_total(&self) -> usize {
        self.epochs.iter().map(|(_, recs)| recs.len()).sum()
    }

    /// The log position of a crash during step `step` after `events` of its events.
    pub(crate) fn position(&self, step: usize, events: usize) -> usize {
        match self.spans.get(step) {
            Some(&(from, to)) => (from + events).min(to),
            None => self.log.len(),
        }
    }

    /// The (step, events into it) of log position `at`, which must not precede the
    /// segment's creation (`acks[0].0`).
    pub(crate) fn locate(&self, at: usize) -> (usize, usize) {
        match self.spans.iter().position(|&(from, to)| from <= at && at <= to) {
            Some(i) => (i, at - self.spans[i].0),
            None => (self.spans.len().saturating_sub(1), 0),
        }
    }
}

/// True if the record `(offset, data)` is intact in `image`, as a standalone record or a
/// batch record (its header says which, under its checksum).
pub(crate) fn intact(image: &[u8], offset: u64, data: &[u8]) -> bool {
    let at = offset as usize;
    let end = at + 8 + data.len();
    end <= image.len()
        && (image[at..at + 8] == encode_header_kind(data, false) || image[at..at + 8] == encode_header_kind(data, true))
        && &image[at + 8..end] == data
}

/// True if the intact record at `offset` of `image` is a batch record that more follow.
fn continues(image: &[u8], offset: u64) -> bool {
    image.get(offset as usize + 3).is_some_and(|b| b >> 6 == 1)
}

/// How many of `appended` recovery keeps from `image`, and how many a walk passes: the
/// leading intact records, cut back to the end of the last complete batch.
pub(crate) fn survivors(image: &[u8], appended: &[(u64, Vec<u8>)]) -> (usize, usize) {
    let walked = appended.iter().take_while(|(o, d)| intact(image, *o, d)).count();
    let mut kept = walked;
    while kept > 0 && continues(image, appended[kept - 1].0) {
        kept -= 1;
    }
    (kept, walked)
}

/// The first of `appended` after index `from` at which intact records run, through batch
/// records, to one that ends its batch: what recovery counts as a valid record after damage.
pub(crate) fn recoverable_after(image: &[u8], appended: &[(u64, Vec<u8>)], from: usize) -> Option<u64> {
    (from + 1..appended.len()).find_map(|j| {
        let run = appended[j..].iter().take_while(|(o, d)| intact(image, *o, d));
        let mut ends = false;
        for (o, _) in run {
            if !continues(image, *o) {
                ends = true;
                break;
            }
        }
        ends.then_some(appended[j].0)
    })
}

/// Runs `wl` on a new segment of `h`, recording every backend call. Fails, with a
/// message naming the step, if the library misbehaves.
pub(crate) fn run<H: Harness>(h: &mut H, wl: &Workload) -> Result<Run, String> {
    let io = h.create(wl.size).map_err(|e| format!("workload (no crash): creating the segment: {e}"))?;
    let rec = Recorder::new(io).map_err(|e| format!("workload (no crash): reading the new segment: {e}"))?;
    let log = rec.recording();
    let mut w = Some(
        Writer::recover(rec, wl.start, RecoveryMode::Strict)
            .map_err(|e| format!("workload (no crash): opening the new segment: {e}"))?,
    );
    let mut run =
        Run { log: log.clone(), epochs: vec![(0, Vec::new())], acks: vec![(log.len(), wl.start)], spans: Vec::new() };
    let mut appended = Vec::new();
    // Per appended record: true if more records of its batch follow.
    let mut cont: Vec<bool> = Vec::new();
    let mut made = 0u64;
    let mut next = wl.start;
    for (i, step) in wl.steps.iter().enumerate() {
        let before = log.len();
        let fail = |what: String| format!("workload (no crash): step {i} ({step:?}): {what}");
        let writer = w.as_mut().ok_or_else(|| fail("no writer".into()))?;
        match *step {
            Step::Append(len) => {
                // Payloads never repeat, even where a crash discarded records.
                made += 1;
                let data = payload(wl.salt ^ made.wrapping_mul(0x2545_f491_4f6c_dd1d), len);
                let fits = 8 + len as u64 <= wl.size - next;
                match writer.append(&data) {
                    Ok((off, n)) if fits && off == next && n == 8 + len => {
                        next += n as u64;
                        appended.push((off, data));
                        cont.push(false);
                    }
                    Err(Error::SegmentFull { .. }) if !fits => {}
                    other => return Err(fail(format!("append at {next} (fits: {fits}) returned {other:?}"))),
                }
            }
            Step::Sync => match writer.sync() {
                Ok(off) if off == next => run.acks.push((log.len(), off)),
                other => return Err(fail(format!("sync returned {other:?}, expected Ok({next})"))),
            },
            Step::Reopen => {
                drop(w.take());
                let io = h.open_writer().map_err(|e| fail(format!("reopening: {e}")))?;
                let reopened = Writer::recover(log.recorder(io), wl.start, RecoveryMode::Strict)
                    .map_err(|e| fail(format!("strict reopen failed: {e}")))?;
                let r = *reopened.report();
                if (r.end, r.records, r.damage) != (next, appended.len() as u64, None) {
                    return Err(fail(format!(
                        "strict reopen found {r:?}, expected a clean report ending at {next} with {} records",
                        appended.len()
                    )));
                }
                run.acks.push((log.len(), next));
                w = Some(reopened);
            }
            Step::Batch { count, lens } => {
                let datas: Vec<Vec<u8>> = lens[..count.min(3)]
                    .iter()
                    .map(|&len| {
                        made += 1;
                        payload(wl.salt ^ made.wrapping_mul(0x2545_f491_4f6c_dd1d), len)
                    })
                    .collect();
                let refs: Vec<&[u8]> = datas.iter().map(Vec::as_slice).collect();
                let total: u64 = datas.iter().map(|d| 8 + d.len() as u64).sum();
                let fits = total <= wl.size - next;
                match writer.append_batch(&refs) {
                    Ok((off, n)) if fits && off == next && n as u64 == total => {
                        let count = refs.len();
                        drop(refs);
                        for (k, d) in datas.into_iter().enumerate() {
                            let len = d.len() as u64;
                            appended.push((next, d));
                            cont.push(k + 1 < count);
                            next += 8 + len;
                        }
                    }
                    Err(Error::SegmentFull { .. }) if !fits => {}
                    other => return Err(fail(format!("batch at {next} (fits: {fits}) returned {other:?}"))),
                }
            }
            Step::Truncate(per_mille) => {
                // Batch boundaries only: the start, and after each record that ends a batch.
                let bounds: Vec<usize> = (0..=appended.len()).filter(|&k| k == 0 || !cont[k - 1]).collect();
                let k = bounds[(usize::from(per_mille) * (bounds.len() - 1)) / 1000];
                let cut = appended.get(k).map_or(next, |r| r.0);
                // From the call on the cut records are given up; until its sync returns, a
                // crash may leave them, so crashes inside the step are judged against the
                // records as they were before it.
                run.acks.push((before, run.acked(before).min(cut)));
                writer.truncate(cut).map_err(|e| fail(format!("truncate to {cut} failed: {e}")))?;
                if let Some(e) = run.epochs.last_mut() {
                    e.1.clone_from(&appended);
                }
                appended.truncate(k);
                cont.truncate(k);
                next = cut;
                run.acks.push((log.len(), cut));
                run.epochs.push((log.len(), appended.clone()));
            }
            Step::Crash(seed) => {
                let fail = |what: String| format!("workload crash: step {i} ({step:?}): {what}");
                drop(w.take());
                backend_power_loss(h, &log).map_err(|e| format!("{e} (power cut in step {i}, {step:?})"))?;
                let snap = log.snapshot(log.len());
                let image = snap.image(&random_state(&mut Rng::new(seed), &snap.pieces()));
                materialise(h, &image)?;
                log.crashed(image.clone());
                let epoch = log.len();
                if let Some(e) = run.epochs.last_mut() {
                    e.1.clone_from(&appended);
                }
                let (kept, _) = survivors(&image, &appended);
                appended.truncate(kept);
                cont.truncate(kept);
                next = appended.last().map_or(wl.start, |(o, d)| o + 8 + d.len() as u64);
                let io = h.open_writer().map_err(|e| fail(format!("opening a writer: {e}")))?;
                // The default recovery, told the most a sidecar could vouch for after this
                // crash: a power loss must never need a human.
                let vouched = Some(run.acked(epoch));
                let recovered = Writer::recover_with(log.recorder(io), wl.start, RecoveryMode::TornTail, vouched)
                    .map_err(|e| fail(format!("recovery failed: {e}")))?;
                let r = *recovered.report();
                if (r.end, r.records) != (next, kept as u64) || next < run.acked(log.len()) {
                    return Err(fail(format!(
                        "recovery found {r:?}, expected the {kept} intact records ending at {next} (acknowledged: {})",
                        run.acked(log.len())
                    )));
                }
                run.acks.push((log.len(), next));
                run.epochs.push((epoch, appended.clone()));
                w = Some(recovered);
            }
        }
        run.spans.push((before, log.len()));
    }
    let before = log.len();
    drop(w);
    backend_power_loss(h, &log).map_err(|e| format!("{e} (power cut after the last step)"))?;
    run.spans.push((before, log.len()));
    if let Some(e) = run.epochs.last_mut() {
        e.1 = appended;
    }
    Ok(run)
}

/// A random crash state over `pieces`: in-order persistence up to a point, all but a few
/// pieces, or a random subset in random order; often with one piece torn.
pub(crate) fn random_state(rng: &mut Rng, pieces: &[Piece]) -> Vec<Landed> {
    let whole = |p: &Piece| Landed { write: p.write, offset: p.offset, prefix: None };
    let tear = |rng: &mut Rng, p: &Piece| Landed { prefix: Some(rng.below(p.len)), ..whole(p) };
    let m = pieces.len();
    match rng.below(4) {
        0 => {
            let j = rng.below(m + 1);
            let mut out: Vec<Landed> = pieces[..j].iter().map(whole).collect();
            if j < m && rng.chance(60) {
                out.push(tear(rng, &pieces[j]));
            }
            out
        }
        1 => {
            let mut out: Vec<Landed> = pieces.iter().map(whole).collect();
            for _ in 0..1 + rng.below(2) {
                if !out.is_empty() {
                    out.remove(rng.below(out.len()));
                }
            }
            out
        }
        _ => {
            let keep = [10, 50, 90][rng.below(3)];
            let mut out: Vec<Landed> = pieces.iter().filter(|_| rng.chance(keep)).map(whole).collect();
            for i in (1..out.len()).rev() {
                out.swap(i, rng.below(i + 1));
            }
            if !out.is_empty() && rng.chance(50) {
                let i = rng.below(out.len());
                let p = pieces.iter().find(|p| (p.write, p.offset) == (out[i].write, out[i].offset)).copied();
                if let Some(p) = p {
                    out[i] = tear(rng, &p);
                }
            }
            out
        }
    }
}
