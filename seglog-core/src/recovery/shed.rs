//! Read-ahead's zeros past the records: found and dropped, so the scan need not read them.
//!
//! On ext4 and xfs, `SEEK_DATA` reports a page of an unwritten extent as data as soon as
//! the page cache holds it, and the kernel caches such pages (zero-filled) whenever a read
//! near them triggers read-ahead: a reader that read the last records, or a walk over
//! them, leaves up to the device's read-ahead (8 MiB on the machine measured) of cached
//! zeros past the end, which the scan past the records would then read and check byte by
//! byte on every open. Dropping a clean page loses nothing (it is read again from disk if
//! anyone asks), and once it is gone the filesystem answers for the extent beneath it.
//!
//! So, for each range past the records that the backend says may hold data and that is
//! large enough to be worth it, this works down from its end a chunk at a time: it drops
//! the chunk's clean pages ([`SegmentIo::uncache`]) and asks again
//! ([`SegmentIo::next_data`]); while the chunk turns out to be a hole, it goes on to the
//! next one down, and it stops at the first that still holds data. Correctness never rests
//! on this: the scan asks the backend afresh afterwards, and `next_data` is exact whatever
//! is cached. What it costs is the chunk that stopped it, if that chunk was written and
//! cached (a `Zeroed` segment's zeros): it is read again from disk. It never goes within
//! [`KEEP`] of the range's start, where the writer's zero-fill ahead lies (written zeros a
//! writer that syncs often keeps cached), so that is never dropped; what read-ahead cached
//! there is read, a few MiB at most. A backend that cannot drop pages or tell holes changes
//! nothing.
//!
//! A chunk is 2 MiB, aligned: the largest folio the page cache makes of a file's pages
//! (a PMD), and dropping drops only folios that lie wholly in the range, so a smaller
//! probe inside a large folio of read-ahead would never find its hole.

use std::ops::Range;

use super::search::data_ranges;
use crate::io::{SegmentIo, align_down, align_up};

/// What one probe drops and asks about.
const CHUNK: u64 = 2 << 20;

/// Nothing within this of a range's start is dropped: the most the writer zero-fills
/// ahead of its position (`ahead.rs`), and more than a page, so never a record's page.
const KEEP: u64 = 1 << 20;

/// Ranges shorter than this are read rather than probed: reading a few MiB of cached zeros
/// costs about a millisecond, and probing them could drop written ones.
const MIN_PROBED: u64 = 4 << 20;

/// Drops, from the ranges in `[from, size)` that may hold data, the cached pages of
/// unwritten space at their ends (see the module documentation).
pub(super) fn shed_cached_holes<B: SegmentIo + ?Sized>(io: &B, from: u64) -> std::io::Result<()> {
    for range in data_ranges(io, from, io.size())? {
        if range.end - range.start >= MIN_PROBED {
            shed(io, range)?;
        }
    }
    Ok(())
}

/// Sheds the cached pages of unwritten space at the end of `range`, a chunk at a time.
fn shed<B: SegmentIo + ?Sized>(io: &B, range: Range<u64>) -> std::io::Result<()> {
    let first = align_up(range.start + KEEP, CHUNK as usize);
    let mut hi = range.end;
    while hi > first {
        let lo = align_down(hi - 1, CHUNK as usize).max(first);
        io.uncache(lo..hi);
        if io.next_data(lo)?.is_some_and(|r| r.start < hi) {
            break;
        }
        hi = lo;
    }
    Ok(())
}
