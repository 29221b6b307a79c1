//! `devex explain` on the sample organisation: the rows behind a number give
//! that number back, the failure rules name what failed each deployment, and
//! survey numbers are refused.

use serde_json::Value;

use crate::util::{sample_demo, sample_dir};

const WINDOW: [&str; 4] = ["--from", "2026-01-01", "--to", "2026-07-01"];

/// Run devex with the sample's config; (exit code, stdout, stderr).
fn devex(args: &[&str]) -> (i32, String, String) {
    let demo = sample_demo();
    let config = sample_dir().join("devex.toml");
    let out = demo.ws.devex().arg("--config").arg(config).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(args: &[&str]) -> Value {
    let (code, stdout, stderr) = devex(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// `percentile_cont`: linear interpolation between the closest ranks.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (at - lo as f64) * (sorted[hi] - sorted[lo])
}

#[test]
fn the_rows_of_a_lead_time_give_back_its_n_p50_and_p90() {
    let by_team = json_of(&[&["metrics", "--by", "team", "--format", "json"][..], &WINDOW].concat());
    let group = by_team["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["lead_time_hours"]["n"].as_i64().unwrap() >= 10)
        .expect("a team with ten changes")
        .clone();
    let team = group["group"]["team"].as_str().unwrap();
    let doc = json_of(&[&["explain", "lead_time", "--team", team, "--format", "json"][..], &WINDOW].concat());
    assert_eq!(doc["metric"], "lead_time");
    assert_eq!(doc["group"], serde_json::json!({"team": team}));
    assert_eq!(doc["window"], by_team["window"]);
    // The value is what `devex metrics` prints, to the bit.
    assert_eq!(doc["value"], group["lead_time_hours"]["p50"]);
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len() as i64, group["lead_time_hours"]["n"].as_i64().unwrap());
    let mut hours: Vec<f64> = rows.iter().map(|r| r["lead_time_hours"].as_f64().unwrap()).collect();
    hours.sort_by(f64::total_cmp);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    let (p50, p90) =
        (group["lead_time_hours"]["p50"].as_f64().unwrap(), group["lead_time_hours"]["p90"].as_f64().unwrap());
    assert!(close(percentile(&hours, 0.5), p50), "{} vs {p50}", percentile(&hours, 0.5));
    assert!(close(percentile(&hours, 0.9), p90), "{} vs {p90}", percentile(&hours, 0.9));
    // Each row's four stages add up to its lead time.
    for r in rows {
        let stages: f64 = ["coding_hours", "pickup_hours", "review_hours", "deploy_hours"]
            .iter()
            .map(|s| r[*s].as_f64().unwrap())
            .sum();
        assert!(close(stages, r["lead_time_hours"].as_f64().unwrap()), "{r}");
    }
    // The same rows as CSV, one line each under a header.
    let (code, csv, stderr) =
        devex(&[&["explain", "lead_time", "--team", team, "--format", "csv"][..], &WINDOW].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(csv.lines().count(), rows.len() + 1);
    assert!(csv.starts_with("repo,sha,deployment_id,committed_at,finished_at,lead_time_hours,coding_hours"), "{csv}");
    // The table says the number before the rows.
    let (code, table, stderr) = devex(&[&["explain", "lead_time", "--team", team][..], &WINDOW].concat());
    assert_eq!(code, 0, "{stderr}");
    assert!(table.starts_with(&format!("lead_time of team {team}, ")), "{table}");
    assert!(table.contains(&format!("{} rows behind it", rows.len())), "{table}");
}

#[test]
fn the_failed_deployments_listed_are_those_counted_with_their_rules() {
    let org = json_of(&[&["metrics", "--format", "json"][..], &WINDOW].concat());
    let g = &org["groups"][0];
    let doc = json_of(&[&["explain", "change_failure_rate", "--format", "json"][..], &WINDOW].concat());
    assert_eq!(doc["value"], g["change_failure_rate"]["value"]);
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len() as i64, g["deployments"].as_i64().unwrap(), "every deployment of D is listed");
    let failed: Vec<&Value> = rows.iter().filter(|r| r["failed"] == true).collect();
    assert_eq!(failed.len() as i64, g["change_failure_rate"]["failed"].as_i64().unwrap());
    let rules = ["caused_by_deployment", "root_cause_sha", "attributed_incident", "followed_by_rollback_or_hotfix"];
    let mut seen = [0; 4];
    for r in rows {
        let holds: Vec<bool> = rules.iter().map(|k| r[*k] == true).collect();
        assert_eq!(r["failed"] == true, holds.iter().any(|h| *h), "failed iff a rule holds: {r}");
        // An incident rule names its incidents; the rollback rule names the deployment.
        assert_eq!(holds[..3].iter().any(|h| *h), r["incident_ids"].is_string(), "{r}");
        assert_eq!(holds[3], r["rollback_or_hotfix_id"].is_string(), "{r}");
        for (s, h) in seen.iter_mut().zip(&holds) {
            *s += usize::from(*h);
        }
    }
    assert!(seen.iter().filter(|s| **s > 0).count() >= 3, "the sample exercises the rules: {seen:?}");

    // Recovery: the failed deployments, with what recovered each, and the metrics' p50 and open.
    let doc = json_of(&[&["explain", "recovery_time", "--format", "json"][..], &WINDOW].concat());
    assert_eq!(doc["value"], g["recovery_time_hours"]["p50"]);
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), failed.len());
    let open = rows.iter().filter(|r| r["open"] == true).count() as i64;
    assert_eq!(open, g["recovery_time_hours"]["open"].as_i64().unwrap());
}

#[test]
fn survey_numbers_are_refused() {
    for metric in ["nps", "devex_scores"] {
        let (code, stdout, stderr) = devex(&["explain", metric]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains("never listed row by row") && stderr.contains("who answered"), "{stderr}");
    }
    let (code, _, stderr) = devex(&["explain", "speed"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("one of deployments, lead_time"), "{stderr}");
}
