#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod codec;
pub mod crc;
mod error;
mod flushed;
pub mod fs;
mod io;
mod reader;
mod recovery;
mod window;
mod writer;

pub use codec::{Corruption, HEADER_LEN, MAX_PAYLOAD};
pub use error::{Error, Result};
pub use flushed::FlushedOffset;
pub use io::{AlignedBuf, OpenSegment, SegmentIo};
pub use reader::{Iter, ReadHint, Reader, Record};
pub use recovery::{Damage, RecoveryMode, RecoveryReport, ValidAfter};
pub use writer::Writer;
