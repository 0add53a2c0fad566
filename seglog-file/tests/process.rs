//! Checks that need a second process or a large file, for the file backend.

use std::process::Command;

use seglog_core::{Error, RecoveryMode, ValidAfter, Writer, codec};
use seglog_file::FileIo;

const CHILD_ENV: &str = "SEGLOG_LOCK_CHILD_PATH";

/// Run as the child by `writer_lock_holds_across_processes`: try to open the segment and
/// exit 42 if it is locked, 0 if it opened.
#[test]
fn lock_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let code = match Writer::<FileIo>::open(&path, 0) {
        Err(Error::Locked { .. }) => 42,
        Ok(_) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    };
    std::process::exit(code);
}

fn child_open(path: &std::path::Path) -> i32 {
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lock_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .status()
        .unwrap();
    status.code().unwrap_or(-1)
}

#[test]
fn writer_lock_holds_across_processes() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("segment.log");
    let writer = Writer::<FileIo>::create(&path, 64 << 10, 0).unwrap();
    assert_eq!(child_open(&path), 42, "a second process opened a locked segment");
    drop(writer);
    assert_eq!(child_open(&path), 0, "the lock outlived its writer");
}

/// A torn record of random bytes at the start of a large segment holds many candidate
/// headers whose lengths fit the segment. Recovery must still rule out valid records after
/// it (so Strict mode opens), without checksumming each candidate's full claimed length.
#[test]
fn torn_binary_tail_in_large_segment_is_ruled_out() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("segment.log");
    let mut w = Writer::<FileIo>::create(&path, 1 << 30, 0).unwrap();
    w.append(b"kept").unwrap();
    let end = w.sync().unwrap();
    let mut x = 0x1234_5678_9abc_def1u64;
    let torn: Vec<u8> = (0..48 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut image = codec::encode_header(&[0u8; 60_000]).to_vec();
    image.extend_from_slice(&torn);
    use std::os::unix::fs::FileExt;
    w.file().write_all_at(&image, end).unwrap();
    drop(w);
    let w = Writer::<FileIo>::open_with(&path, 0, RecoveryMode::Strict).unwrap();
    let report = *w.report();
    assert_eq!((report.end, report.records), (end, 1));
    assert_eq!(report.damage.map(|d| d.valid_after), Some(ValidAfter::None));
    assert_eq!(report.discarded_bytes, image.iter().rposition(|&b| b != 0).unwrap() as u64 + 1);
}

#[test]
fn errors_are_send_sync_static() {
    fn check<E: std::error::Error + Send + Sync + 'static>() {}
    check::<Error>();
}
