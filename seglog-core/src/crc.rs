//! CRC32C (Castagnoli, the iSCSI/ext4/RocksDB checksum) as format v1 uses it.
//!
//! The bytes' CRC32C is the `crc32c` crate's: the CPU's CRC instruction on three streams
//! at once, combined with precomputed tables, so no call pays a setup that depends on its
//! length. Measured per call beside `crc-fast` (whose one-shot computes x^n mod P three
//! times per call above 256 bytes, 13 % of a reopen's profile at 1 KiB records) and the
//! others in `benches/benches/crc.rs`: 1.6 to 1.7 times faster at 1 KiB, 1.1 to 1.4
//! times from 4 KiB to 256 KiB, as fast or faster at 100 bytes; only at 16 bytes was
//! `crc-fast` ahead, by under 15 ns (README "Dependencies").
//!
//! A record's checksum covers its 4 length bytes and then its payload, which are
//! not adjacent on disk (the checksum sits between them). Feeding the two parts
//! to a streaming digest costs ~20 ns per record, more than the whole checksum of a
//! 100-byte payload. CRC is affine over GF(2),
//! so instead we take the fast one-shot CRC of the payload alone and add a
//! correction that depends only on the 4 length bytes:
//!
//! ```text
//! crc(len ‖ P) = crc(P) ⊕ shift_N(reg(len) ⊕ !0)
//! ```
//!
//! where `reg(len)` is the CRC register after the length bytes and `shift_N`
//! advances a register over `N = |P|` zero bytes. `shift_N` is linear, so it is
//! the composition of precomputed maps for each set bit of `N`, each a 4×256
//! lookup table.

use std::sync::LazyLock;

/// The reflected Castagnoli polynomial.
const POLY: u32 = 0x82f6_3b78;

/// CRC32C of `data` (init and final xor `0xFFFF_FFFF`); `crc32c(b"123456789") == 0xE306_9283`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// The checksum format v1 stores for a record: CRC32C of the 4 length bytes, then the payload.
#[inline]
pub fn record_crc(len_bytes: [u8; 4], payload: &[u8]) -> u32 {
    crc32c(payload) ^ correction(len_bytes, payload.len() as u64)
}

/// The term that turns `crc32c(P)` into `crc32c(len ‖ P)` for any `P` of `n` bytes.
#[inline]
fn correction(len_bytes: [u8; 4], n: u64) -> u32 {
    let t = &*TABLES;
    // Feeding 4 bytes into register r is advancing r ⊕ bytes over 4 zero bytes: one step
    // of four independent lookups instead of a chain of four.
    let reg = t.shift_zeros(!0 ^ u32::from_le_bytes(len_bytes), 4);
    t.shift_zeros(reg ^ !0, n)
}

/// [`record_crc`] with the last record length's correction remembered: consecutive records
/// of one length (the common case in a log) skip its table walk.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrcCache {
    last: Option<([u8; 4], u32)>,
}

impl CrcCache {
    /// The record checksum of a record with length bytes `len_bytes` and payload `payload`.
    #[inline]
    pub fn record_crc(&mut self, len_bytes: [u8; 4], payload: &[u8]) -> u32 {
        let fix = match self.last {
            Some((word, fix)) if word == len_bytes => fix,
            _ => {
                let fix = correction(len_bytes, payload.len() as u64);
                self.last = Some((len_bytes, fix));
                fix
            }
        };
        crc32c(payload) ^ fix
    }
}

/// Streaming form of [`record_crc`], for payloads read in pieces (recovery of large records).
#[derive(Clone, Copy, Debug)]
pub struct RecordCrc {
    len_bytes: [u8; 4],
    crc: u32,
    seen: u64,
}

impl RecordCrc {
    /// Starts the checksum of a record whose 4 length bytes are `len_bytes`.
    pub fn new(len_bytes: [u8; 4]) -> Self {
        Self { len_bytes, crc: 0, seen: 0 }
    }

