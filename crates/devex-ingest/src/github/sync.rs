//! One repository's sync: GitHub's deployments (or workflow runs, or
//! releases), the commits each production deployment shipped, their pull
//! requests, and incident issues, mapped to canonical rows.
//!
//! Everything is fetched into memory first; a repository whose sync fails
//! returns an error and contributes no row, so nothing partial lands.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use devex_model::config::{DeployFrom, GithubSource};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::{ApiError, Client};
use super::map::{self, Commit, CommitSource, Deploy, PullRequest, PullRequests};
use super::parse::{self, at, format_time, malformed, opt_string, opt_time, string, time};

/// Requests in flight per repository.
const IN_FLIGHT: usize = 8;

/// A repository to sync and the service it deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPlan {
    /// `owner/name`.
    pub repo: String,
    /// Its service.
    pub service: String,
}

/// What devex remembers of a repository between runs (`_state/github/<source>.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepoState {
    /// The start of the last successful sync; the next reads from `watermark - overlap`.
    pub watermark: Option<DateTime<Utc>>,
    /// Every successful production deployment seen, oldest first: the base of the
    /// next compare, and the shas that make a redeploy a rollback.
    pub shipped: Vec<Shipped>,
}

/// A successful production deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipped {
    /// The deployment's `id` in the lake.
    pub id: String,
    /// Its commit.
    pub sha: String,
    /// Lower-cased environment.
    pub environment: String,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// A redeploy of an earlier sha (ships nothing).
    pub rollback: bool,
}

/// The rows of one repository.
#[derive(Debug, Default)]
pub struct RepoRows {
    /// `deployments` rows (contract column names, RFC 3339 timestamps).
    pub deployments: Vec<Value>,
    /// `changes` rows.
    pub changes: Vec<Value>,
    /// `incidents` rows.
    pub incidents: Vec<Value>,
    /// The state to save once the rows have landed.
    pub state: RepoState,
}

/// What a sync reads.
#[derive(Debug, Clone)]
pub struct SyncWindow {
    /// Read items from this instant on; `None` reads everything.
    pub since: Option<DateTime<Utc>>,
    /// The run's start: the new watermark.
    pub now: DateTime<Utc>,
}

/// Sync one repository.
pub async fn sync_repo(
    client: &Client,
    cfg: &GithubSource,
    production: &[String],
    plan: &RepoPlan,
    previous: RepoState,
    window: &SyncWindow,
) -> Result<RepoRows, ApiError> {
    let repo = &plan.repo;
    let deploys = match cfg.deploy_from {
        DeployFrom::Deployments => deployments(client, repo, window.since).await?,
        DeployFrom::Workflows => workflow_runs(client, cfg, repo, window.since).await?,
        DeployFrom::Releases => releases(client, cfg, repo, window.since).await?,
    };
    let (chain, plans) = map::chain(previous.shipped, &deploys, production);
    // Fetch each deployment's commits, several at a time, keeping chronological order.
    let lookback = Duration::days(i64::from(cfg.first_deploy_lookback_days));
    let shipped_commits: Vec<Vec<Commit>> = futures::stream::iter(plans.iter().map(|(i, source)| {
        let d = &chain[*i];
        async move {
            match source {
                CommitSource::Nothing => Ok(Vec::new()),
                CommitSource::Compare(base) => compare(client, repo, base, &d.sha).await,
                CommitSource::Lookback => history(client, repo, &d.sha, d.finished_at - lookback).await,
            }
        }
    }))
    .buffered(IN_FLIGHT)
    .try_collect()
    .await?;

    let (shipped, attributed) = map::attribute(&chain, &plans, shipped_commits);

    // Pull requests of the shipped commits.
    let prs = pull_requests(client, repo, &shipped).await?;

    let kinds = map::kinds(&chain, &shipped, &prs, &cfg.hotfix_labels);
    let mut rows = RepoRows {
        deployments: map::deployment_rows(&deploys, &kinds, &plan.service),
        changes: map::change_rows(repo, &plan.service, &shipped, &attributed, &prs),
        ..RepoRows::default()
    };
    rows.incidents = incidents(client, cfg, plan, window.since).await?;
    rows.state = RepoState { watermark: Some(window.now), shipped: chain };
    Ok(rows)
}

