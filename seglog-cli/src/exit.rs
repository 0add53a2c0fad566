//! Exit codes, and the one-line failure every error becomes.
//!
//! The codes follow BSD `sysexits.h` where one fits, so scripts can tell "the segment is
//! damaged" from "you typed it wrong" from "the disk failed".

use std::error::Error as _;
use std::io;
use std::path::Path;

/// Success; for `verify`, a clean segment.
pub const OK: u8 = 0;
/// `verify`: the segment ends in a torn tail, which recovery erases without losing a record.
pub const TORN: u8 = 1;
/// `verify`: valid records lie past damage (recovery would discard them); `recover --strict`
/// refused; `append` refused a segment that needs recovery first.
pub const DAMAGED: u8 = 2;
/// Usage error: bad arguments or options (`EX_USAGE`). Not clap's default 2, which would
/// collide with [`DAMAGED`].
pub const USAGE: u8 = 64;
/// A record is corrupt where a valid one was expected, an input record is too large, or the
/// file is not a segment at all (empty) (`EX_DATAERR`).
pub const DATA: u8 = 65;
/// The segment or input file does not exist, is a directory or cannot be opened (`EX_NOINPUT`).
pub const NO_INPUT: u8 = 66;
/// An unexpected condition: a library error this tool does not know yet (`EX_SOFTWARE`).
pub const SOFTWARE: u8 = 70;
/// `create`, `cp`, `mv` or `bench --keep`: the file already exists, or `cp`/`mv` cannot make
/// it in its directory (`EX_CANTCREAT`).
pub const CANT_CREATE: u8 = 73;
/// An I/O error, including a full segment (`EX_IOERR`).
pub const IO: u8 = 74;
/// A writer holds the segment's lock; try again later (`EX_TEMPFAIL`).
pub const LOCKED: u8 = 75;

/// The exit-code table shown after every `--help`.
pub const HELP: &str = "\
Exit codes:
  0   success; verify: the segment is clean
  1   verify: torn tail only (recover erases it without losing a record)
  2   verify: valid records after damage; recover --strict refused; append refused a damaged segment
  64  usage error (bad arguments)
  65  data error: a corrupt record where one was expected, an input record too large,
      or a file that is not a segment (empty)
  66  the segment or input file is missing, a directory, or unreadable
  70  internal error
  73  the file to create already exists, or cannot be made in its directory
  74  I/O error, or the segment is full
  75  the segment is locked by a writer; try again later";

/// A command's failure: the exit code, and the one line printed after `seglog: `.
#[derive(Debug)]
pub struct Failure {
    /// The process exit code.
    pub code: u8,
    /// The message, one line, naming the file and offset where there are ones.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// An error on a file of the tool's own (input, output), naming the path.
    pub fn file(path: &Path, what: &str, e: &io::Error) -> Self {
        Self::new(io_code(e.kind()), format!("{}: {what}: {}", path.display(), os_text(e)))
    }
}

impl From<seglog::Error> for Failure {
    fn from(e: seglog::Error) -> Self {
        let code = match &e {
            // Creating with an argument the OS refuses (EINVAL) is a usage error, not missing input.
            seglog::Error::Io { op, source, .. } | seglog::Error::Open { op, source, .. }
                if op.starts_with("creating") =>
            {
                match source.kind() {
                    io::ErrorKind::InvalidInput => USAGE,
                    kind => io_code(kind),
                }
            }
            seglog::Error::Io { source, .. } | seglog::Error::Open { source, .. } => io_code(source.kind()),
            seglog::Error::Corrupt { .. } | seglog::Error::RecordTooLarge { .. } => DATA,
            seglog::Error::Damaged { .. } | seglog::Error::NotTornTail { .. } => DAMAGED,
            seglog::Error::NotASegment { .. } => DATA,
            seglog::Error::Locked { .. } => LOCKED,
            seglog::Error::SegmentFull { .. } | seglog::Error::Poisoned { .. } => IO,
            seglog::Error::NotVisible { .. } | seglog::Error::InvalidArgument { .. } => USAGE,
            // A variant newer than this tool (the error enum is non-exhaustive): an OS
            // error under it still decides the code, so "missing" stays 66 whatever the
            // variant is called.
            _ => io_source(&e).map_or(SOFTWARE, |s| io_code(s.kind())),
        };
        Self::new(code, message(&e))
    }
}

/// Writing the tool's own output failed. A closed pipe (`seglog dump s | head`) is not a
/// failure: it ends the command quietly with [`OK`] and an empty message.
impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Self::new(OK, "");
        }
        Self::new(IO, format!("writing output: {e}"))
    }
}

/// The exit code for an I/O error of `kind`: a file that is not there, or not a file,
/// is missing input; one that exists is a creation conflict; anything else is I/O.
fn io_code(kind: io::ErrorKind) -> u8 {
    match kind {
        io::ErrorKind::NotFound
        | io::ErrorKind::PermissionDenied
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::NotADirectory
        | io::ErrorKind::InvalidInput => NO_INPUT,
        io::ErrorKind::AlreadyExists => CANT_CREATE,
        _ => IO,
    }
}

/// The innermost OS-level error under `e`, if any.
fn io_source(e: &seglog::Error) -> Option<&io::Error> {
    let mut found = None;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            found = Some(io);
        }
        source = s.source();
    }
    found
}

/// The one line for `e`. Opening or creating a segment fails before any offset means
/// anything, so those read `PATH: cannot open segment: CAUSE`, as `cat` or `cp` would say
/// it; everything else is the library's message with its sources.
fn message(e: &seglog::Error) -> String {
    match e {
        seglog::Error::Io { path, op, source, .. } | seglog::Error::Open { path, op, source }
            if op.starts_with("opening") || op.starts_with("creating") =>
        {
            let verb = op.split_whitespace().next().unwrap_or(op);
            let what = op.strip_prefix(verb).unwrap_or(op).trim();
            let verb = verb.strip_suffix("ing").map_or(verb, |v| if v == "creat" { "create" } else { v });
            format!("{}: cannot {verb} {what}: {}", path.display(), os_text(source))
        }
        _ => chain(e),
    }
}

/// An OS error's text without the ` (os error N)` that repeats it as a number.
pub fn os_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" (os error ") {
        Some((cause, code)) if code.ends_with(')') => cause.to_string(),
        _ => text,
    }
}

/// The error's message and its sources' on one line: seglog's `Display` leaves the
/// underlying `io::Error` to `source()`, and a person needs both.
fn chain(e: &seglog::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        // Some sources only repeat the message (`Locked`'s "segment is locked ...").
        let more = match s.downcast_ref::<io::Error>() {
            Some(io) => os_text(io),
            None => s.to_string(),
        };
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text.replace('\n', " ")
}
