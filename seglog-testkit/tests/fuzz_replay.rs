//! The fuzz targets on stable: every file of the committed corpus (`fuzz/corpus/{decode,
//! recover,read}/`, including anything cargo-fuzz added there) goes through all three
//! [`seglog_testkit::fuzz`] functions, then seeded random mutations of the corpus do.
//!
//! `SEGLOG_FUZZ_CASES` sets the number of mutated inputs (default 20,000; each runs through
//! all three functions), `SEGLOG_FUZZ_SEED` the seed. A failing input is saved under the
//! target directory's `tmp/fuzz-failures/` and named in the panic. The corpus's generated
//! files come from [`corpus`]; `SEGLOG_FUZZ_REGENERATE=1` rewrites them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use seglog_core::codec::{encode_header, encode_header_kind};
use seglog_core::{RecoveryMode, Writer};
use seglog_testkit::util::{Rng, env_number, payload};
use seglog_testkit::{MemIo, fuzz};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus");

type Target = (&'static str, fn(&[u8]));
const TARGETS: [Target; 3] = [("decode", fuzz::decode), ("recover", fuzz::recover), ("read", fuzz::read)];

/// Mutated inputs are cut back to this length, as libFuzzer's `-max_len` would.
const MAX_LEN: usize = 64 << 10;

#[test]
fn corpus_matches_its_generator() {
    let regenerate = std::env::var_os("SEGLOG_FUZZ_REGENERATE").is_some();
    for (target, name, bytes) in corpus() {
        let path = Path::new(CORPUS).join(target).join(name);
        if regenerate {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let stored = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                stored == bytes,
                "{} differs from its generator; SEGLOG_FUZZ_REGENERATE=1 rewrites it",
                path.display()
            );
        }
    }
}

