//! Checks for backends whose segments are files: creation, the writer lock, path-based opens.

use seglog_core::{Error, Follower, OpenSegment, ReadHint, Reader, RecoveryMode, Writer};

use crate::{FileHarness, Harness};

mod polled;
mod sidecar;
pub use polled::{follower_poll_many_rechecks_the_sidecar, follower_poll_many_yields_each_durable_record_once};
pub use sidecar::{
    follower_follows_a_recreated_segment, follower_rechecks_the_sidecar_after_reading,
    follower_treats_a_replaced_sidecar_as_a_cut, hostile_sidecar_is_refused_cleanly,
    sidecar_never_claims_more_than_is_durable,
};

/// A second writer on the same segment, from the same process, is refused while the first
/// lives; readers take no lock; once the writer is gone a new one may open.
pub fn second_writer_is_locked_out<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
    w.append(b"mine").unwrap();
    w.sync().unwrap();
    match Writer::<B>::open(&path, 0) {
        Err(e @ Error::Locked { .. }) => assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}"),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(matches!(Writer::<B>::open_with(&path, 0, RecoveryMode::Strict), Err(Error::Locked { .. })));
    let mut r = Reader::<B>::open(&path, Some(w.flushed_offset())).unwrap();
    assert_eq!(&*r.read_record(0, ReadHint::Random).unwrap(), b"mine");
    drop(w);
    let w = Writer::<B>::open(&path, 0).unwrap();
    assert_eq!(w.report().records, 1);
}

/// `create` refuses an existing file, and a failed pre-allocation leaves no file behind.
pub fn create_is_all_or_nothing<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    drop(Writer::<B>::create(&path, 64 << 10, 0).unwrap());
    assert!(matches!(Writer::<B>::create(&path, 64 << 10, 0), Err(Error::Open { .. })));
    let huge = h.dir().join("huge.log");
    // Larger than any filesystem here allows, so pre-allocation fails.
    let err = Writer::<B>::create(&huge, 1 << 62, 0).unwrap_err();
    assert!(err.to_string().contains("huge.log"), "{err}");
    assert!(!huge.exists(), "a failed create left {} behind", huge.display());
    let w = Writer::<B>::create(&huge, 64 << 10, 0).unwrap();
    assert_eq!(w.size(), 64 << 10);
    assert!(matches!(Writer::<B>::create(h.dir().join("bad.log"), 100, 101), Err(Error::InvalidArgument { .. })));
}

/// A closed segment opened by path is bounded by its valid records; opening things that
/// are not segments fails with the path in the error.
pub fn open_by_path<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
    let (a, _) = w.append(b"a").unwrap();
    let end = w.sync().unwrap();
    drop(w);
    let mut r = Reader::<B>::open(&path, None).unwrap();
    assert_eq!(r.visible_end(), end);
    assert_eq!(&*r.read_record(a, ReadHint::Random).unwrap(), b"a");
    let missing = h.dir().join("missing.log");
    let e = Writer::<B>::open(&missing, 0).unwrap_err();
    assert!(e.to_string().contains("missing.log"), "{e}");
    assert!(Reader::<B>::open(&missing, None).is_err());
    let e = Writer::<B>::open(h.dir(), 0).unwrap_err();
    assert!(matches!(e, Error::Open { .. }), "{e:?}");
    let short = h.dir().join("short.log");
    std::fs::write(&short, [1, 2, 3]).unwrap();
    match Writer::<B>::open(&short, 0) {
        // No header fits in 3 bytes, so no write left them: not a segment.
        Err(e @ Error::NotASegment { .. }) => assert!(e.to_string().contains("short.log"), "{e}"),
        // A block-aligned backend cannot use a 3-byte file, and must say why.
        Err(e @ Error::InvalidArgument { .. }) => assert!(e.to_string().contains("short.log"), "{e}"),
        Err(e) => panic!("a 3-byte file: {e}"),
        Ok(w) => panic!("a 3-byte file opened: {:?}", w.report()),
    }
}

