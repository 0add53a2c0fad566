//! Runs the real `seglog` binary against segment files made with the library, checking
//! stdout, stderr and exit codes exactly.
//!
//! `records`: create, append, dump, stat, bench. `recovery`: verify, recover, and append
//! on a damaged segment. `errors`: files that are missing, not segments, or locked, and
//! usage errors.

mod errors;
mod logdir;
mod records;
mod recovery;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{PoisonError, RwLock};

use seglog::core::codec::encode_header;
use seglog::write::Writer;

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Orders the test threads' spawns against their writers. A writer's `flock` belongs to
/// its open file description, which a child forked by another test thread shares until it
/// execs (the fd is close-on-exec). A segment made by [`segment`] could then still be
/// locked, for a moment, when the binary opens it. Spawns hold this for reading; a writer
/// the binary will later open is created and dropped holding it for writing.
static SPAWN: RwLock<()> = RwLock::new(());

/// Runs `seglog args...` with `stdin` as its input.
pub(crate) fn seglog_with_input(args: &[&str], stdin: &[u8]) -> Run {
    let spawning = SPAWN.read().unwrap_or_else(PoisonError::into_inner);
    // `spawn` returns once the child has exec'd, closing its copies of the test's files.
    let mut child = Command::new(env!("CARGO_BIN_EXE_seglog"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(spawning);
    // A command that fails before reading its input closes the pipe: not the test's concern.
    match child.stdin.take().expect("piped stdin").write_all(stdin) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing stdin: {e}"),
        _ => {}
    }
    let out = child.wait_with_output().expect("the binary finishes");
    let run = Run {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    };
    assert!(!run.stderr.contains("panicked"), "{args:?} panicked: {}", run.stderr);
    assert!(!run.stderr.contains("RUST_BACKTRACE"), "{args:?}: {}", run.stderr);
    run
}

/// Runs `seglog args...` with empty input.
pub(crate) fn seglog(args: &[&str]) -> Run {
    seglog_with_input(args, b"")
}

/// Asserts `run` failed with `code` and exactly one line on stderr, `seglog: ` then `message`.
pub(crate) fn assert_error(run: &Run, code: i32, message: &str) {
    assert_eq!((run.code, run.stderr.as_str()), (code, format!("seglog: {message}\n").as_str()), "{run:?}");
}

/// A fresh directory under the target dir (not tmpfs).
pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// `path` as the `&str` the binary is given and prints back.
pub(crate) fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// A closed segment of `size` bytes holding `records`, made with the library.
pub(crate) fn segment(dir: &Path, name: &str, size: u64, start: u64, records: &[&[u8]]) -> PathBuf {
    let path = dir.join(name);
    let _no_spawns = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
    let mut writer = Writer::create(&path, size, start).expect("create");
    for record in records {
        writer.append(record).expect("append");
    }
    writer.sync().expect("sync");
    path
}

/// The CRC32C the record header stores for `payload`, as dump prints it.
pub(crate) fn crc(payload: &[u8]) -> String {
    let h = encode_header(payload);
    format!("{:08x}", u32::from_le_bytes([h[4], h[5], h[6], h[7]]))
}

/// Overwrites one byte of the file at `offset` with its complement.
pub(crate) fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset] = !bytes[offset];
    std::fs::write(path, bytes).expect("write");
}

/// The first line of `dump` in text and hex.
pub(crate) const DUMP_HEADING: &str = "      offset        len crc       data\n";

/// Three records at 0, 11, 22, ending at 35: ["one", "two", "three"].
pub(crate) fn three(dir: &Path) -> PathBuf {
    segment(dir, "three.seg", 4096, 0, &[b"one", b"two", b"three"])
}
