//! The PagerDuty source: `[sources.<name>]` with `type = "pagerduty"`
//! (`docs/sources.md`).
//!
//! A run reads the incidents created since the last run (minus the overlap)
//! from REST v2 `/incidents`, in windows of at most 180 days (PagerDuty refuses
//! longer spans), paging by `offset` until `more` is false; then re-fetches
//! every incident that was open at the end of the last run and was not read
//! again, so its `resolved_at` lands. The rows land with one MERGE on `id`
//! (re-reading replaces), and only then does the state move. The whole source
//! is one unit: if any request fails for good, nothing lands and the state stays.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_sources::http::HttpError> {
//! use devex_sources::pagerduty::{read_incidents, PagerdutyState};
//! let cfg = devex_model::config::PagerdutySource::default();
//! let opts = devex_ingest::source::SyncOptions { full: false, since: None, now: chrono::Utc::now() };
//! let key = devex_sources::pagerduty::token(&cfg)?;
//! let read = read_incidents("pagerduty", &cfg, key, &PagerdutyState::default(), &opts,
//!     devex_ingest::progress::silent()).await?;
//! println!("{} incidents in {} requests", read.incidents.len(), read.requests);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use devex_model::config::PagerdutySource;
use devex_model::row;
use devex_model::timestamp::RFC3339_UTC;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::http::{Api, HttpClient, HttpError, RetryPolicy, encode};
use devex_ingest::IngestError;
use devex_ingest::progress::{Event, Level, Progress};
use devex_ingest::source::{Source, SourceContext, SourceRecord, SyncOptions, Watermark, land};
use devex_lake::state::StateStore;

/// The longest `since`..`until` span one request asks for (PagerDuty refuses over 6 months).
pub const MAX_WINDOW_DAYS: i64 = 180;

/// Incidents asked for per page (PagerDuty's maximum).
const PAGE_LIMIT: usize = 100;

/// PagerDuty's classic pagination refuses `offset + limit` past this: a window
/// with more incidents is read as two halves.
pub const OFFSET_CAP: usize = 10_000;

/// The `pagerduty` source.
#[derive(Debug, Clone)]
pub struct Pagerduty {
    /// The source's name.
    pub name: String,
    /// Its configuration.
    pub config: PagerdutySource,
}

/// What devex keeps between runs: `_state/pagerduty/<source>.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagerdutyState {
    /// The start of the last successful run.
    pub watermark: Option<DateTime<Utc>>,
    /// The incidents open (`triggered` or `acknowledged`) at the end of it.
    #[serde(default)]
    pub open: Vec<String>,
}

/// The `_state` key of a source's state: `pagerduty/<source>.json`.
pub fn state_key(source: &str) -> String {
    format!("pagerduty/{source}.json")
}

/// The saved state of a source (empty if it never ran).
pub async fn load_state(state: &StateStore, source: &str) -> Result<PagerdutyState, IngestError> {
    Ok(state.read_json(&state_key(source)).await?)
}

/// What a run read.
#[derive(Debug, Default)]
pub struct IncidentsRead {
    /// One row per incident, by id.
    pub incidents: Vec<row::Incident>,
    /// The state to save once they have landed.
    pub state: PagerdutyState,
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// The windows read, `[since, until)`.
    pub windows: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Source for Pagerduty {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "pagerduty"
    }

    fn watermarks<'a>(&'a self, state: &'a StateStore) -> LocalBoxFuture<'a, Result<Vec<Watermark>, IngestError>> {
        Box::pin(async move {
            let s = load_state(state, &self.name).await?;
            Ok(vec![Watermark {
                unit: "(incidents)".into(),
                at: s.watermark,
                counts: vec![("open_incidents", s.open.len())],
            }])
        })
    }