    /// Feeds the next piece of the payload.
    pub fn update(&mut self, piece: &[u8]) {
        // crc(A ‖ B) = shift_|B|(crc(A)) ⊕ crc(B), and crc(∅) = 0.
        self.crc = TABLES.shift_zeros(self.crc, piece.len() as u64) ^ crc32c(piece);
        self.seen += piece.len() as u64;
    }

    /// Feeds `n` zero bytes without touching memory.
    pub fn update_zeros(&mut self, n: u64) {
        // crc(A ‖ 0ⁿ) = shift_n(crc(A) ⊕ !0) ⊕ !0.
        self.crc = TABLES.shift_zeros(self.crc ^ !0, n) ^ !0;
        self.seen += n;
    }

    /// The record checksum of everything fed so far.
    pub fn finish(&self) -> u32 {
        self.crc ^ correction(self.len_bytes, self.seen)
    }
}

struct Tables {
    /// `shift[k]` advances a register over 2^k zero bytes, one table per register byte.
    shift: Vec<[[u32; 256]; 4]>,
}

/// Payloads are below 2^30 bytes, but the recovery scan also extends over larger zero runs.
const SHIFT_BITS: usize = 40;

static TABLES: LazyLock<Tables> = LazyLock::new(Tables::build);

impl Tables {
    fn build() -> Self {
        // Column k of the map "advance over 2^j zero bytes" applied to basis vector 1<<k.
        let mut basis = [0u32; 32];
        for (k, col) in basis.iter_mut().enumerate() {
            let mut reg = 1u32 << k;
            for _ in 0..8 {
                reg = if reg & 1 != 0 { (reg >> 1) ^ POLY } else { reg >> 1 };
            }
            *col = reg;
        }
        let apply = |m: &[u32; 32], v: u32| -> u32 {
            let mut out = 0;
            for (k, col) in m.iter().enumerate() {
                if v >> k & 1 != 0 {
                    out ^= col;
                }
            }
            out
        };
        let mut shift = Vec::with_capacity(SHIFT_BITS);
        for _ in 0..SHIFT_BITS {
            let mut t = [[0u32; 256]; 4];
            for (j, table) in t.iter_mut().enumerate() {
                for (b, slot) in table.iter_mut().enumerate() {
                    *slot = apply(&basis, (b as u32) << (8 * j));
                }
            }
            shift.push(t);
            // Square the map: advancing over 2^(j+1) bytes is advancing over 2^j twice.
            let mut next = [0u32; 32];
            for (k, col) in next.iter_mut().enumerate() {
                *col = apply(&basis, basis[k]);
            }
            basis = next;
        }
        Self { shift }
    }

