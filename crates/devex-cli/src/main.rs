//! The `devex` binary: parse arguments, run, pick the exit code in one place.

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod build_info;
mod cli;
mod commands;
mod exit;
mod invocation;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    exit::init_logging();
    match commands::run(args) {
        Ok(code) => code.into(),
        Err(err) => exit::report(&err).into(),
    }
}
