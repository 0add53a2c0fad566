//! Files that are not segments, are missing or are locked, and usage errors: one line
//! on stderr and the documented exit code, never a panic.

use super::*;

#[test]
fn missing_file_is_one_line_and_66() {
    let dir = tempdir();
    let path = dir.path().join("missing.seg");
    let message =
        format!("{}: I/O error while opening segment at offset 0: No such file or directory (os error 2)", s(&path));
    for command in ["dump", "verify", "stat", "append"] {
        assert_error(&seglog(&[command, s(&path)]), 66, &message);
    }
    assert_error(&seglog(&["recover", s(&path)]), 66, &message);
    assert_error(&seglog(&["recover", s(&path), "--dry-run"]), 66, &message);
}

#[test]
fn directory_is_one_line_and_66() {
    let dir = tempdir();
    let path = dir.path();
    let read_only = format!("{}: I/O error while opening segment at offset 0: not a regular file", s(path));
    for command in ["dump", "verify", "stat", "append"] {
        assert_error(&seglog(&[command, s(path)]), 66, &read_only);
    }
    // recover scans read-only first, to say what it would discard before it acts.
    assert_error(&seglog(&["recover", s(path)]), 66, &read_only);
}

#[test]
fn file_shorter_than_a_header() {
    let dir = tempdir();
    let path = dir.path().join("short.seg");
    std::fs::write(&path, b"abc").expect("write");
    let run = seglog(&["verify", s(&path)]);
    let expected = format!(
        "{}: 0 records, end 0: torn tail at offset 0 (fewer than 8 bytes where a record header was expected), 3 bytes at risk\n\
         recover would erase the 3 bytes from offset 0, leaving no records; --strict would do the same\n",
        s(&path)
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (1, expected.as_str(), ""));
    let dumped = seglog(&["dump", s(&path)]);
    assert_eq!(dumped.code, 0);
    assert!(dumped.stdout.starts_with(&format!("{DUMP_HEADING}summary: 0 records, end 0: torn tail")));
    assert_eq!(seglog(&["stat", s(&path)]).code, 0);
    assert_eq!(seglog(&["append", s(&path)]).code, 2);
    assert_eq!(std::fs::read(&path).expect("read"), b"abc", "nothing but recover may erase it");
    let beyond = seglog(&["verify", s(&path), "--start-offset", "8"]);
    assert_error(&beyond, 64, &format!("{}: start offset 8 is past the end of a 3-byte segment", s(&path)));
}

#[test]
fn random_bytes_are_reported_not_panicked_on() {
    let dir = tempdir();
    let path = dir.path().join("random.seg");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&path, &bytes).expect("write");
    let report = seglog::verify(&path, 0).expect("the library reads it");
    let expected_code = match report.damage.map(|d| d.valid_after) {
        None => 0,
        Some(seglog::ValidAfter::None) => 1,
        Some(_) => 2,
    };
    let run = seglog(&["verify", s(&path)]);
    assert_eq!((run.code, run.stderr.as_str()), (expected_code, ""), "{run:?}");
    assert!(run.stdout.starts_with(&format!("{}: {} record", s(&path), report.records)), "{run:?}");
    for command in ["dump", "stat"] {
        let run = seglog(&[command, s(&path)]);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{command}: {run:?}");
    }
    assert_ne!(seglog(&["append", s(&path)]).code, 0);
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
}

#[test]
fn a_locked_segment_refuses_append_but_reads_fine() {
    let dir = tempdir();
    let path = dir.path().join("locked.seg");
    // Held across spawns on purpose, so not under `SPAWN`: children forked meanwhile only
    // share a lock this test wants held anyway.
    let mut writer = Writer::create(&path, 4096, 0).expect("create");
    writer.append(b"held").expect("append");
    writer.sync().expect("sync");

    let run = seglog_with_input(&["append", s(&path)], b"more\n");
    assert_error(&run, 75, &format!("{}: the segment is locked by another writer", s(&path)));
    let run = seglog(&["recover", s(&path)]);
    assert_eq!(run.code, 75, "{run:?}");

    let dumped = seglog(&["dump", s(&path)]);
    let expected =
        format!("{DUMP_HEADING}{:>12} {:>10} {}  \"held\"\nsummary: 1 record, end 12: clean\n", 0, 4, crc(b"held"));
    assert_eq!((dumped.code, dumped.stdout.as_str()), (0, expected.as_str()));
    assert_eq!(seglog(&["verify", s(&path)]).code, 0);
    drop(writer);
}

#[test]
fn create_refuses_an_existing_file() {
    let dir = tempdir();
    let path = three(dir.path());
    let run = seglog(&["create", s(&path), "--size", "4k"]);
    assert_error(
        &run,
        73,
        &format!("{}: I/O error while creating segment at offset 0: File exists (os error 17)", s(&path)),
    );
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    for args in [
        &["create", "x.seg", "--size", "12 parsecs"][..],
        &["create", "x.seg"],
        &["frobnicate"],
        &["dump", "x.seg", "--format", "xml"],
        &["bench", "--backend", "tape"],
        &["bench", "--count", "0"],
        &[],
    ] {
        let run = seglog(args);
        assert_eq!(run.code, 64, "{args:?}: {run:?}");
        assert_eq!(run.stdout, "", "{args:?}");
    }
    let bad_unit = seglog(&["create", "x.seg", "--size", "12 parsecs"]);
    assert!(bad_unit.stderr.contains("unknown size unit `parsecs`"), "{bad_unit:?}");
    for command in ["create", "append", "dump", "verify", "recover", "stat", "bench"] {
        let run = seglog(&[command, "--help"]);
        assert_eq!(run.code, 0, "{command}");
        assert!(run.stdout.contains("Exit codes:\n  0   success"), "{command}: {}", run.stdout);
        assert!(run.stdout.contains("75  the segment is locked"), "{command}");
    }
}
