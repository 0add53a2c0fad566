//! `verify`, `stat` and `dump` given a log directory instead of a segment file.

use seglog::{Log, LogOptions};

use super::*;

/// A log of 3 records in 8 KiB segments, the last two in a second segment.
fn log(dir: &Path) -> PathBuf {
    let path = dir.join("log");
    let spawning = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
    let mut log = Log::open(&path, LogOptions::default().segment_size(8192).precreate(false)).unwrap();
    log.append(&[b'a'; 4080]).unwrap();
    log.append(b"two").unwrap();
    log.append(b"three").unwrap();
    log.sync().unwrap();
    drop(log);
    drop(spawning);
    path
}

#[test]
fn verify_stat_and_dump_take_a_log_directory() {
    let dir = tempdir();
    let path = log(dir.path());
    let run = seglog(&["verify", s(&path)]);
    let expected = format!(
        "{}: a log of 2 segments\n  00000000000000000001.seg  positions [0, 4088), 1 record, sealed\n  00000000000000000002.seg  positions [4088, 4112), 2 records, tail\ntail: 2 records, end 4120: clean\n",
        s(&path)
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, expected.as_str(), ""));
    let run = seglog(&["stat", s(&path)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("segments:       2\n") && run.stdout.contains("positions:      [0, 4112)\n"),
        "{}",
        run.stdout
    );
    let run = seglog(&["dump", s(&path), "--from", "4088"]);
    let expected = format!(
        "{:>12} {:>10} {:<8}  data\n{:>12} {:>10} {}  \"two\"\n{:>12} {:>10} {}  \"three\"\n",
        "position",
        "len",
        "crc",
        4088,
        3,
        crc(b"two"),
        4099,
        5,
        crc(b"three")
    );
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, expected.as_str(), ""));
}

/// `follow DIR` in its own process prints the log's records by position as the test
/// process syncs them, across a roll into a new segment, and never an unsynced one.
#[test]
fn follow_takes_a_log_directory_across_a_roll() {
    let dir = tempdir();
    let path = log(dir.path());
    let child = {
        let _spawning = SPAWN.read().unwrap_or_else(PoisonError::into_inner);
        std::process::Command::new(env!("CARGO_BIN_EXE_seglog"))
            .args(["follow", s(&path), "--limit", "5", "--timeout", "20"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs")
    };
    let spawning = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
    let mut log = Log::open(&path, LogOptions::default().segment_size(8192).precreate(false)).unwrap();
    drop(spawning);
    log.append(b"four").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    log.sync().unwrap();
    // Does not fit in the second segment: the log rolls to a third.
    let (big, _) = log.append(&[b'b'; 4080]).unwrap();
    log.sync().unwrap();
    assert_eq!(log.segments().len(), 3);
    let out = child.wait_with_output().expect("follow finishes");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let got: Vec<(u64, usize)> = text
        .lines()
        .map(|l| {
            let mut f = l.split_whitespace();
            (f.next().unwrap().parse().unwrap(), f.next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(got, [(0, 4080), (4088, 3), (4099, 5), (4112, 4), (big, 4080)], "{text}");
    assert_eq!(big, 4124);
}

/// `bench --log SIZE` adds a row per backend for the workload on a log of SIZE segments
/// (here 1 MiB segments, so 3,000 records of 1 KiB roll twice); a size that holds no
/// record is a usage error.
#[test]
fn bench_runs_the_workload_on_a_log_too() {
    let run = seglog(&["bench", "--backend", "file", "--count", "3000", "--sync-every", "100", "--log", "1MiB"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("file")).collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(rows[1].starts_with("file log of 1 MiB "), "{}", run.stdout);
    let run = seglog(&["bench", "--count", "10", "--log", "4k"]);
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stderr.contains("--log 4 KiB"), "{}", run.stderr);
}
