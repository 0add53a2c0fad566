//! The walk's reads, done ahead of it on a second thread.
//!
//! Walking a long run of records is, window after window, the backend's read (for the file
//! backend, the kernel's copy out of the page cache) and then the checksums of the records
//! in it: on one thread the walk costs their sum. Here a reader thread fills the next
//! windows while the walk verifies the current one, so on a machine with a core to spare
//! the walk costs about the larger of the two.
//!
//! The reader never decides anything. It performs exactly the reads the walk's refills
//! would perform (same offset, same length, through the same [`Window::get`]), in order,
//! and hands the windows over; the walk takes one only where it would have read that very
//! range itself, and reads for itself otherwise. So the walk reads the same bytes in the
//! same pieces with or without the thread, and what it finds, where it stops and every
//! error it reports are the same. To know where the next read starts without verifying
//! anything, the reader steps over the headers of the window it just read
//! ([`next_record`]) to the record that straddles its end, and mirrors the walk's refill
//! for it: from the record when its header is cut, else from its payload. It stops at
//! anything else: a zero or invalid header (the end of the records or damage: past the
//! end of the records it reads nothing the walk would not), a payload the walk reads in
//! pieces, the end of the range the backend said holds data (where the walk asks again),
//! or the walk's limit. Only where a checksum fails inside a window may the reader have
//! read up to [`DEPTH`] windows the walk then does not use, all below the end of that data
//! range, which the scan that follows the walk reads anyway.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

use super::SCAN_WINDOW;
use super::walk::WALK_WINDOW;
use crate::codec::{Corruption, HEADER_LEN, Header, decode_prefix};
use crate::io::SegmentIo;
use crate::window::Window;

/// Windows the reader may fill before the walk takes the first of them.
pub(super) const DEPTH: usize = 2;

/// A window the reader filled, and the read that filled it.
struct Filled {
    off: u64,
    want: usize,
    window: Window,
}

/// The record that straddles a window's end: its offset, and its header if the window
/// holds all of it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Straddling {
    pub(super) pos: u64,
    pub(super) header: Option<Header>,
}

/// The bounds the walk reads within.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bounds {
    /// The walk's limit: no record at or past it is read.
    pub(super) limit: u64,
    /// The end of the data range the backend reported; the walk asks again past it.
    pub(super) data_end: u64,
    /// The segment's size.
    pub(super) size: u64,
}

impl Bounds {
    /// What [`Window::get`] reads on a miss for `len` bytes at `off`, `ahead` bytes wanted.
    pub(super) fn want(&self, off: u64, len: usize, ahead: usize) -> usize {
        len.max(ahead).min((self.size - off) as usize)
    }

    /// The read the walk's refill for the straddling record `r` makes, if it reads a whole
    /// window (not a payload in pieces) and is within the bounds: `(offset, length)`.
    fn refill(&self, r: Straddling) -> Option<(u64, usize)> {
        if r.pos >= self.limit || r.pos >= self.data_end || self.size - r.pos < HEADER_LEN as u64 {
            return None;
        }
        match r.header {
            None => Some((r.pos, self.want(r.pos, HEADER_LEN, WALK_WINDOW.min((self.data_end - r.pos) as usize)))),
            Some(h) => {
                let from = r.pos + HEADER_LEN as u64;
                let len = h.payload_len as usize;
                if from + len as u64 > self.size || len > SCAN_WINDOW {
                    return None;
                }
                Some((from, self.want(from, len, WALK_WINDOW.min(self.data_end.saturating_sub(from) as usize))))
            }
        }
    }
}

/// Whether the window holds `[off, off + len)`: [`Window::get`] reads nothing then.
pub(super) fn covers(w: &Window, off: u64, len: usize) -> bool {
    let (base, bytes) = w.cached();
    off >= base && off.saturating_add(len as u64) <= base + bytes.len() as u64
}

/// The walk's end of the reader thread.
pub(super) struct ReadAhead {
    filled: Receiver<Filled>,
    free: SyncSender<Window>,
}

