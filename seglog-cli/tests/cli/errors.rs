//! Files that are not segments, are missing or are locked, and usage errors: one line
//! on stderr and the documented exit code, never a panic.

use rstest::rstest;

use super::*;

/// A path that cannot be opened as a segment, for [`unopenable_is_one_plain_line_and_66`].
#[derive(Clone, Copy, Debug)]
enum Unopenable {
    Missing,
    Directory,
    DevZero,
}

impl Unopenable {
    /// The path, in or beside `dir`.
    fn path(self, dir: &Path) -> PathBuf {
        match self {
            Self::Missing => dir.join("missing.seg"),
            Self::Directory => dir.to_path_buf(),
            Self::DevZero => PathBuf::from("/dev/zero"),
        }
    }
}

/// Each command on a missing file, a directory and a device: exit 66 and one line naming
/// the file and the OS's reason, with no "I/O error while opening ... at offset 0" noise.
#[rstest]
#[case::missing_read_only(Unopenable::Missing, "No such file or directory")]
#[case::directory_read_only(Unopenable::Directory, "not a regular file")]
#[case::dev_zero_read_only(Unopenable::DevZero, "not a regular file")]
fn unopenable_is_one_plain_line_and_66(
    #[case] input: Unopenable,
    #[case] cause: &str,
    #[values("dump", "verify", "stat", "append", "follow", "recover --dry-run", "cp", "mv", "rm")] command: &str,
) {
    let dir = tempdir();
    let path = input.path(dir.path());
    let target = dir.path().join("target.seg");
    let mut args: Vec<&str> = command.split(' ').collect();
    args.insert(1, s(&path));
    if matches!(command, "cp" | "mv") {
        args.push(s(&target));
    }
    assert_error(&seglog(&args), 66, &format!("{}: cannot open segment: {cause}", s(&path)));
    assert!(!target.exists());
}

/// `recover` reads the segment first, to say what it would discard before it acts; the
/// wording is the same as the read-only commands'.
#[rstest]
#[case::missing(Unopenable::Missing, "No such file or directory")]
#[case::directory(Unopenable::Directory, "not a regular file")]
#[case::dev_zero(Unopenable::DevZero, "not a regular file")]
fn recover_on_unopenable_is_one_plain_line_and_66(#[case] input: Unopenable, #[case] cause: &str) {
    let dir = tempdir();
    let path = input.path(dir.path());
    assert_error(&seglog(&["recover", s(&path)]), 66, &format!("{}: cannot open segment: {cause}", s(&path)));
}

