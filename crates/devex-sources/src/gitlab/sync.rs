//! One GitLab project's sync: the deployments of one environment, the commits
//! each successful deployment shipped, their merge requests, and incident
//! issues, mapped to canonical rows (`docs/sources.md`, GitLab).
//!
//! Everything is fetched into memory first; a project whose sync fails
//! returns an error and contributes no row, so nothing partial lands.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use devex_model::config::GitlabSource;
use devex_model::row;
use devex_model::timestamp::RFC3339_UTC;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::payload::{self, item, items};
use crate::chain::{self, Commit, CommitSource, Deploy, Shipped};
use crate::github::client::next_link;
use crate::github::parse;
pub use crate::http::encode;
use crate::http::{HttpClient, HttpError};

/// Requests in flight per project.
const IN_FLIGHT: usize = 8;

/// A project to sync and the service it deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPlan {
    /// `path_with_namespace`.
    pub path: String,
    /// Its service.
    pub service: String,
}

/// What devex remembers of a project between runs (`_state/gitlab/<source>.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectState {
    /// The start of the last successful sync; the next reads from `watermark - overlap_days`.
    pub watermark: Option<DateTime<Utc>>,
    /// The chain of successful deployments, oldest first: the base of the next
    /// compare, and the shas that make a redeploy a rollback.
    pub shipped: Vec<Shipped>,
}

/// The rows of one project.
pub type ProjectRows = devex_ingest::source::UnitRows<ProjectState>;

/// A merged merge request, as the changes need it.
#[derive(Debug, Clone)]
struct Merged {
    iid: i64,
    created_at: DateTime<Utc>,
    merged_at: Option<DateTime<Utc>>,
    labels: Vec<String>,
    squash_commit_sha: Option<String>,
}

fn time(t: DateTime<Utc>) -> String {
    encode(&t.format(RFC3339_UTC).to_string())
}

/// Every page of a GitLab list: `x-next-page` when the response has it (empty
/// on the last page), else the `Link` header's `rel="next"`. A next link is
/// followed on the client's own host (its path and query only), so a proxy's
/// external URL can never carry the token elsewhere.
pub async fn list(client: &HttpClient, path: &str) -> Result<Vec<Value>, HttpError> {
    let mut out = Vec::new();
    let mut url = client.url(path);
    for _ in 0..100_000 {
        let page = client.get(&url).await?;
        let next_page = page.header("x-next-page");
        let link = page.header("link");
        let Value::Array(found) = page.body else {
            return Err(HttpError::malformed(&url, "expected a JSON array"));
        };
        out.extend(found);
        let next = match next_page {
            Some(n) if n.trim().is_empty() => None,
            Some(n) => Some(with_page(&url, n.trim())),
            None => link.as_deref().and_then(next_link).map(|l| same_host(client, &l)),
        };
        match next {
            Some(n) if n != url => url = n,
            _ => return Ok(out),
        }
    }
    Err(HttpError::malformed(&url, "more than 100000 pages"))
}

/// `url` with its `page` parameter set to `page`.
fn with_page(url: &str, page: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("page=")).collect();
    let page = format!("page={}", encode(page));
    pairs.push(&page);
    format!("{base}?{}", pairs.join("&"))
}

/// The path and query of `link`, on the client's base URL's host.
fn same_host(client: &HttpClient, link: &str) -> String {
    let Some(rest) = link.split_once("://").map(|(_, r)| r) else { return client.url(link) };
    let path_and_query = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
    let base = client.url("");
    let origin_end = base.split_once("://").map(|(s, r)| s.len() + 3 + r.find('/').unwrap_or(r.len()));
    match origin_end {
        Some(end) => format!("{}{path_and_query}", &base[..end]),
        None => client.url(path_and_query),
    }
}

/// What a sync reads.
#[derive(Debug, Clone)]
pub struct SyncWindow {
    /// Read deployments and issues updated from this instant on; `None` reads everything.
    pub since: Option<DateTime<Utc>>,
    /// The run's start: the new watermark.
    pub now: DateTime<Utc>,
}

