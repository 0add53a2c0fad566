//! `seglog stat`: size, use and record-length statistics.

use std::io::Write;

use seglog::core::{OpenSegment, Reader};

use super::stdout;
use crate::cli::SegmentArgs;
use crate::exit::{self, Failure};
use crate::progress::Progress;
use crate::report::tail_state;
use crate::size::format_size;

/// Prints the segment's size, header region, used and free bytes, record count, payload
/// length statistics and the state of its tail.
pub fn run<B: OpenSegment>(args: &SegmentArgs) -> Result<u8, Failure> {
    if super::logdir::is_log(&args.path) {
        return super::logdir::stat::<B>(args);
    }
    let report = seglog::core::verify_path::<B>(&args.path, args.start_offset)?;
    let mut reader = Reader::<B>::open_closed(&args.path, args.start_offset)?;
    let size = reader.io().size();
    let (start, end) = (reader.start_offset(), reader.visible_end());
    let lengths = {
        let progress = Progress::bytes(end - start, "reading records");
        let mut lengths = Lengths::default();
        let mut records = reader.iter(start);
        while let Some(record) = records.next_record()? {
            lengths.add(record.len() as u64);
            if lengths.count.is_multiple_of(1024) {
                progress.set_position(record.next_offset() - start);
            }
        }
        lengths
    };
    let bytes = |n: u64| format!("{n} bytes ({})", format_size(n));
    let mut out = stdout();
    writeln!(out, "path:           {}", args.path.display())?;
    writeln!(out, "size:           {}", bytes(size))?;
    writeln!(out, "header region:  {}", bytes(start))?;
    writeln!(out, "used:           {}", bytes(end - start))?;
    writeln!(out, "free:           {}", bytes(size - end))?;
    writeln!(out, "records:        {}", lengths.count)?;
    match lengths.mean() {
        Some(mean) => {
            writeln!(out, "record length:  min {}, mean {mean:.1}, max {} (payload bytes)", lengths.min, lengths.max)?
        }
        None => writeln!(out, "record length:  - (no records)")?,
    }
    writeln!(out, "tail:           {}", tail_state(&report))?;
    out.flush()?;
    Ok(exit::OK)
}

/// Running statistics of payload lengths.
#[derive(Debug, Default)]
struct Lengths {
    count: u64,
    min: u64,
    max: u64,
    sum: u128,
}

impl Lengths {
    fn add(&mut self, len: u64) {
        self.min = if self.count == 0 { len } else { self.min.min(len) };
        self.max = self.max.max(len);
        self.sum += u128::from(len);
        self.count += 1;
    }

    /// The mean, or `None` with no records.
    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }
}
