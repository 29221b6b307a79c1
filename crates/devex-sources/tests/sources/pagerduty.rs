//! The PagerDuty reader against a local PagerDuty (`devex-pdmock` on
//! wiremock): paging, 180-day windows, the offset cap, open incidents
//! re-read, faults and refusals.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use devex_ingest::progress::{Event, Progress};
use devex_ingest::source::SyncOptions;
use devex_model::config::PagerdutySource;
use devex_pdmock::{Incident, PagerDuty, error};
use devex_sources::http::HttpError;
use devex_sources::pagerduty::{IncidentsRead, PagerdutyState, read_incidents};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "u+pdSecretKey0123456789";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn config(server: &MockServer) -> PagerdutySource {
    PagerdutySource {
        base_url: server.uri(),
        initial_days: 400,
        retry_base_ms: 1,
        services: [("PABC123".to_string(), "payments-api".to_string())].into(),
        ..Default::default()
    }
}

fn options(now: &str) -> SyncOptions {
    SyncOptions { full: false, since: None, now: t(now) }
}

/// One read, as a run at `now` would do it.
async fn read(
    cfg: &PagerdutySource,
    key: &str,
    previous: &PagerdutyState,
    now: &str,
    progress: Progress,
) -> Result<IncidentsRead, HttpError> {
    read_incidents("pd", cfg, key.into(), previous, &options(now), progress).await
}

fn silent() -> Progress {
    devex_ingest::progress::silent()
}

fn recorder() -> (Progress, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    (Arc::new(move |e: &Event| sink.lock().unwrap().push(e.message.clone())), seen)
}

#[tokio::test]
async fn a_span_longer_than_180_days_is_read_in_windows_page_by_page() {
    let server = MockServer::start().await;
    let pd = PagerDuty::new(KEY, 2);
    // now = 2026-04-01; initial_days = 400 -> from 2025-02-25. Windows of 180 days:
    // [2025-02-25, 2025-08-24), [2025-08-24, 2026-02-20), [2026-02-20, 2026-04-01).
    for (i, created) in ["2025-03-01T00:00:00Z", "2025-09-01T00:00:00Z", "2025-10-01T00:00:00Z", "2025-11-01T00:00:00Z"]
        .iter()
        .enumerate()
    {
        pd.add(Incident::new(&format!("OLD{i}"), "PABC123", "Payments API", created).resolved(created));
    }
    for i in 0..5 {
        pd.add(Incident::new(&format!("NEW{i}"), "PDEF456", "search", &format!("2026-03-0{}T10:00:00+02:00", i + 1)));
    }
    pd.add(Incident::new("TOO_OLD", "PABC123", "Payments API", "2025-02-24T00:00:00Z"));
    pd.mount(&server).await;

    let cfg = config(&server);
    let read = read(&cfg, KEY, &PagerdutyState::default(), "2026-04-01T00:00:00Z", silent()).await.unwrap();
    assert_eq!(read.windows.len(), 3);
    assert_eq!(read.windows[0], (t("2025-02-25T00:00:00Z"), t("2025-08-24T00:00:00Z")));
    assert_eq!(read.windows[2].1, t("2026-04-01T00:00:00Z"));
    let ids: Vec<&str> = read.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["NEW0", "NEW1", "NEW2", "NEW3", "NEW4", "OLD0", "OLD1", "OLD2", "OLD3"]);
    // Requests: window 1 has 1 incident (1 page), window 2 has 3 (pages of 2: 2), window 3 has 5 (3).
    assert_eq!(read.requests, 6);
    // Times with an offset land in UTC; services map by id, else the PagerDuty name.
    let new0 = &read.incidents[0];
    assert_eq!((new0.created_at, new0.service.as_str()), (t("2026-03-01T08:00:00Z"), "search"));
    assert_eq!(read.incidents[5].service, "payments-api");
    // Open incidents are remembered for the next run; the watermark is the run's start.
    assert_eq!(read.state.open, ["NEW0", "NEW1", "NEW2", "NEW3", "NEW4"]);
    assert_eq!(read.state.watermark, Some(t("2026-04-01T00:00:00Z")));

    // Every request carried the key in PagerDuty's header, and the v2 Accept header.
    for r in server.received_requests().await.unwrap() {
        assert_eq!(r.headers.get("authorization").unwrap(), &format!("Token token={KEY}"));
        assert_eq!(r.headers.get("accept").unwrap(), "application/vnd.pagerduty+json;version=2");
        assert!(!r.url.as_str().contains(KEY));
    }
}

