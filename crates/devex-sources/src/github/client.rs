//! GitHub's REST API over octocrab's transport (auth header, base URI for
//! GitHub Enterprise, TLS, timeouts), with devex's own request policy:
//!
//! - primary rate limits: when `x-ratelimit-remaining` reaches 0, every request
//!   waits until `x-ratelimit-reset`, saying until when;
//! - secondary rate limits: a 403 or 429 with `retry-after` waits that long;
//!   one without it (GitHub's "secondary rate limit" message, or any 429) waits
//!   at least a minute, then exponentially longer, as GitHub documents;
//! - every wait is capped (`max_wait_secs`): past the cap the request fails with
//!   a hint, so one repository cannot hold a nightly run for hours;
//! - 5xx, timeouts and connection errors are retried with exponential backoff
//!   and jitter, a bounded number of times;
//! - 401 and 404 fail at once with a hint;
//! - conditional requests: a cached `ETag` is sent as `If-None-Match`, and a
//!   304 (free of rate limit) reuses the cached page;
//! - pagination follows `Link: <...>; rel="next"`.
//!
//! The token lives in octocrab's secret and in no URL, message or cache file.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::header::{HeaderMap, HeaderValue};
use octocrab::Octocrab;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::http::RetryPolicy;
use crate::http::backoff;
use devex_ingest::IngestError;
use devex_ingest::progress::{Event, Level, Progress};

/// Why a request failed for good.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// An HTTP status that retrying does not fix (401, 403 without rate limit, 404, 422, ...).
    #[error("GET {url}: HTTP {status}: {message}")]
    Status {
        /// The request URL (no token in it).
        url: String,
        /// The status.
        status: u16,
        /// GitHub's `message`, if any.
        message: String,
    },
    /// Still failing after the retries.
    #[error("GET {url}: gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// The request URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// A response that is not the JSON GitHub documents.
    #[error("GET {url}: malformed response: {reason}")]
    Malformed {
        /// The request URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// GitHub asked for a longer wait than `max_wait_secs` allows.
    #[error("GET {url}: GitHub rate limit: a wait of {wait_secs} s is longer than max_wait_secs = {cap_secs}")]
    RateLimited {
        /// The request URL.
        url: String,
        /// The wait GitHub asked for.
        wait_secs: u64,
        /// The configured cap.
        cap_secs: u64,
    },
    /// The client could not be built (bad base URL).
    #[error("{0}")]
    Setup(String),
    /// The lake's `_state` failed: a storage error, whatever GitHub did.
    #[error(transparent)]
    State(std::sync::Arc<IngestError>),
}

impl ApiError {
    /// What to do about it, when obvious.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ApiError::Status { status: 401, .. } => {
                Some("the token was refused: check that it is set, not expired, and has `repo` (or read) scope")
            }
            ApiError::Status { status: 403, .. } => {
                Some("the token lacks permission for this resource (scope, SSO authorisation, or org policy)")
            }
            ApiError::Status { status: 404, .. } => {
                Some("check the repository name and that the token can see it (private repos need `repo` scope)")
            }
            ApiError::Exhausted { .. } => Some("GitHub kept failing; the next run retries from the same watermark"),
            ApiError::RateLimited { .. } => Some(
                "the next run retries from the same watermark; to wait longer, raise max_wait_secs, or run at a quieter hour",
            ),
            ApiError::Malformed { .. } => Some("the next run retries; if it persists, check base_url"),
            _ => None,
        }
    }

    /// The error that fails source `name`: a `_state` error keeps its class
    /// (the run exits 2); any other is the source's (exit 3).
    pub fn into_ingest(self, name: &str) -> IngestError {
        let hint = self.hint().map(str::to_string);
        match self {
            ApiError::State(e) => crate::http::shared_error(e),
            other => IngestError::Source { name: name.to_string(), message: other.to_string(), hint },
        }
    }
}

/// A cached page for conditional requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedPage {
    /// The `ETag` GitHub sent.
    pub etag: String,
    /// The `Link` header, for pagination.
    pub link: Option<String>,
    /// The body.
    pub body: Value,
}

/// One page of a response.
#[derive(Debug, Clone)]
pub struct Page {
    /// The JSON body.
    pub body: Value,
    /// The next page's URL from the `Link` header.
    pub next: Option<String>,
}

