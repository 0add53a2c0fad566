//! The single writer of a segment.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ahead::ZeroAhead;
use crate::codec::{HEADER_LEN, MAX_PAYLOAD, batch_len, encode_header_kind, len_bytes};
use crate::crc::crc32c;
use crate::error::{Error, Result, check_start_offset, open_error};
use crate::flushed::FlushedOffset;
use crate::io::{AlignedBuf, OpenSegment, Preallocation, SegmentIo, align_down, align_up};
use crate::reader::Reader;
use crate::recovery::{RecoveryMode, RecoveryReport, data_ranges, judge, scan, walk};
use crate::sidecar::{Found, Sidecar, sidecar_path};
use crate::window::Window;

/// Bytes buffered before the writer hands them to the backend: large enough that a
/// write call runs near page-cache speed (256 KiB calls measured ~10 GB/s here).
const WRITE_BUF: usize = 256 << 10;

/// Appends records to one segment and makes them durable.
///
/// There is one writer per segment, enforced by an exclusive lock on file backends.
/// [`append`](Self::append) buffers; [`sync`](Self::sync) writes, makes durable and then
/// publishes the new [`FlushedOffset`] to readers. If a write or sync fails the writer is
/// poisoned: every later call fails with [`Error::Poisoned`], because after a failed
/// `fsync` the kernel may have dropped the data while a retry reports success. Reopen
/// the segment to recover.
///
/// Dropping a writer hands buffered records to the backend but does not sync them.
pub struct Writer<B: SegmentIo> {
    io: Arc<B>,
    start_offset: u64,
    size: u64,
    align: usize,
    /// End of the appended records, buffered ones included.
    write_offset: u64,
    buf: AlignedBuf,
    /// File offset of `buf[0]`, a multiple of `align`.
    buf_off: u64,
    /// Bytes of `buf` in use.
    buf_len: usize,
    flushed: FlushedOffset,
    poison: Option<(u64, String)>,
    report: RecoveryReport,
    /// Where followers in other processes learn the durable end (path-opened writers only).
    sidecar: Option<Sidecar>,
    /// Written zeros ahead of the write position, so frequent syncs land in written blocks.
    ahead: ZeroAhead,
    /// The last failure to write the sidecar, if the write after it has not succeeded.
    sidecar_error: Option<Error>,
}

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

    /// Appends one record and returns its offset and the bytes it occupies on disk
    /// (8 + `data.len()`). It is buffered: durable and visible to readers after [`sync`](Self::sync).
    ///
    /// A record that does not fit, or is longer than [`MAX_PAYLOAD`], is refused with
    /// nothing written and the writer still usable.
    pub fn append(&mut self, data: &[u8]) -> Result<(u64, usize)> {
        // A record on its own is a batch of one: its kind is that of a batch's last record.
        self.append_batch(&[data])
    }

    /// Appends `records` as one atomic batch: after any crash, recovery keeps all of them or
    /// none. Returns the first record's offset and the bytes the batch occupies on disk.
    ///
    /// A batch that does not fit, or holds a record longer than [`MAX_PAYLOAD`], is refused
    /// before anything is written, and the writer stays usable. Readers see a batch once it
    /// is synced, all at once. An empty batch writes nothing.
    pub fn append_batch(&mut self, records: &[&[u8]]) -> Result<(u64, usize)> {
        self.check_poison()?;
        let needed =
            batch_len(records).map_err(|len| Error::RecordTooLarge { path: self.path(), len, max: MAX_PAYLOAD })?;
        if needed > self.remaining_bytes() {
            return Err(Error::SegmentFull {
                path: self.path(),
                offset: self.write_offset,
                needed,
                available: self.remaining_bytes(),
            });
        }
        let offset = self.write_offset;
        for (i, r) in records.iter().enumerate() {
            self.put_record(r, i + 1 < records.len())?;
        }
        self.write_offset += needed;
        Ok((offset, needed as usize))
    }

    /// Cuts the segment back to `offset`, which must be the start offset, the write offset,
    /// or the end of a record (not inside an atomic batch): the next append lands exactly
    /// there.
    ///
    /// Readers stop seeing anything at or past `offset` before any byte changes; then the
    /// cut bytes are durably zeroed, so no later append can bring them back. Readers'
    /// windows over the cut are dropped; an [`Iter`](crate::Iter) positioned past the cut
    /// returns [`Error::Truncated`]. A failure poisons the writer.
    ///
    /// On a backend that maps the segment, records handed out by [`reader`](Self::reader)s
    /// are slices of the mapping: the truncation waits until every such record in the cut
    /// region is dropped before it changes a byte. A thread that holds one and truncates
    /// below it waits for itself forever: drop records (or copy them) before truncating.
    pub fn truncate(&mut self, offset: u64) -> Result<()> {
        self.check_poison()?;
        if offset < self.start_offset || offset > self.write_offset {
            return Err(invalid(
                self.io.path(),
                format!(
                    "cannot truncate to offset {offset}: records lie in [{}, {})",
                    self.start_offset, self.write_offset
                ),
            ));
        }
        if offset == self.write_offset {
            return Ok(());
        }
        self.flush_buf()?;
        let mut w = Window::default();
        let walked = walk(&*self.io, &mut w, self.start_offset, offset)?;
        if walked.end != offset {
            return Err(invalid(
                self.io.path(),
                format!(
                    "cannot truncate to offset {offset}: not the end of a record or batch (the nearest before it is {})",
                    walked.end
                ),
            ));
        }
        self.flushed.cut(offset);
        // Zero-copy records in the cut must be dropped before their bytes change.
        self.flushed.wait_for_pins(align_down(offset, self.align));
        // Durably, before any byte changes, and claiming no record that is not yet durable.
        if let Some(sidecar) = &mut self.sidecar
            && let Err(e) = sidecar.cut(offset)
        {
            // Followers could not be told to stop reading what we would erase.
            return Err(self.poisoned("announcing a truncation", offset, e));
        }
        let old_end = self.write_offset;
        if let Err(e) = erase(&*self.io, offset, old_end) {
            return Err(self.poisoned("erasing truncated records", offset, e));
        }
        if let Err(e) = self.io.sync() {
            return Err(self.poisoned("syncing a truncation", offset, e));
        }
        self.write_offset = offset;
        self.buf_off = align_down(offset, self.align);
        self.buf_len = (offset - self.buf_off) as usize;
        if self.buf_len > 0 {
            let block = self.buf.get_mut().get_mut(..self.align).unwrap_or_default();
            if let Err(e) = self.io.read_at(self.buf_off, block) {
                return Err(self.poisoned("reading the last block", self.buf_off, e));
            }
        }
        // Everything below the cut is durable now, synced or not before.
        self.flushed.publish(offset);
        self.publish_to_sidecar();
        Ok(())
    }

    /// Writes what is buffered, makes it durable, and then publishes the new flushed
    /// offset to readers; returns it. A failure to write or sync poisons the writer.
    ///
    /// `Ok` means the records are durable, and nothing after that can make it an error: a
    /// writer opened by path then also writes the new end to the sidecar for followers in
    /// other processes, and if that write fails, `sync` still returns `Ok` (retrying would
    /// append the records twice). Followers then see a stale end until a later sync
    /// publishes again, and [`sidecar_error`](Self::sidecar_error) says why.
    ///
    /// When syncs are frequent, a sync also writes zeros over a bounded region (64 KiB to
    /// 1 MiB) past the write position, so that the blocks the next syncs land in are
    /// already written; see [`Preallocation`].
    pub fn sync(&mut self) -> Result<u64> {
        self.check_poison()?;
        self.flush_buf()?;
        self.ahead.before_sync(&*self.io, self.write_offset);
        if let Err(e) = self.io.sync() {
            return Err(self.poisoned("syncing", self.write_offset, e));
        }
        self.flushed.publish(self.write_offset);
        self.publish_to_sidecar();
        Ok(self.write_offset)
    }

    /// Writes the durable end to the sidecar, keeping a failure for
    /// [`sidecar_error`](Self::sidecar_error): the sidecar may lag, never lead.
    fn publish_to_sidecar(&mut self) {
        if let Some(sidecar) = &mut self.sidecar {
            self.sidecar_error = sidecar
                .advance(self.write_offset)
                .err()
                .map(|e| io_error(self.io.path(), "publishing the durable end in the sidecar", self.write_offset, e));
        }
    }

    #[cfg(test)]
    pub(crate) fn sidecar_mut(&mut self) -> Option<&mut Sidecar> {
        self.sidecar.as_mut()
    }

    /// Why the last attempt to publish the durable end in the sidecar failed, if it did;
    /// cleared by the next one that succeeds. Followers in other processes see a stale end
    /// meanwhile; the records themselves are durable (see [`sync`](Self::sync)).
    pub fn sidecar_error(&self) -> Option<&Error> {
        self.sidecar_error.as_ref()
    }

    /// Writes `header` at offset 0, into the region before the start offset that belongs
    /// to the application, and makes it durable. Records are not touched.
    pub fn write_segment_header(&mut self, header: &[u8]) -> Result<()> {
        self.check_poison()?;
        let len = header.len() as u64;
        if len > self.start_offset {
            return Err(invalid(
                self.io.path(),
                format!("a segment header of {len} bytes does not fit before the start offset {}", self.start_offset),
            ));
        }
        // Direct I/O writes whole blocks: read the blocks the header touches, patch, write.
        let span = align_up(len, self.align).min(self.size) as usize;
        let mut block = AlignedBuf::new();
        let region = block.region(span, self.align);
        if span as u64 != len
            && let Err(e) = self.io.read_at(0, region)
        {
            return Err(self.poisoned("reading the segment header", 0, e));
        }
        region.get_mut(..header.len()).unwrap_or_default().copy_from_slice(header);
        // The buffered last block may share a block with the header; keep its copy current.
        if self.buf_off < len {
            let from = self.buf_off as usize;
            let patch = header.get(from..).unwrap_or_default();
            self.buf.get_mut().get_mut(..patch.len()).unwrap_or_default().copy_from_slice(patch);
        }
        if let Err(e) = self.io.write_at(0, block.get()) {
            return Err(self.poisoned("writing the segment header", 0, e));
        }
        if let Err(e) = self.io.sync() {
            return Err(self.poisoned("syncing the segment header", 0, e));
        }
        Ok(())
    }

    /// A reader of this segment that shares the writer's backend handle and flushed offset.
    /// On a backend that maps the segment its records are zero-copy slices of the mapping;
    /// see [`truncate`](Self::truncate).
    pub fn reader(&self) -> Reader<B> {
        Reader::of_writer(Arc::clone(&self.io), self.flushed.clone())
    }

    /// The flushed offset, to hand to readers in any thread.
    pub fn flushed_offset(&self) -> FlushedOffset {
        self.flushed.clone()
    }

    /// Where the next record will go: the end of the appended records, synced or not.
    pub fn write_offset(&self) -> u64 {
        self.write_offset
    }

    /// Bytes left in the segment; a record needs 8 bytes of header plus its payload.
    pub fn remaining_bytes(&self) -> u64 {
        self.size - self.write_offset
    }

    /// Where records start; bytes before it are the application's.
    pub fn start_offset(&self) -> u64 {
        self.start_offset
    }

    /// The segment's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// What recovery found when this writer was opened (a clean, empty report after `create`).
    pub fn report(&self) -> &RecoveryReport {
        &self.report
    }

    /// True once a write or sync has failed; see [`Error::Poisoned`].
    pub fn is_poisoned(&self) -> bool {
        self.poison.is_some()
    }

    /// The backend handle.
    pub fn io(&self) -> &B {
        &self.io
    }

    fn path(&self) -> PathBuf {
        self.io.path().to_path_buf()
    }

    fn check_poison(&self) -> Result<()> {
        match &self.poison {
            None => Ok(()),
            Some((offset, cause)) => Err(Error::Poisoned { path: self.path(), offset: *offset, cause: cause.clone() }),
        }
    }

    fn poisoned(&mut self, op: &'static str, offset: u64, e: io::Error) -> Error {
        self.poison = Some((offset, format!("{op}: {e}")));
        io_error(self.io.path(), op, offset, e)
    }

    /// Frames `data` into the buffer.
    fn put_record(&mut self, data: &[u8], continues_batch: bool) -> Result<()> {
        let at = self.buf_len;
        let end = at + HEADER_LEN + data.len();
        let Some(slot) = self.buf.get_mut().get_mut(at..end) else {
            return self.put_record_in_pieces(data, continues_batch);
        };
        // The checksum covers the length bytes and then the payload. Put the length bytes
        // where the checksum will go, just before the payload, and checksum both in one
        // contiguous pass; then write the header over them.
        let word = len_bytes(data.len(), continues_batch);
        let Some((header, payload)) = slot.split_first_chunk_mut::<HEADER_LEN>() else {
            return self.put_record_in_pieces(data, continues_batch);
        };
        payload.copy_from_slice(data);
        header[4..].copy_from_slice(&word);
        let crc = crc32c(slot.get(4..).unwrap_or_default());
        if let Some(header) = slot.first_chunk_mut::<HEADER_LEN>() {
            header[..4].copy_from_slice(&word);
            header[4..].copy_from_slice(&crc.to_le_bytes());
        }
        self.buf_len = end;
        if self.buf_len == self.buf.get().len() {
            self.flush_buf()?;
        }
        Ok(())
    }

    /// Frames a record that does not fit in what is left of the buffer.
    fn put_record_in_pieces(&mut self, data: &[u8], continues_batch: bool) -> Result<()> {
        self.put(&encode_header_kind(data, continues_batch))?;
        self.put(data)
    }

    /// Copies `bytes` into the buffer, handing full buffers to the backend.
    fn put(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let cap = self.buf.get().len();
            if self.align == 1 && bytes.len() >= cap {
                // A large payload goes straight to the backend, saving a copy.
                self.flush_buf()?;
                if let Err(e) = self.io.write_at(self.buf_off, bytes) {
                    return Err(self.poisoned("writing", self.buf_off, e));
                }
                self.buf_off += bytes.len() as u64;
                return Ok(());
            }
            let n = bytes.len().min(cap - self.buf_len);
            let (now, rest) = bytes.split_at(n);
            self.buf.get_mut().get_mut(self.buf_len..self.buf_len + n).unwrap_or_default().copy_from_slice(now);
            self.buf_len += n;
            bytes = rest;
            if self.buf_len == cap {
                self.flush_buf()?;
            }
        }
        Ok(())
    }

    /// Hands the buffer to the backend. With direct I/O the write is padded with zeros to
    /// whole blocks and the partial last block stays buffered, to be rewritten next time.
    fn flush_buf(&mut self) -> Result<()> {
        if self.buf_len == 0 {
            return Ok(());
        }
        if self.buf_off < self.start_offset {
            self.reload_application_bytes()?;
        }
        let padded = align_up(self.buf_len as u64, self.align) as usize;
        let buf = self.buf.get_mut();
        buf.get_mut(self.buf_len..padded).unwrap_or_default().fill(0);
        if let Err(e) = self.io.write_at(self.buf_off, buf.get(..padded).unwrap_or_default()) {
            return Err(self.poisoned("writing", self.buf_off, e));
        }
        let whole = align_down(self.buf_len as u64, self.align) as usize;
        buf.copy_within(whole..self.buf_len, 0);
        self.buf_off += whole as u64;
        self.buf_len -= whole;
        Ok(())
    }
}

