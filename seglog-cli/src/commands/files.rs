//! `seglog cp`, `seglog mv` and `seglog rm`: a segment and its sidecar `<segment>.flushed`
//! handled as one.
//!
//! The order of the steps keeps one rule through any crash: a segment name never exists
//! without its sidecar (when the source had one), and a sidecar never shares its file
//! with another segment's. The sidecar therefore goes into place before the segment, as a
//! copy (the segment itself is renamed, not linked), and goes away after it. What a crash
//! can leave is an orphan sidecar with no segment beside it, which `seglog rm` removes, and
//! which the library treats as stale if a segment of that name is made again.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, RenameFlags};
use seglog::core::fs::sync_parent_dir;
use seglog::core::sidecar::sidecar_path;

use self::plan::Step;
use super::stdout;
use crate::exit::{self, Failure};

mod plan;

/// How `cp` and `mv` lock the source against writers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lock {
    /// `cp`: writers are kept out (a writer takes the lock exclusively), other copies are not.
    Shared,
    /// `mv` and `rm`: the segment's name goes away, so nothing else may hold it.
    Exclusive,
}

/// Copies `from` and its sidecar to `to` and `to.flushed`, under a shared lock.
pub fn cp(from: &Path, to: &Path) -> Result<u8, Failure> {
    let source = open_locked(from, Lock::Shared)?;
    refuse_existing(to)?;
    let steps = plan::cp(from, to, exists(&sidecar_path(from))?);
    run(&steps, (from, &source)).map_err(|failed| failed.undo(&steps))?;
    done(format_args!("copied {} to {}", from.display(), to.display()))
}

/// Renames `from` and its sidecar to `to` and `to.flushed`, under the exclusive lock;
/// across filesystems, copies and then removes the source.
pub fn mv(from: &Path, to: &Path) -> Result<u8, Failure> {
    let source = open_locked(from, Lock::Exclusive)?;
    refuse_existing(to)?;
    let sidecar = exists(&sidecar_path(from))?;
    let steps = plan::mv(from, to, sidecar);
    match run(&steps, (from, &source)) {
        Ok(()) => {}
        Err(failed) if failed.kind == Some(io::ErrorKind::CrossesDevices) => {
            // No rename reaches another filesystem: copy instead, after what is done.
            let mut steps = steps.get(..failed.done).unwrap_or_default().to_vec();
            let done = steps.len();
            steps.extend(plan::mv_across(from, to, sidecar));
            run(steps.get(done..).unwrap_or_default(), (from, &source))
                .map_err(|failed| Failed { done: done + failed.done, ..failed }.undo(&steps))?;
        }
        Err(failed) => return Err(failed.undo(&steps)),
    }
    drop(source);
    done(format_args!("moved {} to {}", from.display(), to.display()))
}

/// Deletes the segment and then its sidecar, under the exclusive lock. With the segment
/// already gone, removes an orphan sidecar a crash left.
pub fn rm(path: &Path) -> Result<u8, Failure> {
    let sidecar = sidecar_path(path);
    if !exists(path)? && exists(&sidecar)? {
        fs::remove_file(&sidecar).map_err(|e| Failure::file(&sidecar, "removing it", &e))?;
        sync_parent_dir(&sidecar).map_err(|e| Failure::file(&sidecar, "syncing its directory", &e))?;
        return done(format_args!("removed {}, a sidecar without its segment", sidecar.display()));
    }
    let segment = open_locked(path, Lock::Exclusive)?;
    let steps = plan::rm(path, exists(&sidecar)?);
    run(&steps, (path, &segment)).map_err(|failed| failed.failure)?;
    drop(segment);
    done(format_args!("removed {}", path.display()))
}

/// A plan that stopped: how many steps took effect, and why the next did not.
struct Failed {
    /// Steps whose change took effect (a step whose directory sync failed counts: its
    /// change may be visible, so it is not undone).
    done: usize,
    /// The OS error's kind, for `mv` to tell "another filesystem" from the rest.
    kind: Option<io::ErrorKind>,
    /// What to report.
    failure: Failure,
}

impl Failed {
    /// Takes back what [`plan::undo`] says, so a failed `cp` or `mv` leaves nothing at the
    /// destination, and returns the failure to report.
    fn undo(self, steps: &[Step]) -> Failure {
        for path in plan::undo(steps, self.done) {
            // Already failing; the first error is the one to report.
            let _ = fs::remove_file(path).and_then(|()| sync_parent_dir(path));
        }
        self.failure
    }
}

