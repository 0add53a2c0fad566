//! openraft's own log-storage suite against `LogStore`, on every backend.

use std::marker::PhantomData;
use std::sync::Arc;

use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use openraft_memstore::{MemStateMachine, TypeConfig};
use seglog_core::{LogOptions, OpenSegment};
use seglog_raft::LogStore;
use tempfile::TempDir;

/// A fresh store in a directory of its own under the target dir, beside openraft's
/// in-memory state machine (the suite tests the log store; the state machine is theirs).
struct Builder<B>(PhantomData<fn() -> B>);

impl<B: OpenSegment + Send + Sync + 'static>
    StoreBuilder<TypeConfig, LogStore<TypeConfig, B>, Arc<MemStateMachine>, TempDir> for Builder<B>
{
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore<TypeConfig, B>, Arc<MemStateMachine>), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
        // Small segments: the suite builds a store per test (46 of them).
        let options = LogOptions::default().segment_size(64 << 10);
        let store = LogStore::open(dir.path().join("raft"), options).expect("open the store");
        let (_, sm) = openraft_memstore::new_mem_store();
        Ok((dir, store, sm))
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
