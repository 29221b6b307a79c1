//! `devex demo` and `devex init` as a new user runs them.

use crate::util::{Workspace, rows, sample_demo, sample_dir};

#[test]
fn demo_imports_the_sample_and_every_table_reconciles() {
    // The shared run (util::sample_demo); running it again over its own lake is
    // hardening::the_demo_replaces_only_its_own_untouched_lake.
    let demo = sample_demo();
    let (ws, stderr) = (&demo.ws, &demo.stderr);
    for table in
        ["services", "deployments", "changes", "incidents", "survey_responses", "survey_answers", "adoption_events"]
    {
        let line =
            stderr.lines().find(|l| l.starts_with(table)).unwrap_or_else(|| panic!("no line for {table}:\n{stderr}"));
        let n: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        let (read, written, replaced, quarantined) = (n[0], n[1], n[2], n[3]);
        assert_eq!(read, written + replaced + quarantined, "{line}");
        assert!(written > 0, "{line}");
    }
    // The deliberately bad rows are explained, not dropped.
    assert_eq!(ws.query("SELECT count(*) FROM quarantine"), rows(&[&["8"]]));
    // Eight teams, thirty services, eight quarters.
    assert_eq!(ws.query("SELECT count(DISTINCT team), count(*) FROM services"), rows(&[&["8", "30"]]));
    assert_eq!(ws.query("SELECT count(DISTINCT survey) FROM survey_responses"), rows(&[&["8"]]));
}

#[test]
fn demo_refuses_to_replace_a_lake_that_is_not_its_own() {
    let ws = Workspace::new();
    let f =
        ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\n");
    let (code, _, _) = ws.import("deployments", &[&f], &[]);
    assert_eq!(code, 0);
    let out = ws.devex().arg("demo").arg("--sample").arg(sample_dir()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the demo never replaces it") && stderr.contains("hint: pass --data DIR"), "{stderr}");
    assert_eq!(ws.query("SELECT id FROM deployments"), rows(&[&["d1"]]));
}

#[test]
fn init_writes_a_config_every_command_accepts() {
    let ws = Workspace::new();
    let out = ws.devex().arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(ws.path().join("devex.toml")).unwrap();
    assert!(text.contains("timezone = \"UTC\"") && text.contains("lock_timeout_secs = 60"));
    // Refuses to overwrite without --force.
    assert_eq!(ws.devex().arg("init").output().unwrap().status.code(), Some(2));
    // ./devex.toml is picked up: a bad value there is reported with the file name.
    std::fs::write(ws.path().join("devex.toml"), "timezone = \"Nowhere/Land\"\n").unwrap();
    let out = ws.devex().args(["sql", "SELECT 1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("devex.toml") && stderr.contains("Nowhere/Land"), "{stderr}");
}

#[test]
fn sql_errors_list_the_tables() {
    let ws = Workspace::new();
    let out = ws.devex().args(["sql", "SELECT nosuch FROM deployments"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nosuch") && stderr.contains("hint: tables: deployments(id"), "{stderr}");
    let out = ws.devex().args(["sql", "SELECT count(*) AS n FROM incidents", "--format", "csv"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n0\n");
}

#[test]
fn sql_writes_parquet_to_a_file() {
    let ws = Workspace::new();
    let f = ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\nd2,web,production,success,2026-03-05T10:00:00Z\n");
    assert_eq!(ws.import("deployments", &[&f], &[]).0, 0);
    let out_file = ws.path().join("out.parquet");
    let out = ws
        .devex()
        .args([
            "sql",
            "SELECT service, count(*) AS n FROM deployments GROUP BY service",
            "--format",
            "parquet",
            "--output",
        ])
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let n = rt.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        let df = ctx.read_parquet(out_file.to_str().unwrap(), Default::default()).await.unwrap();
        df.count().await.unwrap()
    });
    assert_eq!(n, 2);
    // Parquet to a terminal makes no sense: it needs --output.
    let out = ws.devex().args(["sql", "SELECT 1", "--format", "parquet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output"));
}
