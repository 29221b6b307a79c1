//! `devex ingest` from PagerDuty: the binary against a local PagerDuty
//! (`devex-pdmock` on wiremock), with deployments from a file, then
//! `devex metrics` against numbers worked out by hand.

use chrono::{TimeZone, Utc};
use devex_pdmock::{Incident, PagerDuty};
use serde_json::Value;
use wiremock::MockServer;

use crate::util::{Workspace, assert_secret_absent, mock_server, org_metrics, rows};

const KEY: &str = "u+pdE2eSecretKey0123456789";

fn pagerduty(pd: &PagerDuty) -> (tokio::runtime::Runtime, MockServer) {
    let (rt, server) = mock_server();
    rt.block_on(pd.mount(&server));
    (rt, server)
}

fn devex(ws: &Workspace, key: &str, args: &[&str]) -> std::process::Output {
    ws.devex().env("PAGERDUTY_TOKEN", key).args(["--config", "devex.toml"]).args(args).output().unwrap()
}

fn march(ws: &Workspace) -> Value {
    org_metrics(ws, "2026-03-01", "2026-04-01")
}

/// Production deployments of March 2026, from a CD tool's export.
const DEPLOYMENTS: &str = "id,service,environment,status,finished_at,kind\n\
    d1,payments-api,production,success,2026-03-02T10:00:00Z,regular\n\
    d2,payments-api,production,success,2026-03-05T10:00:00Z,regular\n\
    d3,payments-api,production,success,2026-03-10T10:00:00Z,regular\n\
    s1,search,production,success,2026-03-03T12:00:00Z,regular\n";

/// The incidents, and what each pins:
/// - Q1 payments (PABC123, mapped to `payments-api`), created 12:00Z on 03-02, 2 h after d1:
///   rule 3 makes d1 failed. Resolved 15:00Z: restored in 3 h; d1 recovered in 5 h. Priority P1.
/// - Q2 payments, created 2026-03-10T13:00+01:00 = 12:00Z, 2 h after d3: d3 failed. Open at the
///   first run; resolves at 18:00Z before the second: restored in 6 h, d3 recovered in 8 h.
/// - Q3 search (no mapping: PagerDuty's name `search`), 03-20, 17 days after s1: linked to
///   nothing. Resolved in 1 h. Urgency low, no priority: severity `low`.
/// - Q4 payments, 2025-11-15, resolved with only `last_status_change_at` (10:00Z): outside March.
/// - Q5 search, 2026-06-01: in the second 180-day window of the first run's span.
/// - Q6 on a service not in `service_ids`: never asked for, never lands.
fn incidents(pd: &PagerDuty) {
    pd.add(
        Incident::new("Q1", "PABC123", "Payments API", "2026-03-02T12:00:00Z")
            .resolved("2026-03-02T15:00:00Z")
            .priority("P1"),
    );
    pd.add(Incident::new("Q2", "PABC123", "Payments API", "2026-03-10T13:00:00+01:00"));
    pd.add(
        Incident::new("Q3", "PDEF456", "search", "2026-03-20T00:00:00Z")
            .resolved("2026-03-20T01:00:00Z")
            .urgency("low"),
    );
    let mut q4 =
        Incident::new("Q4", "PABC123", "Payments API", "2025-11-15T08:00:00Z").resolved("2025-11-15T10:00:00Z");
    q4.resolved_at = None;
    pd.add(q4);
    pd.add(Incident::new("Q5", "PDEF456", "search", "2026-06-01T00:00:00Z").resolved("2026-06-01T02:00:00Z"));
    pd.add(Incident::new("Q6", "PZZZ999", "Other", "2026-03-05T00:00:00Z"));
}

