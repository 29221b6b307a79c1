//! The request policy of the pull sources that speak plain HTTP (GitLab,
//! PagerDuty, Typeform and Google Forms), over reqwest:
//!
//! - the token goes in the API's auth header (`PRIVATE-TOKEN`,
//!   `Authorization: Token token=...` or `Authorization: Bearer ...`), marked
//!   sensitive, and in no URL, message or file; a token is sent over plain
//!   http only to loopback;
//! - an API with a per-account request rate (Typeform) is paced on the client
//!   ([`HttpClient::with_rate`]);
//! - 5xx, timeouts and connection errors are retried with exponential backoff
//!   and jitter, a bounded number of times;
//! - a 429 waits what the API says (GitLab: `Retry-After`, else until
//!   `RateLimit-Reset`; PagerDuty: `ratelimit-reset` seconds), saying so, and
//!   retries; a wait past the cap fails the request;
//! - 401, 403 and 404 fail at once with a hint; other 4xx fail at once too.
//!
//! Pagination is the caller's: GitLab pages by `x-next-page`/`Link`, PagerDuty
//! by `offset`/`more`, so [`HttpClient::get`] returns the headers with the body.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_sources::http::HttpError> {
//! use devex_sources::http::{Api, HttpClient, RetryPolicy};
//! use std::time::Duration;
//! let client = HttpClient::new(Api::Gitlab, "https://gitlab.com/api/v4", Some("glpat-...".into()),
//!     Duration::from_secs(30), RetryPolicy::new(5, Duration::from_millis(500)),
//!     devex_ingest::progress::silent())?;
//! let page = client.get("/projects/acme%2Fapi/deployments?environment=production").await?;
//! println!("{} deployments, next page {:?}", page.body.as_array().map_or(0, Vec::len), page.header("x-next-page"));
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use devex_ingest::IngestError;
use devex_ingest::progress::{Event, Level, Progress};

/// Which API a client speaks: its auth header, rate-limit headers and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// GitLab REST v4.
    Gitlab,
    /// PagerDuty REST v2.
    Pagerduty,
    /// Typeform's Create and Responses APIs.
    Typeform,
    /// The Google Forms API v1.
    GoogleForms,
    /// An OAuth 2.0 token endpoint (Google's `token_uri`): no token of its own.
    GoogleOauth,
}

