//! Durability on every backend: the store dropped and reopened after every operation holds
//! exactly what the operations left; a failed flush reaches the callback and poisons the store.

mod common;

use std::future::Future;
use std::marker::PhantomData;

use common::faulty_dir::FaultyDir;
use common::{C, Model, Op, apply, entry, observe, scenario};
use openraft::RaftLogReader;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::type_config::TypeConfigExt;
use seglog_core::{FsDir, LogOptions, OpenSegment};
use seglog_raft::LogStore;

fn options() -> LogOptions {
    LogOptions::default().segment_size(16 << 10)
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// After every operation, drop the store and reopen it: it holds exactly what the model
/// says (vote, purge watermark, entries, committed id). A reader taken before an append
/// sees the appended entries when `append` returns.
fn reopen_after_every_step<B: OpenSegment + Send + Sync + 'static>(_: PhantomData<B>) {
    let dir = temp_dir();
    let path = dir.path().join("raft");
    C::run(async {
        let mut model = Model::default();
        let mut store = LogStore::<C, B>::open(&path, options()).expect("open");
        for op in scenario() {
            let mut early = store.get_log_reader().await;
            apply(&mut store, &mut model, &op).await.expect("apply");
            if let Op::Append { from, to, .. } = op {
                let seen = early.try_get_log_entries(from..=to).await.expect("read");
                assert_eq!(seen.len() as u64, to - from + 1, "{op:?}: a reader taken before sees the appends");
            }
            drop(store);
            store = LogStore::<C, B>::open(&path, options()).expect("reopen");
            assert_eq!(observe(&mut store).await.expect("observe"), model, "after {op:?} and a reopen");
        }
    });
}

/// A sync that fails reaches the append's callback as an error; the store is poisoned (every
/// later call fails), and reopening keeps every entry acknowledged before the failure.
fn failed_flush_reaches_the_callback_and_poisons<B: OpenSegment + Send + Sync + 'static>(_: PhantomData<B>) {
    let dir = temp_dir();
    let path = dir.path().join("raft");
    C::run(async {
        let (fs, breaker) = FaultyDir::new(FsDir::<B>::new(&path).expect("dir"));
        let mut store = LogStore::<C, _, _>::open_in(fs, options()).expect("open");
        let mut model = Model::default();
        apply(&mut store, &mut model, &Op::Append { term: 1, from: 1, to: 10 }).await.expect("append");
        breaker.break_syncs();
        let (tx, rx) = C::oneshot();
        store.append([entry(1, 11)], IOFlushed::signal(tx)).await.expect("queued");
        let result = rx.await.expect("the callback is called");
        assert!(result.is_err(), "the callback gets the sync's failure");
        let (tx, _rx) = C::oneshot();
        assert!(store.append([entry(1, 12)], IOFlushed::signal(tx)).await.is_err(), "poisoned: append fails");
        assert!(store.save_vote(&openraft::Vote::new(5, 1)).await.is_err(), "poisoned: save_vote fails");
        assert!(store.get_log_state().await.is_err(), "poisoned: get_log_state fails");
        drop(store);
        let mut store = LogStore::<C, B>::open(&path, options()).expect("reopen");
        let seen = observe(&mut store).await.expect("observe");
        let acked: Vec<_> = model.entries.values().cloned().collect();
        let kept: Vec<_> = seen.entries.values().take(acked.len()).cloned().collect();
        assert_eq!(kept, acked, "every acknowledged entry survives");
        assert!(seen.entries.len() <= 11);
    });
}

/// Regression: reading `..` walked every index from 0 up to the first entry held, so a
/// store whose first entry is far from 0 (a follower's first append after a snapshot,
/// without a purge) did not answer. With the walk back this never finishes.
fn first_append_at_a_high_index_reads_back<B: OpenSegment + Send + Sync + 'static>(_: PhantomData<B>) {
    let dir = temp_dir();
    C::run(async {
        let mut store = LogStore::<C, B>::open(dir.path().join("raft"), options()).expect("open");
        let first = 1 << 40;
        let (tx, rx) = C::oneshot();
        store.append([entry(1, first), entry(1, first + 1)], IOFlushed::signal(tx)).await.expect("append");
        rx.await.expect("callback").expect("flushed");
        let mut reader = store.get_log_reader().await;
        let all = reader.try_get_log_entries(..).await.expect("read");
        assert_eq!(all.iter().map(|e| e.index()).collect::<Vec<_>>(), [first, first + 1]);
    });
}

/// Regression: a vote the store wrote after its caller stopped waiting (openraft dropping
/// `save_vote`'s future at shutdown) was not the store's vote, so closing the store wrote
/// the older vote over it: the vote went back.
fn vote_saved_after_its_caller_left_never_goes_back<B: OpenSegment + Send + Sync + 'static>(_: PhantomData<B>) {
    let dir = temp_dir();
    let path = dir.path().join("raft");
    C::run(async {
        let mut store = LogStore::<C, B>::open(&path, options()).expect("open");
        store.save_vote(&openraft::Vote::new(1, 1)).await.expect("vote");
        let newer = openraft::Vote::new(2, 1);
        {
            // Poll once (the vote is queued to the flush thread), then give up on it.
            let mut call = std::pin::pin!(store.save_vote(&newer));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            let _ = call.as_mut().poll(&mut cx);
        }
        drop(store);
        let mut store = LogStore::<C, B>::open(&path, options()).expect("reopen");
        let mut reader = store.get_log_reader().await;
        assert_eq!(reader.read_vote().await.expect("read"), Some(newer), "the vote never goes back");
    });
}

/// The one list of backends: each check runs once per backend.
macro_rules! backends {
    ($($check:ident),* $(,)?) => {
        mod file { use super::*; $( #[test] fn $check() { super::$check(PhantomData::<seglog_file::FileIo>); } )* }
        mod mmap { use super::*; $( #[test] fn $check() { super::$check(PhantomData::<seglog_mmap::MmapIo>); } )* }
        mod direct { use super::*; $( #[test] fn $check() { super::$check(PhantomData::<seglog_direct::DirectIo>); } )* }
    };
}

backends!(
    reopen_after_every_step,
    failed_flush_reaches_the_callback_and_poisons,
    first_append_at_a_high_index_reads_back,
    vote_saved_after_its_caller_left_never_goes_back,
);
