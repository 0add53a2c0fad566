//! A scenario of store operations and a model of what each leaves, shared by the reopen and
//! crash tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io;

use openraft::alias::{EntryOf, LogIdOf, VoteOf};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::testing::log_id;
use openraft::type_config::TypeConfigExt;
use openraft::{RaftLogReader, Vote};

pub mod faulty_dir;
pub mod kv;
pub mod router;

pub use kv::Kv as C;

/// One step of a scenario.
#[derive(Clone, Debug)]
pub enum Op {
    /// Append entries `from..=to` of `term` (payload sizes vary), in calls of up to 3
    /// entries, all queued before any callback is awaited.
    Append {
        term: u64,
        from: u64,
        to: u64,
    },
    Vote(u64),
    /// Append entries `from..=to` of `term` and save a vote for `vote` without waiting for
    /// the append's callback: the vote must not be durable without the entries.
    AppendThenVote {
        term: u64,
        from: u64,
        to: u64,
        vote: u64,
    },
    Commit {
        term: u64,
        index: u64,
    },
    TruncateAfter(Option<(u64, u64)>),
    Purge {
        term: u64,
        index: u64,
    },
}

/// A scenario that rolls segments, truncates into older ones, purges within the log and past
/// its end, and votes between appends; log ids never repeat, so what comes back is known.
pub fn scenario() -> Vec<Op> {
    use Op::*;
    vec![
        Vote(1),
        Append { term: 1, from: 1, to: 40 },
        Commit { term: 1, index: 20 },
        TruncateAfter(Some((1, 25))),
        Vote(2),
        Append { term: 2, from: 26, to: 70 },
        Purge { term: 2, index: 33 },
        Append { term: 2, from: 71, to: 80 },
        TruncateAfter(Some((2, 60))),
        Vote(3),
        Append { term: 3, from: 61, to: 75 },
        Commit { term: 3, index: 70 },
        Purge { term: 3, index: 90 },
        Append { term: 3, from: 91, to: 100 },
        Vote(4),
        TruncateAfter(Some((3, 95))),
        Append { term: 4, from: 96, to: 110 },
        AppendThenVote { term: 4, from: 111, to: 130, vote: 5 },
        AppendThenVote { term: 5, from: 131, to: 133, vote: 6 },
    ]
}

pub fn entry(term: u64, index: u64) -> EntryOf<C> {
    // 100 to 1,100 bytes, so 16 KiB segments roll every few dozen entries.
    let status: String = "x".repeat(100 + ((index * 7919 + term * 104_729) % 1000) as usize);
    EntryOf::<C>::new_normal(log_id::<C>(term, 1, index), kv::Set { key: format!("k{index}"), value: status })
}

/// What the store must hold after a sequence of completed operations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub vote: Option<VoteOf<C>>,
    pub purged: Option<LogIdOf<C>>,
    pub entries: BTreeMap<u64, LogIdOf<C>>,
    pub committed: Option<LogIdOf<C>>,
}

impl Model {
    pub fn last(&self) -> Option<LogIdOf<C>> {
        self.entries.values().next_back().cloned().max(self.purged)
    }
}

/// Runs `op` on `store` (awaiting every callback) and on `model`; returns the log ids it
/// appended or cut.
pub async fn apply<S: RaftLogStorage<C>>(store: &mut S, model: &mut Model, op: &Op) -> io::Result<Vec<LogIdOf<C>>> {
    match *op {
        Op::Append { term, from, to } => {
            let mut waits = Vec::new();
            let mut ids = Vec::new();
            let mut i = from;
            while i <= to {
                let chunk: Vec<_> = (i..=to.min(i + 2)).map(|j| entry(term, j)).collect();
                i += chunk.len() as u64;
                for e in &chunk {
                    model.entries.insert(e.index(), e.log_id());
                    ids.push(e.log_id());
                }
                let (tx, rx) = C::oneshot();
                store.append(chunk, IOFlushed::signal(tx)).await?;
                waits.push(rx);
            }
            for rx in waits {
                rx.await.map_err(|_| io::Error::other("callback dropped"))??;
            }
            Ok(ids)
        }
        Op::AppendThenVote { term, from, to, vote } => {
            let entries: Vec<_> = (from..=to).map(|j| entry(term, j)).collect();
            let ids: Vec<_> = entries.iter().map(|e| e.log_id()).collect();
            for e in &entries {
                model.entries.insert(e.index(), e.log_id());
            }
            let (tx, rx) = C::oneshot();
            store.append(entries, IOFlushed::signal(tx)).await?;
            let vote = Vote::new(vote, 1);
            store.save_vote(&vote).await?;
            model.vote = Some(vote);
            rx.await.map_err(|_| io::Error::other("callback dropped"))??;
            Ok(ids)
        }
        Op::Vote(term) => {
            let vote = Vote::new(term, 1);
            store.save_vote(&vote).await?;
            model.vote = Some(vote);
            Ok(vec![])
        }
        Op::Commit { term, index } => {
            let id = log_id::<C>(term, 1, index);
            store.save_committed(Some(id)).await?;
            model.committed = Some(id);
            Ok(vec![])
        }
        Op::TruncateAfter(at) => {
            let at = at.map(|(t, i)| log_id::<C>(t, 1, i));
            store.truncate_after(at).await?;
            let from = at.map_or(0, |l| l.index() + 1);
            Ok(model.entries.split_off(&from).into_values().collect())
        }
        Op::Purge { term, index } => {
            let id = log_id::<C>(term, 1, index);
            store.purge(id).await?;
            model.purged = Some(id);
            let kept = model.entries.split_off(&(index + 1));
            let gone = std::mem::replace(&mut model.entries, kept);
            Ok(gone.into_values().collect())
        }
    }
}

/// What a store holds, read through its public API.
pub async fn observe<S: RaftLogStorage<C>>(store: &mut S) -> io::Result<Model> {
    let state = store.get_log_state().await?;
    let mut reader = store.get_log_reader().await;
    let entries = reader.try_get_log_entries(..).await?;
    let vote = reader.read_vote().await?;
    let committed = store.read_committed().await?;
    let entries: BTreeMap<_, _> = entries.iter().map(|e| (e.index(), e.log_id())).collect();
    let model = Model { vote, purged: state.last_purged_log_id, entries, committed };
    assert_eq!(state.last_log_id, model.last(), "the log state's last id is the last entry held");
    if let (Some(first), Some(last)) = (model.entries.keys().next(), model.entries.keys().next_back()) {
        assert_eq!(
            *first,
            model.purged.map_or(*first, |p| p.index() + 1),
            "entries start right after the purge watermark"
        );
        assert_eq!(last - first + 1, model.entries.len() as u64, "entries are consecutive");
    }
    Ok(model)
}