/// A follower yields each record once it is durable, never before, and wakes promptly when
/// a writer in another thread syncs.
pub fn follower_yields_only_durable_records<B: OpenSegment>(h: &mut FileHarness<B>) {
    use std::time::Duration;
    let path = h.path().to_path_buf();
    let mut w = Writer::<B>::create(&path, 64 << 10, 32).unwrap();
    let mut f = Follower::<B>::open(&path, 32).unwrap();
    assert!(f.poll().unwrap().is_none());
    w.append(b"one").unwrap();
    assert!(f.poll().unwrap().is_none(), "an unsynced record was yielded");
    w.sync().unwrap();
    let rec = f.poll().unwrap().expect("a synced record");
    assert_eq!((&*rec, rec.offset()), (&b"one"[..], 32));
    drop(rec);
    assert!(f.wait(Duration::from_millis(20)).unwrap().is_none());
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        w.append(b"two").unwrap();
        w.sync().unwrap();
        w
    });
    let rec = f.wait(Duration::from_secs(10)).unwrap().expect("woken by the sync");
    assert_eq!(&*rec, b"two");
    drop(rec);
    assert_eq!(f.position(), f.durable_end());
    drop(writer.join().unwrap());
}

/// A follower past a truncation is told so; one before it carries on with the new records.
pub fn follower_sees_truncation<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
    let offsets: Vec<u64> = (0..4).map(|i| w.append(&[i; 20]).unwrap().0).collect();
    w.sync().unwrap();
    let mut ahead = Follower::<B>::open(&path, 0).unwrap();
    let mut behind = Follower::<B>::open(&path, 0).unwrap();
    while ahead.poll().unwrap().is_some() {}
    behind.poll().unwrap().unwrap();
    w.truncate(offsets[2]).unwrap();
    w.append(&[9; 20]).unwrap();
    w.sync().unwrap();
    assert!(matches!(ahead.poll(), Err(Error::Truncated { truncated_to, .. }) if truncated_to == offsets[2]));
    let got: Vec<u8> = std::iter::from_fn(|| behind.poll().unwrap().map(|r| r[0])).collect();
    assert_eq!(got, vec![1, 9]);
}

/// A follower never modifies the segment or its sidecar, and survives its writer dying and
/// a new one recovering: records that were never durable are never yielded.
pub fn follower_survives_writer_crash<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    let sidecar = seglog_core::sidecar::sidecar_path(&path);
    let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
    w.append(b"durable").unwrap();
    let end = w.sync().unwrap();
    w.append(b"lost in the crash").unwrap();
    drop(w); // the unsynced record reaches the file, as a crash could leave it
    let before = (std::fs::read(&path).unwrap(), std::fs::read(&sidecar).unwrap());
    let mut f = Follower::<B>::open(&path, 0).unwrap();
    assert_eq!(&*f.poll().unwrap().unwrap(), b"durable");
    assert!(f.poll().unwrap().is_none(), "a record that was never synced was yielded");
    assert!((std::fs::read(&path).unwrap(), std::fs::read(&sidecar).unwrap()) == before, "the follower wrote");
    // Power loss took the unsynced record's tail; a new writer recovers and goes on.
    h.overwrite(end + 12, &[0xff; 4]);
    let mut w = Writer::<B>::open(&path, 0).unwrap();
    assert_eq!(w.report().end, end);
    w.append(b"after recovery").unwrap();
    w.sync().unwrap();
    assert_eq!(&*f.poll().unwrap().unwrap(), b"after recovery");
}

/// A zero-filled segment is the same segment: exact size, all zero, and it works like a
/// fallocated one (the difference is only in how fast its syncs are).
pub fn zeroed_preallocation_makes_the_same_segment<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    let size = (1 << 20) + (64 << 10);
    let mut w = Writer::<B>::create_with(&path, size, 0, seglog_core::Preallocation::Zeroed).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert!(bytes.iter().all(|&b| b == 0));
    w.append(b"zeroed").unwrap();
    w.sync().unwrap();
    drop(w);
    let w = Writer::<B>::open_with(&path, 0, RecoveryMode::Strict).unwrap();
    assert_eq!((w.report().records, w.report().damage), (1, None));
    let again = Writer::<B>::create_with(&path, size, 0, seglog_core::Preallocation::Zeroed);
    assert!(matches!(again, Err(Error::Open { .. })), "an existing file must be refused");
}

