//! Checks for file backends: reads of a file that shrank behind the handle's back.

use std::io::ErrorKind;

use seglog_core::{AlignedBuf, Error, OpenSegment, RecoveryMode, Writer};

use crate::FileHarness;
use crate::util::payload;

/// Issue 10, defect 7: an I/O error while reading, in recovery or through `read_at`, is an
/// error naming the segment, never a SIGBUS. The mmap backend used to copy from its
/// mapping, where a page the file no longer has (or one the disk cannot read: EIO) raises
/// SIGBUS and kills the process. EIO cannot be produced here without FUSE, so the file
/// shrinks behind an open handle, as another program could do: the bytes past the new end
/// are then unreadable the same way.
pub fn read_past_end_of_file_is_an_error_not_a_signal<B: OpenSegment>(h: &mut FileHarness<B>) {
    let path = h.path().to_path_buf();
    let mut w = Writer::<B>::create(&path, 64 << 10, 0).unwrap();
    for i in 0..40 {
        w.append(&payload(i, 1000)).unwrap();
    }
    w.sync().unwrap();
    drop(w);
    let io = B::open_writer(&path).unwrap();
    let size = io.size();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(8192).unwrap();
    let mut buf = AlignedBuf::new();
    let region = buf.region(4096, io.alignment());
    let err = io.read_at(16384, region).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
    assert_eq!(io.size(), size);
    match Writer::recover(io, 0, RecoveryMode::Truncate) {
        Err(Error::Io { path: p, .. }) => assert_eq!(p, path),
        other => panic!("recovery over a shrunk file: expected an I/O error, got {other:?}"),
    }
}

/// The harness reaches handles opened by path: a writer and a reader opened through
/// [`Hooked`](super::Hooked)'s `OpenSegment` take the hooks attached to the path, so an
/// actor armed there runs inside the reader's call (how followers are hooked).
pub fn path_opened_handles_take_attached_hooks<B: OpenSegment>(h: &mut FileHarness<B>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use seglog_core::{ReadHint, Reader};

    use super::{Call, Hooked, Hooks, Point};

    let path = h.path().to_path_buf();
    let hooks = Hooks::new();
    hooks.attach(&path);
    let mut w = Writer::<Hooked<B>>::create(&path, 64 << 10, 0).unwrap();
    let (at, _) = w.append(b"by path").unwrap();
    w.sync().unwrap();
    let mut r = Reader::<Hooked<B>>::open(&path, Some(w.flushed_offset())).unwrap();
    Hooks::detach(&path);
    assert!(Arc::ptr_eq(r.io().hooks(), &hooks) && Arc::ptr_eq(w.io().hooks(), &hooks));
    hooks.reset_counts();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    hooks.at(Point::after(Call::Read, 0), move || flag.store(true, Ordering::Relaxed));
    assert_eq!(&*r.read_record(at, ReadHint::Random).unwrap(), b"by path");
    assert!(ran.load(Ordering::Relaxed), "the actor armed on the path did not run");
    // Handles opened at other paths get inert hooks of their own.
    assert!(!Arc::ptr_eq(&Hooks::for_path(&h.dir().join("other.log")), &hooks));
}
