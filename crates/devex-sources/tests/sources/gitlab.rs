//! The GitLab reader against a local GitLab (`devex-glmock` on wiremock),
//! with the hand-worked organisation of `devex_glmock::fixtures`.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use devex_glmock::fixtures::{self, PAYMENTS};
use devex_glmock::{GitLab, error};
use devex_ingest::progress::{Event, Progress};
use devex_ingest::source::SyncOptions;
use devex_lake::state::StateStore;
use devex_model::config::GitlabSource;
use devex_model::row::DeploymentKind;
use devex_sources::gitlab::{SourceSync, save_state, sync_source};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "glpat-libTestSecret0123456789";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn config(server: &MockServer) -> GitlabSource {
    GitlabSource {
        base_url: server.uri(),
        group: Some(fixtures::GROUP.into()),
        projects: vec![PAYMENTS.into()],
        retry_base_ms: 1,
        ..Default::default()
    }
}

async fn server(page_size: usize) -> (MockServer, GitLab) {
    let server = MockServer::start().await;
    let gl = GitLab::new(TOKEN, page_size);
    for p in fixtures::acme() {
        gl.add(p);
    }
    gl.mount(&server).await;
    (server, gl)
}

fn recorder() -> (Progress, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    (Arc::new(move |e: &Event| sink.lock().unwrap().push(e.message.clone())), seen)
}

async fn sync(server: &MockServer, dir: &std::path::Path, now: &str, progress: Progress) -> SourceSync {
    let opts = SyncOptions { full: false, since: None, now: t(now) };
    sync_source("gl", &config(server), Some(TOKEN.into()), &StateStore::local(dir), &opts, progress).await.unwrap()
}

fn id(n: u64) -> String {
    format!("{PAYMENTS}/deployments/{n}")
}

#[tokio::test]
async fn the_fixture_maps_to_the_hand_worked_rows() {
    let (server, _gl) = server(2).await;
    let dir = tempfile::tempdir().unwrap();
    let s = sync(&server, dir.path(), "2026-04-01T00:00:00Z", devex_ingest::progress::silent()).await;

    // One project: the archived one and the one outside the group are not read; the listed
    // project and the group's are the same one.
    assert_eq!(s.projects.len(), 1, "{:?}", s.projects);
    assert!(s.projects[0].error.is_none(), "{:?}", s.projects);

    // Deployments: 101..106 (107 is running, 108 is staging).
    let kinds: Vec<(String, &str, Option<DeploymentKind>)> = s
        .deployments
        .iter()
        .map(|d| {
            (
                d.id.clone(),
                if d.status == devex_model::row::DeploymentStatus::Success { "success" } else { "failure" },
                d.kind,
            )
        })
        .collect();
    use DeploymentKind::*;
    assert_eq!(
        kinds,
        [
            (id(101), "success", Some(Regular)),
            (id(102), "success", Some(Regular)),
            (id(103), "success", Some(Rollback)),
            (id(104), "success", Some(Hotfix)),
            (id(105), "failure", Some(Regular)),
            (id(106), "success", Some(Hotfix)),
        ]
    );
    let d101 = &s.deployments[0];
    assert_eq!((d101.service.as_str(), d101.environment.as_str()), ("payments-api", "production"));
    assert_eq!((d101.finished_at, d101.started_at), (t("2026-03-02T10:00:00Z"), Some(t("2026-03-02T09:50:00Z"))));

    // Changes: (deployment, committed_at, MR) per commit, oldest first.
    let changes: Vec<(String, DateTime<Utc>, Option<i64>)> =
        s.changes.iter().map(|c| (c.deployment_id.clone().unwrap(), c.committed_at, c.pr_number)).collect();
    assert_eq!(
        changes,
        [
            (id(101), t("2026-03-01T09:00:00Z"), Some(1)),
            (id(101), t("2026-03-02T08:00:00Z"), None),
            (id(102), t("2026-03-03T10:00:00Z"), Some(5)),
            (id(102), t("2026-03-02T12:00:00Z"), Some(3)),
            (id(104), t("2026-03-05T09:00:00Z"), None),
            (id(106), t("2026-03-06T09:00:00Z"), Some(4)),
            (id(106), t("2026-03-06T10:00:00Z"), Some(4)),
        ]
    );
    let c1 = &s.changes[0];
    assert_eq!((c1.repo.as_str(), c1.author.as_deref()), (PAYMENTS, Some("Dana Dev")));
    assert_eq!((c1.pr_opened_at, c1.merged_at), (Some(t("2026-03-01T09:30:00Z")), Some(t("2026-03-01T12:00:00Z"))));

    // Incidents #1, #2, #4 (#3 is not one).
    type Seen<'a> = (&'a str, &'a str, Option<&'a str>, Option<DateTime<Utc>>);
    let inc: Vec<Seen> =
        s.incidents.iter().map(|i| (i.id.as_str(), i.service.as_str(), i.severity.as_deref(), i.resolved_at)).collect();
    assert_eq!(
        inc,
        [
            ("acme/payments/payments-api#1", "payments-api", Some("sev2"), Some(t("2026-03-04T17:00:00Z"))),
            ("acme/payments/payments-api#2", "web", Some("sev1"), None),
            ("acme/payments/payments-api#4", "payments-api", Some("sev4"), Some(t("2026-03-20T04:00:00Z"))),
        ]
    );
    // #1's short root cause expands to c4's 40 digits (the commit 102 shipped last); #4's is unknown.
    assert_eq!(s.incidents[0].root_cause_sha.as_deref(), Some(s.changes[3].sha.as_str()));
    assert_eq!(s.incidents[0].root_cause_sha.as_ref().unwrap().len(), 40);
    assert_eq!(s.incidents[2].root_cause_sha, None);

    // Every request carried the token in PRIVATE-TOKEN, never in the URL.
    for r in server.received_requests().await.unwrap() {
        assert_eq!(r.headers.get("private-token").unwrap(), TOKEN);
        assert!(!r.url.as_str().contains(TOKEN));
    }
}

