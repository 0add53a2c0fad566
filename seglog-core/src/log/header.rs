//! The two fixed records a log directory holds besides records: each segment's header and
//! `log.meta` (docs/FORMAT.md, sections 8.2 and 8.3). Decoding checks every field and
//! never panics on any bytes.

use crate::crc::crc32c;

/// Where records start in a log segment: one block, so direct I/O can write the header alone.
pub const DATA_START: u64 = 4096;

/// Bytes of the segment header that carry fields (the rest of its block is zero).
pub(crate) const SEGMENT_HEADER_LEN: usize = 80;
/// Bytes of `log.meta`.
pub(crate) const META_LEN: usize = 64;

const SEGMENT_MAGIC: &[u8; 8] = b"SEGLOGSG";
const META_MAGIC: &[u8; 8] = b"SEGLOGMT";
const VERSION: u16 = 1;

/// The header the log writes at the start of each segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub log_id: u128,
    pub seq: u64,
    /// The segment this one follows in the chain; 0 for none.
    pub prev_seq: u64,
    pub base_position: u64,
    pub base_record: u64,
    pub segment_size: u64,
}

/// The log's identity and its start, in `log.meta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub log_id: u128,
    pub start_seq: u64,
    pub start_position: u64,
    pub start_record: u64,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map_or(0, u64::from_le_bytes)
}

fn u128_at(b: &[u8], at: usize) -> u128 {
    b.get(at..at + 16).and_then(|s| s.try_into().ok()).map_or(0, u128::from_le_bytes)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).and_then(|s| s.try_into().ok()).map_or(0, u32::from_le_bytes)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).and_then(|s| s.try_into().ok()).map_or(0, u16::from_le_bytes)
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    if let Some(dst) = b.get_mut(at..at + v.len()) {
        dst.copy_from_slice(v);
    }
}

impl SegmentHeader {
    pub(crate) fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut b = [0u8; SEGMENT_HEADER_LEN];
        put(&mut b, 0, SEGMENT_MAGIC);
        put(&mut b, 8, &VERSION.to_le_bytes());
        put(&mut b, 12, &(DATA_START as u32).to_le_bytes());
        put(&mut b, 16, &self.log_id.to_le_bytes());
        put(&mut b, 32, &self.seq.to_le_bytes());
        put(&mut b, 40, &self.prev_seq.to_le_bytes());
        put(&mut b, 48, &self.base_position.to_le_bytes());
        put(&mut b, 56, &self.base_record.to_le_bytes());
        put(&mut b, 64, &self.segment_size.to_le_bytes());
        let crc = crc32c(b.get(..72).unwrap_or_default());
        put(&mut b, 72, &crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header; the error says which check failed.
    pub(crate) fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() < SEGMENT_HEADER_LEN {
            return Err(format!("{} bytes is too short for a log segment header", b.len()));
        }
        if b.get(..8) != Some(SEGMENT_MAGIC.as_slice()) {
            return Err("not a log segment: bad magic".into());
        }
        let (stored, computed) = (u32_at(b, 72), crc32c(b.get(..72).unwrap_or_default()));
        if stored != computed {
            return Err(format!("segment header checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"));
        }
        let version = u16_at(b, 8);
        if version != VERSION {
            return Err(format!("unsupported log segment version {version}"));
        }
        let flags = u16_at(b, 10);
        if flags != 0 {
            return Err(format!("unknown segment header flags {flags:#06x}"));
        }
        let data_start = u32_at(b, 12);
        if u64::from(data_start) != DATA_START {
            return Err(format!("unsupported data start {data_start}"));
        }
        Ok(Self {
            log_id: u128_at(b, 16),
            seq: u64_at(b, 32),
            prev_seq: u64_at(b, 40),
            base_position: u64_at(b, 48),
            base_record: u64_at(b, 56),
            segment_size: u64_at(b, 64),
        })
    }
}

impl Meta {
    pub(crate) fn encode(&self) -> [u8; META_LEN] {
        let mut b = [0u8; META_LEN];
        put(&mut b, 0, META_MAGIC);
        put(&mut b, 8, &VERSION.to_le_bytes());
        put(&mut b, 16, &self.log_id.to_le_bytes());
        put(&mut b, 32, &self.start_seq.to_le_bytes());
        put(&mut b, 40, &self.start_position.to_le_bytes());
        put(&mut b, 48, &self.start_record.to_le_bytes());
        let crc = crc32c(b.get(..56).unwrap_or_default());
        put(&mut b, 56, &crc.to_le_bytes());
        b
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() != META_LEN {
            return Err(format!("log.meta must be {META_LEN} bytes, not {}", b.len()));
        }
        if b.get(..8) != Some(META_MAGIC.as_slice()) {
            return Err("not a log.meta: bad magic".into());
        }
        let (stored, computed) = (u32_at(b, 56), crc32c(b.get(..56).unwrap_or_default()));
        if stored != computed {
            return Err(format!("log.meta checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"));
        }
        let version = u16_at(b, 8);
        if version != VERSION {
            return Err(format!("unsupported log.meta version {version}"));
        }
        Ok(Self {
            log_id: u128_at(b, 16),
            start_seq: u64_at(b, 32),
            start_position: u64_at(b, 40),
            start_record: u64_at(b, 48),
        })
    }
}

/// A log id unlikely to repeat: the standard library's per-process random hash keys mixed
/// with the time and the process id (no dependency needed for 128 bits of uniqueness).
pub(crate) fn new_log_id() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(now);
        h.write_u32(std::process::id());
        h.write_usize(i);
        *half = h.finish();
    }
    (u128::from(halves[0]) << 64) | u128::from(halves[1])
}

/// The name of segment `seq`.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("{seq:020}.seg")
}

/// The `seq` a segment's file name holds, if the name is one.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()) { digits.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_any_flip_is_refused() {
        let h = SegmentHeader {
            log_id: 7 << 70,
            seq: 3,
            prev_seq: 2,
            base_position: 99,
            base_record: 5,
            segment_size: 1 << 20,
        };
        let bytes = h.encode();
        assert_eq!(SegmentHeader::decode(&bytes), Ok(h));
        for i in 0..76 {
            let mut b = bytes;
            b[i] ^= 0x10;
            assert!(SegmentHeader::decode(&b).is_err(), "flip at {i} accepted");
        }
        assert!(SegmentHeader::decode(&bytes[..10]).is_err());
        let m = Meta { log_id: 1, start_seq: 4, start_position: 10, start_record: 2 };
        assert_eq!(Meta::decode(&m.encode()), Ok(m));
        assert!(Meta::decode(&[0; META_LEN]).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(segment_name(12), "00000000000000000012.seg");
        assert_eq!(parse_segment_name(&segment_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_segment_name("12.seg"), None);
        assert_eq!(parse_segment_name("0000000000000000001x.seg"), None);
        assert_ne!(new_log_id(), new_log_id());
    }
}
