//! Record framing, format v1: an 8-byte header (length word, CRC32C) and the payload.
//!
//! Every function here takes bytes that may come from a damaged or hostile file,
//! so none of them indexes or unwraps: they return [`Corruption`] instead.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use crate::crc::{CrcCache, record_crc};

/// Bytes in a record header: the length word, then the checksum.
pub const HEADER_LEN: usize = 8;

/// The largest payload a record can carry: 2^30 − 1 bytes (bits 0..=29 of the length word).
pub const MAX_PAYLOAD: usize = (1 << 30) - 1;

const LEN_MASK: u32 = (1 << 30) - 1;
const KIND_SHIFT: u32 = 30;

/// A record that ends its batch: every standalone record, and the last of a batch.
const KIND_DATA: u8 = 0;
/// A record of an atomic batch that more records of the same batch follow.
const KIND_BATCH_CONTINUES: u8 = 1;
// Kinds 2 and 3 remain reserved.

/// A decoded, not yet checksum-verified record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The 4 length bytes exactly as stored; the checksum covers them.
    pub len_bytes: [u8; 4],
    /// Payload length in bytes.
    pub payload_len: u32,
    /// The stored CRC32C.
    pub crc: u32,
    /// True for a record of an atomic batch that more records of that batch follow
    /// (kind 1); recovery keeps it only if the batch's last record (kind 0) is valid too.
    pub continues_batch: bool,
}

impl Header {
    /// Bytes the whole record occupies on disk: header plus payload.
    #[inline]
    pub fn record_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.payload_len)
    }

    /// Checks `payload` (which must be this header's payload) against the stored checksum.
    pub fn verify(&self, payload: &[u8]) -> Result<(), Corruption> {
        self.check_crc(record_crc(self.len_bytes, payload))
    }

    /// [`verify`](Self::verify) through a [`CrcCache`], for readers of many records.
    #[inline]
    pub fn verify_cached(&self, payload: &[u8], cache: &mut CrcCache) -> Result<(), Corruption> {
        self.check_crc(cache.record_crc(self.len_bytes, payload))
    }

    /// Compares a computed record checksum with the stored one.
    #[inline]
    pub fn check_crc(&self, computed: u32) -> Result<(), Corruption> {
        if computed == self.crc { Ok(()) } else { Err(Corruption::ChecksumMismatch { stored: self.crc, computed }) }
    }
}

/// Why the bytes at an offset are not a valid record.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// The kind bits hold a value format v1 reserves.
    #[error("reserved record kind {kind}")]
    ReservedKind {
        /// The kind found (1 to 3).
        kind: u8,
    },
    /// The length claims more bytes than the segment (or the visible part of it) holds.
    #[error("record of {len} bytes does not fit in the {available} bytes available")]
    LengthOutOfBounds {
        /// Bytes the record would occupy, header included.
        len: u64,
        /// Bytes there are.
        available: u64,
    },
    /// The stored checksum does not match the record.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// Checksum in the header.
        stored: u32,
        /// CRC32C of the length bytes and payload as read.
        computed: u32,
    },
    /// An all-zero header where a record must be (below the end of the valid records).
    #[error("all-zero header where a record was expected")]
    ZeroHeader,
    /// Fewer than 8 bytes remain where a record header must be.
    #[error("fewer than 8 bytes where a record header was expected")]
    ShortHeader,
    /// An atomic batch whose last record is missing or damaged: all of it is discarded.
    #[error("atomic batch without its last record")]
    IncompleteBatch,
}

/// Encodes the header of a standalone record (or a batch's last); the caller has checked
/// `payload.len() <= MAX_PAYLOAD`.
pub fn encode_header(payload: &[u8]) -> [u8; HEADER_LEN] {
    encode_header_kind(payload, false)
}

/// The 4 length bytes of a record of `len` payload bytes.
pub fn len_bytes(len: usize, continues_batch: bool) -> [u8; 4] {
    debug_assert!(len <= MAX_PAYLOAD);
    let kind = if continues_batch { KIND_BATCH_CONTINUES } else { KIND_DATA };
    ((len as u32 & LEN_MASK) | (u32::from(kind) << KIND_SHIFT)).to_le_bytes()
}

