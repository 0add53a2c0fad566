//! Appending: framing records into the buffer, handing it to the backend, syncing.

use super::{Writer, io_error};
use crate::codec::{HEADER_LEN, MAX_PAYLOAD, batch_len, encode_header_kind, len_bytes};
use crate::crc::crc32c;
use crate::error::{Error, Result};
use crate::io::{AlignedBuf, SegmentIo, align_down, align_up};

impl<B: SegmentIo> Writer<B> {
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
    /// already written; see [`Preallocation`](crate::Preallocation).
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
    pub(super) fn publish_to_sidecar(&mut self) {
        if let Some(sidecar) = &mut self.sidecar {
            self.sidecar_error = sidecar
                .advance(self.write_offset)
                .err()
                .map(|e| io_error(self.io.path(), "publishing the durable end in the sidecar", self.write_offset, e));
        }
    }

    /// Why the last attempt to publish the durable end in the sidecar failed, if it did;
    /// cleared by the next one that succeeds. Followers in other processes see a stale end
    /// meanwhile; the records themselves are durable (see [`sync`](Self::sync)).
    pub fn sidecar_error(&self) -> Option<&Error> {
        self.sidecar_error.as_ref()
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
    pub(super) fn flush_buf(&mut self) -> Result<()> {
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