impl<B: SegmentIo> Writer<B> {
    /// Copies the application's bytes before the start offset that share a block with the
    /// buffered last block from disk into the buffer, so the whole-block rewrite of direct
    /// I/O keeps what the application wrote through [`file`](Writer::file) since the block
    /// was read: those bytes are the application's, never the writer's.
    fn reload_application_bytes(&mut self) -> Result<()> {
        let theirs = ((self.start_offset - self.buf_off) as usize).min(self.buf_len);
        let mut block = AlignedBuf::new();
        let region = block.region_to_overwrite(align_up(theirs as u64, self.align) as usize, self.align);
        if let Err(e) = self.io.read_at(self.buf_off, region) {
            return Err(self.poisoned("reading the segment header", self.buf_off, e));
        }
        let from = region.get(..theirs).unwrap_or_default();
        self.buf.get_mut().get_mut(..theirs).unwrap_or_default().copy_from_slice(from);
        Ok(())
    }
}

impl<B: SegmentIo + AsRef<std::fs::File>> Writer<B> {
    /// The segment's open file, for the application's own positioned I/O on the region
    /// before the start offset (`writer.file().write_all_at(b"MAGIC", 0)`). Writing at or
    /// past the start offset corrupts the segment.
    pub fn file(&self) -> &std::fs::File {
        (*self.io).as_ref()
    }
}

