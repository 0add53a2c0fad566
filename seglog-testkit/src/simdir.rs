//! A simulated log directory: segment files in memory whose bytes *and directory entries*
//! are either durable or live, so the images a power loss could leave can be built. A write
//! is durable after the file's `sync`; a create, rename or remove after the directory's.
//!
//! Every change is an *event*, counted from 0. [`SimDir::capture_at`] names events after
//! which the whole state is captured as a [`DirSnapshot`]; [`DirSnapshot::image`] then draws
//! one crash image from it: the durable entries with each later directory operation kept or
//! lost independently, and each file's durable bytes with any subset of its pending
//! 512-byte pieces landed, in any order, at most one torn (as [`crate::crash`] does).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use seglog_core::{LogDir, Preallocation, SegmentIo};

use crate::crash::Snapshot;
use crate::util::Rng;

mod snapshot;

use snapshot::SnapOp;
pub use snapshot::{DirImage, DirSnapshot};

#[derive(Debug, Default)]
struct FileState {
    live: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<(u64, Vec<u8>)>,
}

type FileRef = Arc<Mutex<FileState>>;

/// What [`SimDir::set_hook`] runs.
#[derive(Clone)]
struct Hook(Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Debug)]
enum DirOp {
    Create(String, FileRef),
    Rename(String, String),
    Remove(String),
}

#[derive(Debug, Default)]
struct DirState {
    live: BTreeMap<String, FileRef>,
    durable: BTreeMap<String, FileRef>,
    pending: Vec<DirOp>,
    locked: bool,
}

#[derive(Debug, Default)]
struct Core {
    dir: Mutex<DirState>,
    events: Mutex<u64>,
    capture_at: Mutex<BTreeSet<u64>>,
    /// Captures each event with probability 1 / the number, drawing from the generator.
    sampler: Mutex<Option<(Rng, usize)>>,
    /// Runs after every event, in the thread that made it, with the event's number.
    hook: Mutex<Option<Hook>>,
    /// When set, directory syncs fail (and make nothing durable).
    fail_syncs: Mutex<bool>,
    captured: Mutex<Vec<(u64, DirSnapshot)>>,
}

impl Core {
    /// Counts one event and captures the state after it if asked to.
    fn event(&self) {
        // Held to the end: the count, the hook and the capture are one step. Another
        // thread's event (a background pre-creation) cannot slip between them, and
        // `SimDir::events` waits, so a captured state is never later than its number says.
        // Nothing here waits on an event while holding a file's or the directory's lock.
        let mut events = lock(&self.events);
        *events += 1;
        let n = *events;
        let hook = lock(&self.hook).clone();
        if let Some(Hook(hook)) = hook {
            hook(n);
        }
        let sampled = lock(&self.sampler).as_mut().is_some_and(|(rng, one_in)| rng.below(*one_in) == 0);
        if sampled || lock(&self.capture_at).contains(&n) {
            let snap = self.snapshot();
            lock(&self.captured).push((n, snap));
        }
        drop(events);
    }

    fn snapshot(&self) -> DirSnapshot {
        let dir = lock(&self.dir);
        let mut files = HashMap::new();
        let mut id_of = |f: &FileRef| {
            let id = Arc::as_ptr(f) as usize;
            files.entry(id).or_insert_with(|| {
                let s = lock(f);
                Snapshot { durable: s.durable.clone(), pending: s.pending.clone() }
            });
            id
        };
        let durable = dir.durable.iter().map(|(n, f)| (n.clone(), id_of(f))).collect();
        let ops = dir
            .pending
            .iter()
            .map(|op| match op {
                DirOp::Create(n, f) => SnapOp::Create(n.clone(), id_of(f)),
                DirOp::Rename(a, b) => SnapOp::Rename(a.clone(), b.clone()),
                DirOp::Remove(n) => SnapOp::Remove(n.clone()),
            })
            .collect();
        DirSnapshot { durable, ops, files }
    }
}

