//! The one place that lists the backends: each line runs every suite against one.
//! `cargo test -p seglog-testkit file` selects a backend by name.

use seglog_direct::DirectIo;
use seglog_file::FileIo;
use seglog_mmap::MmapIo;
use seglog_testkit::{FileHarness, MemHarness, SparseHarness, backend_tests, file_backend_tests};

/// Segment files go under the target directory: a real filesystem, never tmpfs.
const DIR: &str = env!("CARGO_TARGET_TMPDIR");

backend_tests!(mem, MemHarness::new());
backend_tests!(mem_aligned, MemHarness::with_alignment(4096));
backend_tests!(mem_sparse, SparseHarness(MemHarness::new()));
file_backend_tests!(file, FileHarness::<FileIo>::new_in(DIR));
file_backend_tests!(mmap, FileHarness::<MmapIo>::new_in(DIR));
file_backend_tests!(direct, FileHarness::<DirectIo>::new_in(DIR));
