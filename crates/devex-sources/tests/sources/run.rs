//! The run loop (`devex_ingest::run`) with real sources: each lands, a
//! failing one is recorded without stopping the others, and the run record
//! reads back as `devex status` reads it.

use std::time::Duration;

use chrono::Utc;
use devex_ingest::progress::{Event, Level};
use devex_ingest::run::{RunRequest, run, runs};
use devex_ingest::source::SyncOptions;
use devex_lake::lock::WriterLock;
use devex_lake::state::StateStore;
use devex_lake::writer::Lake;
use devex_model::Config;

#[tokio::test]
async fn a_run_lands_each_source_records_itself_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(
        inbox.join("deployments.csv"),
        "id,service,environment,status,finished_at,pipeline\nd1,api,production,success,2026-03-04,p1\nd2,api,production,maybe,2026-03-04,p2\n",
    )
    .unwrap();
    let config = Config::from_toml_str(&format!(
        "[sources.drop]\ntype = \"files\"\ninbox = \"{}\"\nsettle_secs = 0\n\n\
         [sources.missing]\ntype = \"files\"\ninbox = \"{}\"\n",
        inbox.display(),
        dir.path().join("nowhere").display()
    ))
    .unwrap();
    let lake = Lake::new(dir.path().join("lake"));
    let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    let request = RunRequest {
        run_id: "r1".into(),
        only: Vec::new(),
        options: SyncOptions { full: false, since: None, now: Utc::now() },
    };
    let record = run(
        &lake,
        &lock,
        &config,
        &devex_sources::from_config(&config),
        &request,
        std::sync::Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone())),
    )
    .await
    .unwrap();
    // One row landed, one quarantined; the missing inbox fails its source alone: exit 3.
    assert_eq!(record.exit, 3);
    let drop = &record.sources[0];
    assert_eq!(
        (drop.source.as_str(), drop.kind.as_str(), drop.files, drop.files_left),
        ("drop", "files", Some(1), Some(0))
    );
    assert_eq!((drop.tables[0].written, drop.tables[0].quarantined), (1, 1));
    let missing = &record.sources[1];
    assert!(missing.errors[0].contains("is not a directory") && missing.errors[0].contains("hint:"), "{missing:?}");
    assert!(inbox.join("done/deployments.csv").is_file());
    assert!(seen.lock().unwrap().iter().any(|e| e.level == Level::Info && e.message.contains("done/deployments.csv")));
    // A column the table does not have is a warning kept in the record and shown, not dropped.
    assert_eq!(drop.warnings.len(), 1, "{drop:?}");
    assert!(drop.warnings[0].contains("ignored columns") && drop.warnings[0].contains("pipeline"), "{drop:?}");
    assert!(seen.lock().unwrap().iter().any(|e| e.level == Level::Warn && e.message.contains("pipeline")));
    // `devex status` reads the same type back.
    assert_eq!(runs(&StateStore::open(lake.location()).unwrap()).await.unwrap(), vec![record]);
}
