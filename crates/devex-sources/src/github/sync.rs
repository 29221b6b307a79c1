//! One repository's sync: GitHub's deployments (or workflow runs, or
//! releases), the commits each production deployment shipped, their pull
//! requests, and incident issues, mapped to canonical rows.
//!
//! Everything is fetched into memory first; a repository whose sync fails
//! returns an error and contributes no row, so nothing partial lands.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use devex_model::config::{DeployFrom, GithubSource};
use devex_model::row;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::chain::Shipped;

use super::client::{ApiError, Client};
use super::map::{self, Commit, CommitSource, Deploy, PullRequest, PullRequests};
use super::parse::{self, format_time, malformed};
use super::payload::{self, item, items};

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

/// The rows of one repository.
pub type RepoRows = devex_ingest::source::UnitRows<RepoState>;

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
        incidents: Vec::new(),
        state: RepoState::default(),
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
    let listed = client.list(&path, None, |page| !reaches_before(page, "created_at", since)).await?;
    let mut wanted = Vec::new();
    for d in items::<payload::Deployment>(&listed, &url)? {
        if since.is_none_or(|s| d.created_at >= s) {
            wanted.push(d);
        }
    }
    let fetched: Vec<Option<Deploy>> = futures::stream::iter(wanted.into_iter().map(|d| async move {
        let statuses_path = format!("/repos/{repo}/deployments/{}/statuses?per_page=100", d.id);
        let statuses = client.list(&statuses_path, None, |_| true).await?;
        let statuses: Vec<payload::DeploymentStatus> = items(&statuses, &client.url(&statuses_path))?;
        // Newest first: the terminal status is the newest success/failure/error
        // (a later `inactive` only means a newer deployment replaced it).
        let mut terminal = None;
        let mut started = None;
        for s in statuses {
            match s.state.as_str() {
                "success" | "failure" | "error" if terminal.is_none() => {
                    terminal = Some((s.state == "success", s.created_at))
                }
                "in_progress" => started = Some(s.created_at),
                _ => {}
            }
        }
        // Not finished yet: the overlap of a later run picks it up.
        Ok::<_, ApiError>(terminal.map(|(success, finished_at)| Deploy {
            id: format!("{repo}/deployments/{}", d.id),
            environment: d.environment,
            sha: d.sha,
            started_at: Some(started.unwrap_or(d.created_at)),
            finished_at,
            success,
            url: d.url,
        }))
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
    let meta_url = client.url(&format!("/repos/{repo}"));
    let meta: payload::Repository = item(&client.get(&meta_url).await?.body, &meta_url)?;
    let branch = meta.default_branch.ok_or_else(|| malformed(&meta_url, "no `default_branch`".into()))?;
    let mut path = format!("/repos/{repo}/actions/runs?branch={branch}&status=success&per_page=100");
    if let Some(s) = since {
        path.push_str(&format!("&created=%3E%3D{}", s.format(devex_model::timestamp::RFC3339_UTC)));
    }
    let url = client.url(&path);
    let runs = client.list(&path, Some("workflow_runs"), |page| !reaches_before(page, "created_at", since)).await?;
    let mut out = Vec::new();
    for r in items::<payload::WorkflowRun>(&runs, &url)? {
        if !cfg.workflows.contains(&r.name) || r.conclusion.as_deref() != Some("success") {
            continue;
        }
        if r.head_branch.as_ref().is_some_and(|b| b != &branch) {
            continue;
        }
        out.push(Deploy {
            id: format!("{repo}/actions/runs/{}", r.id),
            environment: cfg.environment.clone(),
            sha: r.head_sha,
            started_at: r.run_started_at,
            finished_at: r.updated_at,
            success: true,
            url: r.html_url,
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
    let releases = client.list(&path, None, |page| !reaches_before(page, "published_at", since)).await?;
    let mut wanted = Vec::new();
    for r in items::<payload::Release>(&releases, &url)? {
        let Some(published) = r.published_at else { continue };
        if !r.draft && !r.prerelease && since.is_none_or(|s| published >= s) {
            wanted.push((r, published));
        }
    }
    futures::stream::iter(wanted.into_iter().map(|(r, published)| async move {
        let commit_path = format!("/repos/{repo}/commits/{}", r.tag_name.replace(' ', "%20"));
        let commit: payload::Commit = item(&client.get(&commit_path).await?.body, &client.url(&commit_path))?;
        Ok::<_, ApiError>(Deploy {
            id: format!("{repo}/releases/{}", r.id),
            environment: cfg.environment.clone(),
            sha: commit.sha,
            started_at: r.created_at,
            finished_at: published,
            success: true,
            url: r.html_url,
        })
    }))
    .buffered(IN_FLIGHT)
    .try_collect()
    .await
}

fn commit_of(v: &Value, url: &str) -> Result<Commit, ApiError> {
    let c: payload::Commit = item(v, url)?;
    let git = c.commit;
    let date = git
        .author
        .as_ref()
        .and_then(|a| a.date)
        .or_else(|| git.committer.as_ref().and_then(|c| c.date))
        .ok_or_else(|| malformed(url, format!("commit {} has no commit.author.date", c.sha)))?;
    Ok(Commit {
        authored_at: date,
        author: c.author.and_then(|u| u.login).or_else(|| git.author.and_then(|a| a.name)),
        message: git.message,
        parents: c.parents.map_or(1, |p| p.len()),
        sha: c.sha,
    })
}

/// The commits `head` has that `base` has not (`GET /compare/base...head`).
async fn compare(client: &Client, repo: &str, base: &str, head: &str) -> Result<Vec<Commit>, ApiError> {
    let mut url = Some(client.url(&format!("/repos/{repo}/compare/{base}...{head}?per_page=100")));
    let mut out = Vec::new();
    while let Some(u) = url {
        let page = client.get(&u).await?;
        let compare: payload::Compare = item(&page.body, &u)?;
        for c in &compare.commits {
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
    let pulls = client.list(&path, None, |page| !reaches_before(page, "updated_at", Some(oldest))).await?;
    let mut merged = Vec::new();
    for p in items::<payload::PullRequest>(&pulls, &url)? {
        if p.merged_at.is_some() && p.merge_commit_sha.as_deref().is_some_and(|s| shas.contains(s)) {
            merged.push(p);
        }
    }
    let prs: Vec<PullRequest> = futures::stream::iter(merged.into_iter().map(|p| async move {
        let number = p.number;
        let commits_path = format!("/repos/{repo}/pulls/{number}/commits?per_page=100");
        let reviews_path = format!("/repos/{repo}/pulls/{number}/reviews?per_page=100");
        let (commits, reviews) =
            futures::try_join!(client.list(&commits_path, None, |_| true), client.list(&reviews_path, None, |_| true))?;
        let curl = client.url(&commits_path);
        let commits: Vec<Commit> = commits.iter().map(|c| commit_of(c, &curl)).collect::<Result<_, _>>()?;
        let reviews: Vec<payload::Review> = items(&reviews, &client.url(&reviews_path))?;
        let first_review =
            reviews.iter().filter(|r| r.state.as_deref() != Some("PENDING")).filter_map(|r| r.submitted_at).min();
        Ok::<_, ApiError>(PullRequest {
            number,
            opened_at: p.created_at,
            merged_at: p.merged_at,
            first_review_at: first_review,
            first_commit_at: commits.iter().map(|c| c.authored_at).min(),
            merge_commit_sha: p.merge_commit_sha,
            commit_shas: commits.into_iter().map(|c| c.sha).collect(),
            labels: payload::label_names(&p.labels),
        })
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
) -> Result<Vec<row::Incident>, ApiError> {
    let repo = &plan.repo;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for label in &cfg.incident_labels {
        let mut path = format!("/repos/{repo}/issues?labels={}&state=all&per_page=100", label.replace(' ', "%20"));
        if let Some(s) = since {
            path.push_str(&format!("&since={}", format_time(s)));
        }
        let url = client.url(&path);
        let issues = client.list(&path, None, |_| true).await?;
        for issue in items::<payload::Issue>(&issues, &url)? {
            if issue.pull_request.as_ref().is_some_and(|p| !p.is_null()) {
                continue;
            }
            let id = format!("{repo}#{}", issue.number);
            if !seen.insert(id.clone()) {
                continue;
            }
            let labels = payload::label_names(&issue.labels);
            let body = issue.body.unwrap_or_default();
            let mut root_cause = parse::root_cause_sha(&body);
            if let Some(short) = root_cause.as_deref().filter(|s| s.len() < 40) {
                // A short sha: the lake links full shas, so ask GitHub for the full one.
                let path = format!("/repos/{repo}/commits/{short}");
                match client.get(&path).await {
                    Ok(page) => root_cause = Some(item::<payload::Commit>(&page.body, &client.url(&path))?.sha),
                    Err(ApiError::Status { status: 404 | 422, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            let caused_by = parse::deployment_link(&body)
                .map(|(r, id)| format!("{}/deployments/{id}", r.unwrap_or_else(|| repo.clone())));
            out.push(row::Incident {
                id,
                service: parse::service_label(&labels).unwrap_or_else(|| plan.service.clone()),
                created_at: issue.created_at,
                resolved_at: issue.closed_at,
                severity: parse::severity(&labels),
                caused_by_deployment: caused_by,
                root_cause_sha: root_cause,
                title: issue.title,
            });
        }
    }
    Ok(out)
}
