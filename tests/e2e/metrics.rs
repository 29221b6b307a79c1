//! Smoke tests of the binary's metric commands: `devex metrics` on one small
//! organisation worked out by hand (in the comments), `--as-of-version`, and
//! `devex trends --relative-to-onboarding`. Every metric rule is pinned
//! in-process by `queries/tests/*.slt`; these check that the commands print
//! those numbers, as JSON and CSV, through a real lake.
//!
//! Window: March 2026, UTC, [2026-03-01, 2026-04-01): 31 days.
//! Services: api (team payments), web (team checkout).

use serde_json::Value;

use crate::util::Workspace;

const SERVICES: &str = "service,team,onboarded_at\napi,payments,2026-01-15\nweb,checkout,\n";

// api:  A0 (Feb, outside), A1, A2, A3 = rollback to a1 two hours after A2, A4, A5, A6;
//       a staging deploy and a failed deploy that must be ignored.
// web:  W1 (environment "Prod": case-insensitive), W2, W3 = hotfix six hours after W2.
const DEPLOYMENTS: &str = "id,service,environment,status,finished_at,commit_sha,kind\n\
A0,api,production,success,2026-02-27T10:00:00Z,a0,regular\n\
A1,api,production,success,2026-03-02T10:00:00Z,a1,regular\n\
A2,api,production,success,2026-03-03T10:00:00Z,a2,regular\n\
A3,api,production,success,2026-03-03T12:00:00Z,a1,rollback\n\
AS,api,staging,success,2026-03-05T10:00:00Z,a9,regular\n\
AF,api,production,failure,2026-03-06T10:00:00Z,a8,regular\n\
A4,api,production,success,2026-03-10T10:00:00Z,a4,regular\n\
A5,api,production,success,2026-03-11T10:00:00Z,a5,regular\n\
A6,api,production,success,2026-03-20T10:00:00Z,a6,regular\n\
W1,web,Prod,success,2026-03-02T09:00:00Z,w1,regular\n\
W2,web,production,success,2026-03-09T09:00:00Z,w2,regular\n\
W3,web,production,success,2026-03-09T15:00:00Z,w3,hotfix\n";

// Lead times (deployment.finished_at - committed_at):
//   c1 -> A1: 24 h      c2 -> A1: 1 h      c3 -> A2: 0 h (left out: <= 0)
//   c4 -> A4: 24 h      c5 -> A4: -1 h (left out)
//   c6 -> W1: 24 h      c7 -> W2: 120 h    c8 -> W3: 2 h
//   c9: not deployed (coverage)           c10 -> A0: outside the window.
const CHANGES: &str = "repo,sha,service,committed_at,deployment_id\n\
api,c1,api,2026-03-01T10:00:00Z,A1\n\
api,c2,api,2026-03-02T09:00:00Z,A1\n\
api,c3,api,2026-03-03T10:00:00Z,A2\n\
api,c4,api,2026-03-09T10:00:00Z,A4\n\
api,c5,api,2026-03-10T11:00:00Z,A4\n\
web,c6,web,2026-03-01T09:00:00Z,W1\n\
web,c7,web,2026-03-04T09:00:00Z,W2\n\
web,c8,web,2026-03-09T13:00:00Z,W3\n\
api,c9,api,2026-03-25T10:00:00Z,\n\
api,c10,api,2026-02-26T10:00:00Z,A0\n";

// I1: caused_by_deployment A1 (rule 1), resolved after 3 h.
// I2: root_cause_sha c4, a change A4 shipped (rule 2), still open.
// I3: unlinked, created exactly 24 h after A5, the latest api deployment (rule 3, at the edge).
// I4: unlinked, created 24 h and 1 s after A6 (just past the window: not attributed).
// I5: root_cause_sha w1 = W1's commit_sha (rule 2).
const INCIDENTS: &str = "id,service,created_at,resolved_at,caused_by_deployment,root_cause_sha\n\
I1,api,2026-03-02T12:00:00Z,2026-03-02T15:00:00Z,A1,\n\
I2,api,2026-03-10T20:00:00Z,,,c4\n\
I3,api,2026-03-12T10:00:00Z,2026-03-12T11:00:00Z,,\n\
I4,api,2026-03-21T10:00:01Z,2026-03-21T12:00:01Z,,\n\
I5,web,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,,w1\n";