/// Whether a newest-first page reaches back past `since` (so paging can stop).
fn reaches_before(items: &[Value], field: &str, since: Option<DateTime<Utc>>) -> bool {
    let Some(since) = since else { return false };
    items
        .last()
        .and_then(|v| v.get(field))
        .and_then(Value::as_str)
        .and_then(parse::parse_time)
        .is_some_and(|t| t < since)
}

async fn deployments(client: &Client, repo: &str, since: Option<DateTime<Utc>>) -> Result<Vec<Deploy>, ApiError> {
    let path = format!("/repos/{repo}/deployments?per_page=100");
    let url = client.url(&path);
    let items = client.list(&path, None, |page| !reaches_before(page, "created_at", since)).await?;
    let mut wanted = Vec::new();
    for d in items {
        let created = time(&d, "created_at", &url)?;
        if since.is_none_or(|s| created >= s) {
            wanted.push(d);
        }
    }
    let fetched: Vec<Option<Deploy>> = futures::stream::iter(wanted.into_iter().map(|d| {
        let url = url.clone();
        async move {
            let gh_id = string(&d, "id", &url)?;
            let sha = string(&d, "sha", &url)?;
            let environment = string(&d, "environment", &url)?;
            let created = time(&d, "created_at", &url)?;
            let statuses_path = format!("/repos/{repo}/deployments/{gh_id}/statuses?per_page=100");
            let statuses = client.list(&statuses_path, None, |_| true).await?;
            let surl = client.url(&statuses_path);
            // Newest first: the terminal status is the newest success/failure/error
            // (a later `inactive` only means a newer deployment replaced it).
            let mut terminal = None;
            let mut started = None;
            for s in &statuses {
                let state = string(s, "state", &surl)?;
                let at = time(s, "created_at", &surl)?;
                match state.as_str() {
                    "success" | "failure" | "error" if terminal.is_none() => terminal = Some((state == "success", at)),
                    "in_progress" => started = Some(at),
                    _ => {}
                }
            }
            // Not finished yet: the overlap of a later run picks it up.
            Ok::<_, ApiError>(terminal.map(|(success, finished_at)| Deploy {
                id: format!("{repo}/deployments/{gh_id}"),
                environment,
                sha,
                started_at: Some(started.unwrap_or(created)),
                finished_at,
                success,
                url: opt_string(&d, "url"),
            }))
        }
    }))
    .buffered(IN_FLIGHT)
    .try_collect()
    .await?;
    Ok(fetched.into_iter().flatten().collect())
}

