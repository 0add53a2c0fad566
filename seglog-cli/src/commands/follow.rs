//! `seglog follow`: print records as another process appends and syncs them, like `tail -f`.

use std::io::Write;
use std::time::Duration;

use seglog::core::{Follower, OpenSegment};

use super::dump::print_record;
use super::stdout;
use crate::cli::FollowArgs;
use crate::exit::{self, Failure};

/// How long one wait lasts before output is flushed and the wait starts again.
const TICK: Duration = Duration::from_millis(200);

/// Prints each record once it is durable (the writer's sidecar says so), from the first
/// record, until interrupted, or until `--limit` records or `--timeout` of silence. A log
/// directory is followed by position across its segments.
pub fn run<B: OpenSegment>(args: &FollowArgs) -> Result<u8, Failure> {
    let segment = &args.segment;
    if super::logdir::is_log(&segment.path) {
        return super::follow_log::run::<B>(args);
    }
    let mut follower = Follower::<B>::open(&segment.path, segment.start_offset)?;
    let mut out = stdout();
    let mut printed = 0u64;
    let mut quiet = Duration::ZERO;
    while args.limit.is_none_or(|limit| printed < limit) {
        // A read window of records per check of the sidecar, not one.
        let polled = follower.wait_many(TICK)?;
        if polled.is_empty() {
            // Nothing new: let a reader of the pipe see what was printed.
            out.flush()?;
            quiet += TICK;
            if args.timeout.is_some_and(|t| quiet >= Duration::from_secs(t)) {
                break;
            }
            continue;
        }
        quiet = Duration::ZERO;
        let left = args.limit.map_or(u64::MAX, |limit| limit - printed);
        for record in polled.take(usize::try_from(left).unwrap_or(usize::MAX)) {
            print_record(&mut out, args.format, &record)?;
            printed += 1;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}
