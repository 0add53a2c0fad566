//! Phase two of the scan: what lies past the valid records. Both searches visit only the
//! ranges the backend says may hold data ([`SegmentIo::next_data`]), so the unwritten rest
//! of a segment costs a system call per extent, not a read of every byte.

use std::ops::Range;

use super::{BASE_WORK, SCAN_WINDOW, ValidAfter, payload_crc};
use crate::codec::{HEADER_LEN, Header, decode_prefix};
use crate::crc::CrcCache;
use crate::io::{Cached, SegmentIo};
use crate::window::Window;

/// Ranges kept per scan; past this many, the rest of the region counts as one range, so a
/// hostile or badly fragmented file costs bounded memory.
const MAX_RANGES: usize = 1 << 16;

/// The ranges within `[from, to)` that may hold a non-zero byte, in order: everything else
/// reads as zero. A backend answer that breaks the contract makes the rest one range.
pub(crate) fn data_ranges<B: SegmentIo + ?Sized>(io: &B, from: u64, to: u64) -> std::io::Result<Vec<Range<u64>>> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let Some(r) = io.next_data(at)? else { break };
        if r.start < at || r.end <= r.start || out.len() == MAX_RANGES {
            out.push(at..to);
            break;
        }
        if r.start >= to {
            break;
        }
        let end = r.end.min(to);
        out.push(r.start..end);
        at = end;
    }
    Ok(out)
}

/// Bytes OR-ed together per step of the zero scan: enough for the compiler to vectorise the
/// loop (no early exit inside a block), few enough to stop soon after a non-zero byte.
const ZERO_BLOCK: usize = 4096;

/// The index of the last non-zero byte of `bytes`, scanning a block at a time from the end.
fn last_nonzero(bytes: &[u8]) -> Option<usize> {
    let mut hi = bytes.len();
    for block in bytes.rchunks(ZERO_BLOCK) {
        let lo = hi - block.len();
        // No early exit inside the fold: it compiles to wide ORs, at memory speed.
        if block.iter().fold(0u8, |acc, &b| acc | b) != 0 {
            return block.iter().rposition(|&b| b != 0).map(|i| lo + i);
        }
        hi = lo;
    }
    None
}

/// One past the last non-zero byte in `[from, size)`, or `from` if there is none.
/// Scans backwards through the ranges that may hold data: the bytes past a segment's
/// records are usually all zero, and usually unwritten.
///
/// Where they are written zeros (a `Zeroed` segment, an erased tail) they must be read,
/// but they are not kept: the chunks of which the page cache held no page before they were
/// read are dropped from it again once the scan is done ([`SegmentIo::uncache`]; at the
/// end, so that the kernel's read-ahead for one chunk does not cache again the one read
/// before it), and opening a mostly empty segment does not fill memory with its zeros. A
/// chunk that was cached, wholly or partly, stays.
pub(super) fn last_nonzero_end<B: SegmentIo + ?Sized>(
    io: &B,
    w: &mut Window,
    from: u64,
    size: u64,
) -> std::io::Result<u64> {
    let mut brought_in: Vec<Range<u64>> = Vec::new();
    let found = scan_back(io, w, from, size, &mut brought_in);
    for range in brought_in {
        io.uncache(range);
    }
    found
}

/// [`last_nonzero_end`]'s scan, noting in `brought_in` the chunks it read that held no
/// cached page before.
fn scan_back<B: SegmentIo + ?Sized>(
    io: &B,
    w: &mut Window,
    from: u64,
    size: u64,
    brought_in: &mut Vec<Range<u64>>,
) -> std::io::Result<u64> {
    for range in data_ranges(io, from, size)?.iter().rev() {
        let mut hi = range.end;
        while hi > range.start {
            let lo = hi.saturating_sub(SCAN_WINDOW as u64).max(range.start);
            if io.cached(lo..hi) == Cached::Pages(0) {
                match brought_in.last_mut() {
                    Some(last) if last.start == hi => last.start = lo,
                    _ => brought_in.push(lo..hi),
                }
            }
            if let Some(i) = last_nonzero(w.get(io, lo, (hi - lo) as usize, 0, size)?) {
                return Ok(lo + i as u64 + 1);
            }
            hi = lo;
        }
    }
    Ok(from)
}

