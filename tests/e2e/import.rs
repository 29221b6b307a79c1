//! `devex import`: idempotence, identity across months, time zones, and
//! failures that must change nothing. (Each table's counts and quarantine
//! rows, re-imports, and the Likert scales are devex-ingest's own tests:
//! tests/contract.rs.)

use crate::util::{Workspace, counts, delta_version, rows};

#[test]
fn survey_export_columns_become_answers() {
    let ws = Workspace::new();
    let file = ws.file(
        "wave.csv",
        "id,survey,submitted_at,team,nps,q_ci_speed,comment\n\
         r1,2026-Q1,2026-03-20 10:00:00,payments,9,4,Fast CI\n\
         r2,2026-Q1,2026-03-21,payments,3,2,\n\
         r1,2026-Q1,2026-03-20 10:00:00,payments,10,5,Faster CI\n\
         r3,2026-Q1,2026-03-22,payments,12,3,\n",
    );
    let (code, reports, stderr) = ws.import("survey_responses", &[&file], &[]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(reports.len(), 2);
    // Responses: r1 twice (the later wins), r2, r3 has nps 12.
    assert_eq!(reports[0]["table"], "survey_responses");
    assert_eq!(counts(&reports[0]), (4, 2, 1, 1));
    // Answers of the three valid rows: r1 x2 (q_ci_speed, comment), r2 (q_ci_speed; empty comment is no answer).
    assert_eq!(reports[1]["table"], "survey_answers");
    assert_eq!(counts(&reports[1]), (5, 3, 2, 0));
    assert_eq!(
        ws.query("SELECT id, nps, submitted_at FROM survey_responses ORDER BY id"),
        rows(&[&["r1", "10", "2026-03-20T10:00:00Z"], &["r2", "3", "2026-03-21T00:00:00Z"]])
    );
    assert_eq!(
        ws.query("SELECT response_id, question, score, text FROM survey_answers ORDER BY response_id, question"),
        rows(&[&["r1", "comment", "", "Faster CI"], &["r1", "q_ci_speed", "5", ""], &["r2", "q_ci_speed", "2", ""]])
    );
}

#[test]
fn a_row_whose_event_time_moved_month_is_not_duplicated() {
    let ws = Workspace::new();
    let header = "id,service,environment,status,finished_at\n";
    let march = ws.file(
        "a.csv",
        &format!(
            "{header}d1,api,production,success,2026-03-31T23:30:00Z\nd2,api,production,success,2026-03-10T10:00:00Z\n"
        ),
    );
    let (code, _, stderr) = ws.import("deployments", &[&march], &[]);
    assert_eq!(code, 0, "{stderr}");
    let april = ws.file("b.csv", &format!("{header}d1,api,production,success,2026-04-01T00:30:00Z\n"));
    let (code, reports, stderr) = ws.import("deployments", &[&april], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&reports[0]), (1, 0, 1, 0));
    assert_eq!(
        ws.query("SELECT id, finished_at, month FROM deployments ORDER BY id"),
        rows(&[&["d1", "2026-04-01T00:30:00Z", "2026-04"], &["d2", "2026-03-10T10:00:00Z", "2026-03"]])
    );
}

#[test]
fn offsets_and_the_configured_zone_land_as_the_same_utc_instant() {
    let ws = Workspace::new();
    let config = ws.file("devex.toml", "timezone = \"Europe/Berlin\"\n");
    let file = ws.file(
        "d.csv",
        "id,service,environment,status,finished_at\n\
         d1,api,production,success,2026-03-04T10:15:00+01:00\n\
         d2,api,production,success,2026-03-04T09:15:00Z\n\
         d3,api,production,success,2026-03-04T04:15:00-05:00\n\
         d4,api,production,success,2026-03-04 10:15:00\n\
         d5,api,production,success,2026-03-04T10:15:00.000+0100\n",
    );
    let (code, reports, stderr) = ws.import("deployments", &[&file], &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&reports[0]), (5, 5, 0, 0));
    assert_eq!(ws.query("SELECT DISTINCT finished_at FROM deployments"), rows(&[&["2026-03-04T09:15:00Z"]]));
}

