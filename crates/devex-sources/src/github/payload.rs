//! GitHub's REST payloads, as devex reads them: only the fields it uses, typed.
//! Fields GitHub adds are ignored; a required field that is missing or of the
//! wrong type makes the item malformed ([`item`] names the URL, the field and
//! the item), which fails its repository cleanly.
//!
//! ```
//! use devex_sources::github::payload::{Deployment, item};
//! let v = serde_json::json!({"id": 42, "sha": "abc", "environment": "production",
//!                            "created_at": "2026-03-02T10:00:00Z", "url": null, "new_field": 1});
//! let d: Deployment = item(&v, "https://api.github.com/repos/acme/api/deployments").unwrap();
//! assert_eq!((d.id.as_str(), d.environment.as_str()), ("42", "production"));
//! let bad = serde_json::json!({"id": 42});
//! let e = item::<Deployment>(&bad, "https://x/deployments").unwrap_err().to_string();
//! assert!(e.contains("missing field `sha`"), "{e}");
//! ```

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::client::ApiError;
use super::parse::malformed;

/// One item of a page as `T`, or a malformed-response error naming `url`, the field and the item.
pub fn item<T: DeserializeOwned>(v: &Value, url: &str) -> Result<T, ApiError> {
    T::deserialize(v).map_err(|e| malformed(url, format!("{e} in {}", brief(v))))
}

/// Every item of a page as `T`.
pub fn items<T: DeserializeOwned>(values: &[Value], url: &str) -> Result<Vec<T>, ApiError> {
    values.iter().map(|v| item(v, url)).collect()
}

fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 { format!("{}…", &s[..s.floor_char_boundary(120)]) } else { s }
}

/// GitHub's ids and numbers are JSON numbers; devex keeps them as text.
fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(i64),
        Text(String),
    }
    Ok(match Id::deserialize(d)? {
        Id::Number(n) => n.to_string(),
        Id::Text(s) => s,
    })
}

/// `null` as the type's default (GitHub sends `"labels": null` now and then).
fn or_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /repos/{repo}/deployments` item.
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub sha: String,
    pub environment: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `GET /repos/{repo}/deployments/{id}/statuses` item.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentStatus {
    pub state: String,
    pub created_at: DateTime<Utc>,
}

/// `GET /repos/{repo}` and `GET /orgs/{org}/repos` item.
#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub archived: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub topics: Vec<String>,
}

/// `GET /repos/{repo}/actions/runs` item (under `workflow_runs`).
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowRun {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub head_branch: Option<String>,
    pub head_sha: String,
    #[serde(default)]
    pub run_started_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// `GET /repos/{repo}/releases` item.
#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub tag_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub draft: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub prerelease: bool,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A commit: `GET /repos/{repo}/commits`, `/commits/{ref}`, `/compare/...` and
/// `/pulls/{n}/commits` items.
#[derive(Debug, Clone, Deserialize)]
pub struct Commit {
    pub sha: String,
    #[serde(default)]
    pub commit: CommitDetail,
    /// The GitHub user, when the author's email maps to one.
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub parents: Option<Vec<Value>>,
}

/// The git part of a commit.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CommitDetail {
    #[serde(default)]
    pub author: Option<Signature>,
    #[serde(default)]
    pub committer: Option<Signature>,
    #[serde(default, deserialize_with = "or_default")]
    pub message: String,
}

/// A git author or committer.
#[derive(Debug, Clone, Deserialize)]
pub struct Signature {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub date: Option<DateTime<Utc>>,
}

/// A GitHub user.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    #[serde(default)]
    pub login: Option<String>,
}

/// `GET /repos/{repo}/compare/{base}...{head}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Compare {
    pub commits: Vec<Value>,
}

/// A label: an object with a `name`, or (in some payloads) a bare string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Named { name: String },
    Bare(String),
}

impl Label {
    pub fn name(&self) -> &str {
        match self {
            Label::Named { name } | Label::Bare(name) => name,
        }
    }
}

/// The names of `labels`.
pub fn label_names(labels: &[Label]) -> Vec<String> {
    labels.iter().map(|l| l.name().to_string()).collect()
}

/// `GET /repos/{repo}/pulls` item.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    pub number: i64,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub labels: Vec<Label>,
}

/// `GET /repos/{repo}/pulls/{n}/reviews` item.
#[derive(Debug, Clone, Deserialize)]
pub struct Review {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub submitted_at: Option<DateTime<Utc>>,
}

/// `GET /repos/{repo}/issues` item (pull requests included, marked by `pull_request`).
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    pub number: i64,
    #[serde(default)]
    pub pull_request: Option<Value>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub labels: Vec<Label>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_github_shapes_and_name_what_is_wrong() {
        let c: Commit = item(
            &serde_json::json!({"sha": "c1", "commit": {"author": {"name": "Ann", "date": "2026-03-01T10:00:00+01:00"},
                                "message": "fix"}, "author": null, "parents": [{}, {}]}),
            "u",
        )
        .unwrap();
        assert_eq!(
            c.commit.author.and_then(|a| a.date).map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-03-01T09:00:00+00:00")
        );
        assert_eq!(c.parents.map(|p| p.len()), Some(2));
        let i: Issue = item(
            &serde_json::json!({"number": 7, "labels": [{"name": "incident"}, "sev1"], "created_at": "2026-03-01T10:00:00Z",
                                "closed_at": null, "body": null}),
            "u",
        )
        .unwrap();
        assert_eq!(label_names(&i.labels), ["incident", "sev1"]);
        let e = item::<Issue>(&serde_json::json!({"number": 7, "created_at": "yesterday"}), "https://x/issues")
            .unwrap_err()
            .to_string();
        assert!(e.contains("https://x/issues") && e.contains("yesterday"), "{e}");
    }
}
