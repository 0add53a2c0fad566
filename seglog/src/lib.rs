#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use seglog_core::{
    Corruption, Damage, Error, FlushedOffset, HEADER_LEN, MAX_PAYLOAD, Polled, RecoveryMode, RecoveryReport, Result,
    ValidAfter,
};
pub use seglog_core::{LogOptions, LogRecord, LogReport, SegmentInfo};

/// A log over a directory of segment files, with the default backend; see
/// [`seglog_core::Log`].
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use seglog::{Log, LogOptions};
/// let mut log = Log::open(dir.path().join("events"), LogOptions::default().segment_size(64 << 10))?;
/// let (pos, _) = log.append(b"event")?;
/// log.sync()?;
/// let mut reader = log.reader();
/// assert_eq!(&*reader.read_record(pos)?, b"event");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Log = seglog_core::Log<seglog_file::FileIo>;
/// A lock-free reader of a [`Log`], with the default backend.
pub type LogReader = seglog_core::LogReader<seglog_file::FileIo>;
/// Iterates a [`Log`]'s records across segments, with the default backend.
pub type LogIter<'r> = seglog_core::LogIter<'r, seglog_file::FileIo>;

/// Follows a segment file that a writer in another process appends to, with the default
/// backend; see [`seglog_core::Follower`].
pub type Follower = seglog_core::Follower<seglog_file::FileIo>;
/// Follows a [`Log`] that a writer in another process appends to, across rolls,
/// truncations and purges, with the default backend; see [`seglog_core::LogFollower`].
pub type LogFollower = seglog_core::LogFollower<seglog_file::FileIo>;

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
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(path: impl AsRef<std::path::Path>, start_offset: u64) -> Result<RecoveryReport> {
    seglog_core::verify_path::<seglog_file::FileIo>(path, start_offset)
}

/// The building blocks for writing a backend of your own: see [`SegmentIo`](core::SegmentIo).
pub use seglog_core as core;

/// Declares the module through which one backend is reached by name.
macro_rules! backend_module {
    ($(#[$doc:meta])* $module:ident, $io:path) => {
        $(#[$doc])*
        ///
        /// The module is complete on its own: every type used with its `Writer` and
        /// `Reader` is here too, so switching backend is changing this one path.
        pub mod $module {
            pub use $io;
            pub use seglog_core::{
                Corruption, Damage, Error, FlushedOffset, HEADER_LEN, MAX_PAYLOAD, Polled, Preallocation, ReadHint,
                Record, RecoveryMode, RecoveryReport, Result, ValidAfter,
            };

            /// Walks the segment file at `path` as recovery would, with this backend, and
            /// reports what it holds without writing anything or taking the writer's lock.
            pub fn verify(path: impl AsRef<std::path::Path>, start_offset: u64) -> Result<RecoveryReport> {
                seglog_core::verify_path::<$io>(path, start_offset)
            }

            /// The writer of a segment on this backend; see [`seglog_core::Writer`].
            pub type Writer = seglog_core::Writer<$io>;
            /// A lock-free reader of a segment on this backend; see [`seglog_core::Reader`].
            pub type Reader = seglog_core::Reader<$io>;
            /// Iterates a segment's records; see [`seglog_core::Reader::iter`].
            pub type Iter<'r> = seglog_core::Iter<'r, $io>;
            /// Follows a segment another process writes; see [`seglog_core::Follower`].
            pub type Follower = seglog_core::Follower<$io>;
            /// A log over a directory of segments on this backend; see [`seglog_core::Log`].
            pub type Log = seglog_core::Log<$io>;
            /// A lock-free reader of a log on this backend; see [`seglog_core::LogReader`].
            pub type LogReader = seglog_core::LogReader<$io>;
            /// Iterates a log's records on this backend; see [`seglog_core::LogIter`].
            pub type LogIter<'r> = seglog_core::LogIter<'r, $io>;
            /// Follows a log another process writes; see [`seglog_core::LogFollower`].
            pub type LogFollower = seglog_core::LogFollower<$io>;
        }
    };
}

backend_module!(
    /// The pread/pwrite backend, the default: ordinary files, `fdatasync` for durability.
    file,
    seglog_file::FileIo
);

#[cfg(feature = "mmap")]
backend_module!(
    /// The memory-mapped backend (feature `mmap`): reads are slices of a shared read-only
    /// mapping, with no system call or copy per record; writes use `pwrite`.
    mmap,
    seglog_mmap::MmapIo
);

#[cfg(feature = "direct")]
backend_module!(
    /// The O_DIRECT backend (feature `direct`, Linux): aligned I/O that bypasses the page
    /// cache; `fdatasync` still makes writes durable.
    direct,
    seglog_direct::DirectIo
);

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
