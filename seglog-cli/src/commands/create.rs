//! `seglog create`: a new, empty segment.

use std::io::Write;

use seglog::core::{HEADER_LEN, OpenSegment, Writer};

use super::stdout;
use crate::cli::CreateArgs;
use crate::exit::{self, Failure};
use crate::size::format_size;

/// The largest file Linux can hold: `off_t` is signed 64-bit.
const MAX_FILE: u64 = i64::MAX as u64;

/// Creates the segment, pre-allocated and durable, and says so.
pub fn run<B: OpenSegment>(args: &CreateArgs) -> Result<u8, Failure> {
    let segment = &args.segment;
    check_size(args.size, segment.start_offset)?;
    let writer = Writer::<B>::create(&segment.path, args.size, segment.start_offset)?;
    drop(writer);
    let mut out = stdout();
    writeln!(
        out,
        "created {}: {} ({} bytes), records from offset {}",
        segment.path.display(),
        format_size(args.size),
        args.size,
        segment.start_offset
    )?;
    out.flush()?;
    Ok(exit::OK)
}

/// Refuses, as a usage error and before touching the disk, a size no record fits in (the
/// smallest record, an empty one, is its 8-byte header) and one no file can have (which the
/// OS would refuse with `EINVAL` only after the file was made).
fn check_size(size: u64, start_offset: u64) -> Result<(), Failure> {
    if size > MAX_FILE {
        return Err(Failure::new(
            exit::USAGE,
            format!("--size {size} is too large: the largest file is {MAX_FILE} bytes (2^63 - 1)"),
        ));
    }
    let room = size.saturating_sub(start_offset);
    if start_offset <= size && room >= HEADER_LEN as u64 {
        return Ok(());
    }
    let needed = start_offset.saturating_add(HEADER_LEN as u64);
    Err(Failure::new(
        exit::USAGE,
        format!(
            "--size {size} leaves no room for a record: with records from offset {start_offset}, the \
             segment needs at least {needed} bytes (an empty record takes {HEADER_LEN})"
        ),
    ))
}
