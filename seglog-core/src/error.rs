//! The errors seglog returns. Each names the segment's path and, where one applies, the offset.

use std::io;
use std::path::PathBuf;

use crate::codec::Corruption;
use crate::recovery::ValidAfter;

/// `Result` with seglog's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in seglog.
///
/// Callers may branch on the variant; the text is for people. A torn tail found by
/// recovery is not an error: it is reported in a [`RecoveryReport`](crate::RecoveryReport).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The backend failed. A failure while writing or syncing also poisons the writer.
    #[error("{}: I/O error while {op} at offset {offset}", path.display())]
    Io {
        /// The segment.
        path: PathBuf,
        /// What seglog was doing, e.g. "syncing" or "reading record".
        op: &'static str,
        /// Where.
        offset: u64,
        /// The backend's error.
        #[source]
        source: io::Error,
    },
    /// The bytes at `offset` are not a valid record where one must be.
    #[error("{}: invalid record at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
        /// What is wrong with it.
        reason: Corruption,
    },
    /// The record does not fit in the space left in the segment. The writer stays usable.
    #[error("{}: segment full: a record of {needed} bytes at offset {offset} does not fit in the {available} bytes left", path.display())]
    SegmentFull {
        /// The segment.
        path: PathBuf,
        /// Where the record would have started.
        offset: u64,
        /// Bytes the record needs, header included.
        needed: u64,
        /// Bytes left.
        available: u64,
    },
    /// The payload is longer than [`MAX_PAYLOAD`](crate::MAX_PAYLOAD). The writer stays usable.
    #[error("{}: payload of {len} bytes exceeds the maximum of {max} bytes", path.display())]
    RecordTooLarge {
        /// The segment.
        path: PathBuf,
        /// The payload's length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A read asked for an offset at or past the end of what readers may see.
    #[error("{}: no visible record at offset {offset}: readers see records in [{start}, {end})", path.display())]
    NotVisible {
        /// The segment.
        path: PathBuf,
        /// The offset asked for.
        offset: u64,
        /// Where the records start.
        start: u64,
        /// The flushed offset (or, for a closed segment, the end of the valid records).
        end: u64,
    },
    /// An earlier write or sync failed, so the writer refuses all work; reopen to recover.
    #[error("{}: writer is poisoned by an earlier failure at offset {offset} ({cause}); reopen the segment to recover", path.display())]
    Poisoned {
        /// The segment.
        path: PathBuf,
        /// Where the failed operation was.
        offset: u64,
        /// The original failure, as text.
        cause: String,
    },
    /// Another writer, in this process or another, holds the segment's exclusive lock.
    #[error("{}: the segment is locked by another writer", path.display())]
    Locked {
        /// The segment.
        path: PathBuf,
        /// The lock call's error.
        #[source]
        source: io::Error,
    },
    /// Strict recovery found damage it could only get past by discarding records; nothing was changed.
    #[error("{}: damaged record at offset {offset} ({reason}) {valid_after}; strict recovery refuses to discard it and changed nothing", path.display())]
    Damaged {
        /// The segment.
        path: PathBuf,
        /// Where the damage is: the end of the valid prefix.
        offset: u64,
        /// What is wrong at `offset`.
        reason: Corruption,
        /// Whether valid records follow.
        valid_after: ValidAfter,
    },
    /// The writer truncated the segment below this iterator's position; the records it
    /// would read next are gone. Start a new iterator at or before `truncated_to`.
    #[error("{}: the segment was truncated to offset {truncated_to}, below this iterator's position {offset}", path.display())]
    Truncated {
        /// The segment.
        path: PathBuf,
        /// The iterator's position.
        offset: u64,
        /// Where the segment was cut.
        truncated_to: u64,
    },
    /// An argument does not fit the segment (a start offset past its end, an unaligned size, …).
    #[error("{}: {what}", path.display())]
    InvalidArgument {
        /// The segment.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A read asked for a position below the log's start: the segment holding it was purged.
    #[error("{}: position {position} was purged: the log starts at position {start}", path.display())]
    Purged {
        /// The log's directory.
        path: PathBuf,
        /// The position asked for.
        position: u64,
        /// The first position the log still holds.
        start: u64,
    },
    /// A file of a log directory is not what the log format requires (a damaged segment
    /// header, another log's segment, a gap in the chain of segments, …).
    #[error("{}: {what} (at offset {offset})", path.display())]
    LogFile {
        /// The file (or, for a missing one, the path it should have).
        path: PathBuf,
        /// Where in it.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A record or batch larger than a log segment's record area; nothing was written.
    #[error("{}: {needed} bytes do not fit in a segment's record area of {capacity} bytes", path.display())]
    TooLargeForSegment {
        /// The log's directory.
        path: PathBuf,
        /// Bytes the record or batch needs, headers included.
        needed: u64,
        /// Bytes a segment holds for records.
        capacity: u64,
    },
}

/// Fails unless `start_offset` lies within a segment of `size` bytes: the one check every
/// way of opening a segment makes.
pub(crate) fn check_start_offset(path: &std::path::Path, size: u64, start_offset: u64) -> Result<()> {
    if start_offset > size {
        return Err(Error::InvalidArgument {
            path: path.to_path_buf(),
            what: format!("start offset {start_offset} is past the end of a {size}-byte segment"),
        });
    }
    Ok(())
}

impl Error {
    /// The offset the error is about, if there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Io { offset, .. }
            | Error::Corrupt { offset, .. }
            | Error::SegmentFull { offset, .. }
            | Error::NotVisible { offset, .. }
            | Error::Poisoned { offset, .. }
            | Error::Damaged { offset, .. }
            | Error::Truncated { offset, .. }
            | Error::LogFile { offset, .. } => Some(*offset),
            Error::Purged { position, .. } => Some(*position),
            Error::RecordTooLarge { .. }
            | Error::Locked { .. }
            | Error::InvalidArgument { .. }
            | Error::TooLargeForSegment { .. } => None,
        }
    }
}
