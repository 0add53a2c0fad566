//! The suites and the crash explorer fail for a backend whose `sync` does nothing: the
//! planted bug a conformance suite must catch, on every backend where it can be seen.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};

use seglog_core::SegmentIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_testkit::{Decorator, FileHarness, Harness, MemHarness, crash, decorate_segment_io, durability};

/// Segment files go under the target directory: a real filesystem, never tmpfs.
const DIR: &str = env!("CARGO_TARGET_TMPDIR");

/// Any backend with its `sync` planted as a no-op that reports success.
#[derive(Debug)]
struct NoSync<B>(B);

impl<B: SegmentIo> Decorator for NoSync<B> {
    type Inner = B;

    fn inner(&self) -> &B {
        &self.0
    }

    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}
decorate_segment_io!(NoSync);

/// A harness whose handles are wrapped in [`NoSync`].
struct NoSyncHarness<H>(H);

impl<H: Harness> Harness for NoSyncHarness<H> {
    type Io = NoSync<H::Io>;

    fn create(&mut self, size: u64) -> io::Result<Self::Io> {
        self.0.create(size).map(NoSync)
    }

    fn open_writer(&mut self) -> io::Result<Self::Io> {
        self.0.open_writer().map(NoSync)
    }

    fn open_reader(&mut self) -> io::Result<Self::Io> {
        self.0.open_reader().map(NoSync)
    }

    fn contents(&mut self) -> Vec<u8> {
        self.0.contents()
    }

    fn overwrite(&mut self, offset: u64, bytes: &[u8]) {
        self.0.overwrite(offset, bytes)
    }

    fn power_loss(&mut self) -> io::Result<()> {
        self.0.power_loss()
    }
}

/// Runs `check` and returns its panic message; fails the test if it did not panic.
fn panics(check: impl FnOnce()) -> String {
    let Err(p) = catch_unwind(AssertUnwindSafe(check)) else {
        panic!("the check passed a backend whose sync does nothing")
    };
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

/// True if this machine's kernel can answer cachestat(2), so the check can run.
fn cachestat_works() -> bool {
    let file = std::fs::File::open(env!("CARGO_MANIFEST_PATH")).expect("the manifest opens");
    match seglog_cachestat::cachestat(&file, 0, None) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipped: {e}");
            false
        }
    }
}

#[test]
fn dirty_pages_check_catches_a_noop_sync_on_files() {
    if !cachestat_works() {
        return;
    }
    let msg = panics(|| durability::sync_leaves_no_dirty_pages(&mut NoSyncHarness(FileHarness::<FileIo>::new_in(DIR))));
    // Normally the first sync is caught; a global sync(2) by another process could flush
    // the pages first, so any of the checked syncs may be the one named.
    assert!(msg.starts_with("durability: after a successful"), "{msg}");
    assert!(msg.contains("pages of") && msg.contains("dirty"), "{msg}");
}

#[test]
fn dirty_pages_check_catches_a_noop_sync_on_mmap() {
    if !cachestat_works() {
        return;
    }
    let msg = panics(|| durability::sync_leaves_no_dirty_pages(&mut NoSyncHarness(FileHarness::<MmapIo>::new_in(DIR))));
    assert!(msg.starts_with("durability: after a successful"), "{msg}");
}

#[test]
fn power_loss_check_catches_a_noop_sync_on_mem() {
    for mut harness in [NoSyncHarness(MemHarness::new()), NoSyncHarness(MemHarness::with_alignment(4096))] {
        let msg = panics(|| durability::power_loss_keeps_synced_records(&mut harness));
        assert!(msg.starts_with("durability: after a power loss 0 records read back"), "{msg}");
    }
}

#[test]
fn crash_explorer_catches_a_noop_sync_on_mem() {
    let msg = panics(|| {
        // Seed 1's first workload syncs (not every random workload does).
        crash::explore(&mut NoSyncHarness(MemHarness::new()), 1, 50);
    });
    assert!(msg.starts_with("crash explorer: durability: after the backend's power loss byte"), "{msg}");
    assert!(msg.contains("its sync does not make writes durable"), "{msg}");
}
