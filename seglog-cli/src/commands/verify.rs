//! `seglog verify` and `seglog recover`: the library's recovery scan, read-only or for real.

use std::io::Write;

use seglog::RecoveryMode;
use seglog::core::{OpenSegment, Writer};

use super::stdout;
use crate::cli::{RecoverArgs, SegmentArgs};
use crate::exit::{self, Failure};
use crate::progress::Progress;
use crate::report::{Tail, describe, done, plan};

/// Scans the segment without writing to it or locking it, prints what it found and what
/// `recover` would do, and exits 0 (clean), 1 (torn tail) or 2 (valid records after damage).
pub fn verify<B: OpenSegment>(args: &SegmentArgs) -> Result<u8, Failure> {
    if super::logdir::is_log(&args.path) {
        return super::logdir::verify::<B>(args);
    }
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

/// Runs recovery by opening a writer (`Strict` or `Truncate`) and prints its report; with
/// `--dry-run`, only scans and says what it would do.
///
/// `--strict` refusing is the library's [`seglog::Error::Damaged`], which exits 2; a dry run
/// that strict recovery would refuse exits 2 as well.
pub fn recover<B: OpenSegment>(args: &RecoverArgs) -> Result<u8, Failure> {
    let segment = &args.segment;
    let mut out = stdout();
    if args.dry_run {
        let report = {
            let _progress = Progress::spinner("scanning");
            seglog::core::verify_path::<B>(&segment.path, segment.start_offset)?
        };
        writeln!(out, "dry run, nothing written: {}: {}", segment.path.display(), describe(&report))?;
        writeln!(out, "{}", plan(&report))?;
        out.flush()?;
        let refused = args.strict && Tail::of(&report) == Tail::Damaged;
        return Ok(if refused { exit::DAMAGED } else { exit::OK });
    }
    let mode = if args.strict { RecoveryMode::Strict } else { RecoveryMode::Truncate };
    let report = {
        let _progress = Progress::spinner("recovering");
        *Writer::<B>::open_with(&segment.path, segment.start_offset, mode)?.report()
    };
    writeln!(out, "recovered {}: found {}", segment.path.display(), describe(&report))?;
    writeln!(out, "{}", done(&report))?;
    out.flush()?;
    Ok(exit::OK)
}
