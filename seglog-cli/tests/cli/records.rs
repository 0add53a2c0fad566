//! Writing and reading records: create, append, dump in each format, stat, bench.

use rstest::rstest;

use super::*;

#[test]
fn create_append_dump_round_trip_in_text() {
    let dir = tempdir();
    let path = dir.path().join("a.seg");
    let created = seglog(&["create", s(&path), "--size", "4k", "--start-offset", "16"]);
    assert_eq!(created.code, 0, "{created:?}");
    assert_eq!(created.stdout, format!("created {}: 4 KiB (4096 bytes), records from offset 16\n", s(&path)));
    assert_eq!(std::fs::metadata(&path).expect("made").len(), 4096);

    let appended = seglog_with_input(&["append", s(&path), "--start-offset", "16"], b"hello\nworld\n\nlast");
    assert_eq!((appended.code, appended.stdout.as_str(), appended.stderr.as_str()), (0, "16\n29\n42\n50\n", ""));

    let dumped = seglog(&["dump", s(&path), "--start-offset", "16"]);
    assert_eq!(dumped.code, 0, "{dumped:?}");
    let expected = format!(
        "{DUMP_HEADING}\
        {:>12} {:>10} {}  \"hello\"\n\
        {:>12} {:>10} {}  \"world\"\n\
        {:>12} {:>10} {}  \"\"\n\
        {:>12} {:>10} {}  \"last\"\n\
        summary: 4 records, end 62: clean\n",
        16,
        5,
        crc(b"hello"),
        29,
        5,
        crc(b"world"),
        42,
        0,
        crc(b""),
        50,
        4,
        crc(b"last"),
    );
    assert_eq!(dumped.stdout, expected);
}

#[test]
fn dump_json_lines_round_trip() {
    let dir = tempdir();
    let path = dir.path().join("j.seg");
    assert_eq!(seglog(&["create", s(&path), "--size", "1KiB"]).code, 0);
    let appended = seglog_with_input(&["append", s(&path), "--whole"], b"line 1\nline 2\n");
    assert_eq!((appended.code, appended.stdout.as_str()), (0, "0\n"));
    let binary = segment(dir.path(), "b.seg", 1024, 0, &[&[0xff, 0x00]]);

    let dumped = seglog(&["dump", s(&path), "--format", "json"]);
    assert_eq!(dumped.code, 0, "{dumped:?}");
    let record = format!(
        r#"{{"type":"record","offset":0,"len":14,"crc":"{}","continues_batch":false,"text":"line 1\nline 2\n","hex":"6c696e6520310a6c696e6520320a"}}"#,
        crc(b"line 1\nline 2\n")
    );
    let summary =
        r#"{"type":"summary","start_offset":0,"end":22,"records":1,"tail":"clean","discarded_bytes":0,"damage":null}"#;
    assert_eq!(dumped.stdout, format!("{record}\n{summary}\n"));

    let dumped = seglog(&["dump", s(&binary), "--format", "json"]);
    let first = dumped.stdout.lines().next().expect("a record line");
    assert_eq!(
        first,
        format!(
            r#"{{"type":"record","offset":0,"len":2,"crc":"{}","continues_batch":false,"text":null,"hex":"ff00"}}"#,
            crc(&[0xff, 0])
        )
    );
}

#[test]
fn dump_hex_from_and_limit() {
    let dir = tempdir();
    let path = three(dir.path());
    let dumped = seglog(&["dump", s(&path), "--format", "hex", "--from", "11", "--limit", "1"]);
    let expected =
        format!("{DUMP_HEADING}{:>12} {:>10} {}  74776f\nsummary: 3 records, end 35: clean\n", 11, 3, crc(b"two"));
    assert_eq!((dumped.code, dumped.stdout.as_str()), (0, expected.as_str()));

    let inside = seglog(&["dump", s(&path), "--from", "12"]);
    assert_eq!(inside.code, 65, "{inside:?}");
    assert!(inside.stderr.starts_with(&format!("seglog: {}: invalid record at offset 12: ", s(&path))), "{inside:?}");
    assert!(inside.stderr.ends_with("(--from must be a record's offset, as dump and append print them)\n"));
    assert_eq!(inside.stderr.lines().count(), 1);
}

