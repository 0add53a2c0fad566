#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod ahead;
pub mod codec;
pub mod crc;
mod debug;
mod error;
mod flushed;
mod follow;
pub mod fs;
mod io;
pub mod log;
mod polled;
mod reader;
mod record;
mod recovery;
mod scan;
pub mod sidecar;
mod sync;
mod wake;
mod window;
mod writer;

pub use codec::{Corruption, HEADER_LEN, MAX_PAYLOAD};
pub use error::{Error, Result};
pub use flushed::FlushedOffset;
pub use follow::Follower;
pub use io::{AlignedBuf, Cached, OpenSegment, Preallocation, SegmentIo};
pub use log::{FsDir, Log, LogDir, LogFollower, LogIter, LogOptions, LogReader, LogRecord, LogReport, SegmentInfo};
pub use polled::Polled;
pub use reader::{Iter, ReadHint, Reader, Record};
pub use recovery::{Damage, RecoveryMode, RecoveryReport, ValidAfter, check, verify};
pub use writer::Writer;

/// Opens the segment at `path` read-only with backend `B` and [`verify`]s it.
pub fn verify_path<B: OpenSegment>(path: impl AsRef<std::path::Path>, start_offset: u64) -> Result<RecoveryReport> {
    let path = path.as_ref();
    let io = B::open_reader(path).map_err(|e| error::open_error(path, "opening segment", e))?;
    verify(&io, start_offset)
}

/// What [`Writer::open_with`] would do to the segment at `path` in `mode`, writing nothing
/// and taking no lock: the report of what it would keep and erase, or the error it would
/// refuse with. Reads the segment's sidecar as `open_with` does.
pub fn check_path<B: OpenSegment>(
    path: impl AsRef<std::path::Path>,
    start_offset: u64,
    mode: RecoveryMode,
) -> Result<RecoveryReport> {
    let path = path.as_ref();
    let io = B::open_reader(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        op: "opening segment",
        offset: 0,
        source: e,
    })?;
    let durable_end = sidecar::vouched_end(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        op: "reading the sidecar",
        offset: 0,
        source: e,
    })?;
    check(&io, start_offset, mode, durable_end)
}
