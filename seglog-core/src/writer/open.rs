//! Creating a segment and opening (recovering) one for writing.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::truncate::erase;
use super::{WRITE_BUF, Writer, invalid, io_error};
use crate::ahead::ZeroAhead;
use crate::error::{Error, Result, check_start_offset, open_error};
use crate::flushed::FlushedOffset;
use crate::io::{AlignedBuf, OpenSegment, Preallocation, SegmentIo, align_down};
use crate::recovery::{RecoveryMode, RecoveryReport, judge, scan};
use crate::sidecar::{Found, Sidecar, sidecar_path};

impl<B: OpenSegment> Writer<B> {
    /// Creates a new segment file of exactly `size` bytes whose records start at
    /// `start_offset` (bytes before it are the application's), and opens it for writing.
    ///
    /// Fails if the file exists. If pre-allocation fails the file is removed again.
    /// Space is reserved with `fallocate`; see [`create_with`](Self::create_with).
    ///
    /// Also creates (or takes over) the sidecar `<path>.flushed`, where the writer
    /// publishes the durable end for [`Follower`](crate::Follower)s in other processes
    /// (docs/FORMAT.md, section 3.1). Recovery never needs it, but it belongs to the
    /// segment: move, copy and delete it with the segment (the `seglog` tool's `mv`, `cp`
    /// and `rm` do).
    pub fn create(path: impl AsRef<Path>, size: u64, start_offset: u64) -> Result<Self> {
        Self::create_with(path, size, start_offset, Preallocation::Fallocate)
    }

    /// [`create`](Self::create), choosing how the segment's space is reserved.
    /// [`Preallocation::Zeroed`] writes the whole segment once at creation so that every
    /// later sync lands in written blocks; the default gets most of that without the
    /// up-front write, by zero-filling ahead while syncs are frequent (see [`Preallocation`]).
    pub fn create_with(path: impl AsRef<Path>, size: u64, start_offset: u64, prealloc: Preallocation) -> Result<Self> {
        let path = path.as_ref();
        check_start_offset(path, size, start_offset)?;
        let io = B::create(path, size, prealloc).map_err(|e| open_error(path, "creating segment", e))?;
        // From here the file is ours: any failure removes it, so a retry does not meet
        // `AlreadyExists`.
        let id = crate::fs::path_id(path).ok();
        let made = Self::setup_created(io, path, size, start_offset, prealloc);
        if made.is_err() {
            crate::fs::remove_created(path, id);
            // A sidecar we made (or one a deleted segment left, which speaks for nothing).
            let _ = std::fs::remove_file(sidecar_path(path));
        }
        made
    }

    fn setup_created(io: B, path: &Path, size: u64, start_offset: u64, prealloc: Preallocation) -> Result<Self> {
        if !size.is_multiple_of(io.alignment() as u64) {
            return Err(invalid(path, format!("segment size {size} is not a multiple of the backend's block size")));
        }
        let mut writer = Self::start(Arc::new(io), RecoveryReport::fresh(start_offset))?;
        if prealloc == Preallocation::Zeroed {
            writer.ahead.all_written(size);
        }
        // Durable before `create` returns, so no power loss leaves a deleted segment's
        // sidecar vouching for this one.
        let sidecar = Sidecar::create(path, start_offset)
            .map_err(|e| open_error(&sidecar_path(path), "creating the sidecar", e))?;
        writer.sidecar = Some(sidecar);
        Ok(writer)
    }

    /// Opens an existing segment for writing, recovering in [`RecoveryMode::TornTail`].
    /// The segment's size is the file's length.
    ///
    /// Recovery keeps the valid records from `start_offset` on and durably zeroes what a
    /// crash left after them; [`report`](Self::report) says what was found and discarded.
    /// It refuses, changing nothing, what a crash alone cannot leave: damage below the
    /// durable end the segment's sidecar vouches for, or bytes that no write of a record
    /// leaves (a file that is not a segment, or a wrong start offset). See [`RecoveryMode`].
    ///
    /// Like [`create`](Self::create), keeps the segment's sidecar `<path>.flushed` for
    /// followers in other processes, creating it if it is missing.
    pub fn open(path: impl AsRef<Path>, start_offset: u64) -> Result<Self> {
        Self::open_with(path, start_offset, RecoveryMode::TornTail)
    }

