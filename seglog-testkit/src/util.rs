//! Small helpers the suites share.

use std::sync::Arc;

use seglog_core::{Reader, RecoveryMode, Result, Writer};

use crate::Harness;

/// A writer on a new segment of `size` bytes whose records start at `start`.
pub fn writer<H: Harness>(h: &mut H, size: u64, start: u64) -> Writer<H::Io> {
    let io = h.create(size).unwrap_or_else(|e| panic!("creating a {size}-byte segment: {e}"));
    Writer::recover(io, start, RecoveryMode::Strict).unwrap_or_else(|e| panic!("opening a new segment: {e}"))
}

/// A writer on the existing segment, recovering in `mode`.
pub fn reopen<H: Harness>(h: &mut H, start: u64, mode: RecoveryMode) -> Result<Writer<H::Io>> {
    let io = h.open_writer().unwrap_or_else(|e| panic!("reopening the segment: {e}"));
    Writer::recover(io, start, mode)
}

/// A reader on its own handle, following `w`'s flushed offset.
pub fn reader<H: Harness>(h: &mut H, w: &Writer<H::Io>) -> Reader<H::Io> {
    let io = h.open_reader().unwrap_or_else(|e| panic!("opening a reader: {e}"));
    Reader::live(Arc::new(io), w.flushed_offset())
}

/// A payload of `len` bytes that encodes `seed`, so a record read from the wrong place shows.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Every visible record from `start`, as (offset, payload).
pub fn read_all<B: seglog_core::SegmentIo>(r: &mut Reader<B>, start: u64) -> Vec<(u64, Vec<u8>)> {
    let mut it = r.iter(start);
    let mut out = Vec::new();
    while let Some(rec) = it.next_record().unwrap_or_else(|e| panic!("iterating: {e}")) {
        out.push((rec.offset(), rec.to_vec()));
    }
    out
}

/// A small, fast, seedable PRNG (SplitMix64): deterministic across platforms and runs, so
/// a failing seed reproduces anywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)`; 0 when `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// The number in environment variable `name` (decimal, or hex with `0x`), or `default` if
/// it is unset: how the long-running tests take their seeds and sizes.
pub fn env_number(name: &str, default: u64) -> u64 {
    let Ok(s) = std::env::var(name) else { return default };
    let s = s.trim();
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.unwrap_or_else(|e| panic!("{name}={s:?} is not a number: {e}"))
}
