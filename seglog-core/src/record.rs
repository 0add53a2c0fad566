//! A record handed out by a reader, and the pin it holds on mapped bytes.

use std::ops::Deref;

use crate::codec::HEADER_LEN;
use crate::flushed::PinSlot;

/// A record's payload, borrowed from the mapping or from the reader's buffer.
///
/// Not `Copy` or `Clone`: a record borrowed from a mapping pins its bytes, and a
/// truncation that would change them waits until the record is dropped (the writer's
/// [`truncate`](crate::Writer::truncate)). Its bytes are reachable only through the record
/// ([`data`](Self::data), `Deref`), so no slice outlives the pin. Copy the bytes out
/// (`to_vec`) to keep them longer.
///
/// ```compile_fail
/// use seglog_core::{ReadHint, Reader, SegmentIo};
///
/// // The payload cannot outlive the record, whose drop releases the pin.
/// fn keep<B: SegmentIo>(r: &mut Reader<B>) -> &[u8] {
///     let record = r.read_record(0, ReadHint::Random).unwrap();
///     record.data()
/// }
/// ```
#[derive(Debug)]
pub struct Record<'a> {
    pub(crate) offset: u64,
    pub(crate) data: &'a [u8],
    pub(crate) crc: u32,
    pub(crate) continues_batch: bool,
    /// Released on drop; `None` unless the bytes are the mapping's.
    pub(crate) pin: Option<&'a PinSlot>,
}

impl Record<'_> {
    /// Where the record starts (its header).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the next record starts.
    pub fn next_offset(&self) -> u64 {
        self.offset + (HEADER_LEN + self.data.len()) as u64
    }

    /// The payload, borrowed for as long as the record lives.
    pub fn data(&self) -> &[u8] {
        self.data
    }

    /// The stored CRC32C (verified: it matches the record).
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// True for a record of an atomic batch that more records of the batch follow.
    pub fn continues_batch(&self) -> bool {
        self.continues_batch
    }
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        if let Some(pin) = self.pin {
            pin.release();
        }
    }
}

impl PartialEq for Record<'_> {
    fn eq(&self, other: &Self) -> bool {
        (self.offset, self.data, self.crc, self.continues_batch)
            == (other.offset, other.data, other.crc, other.continues_batch)
    }
}

impl Eq for Record<'_> {}

impl Deref for Record<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.data
    }
}

impl AsRef<[u8]> for Record<'_> {
    fn as_ref(&self) -> &[u8] {
        self.data
    }
}
