//! `devex maintain`: compact and vacuum every table, and bring the derived facts up to date.

use devex_lake::writer::CommitInfo;

use super::{new_run_id, writer_lock};
use crate::cli::MaintainArgs;
use crate::exit::{Failure, Outcome};

/// Below this, vacuum needs `--force`: a week covers a weekly report's `--as-of`.
const MIN_RETENTION_DAYS: u64 = 7;
/// 100 years.
const MAX_RETENTION_DAYS: u64 = 36_500;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: MaintainArgs) -> anyhow::Result<Outcome> {
    let days = args.retention_days.unwrap_or(settings.config.lake.retention_days);
    if days > MAX_RETENTION_DAYS {
        return Err(Failure::error(
            format!("--retention-days {days} is more than {MAX_RETENTION_DAYS} (100 years)"),
            "keep history with a retention of at most 36500 days",
        ));
    }
    if days < MIN_RETENTION_DAYS && !args.force {
        return Err(Failure::error(
            format!("a retention of {days} days would delete the files `--as-of` needs for anything older"),
            format!("use at least {MIN_RETENTION_DAYS} days, or pass --force to vacuum that much history away"),
        ));
    }
    let lake = settings.lake()?;
    let lock = writer_lock(settings)?;
    let info = CommitInfo { run_id: new_run_id(), command: "maintain".into(), source: "devex".into() };
    eprintln!("compacting and vacuuming {} (retention {days} days)", settings.data);
    let retention = i64::try_from(days).ok().and_then(chrono::Duration::try_days).unwrap_or(chrono::Duration::MAX);
    for m in lake.maintain(&lock, retention, &info).await? {
        eprintln!(
            "{:<17} compacted {:>4} files into {:>3}  vacuumed {:>4} files  (version {})",
            m.table.name(),
            m.files_removed,
            m.files_added,
            m.files_vacuumed,
            m.version
        );
    }
    // Compaction gives every table a new version: the facts follow it.
    super::refresh_facts(settings, &lake, &lock, &info.run_id, "maintain", args.refresh_facts).await?;
    let vacuumed = lake.vacuum_facts(&lock, devex_query::facts::FACTS, retention, &info).await?;
    eprintln!("{:<17} vacuumed {vacuumed:>4} files of older fact versions", devex_lake::facts::FACTS_DIR);
    Ok(Outcome::Success)
}
