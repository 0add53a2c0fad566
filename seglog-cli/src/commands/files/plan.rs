//! The steps of `cp`, `mv` and `rm` as data. Their order is what keeps a segment and its
//! sidecar together through a crash, so it is written once, here, and tested by replaying
//! every prefix of every plan as the state a crash after that step would leave.

use std::path::{Path, PathBuf};

use seglog::core::sidecar::sidecar_path;

/// One step. The executor makes each durable (file and directory synced) before the next
/// starts, so a crash leaves exactly the steps before some point done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Copy the file at `from` to `to` through a synced temporary file, never replacing `to`.
    Copy {
        /// The file to copy.
        from: PathBuf,
        /// The new name.
        to: PathBuf,
    },
    /// Rename `from` to `to`, never replacing `to`.
    Rename {
        /// The old name.
        from: PathBuf,
        /// The new name.
        to: PathBuf,
    },
    /// Delete the file.
    Remove(PathBuf),
}

/// `cp`: the sidecar copy first, so the copied segment is never without it.
pub fn cp(from: &Path, to: &Path, sidecar: bool) -> Vec<Step> {
    let mut steps = copy_sidecar(from, to, sidecar);
    steps.push(Step::Copy { from: from.to_path_buf(), to: to.to_path_buf() });
    steps
}

/// `mv` within a filesystem: the sidecar is copied (never renamed or linked, so no two
/// segments ever share one), then the segment renamed, then the old sidecar removed.
pub fn mv(from: &Path, to: &Path, sidecar: bool) -> Vec<Step> {
    let mut steps = copy_sidecar(from, to, sidecar);
    steps.push(Step::Rename { from: from.to_path_buf(), to: to.to_path_buf() });
    steps.extend(sidecar.then(|| Step::Remove(sidecar_path(from))));
    steps
}

/// What `mv` does instead when the rename of [`mv`] fails because `to` is on another
/// filesystem (the sidecar copy before it is done): copy the segment, then delete the source.
pub fn mv_across(from: &Path, to: &Path, sidecar: bool) -> Vec<Step> {
    let mut steps = vec![Step::Copy { from: from.to_path_buf(), to: to.to_path_buf() }];
    steps.extend(rm(from, sidecar));
    steps
}

/// `rm`: the segment first, so it is never without its sidecar; the sidecar after.
pub fn rm(path: &Path, sidecar: bool) -> Vec<Step> {
    let mut steps = vec![Step::Remove(path.to_path_buf())];
    steps.extend(sidecar.then(|| Step::Remove(sidecar_path(path))));
    steps
}

/// What to delete, newest first, when a plan stops after its first `done` steps took
/// effect: the copies, if copies are all that took effect. After a rename or a removal the
/// state is consistent as it is (the order of the steps sees to it), and is left alone.
pub fn undo(steps: &[Step], done: usize) -> Vec<&Path> {
    let done = steps.get(..done).unwrap_or(steps);
    if !done.iter().all(|step| matches!(step, Step::Copy { .. })) {
        return Vec::new();
    }
    done.iter()
        .rev()
        .filter_map(|step| match step {
            Step::Copy { to, .. } => Some(to.as_path()),
            _ => None,
        })
        .collect()
}