/// Sync one project.
pub async fn sync_project(
    client: &HttpClient,
    cfg: &GitlabSource,
    plan: &ProjectPlan,
    previous: ProjectState,
    window: &SyncWindow,
) -> Result<ProjectRows, HttpError> {
    let id = encode(&plan.path);
    let deploys = deployments(client, cfg, plan, &id, window.since).await?;
    let (chain, plans) = chain::chain(previous.shipped, &deploys, std::slice::from_ref(&cfg.environment));
    let lookback = Duration::days(i64::from(cfg.first_deploy_lookback_days));
    let commits: Vec<Vec<Commit>> = futures::stream::iter(plans.iter().map(|(i, source)| {
        let d = &chain[*i];
        let id = &id;
        async move {
            match source {
                CommitSource::Nothing => Ok(Vec::new()),
                CommitSource::Compare(base) => compare(client, id, base, &d.sha).await,
                CommitSource::Lookback => history(client, id, &d.sha, d.finished_at - lookback).await,
            }
        }
    }))
    .buffered(IN_FLIGHT)
    .try_collect()
    .await?;
    let (shipped, _) = chain::attribute(&chain, &plans, commits);

    // Each shipped commit's merged merge request, and a squash commit's earliest MR commit.
    let mrs: Vec<Option<Merged>> = futures::stream::iter(shipped.iter().map(|(_, c)| merged_of(client, &id, &c.sha)))
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    let earliest = squash_starts(client, &id, &shipped, &mrs).await?;

    let labels: Vec<&[String]> = mrs.iter().map(|m| m.as_ref().map_or(&[][..], |m| m.labels.as_slice())).collect();
    let kinds = chain::kinds(&chain, &shipped, &labels, &cfg.hotfix_labels);
    let mut rows = ProjectRows {
        deployments: chain::deployment_rows(&deploys, &kinds, &plan.service),
        changes: change_rows(plan, &shipped, &mrs, &earliest),
        incidents: Vec::new(),
        state: ProjectState::default(),
    };
    rows.incidents = incidents(client, cfg, plan, &id, window.since).await?;
    rows.state = ProjectState { watermark: Some(window.now), shipped: chain };
    Ok(rows)
}

/// For each squash-merged merge request among `mrs`, the authored time of its
/// earliest commit (a squash commit's own time is the merge's).
async fn squash_starts(
    client: &HttpClient,
    id: &str,
    shipped: &[(String, Commit)],
    mrs: &[Option<Merged>],
) -> Result<HashMap<i64, Option<DateTime<Utc>>>, HttpError> {
    let mut squash_iids: Vec<i64> = shipped
        .iter()
        .zip(mrs)
        .filter_map(|((_, c), mr)| mr.as_ref().filter(|m| m.squash_commit_sha.as_deref() == Some(c.sha.as_str())))
        .map(|m| m.iid)
        .collect();
    squash_iids.sort_unstable();
    squash_iids.dedup();
    futures::stream::iter(squash_iids.into_iter().map(|iid| async move {
        let path = format!("/projects/{id}/merge_requests/{iid}/commits?per_page=100");
        let url = client.url(&path);
        let commits: Vec<payload::Commit> = items(&list(client, &path).await?, &url)?;
        Ok::<_, HttpError>((iid, commits.iter().map(|c| c.authored_date).min()))
    }))
    .buffered(IN_FLIGHT)
    .try_collect()
    .await
}

/// A change row per shipped commit: its merge request, and a squash commit's
/// lead time from the first commit of its merge request.
fn change_rows(
    plan: &ProjectPlan,
    shipped: &[(String, Commit)],
    mrs: &[Option<Merged>],
    earliest: &HashMap<i64, Option<DateTime<Utc>>>,
) -> Vec<row::Change> {
    shipped
        .iter()
        .zip(mrs)
        .map(|((deployment_id, c), mr)| {
            let squashed = mr
                .as_ref()
                .filter(|m| m.squash_commit_sha.as_deref() == Some(c.sha.as_str()))
                .and_then(|m| earliest.get(&m.iid).copied().flatten());
            row::Change {
                repo: plan.path.clone(),
                sha: c.sha.clone(),
                service: plan.service.clone(),
                committed_at: squashed.filter(|t| *t < c.authored_at).unwrap_or(c.authored_at),
                deployment_id: Some(deployment_id.clone()),
                pr_number: mr.as_ref().map(|m| m.iid),
                pr_opened_at: mr.as_ref().map(|m| m.created_at),
                first_review_at: None,
                merged_at: mr.as_ref().and_then(|m| m.merged_at),
                author: c.author.clone(),
            }
        })
        .collect()
}

