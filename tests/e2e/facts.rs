//! Derived facts on the sample organisation: the demo's writer computes them,
//! every number and the scorecard are byte-identical with and without them,
//! and a fact that no longer matches the lake (or the settings) is not read.

use std::path::Path;

use serde_json::Value;

use crate::util::{Workspace, files_under, sample_demo, sample_dir};

/// A copy of the sample demo's lake in a workspace of its own.
fn copy_of_demo_lake() -> Workspace {
    let ws = Workspace::new();
    copy_dir(&sample_demo().ws.data(), &ws.data());
    ws
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "writer.lock" {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// `devex --config sample-data/devex.toml ARGS` in `ws`; its stdout, asserting success.
fn run(ws: &Workspace, args: &[&str]) -> String {
    let out = ws.devex().arg("--config").arg(sample_dir().join("devex.toml")).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Each fact's entry of `devex status --format json`, by name.
fn facts_status(ws: &Workspace, config: &Path) -> Vec<Value> {
    let out = ws.devex().arg("--config").arg(config).args(["status", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["facts"].as_array().unwrap().clone()
}

fn all_current(facts: &[Value]) -> bool {
    facts.len() == 4 && facts.iter().all(|f| f["current"] == true)
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = files_under(dir)
        .into_iter()
        .map(|p| (p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn the_sample_gives_the_same_bytes_with_and_without_its_facts() {
    let demo = sample_demo();
    assert!(demo.stderr.contains("facts refreshed in"), "the demo's writer computes the facts: {}", demo.stderr);
    let with = copy_of_demo_lake();
    let without = copy_of_demo_lake();
    std::fs::remove_dir_all(without.data().join("_facts")).unwrap();
    let config = sample_dir().join("devex.toml");
    let current = facts_status(&with, &config);
    assert!(all_current(&current), "{current:?}");
    let missing = facts_status(&without, &config);
    assert!(missing.iter().all(|f| f["current"] == false && f["reason"] == "never computed"), "{missing:?}");

    // Every metric of the sample's quarters, per organisation, team and service.
    for quarter in ["2025-Q4", "2026-Q2", "2026-Q3"] {
        for by in [&[][..], &["--by", "team"], &["--by", "service"]] {
            let args = [&["metrics", "--quarter", quarter, "--format", "json"][..], by].concat();
            let (a, b) = (run(&with, &args), run(&without, &args));
            assert!(a.contains("\"lead_time_hours\""), "{a}");
            assert_eq!(a, b, "metrics {quarter} {by:?}");
        }
    }
    // The rows behind a lead time and a failure rate, and the trends.
    for args in [
        &["explain", "lead_time", "--quarter", "2026-Q3", "--team", "payments", "--format", "csv"][..],
        &["explain", "change_failure_rate", "--quarter", "2026-Q3", "--format", "csv"],
        &["trends", "--by", "team", "--quarters", "4", "--format", "csv"],
        &[
            "sql",
            "--quarter",
            "2026-Q3",
            "SELECT count(*), sum(CAST(round(hours * 3600) AS BIGINT)) AS seconds FROM lead_time_change",
        ],
    ] {
        assert_eq!(run(&with, args), run(&without, args), "{args:?}");
    }
    // The whole scorecard, byte for byte, read as of the same instant.
    let now = chrono::Utc::now();
    let at = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for ws in [&with, &without] {
        let out = ws
            .devex()
            .env("SOURCE_DATE_EPOCH", now.timestamp().to_string())
            .arg("--config")
            .arg(&config)
            .args(["report", "--quarter", "2026-Q3", "--as-of", &at, "--out", "site"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (a, b) = (files(&with.path().join("site")), files(&without.path().join("site")));
    assert!(a.len() > 5, "{} files", a.len());
    assert!(a == b, "the scorecards differ");
}

#[test]
fn a_fact_that_no_longer_matches_the_lake_or_the_settings_is_not_read() {
    let ws = copy_of_demo_lake();
    let config = sample_dir().join("devex.toml");
    let old_facts = ws.path().join("old-facts");
    copy_dir(&ws.data().join("_facts"), &old_facts);
    let q3 = ["metrics", "--quarter", "2026-Q3", "--format", "json"];
    let before = json(&run(&ws, &q3));
    let deployments = before["groups"][0]["deployments"].as_i64().unwrap();

    // A new production deployment, and a rollback of it: the import refreshes the facts.
    let csv = ws.file(
        "night.csv",
        "id,service,environment,status,started_at,finished_at,commit_sha,kind\n\
         night-1,payments-api,production,success,2026-09-30T22:00:00Z,2026-09-30T22:10:00Z,n1,regular\n\
         night-2,payments-api,production,success,2026-09-30T23:00:00Z,2026-09-30T23:05:00Z,n0,rollback\n",
    );
    let out = ws.devex().args(["import", "deployments"]).arg(&csv).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("facts refreshed in") && stderr.contains("production_deployment ("), "{stderr}");
    let refreshed = facts_status(&ws, &config);
    assert!(all_current(&refreshed), "{refreshed:?}");
    let after = json(&run(&ws, &q3));
    assert_eq!(after["groups"][0]["deployments"].as_i64(), Some(deployments + 2));

    // The facts of before the import put back (as a writer that did not refresh them would
    // leave them): stale, so not read, and every number is the lake's as it is now.
    std::fs::remove_dir_all(ws.data().join("_facts")).unwrap();
    copy_dir(&old_facts, &ws.data().join("_facts"));
    let stale = facts_status(&ws, &config);
    let pd = stale.iter().find(|f| f["fact"] == "production_deployment").unwrap();
    assert_eq!(pd["current"], false);
    let reason = pd["reason"].as_str().unwrap();
    assert!(reason.starts_with("`deployments` is at version 2, the fact was computed from version 1"), "{reason}");
    assert_eq!(json(&run(&ws, &q3)), after);
    let human = run(&ws, &["status"]);
    assert!(human.contains("maintain --refresh-facts"), "{human}");

    // The lake as it was before the import (--as-of-version): the old facts match it again.
    let v1 = run(&ws, &["metrics", "--quarter", "2026-Q3", "--format", "json", "--as-of-version", "1"]);
    assert_eq!(json(&v1), before);

    // Other settings (a second production environment) are another definition of every fact
    // that reads the production deployments: those are not read. `change_commit` reads none.
    let staging = ws.file("staging.toml", "production_environments = [\"production\", \"staging\"]\n");
    let other = facts_status(&ws, &staging);
    for fact in &other {
        assert_eq!(fact["current"], fact["fact"] == "change_commit", "{other:?}");
    }

    // maintain --refresh-facts rebuilds every fact, current or not.
    let out = ws.devex().args(["maintain", "--refresh-facts"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("deployed_change (") && stderr.contains("incident_link ("), "{stderr}");
    assert!(all_current(&facts_status(&ws, &config)));
    assert_eq!(json(&run(&ws, &q3)), after);
}

/// `devex import FILE` into `ws`; its stderr, asserting success.
fn import(ws: &Workspace, table: &str, file: &Path) -> String {
    let out = ws
        .devex()
        .arg("--config")
        .arg(sample_dir().join("devex.toml"))
        .args(["import", table])
        .arg(file)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
}

/// Every row of each fact (read through `devex sql`, sorted), and the metrics of two quarters.
fn fact_rows_and_numbers(ws: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT * FROM deployed_change ORDER BY repo, sha, deployment_id",
        "SELECT * FROM incident_link ORDER BY incident_source, incident_id, deployment_source, deployment_id, rule",
        "SELECT * FROM production_deployment ORDER BY source, id",
        "SELECT * FROM change_commit ORDER BY service, committed_at, mapped",
    ] {
        out.push(run(ws, &["sql", "--format", "csv", sql]));
    }
    for quarter in ["2026-Q2", "2026-Q3"] {
        out.push(run(ws, &["metrics", "--quarter", quarter, "--by", "service", "--format", "json"]));
    }
    out
}

/// Rows appended to `changes` or `incidents` refresh the facts that are linear in them by
/// appending the new rows only; a replaced row recomputes them whole. Either way the facts
/// hold exactly what `maintain --refresh-facts` computes from scratch.
#[test]
fn appended_rows_refresh_a_fact_by_appending_what_a_full_recompute_adds() {
    let ws = copy_of_demo_lake();
    let config = sample_dir().join("devex.toml");
    let full_recompute = |ws: &Workspace| {
        let copy = Workspace::new();
        copy_dir(&ws.data(), &copy.data());
        let out = copy.devex().arg("--config").arg(&config).args(["maintain", "--refresh-facts"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        fact_rows_and_numbers(&copy)
    };

    // Two new changes deployed by payments-api-15, one of them an incident's root cause.
    let changes = ws.file(
        "changes.csv",
        "repo,sha,service,committed_at,deployment_id,pr_opened_at,merged_at\n\
         payments-api,night0000000000000000000000000000000000a1,payments-api,2024-11-07T09:00:00Z,payments-api-15,2024-11-07T10:00:00Z,2024-11-08T09:00:00Z\n\
         payments-api,night0000000000000000000000000000000000a2,payments-api,2024-11-08T08:00:00Z,payments-api-15,,\n",
    );
    let stderr = import(&ws, "changes", &changes);
    assert!(stderr.contains("deployed_change (+2 rows appended"), "{stderr}");
    assert!(stderr.contains("incident_link (+0 rows appended"), "{stderr}");
    assert!(!stderr.contains("production_deployment ("), "not read from changes: {stderr}");
    assert!(all_current(&facts_status(&ws, &config)));
    let after_changes = fact_rows_and_numbers(&ws);
    assert!(after_changes[0].contains("night0000000000000000000000000000000000a1"), "{}", after_changes[0]);
    assert_eq!(after_changes, full_recompute(&ws));

    // Incidents linked by each rule: a root cause among the new changes, a deployment, and
    // none (attributed to the latest deployment of the service before it).
    let incidents = ws.file(
        "incidents.ndjson",
        "{\"id\": \"NIGHT-1\", \"service\": \"payments-api\", \"created_at\": \"2024-11-09T10:00:00Z\", \"root_cause_sha\": \"night0000000000000000000000000000000000a2\"}\n\
         {\"id\": \"NIGHT-2\", \"service\": \"payments-api\", \"created_at\": \"2024-11-09T11:00:00Z\", \"caused_by_deployment\": \"payments-api-15\"}\n\
         {\"id\": \"NIGHT-3\", \"service\": \"payments-api\", \"created_at\": \"2024-11-08T19:00:00Z\"}\n",
    );
    let stderr = import(&ws, "incidents", &incidents);
    assert!(stderr.contains("incident_link (+3 rows appended"), "{stderr}");
    assert!(!stderr.contains("deployed_change ("), "not read from incidents: {stderr}");
    let after_incidents = fact_rows_and_numbers(&ws);
    assert!(after_incidents[1].contains("NIGHT-3"), "{}", after_incidents[1]);
    assert_ne!(after_incidents, after_changes);
    assert_eq!(after_incidents, full_recompute(&ws));

    // The same change again, committed a day earlier: the import replaces a row, so the facts
    // that read changes are recomputed whole.
    let replaced = ws.file(
        "replaced.csv",
        "repo,sha,service,committed_at,deployment_id\n\
         payments-api,night0000000000000000000000000000000000a2,payments-api,2024-11-07T08:00:00Z,payments-api-15\n",
    );
    let stderr = import(&ws, "changes", &replaced);
    assert!(stderr.contains("deployed_change (") && !stderr.contains("appended"), "{stderr}");
    assert!(all_current(&facts_status(&ws, &config)));
    let after_replace = fact_rows_and_numbers(&ws);
    assert_ne!(after_replace, after_incidents);
    assert_eq!(after_replace, full_recompute(&ws));
}
