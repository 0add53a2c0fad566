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
    /// Opening or creating the segment (or its sidecar) failed: no offset applies. The text
    /// names the operation and the kind of the OS error ("not found", "permission denied",
    /// …); the OS's own message is the [`source`](std::error::Error::source).
    #[error("{}: {op} failed: {}", path.display(), cause(source))]
    Open {
        /// The file.
        path: PathBuf,
        /// What seglog was doing, e.g. "opening segment" or "creating segment".
        op: &'static str,
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
    ///
    /// When nothing is visible and `offset` lies past `start`, the text adds that the start
    /// offset the reader was opened with may be wrong (a segment with a header region opened
    /// as if its records started at 0 sees no records).
    #[error("{}: no visible record at offset {offset}: readers see records in [{start}, {end}){}", path.display(), not_visible_hint(*offset, *start, *end))]
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
    /// Recovery found damage that a crash alone cannot leave, and refused to erase it;
    /// nothing was changed. Either it starts below the durable end the segment's sidecar
    /// vouches for (`durable_end`: acknowledged records are damaged), or its header is one
    /// no write leaves, torn or not. Open in
    /// [`RecoveryMode::Truncate`](crate::RecoveryMode::Truncate) to erase from `offset` on,
    /// or with `likely_start` as the start offset if the records start there.
    #[error("{}: damaged record at offset {offset} ({reason}) {valid_after}, {}; recovery refuses to erase what a crash cannot leave and changed nothing (RecoveryMode::Truncate erases it){}", path.display(), not_torn_why(*durable_end), start_hint(*likely_start))]
    NotTornTail {
        /// The segment.
        path: PathBuf,
        /// Where the damage is: the end of the valid prefix.
        offset: u64,
        /// What is wrong at `offset`.
        reason: Corruption,
        /// Whether valid records follow.
        valid_after: ValidAfter,
        /// The durable end the sidecar vouches for, when the damage lies below it.
        durable_end: Option<u64>,
        /// Where a run of valid records begins, when none is valid at the start offset.
        likely_start: Option<u64>,
    },
    /// The file holds no segment at this start offset: it is empty, or no record is valid
    /// at the start offset and the bytes there are no record header, torn or not (records
    /// may begin elsewhere: `likely_start`). Recovery changed nothing.
    #[error("{}: not a segment: {}; recovery changed nothing{}", path.display(), not_segment_why(*offset, *reason), start_hint(*likely_start))]
    NotASegment {
        /// The file.
        path: PathBuf,
        /// The start offset.
        offset: u64,
        /// What is wrong at `offset`; `None` for an empty file.
        reason: Option<Corruption>,
        /// Where a run of valid records begins, if one does in the first blocks.
        likely_start: Option<u64>,
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

/// The cause of an [`Error::Open`] in a few words. An OS error is named by its kind, as
/// its own message follows in the source chain; any other error has only its message,
/// which a chain printer that skips repeated text shows once.
fn cause(e: &io::Error) -> String {
    use io::ErrorKind as K;
    if e.raw_os_error().is_none() {
        return e.to_string();
    }
    let kind = match e.kind() {
        K::NotFound => "not found",
        K::PermissionDenied => "permission denied",
        K::AlreadyExists => "already exists",
        K::IsADirectory => "is a directory",
        K::NotADirectory => "a path component is not a directory",
        K::StorageFull => "no space left",
        K::QuotaExceeded => "quota exceeded",
        K::ReadOnlyFilesystem => "read-only filesystem",
        K::FileTooLarge => "file too large",
        K::InvalidInput => "invalid argument",
        K::Unsupported => "not supported",
        K::WouldBlock => "would block",
        K::OutOfMemory => "out of memory",
        other => return other.to_string(),
    };
    kind.to_string()
}

/// An [`Error::Open`]: `op` on the file at `path` failed with `source`.
pub(crate) fn open_error(path: &std::path::Path, op: &'static str, source: io::Error) -> Error {
    Error::Open { path: path.to_path_buf(), op, source }
}

/// The hint [`Error::NotVisible`] adds when nothing at all is visible.
fn not_visible_hint(offset: u64, start: u64, end: u64) -> String {
    if start == end && offset > start {
        format!(
            "; nothing is visible: if the records do not start at offset {start}, the reader was opened \
             with the wrong start offset (`Reader::open(path, None)` assumes 0; use `open_closed`)"
        )
    } else {
        String::new()
    }
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
            | Error::NotTornTail { offset, .. }
            | Error::NotASegment { offset, .. }
            | Error::Truncated { offset, .. }
            | Error::LogFile { offset, .. } => Some(*offset),
            Error::Purged { position, .. } => Some(*position),
            Error::Open { .. }
            | Error::RecordTooLarge { .. }
            | Error::Locked { .. }
            | Error::InvalidArgument { .. }
            | Error::TooLargeForSegment { .. } => None,
        }
    }
}

/// Why [`Error::NotTornTail`]'s damage is not a torn tail.
fn not_torn_why(durable_end: Option<u64>) -> String {
    match durable_end {
        Some(end) => format!("below the durable end {end} that the sidecar vouches for"),
        None => "and no write, torn or not, leaves that header".to_string(),
    }
}

/// What [`Error::NotASegment`] found.
fn not_segment_why(offset: u64, reason: Option<Corruption>) -> String {
    match reason {
        None => "the file is empty".to_string(),
        Some(r) => {
            format!("no valid record at the start offset {offset}, and the bytes there are no record header ({r})")
        }
    }
}

/// The advice a likely start offset gives.
fn start_hint(likely_start: Option<u64>) -> String {
    match likely_start {
        Some(at) => format!(" (valid records begin at offset {at}: is that the start offset?)"),
        None => String::new(),
    }
}
