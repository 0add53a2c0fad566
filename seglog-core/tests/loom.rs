//! Model checks of the visibility protocol (issue 10, defect 12), on the real reader and
//! writer: `RUSTFLAGS="--cfg loom" cargo test -p seglog-core --release --test loom`.
//!
//! The backend keeps the segment in relaxed atomic words, as a shared mapping or the page
//! cache behaves to a reader racing a writer: no lock orders a read against a write, so
//! only the protocol's fences (flushed.rs) make what a reader returns consistent. Each
//! model runs a reader in the main thread against a writer thread; loom runs every
//! interleaving and every value a relaxed load may see, exhaustively (no preemption bound
//! unless `LOOM_MAX_PREEMPTIONS` sets one; the iteration counts printed saturate by 6).
#![cfg(loom)]

use std::fmt;
use std::path::{Path, PathBuf};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use seglog_core::{Error, ReadHint, RecoveryMode, SegmentIo, Writer};

/// Small enough to keep the models small: records of 4-byte payloads are 12 bytes.
const SIZE: u64 = 64;
const LEN: usize = 4;

struct ModelIo {
    words: Vec<AtomicU64>,
    /// A constant image of the segment, handed out as the mapping; writes do not reach it.
    /// The pin model checks when writes happen, not what they change.
    image: Option<Box<[u8]>>,
    /// Set by the model's reader while it holds a mapped record: a write then is a bug.
    held: Option<Arc<AtomicBool>>,
    path: PathBuf,
}

impl fmt::Debug for ModelIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ModelIo")
    }
}

impl ModelIo {
    fn new(bytes: &[u8]) -> Self {
        let mut padded = bytes.to_vec();
        padded.resize(SIZE as usize, 0);
        let words = padded.chunks(8).map(|c| AtomicU64::new(u64::from_le_bytes(c.try_into().unwrap()))).collect();
        Self { words, image: None, held: None, path: PathBuf::from("<loom>") }
    }
}

impl SegmentIo for ModelIo {
    fn size(&self) -> u64 {
        SIZE
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let (from, to) = (offset as usize, offset as usize + buf.len());
        for w in from / 8..to.div_ceil(8) {
            let bytes = self.words[w].load(Ordering::Relaxed).to_le_bytes();
            for (i, b) in bytes.iter().enumerate() {
                let at = w * 8 + i;
                if (from..to).contains(&at) {
                    buf[at - from] = *b;
                }
            }
        }
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        if let Some(held) = &self.held {
            assert!(!held.load(Ordering::Acquire), "the writer changed bytes under a held mapped record");
        }
        let (from, to) = (offset as usize, offset as usize + data.len());
        for w in from / 8..to.div_ceil(8) {
            let mut bytes = self.words[w].load(Ordering::Relaxed).to_le_bytes();
            for (i, b) in bytes.iter_mut().enumerate() {
                let at = w * 8 + i;
                if (from..to).contains(&at) {
                    *b = data[at - from];
                }
            }
            self.words[w].store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        }
        Ok(())
    }