#[tokio::test]
async fn an_incident_open_at_the_last_run_is_re_read_and_lands_resolved() {
    let server = MockServer::start().await;
    let pd = PagerDuty::new(KEY, 10);
    pd.add(Incident::new("Q2", "PABC123", "Payments API", "2026-03-10T13:00:00+01:00"));
    pd.add(Incident::new("Q7", "PABC123", "Payments API", "2026-03-31T00:00:00Z").resolved("2026-03-31T01:00:00Z"));
    pd.mount(&server).await;
    let cfg = config(&server);

    let first = read(&cfg, KEY, &PagerdutyState::default(), "2026-04-01T00:00:00Z", silent()).await.unwrap();
    assert_eq!(first.state.open, ["Q2"]);
    assert!(first.incidents[0].resolved_at.is_none());

    // Q2 resolves; the next run (overlap 3 days from 2026-04-01) does not list it again.
    pd.update("Q2", |i| *i = i.clone().resolved("2026-03-10T18:00:00Z"));
    let second = read(&cfg, KEY, &first.state, "2026-04-02T00:00:00Z", silent()).await.unwrap();
    assert_eq!(second.windows, [(t("2026-03-29T00:00:00Z"), t("2026-04-02T00:00:00Z"))]);
    let ids: Vec<&str> = second.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["Q2", "Q7"]);
    assert_eq!(second.incidents[0].resolved_at, Some(t("2026-03-10T18:00:00Z")));
    assert!(second.state.open.is_empty());
    // One list page and one GET /incidents/Q2.
    assert_eq!(second.requests, 2);
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_5xx_retried() {
    let server = MockServer::start().await;
    let pd = PagerDuty::new(KEY, 1);
    pd.add(Incident::new("A", "PABC123", "Payments API", "2026-03-30T00:00:00Z"));
    pd.add(Incident::new("B", "PABC123", "Payments API", "2026-03-31T00:00:00Z"));
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("ratelimit-reset", "1").set_body_string("Too Many Requests"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(2)
        .mount(&server)
        .await;
    pd.mount(&server).await;
    let (progress, seen) = recorder();
    let mut cfg = config(&server);
    cfg.initial_days = 5;
    let started = std::time::Instant::now();
    let read = read(&cfg, KEY, &PagerdutyState::default(), "2026-04-01T00:00:00Z", progress).await.unwrap();
    assert_eq!(read.incidents.len(), 2);
    // 429, 502, 502, then two pages.
    assert_eq!(read.requests, 5);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "the 429 asked for a second");
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|m| m.contains("PagerDuty rate limit") && m.contains("waiting 1 s")), "{seen:?}");
    assert!(seen.iter().any(|m| m.contains("HTTP 502; retry 1 of 5")), "{seen:?}");
}

#[tokio::test]
async fn a_refused_key_fails_at_once_with_a_hint_and_no_secret() {
    let server = MockServer::start().await;
    PagerDuty::new(KEY, 10).mount(&server).await;
    let cfg = config(&server);
    let err =
        read(&cfg, "wrong-key-42", &PagerdutyState::default(), "2026-04-01T00:00:00Z", silent()).await.unwrap_err();
    assert!(matches!(err, HttpError::Status { status: 401, .. }), "{err:?}");
    assert!(err.to_string().contains("Authentication required"), "{err}");
    assert!(err.hint().unwrap().contains("REST API key"));
    assert!(!format!("{err} {err:?}").contains("wrong-key-42"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn a_window_past_the_offset_cap_is_read_in_halves() {
    let server = MockServer::start().await;
    let pd = PagerDuty::new(KEY, 100);
    let start = t("2026-01-01T00:00:00Z");
    let n = devex_pdmock::OFFSET_CAP + 50;
    for i in 0..n {
        let at = start + Duration::minutes(i as i64 * 10);
        pd.add(Incident::new(&format!("I{i:05}"), "PABC123", "Payments API", &at.to_rfc3339()));
    }
    pd.mount(&server).await;
    let mut cfg = config(&server);
    cfg.initial_days = 90;
    let read = read(&cfg, KEY, &PagerdutyState::default(), "2026-04-01T00:00:00Z", silent()).await.unwrap();
    assert_eq!(read.incidents.len(), n, "every incident, none twice");
    let refused =
        server.received_requests().await.unwrap().iter().filter(|r| r.url.as_str().contains("offset=10000")).count();
    assert_eq!(refused, 0, "never asks past the cap");
}

#[tokio::test]
async fn a_400_names_pagerduty_s_reason() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(error(400, "Invalid Input Provided", 2001, &["Since must be within 6 months of until"]))
        .mount(&server)
        .await;
    let err = read(&config(&server), KEY, &PagerdutyState::default(), "2026-04-01T00:00:00Z", silent())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 400") && err.contains("Since must be within 6 months"), "{err}");
}
