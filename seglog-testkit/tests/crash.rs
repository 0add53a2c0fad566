//! Crash-state exploration, the one place that lists the backends it runs on:
//! `cargo test -p seglog-testkit --test crash file` selects one.
//!
//! `SEGLOG_CRASH_SEED` sets the seed (default: a fixed one, so CI is reproducible) and
//! `SEGLOG_CRASH_STATES` the number of crash states per backend (default 10,000). Run with
//! `--nocapture` to see how many states were explored.

use seglog_direct::DirectIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_testkit::util::env_number;
use seglog_testkit::{FileHarness, MemHarness};

/// Segment files go under the target directory: a real filesystem, never tmpfs.
const DIR: &str = env!("CARGO_TARGET_TMPDIR");

macro_rules! crash_tests {
    ($name:ident, $harness:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn crash_states() {
                let seed = env_number("SEGLOG_CRASH_SEED", 0x5e6_106);
                let states = env_number("SEGLOG_CRASH_STATES", 10_000) as usize;
                let mut harness = $harness;
                let started = std::time::Instant::now();
                let stats = seglog_testkit::crash::explore(&mut harness, seed, states);
                println!("crash states [{}] seed {seed}: {stats} in {:.1?}", stringify!($name), started.elapsed());
                assert!(stats.states >= states);
            }
        }
    };
}

crash_tests!(mem, MemHarness::new());
crash_tests!(file, FileHarness::<FileIo>::new_in(DIR));
crash_tests!(mmap, FileHarness::<MmapIo>::new_in(DIR));
crash_tests!(direct, FileHarness::<DirectIo>::new_in(DIR));