impl Api {
    /// For people: `GitLab`, `PagerDuty`.
    pub fn label(self) -> &'static str {
        match self {
            Api::Gitlab => "GitLab",
            Api::Pagerduty => "PagerDuty",
            Api::Typeform => "Typeform",
            Api::GoogleForms => "Google Forms",
            Api::GoogleOauth => "Google OAuth",
        }
    }

    fn auth(self, token: &str) -> Result<(HeaderName, HeaderValue), String> {
        let (name, value) = match self {
            Api::Gitlab => (HeaderName::from_static("private-token"), token.to_string()),
            Api::Pagerduty => (reqwest::header::AUTHORIZATION, format!("Token token={token}")),
            Api::Typeform | Api::GoogleForms | Api::GoogleOauth => {
                (reqwest::header::AUTHORIZATION, format!("Bearer {token}"))
            }
        };
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| format!("the {} token has characters an HTTP header cannot carry", self.label()))?;
        value.set_sensitive(true);
        Ok((name, value))
    }

    fn accept(self) -> &'static str {
        match self {
            Api::Gitlab | Api::Typeform | Api::GoogleForms | Api::GoogleOauth => "application/json",
            Api::Pagerduty => "application/vnd.pagerduty+json;version=2",
        }
    }

    /// How long a 429 asks to wait, if it says.
    fn rate_limit_wait(self, h: &HeaderMap) -> Option<Duration> {
        let secs = |name: &str| header(h, name).and_then(|v| v.trim().parse::<f64>().ok()).filter(|s| *s >= 0.0);
        match self {
            Api::Gitlab => secs("retry-after").map(Duration::from_secs_f64).or_else(|| {
                let reset = header(h, "ratelimit-reset")?.trim().parse::<i64>().ok()?;
                Some(Duration::from_secs((reset - Utc::now().timestamp()).max(1) as u64))
            }),
            Api::Pagerduty => secs("ratelimit-reset").map(Duration::from_secs_f64),
            // Typeform's and Google's 429s may name no wait: then back off.
            Api::Typeform | Api::GoogleForms | Api::GoogleOauth => secs("retry-after").map(Duration::from_secs_f64),
        }
    }

    fn hint(self, status: u16) -> Option<&'static str> {
        match (self, status) {
            (Api::Gitlab, 401) => {
                Some("the token was refused: check that it is set, not expired or revoked, and has `read_api` scope")
            }
            (Api::Gitlab, 403) => Some("the token lacks access: it needs `read_api` scope and at least Reporter role"),
            (Api::Gitlab, 404) => {
                Some("check the project or group path (path_with_namespace) and that the token's user can see it")
            }
            (Api::Pagerduty, 401) => {
                Some("the API key was refused: check that it is set and is a REST API key (not an integration key)")
            }
            (Api::Pagerduty, 403) => Some("the API key lacks access to these incidents or services"),
            (Api::Pagerduty, 404) => {
                Some("check base_url (EU accounts use https://api.eu.pagerduty.com) and the service ids")
            }
            (Api::Typeform, 401) => Some(
                "the token was refused: check that it is set and is a Typeform personal access token that is not revoked",
            ),
            (Api::Typeform, 403) => Some("the token lacks a scope: it needs `responses:read` and `forms:read`"),
            (Api::Typeform, 404) => Some(
                "check the form id and base_url (EU data center: https://api.eu.typeform.com), and that the \
                 token's account can see the form",
            ),
            (Api::GoogleForms, 401) => Some(
                "the access token was refused: an access token from token_env expires after an hour; \
                 a service-account key (credentials_env) renews its own",
            ),
            (Api::GoogleForms, 403) => Some(
                "share the form with the service account's client_email (or the token's user), and enable the \
                 Google Forms API in its project; the token needs forms.responses.readonly and forms.body.readonly",
            ),
            (Api::GoogleForms, 404) => Some(
                "check the form id (the one in the form's edit URL, /forms/d/<id>/edit) and that the form is \
                 shared with the service account",
            ),
            (Api::GoogleOauth, 400 | 401 | 403) => Some(
                "the service-account key was refused: check that the key is current (not deleted in the Cloud \
                 console) and this machine's clock",
            ),
            _ => None,
        }
    }
}

/// Why a request failed for good. No variant carries the token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// An HTTP status that retrying does not fix (401, 403, 404, 400, ...).
    #[error("{method} {url}: HTTP {status}{}", message_suffix(.message))]
    Status {
        /// The API it came from.
        api: Api,
        /// `GET` or `POST`.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The status.
        status: u16,
        /// The API's error message, if any.
        message: String,
    },
    /// Still failing after the retries.
    #[error("{method} {url}: gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// `GET` or `POST`.
        method: &'static str,
        /// The request URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// A response that is not the JSON the API documents.
    #[error("{method} {url}: malformed response: {reason}")]
    Malformed {
        /// `GET` or `POST`.
        method: &'static str,
        /// The request URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A rate limit asked for a longer wait than the cap.
    #[error("{method} {url}: rate limited: a wait of {wait_secs} s is longer than the {cap_secs} s devex waits")]
    RateLimited {
        /// `GET` or `POST`.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The wait asked for.
        wait_secs: u64,
        /// The cap.
        cap_secs: u64,
    },
    /// The client could not be built, or the token is missing.
    #[error("{0}")]
    Setup(String),
    /// The lake's `_state` failed: a storage error, whatever the API did.
    #[error(transparent)]
    State(Arc<IngestError>),
}

fn message_suffix(m: &str) -> String {
    if m.is_empty() { String::new() } else { format!(": {m}") }
}

impl HttpError {
    /// What to do about it, when obvious.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            HttpError::Status { api, status, .. } => api.hint(*status),
            HttpError::Exhausted { .. } => Some("the API kept failing; the next run retries from the same watermark"),
            HttpError::RateLimited { .. } => {
                Some("the next run retries from the same watermark; run at a quieter hour")
            }
            HttpError::Malformed { .. } => Some("the next run retries; if it persists, check base_url"),
            HttpError::Setup(_) | HttpError::State(_) => None,
        }
    }

    /// A `_state` error met while syncing.
    pub fn state(e: IngestError) -> HttpError {
        HttpError::State(Arc::new(e))
    }

    /// The error that fails source `name`: a `_state` error keeps its class
    /// (the run exits 2); any other is the source's (exit 3).
    pub fn into_ingest(self, name: &str) -> IngestError {
        let hint = self.hint().map(str::to_string);
        match self {
            HttpError::State(e) => shared_error(e),
            other => IngestError::Source { name: name.to_string(), message: other.to_string(), hint },
        }
    }
}

