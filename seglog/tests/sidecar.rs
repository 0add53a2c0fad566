//! The `<segment>.flushed` sidecar behaves as the README and `Writer::create`'s rustdoc say:
//! it appears beside the segment, and it must travel with it.

use seglog::write::Writer;
use seglog::{Follower, Result};

fn sidecar(path: &std::path::Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".flushed");
    name.into()
}

#[test]
fn the_sidecar_exists_and_moves_with_its_segment() -> Result<()> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let path = dir.path().join("events.seg");
    let mut w = Writer::create(&path, 64 << 10, 0)?;
    assert!(sidecar(&path).is_file(), "create makes {}", sidecar(&path).display());
    w.append(b"durable")?;
    w.sync()?;
    drop(w);

    // Moved together: a follower of the new name sees the durable record.
    let moved = dir.path().join("moved.seg");
    std::fs::rename(&path, &moved).expect("rename");
    std::fs::rename(sidecar(&path), sidecar(&moved)).expect("rename the sidecar");
    let mut f = Follower::open(&moved, 0)?;
    assert_eq!(f.poll()?.map(|r| r.to_vec()), Some(b"durable".to_vec()));

    // Copied without it: followers see nothing until a writer opens the copy by path.
    let copy = dir.path().join("copy.seg");
    std::fs::copy(&moved, &copy).expect("copy");
    let mut f = Follower::open(&copy, 0)?;
    assert!(f.poll()?.is_none());
    drop(Writer::open(&copy, 0)?);
    assert!(sidecar(&copy).is_file(), "open makes the sidecar");
    assert_eq!(f.poll()?.map(|r| r.to_vec()), Some(b"durable".to_vec()));
    Ok(())
}