/// A GitHub API client shared by every repository of a source.
#[derive(Clone)]
pub struct Client {
    octo: Octocrab,
    base: String,
    retry: RetryPolicy,
    requests: Arc<AtomicU64>,
    not_modified: Arc<AtomicU64>,
    paused_until: Arc<Mutex<Option<DateTime<Utc>>>>,
    cache: Arc<Mutex<HashMap<String, CachedPage>>>,
    fresh: Arc<Mutex<HashMap<String, CachedPage>>>,
    notify: Progress,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `base_url` (e.g. `https://api.github.com`, or `https://HOST/api/v3`).
    /// `notify` receives progress messages (rate-limit waits, retries).
    pub fn new(
        base_url: &str,
        token: Option<String>,
        timeout: Duration,
        retry: RetryPolicy,
        cache: HashMap<String, CachedPage>,
        notify: Progress,
    ) -> Result<Client, ApiError> {
        let base = base_url.trim_end_matches('/').to_string();
        if token.is_some() {
            crate::endpoint::check_token_transport(&base).map_err(ApiError::Setup)?;
        }
        let mut builder = Octocrab::builder()
            .base_uri(base.as_str())
            .map_err(|e| ApiError::Setup(format!("base_url `{base}`: {e}")))?
            .set_connect_timeout(Some(timeout))
            .set_read_timeout(Some(timeout))
            .add_header(http::header::HeaderName::from_static("x-github-api-version"), "2022-11-28".into());
        if let Some(t) = token {
            builder = builder.personal_token(t);
        }
        let octo = builder.build().map_err(|e| ApiError::Setup(format!("GitHub client: {e}")))?;
        Ok(Client {
            octo,
            base,
            retry,
            requests: Arc::default(),
            not_modified: Arc::default(),
            paused_until: Arc::default(),
            cache: Arc::new(Mutex::new(cache)),
            fresh: Arc::default(),
            notify,
        })
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Of which answered 304 Not Modified from the cache.
    pub fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }

    /// The conditional-request cache of the pages this client fetched, to persist
    /// between runs (pages no longer asked for drop out).
    pub fn cache(&self) -> HashMap<String, CachedPage> {
        self.fresh.lock().expect("cache lock").clone()
    }

    fn remember(&self, url: &str, page: CachedPage) {
        self.cache.lock().expect("cache lock").insert(url.to_string(), page.clone());
        self.fresh.lock().expect("cache lock").insert(url.to_string(), page);
    }

