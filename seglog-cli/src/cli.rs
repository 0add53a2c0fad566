//! The command line, as clap derive types. Help text comes from these doc comments.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit;
use crate::size::parse_size;

/// Create, append to, inspect, verify, recover, copy, move, delete and benchmark seglog
/// segment files.
///
/// A segment is a fixed-size file of length-prefixed, CRC32C-checked records; bytes
/// before the start offset belong to the application. Every command that reads a
/// segment needs the same --start-offset it was created with (default 0).
#[derive(Debug, Parser)]
#[command(name = "seglog", version, after_help = exit::HELP, arg_required_else_help = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, pre-allocated, empty segment file.
    #[command(after_help = exit::HELP)]
    Create(CreateArgs),
    /// Append records, one per input line (or the whole input as one), sync, and print each
    /// record's offset.
    ///
    /// Refuses (exit 2) a segment that is not clean rather than let recovery erase
    /// anything: run `seglog recover` on it first.
    #[command(after_help = exit::HELP)]
    Append(AppendArgs),
    /// Print the records, one line each, then a summary of how the records end.
    #[command(after_help = exit::HELP)]
    Dump(DumpArgs),
    /// Check a segment without writing to it or locking it: exit 0 clean, 1 torn tail,
    /// 2 valid records after damage.
    #[command(after_help = exit::HELP)]
    Verify(SegmentArgs),
    /// Run crash recovery: keep the valid records and durably erase what a crash left
    /// after them.
    ///
    /// Refuses (exit 2, changing nothing) to discard valid records, records the sidecar
    /// vouches were synced, or a file that is not a segment, unless --force; prints what it
    /// would discard first.
    #[command(after_help = exit::HELP)]
    Recover(RecoverArgs),
    /// Print a segment's size, use and record-length statistics.
    #[command(after_help = exit::HELP)]
    Stat(SegmentArgs),
    /// Print records as another process appends and syncs them, like `tail -f`, until
    /// interrupted. Only durable records are printed; the segment is opened read-only.
    #[command(after_help = exit::HELP)]
    Follow(FollowArgs),
    /// Copy a segment and its sidecar `SRC.flushed` to DST, which must not exist.
    ///
    /// Holds the segment's writer lock shared while copying, so the copy is one consistent
    /// state: refuses (exit 75) while a writer has it open, and keeps writers out meanwhile.
    /// The copy is made under temporary names, synced, then linked into place.
    #[command(after_help = exit::HELP)]
    Cp(TwoPaths),
    /// Move (rename) a segment and its sidecar `SRC.flushed` to DST, which must not exist.
    ///
    /// Holds the segment's writer lock, so it refuses (exit 75) while a writer has it open.
    /// Across filesystems it copies, syncs, then removes the source.
    #[command(after_help = exit::HELP)]
    Mv(TwoPaths),
    /// Delete a segment and its sidecar `SEGMENT.flushed`.
    ///
    /// Holds the segment's writer lock while deleting, so it refuses (exit 75) while a writer
    /// has it open.
    #[command(after_help = exit::HELP)]
    Rm(OnePath),
    /// Measure appends, random reads, a sequential scan and recovery on a temporary segment.
    #[command(after_help = exit::HELP)]
    Bench(BenchArgs),
}

/// `seglog follow`.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// The segment, or a log directory (followed across its segments by position).
    #[command(flatten)]
    pub segment: SegmentArgs,
    /// Stop after N records.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Stop after this many seconds without a new record.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Output format, as for `dump`.
    #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
    pub format: DumpFormat,
}

/// The segment a command works on.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// The segment file.
    pub path: PathBuf,
    /// Where the records start: bytes before it are the application's. Accepts units (4k).
    #[arg(long, value_name = "N", default_value = "0", value_parser = parse_size)]
    pub start_offset: u64,
    /// The I/O backend to read and write the segment with.
    #[arg(long, value_enum, default_value_t = Backend::File)]
    pub backend: Backend,
}

/// `seglog cp` and `seglog mv`.
#[derive(Debug, Args)]
pub struct TwoPaths {
    /// The segment to copy or move.
    #[arg(value_name = "SRC")]
    pub from: PathBuf,
    /// Where to: the new segment's path (its sidecar goes beside it). Must not exist.
    #[arg(value_name = "DST")]
    pub to: PathBuf,
}

