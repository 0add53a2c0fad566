//! Damage: verify's exit codes, recover with and without --strict and --dry-run, and
//! append refusing a segment that needs recovery.

use super::*;

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
         recover would erase the 24 bytes from offset 11, keeping 1 record before it and discarding the valid records past the damage; recover --strict would refuse and change nothing\n",
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
    let run = seglog(&["recover", s(&path), "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with(&format!("dry run, nothing written: {}: 1 record, end 11: damaged mid-log", s(&path)))
    );
    let strict = seglog(&["recover", s(&path), "--dry-run", "--strict"]);
    assert_eq!(strict.code, 2, "{strict:?}");
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn recover_strict_refuses_then_plain_recover_fixes() {
    let dir = tempdir();
    let path = three(dir.path());
    flip(&path, 21);
    let before = std::fs::read(&path).expect("read");
    let refused = seglog(&["recover", s(&path), "--strict"]);
    let message = format!(
        "{}: damaged record at offset 11 (checksum mismatch: stored 0x{}, computed 0x{}) with a valid record after it at offset 22; strict recovery refuses to discard it and changed nothing",
        s(&path),
        crc(b"two"),
        crc(b"tw\x90"),
    );
    assert_error(&refused, 2, &message);
    assert_eq!(refused.stdout, "");
    assert_eq!(std::fs::read(&path).expect("read"), before);

    let fixed = seglog(&["recover", s(&path)]);
    assert_eq!(fixed.code, 0, "{fixed:?}");
    assert_eq!(
        fixed.stdout.lines().last(),
        Some("erased the 24 bytes from offset 11, discarding the valid records past the damage")
    );
    let bytes = std::fs::read(&path).expect("read");
    assert_eq!(&bytes[..11], &before[..11]);
    assert!(bytes[11..].iter().all(|&b| b == 0));
    assert_eq!(seglog(&["verify", s(&path)]).code, 0);
}

#[test]
fn recover_erases_a_torn_tail_even_when_strict() {
    let dir = tempdir();
    let path = three(dir.path());
    flip(&path, 34);
    let run = seglog(&["recover", s(&path), "--strict", "--backend", "file"]);
    let expected = format!(
        "recovered {}: found 2 records, end 22: torn tail at offset 22 (checksum mismatch: stored 0x{}, computed 0x{}), 13 bytes at risk\n\
         erased the 13 bytes from offset 22\n",
        s(&path),
        crc(b"three"),
        crc(b"thre\x9a"),
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, expected.as_str(), ""));
    assert_eq!(seglog(&["verify", s(&path)]).code, 0);
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
