//! Damage: verify's exit codes, recover with and without --strict and --dry-run, and
//! append refusing a segment that needs recovery.

use super::*;
use seglog::core::codec::encode_header;

#[test]
fn verify_clean_exits_0() {
    let dir = tempdir();
    let path = three(dir.path());
    let run = seglog(&["verify", s(&path)]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, format!("{}: 3 records, end 35: clean\nrecover would change nothing\n", s(&path)).as_str(), "")
    );
}

#[test]
fn verify_torn_tail_exits_1() {
    let dir = tempdir();
    let path = three(dir.path());
    flip(&path, 34); // the last payload byte of "three"
    let stored = crc(b"three");
    let computed = crc(b"thre\x9a");
    let run = seglog(&["verify", s(&path)]);
    let expected = format!(
        "{}: 2 records, end 22: torn tail at offset 22 (checksum mismatch: stored 0x{stored}, computed 0x{computed}), 13 bytes at risk\n\
         recover would erase the 13 bytes from offset 22 and keep the 2 records before it; --strict would do the same\n",
        s(&path)
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (1, expected.as_str(), ""));
}

#[test]
fn verify_mid_log_damage_exits_2() {
    let dir = tempdir();
    let path = three(dir.path());
    flip(&path, 21); // the last payload byte of "two"
    let run = seglog(&["verify", s(&path)]);
    let expected = format!(
        "{}: 1 record, end 11: damaged mid-log at offset 11 (checksum mismatch: stored 0x{}, computed 0x{}), a valid record follows at offset 22, 24 bytes at risk\n\
         recover would refuse and change nothing; recover --force would erase the 24 bytes from offset 11, keeping 1 record before it and discarding the valid records past the damage\n",
        s(&path),
        crc(b"two"),
        crc(b"tw\x90"),
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (2, expected.as_str(), ""));

    // dump shows the valid prefix and says the rest is at risk; it is not an error.
    let dumped = seglog(&["dump", s(&path)]);
    assert_eq!(dumped.code, 0);
    assert_eq!(dumped.stdout.lines().count(), 3, "{dumped:?}");
    assert!(dumped.stdout.contains("summary: 1 record, end 11: damaged mid-log at offset 11 ("), "{dumped:?}");
    let json = seglog(&["dump", s(&path), "--format", "json"]);
    let summary = format!(
        r#"{{"type":"summary","start_offset":0,"end":11,"records":1,"tail":"damaged","discarded_bytes":24,"damage":{{"offset":11,"reason":"checksum mismatch: stored 0x{}, computed 0x{}","valid_after":"found","valid_after_offset":22}}}}"#,
        crc(b"two"),
        crc(b"tw\x90"),
    );
    assert_eq!((json.code, json.stdout.lines().last()), (0, Some(summary.as_str())));
}

