//! Phase one of the scan: the walk of the valid records.
//!
//! It costs what the records cost: each read fills a window of [`WALK_WINDOW`] bytes,
//! and every record lying whole in it is then decoded and verified in place, in one pass
//! (as a sequential read does in `scan.rs`), with no call per record back into the window.
//! Only a record that straddles the window's end, or a payload larger than a window, goes
//! through the slower path that reads it on its own.

use super::SCAN_WINDOW;
use crate::codec::{Corruption, HEADER_LEN, Header, decode_prefix};
use crate::crc::{CrcCache, RecordCrc};
use crate::error::{Error, Result};
use crate::io::SegmentIo;
use crate::window::Window;

/// Bytes read per backend call by the walk: large enough that a read runs at page-cache
/// speed, small enough that the bytes it copies are still in the CPU's cache when the
/// checksum reads them again (measured, BENCHMARKS.md "Reopening a segment").
pub(crate) const WALK_WINDOW: usize = 256 << 10;

/// Where a walk of the valid records ended.
pub(crate) struct Walked {
    /// End of the last complete record or batch: the recovered end.
    pub(crate) end: u64,
    /// Where the walk stopped: past `end` when a batch was cut short.
    pub(crate) stopped_at: u64,
    /// Records in `[start, end)`.
    pub(crate) records: u64,
    /// Why it stopped.
    pub(crate) stop: Corruption,
}

/// The walk's position and counts.
struct State {
    pos: u64,
    end: u64,
    records: u64,
    in_batch: u64,
}

impl State {
    /// Steps past the valid record at the position, whose header is `header`.
    #[inline]
    fn advance(&mut self, header: &Header) {
        self.pos += header.record_len();
        self.in_batch += 1;
        if !header.continues_batch {
            self.records += self.in_batch;
            self.in_batch = 0;
            self.end = self.pos;
        }
    }
}

/// Walks the valid records from `start` until damage, the end of the records, or `limit`.
pub(crate) fn walk<B: SegmentIo + ?Sized>(io: &B, w: &mut Window, start: u64, limit: u64) -> Result<Walked> {
    let size = io.size();
    let io_err =
        |offset: u64, e| Error::Io { path: io.path().to_path_buf(), op: "walking the records", offset, source: e };
    let mut s = State { pos: start, end: start, records: 0, in_batch: 0 };
    let mut crcs = CrcCache::default();
    // Read ahead only as far as the backend says data lies: a window into a hole would make
    // the kernel zero-fill and cache pages that the scan past the records then reads again.
    let mut data_end = 0;
    let stop = loop {
        if let Some(stop) = in_window(w, &mut s, limit, size, &mut crcs) {
            break stop;
        }
        // The record at the position is not whole in the window: read it on its own, which
        // refills the window from it, and says what is wrong with it if anything is.
        let pos = s.pos;
        if pos >= limit {
            break Corruption::ZeroHeader;
        }
        if size - pos < HEADER_LEN as u64 {
            break Corruption::ShortHeader;
        }
        if pos >= data_end {
            data_end = io.next_data(pos).map_err(|e| io_err(pos, e))?.map_or(pos, |r| r.end.max(pos));
        }
        let ahead = WALK_WINDOW.min((data_end - pos) as usize);
        let bytes = w.get(io, pos, HEADER_LEN, ahead, size).map_err(|e| io_err(pos, e))?;
        let header = match decode_prefix(bytes) {
            Ok(Some(h)) => h,
            Ok(None) => break Corruption::ZeroHeader,
            Err(c) => break c,
        };
        let available = size - pos;
        if header.record_len() > available {
            break Corruption::LengthOutOfBounds { len: header.record_len(), available };
        }
        let ahead = WALK_WINDOW.min(data_end.saturating_sub(pos + HEADER_LEN as u64) as usize);
        let crc = payload_crc(io, w, pos, &header, size, &mut crcs, ahead).map_err(|e| io_err(pos, e))?;
        if let Err(c) = header.check_crc(crc) {
            break c;
        }
        s.advance(&header);
    };
    Ok(Walked { end: s.end, stopped_at: s.pos, records: s.records, stop })
}

/// Walks the records that lie whole in the window's bytes from the position on, verifying
/// each in place; `Some` with the reason once the walk must stop, `None` when the next
/// record is not whole in the window (or the position is not in it).
///
/// Checks exactly what the slow path of [`walk`] checks, in the same order, so where the
/// window ends never changes what the walk finds.
#[inline]
fn in_window(w: &Window, s: &mut State, limit: u64, size: u64, crcs: &mut CrcCache) -> Option<Corruption> {
    let (base, bytes) = w.cached();
    let mut i = usize::try_from(s.pos.checked_sub(base)?).ok()?;
    loop {
        let pos = base + i as u64;
        if pos >= limit {
            return Some(Corruption::ZeroHeader);
        }
        // Fewer than 8 bytes left in the window (or the segment): the slow path decides.
        let header = match decode_prefix(bytes.get(i..)?) {
            Ok(Some(h)) => h,
            Ok(None) => return Some(Corruption::ZeroHeader),
            Err(Corruption::ShortHeader) => return None,
            Err(c) => return Some(c),
        };
        let len = header.record_len();
        let available = size - pos;
        if len > available {
            return Some(Corruption::LengthOutOfBounds { len, available });
        }
        let record = bytes.get(i..i.checked_add(usize::try_from(len).ok()?)?)?;
        if let Err(c) = header.verify_cached(record.get(HEADER_LEN..)?, crcs) {
            return Some(c);
        }
        s.advance(&header);
        i += record.len();
    }
}