/// A segment (or small file) of a [`SimDir`]. Clones share the bytes.
#[derive(Clone, Debug)]
pub struct SimFile {
    state: FileRef,
    core: Arc<Core>,
    path: PathBuf,
    align: usize,
}

impl SegmentIo for SimFile {
    fn size(&self) -> u64 {
        lock(&self.state).live.len() as u64
    }

    fn alignment(&self) -> usize {
        self.align
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_aligned(self.align, offset, buf.len(), buf.as_ptr())?;
        let s = lock(&self.state);
        let at = offset as usize;
        let src = s
            .live
            .get(at..at + buf.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        check_aligned(self.align, offset, data.len(), data.as_ptr())?;
        {
            let mut s = lock(&self.state);
            let at = offset as usize;
            let dst = s
                .live
                .get_mut(at..at + data.len())
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "write past the end"))?;
            dst.copy_from_slice(data);
            s.pending.push((offset, data.to_vec()));
        }
        self.core.event();
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        {
            let mut s = lock(&self.state);
            s.durable = s.live.clone();
            s.pending.clear();
        }
        self.core.event();
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

fn check_aligned(a: usize, offset: u64, len: usize, addr: *const u8) -> io::Result<()> {
    if !offset.is_multiple_of(a as u64) || !len.is_multiple_of(a) || !(addr as usize).is_multiple_of(a) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unaligned direct I/O: offset {offset}, length {len}"),
        ));
    }
    Ok(())
}

/// A simulated log directory; clones share it. See the module docs.
#[derive(Clone, Debug)]
pub struct SimDir {
    core: Arc<Core>,
    path: PathBuf,
    align: usize,
}

/// Releases a [`SimDir`]'s lock when dropped.
#[derive(Debug)]
pub struct SimLock(Arc<Core>);

impl Drop for SimLock {
    fn drop(&mut self) {
        lock(&self.0.dir).locked = false;
    }
}

impl SimDir {
    /// An empty directory whose segments demand `align`-aligned I/O (1 for buffered).
    pub fn new(align: usize) -> Self {
        Self { core: Arc::default(), path: PathBuf::from("/sim/log"), align }
    }

    /// A directory holding exactly `files`, all durable.
    pub fn from_image(image: &DirImage, align: usize) -> Self {
        let dir = Self::new(align);
        {
            let mut state = lock(&dir.core.dir);
            for (name, bytes) in &image.files {
                let f = Arc::new(Mutex::new(FileState {
                    live: bytes.clone(),
                    durable: bytes.clone(),
                    pending: Vec::new(),
                }));
                state.live.insert(name.clone(), Arc::clone(&f));
                state.durable.insert(name.clone(), f);
            }
        }
        dir
    }

    /// Events so far.
    pub fn events(&self) -> u64 {
        *lock(&self.core.events)
    }

    /// Captures the state after each of these events (counted from 1).
    pub fn capture_at(&self, events: impl IntoIterator<Item = u64>) {
        lock(&self.core.capture_at).extend(events);
    }

    /// Captures the state after each event with probability `1 / one_in`, drawn from a
    /// generator seeded with `seed` (events from background threads interleave, so fixed
    /// event numbers would not name the same moments from run to run).
    pub fn capture_randomly(&self, seed: u64, one_in: usize) {
        *lock(&self.core.sampler) = Some((Rng::new(seed), one_in.max(1)));
    }

    /// Runs `hook` after every later event (with its number), in the thread that made it,
    /// before that thread goes on: another actor (a reader, say) at every step of the writer.
    pub fn set_hook(&self, hook: impl Fn(u64) + Send + Sync + 'static) {
        *lock(&self.core.hook) = Some(Hook(Arc::new(hook)));
    }

    /// Makes every later directory sync fail (`true`) or work again (`false`).
    pub fn fail_dir_syncs(&self, fail: bool) {
        *lock(&self.core.fail_syncs) = fail;
    }

    /// The captured states, as (event, snapshot), taking them.
    pub fn take_captured(&self) -> Vec<(u64, DirSnapshot)> {
        std::mem::take(&mut *lock(&self.core.captured))
    }