#[test]
fn recover_dry_run_writes_nothing() {
    let dir = tempdir();
    let path = three(dir.path());
    flip(&path, 21);
    let before = std::fs::read(&path).expect("read");
    // The damage lies below the durable end the sidecar vouches for: refused, even dry.
    let run = seglog(&["recover", s(&path), "--dry-run"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.starts_with(&format!("dry run, nothing written: {}: 1 record, end 11: damaged mid-log", s(&path))),
        "{run:?}"
    );
    let forced = seglog(&["recover", s(&path), "--dry-run", "--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(
        forced.stdout.contains(
            "recover would discard 24 bytes in [11, 35), holding at least 1 valid record (the first at offset 22)"
        ),
        "{forced:?}"
    );
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn recover_refuses_to_discard_synced_records_without_force() {
    let dir = tempdir();
    let path = three(dir.path());
    flip(&path, 21);
    let before = std::fs::read(&path).expect("read");
    for args in [&["recover", s(&path)][..], &["recover", s(&path), "--strict"][..]] {
        let refused = seglog(args);
        assert_eq!((refused.code, refused.stderr.as_str()), (2, ""), "{refused:?}");
        let expected = format!(
            "{}: 1 record, end 11: damaged mid-log at offset 11 (checksum mismatch: stored 0x{}, computed 0x{}), a valid record follows at offset 22, 24 bytes at risk\n\
             recover would discard 24 bytes in [11, 35), holding at least 1 valid record (the first at offset 22)\n\
             refused, nothing written: {0}: damaged record at offset 11 (checksum mismatch: stored 0x{1}, computed 0x{2}) with a valid record after it at offset 22, below the durable end 35 that the sidecar vouches for; recovery refuses to erase what a crash cannot leave and changed nothing (RecoveryMode::Truncate erases it)\n\
             to discard everything from offset 11 on, run again with --force\n",
            s(&path),
            crc(b"two"),
            crc(b"tw\x90"),
        );
        assert_eq!(refused.stdout, expected);
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }

    let fixed = seglog(&["recover", s(&path), "--force"]);
    assert_eq!(fixed.code, 0, "{fixed:?}");
    assert_eq!(
        fixed.stdout.lines().nth(1),
        Some("recover will discard 24 bytes in [11, 35), holding at least 1 valid record (the first at offset 22)")
    );
    assert_eq!(
        fixed.stdout.lines().last(),
        Some("erased the 24 bytes from offset 11, discarding the valid records past the damage")
    );
    assert_eq!(seglog(&["verify", s(&path)]).code, 0);
}

/// Bytes a crash could leave past the durable end: a record written but never synced,
/// torn after its first `keep` bytes.
fn torn_append(path: &std::path::Path, at: usize, payload: &[u8], keep: usize) {
    let mut record = encode_header(payload).to_vec();
    record.extend_from_slice(payload);
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at..at + keep].copy_from_slice(&record[..keep]);
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn recover_erases_a_torn_tail_even_when_strict() {
    let dir = tempdir();
    let path = three(dir.path());
    torn_append(&path, 35, b"four", 10);
    let run = seglog(&["recover", s(&path), "--strict", "--backend", "file"]);
    let expected = format!(
        "{}: 3 records, end 35: torn tail at offset 35 (checksum mismatch: stored 0x{}, computed 0x{}), 10 bytes at risk\n\
         recover will discard 10 bytes in [35, 45), holding no valid record\n\
         recovered {0}: found 3 records, end 35: torn tail at offset 35 (checksum mismatch: stored 0x{1}, computed 0x{2}), 10 bytes at risk\n\
         erased the 10 bytes from offset 35\n",
        s(&path),
        crc(b"four"),
        crc(b"fo\0\0"),
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, expected.as_str(), ""));
    assert_eq!(seglog(&["verify", s(&path)]).code, 0);
}

#[test]
fn recover_names_the_likely_start_offset() {
    let dir = tempdir();
    let path = segment(dir.path(), "app.seg", 1 << 20, 64, &[b"one", b"two", b"three"]);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[..64].copy_from_slice(&[0xA5; 64]); // the application's header
    std::fs::write(&path, &bytes).expect("write");
    let run = seglog(&["recover", s(&path)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("valid records begin at offset 64: is that the start offset?"), "{run:?}");
    assert!(run.stdout.contains("run again with --start-offset 64"), "{run:?}");
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
    let right = seglog(&["recover", s(&path), "--start-offset", "64"]);
    assert_eq!(right.code, 0, "{right:?}");
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
}

#[test]
fn recover_refuses_what_is_not_a_segment() {
    let dir = tempdir();
    let text = dir.path().join("notes.txt");
    let words = "seglog is not a text editor, and recovery must not make it one.\n".repeat(50);
    std::fs::write(&text, &words).expect("write");
    let run = seglog(&["recover", s(&text)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("not a segment"), "{run:?}");
    assert_eq!(std::fs::read(&text).expect("read"), words.as_bytes());

    let empty = dir.path().join("empty.seg");
    std::fs::write(&empty, b"").expect("write");
    let run = seglog(&["recover", s(&empty)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("not a segment: the file is empty"), "{run:?}");
}

#[test]
fn append_refuses_a_segment_that_needs_recovery() {
    let dir = tempdir();
    let path = three(dir.path());
    flip(&path, 34);
    let before = std::fs::read(&path).expect("read");
    let run = seglog_with_input(&["append", s(&path)], b"more\n");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with(&format!("seglog: {}: refusing to append: 2 records, end 22: torn tail", s(&path))));
    assert!(run.stderr.ends_with("; run `seglog recover` first\n"));
    assert_eq!(std::fs::read(&path).expect("read"), before);
}