    fn run<'a>(&'a self, ctx: &'a SourceContext<'a>) -> LocalBoxFuture<'a, Result<SourceRecord, IngestError>> {
        Box::pin(async move {
            let fail = |e: HttpError| e.into_ingest(&self.name);
            (ctx.progress)(&Event::new(
                Level::Info,
                format!("source {}: PagerDuty {}", self.name, self.config.base_url),
            ));
            let previous = load_state(ctx.state, &self.name).await?;
            let token = token(&self.config).map_err(fail)?;
            let read =
                read_incidents(&self.name, &self.config, token, &previous, ctx.options, Arc::clone(&ctx.progress))
                    .await
                    .map_err(fail)?;
            let landed = land(ctx, "pagerduty", &self.name, &read.incidents).await?;
            // Only now that the rows are in the lake does the state move.
            ctx.state.write_json(&state_key(&self.name), &read.state).await?;
            Ok(SourceRecord {
                source: self.name.clone(),
                kind: self.kind().into(),
                tables: landed.tables,
                warnings: landed.warnings,
                requests: Some(read.requests),
                ..Default::default()
            })
        })
    }
}

/// The API key from `token_env`.
pub fn token(cfg: &PagerdutySource) -> Result<String, HttpError> {
    std::env::var(&cfg.token_env).ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        HttpError::Setup(format!(
            "${} is not set: PagerDuty needs a REST API key (a read-only key is enough)",
            cfg.token_env
        ))
    })
}

/// Consecutive windows of at most [`MAX_WINDOW_DAYS`] covering `[from, to)`,
/// with no gap and no overlap.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// let from = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let to = from + Duration::days(400);
/// let w = devex_sources::pagerduty::windows(from, to);
/// assert_eq!(w.len(), 3);
/// assert_eq!((w[0].0, w[2].1), (from, to));
/// assert!(w.windows(2).all(|p| p[0].1 == p[1].0));
/// assert!(w.iter().all(|(a, b)| *b - *a <= Duration::days(180)));
/// ```
pub fn windows(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let step = chrono::Duration::days(MAX_WINDOW_DAYS);
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let end = (start + step).min(to);
        out.push((start, end));
        start = end;
    }
    out
}

/// Read what a run lands: the incidents created in the run's span, and the
/// remembered open incidents that span did not return.
pub async fn read_incidents(
    name: &str,
    cfg: &PagerdutySource,
    token: String,
    previous: &PagerdutyState,
    opts: &SyncOptions,
    notify: Progress,
) -> Result<IncidentsRead, HttpError> {
    let client = HttpClient::new(
        Api::Pagerduty,
        &cfg.base_url,
        Some(token),
        Duration::from_secs(cfg.timeout_secs.max(1)),
        RetryPolicy::new(cfg.max_retries, Duration::from_millis(cfg.retry_base_ms)),
        Arc::clone(&notify),
    )?;
    let overlap = chrono::Duration::days(i64::from(cfg.overlap_days));
    let initial = opts.now - chrono::Duration::days(i64::from(cfg.initial_days));
    let from = match (opts.since, opts.full, previous.watermark) {
        (Some(s), _, _) => s,
        (None, false, Some(w)) => w - overlap,
        _ => initial,
    };
    let spans = windows(from, opts.now);
    let mut by_id: BTreeMap<String, row::Incident> = BTreeMap::new();
    let mut open: Vec<String> = Vec::new();
    let mut read_spans = Vec::new();
    let total = spans.len();
    for (i, (since, until)) in spans.into_iter().enumerate() {
        let mut found = 0usize;
        for (s, u) in read_window(&client, cfg, since, until).await? {
            found += s.len();
            for inc in s {
                if is_open(&inc) {
                    open.push(inc.id.clone());
                }
                by_id.insert(inc.id.clone(), inc.row(cfg, &u)?);
            }
        }
        notify(&Event::new(
            Level::Detail,
            format!(
                "{name}: [{}/{total}] {} .. {}: {}",
                i + 1,
                day(since),
                day(until),
                devex_model::plural::count(found as u64, "incident")
            ),
        ));
        read_spans.push((since, until));
    }
    // Incidents open at the last run that this span did not return (created before it).
    let mut refetched = 0usize;
    let missing: Vec<&String> =
        previous.open.iter().filter(|id| !opts.full && !by_id.contains_key(id.as_str())).collect();
    for id in missing {
        let url = client.url(&format!("/incidents/{}", encode(id)));
        let page = client.get(&url).await?;
        let inc: IncidentPayload = page
            .body
            .get("incident")
            .cloned()
            .ok_or_else(|| HttpError::malformed(&url, "no `incident` object"))
            .and_then(|v| serde_json::from_value(v).map_err(|e| HttpError::malformed(&url, e.to_string())))?;
        if is_open(&inc) {
            open.push(inc.id.clone());
        }
        by_id.insert(inc.id.clone(), inc.row(cfg, &url)?);
        refetched += 1;
    }
    if refetched > 0 {
        notify(&Event::new(
            Level::Detail,
            format!(
                "{name}: {} open at the last run re-read",
                devex_model::plural::count(refetched as u64, "incident")
            ),
        ));
    }
    open.sort();
    open.dedup();
    Ok(IncidentsRead {
        incidents: by_id.into_values().collect(),
        state: PagerdutyState { watermark: Some(opts.now), open },
        requests: client.requests(),
        windows: read_spans,
    })
}

