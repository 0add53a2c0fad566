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

const FOLLOW_CHILD_ENV: &str = "SEGLOG_FOLLOW_CHILD_PATH";
const FOLLOW_RECORDS: u64 = 300;

fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Run as the child by `follower_in_another_process`: appends and syncs records one at a
/// time, printing each record's sequence number and when its sync returned.
#[test]
fn follow_child() {
    use std::io::Write;
    let Ok(path) = std::env::var(FOLLOW_CHILD_ENV) else { return };
    let mut w = Writer::<FileIo>::open(&path, 0).unwrap();
    let mut out = std::io::stdout().lock();
    for seq in 0..FOLLOW_RECORDS {
        std::thread::sleep(std::time::Duration::from_micros(500));
        w.append(&seq.to_le_bytes()).unwrap();
        w.sync().unwrap();
        writeln!(out, "{seq} {}", monotonic_ns()).unwrap();
    }
    out.flush().unwrap();
    std::process::exit(0);
}

/// A writer and a follower in two real processes: the follower yields every record, in
/// order, each after its sync; prints the sync-to-read latency.
#[test]
fn follower_in_another_process() {
    use seglog_core::Follower;
    use std::time::Duration;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("segment.log");
    drop(Writer::<FileIo>::create(&path, 1 << 20, 0).unwrap());
    let mut follower = Follower::<FileIo>::open(&path, 0).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "follow_child", "--nocapture", "--test-threads=1"])
        .env(FOLLOW_CHILD_ENV, &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut read_at = Vec::new();
    while (read_at.len() as u64) < FOLLOW_RECORDS {
        let record = follower.wait(Duration::from_secs(20)).unwrap().expect("a record within 20 s");
        let seq = u64::from_le_bytes(record[..8].try_into().unwrap());
        assert_eq!(seq, read_at.len() as u64, "records out of order");
        read_at.push(monotonic_ns());
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let synced: Vec<u64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        // libtest may print "test follow_child ... " on the first line, before ours.
        .filter_map(|l| {
            let mut words = l.split_whitespace().rev();
            let t = words.next()?.parse::<u64>().ok()?;
            words.next()?.parse::<u64>().ok()?;
            Some(t)
        })
        .collect();
    assert_eq!(synced.len() as u64, FOLLOW_RECORDS);
    // The child prints after its sync returns, and the follower may read before that print:
    // a negative gap is a read that beat the timestamp, counted as zero.
    let mut micros: Vec<f64> = read_at.iter().zip(&synced).map(|(r, s)| r.saturating_sub(*s) as f64 / 1e3).collect();
    micros.sort_by(f64::total_cmp);
    let pct = |p: f64| micros[((micros.len() - 1) as f64 * p) as usize];
    println!(
        "sync-to-follower latency over {FOLLOW_RECORDS} records: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}