    /// Advances CRC register `reg` over `n` zero bytes.
    fn shift_zeros(&self, mut reg: u32, n: u64) -> u32 {
        let mut bits = n;
        let mut k = 0;
        while bits != 0 && k < SHIFT_BITS {
            if bits & 1 != 0 {
                let t = &self.shift[k];
                reg = t[0][(reg & 0xff) as usize]
                    ^ t[1][(reg >> 8 & 0xff) as usize]
                    ^ t[2][(reg >> 16 & 0xff) as usize]
                    ^ t[3][(reg >> 24) as usize];
            }
            bits >>= 1;
            k += 1;
        }
        reg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    /// Bit-at-a-time CRC32C: slow, obviously right.
    fn reference(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            }
        }
        !c
    }

    #[test]
    fn cache_matches_uncached_across_lengths() {
        let mut cache = CrcCache::default();
        for len in [0usize, 5, 5, 100, 5, 4096, 4096, 0] {
            let payload = vec![0xabu8; len];
            let word = (len as u32).to_le_bytes();
            assert_eq!(cache.record_crc(word, &payload), record_crc(word, &payload), "len {len}");
            assert_eq!(cache.record_crc(word, &payload), reference(&[&word[..], &payload].concat()));
        }
    }

    #[test]
    fn check_value_is_castagnoli_not_ieee() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_ne!(crc32c(b"123456789"), 0xCBF4_3926, "that is CRC-32/IEEE");
        assert_eq!(reference(b"123456789"), 0xE306_9283);
    }

    /// 32 bytes counting up from 0, as in RFC 3720's test vectors.
    const ASCENDING: [u8; 32] = {
        let mut a = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            a[i] = i as u8;
            i += 1;
        }
        a
    };

    /// Published CRC32C values: the catalogue's check value and the iSCSI vectors of
    /// RFC 3720 appendix B.4, each checked against `crc32c` and the bitwise reference.
    #[rstest]
    #[case::check_string(b"123456789", 0xE306_9283)]
    #[case::empty(b"", 0)]
    #[case::rfc3720_32_zeros(&[0; 32], 0x8A91_36AA)]
    #[case::rfc3720_32_ones(&[0xff; 32], 0x62A8_AB43)]
    #[case::rfc3720_ascending(&ASCENDING, 0x46DD_794E)]
    #[case::rfc3720_descending(&{ let mut d = ASCENDING; d.reverse(); d }, 0x113F_DB5C)]
    fn known_vectors(#[case] data: &[u8], #[case] expected: u32) {
        assert_eq!(crc32c(data), expected);
        assert_eq!(reference(data), expected);
    }

    /// The record checksum's shortcut (payload CRC plus a correction for the length bytes)
    /// equals CRC32C of the contiguous bytes, at lengths around each table boundary.
    #[rstest]
    fn record_crc_is_crc32c_of_len_then_payload(
        #[values(0, 1, 3, 4, 7, 8, 15, 16, 63, 64, 100, 255, 256, 4095, 4096, 65537)] len: usize,
    ) {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let word = (len as u32).to_le_bytes();
        assert_eq!(record_crc(word, &payload), reference(&[&word[..], &payload].concat()));
    }

    /// The `crc32c` crate splits a buffer into three streams in blocks of 3 × 8192 and then
    /// 3 × 256 bytes, with a serial head and tail: lengths on each side of every such step,
    /// at every alignment of the start, against the bitwise reference.
    #[rstest]
    fn crc32c_matches_reference_across_block_sizes(
        #[values(0, 7, 8, 9, 255, 256, 767, 768, 769, 1024, 1031, 24_575, 24_576, 24_577, 25_344)] len: usize,
    ) {
        let bytes: Vec<u8> = (0..len + 8).map(|i| (i * 131 + 17) as u8).collect();
        for skew in 0..8 {
            let data = &bytes[skew..skew + len];
            assert_eq!(crc32c(data), reference(data), "len {len} skew {skew}");
        }
    }

    #[test]
    fn record_crc_of_empty_payload_is_never_zero_for_valid_lengths() {
        assert_ne!(record_crc(0u32.to_le_bytes(), b""), 0);
        assert_eq!(record_crc(0u32.to_le_bytes(), b""), reference(&[0, 0, 0, 0]));
    }

    proptest! {
        #[test]
        fn record_crc_matches_contiguous(len in any::<[u8; 4]>(), payload in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let mut whole = len.to_vec();
            whole.extend_from_slice(&payload);
            prop_assert_eq!(record_crc(len, &payload), reference(&whole));
        }

        #[test]
        fn streaming_matches_one_shot(len in any::<[u8; 4]>(), payload in proptest::collection::vec(any::<u8>(), 0..3000), cuts in proptest::collection::vec(0usize..3000, 0..4), zeros in 0u64..5000) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(payload.len())).collect();
            cuts.sort_unstable();
            let mut s = RecordCrc::new(len);
            let mut prev = 0;
            for c in cuts.into_iter().chain([payload.len()]) {
                s.update(&payload[prev..c]);
                prev = c;
            }
            s.update_zeros(zeros);
            let mut full = payload.clone();
            full.resize(payload.len() + zeros as usize, 0);
            prop_assert_eq!(s.finish(), record_crc(len, &full));
        }
    }
}