/// The error an `Arc` holds, taken out (or, should another copy still be
/// alive, re-made with its message and class).
pub(crate) fn shared_error(e: Arc<IngestError>) -> IngestError {
    Arc::try_unwrap(e).unwrap_or_else(|e| {
        IngestError::Lake(devex_lake::LakeError::StateUnreadable {
            file: String::from("_state"),
            reason: e.to_string(),
        })
    })
}

impl HttpError {
    /// A malformed-response error for a GET of `url`.
    pub fn malformed(url: &str, reason: impl Into<String>) -> HttpError {
        HttpError::Malformed { method: "GET", url: url.to_string(), reason: reason.into() }
    }
}

/// How requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles each retry, with ±50 % jitter.
    pub base: Duration,
    /// The longest a rate limit may hold a request; a longer wait fails it.
    pub max_wait: Duration,
    /// The first wait after a secondary rate limit that names no `retry-after`
    /// (GitHub: "at least one minute"); it doubles each time.
    pub secondary_wait: Duration,
}

impl RetryPolicy {
    /// `max_retries` with backoff from `base`, rate-limit waits capped at 15 minutes.
    pub fn new(max_retries: u32, base: Duration) -> RetryPolicy {
        RetryPolicy { max_retries, base, max_wait: Duration::from_secs(900), secondary_wait: Duration::from_secs(60) }
    }

    /// With rate-limit waits capped at `max_wait`.
    pub fn with_max_wait(mut self, max_wait: Duration) -> RetryPolicy {
        self.max_wait = max_wait;
        self
    }
}

/// Exponential backoff with ±50 % jitter. The jitter comes from a hash of the URL,
/// the attempt and the clock's nanoseconds, so concurrent retries spread out
/// without an RNG crate.
pub fn backoff(base: Duration, attempt: u32, url: &str) -> Duration {
    let exp = base.saturating_mul(1 << (attempt.max(1) - 1).min(16));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in url.bytes().chain(attempt.to_le_bytes()).chain(Utc::now().timestamp_subsec_nanos().to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let factor = 0.5 + (h % 1000) as f64 / 1000.0;
    Duration::try_from_secs_f64(exp.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// Percent-encoding of a path segment or query value: everything but
/// unreserved characters (RFC 3986).
///
/// ```
/// use devex_sources::http::encode;
/// assert_eq!(encode("acme/web app"), "acme%2Fweb%20app");
/// assert_eq!(encode("2026-03-01T00:00:00Z"), "2026-03-01T00%3A00%3A00Z");
/// ```
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A response: the JSON body and the headers (for paging).
#[derive(Debug, Clone)]
pub struct Page {
    /// The JSON body.
    pub body: Value,
    /// The response headers.
    pub headers: HeaderMap,
}

impl Page {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.headers, name)
    }
}

/// A client for one API, shared by every unit of a source.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    api: Api,
    base: String,
    retry: RetryPolicy,
    requests: Arc<AtomicU64>,
    notify: Progress,
    pace: Option<Pace>,
}

/// Requests at most one per `interval`, across every clone of a client.
#[derive(Clone)]
struct Pace {
    interval: Duration,
    next: Arc<std::sync::Mutex<tokio::time::Instant>>,
}

