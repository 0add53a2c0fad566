//! Model-based tests, the one place that lists the backends they run on:
//! `cargo test -p seglog-testkit --test model file` selects one. `PROPTEST_CASES` sets the
//! number of cases per backend (default 64).

use proptest::prelude::*;
use seglog_direct::DirectIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_testkit::model::{check_model, config, ops};
use seglog_testkit::{FileHarness, MemHarness};

/// Segment files go under the target directory: a real filesystem, never tmpfs.
const DIR: &str = env!("CARGO_TARGET_TMPDIR");

macro_rules! model_tests {
    ($name:ident, $harness:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            proptest! {
                #![proptest_config(config())]
                #[test]
                fn matches_the_model(ops in ops()) {
                    check_model(|| $harness, ops);
                }
            }
        }
    };
}

model_tests!(mem, MemHarness::new());
model_tests!(file, FileHarness::<FileIo>::new_in(DIR));
model_tests!(mmap, FileHarness::<MmapIo>::new_in(DIR));
model_tests!(direct, FileHarness::<DirectIo>::new_in(DIR));
