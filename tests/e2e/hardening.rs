//! Hardening: what a hostile or careless user could do to the public numbers or
//! the lake, tried through the binary. Each test names the attack it stops.

use std::io::Read;
use std::process::Stdio;

use crate::util::{Workspace, counts, delta_version, rows};

fn run(ws: &Workspace, args: &[&str]) -> (i32, String, String) {
    let out = ws.devex().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn deployments(ws: &Workspace) -> std::path::PathBuf {
    ws.file(
        "d.csv",
        "id,service,environment,status,finished_at\n\
         d1,api,production,success,2026-03-04T10:00:00Z\n\
         d2,api,production,success,2026-03-05T10:00:00Z\n",
    )
}

// --- 1. No differencing --------------------------------------------------------------------

/// Survey responses of three teams in 2026-Q1 (NPS answers `promoter/passive/detractor`),
/// each answering q_ci on a 1..5 scale.
fn survey(ws: &Workspace, teams: &[(&str, &[u8])]) {
    let mut csv = String::from("id,survey,submitted_at,team,nps,q_ci\n");
    for (team, answers) in teams {
        for (i, nps) in answers.iter().enumerate() {
            csv.push_str(&format!("{team}-{i},2026-Q1,2026-02-10,{team},{nps},{}\n", 1 + i % 5));
        }
    }
    let f = ws.file("wave.csv", &csv);
    let (code, _, stderr) = ws.import("survey_responses", &[&f], &[]);
    assert_eq!(code, 0, "{stderr}");
}

fn team_nps(ws: &Workspace, config: &str) -> serde_json::Value {
    let (code, out, stderr) =
        run(ws, &["--config", config, "metrics", "--quarter", "2026-Q1", "--by", "team", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc = json(&out);
    let mut by_team = serde_json::Map::new();
    for g in doc["groups"].as_array().unwrap() {
        by_team.insert(g["group"]["team"].as_str().unwrap().to_string(), g["nps"].clone());
    }
    serde_json::Value::Object(by_team)
}

#[test]
fn a_withheld_team_cannot_be_recovered_from_the_organisation_total() {
    // The case: org 6/1/2 of 9 (promoters/passives/detractors), team a 3/1/1 of 5,
    // team b 3/0/1 of 4. Showing a beside the org would give b away: 9 - 5 = 4 responses,
    // 6 - 3 = 3 promoters, 2 - 1 = 1 detractor.
    let ws = Workspace::new();
    let config = ws.file("devex.toml", "[survey.questions]\nq_ci = { dimension = \"feedback_loops\" }\n");
    let config = config.to_str().unwrap();
    survey(&ws, &[("a", &[10, 9, 10, 7, 3]), ("b", &[9, 10, 10, 2])]);
    let nps = team_nps(&ws, config);
    assert_eq!(nps["b"]["suppressed_reason"], "min_group_size", "{nps}");
    assert_eq!(nps["a"]["suppressed"], true, "{nps}");
    assert_eq!(nps["a"]["suppressed_reason"], "complementary", "{nps}");
    for t in ["a", "b"] {
        assert!(nps[t]["value"].is_null() && nps[t]["promoters"].is_null() && nps[t]["detractors"].is_null());
    }
    // The organisation is still shown: 6 promoters, 2 detractors of 9.
    let (_, out, _) = run(&ws, &["--config", config, "metrics", "--quarter", "2026-Q1", "--format", "json"]);
    let org = &json(&out)["groups"][0]["nps"];
    assert_eq!((org["n"].as_i64(), org["promoters"].as_i64(), org["detractors"].as_i64()), (Some(9), Some(6), Some(2)));

    // The same rule holds in the saved views, per wave and per dimension.
    for view in ["nps", "nps_by_wave", "devex_scores", "devex_scores_by_wave"] {
        let (code, out, stderr) = run(
            &ws,
            &[
                "--config",
                config,
                "sql",
                "--quarter",
                "2026-Q1",
                "--by",
                "team",
                "--format",
                "csv",
                &format!("SELECT grp, value, suppressed, suppressed_reason FROM {view} ORDER BY grp"),
            ],
        );
        assert_eq!(code, 0, "{view}: {stderr}");
        assert_eq!(
            out, "grp,value,suppressed,suppressed_reason\na,,true,complementary\nb,,true,min_group_size\n",
            "{view}"
        );
    }

    // With a third team of 6 the smallest shown team (a, 5) is the one withheld beside b.
    survey(&ws, &[("a", &[10, 9, 10, 7, 3]), ("b", &[9, 10, 10, 2]), ("c", &[10, 10, 10, 10, 0, 0])]);
    let nps = team_nps(&ws, config);
    assert_eq!(nps["a"]["suppressed_reason"], "complementary", "{nps}");
    // c: 4 promoters, 2 detractors of 6 -> 100 * 2 / 6.
    assert_eq!(nps["c"]["suppressed"], false, "{nps}");
    assert!((nps["c"]["value"].as_f64().unwrap() - 100.0 / 3.0).abs() < 1e-9, "{nps}");

    // Withheld groups that already hold min_group_size respondents together need no partner:
    // b (4) and d (1) withheld, 5 together; a is shown again.
    survey(&ws, &[("a", &[10, 9, 10, 7, 3]), ("b", &[9, 10, 10, 2]), ("c", &[10, 10, 10, 10, 0, 0]), ("d", &[5])]);
    let nps = team_nps(&ws, config);
    assert_eq!(nps["a"]["suppressed"], false, "{nps}");
    // a: 3 promoters, 1 detractor of 5 -> 40.
    assert_eq!(nps["a"]["value"], 40.0, "{nps}");
    assert_eq!(nps["d"]["suppressed_reason"], "min_group_size", "{nps}");
}

#[test]
fn a_group_size_below_three_is_a_config_error() {
    let ws = Workspace::new();
    let config = ws.file("devex.toml", "[survey]\nmin_group_size = 2\n");
    let (code, _, stderr) = run(&ws, &["--config", config.to_str().unwrap(), "metrics"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("error:") && stderr.contains("min_group_size = 2 is below 3"), "{stderr}");
}

// --- 2. Read-only SQL ----------------------------------------------------------------------

#[test]
fn sql_cannot_change_the_lake_or_write_files() {
    let ws = Workspace::new();
    let (code, _, stderr) = ws.import("deployments", &[&deployments(&ws)], &[]);
    assert_eq!(code, 0, "{stderr}");
    let version = delta_version(&ws.data(), "deployments");
    let target = ws.path().join("leak.parquet");
    let csv = ws.path().join("elsewhere.csv");
    std::fs::write(&csv, "a\n1\n").unwrap();
    for statement in [
        "INSERT INTO deployments SELECT * FROM deployments".to_string(),
        "DELETE FROM deployments".to_string(),
        "UPDATE deployments SET status = 'failure'".to_string(),
        "DROP TABLE deployments".to_string(),
        format!("COPY deployments TO '{}'", target.display()),
        format!("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{}'", csv.display()),
        "CREATE VIEW v AS SELECT 1".to_string(),
        "SET datafusion.execution.batch_size = 1".to_string(),
        "EXPLAIN ANALYZE INSERT INTO deployments SELECT * FROM deployments".to_string(),
    ] {
        let (code, _, stderr) = run(&ws, &["sql", &statement]);
        assert_eq!(code, 2, "{statement}: {stderr}");
        assert!(stderr.contains("error: devex sql only reads the lake"), "{statement}: {stderr}");
        assert!(stderr.contains("hint:") && stderr.contains("devex import"), "{statement}: {stderr}");
    }
    assert!(!target.exists(), "COPY wrote a file");
    assert_eq!(ws.query("SELECT count(*) FROM deployments"), rows(&[&["2"]]));
    assert_eq!(delta_version(&ws.data(), "deployments"), version, "no commit");
    // Reads still work, EXPLAIN, SHOW and DESCRIBE included.
    for statement in ["SELECT count(*) FROM deployments", "EXPLAIN SELECT 1", "SHOW TABLES", "DESCRIBE deployments"] {
        let (code, _, stderr) = run(&ws, &["sql", statement]);
        assert_eq!(code, 0, "{statement}: {stderr}");
    }
}

// --- 3. Timestamps in range ----------------------------------------------------------------

#[test]
fn event_times_in_the_future_or_before_1970_and_absurd_timestamps_are_quarantined() {
    let ws = Workspace::new();
    let f = ws.file(
        "d.csv",
        "id,service,environment,status,finished_at,started_at\n\
         ok,api,production,success,2026-03-04T10:00:00Z,2026-03-04T09:00:00Z\n\
         future,api,production,success,2099-01-01T00:00:00Z,\n\
         old,api,production,success,1969-12-31T23:00:00Z,\n\
         ancient,api,production,success,2026-03-04T10:00:00Z,1800-01-01T00:00:00Z\n",
    );
    let (code, reports, stderr) = ws.import("deployments", &[&f], &[]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(counts(&reports[0]), (4, 1, 0, 3));
    let reasons = ws.query("SELECT value, reason FROM quarantine ORDER BY value");
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0][0] == "1800-01-01T00:00:00Z" && reasons[0][1].contains("outside the years 1900..2199"));
    assert!(reasons[1][1].contains("an event time before 1970-01-01"), "{reasons:?}");
    assert!(reasons[2][1].contains("later than now + 1 day"), "{reasons:?}");

    // An adoption event dated 2300 no longer breaks trends and the J-curve.
    let a = ws.file(
        "a.ndjson",
        "{\"id\":\"e1\",\"team\":\"t\",\"capability\":\"golden-path\",\"event\":\"used\",\"at\":\"2300-01-01T00:00:00Z\"}\n",
    );
    let (code, _, stderr) = ws.import("adoption_events", &[&a], &[]);
    assert_eq!(code, 3, "{stderr}");
    let s = ws.file("s.csv", "service,team,onboarded_at\napi,t,2026-01-10\n");
    assert_eq!(ws.import("services", &[&s], &[]).0, 0);
    let (code, _, stderr) = run(&ws, &["trends", "--by", "team", "--relative-to-onboarding"]);
    assert_eq!(code, 0, "{stderr}");
    // The report's default quarter is the latest real deployment's, not 2099's.
    let (code, out, stderr) = run(&ws, &["report", "--out", "site", "--quarters", "2"]);
    assert_eq!(code, 0, "{stderr}");
    let card = json(&std::fs::read_to_string(ws.path().join(out.trim()).with_file_name("scorecard.json")).unwrap());
    assert_eq!(card["quarter"], "2026-Q1");
}

// --- 4. Likert answers on their scale, no nested JSON ---------------------------------------

#[test]
fn likert_answers_off_their_scale_and_nested_json_values_are_quarantined() {
    let ws = Workspace::new();
    let config = ws.file(
        "devex.toml",
        "[survey]\nmin_group_size = 3\n[survey.questions]\nq_ci = { dimension = \"feedback_loops\", scale_max = 5 }\n",
    );
    let config = config.to_str().unwrap();
    // Five responses: q_ci 5, 3, 99 (off the scale), "agree" (not a score), 1. A free comment.
    let f = ws.file(
        "wave.csv",
        "id,survey,submitted_at,team,nps,q_ci,comment\n\
         r1,2026-Q1,2026-02-10,a,9,5,fine\n\
         r2,2026-Q1,2026-02-10,a,9,3,\n\
         r3,2026-Q1,2026-02-10,a,9,99,\n\
         r4,2026-Q1,2026-02-10,a,9,agree,\n\
         r5,2026-Q1,2026-02-10,a,9,1,\n",
    );
    let (code, reports, stderr) = ws.import("survey_responses", &[&f], &["--config", config]);
    assert_eq!(code, 3, "{stderr}");
    // Every response lands; of the 6 answers (5 q_ci, 1 comment), 2 are quarantined.
    assert_eq!(counts(&reports[0]), (5, 5, 0, 0));
    assert_eq!(counts(&reports[1]), (6, 4, 0, 2));
    // (Which answers, and why: devex-ingest's tests/contract.rs.)
    // (5, 3, 1) -> (100, 50, 0) -> 50: the off-scale answer no longer makes a "0-100" score of 336.
    let (code, out, stderr) = run(
        &ws,
        &["--config", config, "sql", "--quarter", "2026-Q1", "--format", "csv", "SELECT n, value FROM devex_scores"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out, "n,value\n3,50.0\n");

    // (Answers imported directly, and the counts of each table: devex-ingest's tests/contract.rs.)

    // NDJSON objects and arrays where the contract wants a string or number.
    let d = ws.file(
        "d.ndjson",
        "{\"id\":\"d1\",\"service\":{\"name\":\"api\"},\"environment\":\"production\",\"status\":\"success\",\"finished_at\":\"2026-03-04T10:00:00Z\"}\n\
         {\"id\":\"d2\",\"service\":\"api\",\"environment\":\"production\",\"status\":[\"success\"],\"finished_at\":\"2026-03-04T10:00:00Z\"}\n\
         {\"id\":\"d3\",\"service\":\"api\",\"environment\":\"production\",\"status\":\"success\",\"finished_at\":\"2026-03-04T10:00:00Z\",\"extra\":{\"x\":1}}\n",
    );
    let (code, reports, stderr) = ws.import("deployments", &[&d], &[]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(counts(&reports[0]), (3, 1, 0, 2));
    let q = ws.query("SELECT \"column\", reason FROM quarantine WHERE \"table\" = 'deployments' ORDER BY line");
    assert_eq!(q.len(), 2);
    assert_eq!((q[0][0].as_str(), q[1][0].as_str()), ("service", "status"));
    assert!(q[0][1].contains("a JSON object or array where a string or number belongs"), "{q:?}");
    assert_eq!(ws.query("SELECT id, service FROM deployments"), rows(&[&["d3", "api"]]));
}

// --- 5. No panics on user input ------------------------------------------------------------

#[test]
fn hostile_flags_get_errors_not_panics() {
    let ws = Workspace::new();
    for args in [
        &["metrics", "--last", "9é"][..],
        &["metrics", "--last", "99999999999999d"],
        &["metrics", "--last", "100000000d"],
        &["metrics", "--from", "0001-01-01", "--to", "2026-01-01"],
        &["metrics", "--quarter", "99999-Q1"],
        &["sql", "--last", "é", "SELECT 1"],
        &["maintain", "--retention-days", "1000000000000"],
        &["maintain", "--retention-days", "3"],
        &["trends", "--quarters", "99999999999"],
    ] {
        let (code, _, stderr) = run(&ws, args);
        assert!(code == 2, "{args:?} exited {code}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_pipe_ends_sql_quietly() {
    let ws = Workspace::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_devex"))
        .current_dir(ws.path())
        .env("NO_COLOR", "1")
        .arg("--data")
        .arg(ws.data())
        .args(["sql", "--format", "csv", "SELECT value FROM generate_series(1, 2000000)"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 64];
    child.stdout.as_mut().unwrap().read_exact(&mut head).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error") && !stderr.contains("panicked"), "{stderr}");
}

// --- 6. Time travel lasts as long as the config says ---------------------------------------

/// The table's configuration from the last metaData action in its log.
fn table_configuration(ws: &Workspace, table: &str) -> serde_json::Value {
    let log = ws.data().join(table).join("_delta_log");
    let mut files: Vec<_> = std::fs::read_dir(&log).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .flat_map(|p| std::fs::read_to_string(p).unwrap().lines().map(json).collect::<Vec<_>>())
        .filter_map(|action| action.get("metaData").map(|m| m["configuration"].clone()))
        .next_back()
        .expect("a metaData action")
}

#[test]
fn tables_keep_their_log_as_long_as_the_retention_says() {
    let ws = Workspace::new();
    let (code, _, stderr) = ws.import("deployments", &[&deployments(&ws)], &[]);
    assert_eq!(code, 0, "{stderr}");
    let config = table_configuration(&ws, "deployments");
    assert_eq!(config["delta.logRetentionDuration"], "interval 30 days", "{config}");
    assert_eq!(config["delta.deletedFileRetentionDuration"], "interval 30 days", "{config}");

    // An existing table follows a changed retention on its next write.
    let longer = ws.file("devex.toml", "[lake]\nretention_days = 400\n");
    let more = ws.file("d2.csv", "id,service,environment,status,finished_at\nd9,api,production,success,2026-03-06\n");
    let (code, _, stderr) = ws.import("deployments", &[&more], &["--config", longer.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let config = table_configuration(&ws, "deployments");
    assert_eq!(config["delta.logRetentionDuration"], "interval 400 days", "{config}");
    // Time travel to the first import still reads it.
    let (code, out, stderr) =
        run(&ws, &["sql", "--as-of-version", "1", "--format", "csv", "SELECT count(*) AS n FROM deployments"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out, "n\n2\n");
}

// --- 7. Inbox safety -----------------------------------------------------------------------

fn files_config(ws: &Workspace, settle: Option<u64>) -> String {
    let inbox = ws.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let settle = settle.map(|s| format!("settle_secs = {s}\n")).unwrap_or_default();
    let cfg =
        ws.file("devex.toml", &format!("[sources.drop]\ntype = \"files\"\ninbox = \"{}\"\n{settle}", inbox.display()));
    cfg.to_str().unwrap().to_string()
}

fn age(path: &std::path::Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(secs)).unwrap();
}

#[test]
fn a_file_still_being_written_waits_for_the_next_run() {
    let ws = Workspace::new();
    let cfg = files_config(&ws, None);
    let f = ws.file("inbox/deployments.csv", "id,service,environment,status,finished_at\nd1,api,production,succ");
    let (code, _, stderr) = run(&ws, &["--config", &cfg, "ingest"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("modified in the last 60 s; left for the next run"), "{stderr}");
    assert!(f.is_file(), "left in place");
    assert!(!ws.data().join("deployments").exists() && !ws.data().join("quarantine").exists());

    // Finished and settled, it lands.
    std::fs::write(&f, "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04\n").unwrap();
    age(&f, 120);
    let (code, _, stderr) = run(&ws, &["--config", &cfg, "ingest"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(ws.path().join("inbox/done/deployments.csv").is_file());
    assert_eq!(ws.query("SELECT id FROM deployments"), rows(&[&["d1"]]));
}

#[test]
fn a_lake_error_leaves_the_file_and_a_crashing_file_is_given_up_after_three_attempts() {
    let ws = Workspace::new();
    let cfg = files_config(&ws, Some(0));
    let (code, _, stderr) = ws.import("deployments", &[&deployments(&ws)], &[]);
    assert_eq!(code, 0, "{stderr}");
    // Break the table's log: the lake, not the file, is at fault.
    let log = ws.data().join("deployments/_delta_log");
    let first = log.join(format!("{:020}.json", 0));
    let saved = std::fs::read(&first).unwrap();
    std::fs::write(&first, b"{not json").unwrap();
    let f = ws.file(
        "inbox/deployments.csv",
        "id,service,environment,status,finished_at\nd7,api,production,success,2026-03-06\n",
    );
    let (code, _, stderr) = run(&ws, &["--config", &cfg, "ingest"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("left in the inbox for the next run"), "{stderr}");
    assert!(f.is_file(), "the file stays");
    assert!(!ws.path().join("inbox/failed").exists());
    std::fs::write(&first, saved).unwrap();

    // A file whose attempts never finished (a crash, an OOM kill) is given up on after three.
    let stuck = ws.file("inbox/incidents.csv", "id,service,created_at\ni1,api,2026-03-04\n");
    let state = ws.data().join("_state/files/drop.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(&state, serde_json::json!({ stuck.display().to_string(): 3 }).to_string()).unwrap();
    let (code, _, stderr) = run(&ws, &["--config", &cfg, "ingest"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("gave up after 3 attempts"), "{stderr}");
    assert!(ws.path().join("inbox/failed/incidents.csv").is_file());
    // The other file, its lake repaired, landed.
    assert!(ws.path().join("inbox/done/deployments.csv").is_file());
}

// --- 8. The demo never deletes real data ---------------------------------------------------

fn tiny_sample(ws: &Workspace) -> std::path::PathBuf {
    ws.file("sample/services.csv", "service,team,onboarded_at\napi,payments,2026-01-10\n");
    ws.file(
        "sample/deployments.csv",
        "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\n",
    );
    ws.path().join("sample")
}

/// Copy a directory tree (a lake) file by file.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn the_demo_replaces_only_its_own_untouched_lake() {
    let ws = Workspace::new();
    let sample = tiny_sample(&ws);
    let sample = sample.to_str().unwrap();
    let demo = |ws: &Workspace| run(ws, &["demo", "--sample", sample, "--report-out", "demo-site"]);
    let (code, _, stderr) = demo(&ws);
    assert_eq!(code, 0, "{stderr}");
    // Again: still only the demo's writes, so it is replaced.
    let (code, _, stderr) = demo(&ws);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(ws.query("SELECT count(*) FROM deployments"), rows(&[&["1"]]));
    // A copy of the demo's untouched lake, for the ingest record below.
    let other = Workspace::new();
    copy_tree(&ws.data(), &other.data());

    // Real data imported into it since: the demo refuses and deletes nothing.
    let f = ws.file("mine.csv", "id,service,environment,status,finished_at\nmine,api,production,success,2026-03-05\n");
    assert_eq!(ws.import("deployments", &[&f], &[]).0, 0);
    let (code, _, stderr) = demo(&ws);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds data the demo did not write") && stderr.contains("hint:"), "{stderr}");
    assert_eq!(ws.query("SELECT id FROM deployments ORDER BY id"), rows(&[&["d1"], &["mine"]]));

    // An ingest run's record counts too, and so does any other file.
    std::fs::write(other.data().join("_state/runs.ndjson"), "{}\n").unwrap();
    assert_eq!(demo(&other).0, 2);
    let notes = Workspace::new();
    std::fs::create_dir_all(notes.data()).unwrap();
    std::fs::write(notes.data().join("notes.txt"), "mine").unwrap();
    assert_eq!(demo(&notes).0, 2);
    assert!(notes.data().join("notes.txt").is_file());
}

// --- 10. Quarantine identity ---------------------------------------------------------------

#[test]
fn the_same_bad_row_imported_twice_is_one_quarantine_row() {
    let ws = Workspace::new();
    let bad = ws.file("bad.csv", "id,service,environment,status,finished_at\nb1,api,production,maybe,2026-03-04\n");
    let (code, reports, stderr) = ws.import("deployments", &[&bad, &bad], &[]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(counts(&reports[0]), (2, 0, 0, 2));
    // The same file under another path, in another run.
    let out = ws.devex().args(["import", "deployments", "./bad.csv", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(ws.query("SELECT count(*), max(file) FROM quarantine"), rows(&[&["1", "./bad.csv"]]));
}

// --- 11. The report compares like with like ------------------------------------------------

#[test]
fn team_pages_compare_the_team_with_the_median_team() {
    let ws = Workspace::new();
    let s = ws.file("s.csv", "service,team\na1,alpha\nb1,beta\nc1,gamma\n");
    // 2026-Q1 (90 days): alpha deploys 9 times, beta 3, gamma 1: per day 0.1, 0.0333, 0.0111; the median team 1/30.
    let mut d = String::from("id,service,environment,status,finished_at\n");
    for (service, n) in [("a1", 9), ("b1", 3), ("c1", 1)] {
        for i in 0..n {
            d.push_str(&format!("{service}-{i},{service},production,success,2026-02-{:02}T10:00:00Z\n", i + 1));
        }
    }
    let d = ws.file("d.csv", &d);
    for (table, f) in [("services", &s), ("deployments", &d)] {
        assert_eq!(ws.import(table, &[f], &[]).0, 0);
    }
    let (code, _, stderr) = run(&ws, &["report", "--out", "site", "--quarters", "2"]);
    assert_eq!(code, 0, "{stderr}");
    let card = json(&std::fs::read_to_string(ws.path().join("site/scorecard.json")).unwrap());
    let q1 = card["median_team"].as_array().unwrap().iter().find(|q| q["quarter"] == "2026-Q1").unwrap().clone();
    assert_eq!(q1["groups"], 3);
    assert!((q1["per_day"].as_f64().unwrap() - 3.0 / 90.0).abs() < 1e-12, "{q1}");
    let alpha = card["teams"].as_array().unwrap().iter().find(|t| t["team"] == "alpha").unwrap().clone();
    let page = std::fs::read_to_string(ws.path().join("site/teams").join(alpha["page"].as_str().unwrap())).unwrap();
    assert!(page.contains("the team against the median team"), "labelled");
    assert!(page.contains("median of 3 teams"), "the data table names the comparison");
    // The organisation's pooled 13 deployments (0.14 a day) are no longer drawn on a team's page.
    assert!(!page.contains("<th scope=\"col\">Organisation</th>"), "no pooled organisation line");
}
