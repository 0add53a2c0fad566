//! What the errors say, read alone: the operation and its cause, no meaningless offsets,
//! and a hint where the caller's start offset is the likely mistake.

use std::os::unix::fs::FileExt;

use seglog::read::{ReadHint, Reader};
use seglog::write::Writer;
use seglog::{Error, Result};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// Regression: an open or create failure read "I/O error while opening segment at offset
/// 0", an offset that means nothing there and no word of the cause.
#[test]
fn open_and_create_errors_name_the_operation_and_cause() -> Result<()> {
    let dir = tempdir();
    let missing = dir.path().join("missing.seg");
    let shown = missing.display();
    let e = Writer::open(&missing, 0).unwrap_err();
    assert!(matches!(e, Error::Open { .. }), "{e:?}");
    assert_eq!(e.offset(), None);
    assert_eq!(e.to_string(), format!("{shown}: opening segment failed: not found"));
    let source = std::error::Error::source(&e).expect("the OS error stays the source");
    assert_eq!(source.to_string(), "No such file or directory (os error 2)");
    for e in [
        Reader::open(&missing, None).unwrap_err(),
        Reader::open_closed(&missing, 0).unwrap_err(),
        seglog::verify(&missing, 0).unwrap_err(),
        seglog::Follower::open(&missing, 0).unwrap_err(),
    ] {
        assert_eq!((e.to_string(), e.offset()), (format!("{shown}: opening segment failed: not found"), None));
    }

    let path = dir.path().join("s.seg");
    drop(Writer::create(&path, 4096, 0)?);
    let e = Writer::create(&path, 4096, 0).unwrap_err();
    assert_eq!(e.to_string(), format!("{}: creating segment failed: already exists", path.display()));
    assert_eq!(e.offset(), None);

    // Not an OS error: its own message is the cause.
    let e = Reader::open(dir.path(), None).unwrap_err();
    assert_eq!(e.to_string(), format!("{}: opening segment failed: not a regular file", dir.path().display()));
    let e = Writer::open(dir.path(), 0).unwrap_err();
    assert_eq!(e.to_string(), format!("{}: opening segment failed: is a directory", dir.path().display()));
    Ok(())
}

/// Regression: `Reader::open(path, None)` on a segment with a header region sees no
/// records, and reads failed with only "readers see records in [0, 0)".
#[test]
fn nothing_visible_hints_at_the_start_offset() -> Result<()> {
    let dir = tempdir();
    let path = dir.path().join("headed.seg");
    let mut w = Writer::create(&path, 64 << 10, 4096)?;
    w.file().write_all_at(b"MAGIC v1", 0).map_err(|e| panic!("{e}"))?;
    let (at, _) = w.append(b"event")?;
    w.sync()?;
    drop(w);
    let mut r = Reader::open(&path, None)?;
    assert_eq!(r.visible_end(), 0);
    let e = r.read_record(at, ReadHint::Random).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: no visible record at offset 4096: readers see records in [0, 0); ",
            path.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("if the records do not start at offset 0, the reader was opened with the wrong start offset"),
        "{text}"
    );
    assert!(text.contains("open_closed"), "{text}");
    // With the right start offset the record reads, and past the end there is no hint.
    let mut r = Reader::open_closed(&path, 4096)?;
    assert_eq!(&*r.read_record(at, ReadHint::Random)?, b"event");
    let e = r.read_record(8192, ReadHint::Random).unwrap_err();
    assert!(!e.to_string().contains("start offset"), "{e}");
    Ok(())
}

/// `read_record` at an offset inside a payload returns `Ok` when the bytes there form a
/// valid record, as its rustdoc says; iteration never yields it.
#[test]
fn read_record_inside_a_payload_may_succeed() -> Result<()> {
    let dir = tempdir();
    let path = dir.path().join("nested.seg");
    let mut w = Writer::create(&path, 64 << 10, 0)?;
    // A payload that embeds an encoded record: what a log of logs would store.
    let mut inner = Writer::create(dir.path().join("inner.seg"), 4096, 0)?;
    inner.append(b"inner")?;
    inner.sync()?;
    let mut embedded = vec![0u8; 13];
    inner.file().read_exact_at(&mut embedded, 0).map_err(|e| panic!("{e}"))?;
    let (outer, _) = w.append(&embedded)?;
    w.sync()?;
    let mut r = w.reader();
    assert_eq!(&*r.read_record(outer + 8, ReadHint::Random)?, b"inner");
    let mut it = r.iter(0);
    let only = it.next_record()?.map(|rec| (rec.offset(), rec.to_vec()));
    assert_eq!(only, Some((outer, embedded)));
    assert!(it.next_record()?.is_none());
    Ok(())
}
