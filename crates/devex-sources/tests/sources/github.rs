//! The GitHub source against a real local HTTP server speaking GitHub's REST
//! shapes (`devex-ghmock`, on wiremock): pagination, rate limits, retries,
//! conditional requests, the mapping rules, failure isolation and incremental
//! runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use devex_ghmock::{Repo, mount};
use devex_lake::state::StateStore;
use devex_model::config::GithubSource;
use devex_model::row::{Row, records};
use devex_sources::github::client::{ApiError, Client, RetryPolicy};
use devex_sources::github::{SyncOptions, load_state, save_state, sync_source};
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

type Messages = Arc<Mutex<Vec<String>>>;

fn client(server: &MockServer, token: Option<&str>) -> (Client, Messages) {
    let messages: Messages = Arc::default();
    let sink = Arc::clone(&messages);
    let c = Client::new(
        &server.uri(),
        token.map(str::to_string),
        Duration::from_secs(5),
        RetryPolicy::new(2, Duration::from_millis(20)),
        HashMap::new(),
        Arc::new(move |e: &devex_ingest::progress::Event| sink.lock().unwrap().push(e.message.clone())),
    )
    .unwrap();
    (c, messages)
}

fn small_repo() -> Repo {
    let mut r = Repo::new("acme/api");
    for i in 0..5 {
        let sha = r.commit(&format!("2026-03-0{}T08:00:00Z", i + 1), &format!("change {i}"));
        r.deployment(i + 1, &sha, "production", &format!("2026-03-0{}T10:00:00Z", i + 1), "success");
    }
    r
}

#[tokio::test]
async fn follows_link_pagination() {
    let server = MockServer::start().await;
    mount(&server, vec![small_repo()], 2).await;
    let (c, _) = client(&server, None);
    let items = c.list("/repos/acme/api/deployments?per_page=100", None, |_| true).await.unwrap();
    let ids: Vec<i64> = items.iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![5, 4, 3, 2, 1]);
    assert_eq!(c.requests(), 3, "three pages of two");
}