    /// An absolute URL for an API path (`/repos/o/r/deployments?per_page=100`).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Every page of a list endpoint, following `Link` headers, until `more`
    /// says a page reaches past what is wanted (it sees each page's items).
    /// `key` names the array in endpoints that wrap their list
    /// (`{"total_count": n, "workflow_runs": [...]}`).
    pub async fn list(
        &self,
        path: &str,
        key: Option<&str>,
        more: impl Fn(&[Value]) -> bool,
    ) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        let mut url = Some(self.url(path));
        while let Some(u) = url {
            let page = self.get(&u).await?;
            let items = match (key, page.body) {
                (None, Value::Array(items)) => items,
                (Some(k), Value::Object(mut map)) => match map.remove(k) {
                    Some(Value::Array(items)) => items,
                    _ => return Err(ApiError::Malformed { url: u, reason: format!("expected an array `{k}`") }),
                },
                _ => return Err(ApiError::Malformed { url: u, reason: "expected a JSON array".into() }),
            };
            let go_on = more(&items);
            out.extend(items);
            url = if go_on { page.next } else { None };
        }
        Ok(out)
    }

    /// One GET with the retry, rate-limit and conditional-request policy.
    pub async fn get(&self, url: &str) -> Result<Page, ApiError> {
        let url = self.url(url);
        let mut attempt = 0u32;
        let mut secondary = 0u32;
        loop {
            self.wait_for_rate_limit(&url).await?;
            let cached = self.cache.lock().expect("cache lock").get(&url).cloned();
            let mut headers = HeaderMap::new();
            headers.insert(http::header::ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
            if let Some(c) = &cached
                && let Ok(v) = HeaderValue::from_str(&c.etag)
            {
                headers.insert(http::header::IF_NONE_MATCH, v);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self.octo._get_with_headers(url.as_str(), Some(headers)).await {
                Err(e) => transport_message(&e),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let h = resp.headers().clone();
                    self.note_rate_limit(&h);
                    let body = self.octo.body_to_string(resp).await;
                    match (status, body) {
                        (304, _) if cached.is_some() => {
                            self.not_modified.fetch_add(1, Ordering::Relaxed);
                            let c = cached.expect("checked");
                            self.remember(&url, c.clone());
                            return Ok(Page { body: c.body, next: c.link.as_deref().and_then(next_link) });
                        }
                        (200..=299, Ok(text)) => {
                            let body: Value = serde_json::from_str(&text).map_err(|e| ApiError::Malformed {
                                url: url.clone(),
                                reason: format!("not JSON ({e})"),
                            })?;
                            let link = header(&h, "link");
                            if let Some(etag) = header(&h, "etag") {
                                self.remember(&url, CachedPage { etag, link: link.clone(), body: body.clone() });
                            }
                            return Ok(Page { body, next: link.as_deref().and_then(next_link) });
                        }
                        (200..=299, Err(e)) => format!("reading the body: {}", transport_message(&e)),
                        (403 | 429, text) if status == 429 || rate_limited(&h, text.as_deref().ok()) => {
                            let message = text.ok().and_then(|t| message_of(&t));
                            let wait = match header(&h, "retry-after").and_then(|v| v.parse::<u64>().ok()) {
                                Some(secs) => Duration::from_secs(secs),
                                None if remaining(&h) == Some(0) => {
                                    until_reset(&h).unwrap_or(self.retry.secondary_wait)
                                }
                                // A secondary limit without retry-after: a minute, then doubling.
                                None => {
                                    secondary += 1;
                                    self.retry.secondary_wait.saturating_mul(1 << (secondary - 1).min(16))
                                }
                            };
                            self.check_wait(&url, wait)?;
                            let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                            (self.notify)(&Event::new(
                                Level::Wait,
                                format!(
                                    "GitHub rate limit (HTTP {status}{}): waiting {} s, until {} UTC",
                                    message.map(|m| format!(": {m}")).unwrap_or_default(),
                                    wait.as_secs_f64().ceil(),
                                    until.format("%H:%M:%S")
                                ),
                            ));
                            tokio::time::sleep(wait).await;
                            // A rate-limit wait is not a failed attempt, but bound them all the same.
                            attempt += 1;
                            if attempt > self.retry.max_retries + 10 {
                                return Err(ApiError::Exhausted {
                                    url,
                                    attempts: attempt,
                                    last: format!("HTTP {status} rate limited"),
                                });
                            }
                            continue;
                        }
                        (500..=599, _) => format!("HTTP {status}"),
                        (_, text) => {
                            let message = text.ok().and_then(|t| message_of(&t)).unwrap_or_default();
                            return Err(ApiError::Status { url, status, message });
                        }
                    }
                }
            };
            attempt += 1;
            if attempt > self.retry.max_retries {
                return Err(ApiError::Exhausted { url, attempts: attempt, last: failure });
            }
            let delay = backoff(self.retry.base, attempt, &url);
            (self.notify)(&Event::new(
                Level::Wait,
                format!(
                    "GET {url}: {failure}; retry {attempt} of {} in {} ms",
                    self.retry.max_retries,
                    delay.as_millis()
                ),
            ));
            tokio::time::sleep(delay).await;
        }
    }

    fn note_rate_limit(&self, h: &HeaderMap) {
        if remaining(h) == Some(0)
            && let Some(reset) = header(h, "x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())
            && let Some(at) = DateTime::from_timestamp(reset, 0)
        {
            let mut p = self.paused_until.lock().expect("pause lock");
            if p.is_none_or(|old| old < at) {
                *p = Some(at);
            }
        }
    }

    /// A wait longer than the cap fails the request.
    fn check_wait(&self, url: &str, wait: Duration) -> Result<(), ApiError> {
        if wait > self.retry.max_wait {
            return Err(ApiError::RateLimited {
                url: url.to_string(),
                wait_secs: wait.as_secs(),
                cap_secs: self.retry.max_wait.as_secs(),
            });
        }
        Ok(())
    }

    async fn wait_for_rate_limit(&self, url: &str) -> Result<(), ApiError> {
        let until = *self.paused_until.lock().expect("pause lock");
        let Some(until) = until else { return Ok(()) };
        let now = Utc::now();
        if until > now {
            let wait = (until - now).to_std().unwrap_or_default();
            self.check_wait(url, wait)?;
            (self.notify)(&Event::new(
                Level::Wait,
                format!(
                    "GitHub rate limit exhausted: waiting {} s, until {} UTC (x-ratelimit-reset)",
                    wait.as_secs_f64().ceil(),
                    until.format("%H:%M:%S")
                ),
            ));
            tokio::time::sleep(wait).await;
        }
        let mut p = self.paused_until.lock().expect("pause lock");
        if p.is_some_and(|t| t <= Utc::now()) {
            *p = None;
        }
        Ok(())
    }
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// A 403 that is a rate limit rather than a permission problem: it names a
/// `retry-after`, the primary limit is spent, or GitHub's message says so.
fn rate_limited(h: &HeaderMap, body: Option<&str>) -> bool {
    header(h, "retry-after").is_some()
        || remaining(h) == Some(0)
        || body.and_then(message_of).is_some_and(|m| m.to_ascii_lowercase().contains("rate limit"))
}

fn remaining(h: &HeaderMap) -> Option<u64> {
    header(h, "x-ratelimit-remaining").and_then(|v| v.parse().ok())
}

fn until_reset(h: &HeaderMap) -> Option<Duration> {
    let reset = header(h, "x-ratelimit-reset")?.parse::<i64>().ok()?;
    let secs = reset - Utc::now().timestamp();
    Some(Duration::from_secs(secs.max(1) as u64))
}

/// GitHub's error `message`.
fn message_of(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.get("message")?.as_str().map(str::to_string)
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// A transport error's message without anything that could carry a secret:
/// octocrab's errors name the failing layer and the OS error, never headers.
fn transport_message(e: &octocrab::Error) -> String {
    let text = match e {
        octocrab::Error::Hyper { source, .. } => format!("connection failed: {source}"),
        octocrab::Error::Service { source, .. } => format!("request failed: {source}"),
        other => format!("request failed: {other}"),
    };
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let link = "<https://api.github.com/repos/o/r/deployments?page=2>; rel=\"next\", \
                    <https://api.github.com/repos/o/r/deployments?page=5>; rel=\"last\"";
        assert_eq!(next_link(link).as_deref(), Some("https://api.github.com/repos/o/r/deployments?page=2"));
        assert_eq!(next_link("<https://x/?page=1>; rel=\"prev\""), None);
    }
}