/// `--from` against a segment whose records lie in [16, 51): one rule on both sides. Below
/// the start and past the end are usage errors (64); the end itself prints no records;
/// inside a record is a corrupt read (65).
#[rstest]
#[case::before_the_start_offset(8, 64, None)]
#[case::just_before_the_start_offset(15, 64, None)]
#[case::the_start_offset(16, 0, Some(3))]
#[case::a_later_record(27, 0, Some(2))]
#[case::inside_a_record(28, 65, None)]
#[case::the_end(51, 0, Some(0))]
#[case::just_past_the_end(52, 64, None)]
#[case::the_segment_size(4096, 64, None)]
#[case::far_past_the_segment(1_000_000, 64, None)]
fn dump_from(#[case] from: u64, #[case] code: i32, #[case] records: Option<usize>) {
    let dir = tempdir();
    let path = segment(dir.path(), "from.seg", 4096, 16, &[b"one", b"two", b"three"]);
    let from_text = from.to_string();
    let run = seglog(&["dump", s(&path), "--start-offset", "16", "--from", &from_text]);
    assert_eq!(run.code, code, "{run:?}");
    match records {
        Some(n) => {
            assert_eq!(run.stdout.lines().count(), n + 2, "{run:?}");
            assert!(run.stdout.ends_with("summary: 3 records, end 51: clean\n"), "{run:?}");
        }
        None => assert_eq!(run.stderr.lines().count(), 1, "{run:?}"),
    }
    let side = if from < 16 { "before the start offset 16" } else { "past the end of the records at 51" };
    if code == 64 {
        let message = format!("{}: --from {from} is {side}: it must be a record's offset in [16, 51]", s(&path));
        assert_error(&run, 64, &message);
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn append_from_a_file_and_until_full() {
    let dir = tempdir();
    let path = segment(dir.path(), "full.seg", 32, 0, &[]);
    let input = dir.path().join("input.txt");
    std::fs::write(&input, b"aaaa\nbbbb\ncccc\n").expect("write input");
    let run = seglog(&["append", s(&path), s(&input)]);
    assert_eq!(run.stdout, "0\n12\n");
    assert_error(
        &run,
        74,
        &format!("{}: segment full: a record of 12 bytes at offset 24 does not fit in the 8 bytes left", s(&path)),
    );
    let dumped = seglog(&["dump", s(&path), "--format", "json"]);
    assert_eq!(dumped.stdout.lines().count(), 3, "the two records that fit were synced: {dumped:?}");

    let missing = dir.path().join("no-such-input.txt");
    let run = seglog(&["append", s(&path), s(&missing)]);
    assert_error(&run, 66, &format!("{}: opening input: No such file or directory", s(&missing)));
}

#[test]
fn stat_numbers() {
    let dir = tempdir();
    let path = segment(dir.path(), "stat.seg", 8192, 64, &[b"a", b"bbb", b"ccccccccc"]);
    let run = seglog(&["stat", s(&path), "--start-offset", "64"]);
    let expected = format!(
        "path:           {}\n\
         size:           8192 bytes (8 KiB)\n\
         header region:  64 bytes (64 B)\n\
         used:           37 bytes (37 B)\n\
         free:           8091 bytes (7.9 KiB)\n\
         records:        3\n\
         record length:  min 1, mean 4.3, max 9 (payload bytes)\n\
         tail:           clean\n",
        s(&path)
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, expected.as_str(), ""));

    let empty = segment(dir.path(), "empty.seg", 4096, 0, &[]);
    let run = seglog(&["stat", s(&empty)]);
    assert!(run.stdout.contains("records:        0\nrecord length:  - (no records)\n"), "{run:?}");
}

#[test]
fn bench_with_a_tiny_count_prints_the_table_and_keeps_the_segment() {
    let dir = tempdir();
    let keep = dir.path().join("bench.seg");
    let run = seglog(&["bench", "--count", "500", "--record-size", "100B", "--sync-every", "100", "--keep", s(&keep)]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "seglog bench: 500 records of 100 B, sync every 100, in a 1 MiB segment");
    let heading: Vec<&str> = lines[1].split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(heading, ["backend", "appends/s", "append MB/s", "random reads/s", "scan GB/s", "recovery"]);
    assert!(lines[2].starts_with("file "), "{run:?}");
    assert!(lines[2].ends_with(" ms"), "{run:?}");
    assert!(lines.last().expect("a line").starts_with(&format!("kept the file segment at {}: 500 records", s(&keep))));

    let verified = seglog(&["verify", s(&keep)]);
    assert_eq!(verified.code, 0, "{verified:?}");
    assert!(verified.stdout.starts_with(&format!("{}: 500 records, end 54000: clean", s(&keep))));
    let first = seglog(&["dump", s(&keep), "--limit", "1"]);
    assert!(first.stdout.contains("  \"0000000000 lmnopqrstuvwxyzabcdefghijklmnopqrstuv\"...\n"), "{first:?}");

    let again = seglog(&["bench", "--count", "1", "--keep", s(&keep)]);
    assert_eq!(again.code, 73, "{again:?}");
}

/// Regression: dump printed the CRC of a kind-0 header for every record, which is wrong for
/// the records of an atomic batch (kind 1 changes the length word the CRC covers).
#[test]
fn dump_prints_the_stored_crc_of_batch_records() {
    let dir = tempdir();
    let path = dir.path().join("batch.seg");
    {
        let mut w = seglog::write::Writer::create(&path, 4096, 0).expect("create");
        w.append_batch(&[b"a", b"b"]).expect("batch");
        w.sync().expect("sync");
    }
    let stored = |offset: usize| {
        let bytes = std::fs::read(&path).expect("read");
        format!("{:08x}", u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().expect("4 bytes")))
    };
    let dumped = seglog(&["dump", s(&path), "--format", "json"]);
    let lines: Vec<&str> = dumped.stdout.lines().collect();
    assert!(lines[0].contains(&format!(r#""crc":"{}","continues_batch":true"#, stored(0))), "{}", lines[0]);
    assert!(lines[1].contains(&format!(r#""crc":"{}","continues_batch":false"#, stored(9))), "{}", lines[1]);
    assert_ne!(stored(0), crc(b"a"), "a batch record's CRC differs from a standalone one's");
}

/// `follow` in its own process prints records as the test process syncs them, and never a
/// record that was not synced.
#[test]
fn follow_prints_records_as_they_are_synced() {
    let dir = tempdir();
    let path = segment(dir.path(), "f.seg", 4096, 0, &[b"first"]);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_seglog"))
        .args(["follow", s(&path), "--limit", "3", "--timeout", "20"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut w = seglog::write::Writer::open(&path, 0).expect("open");
    w.append(b"second").expect("append");
    w.sync().expect("sync");
    w.append(b"never synced").expect("append");
    std::thread::sleep(std::time::Duration::from_millis(300));
    w.truncate(27).expect("truncate the unsynced record");
    w.append(b"third").expect("append");
    w.sync().expect("sync");
    let out = child.wait_with_output().expect("follow finishes");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let expect = format!(
        "{:>12} {:>10} {}  \"first\"\n{:>12} {:>10} {}  \"second\"\n{:>12} {:>10} {}  \"third\"\n",
        0,
        5,
        crc(b"first"),
        13,
        6,
        crc(b"second"),
        27,
        5,
        crc(b"third")
    );
    assert_eq!(text, expect);
}
