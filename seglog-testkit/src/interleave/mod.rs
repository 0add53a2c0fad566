//! Deterministic interleavings: run another actor at a chosen point inside a backend call.
//!
//! A race between a reader and the writer (or a follower and a truncation, or anything and
//! a process restart) happens when one runs while the other is inside a backend call:
//! preemption, or a slow `pread`, allows it. [`Hooked`] makes that point explicit: wrap any
//! backend, arm an actor at a [`Point`] (say, after the 2nd `read_at`), and the actor runs
//! right there, on the calling thread, while the call is in flight. [`explore`] then runs a
//! workload once per point its calls pass and per actor step, so a race found once is a
//! reproducible regression test on every backend.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use seglog_core::{Error, ReadHint, RecoveryMode, Writer};
//! use seglog_testkit::MemIo;
//! use seglog_testkit::interleave::{Call, Hooked, Hooks, Point, explore};
//!
//! let explored = explore(1, |hooks, schedule| {
//!     let io = Hooked::new(MemIo::new(4096), Arc::clone(hooks));
//!     let mut w = Writer::recover(io, 0, RecoveryMode::Strict).unwrap();
//!     let (at, _) = w.append(b"old").unwrap();
//!     w.sync().unwrap();
//!     let mut r = w.reader();
//!     hooks.reset_counts(); // count only the reader's calls from here
//!     if let Some(s) = schedule {
//!         // The actor: the writer cuts the record while the reader is reading it.
//!         let w = Arc::new(Mutex::new(w));
//!         hooks.at(s.point, move || w.lock().unwrap().truncate(0).unwrap());
//!     }
//!     let got = r.read_record(at, ReadHint::Random).map(|rec| rec.to_vec());
//!     hooks.stop(); // the reader's call is over: later calls are not points
//!     match got {
//!         Ok(rec) => assert!(schedule.is_none() && rec == b"old"),
//!         Err(e) => assert!(schedule.is_some() && matches!(e, Error::NotVisible { .. }), "{e}"),
//!     }
//! });
//! assert!(explored.schedules >= 2);
//! ```
//!
//! Handles opened by path ([`OpenSegment`](seglog_core::OpenSegment), as followers and
//! `Reader::open` do) take the hooks [`attach`](Hooks::attach)ed to that path. Calls an
//! actor makes are not counted and fire nothing, so an actor may use the same handle.

mod checks;
mod explore;
mod files;
mod hooked;
mod stress;

pub use checks::*;
pub use explore::{Explored, Schedule, explore};
pub use files::*;
pub use hooked::{Actor, Call, Hooked, Hooks, Phase, Point};
pub use stress::readers_see_only_durable_records_under_stress;