// payments: 5 responses, nps 10 9 8 6 3 -> 2 promoters, 2 detractors, NPS 0 (n = 5, shown).
// checkout: 4 responses, nps 10 x4 -> withheld (n = 4 < 5).
const SURVEY: &str = "id,survey,submitted_at,team,nps,q_ci\n\
p1,2026-Q1,2026-03-20,payments,10,5\n\
p2,2026-Q1,2026-03-20,payments,9,4\n\
p3,2026-Q1,2026-03-20,payments,8,3\n\
p4,2026-Q1,2026-03-20,payments,6,2\n\
p5,2026-Q1,2026-03-20,payments,3,1\n\
k1,2026-Q1,2026-03-21,checkout,10,5\n\
k2,2026-Q1,2026-03-21,checkout,10,5\n\
k3,2026-Q1,2026-03-21,checkout,10,5\n\
k4,2026-Q1,2026-03-21,checkout,10,5\n";

fn organisation() -> Workspace {
    let ws = Workspace::new();
    for (table, name, body) in [
        ("services", "services.csv", SERVICES),
        ("deployments", "deployments.csv", DEPLOYMENTS),
        ("changes", "changes.csv", CHANGES),
        ("incidents", "incidents.csv", INCIDENTS),
        ("survey_responses", "survey.csv", SURVEY),
    ] {
        let f = ws.file(name, body);
        let (code, _, stderr) = ws.import(table, &[&f], &[]);
        assert_eq!(code, 0, "{table}: {stderr}");
    }
    ws
}