#[tokio::test]
async fn waits_for_a_primary_rate_limit_to_reset() {
    let server = MockServer::start().await;
    mount(&server, vec![small_repo()], 100).await;
    let reset = Utc::now().timestamp() + 2;
    Mock::given(method("GET"))
        .and(path("/repos/acme/api"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"full_name": "acme/api", "default_branch": "main"}))
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (c, messages) = client(&server, None);
    c.get("/repos/acme/api").await.unwrap();
    let started = Instant::now();
    c.get("/repos/acme/api/deployments").await.unwrap();
    // The reset is 1 to 2 s away (whole seconds): the second request waited for it.
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    let messages = messages.lock().unwrap();
    assert!(messages.iter().any(|m| m.contains("rate limit") && m.contains("until")), "{messages:?}");
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let server = MockServer::start().await;
    mount(&server, vec![small_repo()], 100).await;
    Mock::given(path("/repos/acme/api/deployments"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(serde_json::json!({"message": "You have exceeded a secondary rate limit."})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (c, messages) = client(&server, None);
    let started = Instant::now();
    let page = c.get("/repos/acme/api/deployments").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(page.body.as_array().unwrap().len(), 5);
    assert_eq!(c.requests(), 2);
    assert!(messages.lock().unwrap().iter().any(|m| m.contains("secondary rate limit") && m.contains("waiting 1 s")));
}

#[tokio::test]
async fn retries_a_502_then_succeeds_and_gives_up_after_a_bounded_number() {
    let server = MockServer::start().await;
    mount(&server, vec![small_repo()], 100).await;
    Mock::given(path("/repos/acme/api/deployments"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (c, messages) = client(&server, None);
    assert_eq!(c.get("/repos/acme/api/deployments").await.unwrap().body.as_array().unwrap().len(), 5);
    assert_eq!(c.requests(), 2);
    assert!(messages.lock().unwrap().iter().any(|m| m.contains("HTTP 502; retry 1 of 2")));

    Mock::given(path("/repos/acme/api/pulls"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&server)
        .await;
    let err = c.get("/repos/acme/api/pulls").await.unwrap_err();
    assert!(matches!(err, ApiError::Exhausted { attempts: 3, .. }), "{err}");
    assert_eq!(c.requests(), 5, "1 + 2 retries");
}

#[tokio::test]
async fn a_401_fails_at_once_with_a_hint_and_the_token_is_never_shown() {
    let server = MockServer::start().await;
    let token = "ghp_SuperSecretToken0123456789";
    // The token is sent as a bearer token...
    Mock::given(path("/repos/acme/api/deployments"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({"message": "Bad credentials"})))
        .mount(&server)
        .await;
    let (c, messages) = client(&server, Some(token));
    let err = c.get("/repos/acme/api/deployments").await.unwrap_err();
    assert!(matches!(err, ApiError::Status { status: 401, .. }), "{err}");
    assert_eq!(c.requests(), 1, "no retry of a 401");
    assert!(err.to_string().contains("Bad credentials"));
    assert!(err.hint().unwrap().contains("token"));
    // ...and appears in no message.
    assert!(!format!("{err} {err:?} {:?}", messages.lock().unwrap()).contains(token));
}

#[tokio::test]
async fn conditional_requests_answer_304_from_the_cache() {
    let server = MockServer::start().await;
    mount(&server, vec![small_repo()], 100).await;
    let (c, _) = client(&server, None);
    let first = c.get("/repos/acme/api/deployments").await.unwrap();
    let second = c.get("/repos/acme/api/deployments").await.unwrap();
    assert_eq!(first.body, second.body);
    assert_eq!((c.requests(), c.not_modified()), (2, 1));
    let sent = server.received_requests().await.unwrap();
    assert!(sent[1].headers.get("if-none-match").is_some());
}

/// The record (contract column names) of the row whose `key` is or ends with `id`.
fn by_id<R: Row + std::fmt::Debug>(rows: &[R], key: &str, id: &str) -> Value {
    records(rows)
        .into_iter()
        .find(|r| r[key].as_str().is_some_and(|v| v == id || v.ends_with(id)))
        .unwrap_or_else(|| panic!("{id} in {rows:#?}"))
}

#[tokio::test]
async fn maps_deployments_changes_and_incidents_by_the_rules() {
    let server = MockServer::start().await;
    let repo = devex_ghmock::fixtures::acme_api();
    let sha = |msg: &str| repo.commits.iter().find(|c| c.message == msg).unwrap().sha.clone();
    let (c1, c2, c3, c4, c5, c6) =
        (sha("c1"), sha("c2"), sha("c3"), sha("Add feature (#7)"), sha("c5"), sha("Merge pull request #9"));
    mount(&server, vec![repo.clone()], 2).await;
    let cfg = GithubSource { repos: vec!["acme/api".into()], base_url: server.uri(), ..GithubSource::default() };
    let data = tempfile::tempdir().unwrap();
    let opts = SyncOptions { full: false, since: None, now: Utc::now() };
    let sync = sync_source(
        "gh",
        &cfg,
        &["production".into()],
        &StateStore::local(data.path()),
        &opts,
        devex_ingest::progress::silent(),
    )
    .await
    .unwrap();
    assert!(sync.repos[0].error.is_none(), "{:?}", sync.repos);

    // Deployments: every environment and status, kinds derived.
    assert_eq!(sync.deployments.len(), 6);
    let d = |id: &str| by_id(&sync.deployments, "id", &format!("/deployments/{id}"));
    assert_eq!(d("1")["kind"], "regular");
    assert_eq!(d("3")["status"], "failure");
    assert_eq!(d("4")["kind"], "rollback", "a redeploy of c2");
    assert_eq!(d("5")["kind"], "hotfix", "PR #9 is labelled hotfix");
    assert_eq!(d("9")["environment"], "staging");
    assert_eq!(d("1")["finished_at"], "2026-03-02T10:00:00Z");
    assert_eq!(d("1")["started_at"], "2026-03-02T09:50:00Z");
    assert_eq!(d("1")["service"], "api");

    // Changes: first deployment = 30 days of history (not `old`); each commit once, to the first deployment.
    let ch = |s: &str| by_id(&sync.changes, "sha", s);
    let mut shipped: Vec<(&str, &str)> =
        sync.changes.iter().map(|c| (c.sha.as_str(), c.deployment_id.as_deref().unwrap())).collect();
    shipped.sort();
    let mut want = vec![
        (c1.as_str(), "acme/api/deployments/1"),
        (c2.as_str(), "acme/api/deployments/1"),
        (c3.as_str(), "acme/api/deployments/2"),
        (c4.as_str(), "acme/api/deployments/2"),
        (c5.as_str(), "acme/api/deployments/5"),
        (c6.as_str(), "acme/api/deployments/5"),
    ];
    want.sort();
    assert_eq!(shipped, want, "the failed deploy and the rollback ship nothing");
    // Squash merge: lead time starts at the PR's first commit, and the PR's stages are filled in.
    assert_eq!(ch(&c4)["committed_at"], "2026-03-03T10:00:00Z");
    assert_eq!(ch(&c4)["pr_number"], 7);
    assert_eq!(ch(&c4)["pr_opened_at"], "2026-03-03T11:00:00Z");
    assert_eq!(ch(&c4)["first_review_at"], "2026-03-03T16:00:00Z");
    assert_eq!(ch(&c4)["merged_at"], "2026-03-05T09:00:00Z");
    // A regular merge keeps each commit's own time.
    assert_eq!(ch(&c5)["committed_at"], "2026-03-06T09:00:00Z");
    assert_eq!(ch(&c5)["pr_number"], 9);
    assert_eq!(ch(&c3)["pr_number"], Value::Null);
    assert_eq!(ch(&c1)["author"], "dev-one");

    // Incidents: the PR left out; severity, service label, root cause (short sha expanded) and deployment link.
    assert_eq!(sync.incidents.len(), 2);
    let i20 = by_id(&sync.incidents, "id", "acme/api#20");
    assert_eq!(i20["severity"], "sev1");
    assert_eq!(i20["service"], "api");
    assert_eq!(i20["root_cause_sha"], c3.as_str());
    assert_eq!(i20["resolved_at"], "2026-03-05T15:00:00Z");
    let i22 = by_id(&sync.incidents, "id", "acme/api#22");
    assert_eq!(i22["caused_by_deployment"], "acme/api/deployments/1");
    assert_eq!(i22["service"], "auth");
}

#[tokio::test]
async fn a_malformed_page_fails_its_repository_alone_and_keeps_its_watermark() {
    let server = MockServer::start().await;
    let mut other = small_repo();
    other.full_name = "acme/web".into();
    mount(&server, vec![small_repo(), other], 100).await;
    Mock::given(path("/repos/acme/web/deployments"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[{\"id\": 1, \"sha\": ", "application/json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let cfg = GithubSource {
        repos: vec!["acme/api".into(), "acme/web".into()],
        base_url: server.uri(),
        max_retries: 1,
        retry_base_ms: 10,
        ..GithubSource::default()
    };
    let data = tempfile::tempdir().unwrap();
    let opts = SyncOptions { full: false, since: None, now: Utc::now() };
    let sync = sync_source(
        "gh",
        &cfg,
        &["production".into()],
        &StateStore::local(data.path()),
        &opts,
        devex_ingest::progress::silent(),
    )
    .await
    .unwrap();
    let web = sync.repos.iter().find(|r| r.unit == "acme/web").unwrap();
    assert!(web.error.as_deref().unwrap().contains("malformed"), "{web:?}");
    assert!(sync.deployments.iter().all(|d| d.id.starts_with("acme/api/")));
    assert_eq!(sync.deployments.len(), 5);
    save_state(&StateStore::local(data.path()), "gh", &sync).await.unwrap();
    let state = load_state(&StateStore::local(data.path()), "gh").await.unwrap();
    assert!(state.repos["acme/api"].watermark.is_some());
    assert!(!state.repos.contains_key("acme/web"), "the failed repository's watermark does not move");
}

#[tokio::test]
async fn an_incremental_run_reads_only_the_overlap_and_continues_the_chain() {
    let server = MockServer::start().await;
    let mut repo = small_repo();
    // A deployment inside the overlap of the next run, relative to now.
    let recent = (Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let late = repo.commit(&recent, "late change");
    let cfg = GithubSource { repos: vec!["acme/api".into()], base_url: server.uri(), ..GithubSource::default() };
    let data = tempfile::tempdir().unwrap();
    mount(&server, vec![repo.clone()], 100).await;
    let run = |now| {
        let cfg = cfg.clone();
        let dir = data.path().to_path_buf();
        async move {
            let opts = SyncOptions { full: false, since: None, now };
            let s = sync_source(
                "gh",
                &cfg,
                &["production".into()],
                &StateStore::local(&dir),
                &opts,
                devex_ingest::progress::silent(),
            )
            .await
            .unwrap();
            save_state(&StateStore::local(&dir), "gh", &s).await.unwrap();
            s
        }
    };
    let first = run(Utc::now() - chrono::Duration::hours(2)).await;
    assert_eq!((first.deployments.len(), first.changes.len()), (5, 5));

    // A new deployment appears; the second run reads from the watermark minus the 3-day overlap.
    server.reset().await;
    let finished = (Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    repo.deployment(6, &late, "production", &finished, "success");
    mount(&server, vec![repo], 100).await;
    let second = run(Utc::now()).await;
    assert_eq!(second.deployments.len(), 1, "only the overlap: {:?}", second.deployments);
    // Its base is the last deployment of the first run (from the saved chain): it ships only the late change.
    assert_eq!(second.changes.len(), 1);
    assert_eq!(second.changes[0].sha, late.as_str());
    assert!(second.requests < first.requests, "{} < {}", second.requests, first.requests);
    let issues = server.received_requests().await.unwrap();
    assert!(issues.iter().any(|r| r.url.path().ends_with("/issues") && r.url.query().unwrap_or("").contains("since=")));
}

#[tokio::test]
async fn workflow_runs_and_org_listing() {
    use devex_ghmock::{Run, t};
    let server = MockServer::start().await;
    let mut api = Repo::new("acme/api");
    let c1 = api.commit("2026-03-01T10:00:00Z", "c1");
    let run = |id, name: &str, branch: &str, conclusion: &str| Run {
        id,
        name: name.into(),
        branch: branch.into(),
        sha: c1.clone(),
        conclusion: conclusion.into(),
        started_at: t("2026-03-01T11:00:00Z"),
        updated_at: t("2026-03-01T11:20:00Z"),
    };
    api.runs = vec![
        run(1, "Deploy", "main", "success"),
        run(2, "Deploy", "main", "failure"),
        run(3, "Lint", "main", "success"),
        run(4, "Deploy", "feature-x", "success"),
        run(5, "Deploy to prod (manual)", "main", "success"),
    ];
    api.topics = vec!["service".into()];
    let mut old = Repo::new("acme/legacy");
    old.archived = true;
    old.topics = vec!["service".into()];
    let mut docs = Repo::new("acme/docs");
    docs.topics = vec!["docs".into()];
    mount(&server, vec![api, old, docs], 100).await;
    let cfg = GithubSource {
        org: Some("acme".into()),
        topics: vec!["service".into()],
        deploy_from: devex_model::config::DeployFrom::Workflows,
        workflows: vec!["Deploy".into()],
        base_url: server.uri(),
        ..GithubSource::default()
    };
    let data = tempfile::tempdir().unwrap();
    let opts = SyncOptions { full: false, since: None, now: Utc::now() };
    let sync = sync_source(
        "gh",
        &cfg,
        &["production".into()],
        &StateStore::local(data.path()),
        &opts,
        devex_ingest::progress::silent(),
    )
    .await
    .unwrap();
    // Only acme/api: legacy is archived, docs lacks the topic.
    let repos: Vec<&str> = sync.repos.iter().map(|r| r.unit.as_str()).collect();
    assert_eq!(repos, vec!["acme/api"]);
    // Only the successful run of the exact workflow name on the default branch is a deployment.
    assert_eq!(sync.deployments.len(), 1, "{:?}", sync.deployments);
    let d = &records(&sync.deployments)[0];
    assert_eq!(d["id"], "acme/api/actions/runs/1");
    assert_eq!(d["environment"], "production");
    assert_eq!(d["finished_at"], "2026-03-01T11:20:00Z");
    assert_eq!(sync.changes.len(), 1, "the first deployment ships its history");
}

/// GitHub's secondary rate limit answer without `retry-after`.
fn secondary_limit() -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_json(serde_json::json!({
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    }))
}

#[tokio::test]
async fn a_secondary_rate_limit_without_retry_after_waits_then_backs_off_exponentially() {
    let server = MockServer::start().await;
    mount(&server, vec![small_repo()], 100).await;
    Mock::given(path("/repos/acme/api/deployments"))
        .respond_with(secondary_limit())
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    let messages: Messages = Arc::default();
    let sink = Arc::clone(&messages);
    // GitHub says "at least one minute"; the test scales the first wait down to 300 ms.
    let mut retry = RetryPolicy::new(2, Duration::from_millis(20));
    retry.secondary_wait = Duration::from_millis(300);
    let c = Client::new(
        &server.uri(),
        None,
        Duration::from_secs(5),
        retry,
        HashMap::new(),
        Arc::new(move |e: &devex_ingest::progress::Event| sink.lock().unwrap().push(e.message.clone())),
    )
    .unwrap();
    let started = Instant::now();
    let page = c.get("/repos/acme/api/deployments").await.unwrap();
    // 300 ms, then 600 ms: not a 403 failure, and not a fixed wait.
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    assert_eq!(page.body.as_array().unwrap().len(), 5);
    assert_eq!(c.requests(), 3);
    let messages = messages.lock().unwrap();
    let waits: Vec<&String> = messages.iter().filter(|m| m.contains("secondary rate limit")).collect();
    assert_eq!(waits.len(), 2, "{messages:?}");
    assert!(RetryPolicy::new(1, Duration::ZERO).secondary_wait >= Duration::from_secs(60), "GitHub: at least a minute");
}

#[tokio::test]
async fn a_wait_past_max_wait_secs_fails_that_repository_with_a_hint_and_the_rest_go_on() {
    let server = MockServer::start().await;
    let mut other = small_repo();
    other.full_name = "acme/web".into();
    mount(&server, vec![small_repo(), other], 100).await;
    // acme/web: a secondary limit with no retry-after (a minute at least) and one asking for an hour.
    Mock::given(path("/repos/acme/web/deployments"))
        .respond_with(secondary_limit())
        .with_priority(1)
        .mount(&server)
        .await;
    let cfg = GithubSource {
        repos: vec!["acme/api".into(), "acme/web".into()],
        base_url: server.uri(),
        max_wait_secs: 30,
        ..GithubSource::default()
    };
    let data = tempfile::tempdir().unwrap();
    let opts = SyncOptions { full: false, since: None, now: Utc::now() };
    let started = Instant::now();
    let sync = sync_source(
        "gh",
        &cfg,
        &["production".into()],
        &StateStore::local(data.path()),
        &opts,
        devex_ingest::progress::silent(),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "no minute-long wait past the cap");
    let web = sync.repos.iter().find(|r| r.unit == "acme/web").unwrap();
    let error = web.error.as_deref().unwrap();
    assert!(error.contains("a wait of 60 s is longer than max_wait_secs = 30"), "{error}");
    assert!(web.hint.as_deref().unwrap().contains("max_wait_secs"), "{web:?}");
    assert_eq!(sync.deployments.len(), 5, "acme/api landed");

    let hour = MockServer::start().await;
    mount(&hour, vec![small_repo()], 100).await;
    Mock::given(path("/repos/acme/api/deployments"))
        .respond_with(secondary_limit().insert_header("retry-after", "3600"))
        .with_priority(1)
        .mount(&hour)
        .await;
    let (c, _) = client(&hour, None);
    let err = c.get("/repos/acme/api/deployments").await.unwrap_err();
    assert!(matches!(err, ApiError::RateLimited { wait_secs: 3600, cap_secs: 900, .. }), "{err}");
}

#[tokio::test]
async fn a_token_is_never_sent_over_plain_http_off_this_machine() {
    let err = Client::new(
        "http://github.example.com/api/v3",
        Some("ghp_secret".into()),
        Duration::from_secs(5),
        RetryPolicy::new(0, Duration::ZERO),
        HashMap::new(),
        devex_ingest::progress::silent(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("plain http") && text.contains("https://"), "{text}");
    assert!(!text.contains("ghp_secret"));
    // Loopback (local test servers) and https are fine; so is plain http without a token.
    for (url, token) in [
        ("http://127.0.0.1:9/api/v3", Some("t")),
        ("http://[::1]:9", Some("t")),
        ("http://localhost:9", Some("t")),
        ("https://github.example.com/api/v3", Some("t")),
        ("http://github.example.com/api/v3", None),
    ] {
        let made = Client::new(
            url,
            token.map(str::to_string),
            Duration::from_secs(5),
            RetryPolicy::new(0, Duration::ZERO),
            HashMap::new(),
            devex_ingest::progress::silent(),
        );
        assert!(made.is_ok(), "{url}");
    }
}
