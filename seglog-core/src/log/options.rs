//! What a log is opened with, and what it tells about itself.

use std::path::PathBuf;

use crate::io::Preallocation;
use crate::recovery::{RecoveryMode, RecoveryReport};

/// How a [`Log`](super::Log) is opened and how it makes new segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogOptions {
    pub(crate) segment_size: u64,
    pub(crate) recovery_mode: RecoveryMode,
    pub(crate) preallocation: Preallocation,
    pub(crate) check_sealed: bool,
    pub(crate) precreate: bool,
}

impl Default for LogOptions {
    /// 64 MiB segments, [`RecoveryMode::TornTail`], [`Preallocation::Fallocate`], sealed
    /// segments checked by their headers only, the next segment pre-created in the background.
    fn default() -> Self {
        Self {
            segment_size: 64 << 20,
            recovery_mode: RecoveryMode::TornTail,
            preallocation: Preallocation::Fallocate,
            check_sealed: false,
            precreate: true,
        }
    }
}

impl LogOptions {
    /// The size of each new segment file, header block included (at least 8 KiB; a
    /// multiple of the block size for direct I/O). Existing segments keep their size.
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// How the log is recovered on open, applied to the tail segment as for one segment.
    ///
    /// [`RecoveryMode::TornTail`] (the default) erases only what a crash could have left:
    /// damage in the tail past the durable end that `log.flushed` vouches for (the end the
    /// last successful [`sync`](super::Log::sync) published). It refuses, changing nothing,
    /// damage below that end and damage no write leaves ([`Error::NotTornTail`](crate::Error::NotTornTail)).
    /// Sealed segments need no such rule: each was synced before its successor existed, so
    /// damage there is never a torn tail; they are walked (and refused if damaged) only
    /// with [`check_sealed`](Self::check_sealed). [`RecoveryMode::Strict`] also refuses when
    /// valid records follow damage anywhere, in the tail or in any sealed segment (which it
    /// walks); `Truncate` keeps the tail's valid prefix whatever follows it.
    pub fn recovery_mode(mut self, mode: RecoveryMode) -> Self {
        self.recovery_mode = mode;
        self
    }

    /// How new segments reserve their space.
    pub fn preallocation(mut self, prealloc: Preallocation) -> Self {
        self.preallocation = prealloc;
        self
    }

    /// Also walk every sealed segment on open, failing if one is damaged: O(bytes in the
    /// log) instead of O(segments). Always on in [`RecoveryMode::Strict`]. Sealed segments were synced before their successor
    /// existed, so only media corruption can damage them; [`Log::verify`](super::Log::verify)
    /// checks them without opening the log.
    pub fn check_sealed(mut self, on: bool) -> Self {
        self.check_sealed = on;
        self
    }

    /// Create the next segment's file in a background thread while the current one fills,
    /// so a roll only writes a header block, renames and syncs (on by default). Off, a roll
    /// also creates and pre-allocates the file (with [`Preallocation::Zeroed`], writes it whole).
    pub fn precreate(mut self, on: bool) -> Self {
        self.precreate = on;
        self
    }

    /// The size given to new segments.
    pub fn get_segment_size(&self) -> u64 {
        self.segment_size
    }
}

/// One segment of a log, as [`Log::segments`](super::Log::segments) lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The segment file.
    pub path: PathBuf,
    /// Its unique sequence number (in its name).
    pub seq: u64,
    /// The position of its first record.
    pub first_position: u64,
    /// The position after its last durable record.
    pub end_position: u64,
    /// Durable records in it.
    pub records: u64,
    /// True once the log has moved on to a later segment: it never changes again.
    pub sealed: bool,
}

/// What opening a log found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogReport {
    /// True if the log was created by this open.
    pub created: bool,
    /// The segments of the chain, start to tail.
    pub segments: Vec<SegmentInfo>,
    /// The tail segment's recovery, as for one segment (offsets are file offsets).
    pub tail: RecoveryReport,
    /// Files deleted: temporary files, purge leftovers and truncation orphans.
    pub removed: Vec<PathBuf>,
    /// Files whose names the log does not use; left alone.
    pub ignored: Vec<PathBuf>,
}

impl LogReport {
    /// True when the tail's recovery discarded records that valid ones followed (only
    /// possible in [`RecoveryMode::Truncate`]).
    pub fn valid_records_after_damage(&self) -> bool {
        self.tail.valid_records_after_damage()
    }
}
