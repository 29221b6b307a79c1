//! A local GitHub REST API for devex's tests and benchmarks: a wiremock
//! server answering the endpoints devex reads, with payloads shaped like the
//! examples in GitHub's REST documentation, `Link` pagination, `ETag`s with
//! 304 answers, and rate-limit headers. Faults (429, 502, malformed pages)
//! are layered on top with ordinary higher-priority wiremock mocks.
//!
//! ```no_run
//! # async fn run() {
//! use devex_ghmock::{Repo, mount};
//! let server = wiremock::MockServer::start().await;
//! let mut repo = Repo::new("acme/api");
//! let c1 = repo.commit("2026-03-01T10:00:00Z", "first");
//! repo.deployment(1, &c1, "production", "2026-03-01T11:00:00Z", "success");
//! mount(&server, vec![repo], 100).await;
//! // GET {server.uri()}/repos/acme/api/deployments now answers like GitHub.
//! # }
//! ```

pub mod fixtures;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A commit.
#[derive(Debug, Clone)]
pub struct Commit {
    /// 40 hex digits.
    pub sha: String,
    /// Author date.
    pub date: DateTime<Utc>,
    /// Message.
    pub message: String,
    /// Parent shas.
    pub parents: Vec<String>,
    /// Author login.
    pub login: String,
}

/// A deployment and its statuses (oldest first, as they happened).
#[derive(Debug, Clone)]
pub struct Deployment {
    /// GitHub's id.
    pub id: u64,
    /// The commit deployed.
    pub sha: String,
    /// The environment.
    pub environment: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// (state, at), oldest first.
    pub statuses: Vec<(String, DateTime<Utc>)>,
}

/// A pull request.
#[derive(Debug, Clone)]
pub struct Pull {
    /// Number.
    pub number: u64,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Merged (closed and merged at the same instant).
    pub merged_at: Option<DateTime<Utc>>,
    /// The merge, squash or last rebased commit on the base branch.
    pub merge_commit_sha: Option<String>,
    /// The PR's own commits.
    pub commits: Vec<Commit>,
    /// Review submission times.
    pub reviews: Vec<DateTime<Utc>>,
    /// Labels.
    pub labels: Vec<String>,
}

/// An issue (or, with `pull_request`, a pull request as the issues endpoint lists it).
#[derive(Debug, Clone)]
pub struct Issue {
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Listed by the issues endpoint but a pull request.
    pub pull_request: bool,
}

/// A workflow run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Id.
    pub id: u64,
    /// Workflow name.
    pub name: String,
    /// Branch.
    pub branch: String,
    /// Commit.
    pub sha: String,
    /// `success`, `failure`, ...
    pub conclusion: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Last updated (finished).
    pub updated_at: DateTime<Utc>,
}

/// One repository's data.
#[derive(Debug, Clone, Default)]
pub struct Repo {
    /// `owner/name`.
    pub full_name: String,
    /// Every commit, in creation order.
    pub commits: Vec<Commit>,
    /// Deployments.
    pub deployments: Vec<Deployment>,
    /// Pull requests.
    pub pulls: Vec<Pull>,
    /// Issues.
    pub issues: Vec<Issue>,
    /// Workflow runs.
    pub runs: Vec<Run>,
    /// Topics.
    pub topics: Vec<String>,
    /// Archived.
    pub archived: bool,
}

