//! The subcommands, each generic over the backend `B: OpenSegment`.

use std::io::{BufWriter, StdoutLock};
use std::path::Path;

use crate::cli::{Backend, Cli, Command};
use crate::exit::{self, Failure};

/// Calls a generic command with the backend type `--backend` names: one arm per backend,
/// so adding a backend is one line here and one variant in [`Backend`].
macro_rules! dispatch {
    ($backend:expr, $($f:ident)::+ ( $($arg:expr),* $(,)? )) => {
        match $backend {
            $crate::cli::Backend::File => $($f)::+::<seglog::file::FileIo>($($arg),*),
            $crate::cli::Backend::Mmap => $($f)::+::<seglog::mmap::MmapIo>($($arg),*),
            $crate::cli::Backend::Direct => $($f)::+::<seglog::direct::DirectIo>($($arg),*),
        }
    };
}

mod append;
mod bench;
mod bench_log;
mod create;
mod dump;
mod files;
mod follow;
mod follow_log;
mod logdir;
mod stat;
mod verify;

/// Runs the command and returns its exit code; [`Failure`]s carry their own.
pub fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Create(args) => dispatch!(args.segment.backend, create::run(&args)),
        Command::Append(args) => dispatch!(args.segment.backend, append::run(&args)),
        Command::Dump(args) => dispatch!(args.segment.backend, dump::run(&args)),
        Command::Verify(args) => dispatch!(args.backend, verify::verify(&args)),
        Command::Recover(args) => dispatch!(args.segment.backend, verify::recover(&args)),
        Command::Stat(args) => dispatch!(args.backend, stat::run(&args)),
        Command::Follow(args) => dispatch!(args.segment.backend, follow::run(&args)),
        Command::Cp(args) => files::cp(&args.from, &args.to),
        Command::Mv(args) => files::mv(&args.from, &args.to),
        Command::Rm(args) => files::rm(&args.path),
        Command::Bench(args) => bench::run(&args),
    }
}

/// Refuses a zero-length regular file: no segment is empty, since `create` pre-allocates
/// it whole, so one that is was never a segment or was cut short by something else. The
/// recovery scan alone would call it a clean, empty segment. Anything else, missing files
/// and devices among them, is left to the library to open and report.
fn refuse_empty(path: &Path) -> Result<(), Failure> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == 0 => Err(Failure::new(
            exit::DATA,
            format!(
                "{}: not a segment: the file is empty (a segment is pre-allocated to its full size)",
                path.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// Buffered standard output; commands flush it before returning so write errors surface.
fn stdout() -> BufWriter<StdoutLock<'static>> {
    BufWriter::new(std::io::stdout().lock())
}

/// The name `--backend` takes for `backend`.
fn backend_name(backend: Backend) -> String {
    use clap::ValueEnum;
    backend.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_else(|| format!("{backend:?}"))
}
