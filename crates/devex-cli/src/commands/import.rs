//! `devex import TABLE FILE...`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devex_ingest::context::RunContext;
use devex_ingest::import::{ImportOutcome, ImportRequest, import_with_progress};
use devex_ingest::input::{InputFormat, InputSource};
use devex_ingest::progress::{Event, Progress};

use super::{new_run_id, writer_lock};
use crate::cli::{ImportArgs, InputFormatArg, ReportFormat};
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: ImportArgs) -> anyhow::Result<Outcome> {
    return_large_buffers();
    let inputs = inputs(&args)?;
    let lake = settings.lake()?;
    let lock = writer_lock(settings)?;
    let run =
        RunContext::new(new_run_id(), args.source.clone(), settings.config.tz()?).with_likert(&settings.config.survey);
    if args.format == ReportFormat::Human {
        eprintln!("importing {} file(s) into `{}` (run {})", inputs.len(), args.table, run.run_id);
    }
    let req = ImportRequest { table: args.table, inputs, run };
    // How far a long import has got, every few seconds on a terminal.
    let show = args.format == ReportFormat::Human && std::io::stderr().is_terminal();
    let last = Mutex::new(Instant::now());
    let progress: Progress = Arc::new(move |e: &Event| {
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if show && last.elapsed() >= Duration::from_secs(2) {
            *last = Instant::now();
            eprintln!("  {}", e.message);
        }
    });
    let outcome = import_with_progress(&lake, &lock, &req, &progress).await?;
    super::refresh_facts(settings, &lake, &lock, &req.run.run_id, &format!("import {}", req.table.name()), false)
        .await?;
    print_outcome(&outcome, args.format, &req.run.run_id, &settings.data)?;
    Ok(if outcome.any_quarantined() { Outcome::Partial } else { Outcome::Success })
}

fn inputs(args: &ImportArgs) -> anyhow::Result<Vec<InputSource>> {
    let stdin_count = args.files.iter().filter(|f| f.as_os_str() == "-").count();
    if stdin_count > 1 {
        return Err(Failure::error("`-` (standard input) given more than once", "name `-` once"));
    }
    args.files
        .iter()
        .map(|f| {
            if f.as_os_str() == "-" {
                let format = match args.input_format {
                    Some(InputFormatArg::Csv) => InputFormat::Csv,
                    Some(InputFormatArg::Ndjson) => InputFormat::Ndjson,
                    Some(InputFormatArg::Json) => InputFormat::Json,
                    None => {
                        return Err(Failure::error(
                            "reading standard input needs its format",
                            "add --input-format csv|ndjson|json",
                        ));
                    }
                };
                Ok(InputSource::Stdin(format))
            } else {
                Ok(InputSource::Path(f.clone()))
            }
        })
        .collect()
}

/// The summary: human lines on stderr, or one JSON object per table on stdout.
/// What an import did, per table; in human form, with the command that lists every
/// quarantined row of the lake at `data`, spelled the way this devex was run.
pub fn print_outcome(
    outcome: &ImportOutcome,
    format: ReportFormat,
    run_id: &str,
    data: &impl std::fmt::Display,
) -> anyhow::Result<()> {
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    match format {
        ReportFormat::Json => {
            let mut out = std::io::stdout().lock();
            for t in &outcome.tables {
                writeln!(out, "{}", serde_json::to_string(t)?)?;
            }
        }
        ReportFormat::Human => {
            for t in &outcome.tables {
                let version = t.version.map(|v| format!("version {v}")).unwrap_or_else(|| "no table".into());
                eprintln!(
                    "{:<17} read {:>7}  written {:>7}  replaced {:>7}  quarantined {:>5}  ({version})",
                    t.table, t.read, t.written, t.replaced, t.quarantined
                );
            }
            if outcome.any_quarantined() {
                const SHOWN: usize = 10;
                eprintln!("quarantined rows:");
                for q in outcome.quarantined.iter().take(SHOWN) {
                    let line = q.line.map(|l| format!(":{l}")).unwrap_or_default();
                    eprintln!("  {}{line}: {}", q.file, q.reason);
                }
                if outcome.quarantined_count > SHOWN {
                    eprintln!("  ... and {} more", outcome.quarantined_count - SHOWN);
                }
                eprintln!(
                    "all of them: {} --data {} sql \"SELECT file, line, \\\"column\\\", value, reason FROM quarantine WHERE run_id = '{run_id}'\"",
                    crate::invocation::prefix(),
                    crate::invocation::shell_quote(&data.to_string())
                );
            }
        }
    }
    Ok(())
}

/// Have glibc give buffers of 256 KiB and more back to the system when they
/// are freed. An import allocates and frees large column buffers chunk after
/// chunk on several threads; with glibc's default (a threshold that rises to
/// 32 MiB as large blocks are freed) they stayed in its heaps: an 8 GiB import
/// peaked at 990-1054 MiB resident for 699 MiB of live heap, and at 817 MiB
/// with this setting.
fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a glibc malloc parameter; called before the
    // import allocates, it cannot invalidate any allocation.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}
