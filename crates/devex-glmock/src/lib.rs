//! A local GitLab REST API v4 for devex's tests and benchmarks: a wiremock
//! server answering the endpoints devex reads, with payloads shaped like
//! GitLab's documentation. It checks what GitLab checks: the `PRIVATE-TOKEN`
//! header (401 otherwise), `updated_after` on deployments only with
//! `order_by=updated_at` (400 otherwise); and it pages like GitLab, granting
//! at most `page_size` items a page whatever `per_page` asks, with
//! `x-next-page` and `Link` headers (the group's project list, keyset-style,
//! with `Link` alone), and no `x-total` on commit lists. Projects can change
//! between two runs ([`GitLab::with`]); faults (429, 5xx) are layered on top
//! with ordinary higher-priority wiremock mocks.
//!
//! ```no_run
//! # async fn run() {
//! use devex_glmock::{GitLab, Project};
//! let server = wiremock::MockServer::start().await;
//! let mut p = Project::new(1, "acme/api");
//! let c1 = p.commit("2026-03-01T10:00:00+01:00", "first");
//! p.deployment(1, &c1, "success", "2026-03-01T11:00:00Z");
//! let gl = GitLab::new("glpat-secret", 2);
//! gl.add(p);
//! gl.mount(&server).await;
//! // GET {server.uri()}/api/v4/projects/acme%2Fapi/deployments now answers like GitLab.
//! # }
//! ```

pub mod fixtures;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A commit.
#[derive(Debug, Clone)]
pub struct Commit {
    /// 40 hex digits.
    pub id: String,
    /// The first line of the message.
    pub title: String,
    /// The message.
    pub message: String,
    /// `author_name`.
    pub author_name: String,
    /// As sent (with an offset).
    pub authored_date: String,
    /// As sent.
    pub committed_date: String,
    /// Parents.
    pub parent_ids: Vec<String>,
}

impl Commit {
    fn json(&self, base: &str, path: &str) -> Value {
        json!({
            "id": self.id,
            "short_id": &self.id[..8],
            "created_at": self.committed_date,
            "parent_ids": self.parent_ids,
            "title": self.title,
            "message": self.message,
            "author_name": self.author_name,
            "author_email": format!("{}@example.com", self.author_name.to_lowercase().replace(' ', ".")),
            "authored_date": self.authored_date,
            "committer_name": self.author_name,
            "committer_email": "noreply@example.com",
            "committed_date": self.committed_date,
            "trailers": {},
            "web_url": format!("{base}/{path}/-/commit/{}", self.id),
        })
    }
}

/// A deployment to an environment.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// GitLab's global id.
    pub id: u64,
    /// The project-local id.
    pub iid: u64,
    /// The commit deployed.
    pub sha: String,
    /// `created`, `running`, `success`, `failed`, `canceled`, `blocked`, `skipped`.
    pub status: String,
    /// The environment's name.
    pub environment: String,
    /// As sent.
    pub created_at: String,
    /// As sent.
    pub updated_at: String,
    /// The job that deployed: (`started_at`, `finished_at`); none for a deployment made through the API.
    pub job: Option<(String, Option<String>)>,
}

/// A merge request.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    /// The project-local id.
    pub iid: u64,
    /// `opened`, `merged`, `closed`.
    pub state: String,
    /// As sent.
    pub created_at: String,
    /// As sent.
    pub merged_at: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// The MR's own commits.
    pub commits: Vec<Commit>,
    /// The merge commit on the target branch (none for a squash or fast-forward merge).
    pub merge_commit_sha: Option<String>,
    /// The squash commit on the target branch, for squash merges.
    pub squash_commit_sha: Option<String>,
}

/// An issue (or incident).
#[derive(Debug, Clone)]
pub struct Issue {
    /// The project-local id.
    pub iid: u64,
    /// `issue` or `incident`.
    pub issue_type: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Labels.
    pub labels: Vec<String>,
    /// As sent.
    pub created_at: String,
    /// As sent.
    pub updated_at: String,
    /// As sent; none while open.
    pub closed_at: Option<String>,
    /// `UNKNOWN`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
    pub severity: String,
}

