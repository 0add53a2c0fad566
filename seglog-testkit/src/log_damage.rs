//! Checks for [`Log`] directories holding damaged, stray or foreign files, and half-done
//! rolls, truncations and purges as a crash leaves them: each has a defined outcome (ignored,
//! cleaned up, or an error naming the file), never a panic or a silent loss.

use std::path::Path;

use seglog_core::{Error, Log, OpenSegment, RecoveryMode};

use crate::FileHarness;
use crate::log::{append_n, log_dir, read_all, small};

fn flip(path: &Path, offset: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, offset).unwrap();
    f.write_all_at(&[b[0] ^ 0x40], offset).unwrap();
}

fn expect_file_error<B: OpenSegment>(dir: &Path, names: &str) {
    match Log::<B>::open(dir, small()) {
        Err(e) => assert!(e.to_string().contains(names), "error should name {names}: {e}"),
        Ok(_) => panic!("opening with a bad {names} succeeded"),
    }
}

/// Stray temporary files are deleted; unknown names are left alone and reported; a roll
/// that stopped after creating its temporary file does not block the next roll.
pub fn log_stray_files_are_defined<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let recs = append_n(&mut log, 0, 4);
    log.sync().unwrap();
    let next = log.segments().last().unwrap().seq + 1;
    drop(log);
    // A crash mid-roll leaves the next segment's temporary file, half made.
    let tmp = dir.join(format!("{next:020}.seg.tmp"));
    std::fs::write(&tmp, [7u8; 100]).unwrap();
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    std::fs::write(dir.join("log.meta.tmp"), b"").unwrap();
    // No pre-created spare, which would take the temporary file's name again at once.
    let mut log = Log::<B>::open(&dir, small().precreate(false)).unwrap();
    let report = log.report().clone();
    assert!(report.removed.contains(&tmp) && !tmp.exists());
    assert!(report.ignored.contains(&dir.join("notes.txt")) && dir.join("notes.txt").exists());
    assert!(report.ignored.contains(&dir.join("empty")));
    let more = append_n(&mut log, 100, 20);
    log.sync().unwrap();
    assert!(log.segments().iter().any(|s| s.seq == next), "the roll reused the free name");
    let want: Vec<_> = recs.into_iter().chain(more).collect();
    assert_eq!(read_all(&mut log.reader()), want);
}

/// A zero-length or damaged segment, another log's segment, a gap in the chain and a
/// missing or damaged `log.meta` each fail the open with an error naming the file.
pub fn log_bad_files_are_named<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    append_n(&mut log, 0, 30);
    log.sync().unwrap();
    let segs = log.segments();
    drop(log);
    let last = segs.last().unwrap().seq;
    let stray = dir.join(format!("{:020}.seg", last + 5));
    std::fs::write(&stray, b"").unwrap();
    expect_file_error::<B>(&dir, &format!("{:020}.seg", last + 5));
    // Another log's segment, renamed into this one.
    let other = h.dir().join("other");
    let mut o = Log::<B>::open(&other, small()).unwrap();
    append_n(&mut o, 0, 2);
    o.sync().unwrap();
    let theirs = o.segments()[0].path.clone();
    drop(o);
    std::fs::copy(&theirs, &stray).unwrap();
    expect_file_error::<B>(&dir, "another log");
    std::fs::remove_file(&stray).unwrap();
    // A damaged header, in the middle of the chain.
    flip(&segs[2].path, 50);
    expect_file_error::<B>(&dir, &segs[2].path.file_name().unwrap().to_string_lossy());
    flip(&segs[2].path, 50);
    // A gap: a middle segment gone.
    let saved = std::fs::read(&segs[3].path).unwrap();
    std::fs::remove_file(&segs[3].path).unwrap();
    expect_file_error::<B>(&dir, &segs[3].path.file_name().unwrap().to_string_lossy());
    std::fs::write(&segs[3].path, saved).unwrap();
    let meta = std::fs::read(dir.join("log.meta")).unwrap();
    flip(&dir.join("log.meta"), 40);
    expect_file_error::<B>(&dir, "log.meta");
    std::fs::remove_file(dir.join("log.meta")).unwrap();
    expect_file_error::<B>(&dir, "log.meta");
    std::fs::write(dir.join("log.meta"), meta).unwrap();
    let log = Log::<B>::open(&dir, small()).unwrap();
    assert_eq!(log.segments(), segs);
}

