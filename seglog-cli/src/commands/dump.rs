//! `seglog dump`: one line per record, then a summary of how the records end.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use seglog::core::{OpenSegment, Reader, Record};
use serde::Serialize;

use super::stdout;
use crate::cli::{DumpArgs, DumpFormat};
use crate::exit::{self, Failure};
use crate::progress::Progress;
use crate::report::{Summary, describe};

/// Payload bytes shown in a text preview.
const PREVIEW: usize = 48;

/// Prints the records from `--from` (default: the first), at most `--limit` of them, then
/// the summary. Exits 0 whatever state the tail is in: the summary says it, and `verify`
/// is the command whose exit code does.
pub fn run<B: OpenSegment>(args: &DumpArgs) -> Result<u8, Failure> {
    let segment = &args.segment;
    if super::logdir::is_log(&segment.path) {
        return super::logdir::dump::<B>(args);
    }
    let report = seglog::core::verify_path::<B>(&segment.path, segment.start_offset)?;
    let mut reader = Reader::<B>::open_closed(&segment.path, segment.start_offset)?;
    let from = args.from.unwrap_or(segment.start_offset);
    // A bar would interleave with the records on a terminal; it is for dumps to a file.
    let progress = if std::io::stdout().is_terminal() {
        Progress::hidden()
    } else {
        Progress::bytes(reader.visible_end().saturating_sub(from), "dumping")
    };
    let mut out = stdout();
    if args.format != DumpFormat::Json {
        writeln!(out, "{:>12} {:>10} {:<8}  data", "offset", "len", "crc")?;
    }
    let mut records = reader.iter(from);
    let mut printed = 0u64;
    while args.limit.is_none_or(|limit| printed < limit) {
        let next = records.next_record().map_err(|e| not_a_boundary(e, args.from, printed));
        let Some(record) = next? else { break };
        print_record(&mut out, args.format, &record)?;
        printed += 1;
        if printed.is_multiple_of(1024) {
            progress.set_position(record.next_offset() - from);
        }
    }
    match args.format {
        DumpFormat::Json => {
            serde_json::to_writer(&mut out, &Summary::of(&report)).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        DumpFormat::Text | DumpFormat::Hex => writeln!(out, "summary: {}", describe(&report))?,
    }
    out.flush()?;
    Ok(exit::OK)
}

/// Prints one record as `dump` and `follow` do.
pub fn print_record(out: &mut impl Write, format: DumpFormat, record: &Record<'_>) -> std::io::Result<()> {
    let (offset, data, crc) = (record.offset(), record.data(), record.crc());
    match format {
        DumpFormat::Text => writeln!(out, "{offset:>12} {:>10} {crc:08x}  {}", data.len(), preview(data)),
        DumpFormat::Hex => writeln!(out, "{offset:>12} {:>10} {crc:08x}  {}", data.len(), hex(data)),
        DumpFormat::Json => {
            let line = RecordJson {
                kind: "record",
                offset,
                len: data.len(),
                crc: format!("{crc:08x}"),
                continues_batch: record.continues_batch(),
                text: std::str::from_utf8(data).ok(),
                hex: hex(data),
            };
            serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
            writeln!(out)
        }
    }
}

/// The error for a failed read, saying how to pick `--from` when that is what went wrong:
/// the first read at a user's offset that is not a record start.
fn not_a_boundary(e: seglog::Error, from: Option<u64>, printed: u64) -> Failure {
    let corrupt_start = matches!(e, seglog::Error::Corrupt { .. }) && from.is_some() && printed == 0;
    let mut failure = Failure::from(e);
    if corrupt_start {
        failure.message.push_str(" (--from must be a record's offset, as dump and append print them)");
    }
    failure
}

/// One record in `dump --format json`.
#[derive(Debug, Serialize)]
struct RecordJson<'a> {
    /// Always `"record"`, to tell it from the summary object.
    #[serde(rename = "type")]
    kind: &'static str,
    /// Where the record's header starts.
    offset: u64,
    /// Payload bytes.
    len: usize,
    /// The stored CRC32C, 8 hex digits.
    crc: String,
    /// True for a record of an atomic batch that more records of the batch follow.
    continues_batch: bool,
    /// The payload as text when it is valid UTF-8, else `null`.
    text: Option<&'a str>,
    /// The payload in hex.
    hex: String,
}

/// The first [`PREVIEW`] bytes, quoted, with anything unprintable escaped; `...` marks a cut.
pub(super) fn preview(payload: &[u8]) -> String {
    let shown = payload.get(..PREVIEW).unwrap_or(payload);
    let cut = if shown.len() < payload.len() { "..." } else { "" };
    format!("\"{}\"{cut}", shown.escape_ascii())
}

/// Lower-case hex, two digits a byte.
pub(super) fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{b:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_quotes_escapes_and_cuts() {
        assert_eq!(preview(b""), "\"\"");
        assert_eq!(preview(b"say \"hi\"\n\x00"), "\"say \\\"hi\\\"\\n\\x00\"");
        assert_eq!(preview(&[b'a'; 49]), format!("\"{}\"...", "a".repeat(48)));
        assert_eq!(preview(&[b'a'; 48]), format!("\"{}\"", "a".repeat(48)));
    }

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(hex(b""), "");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