async fn workflow_runs(
    client: &Client,
    cfg: &GithubSource,
    repo: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Deploy>, ApiError> {
    let meta = client.get(&format!("/repos/{repo}")).await?;
    let branch = string(&meta.body, "default_branch", &client.url(&format!("/repos/{repo}")))?;
    let mut path = format!("/repos/{repo}/actions/runs?branch={branch}&status=success&per_page=100");
    if let Some(s) = since {
        path.push_str(&format!("&created=%3E%3D{}", s.format(devex_model::timestamp::RFC3339_UTC)));
    }
    let url = client.url(&path);
    let runs = client.list(&path, Some("workflow_runs"), |page| !reaches_before(page, "created_at", since)).await?;
    let mut out = Vec::new();
    for r in runs {
        let name = string(&r, "name", &url)?;
        if !cfg.workflows.contains(&name) || opt_string(&r, "conclusion").as_deref() != Some("success") {
            continue;
        }
        if opt_string(&r, "head_branch").is_some_and(|b| b != branch) {
            continue;
        }
        out.push(Deploy {
            id: format!("{repo}/actions/runs/{}", string(&r, "id", &url)?),
            environment: cfg.environment.clone(),
            sha: string(&r, "head_sha", &url)?,
            started_at: opt_time(&r, "run_started_at", &url)?,
            finished_at: time(&r, "updated_at", &url)?,
            success: true,
            url: opt_string(&r, "html_url"),
        });
    }
    Ok(out)
}

async fn releases(
    client: &Client,
    cfg: &GithubSource,
    repo: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Deploy>, ApiError> {
    let path = format!("/repos/{repo}/releases?per_page=100");
    let url = client.url(&path);
    let items = client.list(&path, None, |page| !reaches_before(page, "published_at", since)).await?;
    let mut wanted = Vec::new();
    for r in items {
        let draft = r.get("draft").and_then(Value::as_bool).unwrap_or(false);
        let pre = r.get("prerelease").and_then(Value::as_bool).unwrap_or(false);
        let Some(published) = opt_time(&r, "published_at", &url)? else { continue };
        if !draft && !pre && since.is_none_or(|s| published >= s) {
            wanted.push((r, published));
        }
    }
    futures::stream::iter(wanted.into_iter().map(|(r, published)| {
        let url = url.clone();
        async move {
            let tag = string(&r, "tag_name", &url)?;
            let commit_path = format!("/repos/{repo}/commits/{}", tag.replace(' ', "%20"));
            let commit = client.get(&commit_path).await?;
            Ok::<_, ApiError>(Deploy {
                id: format!("{repo}/releases/{}", string(&r, "id", &url)?),
                environment: cfg.environment.clone(),
                sha: string(&commit.body, "sha", &client.url(&commit_path))?,
                started_at: opt_time(&r, "created_at", &url)?,
                finished_at: published,
                success: true,
                url: opt_string(&r, "html_url"),
            })
        }
    }))
    .buffered(IN_FLIGHT)
    .try_collect()
    .await
}

fn commit_of(v: &Value, url: &str) -> Result<Commit, ApiError> {
    let sha = string(v, "sha", url)?;
    let date = at(v, &["commit", "author", "date"])
        .or_else(|| at(v, &["commit", "committer", "date"]))
        .and_then(Value::as_str)
        .and_then(parse::parse_time)
        .ok_or_else(|| malformed(url, format!("commit {sha} has no commit.author.date")))?;
    Ok(Commit {
        authored_at: date,
        author: at(v, &["author", "login"])
            .or_else(|| at(v, &["commit", "author", "name"]))
            .and_then(Value::as_str)
            .map(str::to_string),
        message: at(v, &["commit", "message"]).and_then(Value::as_str).unwrap_or_default().to_string(),
        parents: v.get("parents").and_then(Value::as_array).map_or(1, Vec::len),
        sha,
    })
}

/// The commits `head` has that `base` has not (`GET /compare/base...head`).
async fn compare(client: &Client, repo: &str, base: &str, head: &str) -> Result<Vec<Commit>, ApiError> {
    let mut url = Some(client.url(&format!("/repos/{repo}/compare/{base}...{head}?per_page=100")));
    let mut out = Vec::new();
    while let Some(u) = url {
        let page = client.get(&u).await?;
        let commits = page
            .body
            .get("commits")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(&u, "a compare without `commits`".into()))?;
        for c in commits {
            out.push(commit_of(c, &u)?);
        }
        url = page.next;
    }
    Ok(out)
}

/// The commits reachable from `sha` since `since` (a repository's first deployment).
async fn history(client: &Client, repo: &str, sha: &str, since: DateTime<Utc>) -> Result<Vec<Commit>, ApiError> {
    let path = format!("/repos/{repo}/commits?sha={sha}&since={}&per_page=100", format_time(since));
    let url = client.url(&path);
    let items = client.list(&path, None, |_| true).await?;
    let mut out: Vec<Commit> = items.iter().map(|c| commit_of(c, &url)).collect::<Result<_, _>>()?;
    out.reverse();
    Ok(out)
}

/// The merged pull requests whose merge commit was shipped, with their commits and first review.
async fn pull_requests(client: &Client, repo: &str, shipped: &[(String, Commit)]) -> Result<PullRequests, ApiError> {
    let Some(oldest) = shipped.iter().map(|(_, c)| c.authored_at).min() else { return Ok(PullRequests::default()) };
    let shas: HashSet<&str> = shipped.iter().map(|(_, c)| c.sha.as_str()).collect();
    let path = format!("/repos/{repo}/pulls?state=closed&sort=updated&direction=desc&per_page=100");
    let url = client.url(&path);
    // A PR is updated at or after its merge, which is after its commits: stop past the oldest shipped commit.
    let items = client.list(&path, None, |page| !reaches_before(page, "updated_at", Some(oldest))).await?;
    let mut merged = Vec::new();
    for p in items {
        let merge_sha = opt_string(&p, "merge_commit_sha");
        if opt_time(&p, "merged_at", &url)?.is_some() && merge_sha.as_deref().is_some_and(|s| shas.contains(s)) {
            merged.push(p);
        }
    }
    let prs: Vec<PullRequest> = futures::stream::iter(merged.into_iter().map(|p| {
        let url = url.clone();
        async move {
            let number: i64 =
                string(&p, "number", &url)?.parse().map_err(|_| malformed(&url, "`number` is not a number".into()))?;
            let commits_path = format!("/repos/{repo}/pulls/{number}/commits?per_page=100");
            let reviews_path = format!("/repos/{repo}/pulls/{number}/reviews?per_page=100");
            let (commits, reviews) = futures::try_join!(
                client.list(&commits_path, None, |_| true),
                client.list(&reviews_path, None, |_| true)
            )?;
            let curl = client.url(&commits_path);
            let commits: Vec<Commit> = commits.iter().map(|c| commit_of(c, &curl)).collect::<Result<_, _>>()?;
            let rurl = client.url(&reviews_path);
            let mut first_review = None;
            for r in &reviews {
                if opt_string(r, "state").as_deref() == Some("PENDING") {
                    continue;
                }
                if let Some(t) = opt_time(r, "submitted_at", &rurl)? {
                    first_review = Some(first_review.map_or(t, |f: DateTime<Utc>| f.min(t)));
                }
            }
            Ok::<_, ApiError>(PullRequest {
                number,
                opened_at: time(&p, "created_at", &url)?,
                merged_at: opt_time(&p, "merged_at", &url)?,
                first_review_at: first_review,
                first_commit_at: commits.iter().map(|c| c.authored_at).min(),
                merge_commit_sha: opt_string(&p, "merge_commit_sha"),
                commit_shas: commits.into_iter().map(|c| c.sha).collect(),
                labels: parse::labels(&p),
            })
        }
    }))
    .buffered(IN_FLIGHT)
    .try_collect()
    .await?;
    let mut out = PullRequests::default();
    for pr in prs {
        for sha in pr.commit_shas.iter().chain(pr.merge_commit_sha.iter()) {
            if shas.contains(sha.as_str()) {
                out.by_sha.entry(sha.clone()).or_insert_with(|| pr.clone());
            }
        }
    }
    Ok(out)
}

/// Issues labelled as incidents (pull requests, which the endpoint also returns, left out).
async fn incidents(
    client: &Client,
    cfg: &GithubSource,
    plan: &RepoPlan,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Value>, ApiError> {
    let repo = &plan.repo;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for label in &cfg.incident_labels {
        let mut path = format!("/repos/{repo}/issues?labels={}&state=all&per_page=100", label.replace(' ', "%20"));
        if let Some(s) = since {
            path.push_str(&format!("&since={}", format_time(s)));
        }
        let url = client.url(&path);
        for issue in client.list(&path, None, |_| true).await? {
            if issue.get("pull_request").is_some_and(|p| !p.is_null()) {
                continue;
            }
            let number = string(&issue, "number", &url)?;
            let id = format!("{repo}#{number}");
            if !seen.insert(id.clone()) {
                continue;
            }
            let labels = parse::labels(&issue);
            let body = opt_string(&issue, "body").unwrap_or_default();
            let mut root_cause = parse::root_cause_sha(&body);
            if let Some(short) = root_cause.as_deref().filter(|s| s.len() < 40) {
                // A short sha: the lake links full shas, so ask GitHub for the full one.
                let path = format!("/repos/{repo}/commits/{short}");
                match client.get(&path).await {
                    Ok(page) => root_cause = Some(string(&page.body, "sha", &client.url(&path))?),
                    Err(ApiError::Status { status: 404 | 422, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            let caused_by = parse::deployment_link(&body)
                .map(|(r, id)| format!("{}/deployments/{id}", r.unwrap_or_else(|| repo.clone())));
            out.push(json!({
                "id": id,
                "service": parse::service_label(&labels).unwrap_or_else(|| plan.service.clone()),
                "created_at": format_time(time(&issue, "created_at", &url)?),
                "resolved_at": opt_time(&issue, "closed_at", &url)?.map(format_time),
                "severity": parse::severity(&labels),
                "caused_by_deployment": caused_by,
                "root_cause_sha": root_cause,
                "title": opt_string(&issue, "title"),
            }));
        }
    }
    Ok(out)
}