/// A project with a linear history on its default branch.
#[derive(Debug, Clone)]
pub struct Project {
    /// GitLab's id.
    pub id: u64,
    /// `path_with_namespace`.
    pub path: String,
    /// Archived projects are left out of group lists.
    pub archived: bool,
    /// The default branch, oldest first.
    pub history: Vec<Commit>,
    /// Commits that exist but are not on the default branch (a squashed MR's own commits).
    pub other_commits: Vec<Commit>,
    /// Deployments.
    pub deployments: Vec<Deployment>,
    /// Merge requests.
    pub merge_requests: Vec<MergeRequest>,
    /// Issues.
    pub issues: Vec<Issue>,
}

/// 40 hex digits from a seed, stable across runs.
pub fn sha(seed: &str) -> String {
    let mut out = String::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0u8..3 {
        for b in seed.bytes().chain([round]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}

impl Project {
    /// An empty project.
    pub fn new(id: u64, path: &str) -> Project {
        Project {
            id,
            path: path.into(),
            archived: false,
            history: Vec::new(),
            other_commits: Vec::new(),
            deployments: Vec::new(),
            merge_requests: Vec::new(),
            issues: Vec::new(),
        }
    }

    /// A commit on top of the default branch, authored (and committed) at `at`; its sha.
    pub fn commit(&mut self, at: &str, message: &str) -> String {
        let c = self.make_commit(at, message, "Dana Dev");
        self.history.push(c.clone());
        c.id
    }

    /// A commit that is not on the default branch (an MR's commit that a squash replaced).
    pub fn side_commit(&mut self, at: &str, message: &str) -> Commit {
        let c = self.make_commit(at, message, "Sam Side");
        self.other_commits.push(c.clone());
        c
    }

    fn make_commit(&self, at: &str, message: &str, author: &str) -> Commit {
        let n = self.history.len() + self.other_commits.len();
        Commit {
            id: sha(&format!("{}#{n}#{message}", self.path)),
            title: message.lines().next().unwrap_or_default().to_string(),
            message: message.into(),
            author_name: author.into(),
            authored_date: at.into(),
            committed_date: at.into(),
            parent_ids: self.history.last().map(|c| vec![c.id.clone()]).unwrap_or_default(),
        }
    }

    /// A deployment to `production` by a job that started 10 minutes before it finished.
    pub fn deployment(&mut self, id: u64, sha: &str, status: &str, finished_at: &str) {
        let finished = parse(finished_at);
        let started = fmt(finished - chrono::Duration::minutes(10));
        let created = fmt(finished - chrono::Duration::minutes(15));
        let iid = self.deployments.len() as u64 + 1;
        self.deployments.push(Deployment {
            id,
            iid,
            sha: sha.into(),
            status: status.into(),
            environment: "production".into(),
            created_at: created,
            updated_at: finished_at.into(),
            job: Some((started, Some(finished_at.into()))),
        });
    }

    /// A merged merge request.
    pub fn merged(&mut self, iid: u64, created_at: &str, merged_at: &str, commits: Vec<Commit>) -> &mut MergeRequest {
        self.merge_requests.push(MergeRequest {
            iid,
            state: "merged".into(),
            created_at: created_at.into(),
            merged_at: Some(merged_at.into()),
            labels: Vec::new(),
            commits,
            merge_commit_sha: None,
            squash_commit_sha: None,
        });
        self.merge_requests.last_mut().expect("just pushed")
    }

    /// An issue of `issue_type`, open.
    pub fn issue(&mut self, iid: u64, issue_type: &str, created_at: &str, title: &str) -> &mut Issue {
        self.issues.push(Issue {
            iid,
            issue_type: issue_type.into(),
            title: title.into(),
            description: String::new(),
            labels: Vec::new(),
            created_at: created_at.into(),
            updated_at: created_at.into(),
            closed_at: None,
            severity: "UNKNOWN".into(),
        });
        self.issues.last_mut().expect("just pushed")
    }

    /// A commit (on the default branch or not) by full or short sha.
    pub fn find_commit(&self, sha: &str) -> Option<&Commit> {
        self.history.iter().chain(&self.other_commits).find(|c| sha.len() >= 7 && c.id.starts_with(sha))
    }

    fn json(&self, base: &str) -> Value {
        let name = self.path.rsplit('/').next().unwrap_or_default();
        json!({
            "id": self.id,
            "name": name,
            "path": name,
            "path_with_namespace": self.path,
            "name_with_namespace": self.path.replace('/', " / "),
            "default_branch": "main",
            "archived": self.archived,
            "visibility": "private",
            "web_url": format!("{base}/{}", self.path),
        })
    }
}

fn parse(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).expect("an RFC 3339 time")
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The projects a mock GitLab serves; cloned handles share them.
#[derive(Debug, Clone)]
pub struct GitLab {
    projects: Arc<Mutex<Vec<Project>>>,
    token: String,
    page_size: usize,
    delay: Duration,
}

impl GitLab {
    /// A GitLab accepting `token`, granting at most `page_size` items a page.
    pub fn new(token: &str, page_size: usize) -> GitLab {
        GitLab { projects: Arc::default(), token: token.into(), page_size: page_size.max(1), delay: Duration::ZERO }
    }

    /// Every answer after `delay` (a network's latency, for benchmarks).
    pub fn with_delay(mut self, delay: Duration) -> GitLab {
        self.delay = delay;
        self
    }

    /// Add a project.
    pub fn add(&self, project: Project) {
        self.projects.lock().expect("lock").push(project);
    }

    /// Change a project (a deployment finishes, an incident closes, ...).
    pub fn with(&self, path: &str, f: impl FnOnce(&mut Project)) {
        let mut all = self.projects.lock().expect("lock");
        if let Some(p) = all.iter_mut().find(|p| p.path == path) {
            f(p);
        }
    }

    /// Answer on `server` under `/api/v4`.
    pub async fn mount(&self, server: &MockServer) {
        Mock::given(method("GET"))
            .and(path_regex(r"^/api/v4/"))
            .respond_with(Api { gl: self.clone(), base: server.uri() })
            .with_priority(10)
            .mount(server)
            .await;
    }
}

/// GitLab's error body.
pub fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"message": message}))
}