/// The finished deployments of the environment (`success` and `failed`; any
/// other status is picked up by a later run once it has finished).
async fn deployments(
    client: &HttpClient,
    cfg: &GitlabSource,
    plan: &ProjectPlan,
    id: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Deploy>, HttpError> {
    let mut path = format!("/projects/{id}/deployments?environment={}&per_page=100", encode(&cfg.environment));
    if let Some(s) = since {
        // GitLab accepts updated_after only with order_by=updated_at.
        path.push_str(&format!("&updated_after={}&order_by=updated_at&sort=asc", time(s)));
    }
    let url = client.url(&path);
    let mut out = Vec::new();
    for d in items::<payload::Deployment>(&list(client, &path).await?, &url)? {
        let success = match d.status.as_str() {
            "success" => true,
            "failed" => false,
            _ => continue,
        };
        let job = d.deployable.as_ref();
        out.push(Deploy {
            id: format!("{}/deployments/{}", plan.path, d.id),
            environment: d.environment.name.clone(),
            sha: d.sha.clone(),
            started_at: Some(job.and_then(|j| j.started_at).unwrap_or(d.created_at)),
            finished_at: job.and_then(|j| j.finished_at).unwrap_or(d.updated_at),
            success,
            url: job.and_then(|j| j.web_url.clone()),
        });
    }
    Ok(out)
}

fn commit_of(c: &payload::Commit) -> Commit {
    Commit {
        sha: c.id.clone(),
        authored_at: c.authored_date,
        author: c.author_name.clone(),
        message: c.message.clone(),
        parents: c.parent_ids.len(),
    }
}

/// The commits of `base..head`, oldest first.
async fn compare(client: &HttpClient, id: &str, base: &str, head: &str) -> Result<Vec<Commit>, HttpError> {
    let url = client.url(&format!("/projects/{id}/repository/compare?from={}&to={}", encode(base), encode(head)));
    let page = client.get(&url).await?;
    let compare: payload::Compare = item(&page.body, &url)?;
    Ok(compare.commits.iter().map(commit_of).collect())
}

/// The commits reachable from `sha` since `since` (a project's first deployment), oldest first.
async fn history(client: &HttpClient, id: &str, sha: &str, since: DateTime<Utc>) -> Result<Vec<Commit>, HttpError> {
    let path = format!("/projects/{id}/repository/commits?ref_name={}&since={}&per_page=100", encode(sha), time(since));
    let url = client.url(&path);
    let mut out: Vec<Commit> =
        items::<payload::Commit>(&list(client, &path).await?, &url)?.iter().map(commit_of).collect();
    out.reverse();
    Ok(out)
}

/// The commit's merged merge request (the earliest merged, if several).
async fn merged_of(client: &HttpClient, id: &str, sha: &str) -> Result<Option<Merged>, HttpError> {
    let path = format!("/projects/{id}/repository/commits/{sha}/merge_requests?per_page=100");
    let url = client.url(&path);
    let mrs: Vec<payload::MergeRequest> = items(&list(client, &path).await?, &url)?;
    Ok(mrs.into_iter().filter(|m| m.state == "merged").min_by_key(|m| (m.merged_at.is_none(), m.merged_at, m.iid)).map(
        |m| Merged {
            iid: m.iid,
            created_at: m.created_at,
            merged_at: m.merged_at,
            labels: m.labels,
            squash_commit_sha: m.squash_commit_sha,
        },
    ))
}

/// Issues of type incident and issues with an incident label, each once.
async fn incidents(
    client: &HttpClient,
    cfg: &GitlabSource,
    plan: &ProjectPlan,
    id: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<row::Incident>, HttpError> {
    let updated = since.map(|s| format!("&updated_after={}", time(s))).unwrap_or_default();
    let mut paths = vec![format!("/projects/{id}/issues?issue_type=incident&per_page=100{updated}")];
    for label in &cfg.incident_labels {
        paths.push(format!("/projects/{id}/issues?labels={}&per_page=100{updated}", encode(label)));
    }
    let mut found: BTreeMap<i64, payload::Issue> = BTreeMap::new();
    for path in paths {
        let url = client.url(&path);
        for issue in items::<payload::Issue>(&list(client, &path).await?, &url)? {
            let incident = issue.issue_type.as_deref() == Some("incident")
                || issue.labels.iter().any(|l| cfg.incident_labels.iter().any(|i| i.eq_ignore_ascii_case(l)));
            if incident {
                found.insert(issue.iid, issue);
            }
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for issue in found.into_values() {
        let root_cause_sha = match parse::root_cause_sha(&issue.description) {
            Some(sha) if sha.len() < 40 => expand(client, id, &sha).await?,
            other => other,
        };
        out.push(row::Incident {
            id: format!("{}#{}", plan.path, issue.iid),
            service: service_label(&issue.labels).unwrap_or_else(|| plan.service.clone()),
            created_at: issue.created_at,
            resolved_at: issue.closed_at,
            severity: severity(issue.severity.as_deref(), &issue.labels),
            caused_by_deployment: None,
            root_cause_sha,
            title: issue.title,
        });
    }
    Ok(out)
}

/// A short sha's 40 digits, or `None` when GitLab does not know it.
async fn expand(client: &HttpClient, id: &str, sha: &str) -> Result<Option<String>, HttpError> {
    let url = client.url(&format!("/projects/{id}/repository/commits/{}", encode(sha)));
    match client.get(&url).await {
        Ok(page) => Ok(Some(item::<payload::Commit>(&page.body, &url)?.id)),
        Err(HttpError::Status { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `service::<name>`.
pub fn service_label(labels: &[String]) -> Option<String> {
    labels.iter().find_map(|l| {
        let (k, v) = l.split_once("::")?;
        (k.trim().eq_ignore_ascii_case("service") && !v.trim().is_empty()).then(|| v.trim().to_string())
    })
}

/// GitLab's `severity` (`CRITICAL` sev1 .. `LOW` sev4); when absent or
/// `UNKNOWN`, a `severity::N` or `sevN` label.
///
/// ```
/// use devex_sources::gitlab::sync::severity;
/// let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert_eq!(severity(Some("CRITICAL"), &[]).as_deref(), Some("sev1"));
/// assert_eq!(severity(Some("LOW"), &labels(&["sev1"])).as_deref(), Some("sev4"));
/// assert_eq!(severity(Some("UNKNOWN"), &labels(&["severity::2"])).as_deref(), Some("sev2"));
/// assert_eq!(severity(None, &labels(&["SEV-3"])).as_deref(), Some("sev3"));
/// assert_eq!(severity(None, &labels(&["severe"])), None);
/// ```
pub fn severity(field: Option<&str>, labels: &[String]) -> Option<String> {
    let from_field = match field.map(str::to_ascii_uppercase).as_deref() {
        Some("CRITICAL") => Some("sev1"),
        Some("HIGH") => Some("sev2"),
        Some("MEDIUM") => Some("sev3"),
        Some("LOW") => Some("sev4"),
        _ => None,
    };
    if let Some(s) = from_field {
        return Some(s.to_string());
    }
    labels
        .iter()
        .find_map(|l| {
            let n = l.to_ascii_lowercase().strip_prefix("severity::")?.trim().to_string();
            (!n.is_empty() && n.chars().all(|c| c.is_ascii_digit())).then(|| format!("sev{n}"))
        })
        .or_else(|| parse::severity(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_labels() {
        assert_eq!(with_page("https://g/api/v4/x?per_page=100&page=2", "3"), "https://g/api/v4/x?per_page=100&page=3");
        assert_eq!(with_page("https://g/api/v4/x", "2"), "https://g/api/v4/x?page=2");
        assert_eq!(encode("acme/web app"), "acme%2Fweb%20app");
        let l = vec!["service::web".to_string(), "incident".into()];
        assert_eq!(service_label(&l).as_deref(), Some("web"));
        assert_eq!(service_label(&["service:web".to_string()]), None);
    }
}