    /// The state a crash right now could leave, as a snapshot to draw images from.
    pub fn snapshot(&self) -> DirSnapshot {
        self.core.snapshot()
    }

    /// The live contents of every file, as the next open would find them without a crash.
    pub fn live_image(&self) -> DirImage {
        let state = lock(&self.core.dir);
        DirImage { files: state.live.iter().map(|(n, f)| (n.clone(), lock(f).live.clone())).collect() }
    }

    fn file(&self, name: &str, state: FileRef, align: usize) -> SimFile {
        SimFile { state, core: Arc::clone(&self.core), path: self.path.join(name), align }
    }

    fn get(&self, name: &str) -> io::Result<FileRef> {
        lock(&self.core.dir)
            .live
            .get(name)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file")))
    }

    fn op(&self, op: DirOp) {
        {
            let mut state = lock(&self.core.dir);
            state.pending.push(op);
        }
        self.core.event();
    }
}

impl LogDir for SimDir {
    type Io = SimFile;
    type Lock = SimLock;

    fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> io::Result<SimLock> {
        let mut state = lock(&self.core.dir);
        if state.locked {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "locked"));
        }
        state.locked = true;
        Ok(SimLock(Arc::clone(&self.core)))
    }

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(lock(&self.core.dir).live.keys().cloned().collect())
    }

    fn create(&self, name: &str, size: u64, _prealloc: Preallocation) -> io::Result<SimFile> {
        let zeros = vec![0; size as usize];
        // Creation makes the contents durable (as `OpenSegment::create` does), not the entry.
        let f = Arc::new(Mutex::new(FileState { live: zeros.clone(), durable: zeros, pending: Vec::new() }));
        {
            let mut state = lock(&self.core.dir);
            if state.live.contains_key(name) {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{name} exists")));
            }
            state.live.insert(name.to_string(), Arc::clone(&f));
        }
        self.op(DirOp::Create(name.to_string(), Arc::clone(&f)));
        Ok(self.file(name, f, self.align))
    }

    fn open_writer(&self, name: &str) -> io::Result<SimFile> {
        Ok(self.file(name, self.get(name)?, self.align))
    }

    fn open_reader(&self, name: &str) -> io::Result<SimFile> {
        Ok(self.file(name, self.get(name)?, self.align))
    }

    fn read_file(&self, name: &str) -> io::Result<Vec<u8>> {
        Ok(lock(&*self.get(name)?).live.clone())
    }

    fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let f = Arc::new(Mutex::new(FileState { live: bytes.to_vec(), durable: bytes.to_vec(), pending: Vec::new() }));
        lock(&self.core.dir).live.insert(name.to_string(), Arc::clone(&f));
        self.op(DirOp::Create(name.to_string(), f));
        Ok(())
    }

    fn update_file(&self, name: &str, bytes: &[u8], durable: bool) -> io::Result<()> {
        let f = self.get(name)?;
        {
            let mut s = lock(&f);
            if s.live.len() < bytes.len() {
                s.live.resize(bytes.len(), 0);
            }
            s.live[..bytes.len()].copy_from_slice(bytes);
            s.pending.push((0, bytes.to_vec()));
        }
        self.core.event();
        if durable {
            {
                let mut s = lock(&f);
                s.durable = s.live.clone();
                s.pending.clear();
            }
            self.core.event();
        }
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        {
            let mut state = lock(&self.core.dir);
            let f = state
                .live
                .remove(from)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{from}: no such file")))?;
            state.live.insert(to.to_string(), f);
        }
        self.op(DirOp::Rename(from.to_string(), to.to_string()));
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        lock(&self.core.dir)
            .live
            .remove(name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file")))?;
        self.op(DirOp::Remove(name.to_string()));
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        if *lock(&self.core.fail_syncs) {
            return Err(io::Error::other("injected directory sync failure"));
        }
        {
            let mut state = lock(&self.core.dir);
            state.durable = state.live.clone();
            state.pending.clear();
        }
        self.core.event();
        Ok(())
    }
}
