//! The record checksum beside the alternatives, at 100 B and 4 KiB, in one run.
//!
//! `cargo bench -p seglog-benches --bench crc`. Why seglog checksums with `crc-fast`:
//! `crc32fast` is fast but computes CRC-32/IEEE, not the CRC32C (Castagnoli) format v1
//! stores, so it cannot be the record checksum whatever its speed; the bitwise table shows
//! what a hand-written CRC32C would cost. Before measuring, each function's check value
//! of `b"123456789"` is printed and checked (CRC32C 0xE3069283, IEEE 0xCBF43926).

use std::hint::black_box;
use std::sync::LazyLock;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// The reflected Castagnoli polynomial.
const CASTAGNOLI: u32 = 0x82f6_3b78;

/// A byte-at-a-time table for CRC32C: the classic implementation without SIMD.
static TABLE: LazyLock<[u32; 256]> = LazyLock::new(|| {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ CASTAGNOLI } else { c >> 1 };
        }
        *slot = c;
    }
    table
});

/// CRC32C, one table lookup per byte.
fn table_crc32c(data: &[u8]) -> u32 {
    let table = &*TABLE;
    !data.iter().fold(!0u32, |c, &b| table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8))
}

/// The record checksum exactly as the writer computes it: length bytes, then the payload.
fn record_crc(payload: &[u8]) -> u32 {
    seglog_core::crc::record_crc((payload.len() as u32).to_le_bytes(), payload)
}

/// The contenders: name, what it computes, the check value it must give.
type Contender = (&'static str, fn(&[u8]) -> u32, u32);

const CONTENDERS: [Contender; 4] = [
    ("crc-fast crc32c", crc_fast::crc32_iscsi, 0xE306_9283),
    ("seglog_core::crc::crc32c", record_crc_check, 0xE306_9283),
    ("table crc32c", table_crc32c, 0xE306_9283),
    ("crc32fast ieee", ieee_crc32::hash, 0xCBF4_3926),
];

/// seglog-core's CRC32C of the bytes alone, which the record checksum is built on.
fn record_crc_check(data: &[u8]) -> u32 {
    seglog_core::crc::crc32c(data)
}

fn crc(c: &mut Criterion) {
    for (name, f, check) in CONTENDERS {
        let got = f(b"123456789");
        println!("check value of b\"123456789\": {name}: {got:#010X}");
        assert_eq!(got, check, "{name}");
    }
    for len in [100usize, 4096] {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
        let mut group = c.benchmark_group(format!("crc/{len}B"));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::from_parameter("crc-fast crc32c"), |b| {
            b.iter(|| crc_fast::crc32_iscsi(black_box(&data)))
        });
        group.bench_function(BenchmarkId::from_parameter("seglog record_crc"), |b| {
            b.iter(|| record_crc(black_box(&data)))
        });
        group
            .bench_function(BenchmarkId::from_parameter("table crc32c"), |b| b.iter(|| table_crc32c(black_box(&data))));
        group.bench_function(BenchmarkId::from_parameter("crc32fast ieee"), |b| {
            b.iter(|| ieee_crc32::hash(black_box(&data)))
        });
        group.finish();
    }
}

criterion_group!(benches, crc);
criterion_main!(benches);