/// A timestamp from RFC 3339 text.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("RFC 3339").with_timezone(&Utc)
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A deterministic 40-hex-digit sha for a label.
pub fn sha_of(label: &str) -> String {
    let mut out = String::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    while out.len() < 40 {
        for b in label.bytes().chain(out.len().to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}

impl Repo {
    /// An empty repository.
    pub fn new(full_name: &str) -> Repo {
        Repo { full_name: full_name.into(), ..Repo::default() }
    }

    /// Add a commit on top of the last one; returns its sha.
    pub fn commit(&mut self, date: &str, message: &str) -> String {
        let parents = self.commits.last().map(|c| vec![c.sha.clone()]).unwrap_or_default();
        self.commit_with_parents(date, message, parents)
    }

    /// Add a commit with the given parents; returns its sha.
    pub fn commit_with_parents(&mut self, date: &str, message: &str, parents: Vec<String>) -> String {
        let sha = sha_of(&format!("{}:{}:{date}:{message}", self.full_name, self.commits.len()));
        self.commits.push(Commit {
            sha: sha.clone(),
            date: t(date),
            message: message.into(),
            parents,
            login: "dev-one".into(),
        });
        sha
    }

    /// Add a deployment whose statuses go `in_progress` at creation and `state` at `finished`.
    pub fn deployment(&mut self, id: u64, sha: &str, environment: &str, finished: &str, state: &str) {
        let finished = t(finished);
        let created = finished - chrono::Duration::minutes(10);
        self.deployments.push(Deployment {
            id,
            sha: sha.into(),
            environment: environment.into(),
            created_at: created,
            statuses: vec![("in_progress".into(), created), (state.into(), finished)],
        });
    }

    fn commit_by_sha(&self, sha: &str) -> Option<&Commit> {
        self.commits
            .iter()
            .chain(self.pulls.iter().flat_map(|p| p.commits.iter()))
            .find(|c| c.sha == sha || (sha.len() >= 7 && c.sha.starts_with(sha)))
    }

    fn ancestors(&self, sha: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut stack = vec![sha.to_string()];
        while let Some(s) = stack.pop() {
            if seen.insert(s.clone())
                && let Some(c) = self.commit_by_sha(&s)
            {
                stack.extend(c.parents.iter().cloned());
            }
        }
        seen
    }
}

/// Serve `repos` from `server`, at most `page_size` items per page.
pub async fn mount(server: &MockServer, repos: Vec<Repo>, page_size: usize) {
    mount_with_delay(server, repos, page_size, Duration::ZERO).await;
}

/// As [`mount`], every answer delayed by `delay` (for benchmarks).
pub async fn mount_with_delay(server: &MockServer, repos: Vec<Repo>, page_size: usize, delay: Duration) {
    let api = Api { repos: Arc::new(repos.into_iter().map(|r| (r.full_name.clone(), r)).collect()), page_size, delay };
    Mock::given(path_regex("^/(repos|orgs)/")).respond_with(api).with_priority(10).mount(server).await;
}

#[derive(Clone)]
struct Api {
    repos: Arc<HashMap<String, Repo>>,
    page_size: usize,
    delay: Duration,
}

impl Respond for Api {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        // The URL wiremock reconstructs may say `localhost`; the Host header names the real address.
        let host = req.headers.get("host").and_then(|h| h.to_str().ok()).map(str::to_string);
        let mut url = req.url.clone();
        if let Some((h, port)) = host.as_deref().and_then(|h| h.rsplit_once(':')) {
            let _ = url.set_host(Some(h));
            let _ = url.set_port(port.parse().ok());
        }
        let base = format!("{}://{}", url.scheme(), url.authority());
        let query: HashMap<String, String> =
            req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let path = req.url.path().to_string();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let answer = match parts.as_slice() {
            ["orgs", org, "repos"] => {
                let mut list: Vec<Value> = self
                    .repos
                    .values()
                    .filter(|r| r.full_name.starts_with(&format!("{org}/")))
                    .map(|r| repo_json(&base, r))
                    .collect();
                list.sort_by_key(|r| r["full_name"].as_str().unwrap_or_default().to_string());
                Some(Answer::List(list))
            }
            ["repos", owner, name, rest @ ..] => {
                let full = format!("{owner}/{name}");
                match self.repos.get(&full) {
                    None => None,
                    Some(repo) => self.repo_answer(&base, repo, rest, &query),
                }
            }
            _ => None,
        };
        let Some(answer) = answer else {
            return ResponseTemplate::new(404)
                .set_body_json(json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}));
        };
        let (body, link) = match answer {
            Answer::One(v) => (v, None),
            Answer::List(items) => {
                let per_page =
                    query.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(30usize).min(self.page_size).max(1);
                let page = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1usize).max(1);
                let pages = items.len().div_ceil(per_page).max(1);
                let slice: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
                let link = (page < pages).then(|| {
                    let mut u = url.clone();
                    let pairs: Vec<(String, String)> =
                        query.iter().filter(|(k, _)| *k != "page").map(|(k, v)| (k.clone(), v.clone())).collect();
                    let mut make = |p: usize| {
                        u.query_pairs_mut().clear().extend_pairs(pairs.iter()).append_pair("page", &p.to_string());
                        u.to_string()
                    };
                    let next = make(page + 1);
                    let last = make(pages);
                    format!("<{next}>; rel=\"next\", <{last}>; rel=\"last\"")
                });
                (Value::Array(slice), link)
            }
            Answer::Wrapped(key, items) => (json!({"total_count": items.len(), key: items}), None),
        };
        let text = body.to_string();
        let etag = format!("W/\"{}\"", &sha_of(&text)[..20]);
        let reset = (Utc::now() + chrono::Duration::hours(1)).timestamp().to_string();
        let not_modified = req.headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str());
        let mut resp = if not_modified {
            ResponseTemplate::new(304)
        } else {
            ResponseTemplate::new(200).set_body_raw(text, "application/json; charset=utf-8")
        };
        resp = resp
            .insert_header("etag", etag.as_str())
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-remaining", "4999")
            .insert_header("x-ratelimit-reset", reset.as_str())
            .set_delay(self.delay);
        if let Some(link) = link {
            resp = resp.insert_header("link", link.as_str());
        }
        resp
    }
}