/// Encodes a header; `continues_batch` marks a batch record that more records follow.
pub fn encode_header_kind(payload: &[u8], continues_batch: bool) -> [u8; HEADER_LEN] {
    let len_bytes = len_bytes(payload.len(), continues_batch);
    let crc = record_crc(len_bytes, payload).to_le_bytes();
    let [a, b, c, d] = len_bytes;
    let [e, f, g, h] = crc;
    [a, b, c, d, e, f, g, h]
}

/// Decodes a header. `Ok(None)` is the all-zero header that ends the records.
#[inline]
pub fn decode_header(bytes: [u8; HEADER_LEN]) -> Result<Option<Header>, Corruption> {
    if bytes == [0; HEADER_LEN] {
        return Ok(None);
    }
    let [a, b, c, d, e, f, g, h] = bytes;
    let len_bytes = [a, b, c, d];
    let word = u32::from_le_bytes(len_bytes);
    let kind = (word >> KIND_SHIFT) as u8;
    let continues_batch = match kind {
        KIND_DATA => false,
        KIND_BATCH_CONTINUES => true,
        _ => return Err(Corruption::ReservedKind { kind }),
    };
    Ok(Some(Header { len_bytes, payload_len: word & LEN_MASK, crc: u32::from_le_bytes([e, f, g, h]), continues_batch }))
}

/// Decodes the header at the start of `bytes`, which must hold at least 8 bytes.
#[inline]
pub fn decode_prefix(bytes: &[u8]) -> Result<Option<Header>, Corruption> {
    match bytes.first_chunk::<HEADER_LEN>() {
        Some(h) => decode_header(*h),
        None => Err(Corruption::ShortHeader),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip() {
        for payload in [&b""[..], b"x", b"event data", &[0u8; 1000]] {
            let h = encode_header(payload);
            let d = decode_header(h).unwrap().unwrap();
            assert_eq!(d.payload_len as usize, payload.len());
            assert_eq!(d.verify(payload), Ok(()));
            assert_eq!(&h[..4], &(payload.len() as u32).to_le_bytes());
        }
    }

    #[test]
    fn empty_record_header_is_not_zero() {
        assert_ne!(encode_header(b""), [0; 8]);
    }

    #[test]
    fn batch_kind_round_trips() {
        let h = encode_header_kind(b"part", true);
        assert_eq!(h[3] >> 6, 1);
        let d = decode_header(h).unwrap().unwrap();
        assert!(d.continues_batch);
        assert_eq!(d.verify(b"part"), Ok(()));
        assert!(!decode_header(encode_header(b"part")).unwrap().unwrap().continues_batch);
    }

    #[test]
    fn reserved_kinds_are_errors() {
        for kind in 2u32..=3 {
            let word = (kind << 30) | 5;
            let mut h = [0u8; 8];
            h[..4].copy_from_slice(&word.to_le_bytes());
            assert_eq!(decode_header(h), Err(Corruption::ReservedKind { kind: kind as u8 }));
        }
    }

    #[test]
    fn flipped_payload_bit_fails_verify() {
        let h = decode_header(encode_header(b"event data")).unwrap().unwrap();
        assert!(matches!(h.verify(b"event dat`"), Err(Corruption::ChecksumMismatch { .. })));
    }

    #[test]
    fn short_prefix_is_an_error() {
        assert_eq!(decode_prefix(&[1, 2, 3]), Err(Corruption::ShortHeader));
    }

    #[test]
    fn known_vectors() {
        // Computed outside this crate (bitwise CRC32C) and printed in docs/FORMAT.md.
        assert_eq!(encode_header(b"event data"), [0x0a, 0, 0, 0, 0x32, 0x53, 0xac, 0xc4]);
        assert_eq!(encode_header(b""), [0, 0, 0, 0, 0xc7, 0x4b, 0x67, 0x48]);
    }
}