/// Files a crash leaves mid-truncation (segments cut away whose unlink did not persist)
/// and mid-purge (segments below the new start) are deleted on open, and none of their
/// records reads again, however many records follow.
pub fn log_crash_leftovers_never_resurrect<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let recs = append_n(&mut log, 0, 40);
    log.sync().unwrap();
    let segs = log.segments();
    let saved: Vec<_> = segs.iter().map(|s| (s.path.clone(), std::fs::read(&s.path).unwrap())).collect();
    log.truncate(recs[8].0).unwrap();
    let fresh = append_n(&mut log, 1000, 40);
    log.sync().unwrap();
    let keep = log.purge_before(fresh[5].0).unwrap();
    drop(log);
    // As if no unlink had persisted: every old segment is back.
    for (path, bytes) in &saved {
        if !path.exists() {
            std::fs::write(path, bytes).unwrap();
        }
    }
    let log = Log::<B>::open(&dir, small()).unwrap();
    assert!(log.report().removed.len() >= 2, "{:?}", log.report());
    let want: Vec<_> = recs[..8].iter().chain(&fresh).filter(|(p, _)| *p >= keep).cloned().collect();
    assert_eq!(read_all(&mut log.reader()), want);
    assert_eq!(log.start_position(), keep);
}

/// Damage with valid records after it in the tail, below the durable end `log.flushed`
/// vouches for: `Strict` and the default (`TornTail`) refuse, naming the segment and
/// changing nothing; `Truncate` opens, reports it, and keeps the prefix.
pub fn log_strict_refuses_tail_damage<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let recs = append_n(&mut log, 0, 30);
    log.sync().unwrap();
    let tail = log.segments().last().unwrap().clone();
    let tail_recs: Vec<_> = recs.iter().filter(|(p, _)| *p >= tail.first_position).cloned().collect();
    assert!(tail_recs.len() >= 2, "need two records in the tail");
    drop(log);
    let offset = seglog_core::log::DATA_START + 4;
    flip(&tail.path, offset);
    let before = std::fs::read(&tail.path).unwrap();
    for mode in [RecoveryMode::Strict, RecoveryMode::TornTail] {
        match Log::<B>::open(&dir, small().recovery_mode(mode)) {
            Err(e @ Error::NotTornTail { durable_end: Some(_), .. }) => {
                assert!(e.to_string().contains(&*tail.path.to_string_lossy()), "{e}")
            }
            other => panic!("{mode:?}: expected NotTornTail below the durable end, got {other:?}"),
        }
        assert_eq!(std::fs::read(&tail.path).unwrap(), before, "{mode:?} changed the tail");
    }
    let log = Log::<B>::open(&dir, small().recovery_mode(RecoveryMode::Truncate)).unwrap();
    assert!(log.report().valid_records_after_damage());
    let want: Vec<_> = recs.iter().filter(|(p, _)| *p < tail.first_position).cloned().collect();
    assert_eq!(read_all(&mut log.reader()), want);
}

