//! The single writer of a segment.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::{HEADER_LEN, MAX_PAYLOAD, encode_header_kind, len_bytes};
use crate::crc::crc32c;
use crate::error::{Error, Result, check_start_offset};
use crate::flushed::FlushedOffset;
use crate::io::{AlignedBuf, OpenSegment, Preallocation, SegmentIo, align_down, align_up};
use crate::reader::Reader;
use crate::recovery::{RecoveryMode, RecoveryReport, scan, walk};
use crate::sidecar::Sidecar;
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
#[derive(Debug)]
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
}

impl<B: OpenSegment> Writer<B> {
    /// Creates a new segment file of exactly `size` bytes whose records start at
    /// `start_offset` (bytes before it are the application's), and opens it for writing.
    ///
    /// Fails if the file exists. If pre-allocation fails the file is removed again.
    /// Space is reserved with `fallocate`; see [`create_with`](Self::create_with).
    pub fn create(path: impl AsRef<Path>, size: u64, start_offset: u64) -> Result<Self> {
        Self::create_with(path, size, start_offset, Preallocation::Fallocate)
    }

    /// [`create`](Self::create), choosing how the segment's space is reserved.
    /// [`Preallocation::Zeroed`] writes the whole segment once at creation so that later
    /// syncs land in written blocks (about twice as fast per `fdatasync` on ext4).
    pub fn create_with(path: impl AsRef<Path>, size: u64, start_offset: u64, prealloc: Preallocation) -> Result<Self> {
        let path = path.as_ref();
        check_start_offset(path, size, start_offset)?;
        let io = B::create(path, size, prealloc).map_err(|e| io_error(path, "creating segment", 0, e))?;
        if !size.is_multiple_of(io.alignment() as u64) {
            drop(io);
            let _ = std::fs::remove_file(path);
            return Err(invalid(path, format!("segment size {size} is not a multiple of the backend's block size")));
        }
        let mut writer = Self::start(Arc::new(io), RecoveryReport::fresh(start_offset))?;
        match Sidecar::open(path, start_offset) {
            Ok(sidecar) => writer.sidecar = Some(sidecar),
            Err(e) => {
                drop(writer);
                let _ = std::fs::remove_file(path);
                return Err(io_error(path, "creating the sidecar", 0, e));
            }
        }
        Ok(writer)
    }

    /// Opens an existing segment for writing, recovering in [`RecoveryMode::Truncate`].
    /// The segment's size is the file's length.
    ///
    /// Recovery keeps the valid records from `start_offset` on and durably zeroes every
    /// byte after them; [`report`](Self::report) says what was found and discarded. Given
    /// a file that is not a segment, that zeroes it from `start_offset` on: check your
    /// header region first, or use [`RecoveryMode::Strict`], which refuses when anything
    /// valid-looking would be lost.
    pub fn open(path: impl AsRef<Path>, start_offset: u64) -> Result<Self> {
        Self::open_with(path, start_offset, RecoveryMode::Truncate)
    }

    /// Opens an existing segment for writing, recovering in `mode`; see [`Writer::report`].
    pub fn open_with(path: impl AsRef<Path>, start_offset: u64, mode: RecoveryMode) -> Result<Self> {
        let path = path.as_ref();
        let io = B::open_writer(path).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => Error::Locked { path: path.to_path_buf(), source: e },
            _ => io_error(path, "opening segment", 0, e),
        })?;
        let mut writer = Self::recover(io, start_offset, mode)?;
        let end = writer.write_offset;
        writer.sidecar = Some(Sidecar::open(path, end).map_err(|e| io_error(path, "opening the sidecar", end, e))?);
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
    /// recovering what it holds in `mode`.
    pub fn recover(io: B, start_offset: u64, mode: RecoveryMode) -> Result<Self> {
        check_start_offset(io.path(), io.size(), start_offset)?;
        if !io.size().is_multiple_of(io.alignment() as u64) {
            return Err(invalid(
                io.path(),
                format!("segment size {} is not a multiple of the backend's block size {}", io.size(), io.alignment()),
            ));
        }
        let report = scan(&io, start_offset)?;
        if mode == RecoveryMode::Strict
            && report.valid_records_after_damage()
            && let Some(d) = report.damage
        {
            {
                return Err(Error::Damaged {
                    path: io.path().to_path_buf(),
                    offset: d.offset,
                    reason: d.reason,
                    valid_after: d.valid_after,
                });
            }
        }
        let io = Arc::new(io);
        erase(&*io, report.end, report.end + report.discarded_bytes)
            .map_err(|e| io_error(io.path(), "erasing the discarded tail", report.end, e))?;
        // Records found on disk may sit unsynced in the page cache (the last writer died
        // between write and sync): make them durable before readers may see them.
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
        let mut needed = 0u64;
        for r in records {
            if r.len() > MAX_PAYLOAD {
                return Err(Error::RecordTooLarge { path: self.path(), len: r.len(), max: MAX_PAYLOAD });
            }
            needed += (HEADER_LEN + r.len()) as u64;
        }
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
    /// returns [`Error::Truncated`]. Records already handed out by an mmap-backed reader
    /// from the cut region are slices of the mapping and read as zeros afterwards: do not
    /// hold them across a truncation. A failure poisons the writer.
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
        Ok(())
    }

    /// Writes what is buffered, makes it durable, and then publishes the new flushed
    /// offset to readers; returns it. A failure poisons the writer.
    pub fn sync(&mut self) -> Result<u64> {
        self.check_poison()?;
        self.flush_buf()?;
        if let Err(e) = self.io.sync() {
            return Err(self.poisoned("syncing", self.write_offset, e));
        }
        self.flushed.publish(self.write_offset);
        if let Some(sidecar) = &mut self.sidecar {
            // The records are durable either way; a follower just learns of them later.
            sidecar
                .advance(self.write_offset)
                .map_err(|e| io_error(self.io.path(), "publishing the durable end", self.write_offset, e))?;
        }
        Ok(self.write_offset)
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
    pub fn reader(&self) -> Reader<B> {
        Reader::live(Arc::clone(&self.io), self.flushed.clone())
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

/// Durably-to-be zeroes `[from, to)`, rounding out to whole blocks and keeping the bytes
/// before `from` in its block.
fn erase<B: SegmentIo + ?Sized>(io: &B, from: u64, to: u64) -> io::Result<()> {
    if from >= to {
        return Ok(());
    }
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