impl Pace {
    /// Wait for this request's turn (the lock only books it; nobody waits holding it).
    async fn turn(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let at = (*next).max(tokio::time::Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("api", &self.api).field("base", &self.base).finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for the API rooted at `base` (`https://gitlab.com/api/v4`,
    /// `https://api.pagerduty.com`). `notify` hears of waits and retries.
    pub fn new(
        api: Api,
        base: &str,
        token: Option<String>,
        timeout: Duration,
        retry: RetryPolicy,
        notify: Progress,
    ) -> Result<HttpClient, HttpError> {
        let base = base.trim_end_matches('/').to_string();
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static(api.accept()));
        if let Some(t) = token {
            crate::endpoint::check_token_transport(&base).map_err(HttpError::Setup)?;
            let (name, value) = api.auth(&t).map_err(HttpError::Setup)?;
            headers.insert(name, value);
        }
        let inner = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("devex/", env!("CARGO_PKG_VERSION")))
            // A redirect to another host would carry the token along: follow none.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::Setup(format!("{} client: {}", api.label(), plain(&e))))?;
        Ok(HttpClient { inner, api, base, retry, requests: Arc::default(), notify, pace: None })
    }

    /// Paced to at most `per_second` requests a second (retries included),
    /// across every clone of this client.
    pub fn with_rate(mut self, per_second: f64) -> HttpClient {
        let interval = Duration::try_from_secs_f64(1.0 / per_second).unwrap_or(Duration::ZERO);
        self.pace = Some(Pace { interval, next: Arc::new(std::sync::Mutex::new(tokio::time::Instant::now())) });
        self
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// An absolute URL for an API path (`/projects/acme%2Fapi`).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// One GET with the retry and rate-limit policy.
    pub async fn get(&self, path: &str) -> Result<Page, HttpError> {
        self.send(path, None).await
    }

    /// One POST of an `application/x-www-form-urlencoded` body (an OAuth
    /// token request), with the same policy. The body is never printed.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<Page, HttpError> {
        self.send(path, Some(form)).await
    }

    async fn send(&self, path: &str, form: Option<&[(&str, &str)]>) -> Result<Page, HttpError> {
        let url = self.url(path);
        let method = if form.is_some() { "POST" } else { "GET" };
        let mut attempt = 0u32;
        let mut waits = 0u32;
        loop {
            if let Some(pace) = &self.pace {
                pace.turn().await;
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let request = match form {
                None => self.inner.get(&url),
                Some(form) => self.inner.post(&url).form(form),
            };
            let failure = match request.send().await {
                Err(e) => plain(&e),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match (status, resp.text().await) {
                        (200..=299, Ok(text)) => {
                            let body: Value = serde_json::from_str(&text).map_err(|e| HttpError::Malformed {
                                method,
                                url: url.clone(),
                                reason: format!("not JSON ({e})"),
                            })?;
                            return Ok(Page { body, headers });
                        }
                        (200..=299, Err(e)) => format!("reading the body: {}", plain(&e)),
                        (429, _) => {
                            let wait = self
                                .api
                                .rate_limit_wait(&headers)
                                .unwrap_or_else(|| backoff(self.retry.base, waits + 1, &url));
                            if wait > self.retry.max_wait {
                                return Err(HttpError::RateLimited {
                                    method,
                                    url,
                                    wait_secs: wait.as_secs(),
                                    cap_secs: self.retry.max_wait.as_secs(),
                                });
                            }
                            waits += 1;
                            if waits > self.retry.max_retries + 10 {
                                return Err(HttpError::Exhausted {
                                    method,
                                    url,
                                    attempts: attempt + waits,
                                    last: "HTTP 429 rate limited".into(),
                                });
                            }
                            let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                            (self.notify)(&Event::new(
                                Level::Wait,
                                format!(
                                    "{} rate limit (HTTP 429): waiting {} s, until {} UTC",
                                    self.api.label(),
                                    wait.as_secs_f64().ceil(),
                                    until.format("%H:%M:%S")
                                ),
                            ));
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        (500..=599, _) => format!("HTTP {status}"),
                        (_, text) => {
                            let message = text.ok().map(|t| error_message(&t)).unwrap_or_default();
                            return Err(HttpError::Status { api: self.api, method, url, status, message });
                        }
                    }
                }
            };
            attempt += 1;
            if attempt > self.retry.max_retries {
                return Err(HttpError::Exhausted { method, url, attempts: attempt, last: failure });
            }
            let delay = backoff(self.retry.base, attempt, &url);
            (self.notify)(&Event::new(
                Level::Wait,
                format!(
                    "{method} {url}: {failure}; retry {attempt} of {} in {} ms",
                    self.retry.max_retries,
                    delay.as_millis()
                ),
            ));
            tokio::time::sleep(delay).await;
        }
    }
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// The API's error text: GitLab's `message`/`error`, PagerDuty's
/// `error.message` and `error.errors`, or the start of a non-JSON body.
fn error_message(text: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return text.chars().take(200).collect::<String>().trim().to_string();
    };
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if let Some(e) = v.get("error").filter(|e| e.is_object()) {
        let mut m = e.get("message").map(s).unwrap_or_default();
        if let Some(errors) = e.get("errors").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            m.push_str(&format!(" ({})", errors.iter().map(s).collect::<Vec<_>>().join("; ")));
        }
        return m;
    }
    // GitLab: `message` or `error`; OAuth: `error` and `error_description`;
    // Typeform: `code` and `description`.
    let head = v.get("message").or_else(|| v.get("error")).or_else(|| v.get("code")).map(s).unwrap_or_default();
    match v.get("error_description").or_else(|| v.get("description")).map(s).filter(|d| !d.is_empty()) {
        Some(d) if head.is_empty() => d,
        Some(d) => format!("{head}: {d}"),
        None => head,
    }
}

/// A transport error's message, without the URL (the caller names it) and
/// without anything that could carry a secret (reqwest never prints headers).
fn plain(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{kind}: {s}");
        source = s.source();
    }
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_configured_backoff_saturates_instead_of_panicking() {
        for attempt in [1, 5, 40] {
            assert!(backoff(Duration::from_millis(u64::MAX), attempt, "u") >= Duration::from_secs(u64::MAX / 2000));
        }
    }

