#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use seglog_core::{
    Corruption, Damage, Error, FlushedOffset, HEADER_LEN, MAX_PAYLOAD, RecoveryMode, RecoveryReport, Result, ValidAfter,
};

/// Follows a segment file that a writer in another process appends to, with the default
/// backend; see [`seglog_core::Follower`].
pub type Follower = seglog_core::Follower<seglog_file::FileIo>;

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
                Corruption, Damage, Error, FlushedOffset, HEADER_LEN, MAX_PAYLOAD, Preallocation, ReadHint, Record,
                RecoveryMode, RecoveryReport, Result, ValidAfter,
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