struct Api {
    gl: GitLab,
    base: String,
}

/// How a list is paged.
#[derive(Clone, Copy, PartialEq)]
enum Paging {
    /// `x-next-page`, `x-page`, ..., `x-total`, and `Link`.
    Offset,
    /// As offset, without `x-total` and `x-total-pages` (large lists).
    NoTotals,
    /// `Link` alone (keyset pagination).
    LinkOnly,
}

impl Api {
    fn page(&self, req: &Request, items: Vec<Value>, paging: Paging) -> ResponseTemplate {
        let q = query(req);
        let one = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let page: usize = one("page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
        let per_page: usize =
            one("per_page").and_then(|v| v.parse().ok()).unwrap_or(20).clamp(1, 100).min(self.gl.page_size);
        let total = items.len();
        let pages = total.div_ceil(per_page).max(1);
        let body: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
        let url_for = |p: usize| {
            let mut u = req.url.clone();
            let kept: Vec<(String, String)> = q.iter().filter(|(k, _)| k != "page").cloned().collect();
            u.query_pairs_mut().clear().extend_pairs(kept).append_pair("page", &p.to_string());
            u.to_string()
        };
        let mut links = Vec::new();
        if page < pages {
            links.push(format!("<{}>; rel=\"next\"", url_for(page + 1)));
        }
        links.push(format!("<{}>; rel=\"first\"", url_for(1)));
        let mut r = ResponseTemplate::new(200).set_body_json(Value::Array(body));
        if paging != Paging::LinkOnly {
            links.push(format!("<{}>; rel=\"last\"", url_for(pages)));
            r = r
                .insert_header("x-page", page.to_string())
                .insert_header("x-per-page", per_page.to_string())
                .insert_header("x-next-page", if page < pages { (page + 1).to_string() } else { String::new() })
                .insert_header("x-prev-page", if page > 1 { (page - 1).to_string() } else { String::new() });
            if paging == Paging::Offset {
                r = r.insert_header("x-total", total.to_string()).insert_header("x-total-pages", pages.to_string());
            }
        }
        r.insert_header("link", links.join(", "))
    }

    fn route(&self, req: &Request) -> ResponseTemplate {
        let want = self.gl.token.as_bytes();
        if req.headers.get("private-token").is_none_or(|v| v.as_bytes() != want) {
            return error(401, "401 Unauthorized");
        }
        let path = req.url.path().trim_start_matches("/api/v4/");
        let parts: Vec<String> = path.split('/').map(decode).collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let q = query(req);
        let one = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let projects = self.gl.projects.lock().expect("lock");
        match parts.as_slice() {
            ["groups", group, "projects"] => {
                let subgroups = one("include_subgroups").as_deref() == Some("true");
                let hide_archived = one("archived").as_deref() == Some("false");
                let items = projects
                    .iter()
                    .filter(|p| {
                        let Some(rest) = p.path.strip_prefix(&format!("{group}/")) else { return false };
                        (subgroups || !rest.contains('/')) && !(hide_archived && p.archived)
                    })
                    .map(|p| p.json(&self.base))
                    .collect();
                self.page(req, items, Paging::LinkOnly)
            }
            ["projects", id, rest @ ..] => {
                let Some(p) = projects.iter().find(|p| p.path == *id || p.id.to_string() == *id) else {
                    return error(404, "404 Project Not Found");
                };
                self.project(req, p, rest, &one)
            }
            _ => error(404, "404 Not Found"),
        }
    }

    fn project(
        &self,
        req: &Request,
        p: &Project,
        rest: &[&str],
        one: &dyn Fn(&str) -> Option<String>,
    ) -> ResponseTemplate {
        let base = &self.base;
        match rest {
            ["deployments"] => {
                let after = one("updated_after").map(|t| parse(&t));
                if after.is_some() && one("order_by").as_deref() != Some("updated_at") {
                    return error(400, "400 Bad request - `updated_after` requires `order_by` to be `updated_at`");
                }
                let env = one("environment");
                let mut list: Vec<&Deployment> = p
                    .deployments
                    .iter()
                    .filter(|d| env.as_ref().is_none_or(|e| &d.environment == e))
                    .filter(|d| after.is_none_or(|a| parse(&d.updated_at) > a))
                    .collect();
                if one("order_by").as_deref() == Some("updated_at") {
                    list.sort_by_key(|d| (parse(&d.updated_at), d.id));
                } else {
                    list.sort_by_key(|d| d.id);
                }
                let items = list.iter().map(|d| deployment_json(d, p, base)).collect();
                self.page(req, items, Paging::Offset)
            }
            ["repository", "compare"] => {
                let (Some(from), Some(to)) = (one("from"), one("to")) else {
                    return error(400, "400 Bad request - from, to are missing");
                };
                let idx = |s: &str| p.history.iter().position(|c| c.id == s);
                let (Some(f), Some(t)) = (idx(&from), idx(&to)) else {
                    return error(404, "404 Ref Not Found");
                };
                let commits: Vec<Value> = if f < t {
                    p.history[f + 1..=t].iter().map(|c| c.json(base, &p.path)).collect()
                } else {
                    Vec::new()
                };
                ResponseTemplate::new(200).set_body_json(json!({
                    "commit": commits.last().cloned(),
                    "commits": commits,
                    "diffs": [],
                    "compare_timeout": false,
                    "compare_same_ref": from == to,
                    "web_url": format!("{base}/{}/-/compare/{from}...{to}", p.path),
                }))
            }
            ["repository", "commits"] => {
                let Some(head) = one("ref_name") else {
                    return self.page(
                        req,
                        p.history.iter().rev().map(|c| c.json(base, &p.path)).collect(),
                        Paging::NoTotals,
                    );
                };
                let Some(t) = p.history.iter().position(|c| c.id == head) else {
                    return error(404, "404 Ref Not Found");
                };
                let since = one("since").map(|s| parse(&s));
                let items = p.history[..=t]
                    .iter()
                    .rev()
                    .filter(|c| since.is_none_or(|s| parse(&c.committed_date) >= s))
                    .map(|c| c.json(base, &p.path))
                    .collect();
                self.page(req, items, Paging::NoTotals)
            }
            ["repository", "commits", sha] => match p.find_commit(sha) {
                Some(c) => ResponseTemplate::new(200).set_body_json(c.json(base, &p.path)),
                None => error(404, "404 Commit Not Found"),
            },
            ["repository", "commits", sha, "merge_requests"] => {
                let Some(c) = p.find_commit(sha) else { return error(404, "404 Commit Not Found") };
                let items = p
                    .merge_requests
                    .iter()
                    .filter(|mr| {
                        mr.commits.iter().any(|m| m.id == c.id)
                            || mr.merge_commit_sha.as_deref() == Some(c.id.as_str())
                            || mr.squash_commit_sha.as_deref() == Some(c.id.as_str())
                    })
                    .map(|mr| mr_json(mr, p, base))
                    .collect();
                self.page(req, items, Paging::Offset)
            }
            ["merge_requests", iid, "commits"] => match p.merge_requests.iter().find(|mr| mr.iid.to_string() == *iid) {
                Some(mr) => {
                    self.page(req, mr.commits.iter().rev().map(|c| c.json(base, &p.path)).collect(), Paging::Offset)
                }
                None => error(404, "404 Not found"),
            },
            ["issues"] => {
                let kind = one("issue_type");
                let labels: Vec<String> =
                    one("labels").map(|l| l.split(',').map(str::to_string).collect()).unwrap_or_default();
                let after = one("updated_after").map(|t| parse(&t));
                let items = p
                    .issues
                    .iter()
                    .filter(|i| kind.as_ref().is_none_or(|k| &i.issue_type == k))
                    .filter(|i| labels.iter().all(|l| i.labels.iter().any(|il| il.eq_ignore_ascii_case(l))))
                    .filter(|i| after.is_none_or(|a| parse(&i.updated_at) >= a))
                    .map(|i| issue_json(i, p, base))
                    .collect();
                self.page(req, items, Paging::Offset)
            }
            _ => error(404, "404 Not Found"),
        }
    }
}

impl Respond for Api {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.route(req).set_delay(self.gl.delay)
    }
}

