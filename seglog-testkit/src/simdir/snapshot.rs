//! Crash images drawn from a captured [`SimDir`](super::SimDir) state.

use std::collections::{BTreeMap, HashMap};

use crate::crash::{Landed, Snapshot};
use crate::util::Rng;

#[derive(Clone, Debug)]
pub(super) enum SnapOp {
    Create(String, usize),
    Rename(String, String),
    Remove(String),
}

/// A captured state of a [`SimDir`](super::SimDir): what a crash at that moment could leave.
#[derive(Clone, Debug)]
pub struct DirSnapshot {
    pub(super) durable: BTreeMap<String, usize>,
    pub(super) ops: Vec<SnapOp>,
    pub(super) files: HashMap<usize, Snapshot>,
}

/// The files a crash left: name to bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirImage {
    /// Every file, by name.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl DirSnapshot {
    /// Directory operations not yet made durable.
    pub fn pending_ops(&self) -> usize {
        self.ops.len()
    }

    /// One crash image, drawn with `rng`; also returns how many directory operations were
    /// lost and whether a piece was torn.
    pub fn image(&self, rng: &mut Rng) -> (DirImage, usize, bool) {
        let mut entries = self.durable.clone();
        let mut lost = 0;
        for op in &self.ops {
            if rng.chance(50) {
                lost += 1;
                continue;
            }
            match op {
                SnapOp::Create(n, id) => {
                    entries.insert(n.clone(), *id);
                }
                SnapOp::Rename(a, b) => {
                    if let Some(id) = entries.remove(a) {
                        entries.insert(b.clone(), id);
                    }
                }
                SnapOp::Remove(n) => {
                    entries.remove(n);
                }
            }
        }
        let mut torn = false;
        let mut images: HashMap<usize, Vec<u8>> = HashMap::new();
        let mut files = BTreeMap::new();
        for (name, id) in entries {
            let Some(snap) = self.files.get(&id) else { continue };
            let bytes = images.entry(id).or_insert_with(|| {
                let (landed, t) = landed(snap, rng);
                torn |= t;
                snap.image(&landed)
            });
            files.insert(name, bytes.clone());
        }
        (DirImage { files }, lost, torn)
    }
}

/// A random subset of `snap`'s pending pieces, in random order, at most one torn.
fn landed(snap: &Snapshot, rng: &mut Rng) -> (Vec<Landed>, bool) {
    let mut pieces: Vec<Landed> = snap
        .pieces()
        .into_iter()
        .filter(|_| rng.chance(50))
        .map(|p| Landed { write: p.write, offset: p.offset, prefix: None })
        .collect();
    for i in (1..pieces.len()).rev() {
        pieces.swap(i, rng.below(i + 1));
    }
    let mut torn = false;
    if !pieces.is_empty() && rng.chance(30) {
        let i = rng.below(pieces.len());
        pieces[i].prefix = Some(rng.below(512));
        torn = true;
    }
    (pieces, torn)
}
