//! The records one call of a follower checked together.

use crate::codec::{HEADER_LEN, decode_prefix};
use crate::record::Record;

/// The records [`Follower::poll_many`](crate::Follower::poll_many) (or
/// [`wait_many`](crate::Follower::wait_many)) checked in one call, in order, from the
/// follower's position: an [`Iterator`] of [`Record`]s borrowed from the follower's buffer.
///
/// Every record in it was durable, and untouched by any truncation the writer had
/// published, when the call returned: the follower read the sidecar before it read them
/// and again after, and both reads spoke for the same file under the same generation. A
/// truncation published after the call returned is not seen here; the next call sees it.
///
/// Taking a record moves the follower's [`position`](crate::Follower::position) past it;
/// records not taken are read again, and checked again, by the next call.
#[derive(Debug)]
pub struct Polled<'f> {
    /// The checked records not yet taken, starting at `*pos`.
    bytes: &'f [u8],
    /// The follower's position.
    pos: &'f mut u64,
}

impl<'f> Polled<'f> {
    /// Records `bytes`, checked, starting at `*pos`.
    pub(crate) fn new(bytes: &'f [u8], pos: &'f mut u64) -> Self {
        Self { bytes, pos }
    }

    /// True if no record is left to take.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Where the records not yet taken end: the follower's position once all are taken.
    pub fn end_offset(&self) -> u64 {
        *self.pos + self.bytes.len() as u64
    }
}

impl<'f> Iterator for Polled<'f> {
    type Item = Record<'f>;

    fn next(&mut self) -> Option<Record<'f>> {
        // The bytes were verified record by record when they were read, and are the
        // follower's private copy: decoding the header again only finds the boundaries.
        let bytes: &'f [u8] = self.bytes;
        let header = decode_prefix(bytes).ok()??;
        let (record, rest) = bytes.split_at_checked(usize::try_from(header.record_len()).ok()?)?;
        let data = record.get(HEADER_LEN..)?;
        let offset = *self.pos;
        self.bytes = rest;
        *self.pos += header.record_len();
        Some(Record { offset, data, crc: header.crc, continues_batch: header.continues_batch, pin: None })
    }
}
