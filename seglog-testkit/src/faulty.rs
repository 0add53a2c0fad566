//! Fault injection as a decorator around any backend.

use std::io;
use std::sync::{Arc, Mutex};

use seglog_core::SegmentIo;

use crate::{Decorator, decorate_segment_io};

/// One backend call, as [`Faulty`] logs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `write_at(offset, len bytes)`; `ok` is false if it failed.
    Write {
        /// Where.
        offset: u64,
        /// How many bytes were asked for.
        len: usize,
        /// Whether it succeeded.
        ok: bool,
    },
    /// `sync()`.
    Sync {
        /// Whether it succeeded.
        ok: bool,
    },
}

/// What to break. Counts are of calls made through this wrapper, from 0.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Fail the write call with this index, and every later one.
    pub fail_write: Option<usize>,
    /// Before failing a write, write this many of its bytes (a short write).
    pub short_write: usize,
    /// The error kind failed writes return (`Other` = EIO-like by default).
    pub write_error: Option<io::ErrorKind>,
    /// Fail the sync call with this index, and every later one; its writes have reached
    /// the inner backend, as they reach the page cache before a real `fsync` fails.
    pub fail_sync: Option<usize>,
    /// Fail every read that touches bytes at or past this offset. While set, `next_data`
    /// answers "unknown", so a scan reads (and fails) rather than skips the bytes.
    pub fail_reads_from: Option<u64>,
    /// Fail every `next_data` call, as a failing `lseek(SEEK_DATA)` would.
    pub fail_next_data: bool,
}

#[derive(Debug, Default)]
struct State {
    plan: Plan,
    reads: usize,
    writes: usize,
    syncs: usize,
    log: Vec<Op>,
}

/// Wraps a backend and fails the calls its [`Plan`] names; clones share the backend, the
/// plan and the log.
#[derive(Debug)]
pub struct Faulty<B> {
    inner: Arc<B>,
    state: Arc<Mutex<State>>,
}

impl<B> Clone for Faulty<B> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner), state: Arc::clone(&self.state) }
    }
}

impl<B: SegmentIo> Faulty<B> {
    /// Wraps `inner`, failing as `plan` says.
    pub fn new(inner: B, plan: Plan) -> Self {
        Self { inner: Arc::new(inner), state: Arc::new(Mutex::new(State { plan, ..State::default() })) }
    }

    /// Replaces the plan (counts carry on).
    pub fn set_plan(&self, plan: Plan) {
        self.lock().plan = plan;
    }

    /// The calls made so far.
    pub fn log(&self) -> Vec<Op> {
        self.lock().log.clone()
    }

    /// How many `read_at` calls reached this wrapper.
    pub fn reads(&self) -> usize {
        self.lock().reads
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn injected(kind: io::ErrorKind, what: &str) -> io::Error {
    io::Error::new(kind, format!("injected {what} failure"))
}

impl<B: SegmentIo> Decorator for Faulty<B> {
    type Inner = B;

    fn inner(&self) -> &B {
        &self.inner
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut st = self.lock();
        st.reads += 1;
        let fail_from = st.plan.fail_reads_from;
        drop(st);
        if let Some(from) = fail_from
            && offset + buf.len() as u64 > from
        {
            return Err(injected(io::ErrorKind::Other, "read"));
        }
        self.inner.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        let index = st.writes;
        st.writes += 1;
        if st.plan.fail_write.is_some_and(|n| index >= n) {
            let part = st.plan.short_write.min(data.len());
            let kind = st.plan.write_error.unwrap_or(io::ErrorKind::Other);
            st.log.push(Op::Write { offset, len: data.len(), ok: false });
            drop(st);
            if part > 0 {
                self.inner.write_at(offset, &data[..part])?;
            }
            return Err(injected(kind, "write"));
        }
        st.log.push(Op::Write { offset, len: data.len(), ok: true });
        drop(st);
        self.inner.write_at(offset, data)
    }

    fn sync(&self) -> io::Result<()> {
        let mut st = self.lock();
        let index = st.syncs;
        st.syncs += 1;
        let fail = st.plan.fail_sync.is_some_and(|n| index >= n);
        st.log.push(Op::Sync { ok: !fail });
        drop(st);
        if fail {
            return Err(injected(io::ErrorKind::Other, "sync"));
        }
        self.inner.sync()
    }

    fn mapped(&self) -> Option<&[u8]> {
        if self.lock().plan.fail_reads_from.is_some() {
            // Reads must go through read_at to be failed.
            return None;
        }
        self.inner.mapped()
    }

    fn next_data(&self, offset: u64) -> io::Result<Option<std::ops::Range<u64>>> {
        let st = self.lock();
        let (fail, unknown) = (st.plan.fail_next_data, st.plan.fail_reads_from.is_some());
        drop(st);
        if fail {
            return Err(injected(io::ErrorKind::Other, "next_data"));
        }
        if unknown {
            let size = self.inner.size();
            return Ok((offset < size).then_some(offset..size));
        }
        self.inner.next_data(offset)
    }
}
decorate_segment_io!(Faulty);
