//! The sidecar's binding, bounds and publication rules, on real files.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::*;
use crate::io::{OpenSegment, Preallocation, SegmentIo};
use crate::{Error, Writer};

/// A plain pread/pwrite backend, so these tests need no other crate.
#[derive(Debug)]
struct Plain {
    file: File,
    size: u64,
    path: PathBuf,
}

impl Plain {
    fn new(file: File, path: &Path) -> io::Result<Self> {
        Ok(Self { size: file_size(&file)?, file, path: path.to_path_buf() })
    }
}

impl SegmentIo for Plain {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        read_exact_at(&self.file, offset, buf)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        write_all_at(&self.file, offset, data)
    }
    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn path(&self) -> &Path {
        &self.path
    }
}

impl OpenSegment for Plain {
    fn create(path: &Path, size: u64, prealloc: Preallocation) -> io::Result<Self> {
        Self::new(crate::fs::create_segment_file(path, size, 0, prealloc)?, path)
    }
    fn open_writer(path: &Path) -> io::Result<Self> {
        Self::new(crate::fs::open_segment_file(path, 0)?, path)
    }
    fn open_reader(path: &Path) -> io::Result<Self> {
        Self::new(crate::fs::open_segment_file_readonly(path, 0)?, path)
    }
}

/// A fresh directory on the working filesystem (the target directory), never tmpfs.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tmp")
            .join(format!("seglog-core-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn vouched_end_belongs_to_this_incarnation() {
    let dir = Dir::new("vouched");
    let path = dir.0.join("segment.log");
    assert_eq!(vouched_end(&path).unwrap(), None, "no segment, no sidecar");
    let mut w = Writer::<Plain>::create(&path, 64 << 10, 16).unwrap();
    assert_eq!(vouched_end(&path).unwrap(), Some(16));
    w.append(b"durable").unwrap();
    let end = w.sync().unwrap();
    w.append(b"not yet").unwrap();
    assert_eq!(vouched_end(&path).unwrap(), Some(end));
    drop(w);
    // Deleted and made again under the same name (ext4 and xfs often reuse the inode
    // number): the sidecar left behind speaks for the old file.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, vec![0u8; 64 << 10]).unwrap();
    assert_eq!(vouched_end(&path).unwrap(), None, "a deleted segment's sidecar vouched for its successor");
    std::fs::remove_file(&path).unwrap();
    let w = Writer::<Plain>::create(&path, 64 << 10, 0).unwrap();
    assert_eq!(vouched_end(&path).unwrap(), Some(0));
    drop(w);
    // Torn: the checksum fails.
    let sidecar = sidecar_path(&path);
    let mut bytes = std::fs::read(&sidecar).unwrap();
    bytes[3] ^= 1;
    std::fs::write(&sidecar, &bytes).unwrap();
    assert_eq!(vouched_end(&path).unwrap(), None);
    std::fs::remove_file(&sidecar).unwrap();
    assert_eq!(vouched_end(&path).unwrap(), None);
}

/// Defect 10 of issue 10: a valid-CRC sidecar claiming generation 0xFFFFFFFF made
/// `lowest_cut` size a 32 GiB buffer from it.
#[test]
fn hostile_sidecar_generation_sizes_nothing() {
    let dir = Dir::new("hostile");
    let path = dir.0.join("segment.log.flushed");
    let owner = Owner { ino: 1, born_secs: 2, born_nanos: 3 };
    let hostile = Published { end: 0, generation: u32::MAX, owner };
    std::fs::write(&path, hostile.encode()).unwrap();
    let file = File::open(&path).unwrap();
    assert_eq!(read_sidecar(&file).unwrap(), Some(hostile));
    assert_eq!(lowest_cut(&file, 0, u32::MAX).unwrap(), None, "entries the file does not hold");
    // A real cut log is read in bounded pieces and its minimum found.
    let mut bytes = hostile.encode().to_vec();
    for cut in (0..2000u64).rev() {
        bytes.extend_from_slice(&(cut + 100).to_le_bytes());
    }
    std::fs::write(&path, &bytes).unwrap();
    let file = File::open(&path).unwrap();
    assert_eq!(lowest_cut(&file, 5, 2000).unwrap(), Some(100));
    assert_eq!(lowest_cut(&file, 5, 1000).unwrap(), Some(1100));
    assert_eq!(lowest_cut(&file, 5, 2001).unwrap(), None);
}

/// A writer that meets a hostile sidecar of its own segment starts it over instead of
/// writing a cut entry 32 GiB into it. The sidecar vouches for 100 bytes more than the
/// records hold, which no crash leaves, so the default refuses (records gone below the
/// durable end) and only `Truncate` opens it.
#[test]
fn writer_starts_a_hostile_sidecar_over() {
    let dir = Dir::new("hostile-writer");
    let path = dir.0.join("segment.log");
    let mut w = Writer::<Plain>::create(&path, 64 << 10, 0).unwrap();
    w.append(b"kept").unwrap();
    let end = w.sync().unwrap();
    drop(w);
    let sidecar = sidecar_path(&path);
    let owner = Owner::of(path_id(&path).unwrap());
    std::fs::write(&sidecar, Published { end: end + 100, generation: u32::MAX, owner }.encode()).unwrap();
    match Writer::<Plain>::open(&path, 0) {
        Err(Error::NotTornTail { offset, durable_end, .. }) => {
            assert_eq!((offset, durable_end), (end, Some(end + 100)))
        }
        other => panic!("expected NotTornTail, got {other:?}"),
    }
    let w = Writer::<Plain>::open_with(&path, 0, crate::RecoveryMode::Truncate).unwrap();
    assert_eq!(w.report().end, end);
    assert_eq!(std::fs::metadata(&sidecar).unwrap().len(), SIDECAR_LEN as u64);
    assert_eq!(vouched_end(&path).unwrap(), Some(end));
}

/// Defect 11 of issue 10: `sync` returned an error after the records were durable and
/// published when only the sidecar write failed, without poisoning, so a caller that
/// retried appended them twice. The rule now: `Ok`, and `sidecar_error` says why
/// followers lag.
#[test]
fn sync_succeeds_when_only_the_sidecar_write_fails() {
    let dir = Dir::new("sidecar-fails");
    let path = dir.0.join("segment.log");
    let mut w = Writer::<Plain>::create(&path, 64 << 10, 0).unwrap();
    w.sidecar_mut().unwrap().break_writes();
    w.append(b"one").unwrap();
    let end = w.sync().unwrap();
    assert_eq!(w.flushed_offset().load(), end);
    assert!(!w.is_poisoned());
    let err = w.sidecar_error().expect("the failure is reported");
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("segment.log"), "{err}");
    assert_eq!(vouched_end(&path).unwrap(), Some(0), "stale, never ahead");
    w.append(b"two").unwrap();
    assert!(w.sync().unwrap() > end);
    drop(w);
    let w = Writer::<Plain>::open(&path, 0).unwrap();
    assert_eq!(w.report().records, 2);
    assert!(w.sidecar_error().is_none());
}

