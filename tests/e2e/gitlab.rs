//! `devex ingest` from GitLab: the binary against a local GitLab
//! (`devex-glmock` on wiremock) serving the hand-worked organisation of
//! `devex_glmock::fixtures`, then `devex metrics` against its numbers.

use devex_glmock::GitLab;
use devex_glmock::fixtures;
use serde_json::Value;
use wiremock::MockServer;

use crate::util::{Workspace, assert_secret_absent, mock_server, org_metrics, rows};

const TOKEN: &str = "glpat-e2eSecretToken0123456789";

fn gitlab(gl: &GitLab) -> (tokio::runtime::Runtime, MockServer) {
    let (rt, server) = mock_server();
    rt.block_on(gl.mount(&server));
    (rt, server)
}

fn devex(ws: &Workspace, args: &[&str]) -> std::process::Output {
    ws.devex().env("GITLAB_TOKEN", TOKEN).args(["--config", "devex.toml"]).args(args).output().unwrap()
}

fn march(ws: &Workspace) -> Value {
    org_metrics(ws, "2026-03-01", "2026-04-01")
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6)
}

/// A p90: DataFusion 55's percentile_cont truncates the interpolation weight to
/// 6 decimals (apache/datafusion#25266), so 28 + 0.3 * 22 comes out 34.599978.
fn close_p90(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-4)
}

#[test]
fn ingest_from_gitlab_twice_gives_the_hand_worked_metrics_without_duplicates() {
    let gl = GitLab::new(TOKEN, 2);
    for p in fixtures::acme() {
        gl.add(p);
    }
    let (rt, server) = gitlab(&gl);
    let ws = Workspace::new();
    ws.file(
        "devex.toml",
        &format!(
            "[sources.gl]\ntype = \"gitlab\"\nbase_url = \"{}\"\ngroup = \"acme\"\nretry_base_ms = 1\n",
            server.uri()
        ),
    );

    let first = devex(&ws, &["ingest"]);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    // The numbers worked out in devex_glmock::fixtures, March 2026:
    let m = march(&ws);
    assert_eq!(m["deployments"], 5);
    assert_eq!(m["change_failure_rate"]["failed"], 3);
    assert!(close(&m["change_failure_rate"]["value"], 0.6), "{m}");
    assert!(close(&m["rework_rate"]["value"], 0.6), "{m}");
    assert_eq!(m["lead_time_hours"]["n"], 7);
    assert!(close(&m["lead_time_hours"]["p50"], 2.0) && close_p90(&m["lead_time_hours"]["p90"], 36.8), "{m}");
    assert!(close(&m["recovery_time_hours"]["p50"], 19.0), "{m}");
    assert_eq!((m["recovery_time_hours"]["n"].clone(), m["recovery_time_hours"]["open"].clone()), (3.into(), 0.into()));
    assert!(close(&m["time_to_restore_hours"]["p50"], 3.0) && m["time_to_restore_hours"]["n"] == 2, "{m}");
    assert!(close(&m["coverage"]["incidents_linked"], 1.0 / 3.0), "{m}");
    let counts = "SELECT (SELECT count(*) FROM deployments) AS d, (SELECT count(*) FROM changes) AS c, \
                  (SELECT count(*) FROM incidents) AS i";
    assert_eq!(ws.query(counts), rows(&[&["6", "7", "3"]]));
    assert_eq!(ws.query("SELECT DISTINCT source FROM changes"), rows(&[&["gitlab"]]));

    // Deployment 107 finishes and incident #2 closes; the second run picks both up.
    fixtures::between_runs(&gl, &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let second = devex(&ws, &["ingest"]);
    assert_eq!(second.status.code(), Some(0), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(ws.query(counts), rows(&[&["7", "8", "3"]]));
    let m = march(&ws);
    assert_eq!(m["deployments"], 6);
    assert!(close(&m["change_failure_rate"]["value"], 0.5) && close(&m["rework_rate"]["value"], 0.5), "{m}");
    assert!(close(&m["lead_time_hours"]["p50"], 2.0) && close_p90(&m["lead_time_hours"]["p90"], 34.6), "{m}");
    assert!(close(&m["time_to_restore_hours"]["p50"], 4.0) && m["time_to_restore_hours"]["n"] == 3, "{m}");

    // --full re-reads everything: rows are replaced, never duplicated.
    let full = devex(&ws, &["ingest", "--full"]);
    assert_eq!(full.status.code(), Some(0), "{}", String::from_utf8_lossy(&full.stderr));
    assert_eq!(ws.query(counts), rows(&[&["7", "8", "3"]]));
    assert_eq!(march(&ws), m);

    let status = devex(&ws, &["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("acme/payments/payments-api") && text.contains("gitlab"), "{text}");
    let sent = rt.block_on(server.received_requests()).unwrap();
    assert!(sent.iter().all(|r| r.headers.get("private-token").is_some_and(|v| v == TOKEN)));
    assert_secret_absent(TOKEN, &[&first, &second, &full, &status], &ws.data());
}

#[test]
fn a_missing_project_exits_3_naming_it_and_the_rest_lands() {
    let gl = GitLab::new(TOKEN, 100);
    for p in fixtures::acme() {
        gl.add(p);
    }
    let (_rt, server) = gitlab(&gl);
    let ws = Workspace::new();
    ws.file(
        "devex.toml",
        &format!(
            "[sources.gl]\ntype = \"gitlab\"\nbase_url = \"{}\"\nprojects = [\"{}\", \"acme/gone\"]\n\
             services = {{ \"{}\" = \"payments\" }}\n",
            server.uri(),
            fixtures::PAYMENTS,
            fixtures::PAYMENTS
        ),
    );
    let out = devex(&ws, &["ingest"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("acme/gone") && stderr.contains("HTTP 404") && stderr.contains("hint:"), "{stderr}");
    assert_eq!(ws.query("SELECT DISTINCT service FROM deployments"), rows(&[&["payments"]]));
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.data().join("_state/gitlab/gl.json")).unwrap()).unwrap();
    assert!(state["projects"][fixtures::PAYMENTS]["watermark"].is_string());
    assert!(state["projects"].get("acme/gone").is_none());
}