#[test]
fn a_missing_required_column_exits_2_and_commits_nothing() {
    let ws = Workspace::new();
    let good = ws.file(
        "good.csv",
        "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\n",
    );
    let (code, _, stderr) = ws.import("deployments", &[&good], &[]);
    assert_eq!(code, 0, "{stderr}");
    let before = delta_version(&ws.data(), "deployments");

    let more = ws.file(
        "more.csv",
        "id,service,environment,status,finished_at\nd2,api,production,success,2026-03-05T10:00:00Z\n",
    );
    let no_status =
        ws.file("no-status.csv", "id,service,environment,finished_at\nd3,api,production,2026-03-05T10:00:00Z\n");
    let (code, reports, stderr) = ws.import("deployments", &[&more, &no_status], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(reports.is_empty());
    assert!(stderr.contains("error:") && stderr.contains("no-status.csv") && stderr.contains("`status`"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(delta_version(&ws.data(), "deployments"), before);
    assert_eq!(ws.query("SELECT id FROM deployments"), rows(&[&["d1"]]));
    assert_eq!(ws.query("SELECT count(*) FROM quarantine"), rows(&[&["0"]]));
}

#[test]
fn an_unreadable_file_exits_2_naming_it() {
    let ws = Workspace::new();
    let latin1 = ws.path().join("latin1.csv");
    std::fs::write(
        &latin1,
        b"id,service,environment,status,finished_at\nd\xe9,api,production,success,2026-03-04T10:00:00Z\n",
    )
    .unwrap();
    let (code, _, stderr) = ws.import("deployments", &[&latin1], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("latin1.csv") && stderr.contains("UTF-8") && stderr.contains("line 2"), "{stderr}");
    assert!(!ws.data().join("deployments").exists());

    let (code, _, stderr) = ws.import("deployments", &[std::path::Path::new("nope.csv")], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nope.csv") && stderr.contains("hint:"), "{stderr}");
}

#[test]
fn stdin_needs_and_uses_input_format() {
    let ws = Workspace::new();
    let body = "[{\"id\":\"d1\",\"service\":\"api\",\"environment\":\"prod\",\"status\":\"success\",\"finished_at\":\"2026-03-04T10:00:00Z\"}]";
    let out = ws.devex().args(["import", "deployments", "-"]).write_stdin(body).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input-format"));
    let out = ws
        .devex()
        .args(["import", "deployments", "-", "--input-format", "json", "--format", "json", "--source", "spinnaker"])
        .write_stdin(body)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ws.query("SELECT id, source FROM deployments"), rows(&[&["d1", "spinnaker"]]));
}

#[test]
fn commits_name_the_run() {
    let ws = Workspace::new();
    let f =
        ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\n");
    let (code, _, stderr) = ws.import("deployments", &[&f], &[]);
    assert_eq!(code, 0, "{stderr}");
    let log = ws.data().join("deployments/_delta_log");
    let last =
        std::fs::read_to_string(log.join(format!("{:020}.json", delta_version(&ws.data(), "deployments").unwrap())))
            .unwrap();
    let info: serde_json::Value = last
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find_map(|v| v.get("commitInfo").cloned())
        .expect("commitInfo");
    assert_eq!(info["command"], "import deployments");
    assert_eq!(info["source"], "file");
    assert!(info["run_id"].as_str().is_some_and(|r| r.contains('-')), "{info}");
}

/// `devex status` says what each table holds, from the Delta log: the quarantine's rows right
/// after an import that quarantined some, and how to list them.
#[test]
fn status_counts_rows_files_and_the_quarantine() {
    let ws = Workspace::new();
    let csv = ws.file(
        "mine.csv",
        "id,service,environment,status,finished_at\n\
         d1,api,production,success,2026-03-02T10:00:00Z\n\
         d2,api,production,sucess,2026-03-03T10:00:00Z\n\
         d3,api,production,success,2026-13-45\n",
    );
    let (code, _, stderr) = ws.import("deployments", &[&csv], &[]);
    assert_eq!(code, 3, "{stderr}");
    let out = ws.devex().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |table: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .unwrap_or_else(|| panic!("no {table} row:\n{text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // table, version, rows, files, size (2 words), latest event.
    assert_eq!(row("deployments")[1..4], ["v1", "1", "1"], "{text}");
    assert_eq!(row("quarantine")[1..4], ["v1", "2", "1"], "{text}");
    assert!(!text.contains("no rows"), "{text}");
    assert!(text.contains("Quarantine: 2 rows rejected, 2 of them added by its last commit (v1)"), "{text}");
    assert!(text.contains("FROM quarantine ORDER BY at DESC"), "{text}");

    let out = ws.devex().args(["status", "--format", "json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let quarantine = doc["tables"].as_array().unwrap().iter().find(|t| t["table"] == "quarantine").unwrap();
    assert_eq!((quarantine["rows"].as_u64(), quarantine["files"].as_u64()), (Some(2), Some(1)));
    assert!(quarantine["bytes"].as_u64().unwrap() > 0);
    assert_eq!(doc["quarantine"]["rows"], 2);
    assert_eq!(doc["quarantine"]["added_by_last_commit"], 2);
    // The command it prints lists them.
    let listed = ws.query("SELECT count(*) FROM quarantine");
    assert_eq!(listed, [["2"]]);
}