#[tokio::test]
async fn a_second_run_reads_what_finished_and_closed_since_with_the_remembered_chain() {
    let (server, gl) = server(100).await;
    let dir = tempfile::tempdir().unwrap();
    let first = sync(&server, dir.path(), "2026-04-01T00:00:00Z", devex_ingest::progress::silent()).await;
    save_state(&StateStore::local(dir.path()), "gl", &first).await.unwrap();
    fixtures::between_runs(&gl, "2026-04-01T12:00:00Z");
    let before = server.received_requests().await.unwrap().len();

    let second = sync(&server, dir.path(), "2026-04-02T00:00:00Z", devex_ingest::progress::silent()).await;
    // Only what was updated since 2026-03-29 (watermark 04-01 minus 3 days): 107 and #2.
    let ids: Vec<&str> = second.deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, [id(107)]);
    assert_eq!(second.deployments[0].kind, Some(DeploymentKind::Regular));
    // 107 ships c8 alone: compared from 106's c7, remembered from the first run.
    assert_eq!(second.changes.len(), 1);
    assert_eq!(
        (second.changes[0].committed_at, second.changes[0].deployment_id.clone()),
        (t("2026-03-07T09:00:00Z"), Some(id(107)))
    );
    assert_eq!(second.incidents.len(), 1);
    assert_eq!(second.incidents[0].resolved_at, Some(t("2026-03-06T20:00:00Z")));
    // The incremental requests asked with updated_after, deployments with order_by=updated_at.
    let sent = server.received_requests().await.unwrap();
    let deployments: Vec<String> =
        sent[before..].iter().map(|r| r.url.to_string()).filter(|u| u.contains("/deployments")).collect();
    assert!(
        deployments
            .iter()
            .all(|u| u.contains("updated_after=2026-03-29T00%3A00%3A00Z") && u.contains("order_by=updated_at")),
        "{deployments:?}"
    );
}

#[tokio::test]
async fn faults_are_retried_rate_limits_waited_and_a_missing_project_fails_alone() {
    let (server, _gl) = server(3).await;
    Mock::given(method("GET"))
        .and(path_regex(r"/deployments$"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_string("Retry later"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/repository/compare$"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&server);
    cfg.projects.push("acme/gone".into());
    let (progress, seen) = recorder();
    let opts = SyncOptions { full: false, since: None, now: t("2026-04-01T00:00:00Z") };
    let s = sync_source("gl", &cfg, Some(TOKEN.into()), &StateStore::local(dir.path()), &opts, progress).await.unwrap();
    let gone = s.projects.iter().find(|p| p.unit == "acme/gone").unwrap();
    assert!(gone.error.as_ref().unwrap().contains("HTTP 404"), "{gone:?}");
    assert!(gone.hint.as_ref().unwrap().contains("path_with_namespace"));
    let ok = s.projects.iter().find(|p| p.unit == PAYMENTS).unwrap();
    assert!(ok.error.is_none() && ok.deployments == 6 && ok.changes == 7, "{ok:?}");
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|m| m.contains("GitLab rate limit") && m.contains("waiting 1 s")), "{seen:?}");
    // Two compares in flight each met one 503 and were retried.
    assert_eq!(seen.iter().filter(|m| m.contains("HTTP 503; retry 1 of 5")).count(), 2, "{seen:?}");
}

#[tokio::test]
async fn a_refused_token_fails_every_project_with_the_scope_hint() {
    let (server, _gl) = server(100).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&server);
    cfg.group = None;
    let opts = SyncOptions { full: false, since: None, now: t("2026-04-01T00:00:00Z") };
    let s = sync_source(
        "gl",
        &cfg,
        Some("glpat-revoked-987654".into()),
        &StateStore::local(dir.path()),
        &opts,
        devex_ingest::progress::silent(),
    )
    .await
    .unwrap();
    let p = &s.projects[0];
    assert!(p.error.as_ref().unwrap().contains("HTTP 401: 401 Unauthorized"), "{p:?}");
    assert!(p.hint.as_ref().unwrap().contains("read_api"));
    assert!(!format!("{p:?}").contains("glpat-revoked-987654"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "a 401 is not retried");
    // A refused group listing fails the whole source.
    cfg.group = Some("acme".into());
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/v4/groups/"))
        .respond_with(error(403, "403 Forbidden"))
        .with_priority(1)
        .mount(&server)
        .await;
    let err = sync_source(
        "gl",
        &cfg,
        Some(TOKEN.into()),
        &StateStore::local(dir.path()),
        &opts,
        devex_ingest::progress::silent(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("HTTP 403") && err.hint().unwrap().contains("Reporter"), "{err}");
}
