//! `cp`, `mv` and `rm`: a segment and its sidecar `<segment>.flushed` handled together,
//! refused while a writer holds the segment, never replacing anything.

use rstest::rstest;
use seglog::core::sidecar::sidecar_path;

use super::*;

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8 name"))
        .collect();
    names.sort();
    names
}

/// The segment and sidecar bytes at `path`.
fn both(path: &Path) -> (Vec<u8>, Vec<u8>) {
    (std::fs::read(path).expect("segment"), std::fs::read(sidecar_path(path)).expect("sidecar"))
}

#[test]
fn cp_copies_segment_and_sidecar_and_the_copy_is_its_own() {
    let dir = tempdir();
    let from = three(dir.path());
    let to = dir.path().join("copy.seg");
    let original = both(&from);
    let run = seglog(&["cp", s(&from), s(&to)]);
    assert_eq!((run.code, run.stdout.as_str()), (0, format!("copied {} to {}\n", s(&from), s(&to)).as_str()));
    assert_eq!(both(&to), original);
    assert_eq!(both(&from), original);
    assert_eq!(names(dir.path()), ["copy.seg", "copy.seg.flushed", "three.seg", "three.seg.flushed"]);
    // The copy takes appends of its own; the original does not see them.
    assert_eq!(seglog_with_input(&["append", s(&to)], b"four\n").stdout, "35\n");
    assert_eq!(
        seglog(&["verify", s(&to)]).stdout.lines().next(),
        Some(format!("{}: 4 records, end 47: clean", s(&to)).as_str())
    );
    assert_eq!(both(&from), original);
}

#[test]
fn mv_moves_segment_and_sidecar_and_leaves_nothing_behind() {
    let dir = tempdir();
    let from = three(dir.path());
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let to = dir.path().join("sub").join("moved.seg");
    let original = both(&from);
    let run = seglog(&["mv", s(&from), s(&to)]);
    assert_eq!((run.code, run.stdout.as_str()), (0, format!("moved {} to {}\n", s(&from), s(&to)).as_str()));
    assert_eq!(both(&to), original);
    assert_eq!(names(dir.path()), ["sub"]);
    assert_eq!(names(&dir.path().join("sub")), ["moved.seg", "moved.seg.flushed"]);
    assert_eq!(seglog(&["verify", s(&to)]).code, 0);
}

#[test]
fn rm_removes_segment_and_sidecar() {
    let dir = tempdir();
    let path = three(dir.path());
    let keep = segment(dir.path(), "keep.seg", 4096, 0, &[b"x"]);
    let run = seglog(&["rm", s(&path)]);
    assert_eq!((run.code, run.stdout.as_str()), (0, format!("removed {}\n", s(&path)).as_str()));
    assert_eq!(names(dir.path()), ["keep.seg", "keep.seg.flushed"]);
    assert_error(
        &seglog(&["rm", s(&path)]),
        66,
        &format!("{}: cannot open segment: No such file or directory", s(&path)),
    );
    assert_eq!(seglog(&["verify", s(&keep)]).code, 0);
}

#[test]
fn rm_removes_a_sidecar_a_crash_left_without_its_segment() {
    let dir = tempdir();
    let path = three(dir.path());
    std::fs::remove_file(&path).expect("remove");
    let run = seglog(&["rm", s(&path)]);
    let said = format!("removed {}, a sidecar without its segment\n", s(&sidecar_path(&path)));
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, said.as_str(), ""));
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

/// A segment no writer has opened since its sidecar was lost moves and copies alone,
/// without a sidecar appearing.
#[rstest]
fn without_a_sidecar_only_the_segment_goes(#[values("cp", "mv")] command: &str) {
    let dir = tempdir();
    let from = three(dir.path());
    std::fs::remove_file(sidecar_path(&from)).expect("remove sidecar");
    let bytes = std::fs::read(&from).expect("read");
    let to = dir.path().join("to.seg");
    assert_eq!(seglog(&[command, s(&from), s(&to)]).code, 0);
    assert_eq!(std::fs::read(&to).expect("read"), bytes);
    let expected: &[&str] = if command == "cp" { &["three.seg", "to.seg"] } else { &["to.seg"] };
    assert_eq!(names(dir.path()), expected);
}

