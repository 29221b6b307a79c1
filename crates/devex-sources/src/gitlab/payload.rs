//! GitLab's REST v4 payloads, as devex reads them: only the fields it uses,
//! typed. Fields GitLab adds are ignored; a required field that is missing or
//! of the wrong type makes the item malformed ([`item`] names the URL, the
//! field and the item), which fails its project cleanly.
//!
//! ```
//! use devex_sources::gitlab::payload::{Deployment, item};
//! let v = serde_json::json!({"id": 42, "sha": "abc", "status": "success",
//!     "created_at": "2026-03-02T10:00:00Z", "updated_at": "2026-03-02T10:05:00Z",
//!     "environment": {"name": "production"}, "deployable": null, "new_field": 1});
//! let d: Deployment = item(&v, "https://gitlab.com/api/v4/projects/1/deployments").unwrap();
//! assert_eq!((d.id, d.environment.name.as_str()), (42, "production"));
//! let e = item::<Deployment>(&serde_json::json!({"id": 42}), "https://x").unwrap_err().to_string();
//! assert!(e.contains("missing field"), "{e}");
//! ```

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::http::HttpError;

/// One item as `T`, or a malformed-response error naming `url`, the field and the item.
pub fn item<T: DeserializeOwned>(v: &Value, url: &str) -> Result<T, HttpError> {
    T::deserialize(v).map_err(|e| HttpError::malformed(url, format!("{e} in {}", brief(v))))
}

/// Every item as `T`.
pub fn items<T: DeserializeOwned>(values: &[Value], url: &str) -> Result<Vec<T>, HttpError> {
    values.iter().map(|v| item(v, url)).collect()
}

fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 { format!("{}…", &s[..s.floor_char_boundary(120)]) } else { s }
}

/// `null` as the type's default.
fn or_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A time with any offset, in UTC.
fn time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an RFC 3339 time")))
}

fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an RFC 3339 time"))),
    }
}

/// `GET /groups/:group/projects` item.
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub path_with_namespace: String,
    #[serde(default)]
    pub archived: bool,
}

/// `GET /projects/:id/deployments` item.
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    pub status: String,
    #[serde(deserialize_with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time")]
    pub updated_at: DateTime<Utc>,
    pub environment: Environment,
    #[serde(default)]
    pub deployable: Option<Job>,
}

/// A deployment's environment.
#[derive(Debug, Clone, Deserialize)]
pub struct Environment {
    pub name: String,
}

/// The job that ran a deployment.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    #[serde(default, deserialize_with = "opt_time")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "opt_time")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub web_url: Option<String>,
}

/// A commit (compare, commit lists, a single commit).
#[derive(Debug, Clone, Deserialize)]
pub struct Commit {
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub message: String,
    #[serde(default)]
    pub author_name: Option<String>,
    #[serde(deserialize_with = "time")]
    pub authored_date: DateTime<Utc>,
    #[serde(default, deserialize_with = "or_default")]
    pub parent_ids: Vec<String>,
}

/// `GET /projects/:id/repository/compare`.
#[derive(Debug, Clone, Deserialize)]
pub struct Compare {
    #[serde(default, deserialize_with = "or_default")]
    pub commits: Vec<Commit>,
}

/// `GET /projects/:id/repository/commits/:sha/merge_requests` item.
#[derive(Debug, Clone, Deserialize)]
pub struct MergeRequest {
    pub iid: i64,
    pub state: String,
    #[serde(deserialize_with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "opt_time")]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "or_default")]
    pub labels: Vec<String>,
    #[serde(default)]
    pub squash_commit_sha: Option<String>,
}

/// `GET /projects/:id/issues` item.
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    pub iid: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
    #[serde(default, deserialize_with = "or_default")]
    pub labels: Vec<String>,
    #[serde(deserialize_with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "opt_time")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub issue_type: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
}
