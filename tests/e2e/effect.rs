//! `devex effect` on the sample organisation: the plain-words table, the JSON
//! of docs/metrics.md, the CSV rows, the scorecard's section and its
//! `effect` key, and clear words when there is nothing to compare.

use serde_json::Value;

use crate::util::{Workspace, sample_demo, sample_dir};

fn effect(ws: &Workspace, args: &[&str]) -> (i32, String, String) {
    let config = sample_dir().join("devex.toml");
    let out = ws.devex().arg("--config").arg(config).arg("effect").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_sample_s_effect_of_onboarding_in_json_csv_words_and_the_scorecard() {
    let demo = sample_demo();
    let (code, json, stderr) = effect(&demo.ws, &["--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&json).unwrap();
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["bootstrap", "by", "metrics", "quarters"]);
    assert_eq!(doc["by"], "team");
    assert_eq!(doc["bootstrap"], serde_json::json!({"replicates": 999, "seed": 1, "level": 0.95}));
    let metrics = doc["metrics"].as_array().unwrap();
    let names: Vec<&str> = metrics.iter().map(|m| m["metric"].as_str().unwrap()).collect();
    assert!(names.starts_with(&["lead_time_p50", "change_failure_rate", "deployments_per_day"]), "{names:?}");
    for m in metrics {
        let times = m["event_times"].as_array().unwrap();
        assert!(!times.is_empty(), "{m}");
        for t in times {
            assert_ne!(t["e"], -1, "the base quarter is never reported: {m}");
            assert!(t["treated"].as_i64().unwrap() >= 1 && t["cohorts"].as_i64().unwrap() >= 1, "{t}");
            if let (Some(low), Some(high)) = (t["low"].as_f64(), t["high"].as_f64()) {
                assert!(low <= high, "{t}");
            }
        }
    }
    // The scorecard's `effect` is the same document.
    let card: Value =
        serde_json::from_str(&std::fs::read_to_string(demo.site.join("scorecard.json")).unwrap()).unwrap();
    assert_eq!(card["effect"], doc);
    let index = std::fs::read_to_string(demo.site.join("index.html")).unwrap();
    assert!(index.contains("id=\"effect\"") && index.contains("teams not yet onboarded"), "no effect section");
    assert_eq!(index.matches("than for teams not yet onboarded").count(), metrics.len(), "one sentence per metric");

    // CSV: one row per metric and event time, at full precision.
    let (code, csv, stderr) = effect(&demo.ws, &["--format", "csv", "--metric", "lead_time_p50"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "metric,direction,pre_trends_differ,e,estimate,low,high,treated,cohorts");
    assert_eq!(lines.len() - 1, metrics[0]["event_times"].as_array().unwrap().len());
    let first: Vec<&str> = lines[1].split(',').collect();
    let t0 = &metrics[0]["event_times"][0];
    assert_eq!(first[3].parse::<i64>().unwrap(), t0["e"].as_i64().unwrap());
    assert_eq!(first[4].parse::<f64>().unwrap(), t0["estimate"].as_f64().unwrap());

    // The table: every event time, and the sentence in plain words.
    let (code, table, stderr) = effect(&demo.ws, &["--metric", "lead_time_p50", "--replicates", "99", "--seed", "3"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(table.contains("99 bootstrap replicates, seed 3"), "{table}");
    assert!(table.contains("median lead time was") && table.contains("than for teams not yet onboarded"), "{table}");
}

#[test]
fn nothing_to_compare_is_said_not_printed_as_an_empty_table() {
    let ws = Workspace::new();
    let deployments = ws.file(
        "d.csv",
        "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-02T10:00:00Z\n\
         d2,web,production,success,2026-03-05T10:00:00Z\n",
    );
    assert_eq!(ws.import("deployments", &[&deployments], &[]).0, 0);
    let services = ws.file("s.csv", "service,team\napi,payments\nweb,search\n");
    assert_eq!(ws.import("services", &[&services], &[]).0, 0);
    let out = ws.devex().args(["effect"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Nothing to compare") && stdout.contains("onboarding date"), "{stdout}");

    // Every team onboarded in the same quarter: no one left to compare with.
    let services = ws.file("s2.csv", "service,team,onboarded_at\napi,payments,2026-01-10\nweb,search,2026-02-01\n");
    assert_eq!(ws.import("services", &[&services], &[]).0, 0);
    let out = ws.devex().args(["effect"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("every group was onboarded in 2026-Q1"), "{stdout}");
    let out = ws.devex().args(["effect", "--by", "service", "--metric", "speed"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lead_time_p50"));
}