/// A destination, or only its sidecar, that exists is never replaced (73), and the source
/// is left as it was.
#[rstest]
fn an_existing_destination_is_not_replaced(
    #[values("cp", "mv")] command: &str,
    #[values("to.seg", "to.seg.flushed")] existing: &str,
) {
    let dir = tempdir();
    let from = three(dir.path());
    let original = both(&from);
    std::fs::write(dir.path().join(existing), b"mine").expect("write");
    let to = dir.path().join("to.seg");
    let run = seglog(&[command, s(&from), s(&to)]);
    let message = format!("{}: already exists; not replacing it", s(&dir.path().join(existing)));
    assert_error(&run, 73, &message);
    assert_eq!(both(&from), original);
    assert_eq!(std::fs::read(dir.path().join(existing)).expect("read"), b"mine");
    assert_eq!(names(dir.path()).len(), 3, "{:?}", names(dir.path()));
}

/// While a writer holds the segment, each command refuses (75) and changes nothing.
#[rstest]
fn a_writer_holding_the_segment_refuses(#[values("cp", "mv", "rm")] command: &str) {
    let dir = tempdir();
    let path = dir.path().join("held.seg");
    // Held across the spawn on purpose, as in `a_locked_segment_refuses_append_but_reads_fine`.
    let mut writer = Writer::create(&path, 4096, 0).expect("create");
    writer.append(b"held").expect("append");
    writer.sync().expect("sync");
    let original = both(&path);
    let to = dir.path().join("to.seg");
    let mut args = vec![command, s(&path)];
    if command != "rm" {
        args.push(s(&to));
    }
    let message = format!("{}: the segment is locked by a writer or a copy in progress; try again later", s(&path));
    assert_error(&seglog(&args), 75, &message);
    assert_eq!(both(&path), original);
    assert_eq!(names(dir.path()), ["held.seg", "held.seg.flushed"]);
    drop(writer);
    let run = once_unlocked(|| seglog(&args));
    assert_eq!(run.code, 0, "once the writer is gone: {run:?}");
}

/// Naming the sidecar where the segment is meant is a usage error, not a segment of its own.
#[rstest]
fn a_sidecar_is_not_taken_for_a_segment(#[values("cp", "mv", "rm")] command: &str) {
    let dir = tempdir();
    let path = three(dir.path());
    let sidecar = sidecar_path(&path);
    let to = dir.path().join("to.seg");
    let mut args = vec![command, s(&sidecar)];
    if command != "rm" {
        args.push(s(&to));
    }
    let message = format!("{}: this is the sidecar of the segment {}; name the segment", s(&sidecar), s(&path));
    assert_error(&seglog(&args), 64, &message);
    assert_eq!(names(dir.path()), ["three.seg", "three.seg.flushed"]);
}

/// `cp` holds the lock shared: what that excludes is decided here with the lock held by
/// the test, not by racing a copy. A writer (`append`) is kept out; another copy is not;
/// `mv` and `rm`, which take it exclusively, are kept out.
#[test]
fn a_copy_in_progress_keeps_writers_out_but_not_other_copies() {
    let dir = tempdir();
    let path = three(dir.path());
    let original = both(&path);
    let held = std::fs::File::open(&path).expect("open");
    held.try_lock_shared().expect("a shared lock, as cp takes");
    let run = seglog_with_input(&["append", s(&path)], b"four\n");
    assert_error(&run, 75, &format!("{}: the segment is locked by another writer", s(&path)));
    let copy = dir.path().join("copy.seg");
    assert_eq!(seglog(&["cp", s(&path), s(&copy)]).code, 0);
    assert_eq!(both(&copy), original);
    let locked = format!("{}: the segment is locked by a writer or a copy in progress; try again later", s(&path));
    assert_error(&seglog(&["mv", s(&path), s(&dir.path().join("moved.seg"))]), 75, &locked);
    assert_error(&seglog(&["rm", s(&path)]), 75, &locked);
    assert_eq!(both(&path), original);
    drop(held);
    assert_eq!(once_unlocked(|| seglog_with_input(&["append", s(&path)], b"four\n")).stdout, "35\n");
}

/// A destination whose directory is missing cannot be made (73); the source is untouched
/// and nothing is left behind.
#[rstest]
fn a_destination_in_a_missing_directory_cannot_be_made(#[values("cp", "mv")] command: &str) {
    let dir = tempdir();
    let from = three(dir.path());
    let original = both(&from);
    let to = dir.path().join("missing").join("to.seg");
    let message = format!("{}: writing the copy: No such file or directory", s(&sidecar_path(&to)));
    assert_error(&seglog(&[command, s(&from), s(&to)]), 73, &message);
    assert_eq!(both(&from), original);
    assert_eq!(names(dir.path()), ["three.seg", "three.seg.flushed"]);
}