impl ReadAhead {
    /// Starts a reader whose first read is the walk's refill for `first`, the record the
    /// walk is at. `None` if no thread can be started: the walk then reads for itself.
    pub(super) fn start<'scope, 'env, B: SegmentIo + ?Sized>(
        scope: &'scope Scope<'scope, 'env>,
        io: &'env B,
        first: Straddling,
        bounds: Bounds,
    ) -> Option<Self> {
        let (free, free_rx) = sync_channel::<Window>(DEPTH + 1);
        let (filled_tx, filled) = sync_channel::<Filled>(DEPTH);
        for _ in 0..DEPTH {
            // Cannot fail: the receiver is alive and the channel has room.
            let _ = free.send(Window::default());
        }
        std::thread::Builder::new()
            .name("seglog-walk-read".into())
            .spawn_scoped(scope, move || read_windows(io, first, bounds, &free_rx, &filled_tx))
            .ok()?;
        Some(Self { filled, free })
    }

    /// Puts into `w` the window the reader filled by reading `want` bytes at `off`, and
    /// returns whether it did. `false` means the reader has stopped (or read something
    /// else, which the walk never asks for): the walk reads for itself from then on.
    pub(super) fn take(&mut self, w: &mut Window, off: u64, want: usize) -> bool {
        match self.filled.recv() {
            Ok(mut f) if f.off == off && f.want == want => {
                std::mem::swap(w, &mut f.window);
                // The walk's old window goes back to the reader to be filled again; if the
                // reader has stopped, it is simply dropped.
                let _ = self.free.send(f.window);
                true
            }
            _ => false,
        }
    }
}

/// The reader thread: makes the walk's refills in turn from `r` on, until there is none to
/// mirror, a read fails (the walk then makes that read itself and reports the error), or
/// the walk goes away.
fn read_windows<B: SegmentIo + ?Sized>(
    io: &B,
    mut r: Straddling,
    bounds: Bounds,
    free: &Receiver<Window>,
    filled: &SyncSender<Filled>,
) {
    while let Ok(mut window) = free.recv() {
        let Some((off, want)) = bounds.refill(r) else { return };
        if window.get(io, off, want, want, bounds.size).is_err() {
            return;
        }
        // The straddling record is whole in the new window if its header was read in the
        // last one; a header read in this one must say where the record ends.
        let record_end = match r.header {
            Some(h) => Some(r.pos + h.record_len()),
            None => match decode_prefix(window.cached().1) {
                Ok(Some(h)) if covers(&window, r.pos, usize::try_from(h.record_len()).unwrap_or(usize::MAX)) => {
                    Some(r.pos + h.record_len())
                }
                _ => None,
            },
        };
        let next = record_end.and_then(|end| next_record(&window, end, &bounds));
        if filled.send(Filled { off, want, window }).is_err() {
            return;
        }
        match next {
            Some(next) => r = next,
            None => return,
        }
    }
}