/// Defect 8 of issue 10: with a start offset below the block size, the O_DIRECT writer
/// kept block 0 as read at open and rewrote it whole on every flush and on drop, zeroing
/// the header the application wrote through `writer.file()`, the README's own example.
pub fn application_header_survives_the_writer<B: OpenSegment + AsRef<std::fs::File>>(h: &mut FileHarness<B>) {
    use std::os::unix::fs::FileExt;
    let path = h.path().to_path_buf();
    let header = |bytes: &[u8]| std::fs::read(&path).unwrap()[..bytes.len()] == *bytes;
    let mut writer = Writer::<B>::create(&path, 1024 * 1024, 64).unwrap();
    writer.file().write_all_at(b"MAGIC", 0).unwrap();
    let (offset, _) = writer.append(b"event data").unwrap();
    writer.sync().unwrap();
    assert!(header(b"MAGIC"), "the first sync zeroed the header");
    writer.append(b"buffered").unwrap();
    drop(writer); // hands the buffered record to the file
    assert!(header(b"MAGIC"), "dropping the writer zeroed the header");
    let mut writer = Writer::<B>::open(&path, 64).unwrap();
    assert_eq!(writer.report().records, 2);
    // Changed while records share its block, and while one is buffered.
    writer.append(b"third").unwrap();
    writer.file().write_all_at(b"MAGIC-2", 0).unwrap();
    writer.sync().unwrap();
    assert!(header(b"MAGIC-2"), "a later sync zeroed the header");
    let mut r = Reader::<B>::open(&path, Some(writer.flushed_offset())).unwrap();
    assert_eq!(&*r.read_record(offset, ReadHint::Random).unwrap(), b"event data");
    let mut region = [0u8; 64];
    r.read_segment_header(&mut region).unwrap();
    let mut want = [0u8; 64];
    want[..7].copy_from_slice(b"MAGIC-2");
    assert_eq!(region, want, "the header region, byte for byte");
    assert_eq!(std::fs::read(&path).unwrap()[..64], want);
}

/// Defect 9 of issue 10: the early returns of `create` after the file existed (the
/// writer's first read failing, the sidecar failing) left the file behind, so a retry met
/// "File exists".
pub fn failed_create_leaves_nothing_behind<B: OpenSegment>(h: &mut FileHarness<B>) {
    use crate::interleave::{Call, Hooked, Hooks, Point};
    let path = h.path().to_path_buf();
    // The writer's first read (direct I/O reads the block holding the start offset) finds
    // the file cut short under it.
    let hooks = Hooks::new();
    hooks.attach(&path);
    let cut_short = path.clone();
    hooks.at(Point::before(Call::Read, 0), move || {
        std::fs::OpenOptions::new().write(true).open(&cut_short).unwrap().set_len(0).unwrap();
    });
    let made = Writer::<Hooked<B>>::create(&path, 64 << 10, 100);
    Hooks::detach(&path);
    match made {
        Err(e) => {
            assert_eq!(hooks.fired(), 1, "{e}");
            assert!(!path.exists(), "a failed create left {} behind: {e}", path.display());
        }
        // Buffered backends do not read at create.
        Ok(w) => {
            assert_eq!(hooks.fired(), 0);
            drop(w);
            std::fs::remove_file(&path).unwrap();
        }
    }
    drop(Writer::<B>::create(&path, 64 << 10, 100).unwrap());
    std::fs::remove_file(&path).unwrap();
    // The sidecar cannot be made: a directory holds its name.
    let sidecar = seglog_core::sidecar::sidecar_path(&path);
    std::fs::remove_file(&sidecar).unwrap();
    std::fs::create_dir(&sidecar).unwrap();
    let e = Writer::<B>::create(&path, 64 << 10, 0).unwrap_err();
    assert!(e.to_string().contains("segment.log"), "{e}");
    assert!(!path.exists(), "a failed create left {} behind: {e}", path.display());
    std::fs::remove_dir(&sidecar).unwrap();
    let w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
    assert_eq!(w.size(), 64 << 10);
}
