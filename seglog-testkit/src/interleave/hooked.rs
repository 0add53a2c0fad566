//! The hook decorator: runs an actor at a chosen point inside a backend call.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use seglog_core::{OpenSegment, Preallocation, SegmentIo};

use crate::{Decorator, decorate_segment_io};

/// Which backend call a [`Point`] is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// `read_at`.
    Read,
    /// `write_at`.
    Write,
    /// `sync`.
    Sync,
    /// `mapped`: a zero-copy reader asking for the mapping. `After` runs once the caller has
    /// the slice and before it reads a byte of it.
    Mapped,
}

/// Whether a [`Point`] is before the inner backend runs the call, or after it returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the inner call.
    Before,
    /// After the inner call returned.
    After,
}

/// One place inside one backend call: the `index`-th (from 0) call of kind `call` that the
/// [`Hooks`] saw, at `phase`. Calls made by a running actor are not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Point {
    /// The kind of call.
    pub call: Call,
    /// Before or after the inner backend ran it.
    pub phase: Phase,
    /// Which call of that kind, counting from 0.
    pub index: usize,
}

impl Point {
    /// The point before the `index`-th call of kind `call`.
    pub fn before(call: Call, index: usize) -> Self {
        Self { call, phase: Phase::Before, index }
    }

    /// The point after the `index`-th call of kind `call`.
    pub fn after(call: Call, index: usize) -> Self {
        Self { call, phase: Phase::After, index }
    }
}

/// Something to run at a point: a writer's append, sync or truncate, a follower's poll, a
/// process restart. It runs on the thread that made the call, inside the call.
pub type Actor = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    counts: HashMap<Call, usize>,
    trace: Vec<Point>,
    armed: Vec<(Point, Actor)>,
    fired: usize,
    stopped: bool,
}

/// The hooks a [`Hooked`] backend consults at every call: counts calls, records the points
/// passed, and runs the actor armed at a point when the call reaches it (once).
///
/// Share one `Hooks` between every handle whose calls should count together (clone the
/// `Arc`), or [`attach`](Hooks::attach) it to a path so handles opened by path use it.
#[derive(Default)]
pub struct Hooks {
    state: Mutex<State>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Hooks").field("points", &st.trace.len()).field("armed", &st.armed.len()).finish()
    }
}

thread_local! {
    /// True while this thread runs an actor: its calls pass straight through, uncounted, so
    /// an actor that writes through the same hooked handle does not move the schedule.
    static IN_ACTOR: Cell<bool> = const { Cell::new(false) };
}

fn registry() -> MutexGuard<'static, HashMap<PathBuf, Arc<Hooks>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<Hooks>>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner())
}

impl Hooks {
    /// New hooks with nothing armed.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Runs `actor` when a call reaches `point` (once). Several actors may be armed.
    pub fn at(&self, point: Point, actor: impl FnOnce() + Send + 'static) {
        self.lock().armed.push((point, Box::new(actor)));
    }

    /// Every point passed so far, in order (actors' own calls excluded).
    pub fn trace(&self) -> Vec<Point> {
        self.lock().trace.clone()
    }

    /// How many armed actors have run.
    pub fn fired(&self) -> usize {
        self.lock().fired
    }

    /// How many actors are armed and have not run.
    pub fn pending(&self) -> usize {
        self.lock().armed.len()
    }

    /// Forgets the counts and the trace (armed actors stay): points then count from here.
    pub fn reset_counts(&self) {
        let mut st = self.lock();
        st.counts.clear();
        st.trace.clear();
    }

    /// Stops counting, tracing and firing: later calls pass straight through. Call it when
    /// the operation under test is over, so calls after it (a writer's drop, say) are not
    /// points of the schedule.
    pub fn stop(&self) {
        self.lock().stopped = true;
    }

    /// Makes [`Hooked`] handles opened by path at `path` (through [`OpenSegment`]) use these
    /// hooks, until [`detach`](Hooks::detach). Handles opened elsewhere get inert hooks.
    pub fn attach(self: &Arc<Self>, path: &Path) {
        registry().insert(path.to_path_buf(), Arc::clone(self));
    }

    /// Stops attaching hooks to handles opened at `path` from now on.
    pub fn detach(path: &Path) {
        registry().remove(path);
    }

