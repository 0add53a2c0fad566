//! Checks for backends whose segments are files: creation, the writer lock, path-based opens.

use seglog_core::{Error, OpenSegment, ReadHint, Reader, RecoveryMode, Writer};

use crate::FileHarness;

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
    assert!(matches!(Writer::<B>::create(&path, 64 << 10, 0), Err(Error::Io { .. })));
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
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    let short = h.dir().join("short.log");
    std::fs::write(&short, [1, 2, 3]).unwrap();
    match Writer::<B>::open(&short, 0) {
        Ok(w) => {
            assert_eq!(w.remaining_bytes(), 3);
            assert!(w.report().damage.is_some());
        }
        // A block-aligned backend cannot use a 3-byte file, and must say why.
        Err(e @ Error::InvalidArgument { .. }) => assert!(e.to_string().contains("short.log"), "{e}"),
        Err(e) => panic!("a 3-byte file: {e}"),
    }
}
