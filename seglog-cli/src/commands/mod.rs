//! The subcommands, each generic over the backend `B: OpenSegment`.

use std::io::{BufWriter, StdoutLock};

use crate::cli::{Backend, Cli, Command};
use crate::exit::Failure;

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
mod create;
mod dump;
mod follow;
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
        Command::Bench(args) => bench::run(&args),
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
