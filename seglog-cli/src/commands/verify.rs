//! `seglog verify` and `seglog recover`: the library's recovery scan, read-only or for real.

use std::io::Write;

use seglog::core::{OpenSegment, Writer};
use seglog::{RecoveryMode, ValidAfter};

use super::{refuse_empty, stdout};
use crate::cli::{RecoverArgs, SegmentArgs};
use crate::exit::{self, Failure};
use crate::progress::Progress;
use crate::report::{Tail, count, describe, done, plan};

/// Scans the segment without writing to it or locking it, prints what it found and what
/// `recover` would do, and exits 0 (clean), 1 (torn tail) or 2 (valid records after damage).
pub fn verify<B: OpenSegment>(args: &SegmentArgs) -> Result<u8, Failure> {
    if super::logdir::is_log(&args.path) {
        return super::logdir::verify::<B>(args);
    }
    refuse_empty(&args.path)?;
    let report = {
        let _progress = Progress::spinner("verifying");
        seglog::core::verify_path::<B>(&args.path, args.start_offset)?
    };
    let mut out = stdout();
    writeln!(out, "{}: {}", args.path.display(), describe(&report))?;
    writeln!(out, "{}", plan(&report))?;
    out.flush()?;
    Ok(Tail::of(&report).exit_code())
}

/// Runs recovery by opening a writer and prints its report, after saying what it would
/// discard. Without `--force` it recovers in [`RecoveryMode::Strict`]: it refuses (exit 2,
/// changing nothing) to discard valid records, records the sidecar vouches were synced, or a
/// file that is not a segment. `--force` recovers in [`RecoveryMode::Truncate`]. With
/// `--dry-run`, only scans and says what it would do, exiting as the real run would.
pub fn recover<B: OpenSegment>(args: &RecoverArgs) -> Result<u8, Failure> {
    let segment = &args.segment;
    let mode = if args.force { RecoveryMode::Truncate } else { RecoveryMode::Strict };
    let mut out = stdout();
    let checked = {
        let _progress = Progress::spinner("scanning");
        seglog::core::check_path::<B>(&segment.path, segment.start_offset, mode)
    };
    let prefix = if args.dry_run { "dry run, nothing written: " } else { "" };
    let report = match checked {
        Ok(report) => report,
        Err(e) => return refuse::<B>(&mut out, args, prefix, e),
    };
    writeln!(out, "{prefix}{}: {}", segment.path.display(), describe(&report))?;
    writeln!(out, "{}", discards::<B>(&segment.path, &report, args.dry_run))?;
    out.flush()?;
    if args.dry_run {
        return Ok(exit::OK);
    }
    let report = {
        let _progress = Progress::spinner("recovering");
        *Writer::<B>::open_with(&segment.path, segment.start_offset, mode)?.report()
    };
    writeln!(out, "recovered {}: found {}", segment.path.display(), describe(&report))?;
    writeln!(out, "{}", done(&report))?;
    out.flush()?;
    Ok(exit::OK)
}

/// Says why recovery refuses and how to proceed, and returns exit 2; other errors pass on.
fn refuse<B: OpenSegment>(
    out: &mut impl Write,
    args: &RecoverArgs,
    prefix: &str,
    e: seglog::Error,
) -> Result<u8, Failure> {
    let segment = &args.segment;
    let (offset, likely_start) = match &e {
        seglog::Error::NotTornTail { offset, likely_start, .. }
        | seglog::Error::NotASegment { offset, likely_start, .. } => (*offset, *likely_start),
        seglog::Error::Damaged { offset, .. } => (*offset, None),
        _ => return Err(e.into()),
    };
    let report = seglog::core::verify_path::<B>(&segment.path, segment.start_offset).ok();
    if let Some(report) = &report {
        writeln!(out, "{prefix}{}: {}", segment.path.display(), describe(report))?;
        writeln!(out, "{}", discards::<B>(&segment.path, report, true))?;
    }
    writeln!(out, "refused, nothing written: {e}")?;
    let advice = match likely_start {
        Some(at) => format!(
            "if the records start at offset {at}, run again with --start-offset {at}; to discard everything from offset {offset} on, add --force"
        ),
        None => format!("to discard everything from offset {offset} on, run again with --force"),
    };
    writeln!(out, "{advice}")?;
    out.flush()?;
    Ok(exit::DAMAGED)
}

/// One line: what recovery would discard: the byte range, and the valid records in it.
fn discards<B: OpenSegment>(path: &std::path::Path, report: &seglog::RecoveryReport, would: bool) -> String {
    let verb = if would { "would discard" } else { "will discard" };
    let Some(damage) = report.damage else { return format!("recover {verb} nothing") };
    let (from, to) = (report.end, report.end + report.discarded_bytes);
    let records = match damage.valid_after {
        ValidAfter::None => "no valid record".to_string(),
        ValidAfter::Found { offset } => match valid_run::<B>(path, offset) {
            Some(n) => format!("at least {} (the first at offset {offset})", count(n, "valid record")),
            None => format!("valid records (the first at offset {offset})"),
        },
        ValidAfter::Unknown => "bytes in which valid records cannot be ruled out".to_string(),
    };
    format!("recover {verb} {} in [{from}, {to}), holding {records}", count(report.discarded_bytes, "byte"))
}

/// The valid records in the run that starts at `offset`, read-only.
fn valid_run<B: OpenSegment>(path: &std::path::Path, offset: u64) -> Option<u64> {
    let mut reader = seglog::core::Reader::<B>::open_closed(path, offset).ok()?;
    let mut it = reader.iter(offset);
    let mut n = 0;
    while let Ok(Some(_)) = it.next_record() {
        n += 1;
    }
    Some(n)
}