/// The default recovery (`TornTail`) erases damage past the durable end `log.flushed`
/// vouches for, as a power loss leaves it (here: the witness of an earlier sync, and the
/// last record torn), and `Strict` agrees when nothing valid follows.
pub fn log_default_erases_only_a_torn_tail<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let first = append_n(&mut log, 0, 3);
    log.sync().unwrap();
    let witness = std::fs::read(dir.join("log.flushed")).unwrap();
    let later = append_n(&mut log, 3, 2);
    log.sync().unwrap();
    let tail = log.segments().last().unwrap().clone();
    drop(log);
    assert!(later[0].0 >= tail.first_position, "the test needs both records in the tail");
    // A power loss may leave the witness stale (lower), never ahead.
    std::fs::write(dir.join("log.flushed"), &witness).unwrap();
    // The last record torn: its payload's last byte never landed.
    let last = &later[1];
    flip(&tail.path, seglog_core::log::DATA_START + (last.0 - tail.first_position) + 8 + last.1.len() as u64 - 1);
    for mode in [RecoveryMode::Strict, RecoveryMode::TornTail] {
        let copy = h.dir().join(format!("copy-{mode:?}"));
        copy_dir(&dir, &copy);
        let log = Log::<B>::open(&copy, small().recovery_mode(mode)).unwrap();
        assert!(log.report().tail.damage.is_some(), "{mode:?}: {:?}", log.report());
        let want: Vec<_> = first.iter().chain(&later[..1]).cloned().collect();
        assert_eq!(read_all(&mut log.reader()), want, "{mode:?}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// `Log::verify` reports every segment without writing; damage in a sealed segment is an
/// error naming it, which `check_sealed` also makes `open` refuse.
pub fn log_verify_walks_every_segment<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    append_n(&mut log, 0, 30);
    log.sync().unwrap();
    let segs = log.segments();
    let report = Log::<B>::verify(&dir).unwrap();
    assert_eq!(report.segments, segs);
    drop(log);
    flip(&segs[1].path, seglog_core::log::DATA_START + 9);
    let name = segs[1].path.file_name().unwrap().to_string_lossy().into_owned();
    let e = Log::<B>::verify(&dir).unwrap_err();
    assert!(e.to_string().contains(&name), "{e}");
    let e = Log::<B>::open(&dir, small().check_sealed(true)).unwrap_err();
    assert!(e.to_string().contains(&name), "{e}");
    let e = Log::<B>::open(&dir, small().recovery_mode(RecoveryMode::Strict)).unwrap_err();
    assert!(e.to_string().contains(&name), "{e}");
    // Without the check, opening costs O(segments) and reading the damaged record fails.
    let log = Log::<B>::open(&dir, small()).unwrap();
    let e = log.reader().read_record(segs[1].first_position).unwrap_err();
    assert!(e.to_string().contains(&name), "{e}");
    assert!(Log::<B>::verify(h.dir().join("nothing-here")).is_err());
}

/// A segment size the backend cannot do I/O on (not a multiple of its block size) is
/// refused before any segment is named: the roll fails, poisoning the log, and the log then
/// reopens with a good size, every synced record intact. Buffered backends take the size.
pub fn log_unaligned_segment_size_is_refused<B: OpenSegment>(h: &mut FileHarness<B>) {
    let dir = log_dir(h);
    let mut log = Log::<B>::open(&dir, small()).unwrap();
    let mut want = append_n(&mut log, 0, 2);
    log.sync().unwrap();
    drop(log);
    let odd = small().segment_size(crate::log::SMALL_SEGMENT + 100).precreate(false);
    let mut log = Log::<B>::open(&dir, odd).unwrap();
    for i in 2..12u64 {
        let p = crate::util::payload(i, 1000);
        match log.append(&p) {
            Ok((pos, _)) => want.push((pos, p)),
            Err(e) => {
                assert!(e.to_string().contains(".seg.tmp"), "the error names the new segment: {e}");
                assert!(log.is_poisoned());
                break;
            }
        }
    }
    let _ = log.sync();
    drop(log);
    let log = Log::<B>::open(&dir, small()).unwrap();
    let got = read_all(&mut log.reader());
    assert_eq!(got, want[..got.len()]);
    assert!(got.len() >= 2, "synced records lost");
    for s in log.segments() {
        let align = B::open_reader(&s.path).unwrap().alignment() as u64;
        assert!(std::fs::metadata(&s.path).unwrap().len().is_multiple_of(align), "{}", s.path.display());
    }
}