/// Runs `steps` in order, each made durable (directory synced) before the next. `source`
/// is the segment's path and its locked handle: a copy of the segment reads the handle, so
/// what is copied is what is locked.
fn run(steps: &[Step], source: (&Path, &File)) -> Result<(), Failed> {
    for (i, step) in steps.iter().enumerate() {
        let failed = |done, e: &io::Error, path: &Path, what: &str| Failed {
            done,
            kind: Some(e.kind()),
            failure: Failure::file(path, what, e),
        };
        let changed = match step {
            Step::Copy { from, to } if from == source.0 => copy_to(source.1, to),
            Step::Copy { from, to } => {
                File::open(from).map_err(|e| (e, from.clone(), "opening it")).and_then(|file| copy_to(&file, to))
            }
            Step::Rename { from, to } => {
                rename_no_replace(from, to).map_err(|e| (e, to.clone(), "renaming the segment here"))
            }
            Step::Remove(path) => fs::remove_file(path).map_err(|e| (e, path.clone(), "removing it")),
        };
        changed.map_err(|(e, path, what)| {
            let mut failed = failed(i, &e, &path, what);
            // A destination that cannot be made (its directory missing or not writable) is
            // "cannot create", not the missing input the same OS error means elsewhere.
            let destination = matches!(step, Step::Copy { to, .. } | Step::Rename { to, .. } if *to == path);
            if destination && matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied) {
                failed.failure.code = exit::CANT_CREATE;
            }
            failed
        })?;
        let synced = match step {
            Step::Copy { to, .. } => sync_parent_dir(to).map_err(|e| (e, to)),
            Step::Rename { from, to } => sync_parent_dir(to)
                .and_then(|()| if from.parent() == to.parent() { Ok(()) } else { sync_parent_dir(from) })
                .map_err(|e| (e, to)),
            Step::Remove(path) => sync_parent_dir(path).map_err(|e| (e, path)),
        };
        synced.map_err(|(e, path)| failed(i + 1, &e, path, "syncing its directory"))?;
    }
    Ok(())
}

/// Prints `line` and succeeds.
fn done(line: std::fmt::Arguments<'_>) -> Result<u8, Failure> {
    let mut out = stdout();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(exit::OK)
}

/// Opens the segment at `path` read-only and takes its writer lock without waiting. The
/// lock is the one writers take (`flock`), so holding it keeps them out until it is dropped.
fn open_locked(path: &Path, lock: Lock) -> Result<File, Failure> {
    refuse_sidecar(path)?;
    let file = File::open(path).map_err(|e| Failure::file(path, "cannot open segment", &e))?;
    let meta = file.metadata().map_err(|e| Failure::file(path, "cannot open segment", &e))?;
    if !meta.is_file() {
        return Err(Failure::new(
            exit::NO_INPUT,
            format!("{}: cannot open segment: not a regular file", path.display()),
        ));
    }
    let locked = match lock {
        Lock::Shared => file.try_lock_shared(),
        Lock::Exclusive => file.try_lock(),
    };
    match locked {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Failure::new(
            exit::LOCKED,
            format!("{}: the segment is locked by a writer or a copy in progress; try again later", path.display()),
        )),
        Err(TryLockError::Error(e)) => Err(Failure::file(path, "locking the segment", &e)),
    }
}

/// Refuses a sidecar given where a segment is meant, which would otherwise be treated as a
/// segment with a sidecar of its own (`s.flushed.flushed`).
fn refuse_sidecar(path: &Path) -> Result<(), Failure> {
    let Some(segment) = path.to_str().and_then(|p| p.strip_suffix(".flushed")) else { return Ok(()) };
    if Path::new(segment).is_file() {
        return Err(Failure::new(
            exit::USAGE,
            format!("{}: this is the sidecar of the segment {segment}; name the segment", path.display()),
        ));
    }
    Ok(())
}

/// Fails with [`exit::CANT_CREATE`] if `to` or its sidecar exists, before any work. The
/// renames refuse to replace as well; this only makes the common case fail early and clearly.
fn refuse_existing(to: &Path) -> Result<(), Failure> {
    for path in [to.to_path_buf(), sidecar_path(to)] {
        if fs::symlink_metadata(&path).is_ok() {
            return Err(Failure::new(
                exit::CANT_CREATE,
                format!("{}: already exists; not replacing it", path.display()),
            ));
        }
    }
    Ok(())
}

/// True if `path` names something; an error other than "not found" is reported.
fn exists(path: &Path) -> Result<bool, Failure> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::file(path, "looking it up", &e)),
    }
}

/// Copies all of `source` to a temporary file beside `target`, syncs it, and
/// renames it to `target` unless that exists. The caller syncs the directory.
fn copy_to(source: &File, target: &Path) -> Result<(), (io::Error, PathBuf, &'static str)> {
    let temp = temp_path(target);
    let copied = (|| {
        let mut out = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        // `io::copy` between files uses `copy_file_range`, and reads from offset 0 because
        // `source` is only ever read here.
        io::copy(&mut &*source, &mut out)?;
        out.flush()?;
        out.sync_all()
    })();
    let placed = match copied {
        Ok(()) => rename_no_replace(&temp, target).map_err(|e| (e, target.to_path_buf(), "creating it")),
        Err(e) => Err((e, target.to_path_buf(), "writing the copy")),
    };
    if placed.is_err() {
        // The error to report is the one above; a temporary file left behind is harmless.
        let _ = fs::remove_file(&temp);
    }
    placed
}

/// Renames `from` to `to`, failing with `AlreadyExists` rather than replace `to`.
/// Filesystems without `RENAME_NOREPLACE` get a hard link and an unlink, which refuse to
/// replace too.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    match rustix::fs::renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

/// A temporary name beside `target`, hidden and unique to this process.
fn temp_path(target: &Path) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(format!(".{}.seglog-tmp", std::process::id()));
    target.with_file_name(name)
}
