//! openraft's own storage suite against `LogStore` and the tests' key-value state machine,
//! on every backend.

mod common;

use std::marker::PhantomData;

use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use seglog_core::{LogOptions, OpenSegment};
use seglog_raft::LogStore;
use tempfile::TempDir;

use common::kv::{Kv as TypeConfig, KvStateMachine};

/// A fresh store in a directory of its own under the target dir, beside the tests'
/// key-value state machine (the suite checks both).
struct Builder<B>(PhantomData<fn() -> B>);

impl<B: OpenSegment + Send + Sync + 'static> StoreBuilder<TypeConfig, LogStore<TypeConfig, B>, KvStateMachine, TempDir>
    for Builder<B>
{
    async fn build(&self) -> Result<(TempDir, LogStore<TypeConfig, B>, KvStateMachine), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
        // Small segments: the suite builds a store per test (46 of them).
        let options = LogOptions::default().segment_size(64 << 10);
        let store = LogStore::open(dir.path().join("raft"), options).expect("open the store");
        Ok((dir, store, KvStateMachine::default()))
    }
}

/// The one list of backends these tests run on.
macro_rules! backends {
    ($($name:ident => $io:ty),* $(,)?) => {$(
        #[test]
        fn $name() {
            TypeConfig::run(async { Suite::test_all(Builder::<$io>(PhantomData)).await.expect("suite") });
        }
    )*};
}

backends! {
    openraft_suite_file => seglog_file::FileIo,
    openraft_suite_mmap => seglog_mmap::MmapIo,
    openraft_suite_direct => seglog_direct::DirectIo,
}
