//! Pre-creating the next segment off the write path: a background thread creates (and
//! pre-allocates, or zero-fills) `{seq}.seg.tmp`, so a roll only writes a header and renames.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::dir::LogDir;
use super::header::segment_name;
use crate::io::Preallocation;

/// A segment file being made, or made, for sequence number `seq`.
#[derive(Debug)]
pub(crate) struct Spare<Io> {
    pub seq: u64,
    pub size: u64,
    handle: JoinHandle<io::Result<Io>>,
}

/// The name of the temporary file segment `seq` is made in.
pub(crate) fn tmp_name(seq: u64) -> String {
    format!("{}.tmp", segment_name(seq))
}

impl<Io: Send + 'static> Spare<Io> {
    /// Starts creating segment `seq`'s temporary file in the background.
    pub fn spawn<D: LogDir<Io = Io>>(dir: &Arc<D>, seq: u64, size: u64, prealloc: Preallocation) -> Self {
        let dir = Arc::clone(dir);
        let handle = std::thread::spawn(move || dir.create(&tmp_name(seq), size, prealloc));
        Self { seq, size, handle }
    }

    /// Waits for the file; its handle, holding the writer lock.
    pub fn take(self) -> io::Result<Io> {
        self.handle.join().unwrap_or_else(|_| Err(io::Error::other("the thread pre-creating a segment panicked")))
    }
}