/// A file's state and the exit code of `verify`, `dump`, `stat` and `append` on it.
///
/// An empty file is no segment (a segment is pre-allocated whole), so it is a data error
/// for every command, where the scan alone called it clean.
#[rstest]
#[case::empty_file(Input::Empty, 65, 65, 65, 65)]
#[case::shorter_than_a_header(Input::Short, 1, 0, 0, 2)]
#[case::clean(Input::Clean, 0, 0, 0, 0)]
#[case::torn_tail(Input::Torn, 1, 0, 0, 2)]
#[case::damaged_mid_log(Input::Damaged, 2, 0, 0, 2)]
#[case::reserved_kind_after_the_records(Input::Hostile(35, [5, 0, 0, 0x80, 1, 2, 3, 4]), 1, 0, 0, 2)]
#[case::length_past_the_segment_after_the_records(Input::Hostile(35, [0xff, 0xff, 0xff, 0x3f, 1, 2, 3, 4]), 1, 0, 0, 2)]
#[case::reserved_kind_mid_log(Input::Hostile(11, [3, 0, 0, 0xc0, 1, 2, 3, 4]), 2, 0, 0, 2)]
#[case::length_past_the_segment_mid_log(Input::Hostile(11, [0xff, 0xff, 0xff, 0x3f, 1, 2, 3, 4]), 2, 0, 0, 2)]
fn exit_code_per_input(
    #[case] input: Input,
    #[case] verify: i32,
    #[case] dump: i32,
    #[case] stat: i32,
    #[case] append: i32,
    #[values("verify", "dump", "stat", "append")] command: &str,
) {
    let dir = tempdir();
    let path = input.make(dir.path());
    let before = std::fs::read(&path).expect("read");
    let run = seglog_with_input(&[command, s(&path)], b"more\n");
    let expected = match command {
        "verify" => verify,
        "dump" => dump,
        "stat" => stat,
        _ => append,
    };
    assert_eq!(run.code, expected, "{run:?}");
    if expected >= 64 {
        assert_eq!(run.stdout, "", "{run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    }
    if input == Input::Empty {
        let message =
            format!("{}: not a segment: the file is empty (a segment is pre-allocated to its full size)", s(&path));
        assert_error(&run, 65, &message);
    }
    if command != "append" || expected != 0 {
        assert_eq!(std::fs::read(&path).expect("read"), before, "{command} changed the file");
    }
}

/// The inputs of [`exit_code_per_input`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Empty,
    Short,
    Clean,
    Torn,
    Damaged,
    /// The three records with these 8 bytes written over a header at this offset.
    Hostile(usize, [u8; 8]),
}

impl Input {
    fn make(self, dir: &Path) -> PathBuf {
        let path = dir.join("input.seg");
        match self {
            Input::Empty => std::fs::write(&path, b"").expect("write"),
            Input::Short => std::fs::write(&path, b"abc").expect("write"),
            Input::Clean => return three(dir),
            Input::Torn => {
                let path = three(dir);
                flip(&path, 34);
                return path;
            }
            Input::Damaged => {
                let path = three(dir);
                flip(&path, 21);
                return path;
            }
            Input::Hostile(offset, header) => {
                let path = three(dir);
                let mut bytes = std::fs::read(&path).expect("read");
                bytes[offset..offset + 8].copy_from_slice(&header);
                std::fs::write(&path, bytes).expect("write");
                return path;
            }
        }
        path
    }
}

/// `create --size`: room for at least one (empty) record after the start offset, and no
/// more than a file can hold; anything else is a usage error (64), and nothing is created.
#[rstest]
#[case::zero("0", "0", 64)]
#[case::seven("7", "0", 64)]
#[case::one_empty_record("8", "0", 0)]
#[case::header_region_leaves_too_little("23", "16", 64)]
#[case::header_region_then_one_empty_record("24", "16", 0)]
#[case::start_offset_past_the_end("8", "16", 64)]
#[case::u64_max("18446744073709551615", "0", 64)]
#[case::i64_max_plus_one("9223372036854775808", "0", 64)]
fn create_size(#[case] size: &str, #[case] start: &str, #[case] code: i32) {
    let dir = tempdir();
    let path = dir.path().join("new.seg");
    let run = seglog(&["create", s(&path), "--size", size, "--start-offset", start]);
    assert_eq!(run.code, code, "{run:?}");
    assert_eq!(path.exists(), code == 0);
    if code == 0 {
        assert_eq!(seglog(&["verify", s(&path), "--start-offset", start]).code, 0);
    } else {
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        assert!(run.stderr.starts_with(&format!("seglog: --size {size} ")), "{run:?}");
    }
}

#[test]
fn create_size_messages() {
    let dir = tempdir();
    let path = dir.path().join("new.seg");
    assert_error(
        &seglog(&["create", s(&path), "--size", "7"]),
        64,
        "--size 7 leaves no room for a record: with records from offset 0, the segment needs at least 8 bytes (an empty record takes 8)",
    );
    assert_error(
        &seglog(&["create", s(&path), "--size", "18446744073709551615"]),
        64,
        "--size 18446744073709551615 is too large: the largest file is 9223372036854775807 bytes (2^63 - 1)",
    );
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
    assert_error(&run, 73, &format!("{}: cannot create segment: File exists", s(&path)));
}

/// Arguments clap refuses: exit 64 (not clap's 2, which means "damaged" here), nothing
/// on stdout, and clap's reason on stderr.
#[rstest]
#[case::unknown_size_unit(&["create", "x.seg", "--size", "12 parsecs"], "unknown size unit `parsecs`")]
#[case::create_without_size(&["create", "x.seg"], "--size <SIZE>")]
#[case::unknown_command(&["frobnicate"], "unrecognized subcommand 'frobnicate'")]
#[case::unknown_format(&["dump", "x.seg", "--format", "xml"], "invalid value 'xml'")]
#[case::unknown_backend(&["bench", "--backend", "tape"], "invalid value 'tape'")]
#[case::bench_zero_count(&["bench", "--count", "0"], "invalid value '0'")]
#[case::cp_without_destination(&["cp", "x.seg"], "<DST>")]
#[case::mv_without_destination(&["mv", "x.seg"], "<DST>")]
#[case::rm_without_segment(&["rm"], "<SEGMENT>")]
#[case::no_arguments(&[], "Usage: seglog")]
fn usage_errors_exit_64(#[case] args: &[&str], #[case] reason: &str) {
    let run = seglog(args);
    assert_eq!((run.code, run.stdout.as_str()), (64, ""), "{run:?}");
    assert!(run.stderr.contains(reason), "{run:?}");
}

#[rstest]
fn help_exits_0_and_lists_the_exit_codes(
    #[values("create", "append", "dump", "verify", "recover", "stat", "follow", "cp", "mv", "rm", "bench")]
    command: &str,
) {
    let run = seglog(&[command, "--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Exit codes:\n  0   success"), "{}", run.stdout);
    assert!(run.stdout.contains("75  the segment is locked"), "{}", run.stdout);
}
