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
