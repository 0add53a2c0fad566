//! `seglog append`: records from lines of input, synced, their offsets printed.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use seglog::RecoveryMode;
use seglog::core::{OpenSegment, Writer};

use super::{refuse_empty, stdout};
use crate::cli::AppendArgs;
use crate::exit::{self, Failure};
use crate::progress::Progress;
use crate::report::describe;

/// Records appended between syncs. Offsets are printed only once their records are
/// durable, so a printed offset is a promise; this bounds the memory they take meanwhile.
const SYNC_BATCH: usize = 1 << 16;

/// Appends the input and prints each record's offset after it is synced.
///
/// A segment that is not clean is refused: opening a writer runs recovery, which would
/// erase a torn tail (or, for a file that is not a segment at all, everything). That is
/// `seglog recover`'s job, asked for explicitly.
pub fn run<B: OpenSegment>(args: &AppendArgs) -> Result<u8, Failure> {
    let segment = &args.segment;
    // The input first: a mistyped input file should not cost a recovery scan and sync.
    let input = open_input(args.input.as_deref())?;
    refuse_empty(&segment.path)?;
    let report = seglog::core::verify_path::<B>(&segment.path, segment.start_offset)?;
    if !report.is_clean() {
        return Err(Failure::new(
            exit::DAMAGED,
            format!(
                "{}: refusing to append: {}; run `seglog recover` first",
                segment.path.display(),
                describe(&report)
            ),
        ));
    }
    // Strict as a second line of defence: the segment could change between the two scans.
    let writer = Writer::<B>::open_with(&segment.path, segment.start_offset, RecoveryMode::Strict)?;
    let progress = match input.len {
        Some(len) if !std::io::stdout().is_terminal() => Progress::bytes(len, "appending"),
        _ => Progress::hidden(),
    };
    let mut appender = Appender { writer, pending: Vec::new(), out: stdout() };
    let fed = feed(&mut appender, BufReader::new(input.reader), &input.name, args.whole, &progress);
    // Whatever was appended before a failure is still synced and reported.
    let committed = appender.commit();
    fed.and(committed)?;
    appender.out.flush()?;
    Ok(exit::OK)
}

/// Where records come from.
struct Input {
    /// The stream.
    reader: Box<dyn Read>,
    /// The name errors give it: the path, or `<stdin>`.
    name: PathBuf,
    /// Its length, when it is a regular file, for the progress bar.
    len: Option<u64>,
}

/// Opens `path`, or standard input for `None` or `-`.
fn open_input(path: Option<&Path>) -> Result<Input, Failure> {
    let stdin = || Input { reader: Box::new(std::io::stdin().lock()), name: PathBuf::from("<stdin>"), len: None };
    match path {
        None => Ok(stdin()),
        Some(p) if p.as_os_str() == "-" => Ok(stdin()),
        Some(p) => {
            let file = File::open(p).map_err(|e| Failure::file(p, "opening input", &e))?;
            let len = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
            Ok(Input { reader: Box::new(file), name: p.to_path_buf(), len })
        }
    }
}

/// Reads records from `input` (lines, or all of it with `whole`) into `appender`.
fn feed<B: OpenSegment, W: Write>(
    appender: &mut Appender<B, W>,
    mut input: impl BufRead,
    name: &Path,
    whole: bool,
    progress: &Progress,
) -> Result<(), Failure> {
    let read_error = |e| Failure::file(name, "reading input", &e);
    let mut record = Vec::new();
    if whole {
        input.read_to_end(&mut record).map_err(read_error)?;
        return appender.append(&record);
    }
    let mut read = 0u64;
    loop {
        record.clear();
        let n = input.read_until(b'\n', &mut record).map_err(read_error)?;
        if n == 0 {
            return Ok(());
        }
        read += n as u64;
        // The newline separates records; it is not part of one.
        if record.last() == Some(&b'\n') {
            record.pop();
        }
        appender.append(&record)?;
        progress.set_position(read);
    }
}

/// A writer whose appended offsets are printed once a sync has made them durable.
struct Appender<B: OpenSegment, W: Write> {
    writer: Writer<B>,
    /// Offsets appended since the last sync.
    pending: Vec<u64>,
    out: W,
}

impl<B: OpenSegment, W: Write> Appender<B, W> {
    /// Appends one record, syncing every [`SYNC_BATCH`] records.
    fn append(&mut self, record: &[u8]) -> Result<(), Failure> {
        let (offset, _) = self.writer.append(record)?;
        self.pending.push(offset);
        if self.pending.len() >= SYNC_BATCH {
            self.commit()?;
        }
        Ok(())
    }

    /// Syncs, then prints the offsets the sync made durable.
    fn commit(&mut self) -> Result<(), Failure> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.writer.sync()?;
        for offset in self.pending.drain(..) {
            writeln!(self.out, "{offset}")?;
        }
        Ok(())
    }
}