    /// Opens an existing segment for writing, recovering in `mode`; see [`Writer::report`].
    pub fn open_with(path: impl AsRef<Path>, start_offset: u64, mode: RecoveryMode) -> Result<Self> {
        let path = path.as_ref();
        let io = B::open_writer(path).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => Error::Locked { path: path.to_path_buf(), source: e },
            _ => open_error(path, "opening segment", e),
        })?;
        // Read once: what it vouches for steers recovery, and the writer then publishes in it.
        let found = Found::load(path, true).map_err(|e| io_error(path, "reading the sidecar", 0, e))?;
        let durable_end = found.as_ref().and_then(|f| f.vouched_end(io.size()));
        let mut writer = Self::recover_with(io, start_offset, mode, durable_end)?;
        let end = writer.write_offset;
        let sidecar =
            found.ok_or_else(|| io::ErrorKind::NotFound.into()).and_then(|f| Sidecar::open_found(f, path, end));
        writer.sidecar =
            Some(sidecar.map_err(|e| open_error(&crate::sidecar::sidecar_path(path), "opening the sidecar", e))?);
        Ok(writer)
    }
}

impl<B: SegmentIo> Writer<B> {
    /// Opens a writer over a backend handle on a segment that is all zero from
    /// `start_offset` on, as [`OpenSegment::create`] leaves it, without scanning it (a
    /// [`Log`](crate::Log) rolling to a pre-created segment). Bytes that are not zero there
    /// break recovery's rules: use [`recover`](Self::recover) for anything else.
    pub fn create_on(io: B, start_offset: u64) -> Result<Self> {
        check_start_offset(io.path(), io.size(), start_offset)?;
        if !io.size().is_multiple_of(io.alignment() as u64) {
            return Err(invalid(
                io.path(),
                format!("segment size {} is not a multiple of the backend's block size", io.size()),
            ));
        }
        Self::start(Arc::new(io), RecoveryReport::fresh(start_offset))
    }

    /// Opens a writer over an existing backend handle (an in-memory segment, say),
    /// recovering what it holds in `mode`, with no durable end vouched for: see
    /// [`recover_with`](Self::recover_with).
    pub fn recover(io: B, start_offset: u64, mode: RecoveryMode) -> Result<Self> {
        Self::recover_with(io, start_offset, mode, None)
    }

    /// Opens a writer over an existing backend handle, recovering what it holds in `mode`.
    /// `durable_end`, if known, is an offset below which every record was made durable
    /// (what the segment's sidecar vouches for): damage below it is refused, changing
    /// nothing, except in [`RecoveryMode::Truncate`].
    pub fn recover_with(io: B, start_offset: u64, mode: RecoveryMode, durable_end: Option<u64>) -> Result<Self> {
        check_start_offset(io.path(), io.size(), start_offset)?;
        if !io.size().is_multiple_of(io.alignment() as u64) {
            return Err(invalid(
                io.path(),
                format!("segment size {} is not a multiple of the backend's block size {}", io.size(), io.alignment()),
            ));
        }
        let report = scan(&io, start_offset)?;
        judge(&io, &report, mode, durable_end)?;
        let io = Arc::new(io);
        erase(&*io, report.end, report.end + report.discarded_bytes)
            .map_err(|e| io_error(io.path(), "erasing the discarded tail", report.end, e))?;
        // Records found on disk may sit unsynced in the page cache (the last writer died
        // between write and sync): make them durable before readers may see them. Kept even
        // when the sidecar vouches for them and nothing was erased: an earlier recovery's
        // erase may not be durable yet (docs/FORMAT.md §4, phase 3, says why that matters).
        io.sync().map_err(|e| io_error(io.path(), "syncing recovered segment", report.end, e))?;
        Self::start(io, report)
    }

    fn start(io: Arc<B>, report: RecoveryReport) -> Result<Self> {
        let align = io.alignment();
        let end = report.end;
        let mut buf = AlignedBuf::new();
        buf.region(WRITE_BUF.max(align), align);
        let buf_off = align_down(end, align);
        let buf_len = (end - buf_off) as usize;
        if buf_len > 0 {
            // The partial last block is rewritten whole on each flush, so start from its bytes.
            let block = buf.get_mut().get_mut(..align).unwrap_or_default();
            io.read_at(buf_off, block).map_err(|e| io_error(io.path(), "reading the last block", buf_off, e))?;
        }
        Ok(Self {
            size: io.size(),
            start_offset: report.start_offset,
            io,
            align,
            write_offset: end,
            buf,
            buf_off,
            buf_len,
            flushed: FlushedOffset::new(report.start_offset, end),
            poison: None,
            report,
            sidecar: None,
            ahead: ZeroAhead::new(end),
            sidecar_error: None,
        })
    }
}
