//! `devex maintain`: compact and vacuum every table.

use devex_ingest::lake::{CommitInfo, Lake};

use super::{new_run_id, writer_lock};
use crate::cli::MaintainArgs;
use crate::exit::Outcome;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: MaintainArgs) -> anyhow::Result<Outcome> {
    let days = args.retention_days.unwrap_or(settings.config.lake.retention_days);
    let lake = Lake::new(&settings.data_dir);
    let lock = writer_lock(settings)?;
    let info = CommitInfo { run_id: new_run_id(), command: "maintain".into(), source: "devex".into() };
    eprintln!("compacting and vacuuming {} (retention {days} days)", settings.data_dir.display());
    let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400_000);
    for m in lake.maintain(&lock, chrono::Duration::days(days), &info).await? {
        eprintln!(
            "{:<17} compacted {:>4} files into {:>3}  vacuumed {:>4} files  (version {})",
            m.table.name(),
            m.files_removed,
            m.files_added,
            m.files_vacuumed,
            m.version
        );
    }
    Ok(Outcome::Success)
}
