//! One module per subcommand; [`run`] dispatches and returns the outcome.

mod cluster;
mod demo;
mod effect;
mod explain;
mod import;
mod ingest;
mod init;
mod maintain;
mod metrics;
mod report;
mod serve;
pub mod sql;
mod status;
mod trends;
mod window;

use std::time::Duration;

use devex_lake::lock::WriterLock;

use crate::cli::{Cli, Command};
use crate::exit::Outcome;
use crate::settings::Settings;

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Command::Init(args) = &cli.command {
        return init::run(&cli.global, args);
    }
    let settings = Settings::resolve(&cli.global)?;
    // Deep plans (the metric views, decoded whole by a cluster's scheduler)
    // recurse further than the default 2 MiB stack allows; the memory is
    // only reserved, and committed as it is touched.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(64 << 20).build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Init(_) => unreachable!("handled above"),
            Command::Import(args) => import::run(&settings, args).await,
            Command::Maintain(args) => maintain::run(&settings, args).await,
            Command::Metrics(args) => metrics::run(&settings, args).await,
            Command::Sql(args) => sql::run(&settings, args).await,
            Command::Trends(args) => trends::run(&settings, args).await,
            Command::Effect(args) => effect::run(&settings, args).await,
            Command::Explain(args) => explain::run(&settings, args).await,
            Command::Ingest(args) => ingest::run(&settings, args).await,
            Command::Status(args) => status::run(&settings, args).await,
            Command::Serve(args) => serve::run(&settings, args).await,
            Command::Cluster(command) => cluster::run(command).await,
            Command::Report(args) => report::run(&settings, args).await,
            Command::Demo(args) => demo::run(&settings, args).await,
        }
    })
}

/// Take the lake's writer lock, saying on stderr when we have to wait (on
/// object storage there is none: commits are optimistic there).
pub fn writer_lock(settings: &Settings) -> anyhow::Result<WriterLock> {
    let timeout: Duration = settings.lock_timeout;
    let lock = WriterLock::acquire(&settings.data, timeout, |holder| {
        eprintln!("waiting up to {} s for the lake's writer lock, held by {holder}...", timeout.as_secs());
    })?;
    Ok(lock)
}

/// Bring the lake's derived facts up to date with what the run `run_id` just
/// committed (each fact whose stamp no longer matches is recomputed from its
/// view and rewritten; `force`: every one), under the writer's lock, and say
/// so on stderr. A failure costs nothing committed: readers plan the views
/// inline until a refresh succeeds, so it is a warning with the way out.
pub async fn refresh_facts(
    settings: &Settings,
    lake: &devex_lake::writer::Lake,
    lock: &WriterLock,
    run_id: &str,
    command: &str,
    force: bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let qs = devex_query::QuerySettings::from_config(&settings.config)?;
    let info =
        devex_lake::writer::CommitInfo { run_id: run_id.into(), command: command.into(), source: "devex".into() };
    match devex_query::facts::refresh(lake, lock, &qs, &info, force).await {
        Ok(written) if written.is_empty() => {}
        Ok(written) => {
            let what: Vec<String> = written
                .iter()
                .map(|w| match w.appended {
                    Some(n) => format!(
                        "{} (+{} appended, {} in all, version {})",
                        w.name,
                        devex_model::plural::count(n, "row"),
                        devex_model::plural::count(w.rows, "row"),
                        w.version
                    ),
                    None => {
                        format!("{} ({}, version {})", w.name, devex_model::plural::count(w.rows, "row"), w.version)
                    }
                })
                .collect();
            eprintln!("facts refreshed in {:.1} s: {}", started.elapsed().as_secs_f64(), what.join(", "));
        }
        Err(e) => {
            // DataFusion's errors can carry a whole plan: the first line says what went wrong.
            let text = e.to_string();
            let mut first: String = text.lines().next().unwrap_or_default().chars().take(400).collect();
            if first.len() < text.len() {
                first.push_str(" ...");
            }
            eprintln!("warning: the derived facts were not refreshed: {first}");
            eprintln!(
                "  hint: what this run committed is in the lake, and every number is still right (computed without the facts, more slowly); `{} maintain --refresh-facts` rebuilds them",
                crate::invocation::prefix()
            );
        }
    }
    Ok(())
}

/// A fresh run id: UTC time and pid, sortable and unique on one machine.
pub fn new_run_id() -> String {
    format!("{}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"), std::process::id())
}
