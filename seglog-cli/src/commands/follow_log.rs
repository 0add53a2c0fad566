//! `seglog follow DIR`: print a log's records as another process appends and syncs them,
//! across rolls, truncations and purges.

use std::io::Write;
use std::time::Duration;

use seglog::core::{Error, LogFollower, LogRecord, OpenSegment};

use super::dump::{hex, preview};
use super::stdout;
use crate::cli::{DumpFormat, FollowArgs};
use crate::exit::{self, Failure};

/// How long one wait lasts before output is flushed and the wait starts again.
const TICK: Duration = Duration::from_millis(200);

/// Prints each durable record of the log from its start, by position, until interrupted,
/// or until `--limit` records or `--timeout` of silence. A truncation below what was
/// printed, or a purge past it, is reported on stderr and following goes on.
pub fn run<B: OpenSegment>(args: &FollowArgs) -> Result<u8, Failure> {
    let mut follower = LogFollower::<B>::open_at_start(&args.segment.path)?;
    let mut out = stdout();
    let mut printed = 0u64;
    let mut quiet = Duration::ZERO;
    while args.limit.is_none_or(|limit| printed < limit) {
        let skipped = match follower.wait(TICK) {
            Ok(Some(record)) => {
                print(&mut out, args.format, &record)?;
                printed += 1;
                quiet = Duration::ZERO;
                None
            }
            Ok(None) => {
                // Nothing new: let a reader of the pipe see what was printed.
                out.flush()?;
                quiet += TICK;
                if args.timeout.is_some_and(|t| quiet >= Duration::from_secs(t)) {
                    break;
                }
                None
            }
            Err(e @ (Error::Truncated { .. } | Error::Purged { .. })) => Some(e),
            Err(e) => return Err(e.into()),
        };
        if let Some(e) = skipped {
            out.flush()?;
            eprintln!("seglog follow: {e}; following on from position {}", follower.position());
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

fn print(out: &mut impl Write, format: DumpFormat, r: &LogRecord<'_>) -> std::io::Result<()> {
    let (position, data, crc) = (r.position(), r.data(), r.crc());
    match format {
        DumpFormat::Text => writeln!(out, "{position:>12} {:>10} {crc:08x}  {}", data.len(), preview(data)),
        DumpFormat::Hex => writeln!(out, "{position:>12} {:>10} {crc:08x}  {}", data.len(), hex(data)),
        DumpFormat::Json => {
            let line = serde_json::json!({
                "type": "record",
                "position": position,
                "len": data.len(),
                "crc": format!("{crc:08x}"),
                "continues_batch": r.continues_batch(),
                "text": std::str::from_utf8(data).ok(),
                "hex": hex(data),
            });
            writeln!(out, "{line}")
        }
    }
}