fn metrics(ws: &Workspace, args: &[&str]) -> Value {
    let out = ws.devex().arg("metrics").args(args).args(["--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

macro_rules! assert_num {
    ($v:expr, $want:expr) => {
        assert!(close(&$v, $want), "{} = {}, want {}", stringify!($v), $v, $want)
    };
}

#[test]
fn organisation_metrics_match_the_hand_worked_numbers() {
    let ws = organisation();
    let doc = metrics(&ws, &["--from", "2026-03-01", "--to", "2026-04-01"]);
    assert_eq!(doc["definitions_version"], "1");
    assert_eq!(doc["benchmarks"], "dora-2023");
    assert_eq!(
        doc["window"],
        serde_json::json!({"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "timezone": "UTC"})
    );
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g["group"], serde_json::json!({}));

    // D = A1..A6, W1..W3 (A0 is February, AS is staging, AF failed): 9.
    assert_eq!(g["deployments"], 9);
    // 9 / 31 days.
    assert_num!(g["deployment_frequency"]["per_day"], 9.0 / 31.0);
    // ISO weeks overlapping March 2026 (Mondays): Feb 23, Mar 2, 9, 16, 23, 30.
    // Deploy days: 0, {2, 3}, {9, 10, 11}, {20}, 0, 0 -> sorted 0 0 0 1 2 3 -> median 0.5.
    assert_num!(g["deployment_frequency"]["deploy_days_per_week_p50"], 0.5);
    // Below one day a week, but 6 deploy days in March (median over the one month) -> medium.
    assert_eq!(g["deployment_frequency"]["band"], "medium");

    // Lead times in D, > 0: 24, 1, 24, 24, 120, 2 -> sorted 1 2 24 24 24 120.
    // p50 = (24 + 24) / 2 = 24 (not < 24: high); p90 at 0.9 * 5 = 4.5 -> 24 + 0.5 * 96 = 72.
    assert_num!(g["lead_time_hours"]["p50"], 24.0);
    assert_num!(g["lead_time_hours"]["p90"], 72.0);
    assert_eq!(g["lead_time_hours"]["n"], 6);
    assert_eq!(g["lead_time_hours"]["band"], "high");

    // Failed: A1 (rule 1), A2 (rule 4: next is the rollback A3), A4 (rule 2 via change c4),
    // A5 (rule 3, I3 exactly 24 h later), W1 (rule 2 via commit_sha), W2 (rule 4: hotfix W3).
    // Not failed: A3, A6 (I4 is 1 s past the window), W3. 6 / 9.
    assert_eq!(g["change_failure_rate"]["failed"], 6);
    assert_num!(g["change_failure_rate"]["value"], 6.0 / 9.0);
    assert_eq!(g["change_failure_rate"]["band"], "low");

    // Recovery: A1 5 h (I1 resolved 15:00), A2 2 h (rollback A3), A4 open (I2 unresolved, no
    // remediation), A5 25 h (I3 resolved 03-12 11:00), W1 2 h (I5 resolved 11:00), W2 6 h (W3).
    // Recovered: 2 2 5 6 25 -> p50 5, n 5, open 1.
    assert_num!(g["recovery_time_hours"]["p50"], 5.0);
    assert_eq!(g["recovery_time_hours"]["n"], 5);
    assert_eq!(g["recovery_time_hours"]["open"], 1);
    assert_eq!(g["recovery_time_hours"]["band"], "high");

    // Rework: A3 (rollback), W3 (hotfix) -> 2 / 9.
    assert_num!(g["rework_rate"]["value"], 2.0 / 9.0);
    assert_eq!(g["rework_rate"]["n"], 2);

    // Restore: I1 3 h, I3 1 h, I4 2 h, I5 1 h (I2 open) -> 1 1 2 3 -> p50 1.5, n 4.
    assert_num!(g["time_to_restore_hours"]["p50"], 1.5);
    assert_eq!(g["time_to_restore_hours"]["n"], 4);

    // NPS over all 9: promoters 2 + 4 = 6, detractors 2 -> 100 * 4 / 9.
    assert_num!(g["nps"]["value"], 400.0 / 9.0);
    assert_eq!(g["nps"]["n"], 9);
    assert_eq!(g["nps"]["promoters"], 6);
    assert_eq!(g["nps"]["detractors"], 2);
    assert_eq!(g["nps"]["suppressed"], false);

    // Coverage: changes committed in March c1..c9, deployed c1..c8 -> 8 / 9.
    // Incidents created in March I1..I5, linked I1, I2, I3, I5 -> 4 / 5.
    assert_num!(g["coverage"]["changes_deployed"], 8.0 / 9.0);
    assert_num!(g["coverage"]["incidents_linked"], 0.8);

    // `devex sql` over the saved `metrics` view prints what `devex metrics` prints.
    let window = ["--from", "2026-03-01", "--to", "2026-04-01", "--by", "team", "--format", "csv"];
    let run = |command: &str, sql: Option<&str>| {
        let out = ws.devex().arg(command).args(window).args(sql).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let by_team = run("metrics", None);
    assert_eq!(by_team.lines().count(), 3, "{by_team}");
    assert_eq!(by_team, run("sql", Some("SELECT * FROM metrics ORDER BY grp")));

    // `benchmarks = "custom"` reaches the SQL: 24 h < 25 h is elite by these thresholds (high by dora-2023).
    let config = ws.file(
        "custom.toml",
        "benchmarks = \"custom\"\n[custom_benchmarks]\n\
         lead_time_hours = { elite = 25, high = 48, medium = 96 }\n\
         deploy_days = { elite = 3, high = 0.5, medium = 8 }\n\
         change_failure_rate = { elite = 0.1, high = 0.5, medium = 0.7 }\n\
         recovery_hours = { elite = 2, high = 5, medium = 6 }\n",
    );
    let custom = metrics(&ws, &["--config", config.to_str().unwrap(), "--from", "2026-03-01", "--to", "2026-04-01"]);
    assert_eq!(custom["benchmarks"], "custom");
    assert_eq!(custom["groups"][0]["lead_time_hours"]["band"], "elite");
    assert_eq!(custom["groups"][0]["lead_time_hours"]["p50"], g["lead_time_hours"]["p50"]);
}

#[test]
fn as_of_version_reproduces_an_earlier_number() {
    let ws = organisation();
    let before = metrics(&ws, &["--from", "2026-03-01", "--to", "2026-04-01"]);
    let version = crate::util::delta_version(&ws.data(), "deployments").unwrap();
    let more = ws.file(
        "more.csv",
        "id,service,environment,status,finished_at\nA7,api,production,success,2026-03-25T10:00:00Z\n",
    );
    let (code, _, _) = ws.import("deployments", &[&more], &[]);
    assert_eq!(code, 0);
    let now = metrics(&ws, &["--from", "2026-03-01", "--to", "2026-04-01"]);
    assert_eq!(now["groups"][0]["deployments"], 10);
    let then = metrics(&ws, &["--from", "2026-03-01", "--to", "2026-04-01", "--as-of-version", &version.to_string()]);
    assert_eq!(then, before);
}

#[test]
fn the_j_curve_finds_baseline_dip_and_recovery() {
    let ws = Workspace::new();
    // One service, onboarded in 2026-Q1 (q0). One deployment per quarter shipping one change,
    // whose lead time is the quarter's lead time p50:
    //   2025-Q3 (q-2) 10 h, 2025-Q4 (q-1) 20 h -> baseline 15
    //   2026-Q1 (q0) 30 h, 2026-Q2 (q+1) 40 h -> dip at q+1 (worse than 15)
    //   2026-Q3 (q+2) 12 h -> recovery at q+2 (better than 15)
    let services = ws.file("s.csv", "service,team,onboarded_at\napi,payments,2026-02-10\n");
    let deploys = ws.file(
        "d.csv",
        "id,service,environment,status,finished_at\n\
         D1,api,production,success,2025-08-01T12:00:00Z\n\
         D2,api,production,success,2025-11-01T12:00:00Z\n\
         D3,api,production,success,2026-02-01T12:00:00Z\n\
         D4,api,production,success,2026-05-01T12:00:00Z\n\
         D5,api,production,success,2026-08-01T12:00:00Z\n",
    );
    let changes = ws.file(
        "c.csv",
        "repo,sha,service,committed_at,deployment_id\n\
         api,s1,api,2025-08-01T02:00:00Z,D1\n\
         api,s2,api,2025-10-31T16:00:00Z,D2\n\
         api,s3,api,2026-01-31T06:00:00Z,D3\n\
         api,s4,api,2026-04-29T20:00:00Z,D4\n\
         api,s5,api,2026-08-01T00:00:00Z,D5\n",
    );
    for (table, f) in [("services", &services), ("deployments", &deploys), ("changes", &changes)] {
        let (code, _, stderr) = ws.import(table, &[f], &[]);
        assert_eq!(code, 0, "{stderr}");
    }
    let out = ws
        .devex()
        .args(["trends", "--by", "service", "--relative-to-onboarding", "--quarters", "5", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lead: Vec<&Value> =
        doc["series"].as_array().unwrap().iter().filter(|r| r["metric"] == "lead_time_p50").collect();
    let by_rel: Vec<(i64, f64)> =
        lead.iter().map(|r| (r["rel"].as_i64().unwrap(), r["value"].as_f64().unwrap())).collect();
    assert_eq!(by_rel, vec![(-2, 10.0), (-1, 20.0), (0, 30.0), (1, 40.0), (2, 12.0)]);
    let summary = doc["summary"].as_array().unwrap().iter().find(|r| r["metric"] == "lead_time_p50").unwrap();
    assert_num!(summary["baseline"], 15.0);
    assert_eq!(summary["dip_rel"], 1);
    assert_eq!(summary["recovery_rel"], 2);

    // Without --relative-to-onboarding: one row per quarter.
    let out = ws.devex().args(["trends", "--quarters", "5", "--format", "csv"]).output().unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    let quarters: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(quarters, ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]);

    // Every quarter comes from one pass, and each is `devex metrics` of that quarter alone.
    let out = ws.devex().args(["trends", "--quarters", "5", "--by", "service", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let quarters = doc["quarters"].as_array().unwrap();
    assert_eq!(quarters.len(), 5);
    for q in quarters {
        let label = q["quarter"].as_str().unwrap();
        let alone = ws.devex().args(["metrics", "--quarter", label, "--by", "service", "--format", "json"]).output();
        let alone: Value = serde_json::from_slice(&alone.unwrap().stdout).unwrap();
        assert_eq!(q["metrics"], alone, "{label}");
    }
    assert_eq!(quarters[4]["metrics"]["groups"][0]["deployments"], 1);
}

/// `devex sql`'s error hint and `--help` name every saved view with what it holds, from the
/// SQL built into the binary: no path to a `queries/` an installed user does not have.
#[test]
fn sql_hints_name_the_saved_views() {
    let ws = Workspace::new();
    let out = ws.devex().args(["sql", "SELECT * FROM no_such_view"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("queries/"), "{stderr}");
    let help = ws.devex().args(["sql", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    // Every view the SQL files create, read from the files themselves.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if !file.ends_with(".sql") || file.starts_with("07_") || file.starts_with("08_") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if let Some(rest) = line.strip_prefix("CREATE VIEW ") {
                names.push(rest.split_whitespace().next().unwrap().to_string());
            }
        }
    }
    assert!(
        names.len() > 30 && names.iter().any(|n| n == "metrics") && names.iter().any(|n| n == "production_deployment")
    );
    for text in [&*stderr, &*help] {
        for name in &names {
            let line = text.lines().find(|l| l.split_whitespace().next() == Some(name.as_str()));
            let line = line.unwrap_or_else(|| panic!("{name} is not listed:\n{text}"));
            assert!(line.split_whitespace().count() > 2, "{name} has no description: {line}");
        }
    }
}

/// Nothing is "withheld" when nobody answered, and counts agree with their nouns.
#[test]
fn no_answers_show_a_dash_and_one_team_is_singular() {
    let ws = Workspace::new();
    let csv = ws.file(
        "deployments.csv",
        "id,service,environment,status,finished_at,team\nd1,api,production,success,2026-05-02T10:00:00Z,solo\n",
    );
    assert_eq!(ws.import("deployments", &[&csv], &[]).0, 0);
    let out = ws.devex().args(["metrics", "--quarter", "2026-Q2", "--by", "team"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!table.contains("withheld (n=0)"), "{table}");
    let row = table.lines().find(|l| l.contains("solo")).unwrap_or_else(|| panic!("{table}"));
    let header = table.lines().find(|l| l.contains("NPS")).unwrap_or_else(|| panic!("{table}"));
    let at = header.find("NPS").unwrap();
    assert_eq!(row[at..].split_whitespace().next(), Some("-"), "{header}\n{row}");

    let out = ws.devex().args(["report", "--out", "site", "--quarter", "2026-Q2", "--quarters", "2"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("(2 quarters, 1 team)") && stderr.contains("1 team page"), "{stderr}");
    let index = std::fs::read_to_string(ws.path().join("site").join("index.html")).unwrap();
    assert!(
        index.contains("· 1 team<") || index.contains("· 1 team\n") || index.contains("· 1 team "),
        "the subtitle counts one team"
    );
    assert!(
        !index.contains("1 teams") && !index.contains(" 1 deployments") && !index.contains(" 1 changes"),
        "plurals"
    );
}