/// The sidecar copy that starts `cp` and `mv`, if the source has a sidecar.
fn copy_sidecar(from: &Path, to: &Path, sidecar: bool) -> Vec<Step> {
    if sidecar { vec![Step::Copy { from: sidecar_path(from), to: sidecar_path(to) }] } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rstest::rstest;

    use super::*;

    /// A directory as names of files, each file an identity: a copy is a new file, a
    /// rename moves the same one.
    #[derive(Clone, Debug, Default)]
    struct Dir {
        files: BTreeMap<PathBuf, u32>,
        next: u32,
    }

    impl Dir {
        fn with(names: &[&Path]) -> Self {
            let mut dir = Dir::default();
            for name in names {
                dir.create(name);
            }
            dir
        }

        fn create(&mut self, name: &Path) {
            self.next += 1;
            self.files.insert(name.to_path_buf(), self.next);
        }

        fn apply(&mut self, step: &Step) {
            match step {
                Step::Copy { from, to } => {
                    assert!(self.files.contains_key(from), "copying missing {from:?}");
                    assert!(!self.files.contains_key(to), "copy replaces {to:?}");
                    self.create(to);
                }
                Step::Rename { from, to } => {
                    assert!(!self.files.contains_key(to), "rename replaces {to:?}");
                    let file = self.files.remove(from).unwrap_or_else(|| panic!("renaming missing {from:?}"));
                    self.files.insert(to.clone(), file);
                }
                Step::Remove(name) => {
                    self.files.remove(name).unwrap_or_else(|| panic!("removing missing {name:?}"));
                }
            }
        }

        /// The rules every state between steps must keep: a segment present has its
        /// sidecar (when the source had one), no file has two names, and the records
        /// survive under one of the two names unless `rm` is deleting them.
        fn check(&self, segments: &[&Path], sidecar: bool, keeps_data: bool, after: usize) {
            for segment in segments {
                if sidecar && self.files.contains_key(*segment) {
                    assert!(
                        self.files.contains_key(&sidecar_path(segment)),
                        "after step {after}: {segment:?} without its sidecar: {self:?}"
                    );
                }
            }
            let mut ids: Vec<u32> = self.files.values().copied().collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), self.files.len(), "after step {after}: a file with two names: {self:?}");
            if keeps_data {
                assert!(
                    segments.iter().any(|s| self.files.contains_key(*s)),
                    "after step {after}: no segment left: {self:?}"
                );
            }
        }
    }

    /// A plan stopped after `done` steps: what is taken back, for a source with a sidecar.
    #[rstest]
    #[case::cp_before_anything(Command::Cp, 0, &[])]
    #[case::cp_after_the_sidecar_copy(Command::Cp, 1, &["e/b.seg.flushed"])]
    #[case::cp_after_both_copies(Command::Cp, 2, &["e/b.seg", "e/b.seg.flushed"])]
    #[case::mv_after_the_sidecar_copy(Command::Mv, 1, &["e/b.seg.flushed"])]
    #[case::mv_after_the_rename(Command::Mv, 2, &[])]
    #[case::mv_after_everything(Command::Mv, 3, &[])]
    #[case::mv_across_after_the_segment_copy(Command::MvAcrossFilesystems, 2, &["e/b.seg", "e/b.seg.flushed"])]
    #[case::mv_across_after_removing_the_source(Command::MvAcrossFilesystems, 3, &[])]
    #[case::rm_after_the_segment(Command::Rm, 1, &[])]
    fn a_failed_plan_takes_back_only_copies(#[case] command: Command, #[case] done: usize, #[case] undone: &[&str]) {
        let steps = plan_of(command, true);
        assert_eq!(undo(&steps, done), undone.iter().map(Path::new).collect::<Vec<_>>());
    }

    /// The steps `command` takes from d/a.seg to e/b.seg.
    fn plan_of(command: Command, sidecar: bool) -> Vec<Step> {
        let (from, to) = (Path::new("d/a.seg"), Path::new("e/b.seg"));
        match command {
            Command::Cp => cp(from, to, sidecar),
            Command::Mv => mv(from, to, sidecar),
            // The rename is tried and fails, leaving the sidecar copy before it done.
            Command::MvAcrossFilesystems => {
                let mut steps: Vec<Step> =
                    mv(from, to, sidecar).into_iter().take_while(|s| !matches!(s, Step::Rename { .. })).collect();
                steps.extend(mv_across(from, to, sidecar));
                steps
            }
            Command::Rm => rm(from, sidecar),
        }
    }

    /// Which command's plan, for the tables here.
    #[derive(Clone, Copy, Debug)]
    enum Command {
        Cp,
        Mv,
        MvAcrossFilesystems,
        Rm,
    }

    #[rstest]
    fn a_crash_after_any_step_keeps_segment_and_sidecar_together(
        #[values(Command::Cp, Command::Mv, Command::MvAcrossFilesystems, Command::Rm)] command: Command,
        #[values(true, false)] sidecar: bool,
    ) {
        let (from, to) = (Path::new("d/a.seg"), Path::new("e/b.seg"));
        let steps = plan_of(command, sidecar);
        let start: Vec<PathBuf> =
            [Some(from.to_path_buf()), sidecar.then(|| sidecar_path(from))].into_iter().flatten().collect();
        let mut dir = Dir::with(&start.iter().map(PathBuf::as_path).collect::<Vec<_>>());
        let keeps_data = !matches!(command, Command::Rm);
        dir.check(&[from, to], sidecar, keeps_data, 0);
        for (i, step) in steps.iter().enumerate() {
            dir.apply(step);
            dir.check(&[from, to], sidecar, keeps_data, i + 1);
        }
        let mut names: Vec<PathBuf> = dir.files.keys().cloned().collect();
        names.sort();
        let mut expected: Vec<PathBuf> = match command {
            Command::Cp => [from, to]
                .iter()
                .flat_map(|p| [Some(p.to_path_buf()), sidecar.then(|| sidecar_path(p))])
                .flatten()
                .collect(),
            Command::Mv | Command::MvAcrossFilesystems => {
                [Some(to.to_path_buf()), sidecar.then(|| sidecar_path(to))].into_iter().flatten().collect()
            }
            Command::Rm => Vec::new(),
        };
        expected.sort();
        assert_eq!(names, expected);
    }
}