/// Searches every byte position in `(end, nonzero_end)` for a valid record, within a
/// bounded amount of work. Positions whose header lies wholly in a range that reads as
/// zero hold an all-zero header, which starts no record, and are skipped.
pub(super) fn find_valid_after<B: SegmentIo + ?Sized>(
    io: &B,
    end: u64,
    nonzero_end: u64,
    size: u64,
) -> std::io::Result<ValidAfter> {
    let mut work = Work(BASE_WORK.saturating_add((nonzero_end - end).saturating_mul(4)));
    let mut s = Search { sweep: Window::default(), verify: Window::default(), size, nonzero_end };
    // Every position up to the last non-zero byte may start a header holding it.
    let last = nonzero_end.saturating_sub(1);
    let mut next = end + 1;
    for range in data_ranges(io, end + 1, nonzero_end)? {
        // A header that starts up to 7 bytes before the range holds some of its bytes.
        let from = range.start.saturating_sub(HEADER_LEN as u64 - 1).max(next);
        let to = range.end.saturating_sub(1).min(last);
        if from > to {
            continue;
        }
        let found = s.sweep(io, from, to, &mut work)?;
        if found != ValidAfter::None {
            return Ok(found);
        }
        next = to + 1;
    }
    Ok(ValidAfter::None)
}

/// The state of one search after damage.
struct Search {
    sweep: Window,
    verify: Window,
    size: u64,
    nonzero_end: u64,
}

impl Search {
    /// Examines every candidate position in `[first, last]`.
    fn sweep<B: SegmentIo + ?Sized>(
        &mut self,
        io: &B,
        first: u64,
        last: u64,
        work: &mut Work,
    ) -> std::io::Result<ValidAfter> {
        let size = self.size;
        let mut c = first;
        while c <= last && c + HEADER_LEN as u64 <= size {
            // Every candidate whose header lies within this chunk is examined here. No further:
            // reading into a hole would make the kernel zero-fill and cache its pages.
            let n = ((size - c).min(last + HEADER_LEN as u64 - c) as usize).min(SCAN_WINDOW);
            let chunk = self.sweep.get(io, c, n, n, size)?;
            let mut i = 0;
            while i + HEADER_LEN <= chunk.len() && c + i as u64 <= last {
                let Some(h) = chunk.get(i..i + HEADER_LEN) else { break };
                if !work.take(1) {
                    return Ok(ValidAfter::Unknown);
                }
                if let Ok(Some(header)) = decode_prefix(h) {
                    let at = c + i as u64;
                    match recoverable_at(io, &mut self.verify, at, header, size, self.nonzero_end, work)? {
                        Some(true) => return Ok(ValidAfter::Found { offset: at }),
                        Some(false) => {}
                        None => return Ok(ValidAfter::Unknown),
                    }
                }
                i += 1;
            }
            if i == 0 {
                break;
            }
            c += i as u64;
        }
        Ok(ValidAfter::None)
    }
}

/// Work left for the search after damage, in bytes checksummed or headers examined.
struct Work(u64);

impl Work {
    /// Spends `units`; false once they run out.
    fn take(&mut self, units: u64) -> bool {
        match self.0.checked_sub(units) {
            Some(left) if left > 0 => {
                self.0 = left;
                true
            }
            _ => false,
        }
    }
}

/// Whether the bytes at `at`, whose header is `header`, are records that recovery would
/// keep were they where the valid prefix ends: one valid record that ends its batch, or a
/// run of valid batch records ending in the one that ends it. A batch record whose batch
/// never completes is not: recovery could never keep it (such a remnant is left by a crash
/// in the middle of erasing a torn batch). `None` when the work runs out.
fn recoverable_at<B: SegmentIo + ?Sized>(
    io: &B,
    w: &mut Window,
    at: u64,
    mut header: Header,
    size: u64,
    nonzero_end: u64,
    work: &mut Work,
) -> std::io::Result<Option<bool>> {
    let mut pos = at;
    loop {
        if header.record_len() > size - pos {
            return Ok(Some(false));
        }
        let cost = u64::from(header.payload_len).min(nonzero_end.saturating_sub(pos)) + 64;
        if !work.take(cost) {
            return Ok(None);
        }
        let crc = payload_crc(io, w, pos, &header, nonzero_end, &mut CrcCache::default(), SCAN_WINDOW)?;
        if header.check_crc(crc).is_err() {
            return Ok(Some(false));
        }
        if !header.continues_batch {
            return Ok(Some(true));
        }
        pos += header.record_len();
        if size - pos < HEADER_LEN as u64 {
            return Ok(Some(false));
        }
        match decode_prefix(w.get(io, pos, HEADER_LEN, SCAN_WINDOW, size)?) {
            Ok(Some(next)) => header = next,
            _ => return Ok(Some(false)),
        }
    }
}
