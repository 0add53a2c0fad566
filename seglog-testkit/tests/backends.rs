//! The one place that lists the backends: each line runs both suites against one.
//! `cargo test -p seglog-testkit file` selects a backend by name.

use seglog_file::FileIo;
use seglog_testkit::{FileHarness, MemHarness, backend_tests, file_backend_tests};

/// Segment files go under the target directory: a real filesystem, never tmpfs.
const DIR: &str = env!("CARGO_TARGET_TMPDIR");

backend_tests!(mem, MemHarness::new());
file_backend_tests!(file, FileHarness::<FileIo>::new_in(DIR));