    /// The hooks attached to `path`, or fresh inert ones.
    pub fn for_path(path: &Path) -> Arc<Self> {
        registry().get(path).cloned().unwrap_or_default()
    }

    /// True while the current thread is running an actor.
    pub fn in_actor() -> bool {
        IN_ACTOR.with(Cell::get)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Passes `call` at `phase`: counts it (on `Before`), records the point, and runs the
    /// actors armed there, outside the lock.
    fn pass(&self, call: Call, phase: Phase) {
        if Self::in_actor() {
            return;
        }
        let due: Vec<Actor> = {
            let mut st = self.lock();
            if st.stopped {
                return;
            }
            let count = st.counts.entry(call).or_insert(0);
            let index = match phase {
                Phase::Before => {
                    *count += 1;
                    *count - 1
                }
                Phase::After => count.saturating_sub(1),
            };
            let point = Point { call, phase, index };
            st.trace.push(point);
            let (due, keep): (Vec<_>, Vec<_>) =
                std::mem::take(&mut st.armed).into_iter().partition(|(p, _)| *p == point);
            st.armed = keep;
            st.fired += due.len();
            due.into_iter().map(|(_, a)| a).collect()
        };
        for actor in due {
            IN_ACTOR.with(|c| c.set(true));
            // Reset even if the actor panics, so the panic reports from the right place.
            struct Leave;
            impl Drop for Leave {
                fn drop(&mut self) {
                    IN_ACTOR.with(|c| c.set(false));
                }
            }
            let _leave = Leave;
            actor();
        }
    }
}

/// A backend decorator whose every call passes through [`Hooks`]: before and after the
/// inner backend runs it, an armed actor may run. Clones share the backend and the hooks.
///
/// Implements [`OpenSegment`] when `B` does, taking its hooks from the path's
/// [`attach`](Hooks::attach)ed ones, so path-opened readers and followers can be hooked.
pub struct Hooked<B> {
    inner: Arc<B>,
    hooks: Arc<Hooks>,
}

impl<B> Clone for Hooked<B> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner), hooks: Arc::clone(&self.hooks) }
    }
}

impl<B: fmt::Debug> fmt::Debug for Hooked<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooked").field("inner", &self.inner).field("hooks", &self.hooks).finish()
    }
}

impl<B: SegmentIo> Hooked<B> {
    /// Wraps `inner`, passing each call through `hooks`.
    pub fn new(inner: B, hooks: Arc<Hooks>) -> Self {
        Self { inner: Arc::new(inner), hooks }
    }

    /// The hooks.
    pub fn hooks(&self) -> &Arc<Hooks> {
        &self.hooks
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn around<T>(&self, call: Call, f: impl FnOnce() -> T) -> T {
        self.hooks.pass(call, Phase::Before);
        let out = f();
        self.hooks.pass(call, Phase::After);
        out
    }
}

impl<B: SegmentIo> Decorator for Hooked<B> {
    type Inner = B;

    fn inner(&self) -> &B {
        &self.inner
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.around(Call::Read, || self.inner.read_at(offset, buf))
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.around(Call::Write, || self.inner.write_at(offset, data))
    }

    fn sync(&self) -> io::Result<()> {
        self.around(Call::Sync, || self.inner.sync())
    }

    fn mapped(&self) -> Option<&[u8]> {
        // Only a backend that maps has this point, so schedules stay the same elsewhere.
        self.inner.mapped()?;
        self.around(Call::Mapped, || self.inner.mapped())
    }

    // `next_data` is not a hook point: it moves no bytes, and the schedules stay as they were.
}
decorate_segment_io!(Hooked);

impl<B: SegmentIo + AsRef<std::fs::File>> AsRef<std::fs::File> for Hooked<B> {
    fn as_ref(&self) -> &std::fs::File {
        (*self.inner).as_ref()
    }
}

impl<B: OpenSegment> OpenSegment for Hooked<B> {
    fn create(path: &Path, size: u64, prealloc: Preallocation) -> io::Result<Self> {
        Ok(Self::new(B::create(path, size, prealloc)?, Hooks::for_path(path)))
    }

    fn open_writer(path: &Path) -> io::Result<Self> {
        Ok(Self::new(B::open_writer(path)?, Hooks::for_path(path)))
    }

    fn open_reader(path: &Path) -> io::Result<Self> {
        Ok(Self::new(B::open_reader(path)?, Hooks::for_path(path)))
    }
}