#[test]
fn ingest_from_pagerduty_twice_gives_the_hand_worked_metrics_without_duplicates() {
    let pd = PagerDuty::new(KEY, 2);
    incidents(&pd);
    let (rt, server) = pagerduty(&pd);
    let ws = Workspace::new();
    let csv = ws.file("deployments.csv", DEPLOYMENTS);
    assert_eq!(ws.import("deployments", &[&csv], &[]).0, 0);
    // A first run reaches back to 2025-10-01: more than 180 days, so several windows.
    let initial_days = (Utc::now() - Utc.with_ymd_and_hms(2025, 10, 1, 0, 0, 0).unwrap()).num_days() + 1;
    ws.file(
        "devex.toml",
        &format!(
            "[sources.pd]\ntype = \"pagerduty\"\nbase_url = \"{}\"\nservice_ids = [\"PABC123\", \"PDEF456\"]\n\
             services = {{ \"PABC123\" = \"payments-api\" }}\ninitial_days = {initial_days}\nretry_base_ms = 1\n",
            server.uri()
        ),
    );

    let first = devex(&ws, KEY, &["ingest"]);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let m = march(&ws);
    // D = d1, d2, d3, s1; failed d1 (Q1) and d3 (Q2): 2 of 4.
    assert_eq!(m["deployments"], 4);
    assert_eq!(m["change_failure_rate"]["failed"], 2);
    assert_eq!(m["change_failure_rate"]["value"], 0.5);
    // Recovered: d1 in 5 h; d3 waits for Q2.
    assert_eq!(m["recovery_time_hours"]["p50"], 5.0);
    assert_eq!((m["recovery_time_hours"]["n"].clone(), m["recovery_time_hours"]["open"].clone()), (1.into(), 1.into()));
    // Restored: Q1 3 h, Q3 1 h -> p50 2 h.
    assert_eq!(
        (m["time_to_restore_hours"]["p50"].clone(), m["time_to_restore_hours"]["n"].clone()),
        (2.0.into(), 2.into())
    );
    // Q1 and Q2 linked, Q3 not.
    assert_eq!(m["coverage"]["incidents_linked"], 2.0 / 3.0);
    let all = "SELECT id, service, CAST(created_at AS VARCHAR), CAST(resolved_at AS VARCHAR), severity, source \
               FROM incidents ORDER BY id";
    assert_eq!(
        ws.query(all),
        rows(&[
            &["Q1", "payments-api", "2026-03-02T12:00:00Z", "2026-03-02T15:00:00Z", "P1", "pagerduty"],
            &["Q2", "payments-api", "2026-03-10T12:00:00Z", "", "high", "pagerduty"],
            &["Q3", "search", "2026-03-20T00:00:00Z", "2026-03-20T01:00:00Z", "low", "pagerduty"],
            &["Q4", "payments-api", "2025-11-15T08:00:00Z", "2025-11-15T10:00:00Z", "high", "pagerduty"],
            &["Q5", "search", "2026-06-01T00:00:00Z", "2026-06-01T02:00:00Z", "high", "pagerduty"],
        ])
    );

    // Q2 resolves between the runs. The second run reads only the last days, and re-reads Q2.
    pd.update("Q2", |i| *i = i.clone().resolved("2026-03-10T18:00:00Z"));
    let second = devex(&ws, KEY, &["ingest"]);
    assert_eq!(second.status.code(), Some(0), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(ws.query("SELECT count(*), count(DISTINCT id) FROM incidents"), rows(&[&["5", "5"]]));
    let m = march(&ws);
    // Recovered: d1 5 h, d3 8 h -> p50 6.5, none open. Restored: 3, 6, 1 h -> p50 3.
    assert_eq!(m["recovery_time_hours"]["p50"], 6.5);
    assert_eq!((m["recovery_time_hours"]["n"].clone(), m["recovery_time_hours"]["open"].clone()), (2.into(), 0.into()));
    assert_eq!(
        (m["time_to_restore_hours"]["p50"].clone(), m["time_to_restore_hours"]["n"].clone()),
        (3.0.into(), 3.into())
    );
    assert_eq!(m["change_failure_rate"]["failed"], 2);

    // --full re-reads everything and still replaces rather than duplicates.
    let full = devex(&ws, KEY, &["ingest", "--full"]);
    assert_eq!(full.status.code(), Some(0), "{}", String::from_utf8_lossy(&full.stderr));
    assert_eq!(ws.query("SELECT count(*), count(DISTINCT id) FROM incidents"), rows(&[&["5", "5"]]));
    assert_eq!(march(&ws), m);

    // status shows the watermark; the key is in no output and no state file, only in the header sent.
    let status = devex(&ws, KEY, &["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("pd") && text.contains("(incidents)") && text.contains("pagerduty"), "{text}");
    let sent = rt.block_on(server.received_requests()).unwrap();
    assert!(sent.iter().all(|r| r.headers.get("authorization").is_some_and(|v| v == &format!("Token token={KEY}"))));
    assert_secret_absent(KEY, &[&first, &second, &full, &status], &ws.data());
}

#[test]
fn a_refused_key_exits_3_naming_the_source_and_lands_nothing() {
    let pd = PagerDuty::new(KEY, 10);
    incidents(&pd);
    let (_rt, server) = pagerduty(&pd);
    let ws = Workspace::new();
    ws.file("devex.toml", &format!("[sources.pd]\ntype = \"pagerduty\"\nbase_url = \"{}\"\n", server.uri()));
    let out = devex(&ws, "revoked-key-123456", &["ingest"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("pd") && stderr.contains("HTTP 401") && stderr.contains("REST API key"), "{stderr}");
    assert!(!stderr.contains("revoked-key-123456"), "{stderr}");
    assert!(!ws.data().join("_state/pagerduty/pd.json").exists(), "the state did not move");
    assert!(!ws.data().join("incidents").exists(), "nothing landed");
    // Without the variable: a clear error naming it.
    let out = ws.devex().env_remove("PAGERDUTY_TOKEN").args(["--config", "devex.toml", "ingest"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("$PAGERDUTY_TOKEN is not set"));
}