#[test]
fn replay_corpus_and_mutations() {
    let began = Instant::now();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (target, _) in TARGETS {
        let dir = Path::new(CORPUS).join(target);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            files.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    files.sort();
    assert!(files.len() >= 60, "only {} corpus files under {CORPUS}", files.len());
    let mut execs = 0u64;
    for (path, bytes) in &files {
        for target in TARGETS {
            run(target, bytes, || format!("corpus file {}", path.display()));
            execs += 1;
        }
    }
    let seed = env_number("SEGLOG_FUZZ_SEED", 0xf022_5eed);
    let cases = env_number("SEGLOG_FUZZ_CASES", 20_000);
    let mut rng = Rng::new(seed);
    for case in 0..cases {
        let input = mutate(&mut rng, &files);
        for target in TARGETS {
            run(target, &input, || format!("mutation {case} (SEGLOG_FUZZ_SEED={seed:#x})"));
            execs += 1;
        }
    }
    let (n, t) = (files.len(), began.elapsed());
    println!("fuzz replay: {n} corpus files and {cases} mutations (seed {seed:#x}): {execs} executions in {t:.1?}");
}

/// Runs one input through one target; on a panic, saves the input and names it.
fn run((name, f): Target, input: &[u8], what: impl Fn() -> String) {
    if catch_unwind(AssertUnwindSafe(|| f(input))).is_err() {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}-{:016x}", fnv(input)));
        std::fs::write(&path, input).unwrap();
        panic!("fuzz::{name} failed on {}, saved as {}", what(), path.display());
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// One to four mutations of a random corpus file: bit flips, byte sets, truncations,
/// splices and insertions from another file, zeroed runs (lost writes), hostile length
/// words, a record re-encoded at a random position (a valid record after damage), and a
/// random start offset.
fn mutate(rng: &mut Rng, files: &[(PathBuf, Vec<u8>)]) -> Vec<u8> {
    let mut d = files[rng.below(files.len())].1.clone();
    for _ in 0..=rng.below(4) {
        let len = d.len();
        let at = rng.below(len);
        match rng.below(9) {
            0 if len > 0 => d[at] ^= 1 << rng.below(8),
            1 if len > 0 => d[at] = [0, 0xff, 0x3f, 0x40, 0x80, 0xc0, rng.next_u64() as u8][rng.below(7)],
            2 => d.truncate(rng.below(len + 1)),
            3 | 4 => {
                let other = &files[rng.below(files.len())].1;
                let from = rng.below(other.len());
                let piece = &other[from..from + rng.below(other.len() - from + 1).min(4096)];
                if rng.below(2) == 0 {
                    d.splice(at..at, piece.iter().copied());
                } else {
                    d.resize(d.len().max(at + piece.len()), 0);
                    d[at..at + piece.len()].copy_from_slice(piece);
                }
            }
            5 => d[at..(at + 1 + rng.below(600)).min(len)].fill(0),
            6 if len >= 4 => {
                let at = at.min(len - 4);
                let exact = (len - at).saturating_sub(8) as u32;
                let word = [0x3fff_ffff, 0x4000_0000 | exact, 0x8000_0005, 0xc000_0000, exact, exact + 1, 0];
                d[at..at + 4].copy_from_slice(&word[rng.below(word.len())].to_le_bytes());
            }
            7 if len >= 8 => {
                let at = at.min(len - 8);
                let n = rng.below((len - at - 8).min(300) + 1);
                let header = encode_header_kind(&d[at + 8..at + 8 + n], rng.below(3) == 0);
                d[at..at + 8].copy_from_slice(&header);
            }
            8 if len >= 3 => {
                let start = rng.below(len + 8) as u16;
                d[..3].copy_from_slice(&[b'S', start as u8, (start >> 8) as u8]);
            }
            _ => d.push(rng.next_u64() as u8),
        }
    }
    d.truncate(MAX_LEN);
    d
}

/// A segment of `size` bytes written by seglog's own writer: each item of `items` is one
/// `append` (one length) or one `append_batch` (several). Records start at `start`; a
/// segment with a header region begins with `S` and `start` (u16 LE), as
/// [`fuzz::start_offset`] reads. Also returns where each record starts, then the end.
fn segment(size: usize, start: u16, items: &[&[usize]]) -> (Vec<u8>, Vec<usize>) {
    let io = MemIo::new(size as u64);
    if start > 0 {
        let mut header = [&[b'S'][..], &start.to_le_bytes()].concat();
        header.resize(start.into(), b'.');
        io.overwrite(0, &header);
    }
    let mut w = Writer::recover(io.clone(), start.into(), RecoveryMode::Strict).unwrap();
    let mut offsets = Vec::new();
    for (i, lens) in items.iter().enumerate() {
        let parts: Vec<Vec<u8>> = lens.iter().enumerate().map(|(j, &n)| payload((i * 8 + j) as u64, n)).collect();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let (mut at, _) = if refs.len() == 1 { w.append(refs[0]) } else { w.append_batch(&refs) }.unwrap();
        for r in &refs {
            offsets.push(at as usize);
            at += 8 + r.len() as u64;
        }
    }
    offsets.push(w.sync().unwrap() as usize);
    drop(w);
    (io.contents(), offsets)
}

/// `seg` with `bytes` written at `at` (growing it if needed).
fn put(mut seg: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    seg.resize(seg.len().max(at + bytes.len()), 0);
    seg[at..at + bytes.len()].copy_from_slice(bytes);
    seg
}

/// `seg` with `[from, to)` zeroed (`to` past the end means to the end).
fn zero(mut seg: Vec<u8>, from: usize, to: usize) -> Vec<u8> {
    let to = to.min(seg.len());
    seg[from..to].fill(0);
    seg
}

fn random(seed: u64, len: usize) -> Vec<u8> {
    payload(seed ^ 0x00c0_ffee, len)
}

/// A record as the format encodes it.
fn encoded(data: &[u8]) -> Vec<u8> {
    [&encode_header(data)[..], data].concat()
}

/// The generated corpus: (target directory, file name, bytes). Segments go to `recover`
/// and `read`; headers and a few segments to `decode`: 82 files, about 160 KB in all.
fn corpus() -> Vec<(&'static str, String, Vec<u8>)> {
    let recs: &[&[usize]] = &[&[0], &[1], &[7], &[8], &[100], &[300], &[33]];
    let (base, at) = segment(2048, 0, recs);
    let batches: &[&[usize]] = &[&[10], &[20, 30, 40], &[0, 0], &[50], &[60, 70, 80]];
    let (bat, bo) = segment(1024, 0, batches);
    let used = at[7];
    let fill = |size: usize| segment(size, 0, recs).0;
    let header = |word: u32, crc: u32| [word.to_le_bytes(), crc.to_le_bytes()].concat();
    // The last batch is records 7, 8 and 9: tear record 9, then zero record 7's header.
    let torn_batch = zero(bat.clone(), bo[9] + 30, usize::MAX);
    let segments: Vec<(&str, Vec<u8>)> = vec![
        ("nothing", vec![]),
        ("zeros", vec![0; 256]),
        ("seven-bytes", vec![1, 2, 3, 4, 5, 6, 7]),
        ("records", base.clone()),
        ("batches", bat.clone()),
        ("start-offset", segment(1024, 16, recs).0),
        ("start-past-end", put(vec![0; 100], 0, b"S\x88\x13")),
        ("full", fill(used)),
        ("five-bytes-left", fill(used + 5)),
        ("empty-records", segment(512, 0, &[&[0usize][..]; 40]).0),
        ("torn-header", zero(base.clone(), at[6] + 3, usize::MAX)),
        ("torn-payload", zero(base.clone(), at[6] + 20, usize::MAX)),
        ("torn-batch", torn_batch.clone()),
        ("torn-batch-head-erased", zero(torn_batch, bo[7], bo[7] + 8)),
        ("flip-payload", put(base.clone(), at[3] + 11, &[base[at[3] + 11] ^ 1])),
        ("flip-length", put(base.clone(), at[4], &[base[at[4]] ^ 2])),
        ("kind-2", put(base.clone(), at[4] + 3, &[0x80])),
        ("kind-3", put(base.clone(), at[4] + 3, &[0xc0])),
        ("lost-write", zero(base.clone(), at[4], at[4] + 8)),
        ("lost-sector", zero(base.clone(), at[4] + 8, at[4] + 72)),
        ("batch-lost-middle", zero(bat.clone(), bo[2] + 13, bo[2] + 23)),
        ("garbage-after-end", put(base.clone(), used + 40, b"garbage")),
        ("stale-record-after-end", put(base.clone(), used + 16, &encoded(b"stale"))),
        ("header-1gib", put(vec![0; 512], 0, &header(0x3fff_ffff, 0x1234_5678))),
        ("header-1gib-after-records", put(base.clone(), used, &header(0x3fff_ffff, 0x1234_5678))),
        ("header-all-ones", put(base.clone(), used, &[0xff; 8])),
        ("length-exact-end", put(base.clone(), used, &header((2048 - used - 8) as u32, 7))),
        ("length-one-past-end", put(base.clone(), used, &header((2048 - used - 7) as u32, 7))),
        ("embedded-record", {
            let (seg, o) = segment(512, 0, &[&[4], &[40]]);
            let inner = encoded(&payload(1, 27));
            let outer = put(seg, o[1] + 8, &inner);
            put(outer, o[1] + 4, &[0; 4])
        }),
        ("random-256", random(1, 256)),
        ("random-1024", random(2, 1024)),
        ("random-4096", random(3, 4096)),
        ("random-start", put(random(4, 600), 0, b"S\x28\x00")),
        ("blocks-torn-batch", zero(segment(4096, 0, &[&[500], &[700, 900, 1000]]).0, 3000, usize::MAX)),
        ("big-record-torn", zero(segment(20_000, 0, &[&[16_000]]).0, 15_000, usize::MAX)),
    ];
    let headers: Vec<(&str, Vec<u8>)> = vec![
        ("zero-header", vec![0; 8]),
        ("empty-record", encoded(b"")),
        ("event-data", encoded(b"event data")),
        ("kind-1", [&encode_header_kind(b"part", true)[..], b"part"].concat()),
        ("kind-2", header(0x8000_0004, 0)),
        ("kind-3", header(0xc000_0000, 0x4867_4bc7)),
        ("all-ones", vec![0xff; 8]),
        ("length-1gib", header(0x3fff_ffff, 0)),
        ("short", vec![1, 2, 3]),
        ("records", base),
        ("batches", bat),
        ("random-512", random(5, 512)),
    ];
    let mut out = Vec::new();
    for (name, bytes) in segments {
        out.push(("recover", name.to_string(), bytes.clone()));
        out.push(("read", name.to_string(), bytes));
    }
    out.extend(headers.into_iter().map(|(name, bytes)| ("decode", name.to_string(), bytes)));
    out
}