enum Answer {
    One(Value),
    List(Vec<Value>),
    Wrapped(&'static str, Vec<Value>),
}

impl Api {
    fn repo_answer(&self, base: &str, repo: &Repo, rest: &[&str], query: &HashMap<String, String>) -> Option<Answer> {
        let full = &repo.full_name;
        let since = query.get("since").map(|s| t(s));
        Some(match rest {
            [] => Answer::One(repo_json(base, repo)),
            ["deployments"] => {
                let mut ds: Vec<&Deployment> = repo.deployments.iter().collect();
                ds.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
                Answer::List(ds.into_iter().map(|d| deployment_json(base, full, d)).collect())
            }
            ["deployments", id, "statuses"] => {
                let d = repo.deployments.iter().find(|d| d.id.to_string() == *id)?;
                let mut list: Vec<Value> = d
                    .statuses
                    .iter()
                    .enumerate()
                    .map(|(i, (state, at))| status_json(base, full, d, i as u64 + 1, state, *at))
                    .collect();
                list.reverse();
                Answer::List(list)
            }
            ["compare", range] => {
                let (b, h) = range.split_once("...")?;
                let behind = repo.ancestors(b);
                let ahead = repo.ancestors(h);
                let mut commits: Vec<&Commit> =
                    repo.commits.iter().filter(|c| ahead.contains(&c.sha) && !behind.contains(&c.sha)).collect();
                commits.sort_by_key(|c| c.date);
                let behind_by =
                    repo.commits.iter().filter(|c| behind.contains(&c.sha) && !ahead.contains(&c.sha)).count();
                let status = match (commits.len(), behind_by) {
                    (0, 0) => "identical",
                    (_, 0) => "ahead",
                    (0, _) => "behind",
                    _ => "diverged",
                };
                Answer::One(json!({
                    "url": format!("{base}/repos/{full}/compare/{range}"),
                    "status": status, "ahead_by": commits.len(), "behind_by": behind_by,
                    "total_commits": commits.len(),
                    "commits": commits.iter().map(|c| commit_json(base, full, c)).collect::<Vec<_>>(),
                    "files": [],
                }))
            }
            ["commits"] => {
                let head = query.get("sha").cloned().or_else(|| repo.commits.last().map(|c| c.sha.clone()))?;
                let reach = repo.ancestors(&head);
                let mut cs: Vec<&Commit> = repo
                    .commits
                    .iter()
                    .filter(|c| reach.contains(&c.sha) && since.is_none_or(|s| c.date >= s))
                    .collect();
                cs.sort_by_key(|c| std::cmp::Reverse(c.date));
                Answer::List(cs.into_iter().map(|c| commit_json(base, full, c)).collect())
            }
            ["commits", r] => Answer::One(commit_json(base, full, repo.commit_by_sha(r)?)),
            ["pulls"] => {
                let mut ps: Vec<&Pull> = repo.pulls.iter().collect();
                ps.sort_by_key(|p| std::cmp::Reverse(p.merged_at.unwrap_or(p.created_at)));
                Answer::List(ps.into_iter().map(|p| pull_json(base, full, p)).collect())
            }
            ["pulls", n, "commits"] => {
                let p = repo.pulls.iter().find(|p| p.number.to_string() == *n)?;
                Answer::List(p.commits.iter().map(|c| commit_json(base, full, c)).collect())
            }
            ["pulls", n, "reviews"] => {
                let p = repo.pulls.iter().find(|p| p.number.to_string() == *n)?;
                Answer::List(
                    p.reviews
                        .iter()
                        .enumerate()
                        .map(|(i, at)| {
                            json!({"id": i + 1, "user": {"login": "reviewer", "id": 2}, "body": "", "state": "APPROVED",
                            "submitted_at": ts(*at), "commit_id": p.merge_commit_sha})
                        })
                        .collect(),
                )
            }
            ["issues"] => {
                let labels: Vec<&str> = query.get("labels").map(|l| l.split(',').collect()).unwrap_or_default();
                let mut is: Vec<&Issue> = repo
                    .issues
                    .iter()
                    .filter(|i| labels.iter().all(|l| i.labels.iter().any(|x| x == l)))
                    .filter(|i| since.is_none_or(|s| i.closed_at.unwrap_or(i.created_at) >= s))
                    .collect();
                is.sort_by_key(|i| std::cmp::Reverse(i.created_at));
                Answer::List(is.into_iter().map(|i| issue_json(base, full, i)).collect())
            }
            ["actions", "runs"] => {
                let branch = query.get("branch");
                let status = query.get("status");
                let mut rs: Vec<&Run> = repo
                    .runs
                    .iter()
                    .filter(|r| branch.is_none_or(|b| &r.branch == b) && status.is_none_or(|s| &r.conclusion == s))
                    .collect();
                rs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
                Answer::Wrapped("workflow_runs", rs.into_iter().map(|r| run_json(base, full, r)).collect())
            }
            _ => return None,
        })
    }
}

fn user() -> Value {
    json!({"login": "octocat", "id": 1, "type": "User", "site_admin": false})
}

fn repo_json(base: &str, r: &Repo) -> Value {
    let name = r.full_name.split('/').nth(1).unwrap_or_default();
    json!({"id": sha_of(&r.full_name).len(), "name": name, "full_name": r.full_name, "private": false,
        "owner": user(), "url": format!("{base}/repos/{}", r.full_name), "default_branch": "main",
        "archived": r.archived, "topics": r.topics, "visibility": "public"})
}

fn deployment_json(base: &str, full: &str, d: &Deployment) -> Value {
    json!({"url": format!("{base}/repos/{full}/deployments/{}", d.id), "id": d.id, "node_id": "MDEwOkRlcGxveW1lbnQx",
        "sha": d.sha, "ref": "main", "task": "deploy", "payload": {}, "original_environment": d.environment,
        "environment": d.environment, "description": "Deploy request from hubot", "creator": user(),
        "created_at": ts(d.created_at), "updated_at": ts(d.statuses.last().map_or(d.created_at, |s| s.1)),
        "statuses_url": format!("{base}/repos/{full}/deployments/{}/statuses", d.id),
        "repository_url": format!("{base}/repos/{full}"), "transient_environment": false,
        "production_environment": d.environment == "production"})
}

fn status_json(base: &str, full: &str, d: &Deployment, id: u64, state: &str, at: DateTime<Utc>) -> Value {
    json!({"url": format!("{base}/repos/{full}/deployments/{}/statuses/{id}", d.id), "id": id, "node_id": "MDI0OkRlcGxveW1lbnRTdGF0dXMx",
        "state": state, "creator": user(), "description": "Deployment finished.", "environment": d.environment,
        "target_url": "https://example.com/deployment/42/output", "created_at": ts(at), "updated_at": ts(at),
        "deployment_url": format!("{base}/repos/{full}/deployments/{}", d.id),
        "repository_url": format!("{base}/repos/{full}"), "environment_url": "https://test-branch.lab.acme.com",
        "log_url": "https://example.com/deployment/42/output"})
}

fn commit_json(base: &str, full: &str, c: &Commit) -> Value {
    let person = json!({"name": "Dev One", "email": "dev@example.com", "date": ts(c.date)});
    json!({"url": format!("{base}/repos/{full}/commits/{}", c.sha), "sha": c.sha, "node_id": "MDY6Q29tbWl0",
        "html_url": format!("https://github.com/{full}/commit/{}", c.sha),
        "commit": {"author": person, "committer": person, "message": c.message, "comment_count": 0,
                   "tree": {"sha": sha_of(&format!("tree{}", c.sha))}},
        "author": {"login": c.login, "id": 3}, "committer": {"login": c.login, "id": 3},
        "parents": c.parents.iter().map(|p| json!({"sha": p, "url": format!("{base}/repos/{full}/commits/{p}")})).collect::<Vec<_>>()})
}

fn pull_json(base: &str, full: &str, p: &Pull) -> Value {
    let updated = p.merged_at.unwrap_or(p.created_at);
    json!({"url": format!("{base}/repos/{full}/pulls/{}", p.number), "id": p.number * 1000, "number": p.number,
        "state": if p.merged_at.is_some() { "closed" } else { "open" }, "title": format!("PR {}", p.number),
        "user": user(), "labels": p.labels.iter().map(|l| json!({"name": l, "color": "f29513"})).collect::<Vec<_>>(),
        "created_at": ts(p.created_at), "updated_at": ts(updated), "closed_at": p.merged_at.map(ts),
        "merged_at": p.merged_at.map(ts), "merge_commit_sha": p.merge_commit_sha,
        "head": {"ref": "feature", "sha": p.commits.last().map(|c| c.sha.clone())}, "base": {"ref": "main"}})
}

fn issue_json(base: &str, full: &str, i: &Issue) -> Value {
    let mut v = json!({"url": format!("{base}/repos/{full}/issues/{}", i.number), "id": i.number * 7, "number": i.number,
        "state": if i.closed_at.is_some() { "closed" } else { "open" }, "title": i.title, "body": i.body,
        "user": user(), "labels": i.labels.iter().map(|l| json!({"name": l, "color": "d73a4a"})).collect::<Vec<_>>(),
        "created_at": ts(i.created_at), "updated_at": ts(i.closed_at.unwrap_or(i.created_at)), "closed_at": i.closed_at.map(ts)});
    if i.pull_request {
        v["pull_request"] = json!({"url": format!("{base}/repos/{full}/pulls/{}", i.number)});
    }
    v
}

fn run_json(base: &str, full: &str, r: &Run) -> Value {
    json!({"id": r.id, "name": r.name, "head_branch": r.branch, "head_sha": r.sha, "event": "push", "status": "completed",
        "conclusion": r.conclusion, "run_started_at": ts(r.started_at), "created_at": ts(r.started_at),
        "updated_at": ts(r.updated_at), "html_url": format!("https://github.com/{full}/actions/runs/{}", r.id),
        "url": format!("{base}/repos/{full}/actions/runs/{}", r.id)})
}