    #[test]
    fn backoff_doubles_with_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 1..6 {
            let d = backoff(base, attempt, "u");
            let nominal = 100.0 * f64::from(1u32 << (attempt - 1));
            assert!(d.as_millis() as f64 >= nominal * 0.5 && d.as_millis() as f64 <= nominal * 1.5, "{d:?}");
        }
    }

    #[test]
    fn rate_limit_headers_of_each_api() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(Api::Gitlab.rate_limit_wait(&h), Some(Duration::from_secs(7)));
        assert_eq!(Api::Pagerduty.rate_limit_wait(&h), None);
        let mut h = HeaderMap::new();
        let reset = (Utc::now().timestamp() + 30).to_string();
        h.insert("ratelimit-reset", HeaderValue::from_str(&reset).unwrap());
        let gl = Api::Gitlab.rate_limit_wait(&h).unwrap();
        assert!(gl > Duration::from_secs(25) && gl <= Duration::from_secs(30), "{gl:?}");
        h.insert("ratelimit-reset", HeaderValue::from_static("2"));
        assert_eq!(Api::Pagerduty.rate_limit_wait(&h), Some(Duration::from_secs(2)));
    }

    #[test]
    fn error_messages_of_each_api() {
        assert_eq!(error_message(r#"{"message":"401 Unauthorized"}"#), "401 Unauthorized");
        assert_eq!(
            error_message(
                r#"{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Since must be within 6 months of until"]}}"#
            ),
            "Invalid Input Provided (Since must be within 6 months of until)"
        );
        assert_eq!(error_message("Retry later\n"), "Retry later");
        assert_eq!(
            error_message(r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#),
            "invalid_grant: Invalid JWT Signature."
        );
        assert_eq!(
            error_message(r#"{"code":"FORBIDDEN","description":"Token lacks the scope responses:read"}"#),
            "FORBIDDEN: Token lacks the scope responses:read"
        );
        assert_eq!(
            error_message(
                r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#
            ),
            "The caller does not have permission"
        );
    }

    #[test]
    fn the_token_is_a_sensitive_header_in_each_api_s_form() {
        let (name, value) = Api::Gitlab.auth("glpat-x").unwrap();
        assert_eq!((name.as_str(), value.to_str().unwrap(), value.is_sensitive()), ("private-token", "glpat-x", true));
        let (name, value) = Api::Pagerduty.auth("u+k").unwrap();
        assert_eq!((name.as_str(), value.to_str().unwrap()), ("authorization", "Token token=u+k"));
        assert!(!format!("{value:?}").contains("u+k"));
        assert!(!Api::Gitlab.auth("bad\ntoken").unwrap_err().contains("bad"));
    }
}