/// The record checksum of the record at `pos`, reading its payload in window-sized pieces
/// (and up to `ahead` bytes ahead of it); payload bytes at or past `nonzero_end` are known
/// to be zero and are not read.
pub(super) fn payload_crc<B: SegmentIo + ?Sized>(
    io: &B,
    w: &mut Window,
    pos: u64,
    header: &Header,
    nonzero_end: u64,
    crcs: &mut CrcCache,
    ahead: usize,
) -> std::io::Result<u32> {
    let size = io.size();
    let from = pos + HEADER_LEN as u64;
    let to = from + u64::from(header.payload_len);
    if to <= nonzero_end && header.payload_len as usize <= SCAN_WINDOW {
        let payload = w.get(io, from, header.payload_len as usize, ahead, size)?;
        return Ok(crcs.record_crc(header.len_bytes, payload));
    }
    let mut crc = RecordCrc::new(header.len_bytes);
    let mut at = from;
    let read_to = to.min(nonzero_end.max(from));
    while at < read_to {
        let n = ((read_to - at) as usize).min(SCAN_WINDOW);
        crc.update(w.get(io, at, n, SCAN_WINDOW, size)?);
        at += n as u64;
    }
    crc.update_zeros(to - at);
    Ok(crc.finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]
    use std::path::Path;

    use super::*;
    use crate::codec::encode_header_kind;

    /// Bytes in memory, read-only.
    #[derive(Debug)]
    struct Bytes(Vec<u8>);

    impl SegmentIo for Bytes {
        fn size(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            let at = offset as usize;
            buf.copy_from_slice(self.0.get(at..at + buf.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?);
            Ok(())
        }
        fn write_at(&self, _: u64, _: &[u8]) -> std::io::Result<()> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
        fn sync(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn path(&self) -> &Path {
            Path::new("<walk test>")
        }
    }

    /// Records of many lengths (some larger than a window, batches among them) filling
    /// about three windows; returns the bytes and each record's offset.
    fn segment(size: usize) -> (Vec<u8>, Vec<usize>) {
        let (mut bytes, mut at) = (vec![0u8; size], Vec::new());
        let mut pos = 0;
        for i in 0usize.. {
            let len = [0, 1, 100, 1000, 4093, 70_000, WALK_WINDOW + 3][i % 7];
            let continues = i % 5 == 1;
            let payload: Vec<u8> = (0..len).map(|j| (i * 7 + j) as u8).collect();
            if pos + 8 + len + 64 > 3 * WALK_WINDOW {
                break;
            }
            bytes[pos..pos + 8].copy_from_slice(&encode_header_kind(&payload, continues));
            bytes[pos + 8..pos + 8 + len].copy_from_slice(&payload);
            at.push(pos);
            pos += 8 + len;
        }
        // End on a complete batch.
        let payload = [9u8; 10];
        bytes[pos..pos + 8].copy_from_slice(&encode_header_kind(&payload, false));
        bytes[pos + 8..pos + 18].copy_from_slice(&payload);
        at.push(pos);
        (bytes, at)
    }

    #[test]
    fn where_the_window_ends_changes_nothing() {
        // Regression guard for the one-pass walk (issue 13): every record starts, and every
        // kind of damage lands, at many distances from the window's end.
        let (bytes, at) = segment(4 * WALK_WINDOW);
        let end = (*at.last().unwrap() + 18) as u64;
        let walked = walk(&Bytes(bytes.clone()), &mut Window::default(), 0, bytes.len() as u64).unwrap();
        assert_eq!(
            (walked.end, walked.stopped_at, walked.records, walked.stop),
            (end, end, at.len() as u64, Corruption::ZeroHeader)
        );
        for (k, &r) in at.iter().enumerate().step_by(3) {
            let mut damaged = bytes.clone();
            damaged[r + 4] ^= 1;
            let w = walk(&Bytes(damaged), &mut Window::default(), 0, bytes.len() as u64).unwrap();
            assert!(matches!(w.stop, Corruption::ChecksumMismatch { .. }), "record {k}: {:?}", w.stop);
            assert_eq!(w.stopped_at, r as u64, "record {k}");
            // The end is that of the last complete batch before it.
            let complete = at[..k].iter().rposition(|&p| bytes[p + 3] >> 6 == 0).map(|i| at[i + 1]).unwrap_or(0);
            assert_eq!(w.end, complete as u64, "record {k}");
            // A limit at the record's start stops there as a clean end.
            let w = walk(&Bytes(bytes.clone()), &mut Window::default(), 0, r as u64).unwrap();
            assert_eq!((w.stopped_at, w.stop), (r as u64, Corruption::ZeroHeader), "limit at record {k}");
        }
    }
}
