//! `devex ingest` and `devex status`: the binary against a local GitHub
//! (`devex-ghmock` on wiremock, reached through `base_url`) and a file inbox.

use devex_ghmock::{fixtures, mount};
use serde_json::Value;
use wiremock::MockServer;

use crate::util::{Workspace, assert_secret_absent, mock_server, org_metrics, rows};

const TOKEN: &str = "ghp_e2eSecretToken0123456789abcdef";

fn github(repos: Vec<devex_ghmock::Repo>, page_size: usize) -> (tokio::runtime::Runtime, MockServer) {
    let (rt, server) = mock_server();
    rt.block_on(mount(&server, repos, page_size));
    (rt, server)
}

fn devex(ws: &Workspace, args: &[&str]) -> std::process::Output {
    ws.devex().env("GITHUB_TOKEN", TOKEN).args(["--config", "devex.toml"]).args(args).output().unwrap()
}

fn metrics(ws: &Workspace) -> Value {
    org_metrics(ws, "2026-03-01", "2026-04-01")
}

#[test]
fn ingest_from_github_gives_the_hand_worked_metrics_twice_without_duplicates() {
    let (rt, server) = github(vec![fixtures::acme_api()], 2);
    let ws = Workspace::new();
    ws.file(
        "devex.toml",
        &format!("[sources.github]\ntype = \"github\"\nrepos = [\"acme/api\"]\nbase_url = \"{}\"\n", server.uri()),
    );

    let first = devex(&ws, &["ingest"]);
    let stderr = String::from_utf8_lossy(&first.stderr).to_string();
    assert_eq!(first.status.code(), Some(0), "{stderr}");

    // The numbers worked out in devex_ghmock::fixtures::acme_api, March 2026:
    let m = metrics(&ws);
    // D = deployments 1, 2, 4, 5 (3 failed to deploy, 9 is staging).
    assert_eq!(m["deployments"], 4);
    // Failed: 1 (incident #22 links it), 2 (incident #20's root cause c3 shipped with it; next is a
    // rollback), 4 (the next deployment is a hotfix). 3 of 4.
    assert_eq!(m["change_failure_rate"]["failed"], 3);
    assert_eq!(m["change_failure_rate"]["value"], 0.75);
    // Lead times: c1 24 h, c2 2 h, c3 24 h, c4 48 h (squash: from PR #7's first commit), c5 25 h,
    // c6 2 h. Sorted 2 2 24 24 25 48: p50 24; p90 at 4.5 -> 25 + 0.5 * 23 = 36.5.
    assert_eq!(m["lead_time_hours"]["n"], 6);
    assert_eq!(m["lead_time_hours"]["p50"], 24.0);
    assert_eq!(m["lead_time_hours"]["p90"], 36.5);
    // Rework: the rollback (4) and the hotfix (5) of 4.
    assert_eq!(m["rework_rate"]["value"], 0.5);
    // Time to restore: #20 3 h, #22 1 h -> 2 h.
    assert_eq!(m["time_to_restore_hours"]["p50"], 2.0);
    assert_eq!(m["coverage"]["incidents_linked"], 1.0);

    let counts = "SELECT (SELECT count(*) FROM deployments) AS d, (SELECT count(*) FROM changes) AS c, (SELECT count(*) FROM incidents) AS i";
    assert_eq!(ws.query(counts), rows(&[&["6", "6", "2"]]));
    assert_eq!(ws.query("SELECT DISTINCT source FROM deployments"), rows(&[&["github"]]));

    // The second run (incremental) changes nothing.
    let second = devex(&ws, &["ingest"]);
    assert_eq!(second.status.code(), Some(0), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(ws.query(counts), rows(&[&["6", "6", "2"]]));
    assert_eq!(metrics(&ws), m);
    // A full re-read replaces rows, never duplicates them.
    let full = devex(&ws, &["ingest", "--full"]);
    assert_eq!(full.status.code(), Some(0), "{}", String::from_utf8_lossy(&full.stderr));
    assert_eq!(ws.query(counts), rows(&[&["6", "6", "2"]]));
    assert_eq!(metrics(&ws), m);

    // Three run records; status shows them and the watermark.
    let runs = std::fs::read_to_string(ws.data().join("_state/runs.ndjson")).unwrap();
    assert_eq!(runs.lines().count(), 3);
    let record: Value = serde_json::from_str(runs.lines().next().unwrap()).unwrap();
    assert_eq!(record["exit"], 0);
    assert_eq!(record["sources"][0]["source"], "github");
    let status = devex(&ws, &["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("acme/api") && text.contains("deployments"), "{text}");

    // The token was sent (the mock saw it) but is in no output and no state file.
    let sent = rt.block_on(server.received_requests()).unwrap();
    assert!(sent.iter().all(|r| r.headers.get("authorization").is_some_and(|v| v == &format!("Bearer {TOKEN}"))));
    assert_secret_absent(TOKEN, &[&first, &second, &full, &status], &ws.data());
}

#[test]
fn a_failing_repository_and_a_bad_file_exit_3_and_the_rest_lands() {
    let (_rt, server) = github(vec![fixtures::acme_api()], 100);
    let ws = Workspace::new();
    let inbox = ws.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    ws.file(
        "inbox/deployments-cd.csv",
        "id,service,environment,status,finished_at\nx1,web,production,success,2026-03-10T10:00:00Z\n",
    );
    ws.file("inbox/incidents.csv", "id,service\nbroken,web\n");
    ws.file(
        "devex.toml",
        &format!(
            "[sources.github]\ntype = \"github\"\nrepos = [\"acme/api\", \"acme/gone\"]\nbase_url = \"{}\"\n\n\
             [sources.exports]\ntype = \"files\"\ninbox = \"{}\"\nsettle_secs = 0\n",
            server.uri(),
            inbox.display()
        ),
    );
    let out = devex(&ws, &["ingest"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("acme/gone") && stderr.contains("HTTP 404") && stderr.contains("hint:"), "{stderr}");
    assert!(stderr.contains("missing required column `created_at`"), "{stderr}");
    // acme/api and the good file landed; the files moved.
    assert_eq!(
        ws.query("SELECT source, count(*) FROM deployments GROUP BY source ORDER BY source"),
        rows(&[&["file", "1"], &["github", "6"]])
    );
    assert!(inbox.join("done/deployments-cd.csv").is_file());
    assert!(inbox.join("failed/incidents.csv").is_file());
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.data().join("_state/github/github.json")).unwrap()).unwrap();
    assert!(state["repos"]["acme/api"]["watermark"].is_string());
    assert!(state["repos"].get("acme/gone").is_none());
    let record: Value = serde_json::from_str(
        std::fs::read_to_string(ws.data().join("_state/runs.ndjson")).unwrap().lines().last().unwrap(),
    )
    .unwrap();
    assert_eq!(record["exit"], 3);

    // Nothing configured: a clear error.
    ws.file("devex.toml", "timezone = \"UTC\"\n");
    let none = devex(&ws, &["ingest"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no sources configured"));
}

/// A `_state` file that cannot be read, or a table of the lake that cannot be
/// opened, is a storage error: the run exits 2 (as for a files source), not 3
/// (an API that refused), whichever pull source met it.
#[test]
fn a_state_or_lake_error_in_a_pull_source_exits_2() {
    let (_rt, server) = github(vec![fixtures::acme_api()], 100);
    let ws = Workspace::new();
    // Nothing listens on port 9: a source that tried the network before its state would fail
    // with a connection error (exit 3), not with the state.
    ws.file(
        "devex.toml",
        &format!(
            "[sources.gh]\ntype = \"github\"\nrepos = [\"acme/api\"]\nbase_url = \"http://127.0.0.1:9\"\n\n\
             [sources.gl]\ntype = \"gitlab\"\nbase_url = \"http://127.0.0.1:9\"\nprojects = [\"acme/api\"]\n\n\
             [sources.pd]\ntype = \"pagerduty\"\nbase_url = \"http://127.0.0.1:9\"\nservice_ids = [\"P1\"]\n\n\
             [sources.live]\ntype = \"github\"\nrepos = [\"acme/api\"]\nbase_url = \"{}\"\n",
            server.uri()
        ),
    );
    for (source, kind) in [("gh", "github"), ("gl", "gitlab"), ("pd", "pagerduty")] {
        let state = ws.file(&format!("lake/_state/{kind}/{source}.json"), "{ not json");
        let out = ws
            .devex()
            .env("PAGERDUTY_TOKEN", "pd-key")
            .args(["--config", "devex.toml", "ingest", "--source", source])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{source}: {stderr}");
        assert!(
            stderr.contains(&state.display().to_string()) && stderr.contains("unreadable state"),
            "{source}: {stderr}"
        );
        let record: Value = serde_json::from_str(
            std::fs::read_to_string(ws.data().join("_state/runs.ndjson")).unwrap().lines().last().unwrap(),
        )
        .unwrap();
        assert_eq!(
            (record["exit"].as_u64(), record["sources"][0]["failed"].as_bool()),
            (Some(2), Some(true)),
            "{record}"
        );
    }
    // A table the rows cannot be committed to: the API answered, the lake did not.
    ws.file("lake/deployments/_delta_log/00000000000000000000.json", "not a delta log\n");
    let out = devex(&ws, &["ingest", "--source", "live"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("deployments"), "{stderr}");
    // Nothing moved: the source's watermarks are not saved.
    assert!(!ws.data().join("_state/github/live.json").exists());
}
