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

/// The bytes `records` occupy on disk, headers included, written as one batch; or the
/// length of the first record longer than [`MAX_PAYLOAD`], which no writer may accept.
pub(crate) fn batch_len(records: &[&[u8]]) -> Result<u64, usize> {
    records.iter().try_fold(0u64, |needed, r| {
        if r.len() > MAX_PAYLOAD { Err(r.len()) } else { Ok(needed + (HEADER_LEN + r.len()) as u64) }
    })
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
    use rstest::rstest;

    use super::*;

    /// Bit-at-a-time CRC with the reflected polynomial `poly`: slow, obviously right.
    fn bitwise(poly: u32, data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            }
        }
        !c
    }

    /// CRC32C (Castagnoli), the record checksum.
    fn castagnoli(data: &[u8]) -> u32 {
        bitwise(0x82f6_3b78, data)
    }

    /// CRC-32/IEEE, what `crc32fast` computes and the published seglog 0.2.2 and 0.3.6
    /// store under the name CRC32C.
    fn ieee(data: &[u8]) -> u32 {
        bitwise(0xedb8_8320, data)
    }

    #[rstest]
    #[case::empty(b"")]
    #[case::one_byte(b"x")]
    #[case::text(b"event data")]
    #[case::kilobyte_of_zeros(&[0u8; 1000])]
    fn round_trip(#[case] payload: &[u8]) {
        let h = encode_header(payload);
        let d = decode_header(h).unwrap().unwrap();
        assert_eq!(d.payload_len as usize, payload.len());
        assert_eq!(d.verify(payload), Ok(()));
        assert_eq!(&h[..4], &(payload.len() as u32).to_le_bytes());
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

    #[rstest]
    #[case::kind_2(2)]
    #[case::kind_3(3)]
    fn reserved_kinds_are_errors(#[case] kind: u32) {
        let word = (kind << 30) | 5;
        let mut h = [0u8; 8];
        h[..4].copy_from_slice(&word.to_le_bytes());
        assert_eq!(decode_header(h), Err(Corruption::ReservedKind { kind: kind as u8 }));
    }

    #[test]
    fn flipped_payload_bit_fails_verify() {
        let h = decode_header(encode_header(b"event data")).unwrap().unwrap();
        assert!(matches!(h.verify(b"event dat`"), Err(Corruption::ChecksumMismatch { .. })));
    }

    #[rstest]
    #[case::nothing(&[])]
    #[case::one_byte(&[1])]
    #[case::three_bytes(&[1, 2, 3])]
    #[case::seven_bytes(&[1, 2, 3, 4, 5, 6, 7])]
    fn short_prefix_is_an_error(#[case] bytes: &[u8]) {
        assert_eq!(decode_prefix(bytes), Err(Corruption::ShortHeader));
    }

    /// Headers as a damaged or hostile file may hold them: what decoding says, and that
    /// none of them passes the checksum over the payload bytes that follow it (`payload`).
    #[rstest]
    #[case::all_zero([0; 8], Ok(None))]
    #[case::all_ones([0xff; 8], Err(Corruption::ReservedKind { kind: 3 }))]
    #[case::kind_2([5, 0, 0, 0x80, 1, 2, 3, 4], Err(Corruption::ReservedKind { kind: 2 }))]
    #[case::kind_3([5, 0, 0, 0xc0, 1, 2, 3, 4], Err(Corruption::ReservedKind { kind: 3 }))]
    #[case::maximum_length([0xff, 0xff, 0xff, 0x3f, 1, 2, 3, 4], Ok(Some((MAX_PAYLOAD as u32, false))))]
    #[case::zero_length_with_zero_crc([0, 0, 0, 0x40, 0, 0, 0, 0], Ok(Some((0, true))))]
    #[case::zero_length_with_a_wrong_crc([0, 0, 0, 0, 1, 0, 0, 0], Ok(Some((0, false))))]
    #[case::ieee_checksum_of_an_empty_record(ieee_header(b""), Ok(Some((0, false))))]
    #[case::ieee_checksum_of_a_record(ieee_header(b"123456789"), Ok(Some((9, false))))]
    fn hostile_headers(#[case] header: [u8; 8], #[case] expected: Result<Option<(u32, bool)>, Corruption>) {
        let decoded = decode_header(header);
        assert_eq!(decoded.map(|h| h.map(|h| (h.payload_len, h.continues_batch))), expected);
        if let Ok(Some(h)) = decoded {
            let payload = if h.payload_len == 9 { &b"123456789"[..] } else { &[][..] };
            assert!(matches!(h.verify(payload), Err(Corruption::ChecksumMismatch { .. })), "{header:?}");
        }
    }

    /// A kind-0 header for `payload` whose checksum is CRC-32/IEEE instead of CRC32C.
    fn ieee_header(payload: &[u8]) -> [u8; 8] {
        let len = (payload.len() as u32).to_le_bytes();
        let crc = ieee(&[&len[..], payload].concat()).to_le_bytes();
        [len[0], len[1], len[2], len[3], crc[0], crc[1], crc[2], crc[3]]
    }

    /// Headers computed outside this crate (bitwise CRC32C) and printed in docs/FORMAT.md.
    #[rstest]
    #[case::event_data(b"event data", [0x0a, 0, 0, 0, 0x32, 0x53, 0xac, 0xc4])]
    #[case::empty(b"", [0, 0, 0, 0, 0xc7, 0x4b, 0x67, 0x48])]
    fn known_vectors(#[case] payload: &[u8], #[case] header: [u8; 8]) {
        assert_eq!(encode_header(payload), header);
    }

    /// The checksum a record stores is CRC32C over its length bytes and payload, never
    /// CRC-32/IEEE: fails if the record path ever switches to `crc32fast` or the like.
    #[rstest]
    #[case::check_string(b"123456789")]
    #[case::empty(b"")]
    #[case::text(b"event data")]
    #[case::kilobyte(&[0xa5; 1024])]
    fn record_checksum_is_castagnoli_not_ieee(#[case] payload: &[u8]) {
        // The references themselves, by their published check values.
        assert_eq!((castagnoli(b"123456789"), ieee(b"123456789")), (0xE306_9283, 0xCBF4_3926));
        let h = encode_header(payload);
        let stored = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let covered = [&h[..4], payload].concat();
        assert_eq!(stored, castagnoli(&covered));
        assert_ne!(stored, ieee(&covered), "the record checksum is CRC-32/IEEE");
        let decoded = decode_header(h).unwrap().unwrap();
        assert_eq!(decoded.verify(payload), Ok(()));
        let ieee_stored = decode_header(ieee_header(payload)).unwrap().unwrap();
        assert!(matches!(ieee_stored.verify(payload), Err(Corruption::ChecksumMismatch { .. })));
    }
}