fn deployment_json(d: &Deployment, p: &Project, base: &str) -> Value {
    json!({
        "id": d.id,
        "iid": d.iid,
        "ref": "main",
        "sha": d.sha,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "status": d.status,
        "user": {"id": 1, "username": "deployer", "name": "Deploy Bot", "state": "active"},
        "environment": {"id": 9, "name": d.environment, "slug": d.environment, "external_url": null, "state": "available", "tier": "production"},
        "deployable": d.job.as_ref().map(|(started, finished)| json!({
            "id": d.id * 10,
            "status": if d.status == "running" { "running" } else { d.status.as_str() },
            "stage": "deploy",
            "name": "deploy",
            "ref": "main",
            "tag": false,
            "created_at": d.created_at,
            "started_at": started,
            "finished_at": finished,
            "commit": {"id": d.sha, "short_id": &d.sha[..8]},
            "pipeline": {"id": d.id * 100, "sha": d.sha, "ref": "main", "status": d.status},
            "web_url": format!("{base}/{}/-/jobs/{}", p.path, d.id * 10),
        })),
    })
}

fn mr_json(mr: &MergeRequest, p: &Project, base: &str) -> Value {
    json!({
        "id": p.id * 1000 + mr.iid,
        "iid": mr.iid,
        "project_id": p.id,
        "title": format!("MR !{}", mr.iid),
        "state": mr.state,
        "created_at": mr.created_at,
        "updated_at": mr.merged_at.clone().unwrap_or_else(|| mr.created_at.clone()),
        "merged_at": mr.merged_at,
        "closed_at": null,
        "target_branch": "main",
        "source_branch": format!("feature-{}", mr.iid),
        "labels": mr.labels,
        "squash": mr.squash_commit_sha.is_some(),
        "sha": mr.commits.last().map(|c| c.id.clone()),
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": mr.squash_commit_sha,
        "web_url": format!("{base}/{}/-/merge_requests/{}", p.path, mr.iid),
    })
}

fn issue_json(i: &Issue, p: &Project, base: &str) -> Value {
    json!({
        "id": p.id * 1000 + i.iid,
        "iid": i.iid,
        "project_id": p.id,
        "title": i.title,
        "description": i.description,
        "state": if i.closed_at.is_some() { "closed" } else { "opened" },
        "created_at": i.created_at,
        "updated_at": i.updated_at,
        "closed_at": i.closed_at,
        "labels": i.labels,
        "issue_type": i.issue_type,
        "type": i.issue_type.to_uppercase(),
        "severity": i.severity,
        "web_url": format!("{base}/{}/-/issues/{}", p.path, i.iid),
    })
}

fn query(req: &Request) -> Vec<(String, String)> {
    req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Percent-decoding of one path segment (`acme%2Fapi` -> `acme/api`).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
