//! Model-based testing: random sequences of [`Op`]s run against a backend and against a
//! plain in-memory model (the appended records and how many of them are synced), which
//! must agree after every step. [`ops`] is the proptest strategy; [`check_model`] runs one
//! sequence.
//!
//! Without a crash nothing may be lost: dropping a writer hands its buffered records to
//! the backend (without a sync) and recovery keeps every valid record, so after a clean
//! reopen the model is every record appended so far, and strict recovery finds no damage.

use proptest::prelude::*;
use proptest::test_runner::Config;

use seglog_core::{Error, ReadHint, Reader, RecoveryMode, Writer};

use crate::Harness;
use crate::util::{payload, read_all, reader, reopen, writer};

/// Segment size the model runs on: small enough to fill up now and then.
const SIZE: u64 = 256 << 10;

/// Where records start: not a multiple of any block size, to keep direct I/O honest.
const START: u64 = 100;

/// One operation of a model test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Append a record with a payload of this many bytes (refused if it does not fit).
    Append(usize),
    /// `Writer::sync`.
    Sync,
    /// Read one record by offset, chosen by this index modulo the records appended; an
    /// odd quotient reads with [`ReadHint::Sequential`].
    ReadRandom(usize),
    /// Iterate every record the reader may see.
    Iterate,
    /// Drop the writer and reopen the segment in strict mode. The reader keeps following
    /// the old writer's flushed offset, which no longer moves.
    Reopen,
    /// Replace the reader by a new one following the current writer.
    ReopenReader,
}

/// A strategy for payload lengths: mostly small, sometimes past the read-ahead windows.
fn len() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0..64usize, 3 => 64..2100usize, 2 => 2100..9000usize, 1 => 9000..70_000usize]
}

/// A strategy for one [`Op`], appends and reads weighted above the rest.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => len().prop_map(Op::Append),
        2 => Just(Op::Sync),
        3 => (0..10_000usize).prop_map(Op::ReadRandom),
        1 => Just(Op::Iterate),
        1 => Just(Op::Reopen),
        1 => Just(Op::ReopenReader),
    ]
}

/// A strategy for a sequence of 1 to 60 [`Op`]s.
pub fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 1..60)
}

/// The proptest configuration for model tests: 64 cases unless `PROPTEST_CASES` says otherwise.
pub fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
    Config { cases, ..Config::default() }
}

/// The model: what the segment must hold.
#[derive(Debug, Default)]
struct Model {
    /// Every record appended, as (offset, payload).
    records: Vec<(u64, Vec<u8>)>,
    /// How many of them a sync (or a reopen's recovery) has made durable.
    synced: usize,
    /// Where the next record goes.
    next: u64,
    /// `Some(n)`: the reader follows a dropped writer and sees the first `n` records for ever.
    frozen: Option<usize>,
}

impl Model {
    fn visible(&self) -> usize {
        self.frozen.unwrap_or(self.synced)
    }
}

/// Runs `ops` on a fresh segment of the backend `make` builds, comparing every result
/// with the model; panics naming the op index on the first difference.
pub fn check_model<H: Harness>(make: impl Fn() -> H, ops: Vec<Op>) {
    let mut h = make();
    let mut w = writer(&mut h, SIZE, START);
    let mut r = reader(&mut h, &w);
    let mut m = Model { next: START, ..Model::default() };
    for (i, &op) in ops.iter().enumerate() {
        let at = format!("op {i} ({op:?}) of {ops:?}");
        match op {
            Op::Append(len) => append(&mut w, &mut m, i, len, &at),
            Op::Sync => {
                assert_eq!(w.sync().unwrap_or_else(|e| panic!("{at}: {e}")), m.next, "{at}");
                assert_eq!(w.flushed_offset().load(), m.next, "{at}: flushed offset");
                m.synced = m.records.len();
            }
            Op::ReadRandom(idx) => read_one(&mut r, &m, idx, &at),
            Op::Iterate => {
                same_records(&read_all(&mut r, START), &m.records[..m.visible()], &format!("{at}: iterating"));
            }
            Op::Reopen => {
                drop(w);
                w = reopen(&mut h, START, RecoveryMode::Strict).unwrap_or_else(|e| panic!("{at}: {e}"));
                let rep = *w.report();
                assert_eq!((rep.end, rep.records, rep.damage), (m.next, m.records.len() as u64, None), "{at}");
                m.frozen.get_or_insert(m.synced);
                m.synced = m.records.len();
                assert_eq!(w.flushed_offset().load(), m.next, "{at}: flushed offset after recovery");
            }
            Op::ReopenReader => {
                r = reader(&mut h, &w);
                m.frozen = None;
            }
        }
    }
    drop((r, w));
    // No crash happened: a strict reopen finds every record appended, synced or not.
    let w = reopen(&mut h, START, RecoveryMode::Strict).unwrap_or_else(|e| panic!("final reopen: {e}"));
    assert_eq!(w.report().damage, None, "final reopen of {ops:?}");
    same_records(&read_all(&mut w.reader(), START), &m.records, &format!("final reopen of {ops:?}"));
}

/// Panics unless `got` and `want` hold the same records, naming them by offset and
/// length rather than dumping payloads.
fn same_records(got: &[(u64, Vec<u8>)], want: &[(u64, Vec<u8>)], at: &str) {
    let shape = |rs: &[(u64, Vec<u8>)]| rs.iter().map(|(o, d)| (*o, d.len())).collect::<Vec<_>>();
    assert_eq!(shape(got), shape(want), "{at}: records as (offset, payload length)");
    if let Some((o, _)) = got.iter().zip(want).find(|(a, b)| a != b).map(|(a, _)| a) {
        panic!("{at}: the payload of the record at {o} differs");
    }
}

fn append<B: seglog_core::SegmentIo>(w: &mut Writer<B>, m: &mut Model, i: usize, len: usize, at: &str) {
    let data = payload(i as u64, len);
    let fits = 8 + len as u64 <= SIZE - m.next;
    match w.append(&data) {
        Ok((off, n)) if fits => {
            assert_eq!((off, n), (m.next, 8 + len), "{at}: offset and size");
            m.next += n as u64;
            m.records.push((off, data));
        }
        Err(Error::SegmentFull { offset, .. }) if !fits => assert_eq!(offset, m.next, "{at}"),
        other => panic!("{at}: append at {} (fits: {fits}) returned {other:?}", m.next),
    }
    assert_eq!((w.write_offset(), w.remaining_bytes()), (m.next, SIZE - m.next), "{at}");
}

fn read_one<B: seglog_core::SegmentIo>(r: &mut Reader<B>, m: &Model, idx: usize, at: &str) {
    if m.records.is_empty() {
        assert!(matches!(r.read_record(START, ReadHint::Random), Err(Error::NotVisible { .. })), "{at}");
        return;
    }
    let k = idx % m.records.len();
    let hint = if (idx / m.records.len()) % 2 == 1 { ReadHint::Sequential } else { ReadHint::Random };
    let (offset, data) = &m.records[k];
    match r.read_record(*offset, hint) {
        Ok(rec) if k < m.visible() => assert_eq!(&*rec, &data[..], "{at}: record {k} at {offset}"),
        Err(Error::NotVisible { .. }) if k >= m.visible() => {}
        other => panic!("{at}: record {k} at {offset}, {} visible: got {other:?}", m.visible()),
    }
}
