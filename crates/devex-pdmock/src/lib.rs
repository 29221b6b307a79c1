//! A local PagerDuty REST API v2 for devex's tests: a wiremock server
//! answering `GET /incidents` and `GET /incidents/{id}` with PagerDuty's
//! documented shapes. It checks what PagerDuty checks: the `Authorization:
//! Token token=...` header (401 otherwise), a `since`..`until` span of at most
//! 180 days (400 otherwise, with PagerDuty's error body), `offset` below
//! [`OFFSET_CAP`]; and it pages by `offset`/`limit`/`more`, granting at most
//! `page_limit` incidents a page whatever `limit` asks. Incidents can change
//! between two runs ([`PagerDuty::update`]); faults (429, 5xx) are layered on
//! top with ordinary higher-priority wiremock mocks.
//!
//! ```no_run
//! # async fn run() {
//! use devex_pdmock::{Incident, PagerDuty};
//! let server = wiremock::MockServer::start().await;
//! let pd = PagerDuty::new("secret-key", 2);
//! pd.add(Incident::new("Q1", "PABC123", "Payments API", "2026-03-02T12:00:00Z").resolved("2026-03-02T15:00:00Z"));
//! pd.mount(&server).await;
//! // GET {server.uri()}/incidents?since=...&until=... now answers like PagerDuty.
//! # }
//! ```

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// PagerDuty's classic pagination refuses an `offset` at or past this.
pub const OFFSET_CAP: usize = 10_000;

/// An incident as PagerDuty holds it.
#[derive(Debug, Clone)]
pub struct Incident {
    /// PagerDuty's id (`PT4KHLK`).
    pub id: String,
    /// Title.
    pub title: String,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    /// As sent (any offset).
    pub created_at: String,
    /// As sent; absent on open incidents (and on some resolved ones).
    pub resolved_at: Option<String>,
    /// As sent.
    pub last_status_change_at: Option<String>,
    /// `high` or `low`.
    pub urgency: String,
    /// A priority's summary (`P1`), if set.
    pub priority: Option<String>,
    /// The service's id.
    pub service_id: String,
    /// The service's name.
    pub service_name: String,
}

impl Incident {
    /// A triggered, high-urgency incident without priority.
    pub fn new(id: &str, service_id: &str, service_name: &str, created_at: &str) -> Incident {
        Incident {
            id: id.into(),
            title: format!("Incident {id}"),
            status: "triggered".into(),
            created_at: created_at.into(),
            resolved_at: None,
            last_status_change_at: Some(created_at.into()),
            urgency: "high".into(),
            priority: None,
            service_id: service_id.into(),
            service_name: service_name.into(),
        }
    }

    /// Resolved at `at` (`resolved_at` and `last_status_change_at`).
    pub fn resolved(mut self, at: &str) -> Incident {
        self.status = "resolved".into();
        self.resolved_at = Some(at.into());
        self.last_status_change_at = Some(at.into());
        self
    }

    /// With a priority (`P1`).
    pub fn priority(mut self, p: &str) -> Incident {
        self.priority = Some(p.into());
        self
    }

    /// With an urgency (`low`).
    pub fn urgency(mut self, u: &str) -> Incident {
        self.urgency = u.into();
        self
    }

    fn created(&self) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&self.created_at).map(|t| t.with_timezone(&Utc)).expect("an RFC 3339 created_at")
    }

    /// The incident's JSON, as PagerDuty's REST API v2 sends it.
    pub fn json(&self, base: &str) -> Value {
        let number = self.id.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 100_000;
        json!({
            "id": self.id,
            "type": "incident",
            "summary": format!("[#{number}] {}", self.title),
            "self": format!("{base}/incidents/{}", self.id),
            "html_url": format!("https://acme.pagerduty.com/incidents/{}", self.id),
            "incident_number": number,
            "title": self.title,
            "description": self.title,
            "created_at": self.created_at,
            "updated_at": self.last_status_change_at.clone().unwrap_or_else(|| self.created_at.clone()),
            "status": self.status,
            "incident_key": format!("key-{}", self.id),
            "service": {
                "id": self.service_id,
                "type": "service_reference",
                "summary": self.service_name,
                "self": format!("{base}/services/{}", self.service_id),
                "html_url": format!("https://acme.pagerduty.com/service-directory/{}", self.service_id),
            },
            "assignments": [],
            "acknowledgements": [],
            "last_status_change_at": self.last_status_change_at,
            "last_status_change_by": {"id": self.service_id, "type": "service_reference", "summary": self.service_name},
            "first_trigger_log_entry": {"id": format!("R{}", self.id), "type": "trigger_log_entry_reference"},
            "escalation_policy": {"id": "PT20YPA", "type": "escalation_policy_reference", "summary": "Another Escalation Policy"},
            "teams": [],
            "urgency": self.urgency,
            "resolved_at": self.resolved_at,
            "priority": self.priority.as_ref().map(|p| json!({
                "id": format!("PRI{p}"), "type": "priority", "summary": p, "name": p,
                "self": format!("{base}/priorities/PRI{p}"),
            })),
        })
    }
}

