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