/// Every page of one window, as (incidents, url) per page. A window with more
/// incidents than classic pagination can reach is read as two halves.
async fn read_window(
    client: &HttpClient,
    cfg: &PagerdutySource,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(Vec<IncidentPayload>, String)>, HttpError> {
    let mut pages = Vec::new();
    let mut offset = 0usize;
    loop {
        let url = incidents_url(client, cfg, since, until, offset);
        let page = client.get(&url).await?;
        let list: IncidentList =
            serde_json::from_value(page.body).map_err(|e| HttpError::malformed(&url, e.to_string()))?;
        let n = list.incidents.len();
        pages.push((list.incidents, url.clone()));
        if !list.more {
            return Ok(pages);
        }
        if n == 0 {
            return Err(HttpError::malformed(&url, "`more` is true but the page is empty"));
        }
        offset += n;
        if offset + PAGE_LIMIT > OFFSET_CAP && until - since > chrono::Duration::seconds(1) {
            let mid = since + (until - since) / 2;
            let mut halves = Box::pin(read_window(client, cfg, since, mid)).await?;
            halves.extend(Box::pin(read_window(client, cfg, mid, until)).await?);
            return Ok(halves);
        }
    }
}

fn incidents_url(
    client: &HttpClient,
    cfg: &PagerdutySource,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    offset: usize,
) -> String {
    let mut q = format!(
        "/incidents?since={}&until={}&time_zone=UTC&limit={PAGE_LIMIT}&offset={offset}",
        encode(&since.format(RFC3339_UTC).to_string()),
        encode(&until.format(RFC3339_UTC).to_string())
    );
    for id in &cfg.service_ids {
        q.push_str(&format!("&service_ids%5B%5D={}", encode(id)));
    }
    client.url(&q)
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn is_open(i: &IncidentPayload) -> bool {
    matches!(i.status.as_str(), "triggered" | "acknowledged")
}

#[derive(Debug, Deserialize)]
struct IncidentList {
    incidents: Vec<IncidentPayload>,
    #[serde(default)]
    more: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct Ref {
    id: Option<String>,
    summary: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct IncidentPayload {
    id: String,
    #[serde(default)]
    title: Option<String>,
    status: String,
    created_at: String,
    #[serde(default)]
    resolved_at: Option<String>,
    #[serde(default)]
    last_status_change_at: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    priority: Option<Ref>,
    #[serde(default)]
    service: Option<Ref>,
}

impl IncidentPayload {
    /// The `incidents` row (`docs/sources.md`, PagerDuty).
    fn row(&self, cfg: &PagerdutySource, url: &str) -> Result<row::Incident, HttpError> {
        let bad = |field: &str, value: &str| {
            HttpError::malformed(url, format!("incident {}: `{field}` = {value:?} is not an RFC 3339 time", self.id))
        };
        let time = |field: &str, v: &str| {
            DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| bad(field, v))
        };
        let service = self
            .service
            .as_ref()
            .ok_or_else(|| HttpError::malformed(url, format!("incident {}: no `service`", self.id)))?;
        let service =
            service.id.as_ref().and_then(|id| cfg.services.get(id)).or(service.summary.as_ref()).cloned().ok_or_else(
                || HttpError::malformed(url, format!("incident {}: a `service` without a name", self.id)),
            )?;
        let resolved_at = match (self.status.as_str(), &self.resolved_at, &self.last_status_change_at) {
            ("resolved", Some(t), _) => Some(time("resolved_at", t)?),
            ("resolved", None, Some(t)) => Some(time("last_status_change_at", t)?),
            _ => None,
        };
        let severity = self.priority.as_ref().and_then(|p| p.summary.clone()).or_else(|| self.urgency.clone());
        Ok(row::Incident {
            id: self.id.clone(),
            service,
            created_at: time("created_at", &self.created_at)?,
            resolved_at,
            severity,
            caused_by_deployment: None,
            root_cause_sha: None,
            title: self.title.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn payload(v: Value) -> IncidentPayload {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rows_follow_the_mapping() {
        let cfg = PagerdutySource {
            services: [("PABC123".to_string(), "payments-api".to_string())].into(),
            ..Default::default()
        };
        // Resolved, with a priority and a mapped service; times with offsets land in UTC.
        let r = payload(serde_json::json!({
            "id": "Q1", "title": "Checkout down", "status": "resolved",
            "created_at": "2026-03-02T10:00:00+02:00", "resolved_at": "2026-03-02T09:30:00Z",
            "urgency": "high", "priority": {"id": "P", "summary": "P1"},
            "service": {"id": "PABC123", "summary": "Payments API"}
        }))
        .row(&cfg, "u")
        .unwrap();
        assert_eq!(r.service, "payments-api");
        assert_eq!(r.created_at.to_rfc3339(), "2026-03-02T08:00:00+00:00");
        assert_eq!(r.resolved_at.unwrap().to_rfc3339(), "2026-03-02T09:30:00+00:00");
        assert_eq!((r.severity.as_deref(), r.title.as_deref()), (Some("P1"), Some("Checkout down")));
        assert!(r.caused_by_deployment.is_none() && r.root_cause_sha.is_none());
        // Resolved without resolved_at: the last status change; no priority: the urgency; unmapped: the name.
        let r = payload(serde_json::json!({
            "id": "Q2", "status": "resolved", "created_at": "2026-03-02T10:00:00Z",
            "last_status_change_at": "2026-03-02T11:00:00Z", "urgency": "low", "priority": null,
            "service": {"id": "PX", "summary": "Search"}
        }))
        .row(&cfg, "u")
        .unwrap();
        assert_eq!((r.service.as_str(), r.severity.as_deref()), ("Search", Some("low")));
        assert_eq!(r.resolved_at.unwrap().to_rfc3339(), "2026-03-02T11:00:00+00:00");
        // Acknowledged: open, whatever resolved_at says.
        let open = payload(serde_json::json!({
            "id": "Q3", "status": "acknowledged", "created_at": "2026-03-02T10:00:00Z",
            "resolved_at": "2026-03-02T11:00:00Z", "service": {"id": "PX", "summary": "Search"}
        }));
        assert!(is_open(&open) && open.row(&cfg, "u").unwrap().resolved_at.is_none());
        // A bad time names the incident and the field.
        let err = payload(serde_json::json!({
            "id": "Q4", "status": "triggered", "created_at": "yesterday", "service": {"id": "PX", "summary": "S"}
        }))
        .row(&cfg, "https://pd/incidents")
        .unwrap_err()
        .to_string();
        assert!(err.contains("Q4") && err.contains("created_at") && err.contains("https://pd/incidents"), "{err}");
    }

    #[test]
    fn windows_cover_the_span_exactly() {
        let from = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert!(windows(from, from).is_empty());
        let w = windows(from, from + chrono::Duration::days(180));
        assert_eq!(w, vec![(from, from + chrono::Duration::days(180))]);
        let w = windows(from, from + chrono::Duration::days(181));
        assert_eq!(w.len(), 2);
        assert_eq!(w[1], (from + chrono::Duration::days(180), from + chrono::Duration::days(181)));
    }
}
