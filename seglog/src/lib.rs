#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use seglog_core::{
    Corruption, Damage, Error, FlushedOffset, HEADER_LEN, MAX_PAYLOAD, RecoveryMode, RecoveryReport, Result, ValidAfter,
};

/// Walks the segment file at `path` as recovery would, with the default backend, and
/// reports what it holds without writing anything or taking the writer's lock.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("s.log");
/// let mut writer = seglog::write::Writer::create(&path, 4096, 0)?;
/// writer.append(b"a")?;
/// writer.sync()?;
/// let report = seglog::verify(&path, 0)?;
/// assert_eq!((report.records, report.end, report.is_clean()), (1, 9, true));
/// # Ok::<(), seglog::Error>(())
/// ```
pub fn verify(path: impl AsRef<std::path::Path>, start_offset: u64) -> Result<RecoveryReport> {
    seglog_core::verify_path::<seglog_file::FileIo>(path, start_offset)
}

/// The building blocks for writing a backend of your own: see [`SegmentIo`](core::SegmentIo).
pub use seglog_core as core;

/// The pread/pwrite backend, the default: [`Writer`](file::Writer) and [`Reader`](file::Reader) on ordinary files.
pub mod file {
    pub use seglog_file::FileIo;

    /// Appends to a segment file through `pwrite` and `fdatasync`.
    pub type Writer = seglog_core::Writer<FileIo>;
    /// Reads a segment file through `pread`, lock-free.
    pub type Reader = seglog_core::Reader<FileIo>;
    /// Iterates a segment file's records; see [`Reader::iter`](seglog_core::Reader::iter).
    pub type Iter<'r> = seglog_core::Iter<'r, FileIo>;
}

/// Writing, with the default backend ([`file`](mod@file)).
pub mod write {
    pub use crate::file::Writer;
}

/// Reading, with the default backend ([`file`](mod@file)).
pub mod read {
    pub use crate::file::{Iter, Reader};
    pub use seglog_core::{ReadHint, Record};
}

/// The repository README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
