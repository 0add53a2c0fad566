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

use super::stdout;
use crate::exit::{self, Failure};

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
    copy_into_place(&source, from, to)?;
    done(format_args!("copied {} to {}", from.display(), to.display()))
}

/// Renames `from` and its sidecar to `to` and `to.flushed`, under the exclusive lock;
/// across filesystems, copies and then removes the source.
pub fn mv(from: &Path, to: &Path) -> Result<u8, Failure> {
    let source = open_locked(from, Lock::Exclusive)?;
    refuse_existing(to)?;
    let sidecar = sidecar_path(from);
    let has_sidecar = exists(&sidecar)?;
    if has_sidecar {
        place_sidecar_copy(&sidecar, to)?;
    }
    match rename_no_replace(from, to) {
        Ok(()) => {
            sync_dirs(from, to)?;
            if has_sidecar {
                remove(&sidecar)?;
            }
        }
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            // Another filesystem: no rename reaches it. The sidecar copy is already in
            // place; copy the segment beside it, then delete the source.
            copy_segment_into_place(&source, from, to)?;
            remove_segment(from)?;
        }
        Err(e) => {
            if has_sidecar {
                // Undo the copy, so `to.flushed` does not outlive a failed move; the error
                // that matters is `e`.
                let _ = remove(&sidecar_path(to));
            }
            return Err(Failure::file(to, "moving the segment here", &e));
        }
    }
    drop(source);
    done(format_args!("moved {} to {}", from.display(), to.display()))
}

/// Deletes the segment and then its sidecar, under the exclusive lock. With the segment
/// already gone, removes an orphan sidecar a crash left.
pub fn rm(path: &Path) -> Result<u8, Failure> {
    let sidecar = sidecar_path(path);
    if !exists(path)? && exists(&sidecar)? {
        remove(&sidecar)?;
        return done(format_args!("removed {}, a sidecar without its segment", sidecar.display()));
    }
    let segment = open_locked(path, Lock::Exclusive)?;
    remove_segment(path)?;
    drop(segment);
    done(format_args!("removed {}", path.display()))
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

/// Copies the sidecar (if any) and then the segment into place at `to`.
fn copy_into_place(source: &File, from: &Path, to: &Path) -> Result<(), Failure> {
    let sidecar = sidecar_path(from);
    if exists(&sidecar)? {
        place_sidecar_copy(&sidecar, to)?;
    }
    copy_segment_into_place(source, from, to)
}

/// Copies `sidecar` to `to.flushed` through a synced temporary file.
fn place_sidecar_copy(sidecar: &Path, to: &Path) -> Result<(), Failure> {
    let target = sidecar_path(to);
    let file = File::open(sidecar).map_err(|e| Failure::file(sidecar, "opening the sidecar", &e))?;
    place_copy(&file, sidecar, &target)
}

/// Copies the segment open as `source` to `to` through a synced temporary file; if that
/// fails, removes the sidecar copy placed before it, so no sidecar is left without it.
fn copy_segment_into_place(source: &File, from: &Path, to: &Path) -> Result<(), Failure> {
    place_copy(source, from, to).inspect_err(|_| {
        // Already failing; the first error is the one to report.
        let _ = remove(&sidecar_path(to));
    })
}

/// Copies all of `source` (at `from`) to a temporary file beside `target`, syncs it, renames
/// it to `target` unless that exists, and syncs the directory.
fn place_copy(source: &File, from: &Path, target: &Path) -> Result<(), Failure> {
    let temp = temp_path(target);
    let copied = (|| {
        let mut out = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        // `io::copy` between files uses `copy_file_range`, and reads from offset 0 because
        // `source` is only ever read here.
        io::copy(&mut &*source, &mut out)?;
        out.flush()?;
        out.sync_all()
    })();
    let placed = copied
        .map_err(|e| Failure::file(&temp, &format!("copying {} here", from.display()), &e))
        .and_then(|()| rename_no_replace(&temp, target).map_err(|e| Failure::file(target, "creating it", &e)))
        .and_then(|()| sync_parent_dir(target).map_err(|e| Failure::file(target, "syncing its directory", &e)));
    if placed.is_err() {
        // The error to report is the one above; a temporary file left behind is harmless.
        let _ = fs::remove_file(&temp);
    }
    placed
}

/// Deletes the segment, then its sidecar, syncing the directory after each, so no segment
/// name is ever without its sidecar.
fn remove_segment(path: &Path) -> Result<(), Failure> {
    remove(path)?;
    let sidecar = sidecar_path(path);
    if exists(&sidecar)? {
        remove(&sidecar)?;
    }
    Ok(())
}

/// Deletes `path` and syncs its directory.
fn remove(path: &Path) -> Result<(), Failure> {
    fs::remove_file(path).map_err(|e| Failure::file(path, "removing it", &e))?;
    sync_parent_dir(path).map_err(|e| Failure::file(path, "syncing its directory", &e))
}

/// Syncs the directories of `a` and `b` (once if they are the same).
fn sync_dirs(a: &Path, b: &Path) -> Result<(), Failure> {
    sync_parent_dir(b).map_err(|e| Failure::file(b, "syncing its directory", &e))?;
    if a.parent() != b.parent() {
        sync_parent_dir(a).map_err(|e| Failure::file(a, "syncing its directory", &e))?;
    }
    Ok(())
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
