//! `devex-synth`: write a synthetic organisation as import files.
//!
//! Usage: devex-synth [--out DIR] [--seed N] [--quarters N] [--scale N] [--commits-mean X]
//! Defaults reproduce `sample-data/`.

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut opts = devex_synth::Options::default();
    let mut out = PathBuf::from("sample-data");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let parsed: Result<(), String> = (|| {
            match a.as_str() {
                "--out" => out = PathBuf::from(value("--out")?),
                "--seed" => opts.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
                "--quarters" => opts.quarters = value("--quarters")?.parse().map_err(|e| format!("--quarters: {e}"))?,
                "--scale" => opts.scale = value("--scale")?.parse().map_err(|e| format!("--scale: {e}"))?,
                "--commits-mean" => {
                    opts.commits_mean = value("--commits-mean")?.parse().map_err(|e| format!("--commits-mean: {e}"))?
                }
                "-h" | "--help" => {
                    println!(
                        "devex-synth [--out DIR] [--seed N] [--quarters N] [--scale N] [--commits-mean X]\n\nWrites a synthetic organisation as devex import files. Defaults reproduce sample-data/."
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument `{other}`")),
            }
            Ok(())
        })();
        if let Err(e) = parsed {
            eprintln!("error: {e}\nhint: devex-synth --help");
            return ExitCode::from(2);
        }
    }
    match devex_synth::generate(&opts, &out) {
        Ok(stats) => {
            eprintln!("wrote {} to {}", stats, out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: writing {}: {e}", out.display());
            ExitCode::from(2)
        }
    }
}