/// `seglog rm`.
#[derive(Debug, Args)]
pub struct OnePath {
    /// The segment to delete.
    #[arg(value_name = "SEGMENT")]
    pub path: PathBuf,
}

/// `seglog create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The segment.
    #[command(flatten)]
    pub segment: SegmentArgs,
    /// The segment's fixed size, e.g. 1GiB, 64MiB, 4k or a byte count: at least the start
    /// offset plus 8 (one empty record), at most 2^63 - 1 (the largest file Linux allows).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub size: u64,
}

/// `seglog append`.
#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The segment.
    #[command(flatten)]
    pub segment: SegmentArgs,
    /// Read records from FILE; `-` or nothing reads standard input.
    #[arg(value_name = "FILE|-")]
    pub input: Option<PathBuf>,
    /// Append the whole input as one record instead of one record per line.
    #[arg(long)]
    pub whole: bool,
}

/// `seglog dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The segment.
    #[command(flatten)]
    pub segment: SegmentArgs,
    /// Start at this record offset (a record boundary, as printed by `dump` or `append`).
    #[arg(long, value_name = "OFFSET")]
    pub from: Option<u64>,
    /// Print at most N records.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Output format: text (a printable preview), hex (the whole payload) or json (JSON Lines).
    #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
    pub format: DumpFormat,
}

/// How `dump` prints records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// Aligned columns with an escaped preview of the payload's first bytes.
    Text,
    /// JSON Lines: one object per record, then a summary object.
    Json,
    /// Aligned columns with the whole payload in hex.
    Hex,
}

/// `seglog recover`.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The segment.
    #[command(flatten)]
    pub segment: SegmentArgs,
    /// Refuse (exit 2, changing nothing) if valid records lie past the damage: what
    /// `recover` does anyway without --force; kept for scripts.
    #[arg(long, conflicts_with = "force")]
    pub strict: bool,
    /// Only say what recovery would do; write nothing and take no lock.
    #[arg(long)]
    pub dry_run: bool,
    /// Discard everything after the valid records, whatever it is: valid records past the
    /// damage, records the sidecar vouches were synced, a file that is not a segment.
    #[arg(long)]
    pub force: bool,
}

/// `seglog bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The backend to measure, or `all` for each in turn.
    #[arg(long, value_name = "BACKEND", default_value = "all", value_parser = backend_or_all())]
    pub backend: Backends,
    /// Payload bytes per record, e.g. 100B or 1KiB.
    #[arg(long, value_name = "SIZE", default_value = "1KiB", value_parser = parse_size)]
    pub record_size: u64,
    /// Records to append.
    #[arg(long, value_name = "N", default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// Sync after every N appends (0: only once, at the end).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub sync_every: u64,
    /// Also run the workload on a `seglog::Log` of segments of SIZE (whole MiB, e.g. 4MiB):
    /// appends across rolls, reads by position, a scan across segments, reopening the log.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub log: Option<u64>,
    /// Keep the first backend's segment at PATH (which must not exist) for dump, verify
    /// and recover to try; otherwise it is made in a temporary directory and removed.
    #[arg(long, value_name = "PATH")]
    pub keep: Option<PathBuf>,
}

/// The I/O backends this build has. Adding one is one variant here and one arm in
/// `commands::dispatch!`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// pread/pwrite and fdatasync on an ordinary file (the default).
    File,
    /// A read-only shared mapping for zero-copy reads; pwrite for writes.
    Mmap,
    /// O_DIRECT: aligned I/O that bypasses the page cache (not on tmpfs).
    Direct,
}

/// The backends `bench` measures, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backends(pub Vec<Backend>);

/// Parses `--backend` for `bench`: any [`Backend`], or `all` for every one of them.
fn backend_or_all() -> impl TypedValueParser<Value = Backends> {
    let names = Backend::value_variants().iter().filter_map(ValueEnum::to_possible_value);
    PossibleValuesParser::new(names.chain([PossibleValue::new("all").help("every backend in turn")])).map(|name| {
        Backends(
            Backend::value_variants()
                .iter()
                .copied()
                .filter(|b| name == "all" || b.to_possible_value().is_some_and(|v| v.matches(&name, false)))
                .collect(),
        )
    })
}
