#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod exit;
mod progress;
mod report;
mod size;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(usage(&e)),
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            if !failure.message.is_empty() {
                // Nowhere left to report a failure to write to stderr.
                let _ = writeln!(std::io::stderr().lock(), "seglog: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Prints clap's message and returns the exit code: 0 for `--help` and `--version`, and
/// [`exit::USAGE`] for a usage error, instead of clap's 2, which means "damaged" here.
fn usage(e: &clap::Error) -> u8 {
    // Nowhere left to report a failure to print the usage text.
    let _ = e.print();
    if e.use_stderr() { exit::USAGE } else { exit::OK }
}
