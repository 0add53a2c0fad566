//! Crash-state exploration of the log, the one place that lists the backends it runs on:
//! `cargo test -p seglog-testkit --test log_crash file` selects one.
//!
//! `SEGLOG_CRASH_SEED` sets the seed and `SEGLOG_LOG_CRASH_STATES` the number of crash states
//! per backend (default 10,000). Run with `--nocapture` to see what was covered.

use seglog_direct::DirectIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_testkit::logcrash::{FsTarget, SimTarget, explore};
use seglog_testkit::util::env_number;

/// Log directories go under the target directory: a real filesystem, never tmpfs.
const DIR: &str = env!("CARGO_TARGET_TMPDIR");

macro_rules! log_crash_tests {
    ($name:ident, $target:expr) => {
        #[test]
        fn $name() {
            let seed = env_number("SEGLOG_CRASH_SEED", 0x10_6c4a5);
            let states = env_number("SEGLOG_LOG_CRASH_STATES", 10_000) as usize;
            let mut target = $target;
            let started = std::time::Instant::now();
            let stats = explore(&mut target, seed, states);
            println!("log crash states [{}] seed {seed:#x}: {stats} in {:.1?}", stringify!($name), started.elapsed());
            assert!(stats.states >= states);
            assert!(stats.lost_dir_ops > 0 && stats.mid_dir_ops > 0 && stats.flipped > 0);
        }
    };
}

log_crash_tests!(mem, SimTarget::new(1));
log_crash_tests!(mem_aligned, SimTarget::new(4096));
log_crash_tests!(file, FsTarget::<FileIo>::new_in(DIR, 1));
log_crash_tests!(mmap, FsTarget::<MmapIo>::new_in(DIR, 1));
log_crash_tests!(direct, FsTarget::<DirectIo>::new_in(DIR, 4096));

/// A reader after every event of the writer (forced interleavings, in memory).
#[test]
fn readers_at_every_event() {
    let seed = env_number("SEGLOG_CRASH_SEED", 0x10_6c4a5);
    let checked = seglog_testkit::logcrash::readers_at_every_event(seed, 150);
    println!("log readers: {checked} whole-log reads checked, one after every writer event");
    assert!(checked > 1000);
}

/// A failed directory sync poisons the log; a crash then keeps every synced record.
#[test]
fn failed_directory_sync_poisons_the_log() {
    seglog_testkit::log_faults::failed_directory_sync_poisons_the_log();
}