/// The incidents a mock PagerDuty serves; cloned handles share them.
#[derive(Debug, Clone)]
pub struct PagerDuty {
    incidents: Arc<Mutex<Vec<Incident>>>,
    token: String,
    page_limit: usize,
}

impl PagerDuty {
    /// A PagerDuty accepting `token`, granting at most `page_limit` incidents a page.
    pub fn new(token: &str, page_limit: usize) -> PagerDuty {
        PagerDuty { incidents: Arc::default(), token: token.into(), page_limit: page_limit.max(1) }
    }

    /// Add an incident.
    pub fn add(&self, incident: Incident) {
        self.incidents.lock().expect("lock").push(incident);
    }

    /// Change an incident (it resolves between two runs, ...).
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Incident)) {
        let mut all = self.incidents.lock().expect("lock");
        if let Some(i) = all.iter_mut().find(|i| i.id == id) {
            f(i);
        }
    }

    /// Answer on `server`.
    pub async fn mount(&self, server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/incidents"))
            .respond_with(Lister { pd: self.clone(), base: server.uri() })
            .with_priority(10)
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/incidents/[^/]+$"))
            .respond_with(Getter { pd: self.clone(), base: server.uri() })
            .with_priority(10)
            .mount(server)
            .await;
    }

    fn authorised(&self, req: &Request) -> Option<ResponseTemplate> {
        let want = format!("Token token={}", self.token);
        let ok = req.headers.get("authorization").is_some_and(|v| v.as_bytes() == want.as_bytes());
        (!ok).then(|| error(401, "Authentication required", 2006, &[]))
    }
}

/// PagerDuty's error body.
pub fn error(status: u16, message: &str, code: u32, errors: &[&str]) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"message": message, "code": code, "errors": errors}}))
}

fn query(req: &Request) -> Vec<(String, String)> {
    req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

struct Lister {
    pd: PagerDuty,
    base: String,
}

impl Respond for Lister {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if let Some(refused) = self.pd.authorised(req) {
            return refused;
        }
        let q = query(req);
        let one = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let time = |k: &str| one(k).and_then(|v| DateTime::parse_from_rfc3339(&v).ok()).map(|t| t.with_timezone(&Utc));
        let (Some(since), Some(until)) = (time("since"), time("until")) else {
            return error(400, "Invalid Input Provided", 2001, &["since and until must be RFC 3339 times"]);
        };
        if until - since > Duration::days(180) {
            return error(400, "Invalid Input Provided", 2001, &["Since must be within 6 months of until"]);
        }
        let services: Vec<String> = q.iter().filter(|(k, _)| k == "service_ids[]").map(|(_, v)| v.clone()).collect();
        let offset: usize = one("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = one("limit").and_then(|v| v.parse().ok()).unwrap_or(25).min(self.pd.page_limit).max(1);
        if offset >= OFFSET_CAP {
            return error(400, "Invalid Input Provided", 2001, &["Offset must be less than 10000"]);
        }
        let mut hits: Vec<Incident> = self
            .pd
            .incidents
            .lock()
            .expect("lock")
            .iter()
            .filter(|i| since <= i.created() && i.created() < until)
            .filter(|i| services.is_empty() || services.contains(&i.service_id))
            .cloned()
            .collect();
        hits.sort_by_key(|i| (i.created(), i.id.clone()));
        let page: Vec<Value> = hits.iter().skip(offset).take(limit).map(|i| i.json(&self.base)).collect();
        let more = offset + page.len() < hits.len();
        ResponseTemplate::new(200).set_body_json(json!({
            "incidents": page, "limit": limit, "offset": offset, "more": more, "total": null,
        }))
    }
}

struct Getter {
    pd: PagerDuty,
    base: String,
}

impl Respond for Getter {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if let Some(refused) = self.pd.authorised(req) {
            return refused;
        }
        let id = req.url.path().rsplit('/').next().unwrap_or_default();
        match self.pd.incidents.lock().expect("lock").iter().find(|i| i.id == id) {
            Some(i) => ResponseTemplate::new(200).set_body_json(json!({"incident": i.json(&self.base)})),
            None => error(404, "Not Found", 2100, &[]),
        }
    }
}