/// Defect 9 of issue 10, the ramfs case: a filesystem that refuses a flag (O_DIRECT on
/// ramfs) does so after the inode exists. `O_DIRECTORY` on a regular file is refused the
/// same way, on any filesystem: nothing may be left behind, and a retry must succeed.
#[test]
fn create_refused_by_a_flag_leaves_nothing_behind() {
    let dir = Dir::new("refused-flag");
    let path = dir.0.join("segment.log");
    let refused = rustix::fs::OFlags::DIRECTORY.bits() as i32;
    let e = crate::fs::create_segment_file(&path, 4096, refused, Preallocation::Fallocate).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(rustix::io::Errno::NOTDIR.raw_os_error()), "{e}");
    assert!(!path.exists(), "a refused create left the file behind");
    crate::fs::create_segment_file(&path, 4096, 0, Preallocation::Fallocate).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
}

/// Defect 3 of issue 10, the power-loss half: the cut was written to the sidecar unsynced,
/// so once the segment's erase was durable a power loss could leave the sidecar at its
/// pre-truncation end, ahead of the records. At every step of a truncation, every header a
/// power loss could leave (the one last synced, or any written since) must be at or below
/// what the segment holds durably.
#[test]
fn truncation_cut_survives_a_power_loss_of_the_sidecar() {
    let dir = Dir::new("power-loss");
    let path = dir.0.join("segment.log");
    let mut w = Writer::<Plain>::create(&path, 64 << 10, 0).unwrap();
    let (_, _) = w.append(&[1; 100]).unwrap();
    let (cut, _) = w.append(&[2; 100]).unwrap();
    w.append(&[3; 100]).unwrap();
    let before = w.sync().unwrap();
    w.append(&[4; 100]).unwrap(); // never synced
    assert!(power_loss::possible().iter().all(|p| p.end <= before));
    w.truncate(cut).unwrap();
    // The erase is durable now: nothing at or past `cut` may be vouched for.
    let possible = power_loss::possible();
    assert!(possible.iter().all(|p| p.end <= cut), "a power loss could leave {possible:?} after a cut to {cut}");
    w.append(&[5; 100]).unwrap();
    let after = w.sync().unwrap();
    assert!(power_loss::possible().iter().all(|p| p.end <= after));
}
