#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod codec;
pub mod crc;
mod error;
mod flushed;
mod follow;
pub mod fs;
mod io;
mod reader;
mod record;
mod recovery;
mod scan;
pub mod sidecar;
mod sync;
mod window;
mod writer;

pub use codec::{Corruption, HEADER_LEN, MAX_PAYLOAD};
pub use error::{Error, Result};
pub use flushed::FlushedOffset;
pub use follow::Follower;
pub use io::{AlignedBuf, OpenSegment, Preallocation, SegmentIo};
pub use reader::{Iter, ReadHint, Reader, Record};
pub use recovery::{Damage, RecoveryMode, RecoveryReport, ValidAfter, verify};
pub use writer::Writer;

/// Opens the segment at `path` read-only with backend `B` and [`verify`]s it.
pub fn verify_path<B: OpenSegment>(path: impl AsRef<std::path::Path>, start_offset: u64) -> Result<RecoveryReport> {
    let path = path.as_ref();
    let io = B::open_reader(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        op: "opening segment",
        offset: 0,
        source: e,
    })?;
    verify(&io, start_offset)
}
