//! `dump`, `verify` and `stat` on a log directory (a `seglog::Log`) rather than a segment:
//! each command checks whether its path is a log ([`is_log`]) and comes here if so.

use std::io::Write;
use std::path::Path;

use seglog::core::{Log, LogReader, OpenSegment};

use super::dump::{hex, preview};
use super::stdout;
use crate::cli::{DumpArgs, DumpFormat, SegmentArgs};
use crate::exit::{self, Failure};
use crate::report::{Tail, count, describe};

/// True if `path` is a log directory: a directory holding a `log.meta`. Any other directory
/// goes on to the segment commands, which say it is not a segment file.
pub fn is_log(path: &Path) -> bool {
    path.is_dir() && path.join("log.meta").is_file()
}

/// `seglog verify DIR`: walks every segment read-only; exits as for a segment, by the tail.
pub fn verify<B: OpenSegment>(args: &SegmentArgs) -> Result<u8, Failure> {
    let report = Log::<B>::verify(&args.path)?;
    let mut out = stdout();
    writeln!(out, "{}: a log of {}", args.path.display(), count(report.segments.len() as u64, "segment"))?;
    for s in &report.segments {
        let state = if s.sealed { "sealed" } else { "tail" };
        let name = s.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        writeln!(
            out,
            "  {name}  positions [{}, {}), {}, {state}",
            s.first_position,
            s.end_position,
            count(s.records, "record")
        )?;
    }
    writeln!(out, "tail: {}", describe(&report.tail))?;
    for path in &report.removed {
        writeln!(out, "opening would remove {}", path.display())?;
    }
    for path in &report.ignored {
        writeln!(out, "not the log's, ignored: {}", path.display())?;
    }
    out.flush()?;
    Ok(Tail::of(&report.tail).exit_code())
}

/// `seglog stat DIR`: segments, positions and records of the log.
pub fn stat<B: OpenSegment>(args: &SegmentArgs) -> Result<u8, Failure> {
    let report = Log::<B>::verify(&args.path)?;
    let (first, last) = (report.segments.first(), report.segments.last());
    let start = first.map_or(0, |s| s.first_position);
    let end = last.map_or(0, |s| s.end_position);
    let mut out = stdout();
    writeln!(out, "path:           {}", args.path.display())?;
    writeln!(out, "segments:       {}", report.segments.len())?;
    writeln!(out, "positions:      [{start}, {end})")?;
    writeln!(out, "records:        {}", report.segments.iter().map(|s| s.records).sum::<u64>())?;
    writeln!(out, "tail:           {}", describe(&report.tail))?;
    out.flush()?;
    Ok(exit::OK)
}

/// `seglog dump DIR`: every record of the log by position (`--from` is a position), then
/// the tail's summary.
pub fn dump<B: OpenSegment>(args: &DumpArgs) -> Result<u8, Failure> {
    let mut reader = LogReader::<B>::open(&args.segment.path)?;
    let from = args.from.unwrap_or_else(|| reader.start_position());
    let mut out = stdout();
    if args.format != DumpFormat::Json {
        writeln!(out, "{:>12} {:>10} {:<8}  data", "position", "len", "crc")?;
    }
    let mut records = reader.iter(from);
    let mut printed = 0u64;
    while args.limit.is_none_or(|limit| printed < limit) {
        let Some(r) = records.next_record()? else { break };
        let (position, data, crc) = (r.position(), r.data(), r.crc());
        match args.format {
            DumpFormat::Text => writeln!(out, "{position:>12} {:>10} {crc:08x}  {}", data.len(), preview(data))?,
            DumpFormat::Hex => writeln!(out, "{position:>12} {:>10} {crc:08x}  {}", data.len(), hex(data))?,
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
                writeln!(out, "{line}")?;
            }
        }
        printed += 1;
    }
    out.flush()?;
    Ok(exit::OK)
}