    fn sync(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn mapped(&self) -> Option<&[u8]> {
        self.image.as_deref()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

fn payload(seed: u8) -> Vec<u8> {
    vec![seed; LEN]
}

/// A writer over a model segment holding `n` synced records, payloads 1..=n; their offsets.
fn writer(n: u8, mapped: Option<Arc<AtomicBool>>) -> (Writer<ModelIo>, Vec<u64>) {
    let mut scratch = Writer::recover(ModelIo::new(&[]), 0, RecoveryMode::Strict).unwrap();
    let offsets: Vec<u64> = (1..=n).map(|i| scratch.append(&payload(i)).unwrap().0).collect();
    scratch.sync().unwrap();
    let mut bytes = vec![0; SIZE as usize];
    scratch.io().read_at(0, &mut bytes).unwrap();
    let mut io = ModelIo::new(&bytes);
    if let Some(held) = mapped {
        io.image = Some(bytes.into_boxed_slice());
        io.held = Some(held);
    }
    (Writer::recover(io, 0, RecoveryMode::Strict).unwrap(), offsets)
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let builder = loom::model::Builder::new();
    let before = RUNS.load(std::sync::atomic::Ordering::Relaxed);
    builder.check(move || {
        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    // With --test-threads=1 (as .ci/run runs them) the count is this model's alone.
    eprintln!("loom: {} iterations", RUNS.load(std::sync::atomic::Ordering::Relaxed) - before);
}

/// Reader against the writer's publish: a record is invisible until synced, then whole,
/// and an iterator sees a prefix of what was synced, in order.
#[test]
fn reader_sees_only_published_records() {
    model(|| {
        let (mut w, _) = writer(0, None);
        let mut r = w.reader();
        let t = loom::thread::spawn(move || {
            w.append(&payload(7)).unwrap();
            w.sync().unwrap();
            w.append(&payload(8)).unwrap();
            w.sync().unwrap();
        });
        match r.read_record(0, ReadHint::Random) {
            Ok(rec) => assert_eq!(&*rec, &payload(7)[..]),
            Err(e) => assert!(matches!(e, Error::NotVisible { .. }), "{e}"),
        }
        let mut it = r.iter(0);
        for want in [7, 8] {
            match it.next_record().unwrap() {
                Some(rec) => assert_eq!(&*rec, &payload(want)[..]),
                None => break,
            }
        }
        t.join().unwrap();
    });
}

/// Defect 1: a truncation and an unsynced append that overtake a read are never returned.
/// Loading the end before the generation fails this model.
#[test]
fn reader_never_returns_unsynced_record_after_truncate() {
    model(|| {
        let (mut w, offsets) = writer(2, None);
        let mut r = w.reader();
        let cut = offsets[1];
        let t = loom::thread::spawn(move || {
            w.truncate(cut).unwrap();
            w.append(&payload(9)).unwrap();
            // Dropping the writer hands the record to the backend without a sync.
            drop(w);
        });
        match r.read_record(cut, ReadHint::Random) {
            Ok(rec) => assert_eq!(&*rec, &payload(2)[..], "returned a record that was never synced"),
            Err(e) => assert!(matches!(e, Error::NotVisible { end, .. } if end == cut), "{e}"),
        }
        t.join().unwrap();
    });
}

/// Defect 2: a truncation below an iterator's position during its read is reported at
/// once, never read past into the new history.
#[test]
fn iterator_reports_truncation_during_read() {
    model(|| {
        let (mut w, offsets) = writer(3, None);
        let mut r = w.reader();
        let mut it = r.iter(offsets[2]);
        let cut = offsets[1];
        let t = loom::thread::spawn(move || {
            w.truncate(cut).unwrap();
            w.append(&payload(8)).unwrap();
            w.append(&payload(9)).unwrap();
            w.sync().unwrap();
        });
        match it.next_record() {
            Ok(Some(rec)) => assert_eq!(&*rec, &payload(3)[..], "read into the new history"),
            // The truncation had lowered the end, and not yet announced its generation.
            Ok(None) => {}
            Err(e) => assert!(matches!(e, Error::Truncated { truncated_to, .. } if truncated_to == cut), "{e}"),
        }
        t.join().unwrap();
        let again = it.next_record().map(|r| r.map(|r| r.to_vec()));
        assert!(matches!(again, Err(Error::Truncated { truncated_to, .. }) if truncated_to == cut), "{again:?}");
    });
}

/// Defect 6: a truncation never changes bytes under a held zero-copy record; it waits.
#[test]
fn mapped_record_pins_truncated_bytes() {
    model(|| {
        let held = Arc::new(AtomicBool::new(false));
        let (mut w, offsets) = writer(2, Some(Arc::clone(&held)));
        let mut r = w.reader();
        let cut = offsets[1];
        let t = loom::thread::spawn(move || {
            w.truncate(cut).unwrap();
        });
        if let Ok(rec) = r.read_record(offsets[1], ReadHint::Random) {
            held.store(true, Ordering::Release);
            assert_eq!(&*rec, &payload(2)[..]);
            held.store(false, Ordering::Release);
            drop(rec);
        }
        t.join().unwrap();
    });
}

/// Issue 12: a scan serves the records after the first from the window it filled, after one
/// re-check of the generation each. A truncation below the position that lands between two
/// records of that window is noticed before the second is returned: the call returns the
/// old record only if the truncation had not yet announced itself, and the next says
/// `Truncated`. Skipping the re-check fails this model (the window still holds the old,
/// valid records).
#[test]
fn scan_notices_truncation_between_records_of_one_window() {
    model(|| {
        let (mut w, offsets) = writer(3, None);
        let mut r = w.reader();
        let mut it = r.iter(0);
        assert_eq!(&*it.next_record().unwrap().unwrap(), &payload(1)[..]);
        let cut = offsets[0];
        let t = loom::thread::spawn(move || {
            w.truncate(cut).unwrap();
            w.append(&payload(8)).unwrap();
            w.append(&payload(9)).unwrap();
            w.sync().unwrap();
        });
        match it.next_record() {
            Ok(Some(rec)) => assert_eq!(&*rec, &payload(2)[..], "read into the new history"),
            Ok(None) => panic!("a truncation below the position must be reported"),
            Err(e) => assert!(matches!(e, Error::Truncated { truncated_to, .. } if truncated_to == cut), "{e}"),
        }
        t.join().unwrap();
        let again = it.next_record().map(|r| r.map(|r| r.to_vec()));
        assert!(matches!(again, Err(Error::Truncated { truncated_to, .. }) if truncated_to == cut), "{again:?}");
    });
}

/// Issue 12, zero-copy: a record a scan serves from the mapping after the first is pinned
/// by the same re-check, so a truncation in another thread never changes its bytes while it
/// is held, and is reported by the next call.
#[test]
fn scan_pins_mapped_records_after_the_first() {
    model(|| {
        let held = Arc::new(AtomicBool::new(false));
        let (mut w, offsets) = writer(3, Some(Arc::clone(&held)));
        let mut r = w.reader();
        let mut it = r.iter(0);
        assert_eq!(&*it.next_record().unwrap().unwrap(), &payload(1)[..]);
        let cut = offsets[0];
        let t = loom::thread::spawn(move || {
            w.truncate(cut).unwrap();
        });
        match it.next_record() {
            Ok(Some(rec)) => {
                held.store(true, Ordering::Release);
                assert_eq!(&*rec, &payload(2)[..]);
                held.store(false, Ordering::Release);
            }
            Ok(None) => panic!("a truncation below the position must be reported"),
            Err(e) => assert!(matches!(e, Error::Truncated { truncated_to, .. } if truncated_to == cut), "{e}"),
        }
        t.join().unwrap();
        let again = it.next_record().map(|r| r.map(|r| r.to_vec()));
        assert!(matches!(again, Err(Error::Truncated { truncated_to, .. }) if truncated_to == cut), "{again:?}");
    });
}