/// The record that straddles the end of `w`, stepping over headers from the record at
/// `pos` in it: where the walk, finding every checksum valid, refills next. `None` when
/// the records end first (a zero or invalid header, a length past the segment) or reach
/// the limit.
pub(super) fn next_record(w: &Window, mut pos: u64, bounds: &Bounds) -> Option<Straddling> {
    let (base, bytes) = w.cached();
    loop {
        if pos >= bounds.limit {
            return None;
        }
        let i = usize::try_from(pos.checked_sub(base)?).ok()?;
        match decode_prefix(bytes.get(i..)?) {
            Ok(Some(header)) => {
                let len = header.record_len();
                if len > bounds.size - pos {
                    return None;
                }
                if covers(w, pos, usize::try_from(len).ok()?) {
                    pos += len;
                } else {
                    return Some(Straddling { pos, header: Some(header) });
                }
            }
            Err(Corruption::ShortHeader) => return Some(Straddling { pos, header: None }),
            Ok(None) | Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]
    use std::path::Path;
    use std::sync::Mutex;
    use std::thread::ThreadId;

    use super::super::walk::{Walked, walk_with};
    use super::*;
    use crate::codec::encode_header_kind;
    use crate::error::Error;

    /// Bytes in memory, read-only, that remember which threads read them and fail every
    /// read that covers `fail_at`.
    #[derive(Debug)]
    struct Bytes {
        bytes: Vec<u8>,
        fail_at: Option<u64>,
        readers: Mutex<Vec<ThreadId>>,
    }

    impl Bytes {
        fn new(bytes: Vec<u8>, fail_at: Option<u64>) -> Self {
            Self { bytes, fail_at, readers: Mutex::new(Vec::new()) }
        }

        /// Whether a thread other than this one read from it.
        fn read_by_another_thread(&self) -> bool {
            self.readers.lock().unwrap().iter().any(|&t| t != std::thread::current().id())
        }
    }

    impl SegmentIo for Bytes {
        fn size(&self) -> u64 {
            self.bytes.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            self.readers.lock().unwrap().push(std::thread::current().id());
            if self.fail_at.is_some_and(|f| (offset..offset + buf.len() as u64).contains(&f)) {
                return Err(std::io::Error::other("injected read error"));
            }
            let at = offset as usize;
            buf.copy_from_slice(self.bytes.get(at..at + buf.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?);
            Ok(())
        }
        fn write_at(&self, _: u64, _: &[u8]) -> std::io::Result<()> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
        fn sync(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn path(&self) -> &Path {
            Path::new("<read-ahead test>")
        }
    }

    /// About `windows` windows of records of many lengths (batches among them, one record
    /// larger than a window near the end), then zeros; returns the bytes and the offsets.
    fn segment(windows: usize) -> (Vec<u8>, Vec<usize>) {
        let fill = windows * WALK_WINDOW;
        let (mut bytes, mut at) = (vec![0u8; fill + WALK_WINDOW], Vec::new());
        let mut pos = 0;
        for i in 0usize.. {
            let big = pos > fill - 3 * WALK_WINDOW && pos < fill - 2 * WALK_WINDOW && i % 50 == 0;
            let len = if big { WALK_WINDOW + 3 } else { [0, 1, 100, 1000, 4093, 70_000][i % 6] };
            let payload: Vec<u8> = (0..len).map(|j| (i * 7 + j) as u8).collect();
            if pos + 8 + len + 18 > fill {
                break;
            }
            bytes[pos..pos + 8].copy_from_slice(&encode_header_kind(&payload, i % 5 == 1));
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

    fn summary(w: &Walked) -> (u64, u64, u64, Corruption) {
        (w.end, w.stopped_at, w.records, w.stop)
    }

    /// Walks `bytes` with and without the reader thread; returns both results and whether
    /// the threaded walk's backend was read from another thread.
    fn both(bytes: &[u8], limit: u64, fail_at: Option<u64>) -> (Result<Walked, Error>, Result<Walked, Error>, bool) {
        let threaded = Bytes::new(bytes.to_vec(), fail_at);
        let with = walk_with(&threaded, &mut Window::default(), 0, limit, true);
        let alone = walk_with(&Bytes::new(bytes.to_vec(), fail_at), &mut Window::default(), 0, limit, false);
        (with, alone, threaded.read_by_another_thread())
    }

    #[test]
    fn reading_ahead_on_a_thread_changes_nothing() {
        // Guard for the overlapped walk (issue 13): with the reader thread, the walk finds
        // what it finds alone, for a clean run, damage at many records, and limits.
        let (bytes, at) = segment(24);
        let end = (*at.last().unwrap() + 18) as u64;
        let (with, alone, threaded) = both(&bytes, bytes.len() as u64, None);
        let (with, alone) = (summary(&with.unwrap()), summary(&alone.unwrap()));
        assert!(threaded, "the walk of 24 windows never started its reader thread");
        assert_eq!(with, (end, end, at.len() as u64, Corruption::ZeroHeader));
        assert_eq!(with, alone);
        for (k, &r) in at.iter().enumerate().step_by(at.len() / 40) {
            let mut damaged = bytes.clone();
            damaged[r + 4] ^= 1;
            let (with, alone, _) = both(&damaged, bytes.len() as u64, None);
            let with = summary(&with.unwrap());
            assert!(matches!(with.3, Corruption::ChecksumMismatch { .. }), "record {k}: {:?}", with.3);
            assert_eq!((with.1, with), (r as u64, summary(&alone.unwrap())), "record {k}");
            let (with, alone, _) = both(&bytes, r as u64, None);
            assert_eq!(summary(&with.unwrap()), summary(&alone.unwrap()), "limit at record {k}");
        }
    }

    #[test]
    fn a_read_error_ahead_is_the_error_the_walk_reports_alone() {
        let (bytes, at) = segment(24);
        for &r in at.iter().skip(at.len() / 3).step_by(at.len() / 10) {
            let fail_at = Some(r as u64 + 11);
            let (with, alone, _) = both(&bytes, bytes.len() as u64, fail_at);
            let offset = |e: Error| match e {
                Error::Io { offset, op, .. } => (offset, op),
                other => panic!("not an I/O error: {other:?}"),
            };
            let (with, alone) = (offset(with.err().unwrap()), offset(alone.err().unwrap()));
            assert_eq!(with, alone, "read failing at {fail_at:?}");
        }
    }
}
