//! `seglog create`: a new, empty segment.

use std::io::Write;

use seglog::core::{OpenSegment, Writer};

use super::stdout;
use crate::cli::CreateArgs;
use crate::exit::{self, Failure};
use crate::size::format_size;

/// Creates the segment, pre-allocated and durable, and says so.
pub fn run<B: OpenSegment>(args: &CreateArgs) -> Result<u8, Failure> {
    let segment = &args.segment;
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
