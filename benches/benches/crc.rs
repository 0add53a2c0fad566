//! The record checksum beside the alternatives, per call, at the sizes records have.
//!
//! `cargo bench -p seglog-benches --bench crc` (a filter such as `-- crc/1024B` runs one
//! size). What it chose (README "Dependencies"): the `crc32c` crate, the fastest CRC32C
//! here from 100 bytes to 256 KiB, which seglog-core's `crc::crc32c` now calls.
//!
//! Contenders, all CRC32C (Castagnoli) but the last two rows' baseline:
//! - `crc-fast one-shot`: `crc_fast::crc32_iscsi`, the fusion kernel of CRC instructions and
//!   carry-less multiplies, whose 3-way split computes x^n mod P three times per call;
//! - `crc-fast params`: `crc_fast::checksum_with_params` with the iSCSI parameters: the
//!   generic carry-less-multiply folding, with no per-length setup;
//! - `crc-fast digest`: one reused `crc_fast::Digest`, reset per call;
//! - `crc32c`: the `crc32c` crate (CRC instructions, 3 streams combined by tables);
//! - `crc slice16`: the `crc` crate's 16-table software CRC;
//! - `seglog crc32c`: what seglog-core uses, and `seglog record_crc` the whole record
//!   checksum (payload CRC plus the length correction);
//! - `table crc32c`: a byte-at-a-time table, what a hand-written CRC32C would cost;
//! - `crc32fast ieee`: CRC-32/IEEE, what seglog 0.3.6 computes, not the format's checksum.
//!
//! Before measuring, each function's check value of `b"123456789"` is printed and checked
//! (CRC32C 0xE3069283, IEEE 0xCBF43926), and every CRC32C contender must agree with the
//! others on each benchmark input.

use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Duration;

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

/// crc-fast's parameters for CRC-32/ISCSI, built once (the constructor caches its keys).
static ISCSI_PARAMS: LazyLock<crc_fast::CrcParams> = LazyLock::new(|| {
    crc_fast::CrcParams::new("CRC-32/ISCSI", 32, 0x1edc_6f41, 0xffff_ffff, true, 0xffff_ffff, 0xe306_9283)
});

/// crc-fast's generic folding kernel, which skips the fusion kernel's per-call setup.
fn crc_fast_params(data: &[u8]) -> u32 {
    crc_fast::checksum_with_params(*ISCSI_PARAMS, data) as u32
}

thread_local! {
    static DIGEST: std::cell::RefCell<crc_fast::Digest> =
        std::cell::RefCell::new(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi));
}

/// A crc-fast digest reused across calls.
fn crc_fast_digest(data: &[u8]) -> u32 {
    DIGEST.with_borrow_mut(|d| {
        d.reset();
        d.update(data);
        d.finalize() as u32
    })
}

static SLICE16: crc::Crc<u32, crc::Table<16>> = crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// The `crc` crate's slice-by-16 software CRC32C.
fn crc_slice16(data: &[u8]) -> u32 {
    SLICE16.checksum(data)
}

/// seglog-core's CRC32C of the bytes alone, which the record checksum is built on.
fn seglog_crc32c(data: &[u8]) -> u32 {
    seglog_core::crc::crc32c(data)
}

/// The record checksum exactly as the writer computes it: length bytes, then the payload.
fn record_crc(payload: &[u8]) -> u32 {
    seglog_core::crc::record_crc((payload.len() as u32).to_le_bytes(), payload)
}

/// The contenders: name, function, the check value it must give.
type Contender = (&'static str, fn(&[u8]) -> u32, u32);

const CRC32C: u32 = 0xE306_9283;

const CONTENDERS: [Contender; 8] = [
    ("crc-fast one-shot", crc_fast::crc32_iscsi, CRC32C),
    ("crc-fast params", crc_fast_params, CRC32C),
    ("crc-fast digest", crc_fast_digest, CRC32C),
    ("crc32c", crc32c::crc32c, CRC32C),
    ("crc slice16", crc_slice16, CRC32C),
    ("seglog crc32c", seglog_crc32c, CRC32C),
    ("table crc32c", table_crc32c, CRC32C),
    ("crc32fast ieee", ieee_crc32::hash, 0xCBF4_3926),
];

/// Record sizes measured; the byte-at-a-time table is skipped above 4 KiB (microseconds).
const SIZES: [usize; 6] = [16, 100, 1024, 4096, 64 << 10, 256 << 10];

fn crc(c: &mut Criterion) {
    for (name, f, check) in CONTENDERS {
        let got = f(b"123456789");
        println!("check value of b\"123456789\": {name}: {got:#010X}");
        assert_eq!(got, check, "{name}");
    }
    for len in SIZES {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
        let want = table_crc32c(&data);
        for (name, f, check) in CONTENDERS {
            if check == CRC32C {
                assert_eq!(f(&data), want, "{name} at {len} bytes");
            }
        }
        let mut group = c.benchmark_group(format!("crc/{len}B"));
        group.throughput(Throughput::Bytes(len as u64));
        group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        for (name, f, _) in CONTENDERS {
            if name == "table crc32c" && len > 4096 {
                continue;
            }
            group.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| f(black_box(&data))));
        }
        group.bench_function(BenchmarkId::from_parameter("seglog record_crc"), |b| {
            b.iter(|| record_crc(black_box(&data)))
        });
        group.finish();
    }
}

criterion_group!(benches, crc);
criterion_main!(benches);