impl<B: SegmentIo> Drop for Writer<B> {
    fn drop(&mut self) {
        if self.poison.is_none() {
            // Best effort: the records were never acknowledged, so an error here loses nothing promised.
            let _ = self.flush_buf();
        }
    }
}

/// Durably-to-be zeroes `[from, to)`, writing only the ranges the backend says may hold
/// data: the rest already reads as zeros, and writing zeros there would turn holes and
/// unwritten extents into written blocks that every later open must read. (Not
/// `fallocate(FALLOC_FL_ZERO_RANGE)`: docs/FORMAT.md section 4 says why.)
fn erase<B: SegmentIo + ?Sized>(io: &B, from: u64, to: u64) -> io::Result<()> {
    if from >= to {
        return Ok(());
    }
    for range in data_ranges(io, from, to)? {
        erase_range(io, range.start, range.end)?;
    }
    Ok(())
}

/// Durably-to-be zeroes `[from, to)`, rounding out to whole blocks and keeping the bytes
/// before `from` in its block.
fn erase_range<B: SegmentIo + ?Sized>(io: &B, from: u64, to: u64) -> io::Result<()> {
    let align = io.alignment();
    let mut at = align_down(from, align);
    let hi = align_up(to, align).min(io.size());
    let mut buf = AlignedBuf::new();
    while at < hi {
        let n = (hi - at).min(1 << 20) as usize;
        let region = buf.region(n, align);
        if at < from {
            let block = region.get_mut(..align).unwrap_or_default();
            io.read_at(at, block)?;
            block.get_mut((from - at) as usize..).unwrap_or_default().fill(0);
        }
        io.write_at(at, region)?;
        at += n as u64;
    }
    Ok(())
}

fn invalid(path: &Path, what: String) -> Error {
    Error::InvalidArgument { path: path.to_path_buf(), what }
}

pub(crate) fn io_error(path: &Path, op: &'static str, offset: u64, source: io::Error) -> Error {
    Error::Io { path: path.to_path_buf(), op, offset, source }
}
