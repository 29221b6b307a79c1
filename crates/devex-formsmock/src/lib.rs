//! Local Typeform and Google Forms APIs for devex's tests and benchmarks:
//! wiremock servers answering with each tool's documented shapes.
//!
//! - [`Typeform`]: `GET /forms/{id}` and `GET /forms/{id}/responses`, newest
//!   first, paged by `before` (a response id) and `page_size` (at most 1000),
//!   `since`/`until` inclusive, completed responses only unless
//!   `response_type` asks for partial ones; `Authorization: Bearer` checked
//!   (401 otherwise, with Typeform's error body). It can refuse requests that
//!   come faster than a minimum gap with a 429 that names no wait, as
//!   Typeform's per-account limit does ([`Typeform::with_min_gap`]).
//! - [`GoogleForms`]: an OAuth token endpoint (`POST /token`) that verifies a
//!   service account's RS256 JWT grant with the key's public half and issues
//!   access tokens, `GET /v1/forms/{id}` and `GET /v1/forms/{id}/responses`
//!   with `filter=timestamp >= ...` and `pageToken`s bound to that filter; a
//!   form not shared with the caller answers 403.
//!
//! Faults (429, 5xx) are layered on top with ordinary higher-priority
//! wiremock mocks. [`KEY_PEM`] and [`PUBLIC_KEY_PEM`] are a throwaway key
//! pair made for these tests.
//!
//! ```no_run
//! # async fn run() {
//! use devex_formsmock::{TfForm, TfResponse, Typeform};
//! let server = wiremock::MockServer::start().await;
//! let tf = Typeform::new("tfp_secret");
//! tf.add_form(TfForm::new("pulse").hidden_field("team").scale("deploy_easy", 5));
//! tf.add_response("pulse", TfResponse::new("r1", "2026-03-02T10:00:00Z").hidden("team", "payments").number("deploy_easy", 4));
//! tf.mount(&server).await;
//! // GET {server.uri()}/forms/pulse/responses now answers like Typeform.
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The private half of the test service account's key (PKCS#8 PEM).
pub const KEY_PEM: &str = include_str!("../fixtures/test-service-account.key.pem");
/// Its public half, which the mock token endpoint verifies grants with.
pub const PUBLIC_KEY_PEM: &str = include_str!("../fixtures/test-service-account.pub.pem");
/// The test service account.
pub const CLIENT_EMAIL: &str = "devex-reader@devex-tests.iam.gserviceaccount.com";
/// The scopes a grant must ask for.
pub const SCOPES: [&str; 2] =
    ["https://www.googleapis.com/auth/forms.responses.readonly", "https://www.googleapis.com/auth/forms.body.readonly"];

/// A service-account key file (the JSON Google's console downloads) for the
/// test account, whose token endpoint is `token_uri`.
pub fn service_account_key(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "devex-tests",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": KEY_PEM,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/devex-reader",
        "universe_domain": "googleapis.com",
    })
    .to_string()
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).expect("an RFC 3339 time")
}

fn query(req: &Request) -> Vec<(String, String)> {
    req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn one(q: &[(String, String)], key: &str) -> Option<String> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The path and query of every request, in order.
#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, req: &Request) {
        let q = req.url.query().map(|q| format!("?{q}")).unwrap_or_default();
        self.0.lock().expect("lock").push(format!("{} {}{q}", req.method, req.url.path()));
    }
}

// ---------------------------------------------------------------- Typeform

/// A Typeform response.
#[derive(Debug, Clone)]
pub struct TfResponse {
    /// `response_id` (and `token`).
    pub id: String,
    /// `submitted_at`; none for a partial response.
    pub submitted_at: Option<String>,
    /// `landed_at`.
    pub landed_at: String,
    /// Hidden fields.
    pub hidden: BTreeMap<String, String>,
    /// `answers[]`, as Typeform sends them.
    pub answers: Vec<Value>,
}

impl TfResponse {
    /// A completed response submitted at `submitted_at`.
    pub fn new(id: &str, submitted_at: &str) -> TfResponse {
        TfResponse {
            id: id.into(),
            submitted_at: Some(submitted_at.into()),
            landed_at: submitted_at.into(),
            hidden: BTreeMap::new(),
            answers: Vec::new(),
        }
    }

    /// A partial response (started at `landed_at`, never submitted).
    pub fn partial(id: &str, landed_at: &str) -> TfResponse {
        TfResponse { submitted_at: None, ..TfResponse::new(id, landed_at) }
    }

    /// With a hidden field.
    pub fn hidden(mut self, name: &str, value: &str) -> TfResponse {
        self.hidden.insert(name.into(), value.into());
        self
    }

    fn answer(mut self, field_ref: &str, field_type: &str, kind: &str, value: Value) -> TfResponse {
        let mut a = json!({
            "field": {"id": format!("f_{field_ref}"), "type": field_type, "ref": field_ref},
            "type": kind,
        });
        a[kind] = value;
        self.answers.push(a);
        self
    }

    /// A `number` answer (an opinion scale, a rating, an NPS or a number question).
    pub fn number(self, field_ref: &str, n: i64) -> TfResponse {
        self.answer(field_ref, "opinion_scale", "number", json!(n))
    }

    /// A `choice` answer.
    pub fn choice(self, field_ref: &str, label: &str) -> TfResponse {
        self.answer(field_ref, "multiple_choice", "choice", json!({"id": format!("c_{label}"), "label": label}))
    }

    /// A `choices` answer (several labels).
    pub fn choices(self, field_ref: &str, labels: &[&str]) -> TfResponse {
        let ids: Vec<String> = labels.iter().map(|l| format!("c_{l}")).collect();
        self.answer(field_ref, "multiple_choice", "choices", json!({"ids": ids, "labels": labels}))
    }

    /// A `text` answer.
    pub fn text(self, field_ref: &str, text: &str) -> TfResponse {
        self.answer(field_ref, "long_text", "text", json!(text))
    }

    /// A `boolean` answer.
    pub fn boolean(self, field_ref: &str, yes: bool) -> TfResponse {
        self.answer(field_ref, "yes_no", "boolean", json!(yes))
    }

    fn order_time(&self) -> DateTime<Utc> {
        time(self.submitted_at.as_deref().unwrap_or(&self.landed_at))
    }

    /// The item, as Typeform's Responses API sends it.
    pub fn json(&self) -> Value {
        json!({
            "landing_id": self.id,
            "token": self.id,
            "response_id": self.id,
            "response_type": if self.submitted_at.is_some() { "completed" } else { "partial" },
            "landed_at": self.landed_at,
            "submitted_at": self.submitted_at.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            "metadata": {
                "user_agent": "Mozilla/5.0", "platform": "other", "referer": "https://acme.typeform.com/to/pulse",
                "network_id": "4ad3b5bd4c", "browser": "default",
            },
            "hidden": self.hidden,
            "calculated": {"score": 0},
            "answers": self.answers,
        })
    }
}

/// A Typeform form: its fields and hidden fields, and its responses.
#[derive(Debug, Clone)]
pub struct TfForm {
    /// The form id.
    pub id: String,
    /// `fields[]`, as the Create API sends them.
    pub fields: Vec<Value>,
    /// Hidden field names.
    pub hidden: Vec<String>,
    /// Responses, in no order.
    pub responses: Vec<TfResponse>,
}

impl TfForm {
    /// An empty form.
    pub fn new(id: &str) -> TfForm {
        TfForm { id: id.into(), fields: Vec::new(), hidden: Vec::new(), responses: Vec::new() }
    }

    /// With a hidden field.
    pub fn hidden_field(mut self, name: &str) -> TfForm {
        self.hidden.push(name.into());
        self
    }

    /// With a field of `type` whose ref is `field_ref`.
    pub fn field(mut self, field_ref: &str, field_type: &str) -> TfForm {
        self.fields.push(json!({
            "id": format!("f_{field_ref}"), "ref": field_ref, "type": field_type,
            "title": format!("Question {field_ref}"), "properties": {},
        }));
        self
    }

    /// With an opinion scale of `1..=steps`.
    pub fn scale(mut self, field_ref: &str, steps: u32) -> TfForm {
        self.fields.push(json!({
            "id": format!("f_{field_ref}"), "ref": field_ref, "type": "opinion_scale",
            "title": format!("Question {field_ref}"),
            "properties": {"steps": steps, "start_at_one": true, "labels": {"left": "No", "right": "Yes"}},
        }));
        self
    }

    /// With an NPS question (0..10, an opinion scale of 11 steps from zero).
    pub fn nps(mut self, field_ref: &str) -> TfForm {
        self.fields.push(json!({
            "id": format!("f_{field_ref}"), "ref": field_ref, "type": "nps",
            "title": "How likely are you to recommend the platform to a colleague?",
            "properties": {"steps": 11, "start_at_one": false},
        }));
        self
    }

    fn json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "type": "form",
            "title": format!("Form {}", self.id),
            "settings": {"language": "en", "is_public": true},
            "hidden": self.hidden,
            "fields": self.fields,
            "_links": {"display": format!("{base}/to/{}", self.id)},
        })
    }
}

/// A mock Typeform; cloned handles share its forms.
#[derive(Debug, Clone)]
pub struct Typeform {
    forms: Arc<Mutex<BTreeMap<String, TfForm>>>,
    token: String,
    log: Log,
    min_gap: Option<Duration>,
    last: Arc<Mutex<Option<Instant>>>,
    refused: Arc<AtomicUsize>,
    delay: Duration,
}

impl Typeform {
    /// A Typeform accepting the personal access token `token`.
    pub fn new(token: &str) -> Typeform {
        Typeform {
            forms: Arc::default(),
            token: token.into(),
            log: Log::default(),
            min_gap: None,
            last: Arc::default(),
            refused: Arc::default(),
            delay: Duration::ZERO,
        }
    }

    /// Answering a request that comes sooner than `gap` after the previous one
    /// with a 429 that names no wait.
    pub fn with_min_gap(mut self, gap: Duration) -> Typeform {
        self.min_gap = Some(gap);
        self
    }

    /// Answering every request after `delay` (a distant API, for benchmarks).
    pub fn with_delay(mut self, delay: Duration) -> Typeform {
        self.delay = delay;
        self
    }

    /// Add a form.
    pub fn add_form(&self, form: TfForm) {
        self.forms.lock().expect("lock").insert(form.id.clone(), form);
    }

    /// Add a response to a form.
    pub fn add_response(&self, form: &str, response: TfResponse) {
        self.forms.lock().expect("lock").get_mut(form).expect("a form added first").responses.push(response);
    }

    /// Every request so far, as `GET /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.log.0.lock().expect("lock").clone()
    }

    /// Requests answered 429 for coming too soon.
    pub fn too_soon(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }

    /// Answer on `server`.
    pub async fn mount(&self, server: &MockServer) {
        Mock::given(method("GET"))
            .and(path_regex(r"^/forms/[^/]+/responses$"))
            .respond_with(TfResponses(self.clone()))
            .with_priority(10)
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/forms/[^/]+$"))
            .respond_with(TfDefinition(self.clone(), server.uri()))
            .with_priority(10)
            .mount(server)
            .await;
    }

    /// The checks before any answer: the token, then the pace.
    fn gate(&self, req: &Request) -> Option<ResponseTemplate> {
        self.log.push(req);
        let want = format!("Bearer {}", self.token);
        if req.headers.get("authorization").is_none_or(|v| v.as_bytes() != want.as_bytes()) {
            return Some(tf_error(
                401,
                "AUTHENTICATION_FAILED",
                "Authentication credentials not found on the Request Headers",
            ));
        }
        if let Some(gap) = self.min_gap {
            let mut last = self.last.lock().expect("lock");
            let now = Instant::now();
            let early = last.is_some_and(|t| now.duration_since(t) < gap);
            *last = Some(now);
            if early {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Some(tf_error(429, "RATE_LIMITED", "Too many requests"));
            }
        }
        None
    }

    fn form_id(req: &Request) -> String {
        req.url.path().split('/').nth(2).unwrap_or_default().to_string()
    }
}

/// Typeform's error body.
pub fn tf_error(status: u16, code: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"code": code, "description": description}))
}

struct TfDefinition(Typeform, String);

impl Respond for TfDefinition {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if let Some(refused) = self.0.gate(req) {
            return refused;
        }
        match self.0.forms.lock().expect("lock").get(&Typeform::form_id(req)) {
            Some(f) => ResponseTemplate::new(200).set_body_json(f.json(&self.1)).set_delay(self.0.delay),
            None => tf_error(404, "FORM_NOT_FOUND", "Non existing form with uid"),
        }
    }
}

struct TfResponses(Typeform);

impl Respond for TfResponses {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if let Some(refused) = self.0.gate(req) {
            return refused;
        }
        let forms = self.0.forms.lock().expect("lock");
        let Some(form) = forms.get(&Typeform::form_id(req)) else {
            return tf_error(404, "FORM_NOT_FOUND", "Non existing form with uid");
        };
        let q = query(req);
        if one(&q, "before").is_some() && one(&q, "sort").is_some() {
            return tf_error(400, "VALIDATION_ERROR", "before cannot be combined with sort");
        }
        let page_size: usize = one(&q, "page_size").and_then(|v| v.parse().ok()).unwrap_or(25);
        if !(1..=1000).contains(&page_size) {
            return tf_error(400, "VALIDATION_ERROR", "page_size must be between 1 and 1000");
        }
        let bound =
            |k: &str| one(&q, k).and_then(|v| DateTime::parse_from_rfc3339(&v).ok()).map(|t| t.with_timezone(&Utc));
        let (since, until) = (bound("since"), bound("until"));
        let partial = one(&q, "response_type").is_some_and(|t| t.split(',').any(|t| t == "partial"));
        let mut hits: Vec<&TfResponse> = form
            .responses
            .iter()
            .filter(|r| r.submitted_at.is_some() || partial)
            .filter(|r| since.is_none_or(|s| r.order_time() >= s) && until.is_none_or(|u| r.order_time() <= u))
            .collect();
        // Newest first.
        hits.sort_by(|a, b| b.order_time().cmp(&a.order_time()).then(b.id.cmp(&a.id)));
        let total = hits.len();
        let start = match one(&q, "before") {
            None => 0,
            Some(token) => match hits.iter().position(|r| r.id == token) {
                Some(i) => i + 1,
                None => return tf_error(400, "VALIDATION_ERROR", "before must be a response token"),
            },
        };
        let items: Vec<Value> = hits.iter().skip(start).take(page_size).map(|r| r.json()).collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"total_items": total, "page_count": total.div_ceil(page_size), "items": items}))
            .set_delay(self.0.delay)
    }
}

// ------------------------------------------------------------ Google Forms

/// A Google Forms response.
#[derive(Debug, Clone)]
pub struct GResponse {
    /// `responseId`.
    pub id: String,
    /// `lastSubmittedTime`.
    pub last_submitted: String,
    /// Answers by questionId: their text values.
    pub answers: BTreeMap<String, Vec<String>>,
}

impl GResponse {
    /// A response last submitted at `last_submitted`.
    pub fn new(id: &str, last_submitted: &str) -> GResponse {
        GResponse { id: id.into(), last_submitted: last_submitted.into(), answers: BTreeMap::new() }
    }

    /// With an answer to question `qid` (several values for a checkbox question).
    pub fn answer(mut self, qid: &str, values: &[&str]) -> GResponse {
        self.answers.insert(qid.into(), values.iter().map(|v| v.to_string()).collect());
        self
    }

    fn json(&self) -> Value {
        let answers: BTreeMap<&String, Value> = self
            .answers
            .iter()
            .map(|(qid, values)| {
                let values: Vec<Value> = values.iter().map(|v| json!({"value": v})).collect();
                (qid, json!({"questionId": qid, "textAnswers": {"answers": values}}))
            })
            .collect();
        json!({
            "formId": "form",
            "responseId": self.id,
            "createTime": self.last_submitted,
            "lastSubmittedTime": self.last_submitted,
            "answers": answers,
        })
    }
}

/// A Google form: its items and responses.
#[derive(Debug, Clone)]
pub struct GForm {
    /// The form id.
    pub id: String,
    /// `items[]`, as the Forms API sends them.
    pub items: Vec<Value>,
    /// Responses, in no order.
    pub responses: Vec<GResponse>,
    /// Whether the caller may read it (403 otherwise).
    pub shared: bool,
}

impl GForm {
    /// An empty form, shared with the caller.
    pub fn new(id: &str) -> GForm {
        GForm { id: id.into(), items: Vec::new(), responses: Vec::new(), shared: true }
    }

    /// With a question (`kind`: `textQuestion`, `choiceQuestion`, ...).
    pub fn question(mut self, qid: &str, title: &str, kind: &str) -> GForm {
        let mut question = json!({"questionId": qid, "required": true});
        question[kind] = match kind {
            "choiceQuestion" => json!({"type": "RADIO", "options": [{"value": "payments"}, {"value": "search"}]}),
            _ => json!({}),
        };
        self.items.push(json!({"itemId": format!("i{qid}"), "title": title, "questionItem": {"question": question}}));
        self
    }

    /// With a linear scale `low..=high`.
    pub fn scale(mut self, qid: &str, title: &str, low: i64, high: i64) -> GForm {
        self.items.push(json!({
            "itemId": format!("i{qid}"), "title": title,
            "questionItem": {"question": {"questionId": qid, "required": true,
                "scaleQuestion": {"low": low, "high": high, "lowLabel": "Not at all", "highLabel": "Very"}}},
        }));
        self
    }

    /// Not shared with the caller: every request for it answers 403.
    pub fn not_shared(mut self) -> GForm {
        self.shared = false;
        self
    }
}

/// A mock Google: the OAuth token endpoint and the Forms API; cloned handles
/// share its state.
#[derive(Debug, Clone)]
pub struct GoogleForms {
    forms: Arc<Mutex<BTreeMap<String, GForm>>>,
    tokens: Arc<Mutex<Vec<String>>>,
    grants: Arc<AtomicUsize>,
    page_cap: usize,
    log: Log,
    token_lifetime_secs: i64,
    delay: Duration,
}

impl GoogleForms {
    /// A Google granting at most `page_cap` responses a page.
    pub fn new(page_cap: usize) -> GoogleForms {
        GoogleForms {
            forms: Arc::default(),
            tokens: Arc::default(),
            grants: Arc::default(),
            page_cap: page_cap.max(1),
            log: Log::default(),
            token_lifetime_secs: 3599,
            delay: Duration::ZERO,
        }
    }

    /// Answering every Forms API request after `delay` (a distant API, for benchmarks).
    pub fn with_delay(mut self, delay: Duration) -> GoogleForms {
        self.delay = delay;
        self
    }

    /// Accepting a ready access token (`gcloud auth print-access-token`).
    pub fn accept_token(&self, token: &str) {
        self.tokens.lock().expect("lock").push(token.into());
    }

    /// Add a form.
    pub fn add_form(&self, form: GForm) {
        self.forms.lock().expect("lock").insert(form.id.clone(), form);
    }

    /// Add a response to a form.
    pub fn add_response(&self, form: &str, response: GResponse) {
        self.forms.lock().expect("lock").get_mut(form).expect("a form added first").responses.push(response);
    }

    /// Access tokens granted for a verified JWT so far.
    pub fn grants(&self) -> usize {
        self.grants.load(Ordering::Relaxed)
    }

    /// Every request so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.log.0.lock().expect("lock").clone()
    }

    /// The token endpoint of this mock on `server`: a key's `token_uri`.
    pub fn token_uri(server: &MockServer) -> String {
        format!("{}/token", server.uri())
    }

    /// Answer on `server`.
    pub async fn mount(&self, server: &MockServer) {
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(GToken(self.clone(), GoogleForms::token_uri(server)))
            .with_priority(10)
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1/forms/[^/]+/responses$"))
            .respond_with(GResponses(self.clone()))
            .with_priority(10)
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1/forms/[^/]+$"))
            .respond_with(GDefinition(self.clone()))
            .with_priority(10)
            .mount(server)
            .await;
    }

    /// The form a request may read, or the answer refusing it.
    #[allow(clippy::result_large_err)] // a mock's refusal, built once per request
    fn gate(&self, req: &Request) -> Result<GForm, ResponseTemplate> {
        self.log.push(req);
        let bearer = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        if !bearer.is_some_and(|t| self.tokens.lock().expect("lock").contains(&t)) {
            return Err(g_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"));
        }
        let id = req.url.path().split('/').nth(3).unwrap_or_default().to_string();
        match self.forms.lock().expect("lock").get(&id) {
            Some(f) if f.shared => Ok(f.clone()),
            Some(_) => Err(g_error(403, "The caller does not have permission", "PERMISSION_DENIED")),
            None => Err(g_error(404, "Requested entity was not found.", "NOT_FOUND")),
        }
    }
}

/// Google's error body.
pub fn g_error(status: u16, message: &str, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"code": status, "message": message, "status": code}}))
}

fn oauth_error(description: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant", "error_description": description}))
}

/// `application/x-www-form-urlencoded` pairs.
fn form_pairs(body: &[u8]) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

#[derive(Debug, serde::Deserialize)]
struct Claims {
    iat: i64,
    exp: i64,
    scope: String,
}

struct GToken(GoogleForms, String);

impl Respond for GToken {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.0.log.push(req);
        let form = form_pairs(&req.body);
        if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}));
        }
        let Some(assertion) = form.get("assertion") else {
            return oauth_error("Missing required parameter: assertion");
        };
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_KEY_PEM.as_bytes()).expect("the fixture public key");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[self.1.as_str()]);
        validation.set_issuer(&[CLIENT_EMAIL]);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
        let claims = match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
            Ok(data) => data.claims,
            Err(e) => return oauth_error(&format!("Invalid JWT: {e}")),
        };
        if claims.exp - claims.iat > 3600 {
            return oauth_error("Invalid JWT: Token must be a short-lived token (60 minutes)");
        }
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        if !SCOPES.iter().all(|s| scopes.contains(s)) {
            return oauth_error("Invalid JWT: the scope does not name both Forms scopes");
        }
        let n = self.0.grants.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("ya29.mock-access-token-{n}");
        self.0.tokens.lock().expect("lock").push(token.clone());
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "expires_in": self.0.token_lifetime_secs, "token_type": "Bearer",
        }))
    }
}

struct GDefinition(GoogleForms);

impl Respond for GDefinition {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        match self.0.gate(req) {
            Err(refused) => refused,
            Ok(form) => ResponseTemplate::new(200)
                .set_body_json(json!({
                    "formId": form.id,
                    "info": {"title": format!("Form {}", form.id), "documentTitle": format!("Form {}", form.id)},
                    "revisionId": "00000001",
                    "responderUri": format!("https://docs.google.com/forms/d/e/{}/viewform", form.id),
                    "items": form.items,
                }))
                .set_delay(self.0.delay),
        }
    }
}

struct GResponses(GoogleForms);

/// `timestamp >= T` or `timestamp > T`: the bound and whether it is inclusive.
fn timestamp_filter(filter: &str) -> Option<(DateTime<Utc>, bool)> {
    let rest = filter.trim().strip_prefix("timestamp")?.trim_start();
    let (inclusive, t) = match rest.strip_prefix(">=") {
        Some(t) => (true, t),
        None => (false, rest.strip_prefix('>')?),
    };
    let t = DateTime::parse_from_rfc3339(t.trim()).ok()?.with_timezone(&Utc);
    Some((t, inclusive))
}

impl Respond for GResponses {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = match self.0.gate(req) {
            Err(refused) => return refused,
            Ok(form) => form,
        };
        let q = query(req);
        let filter = one(&q, "filter").unwrap_or_default();
        let bound = if filter.is_empty() {
            None
        } else {
            match timestamp_filter(&filter) {
                Some(b) => Some(b),
                None => return g_error(400, "Invalid filter", "INVALID_ARGUMENT"),
            }
        };
        let page_size = one(&q, "pageSize").and_then(|v| v.parse::<usize>().ok()).unwrap_or(5000).min(self.0.page_cap);
        // A page token is the offset, bound to the filter it was issued for.
        let offset = match one(&q, "pageToken") {
            None => 0,
            Some(token) => match token.split_once('|') {
                Some((o, f)) if f == filter => o.parse::<usize>().unwrap_or(0),
                _ => return g_error(400, "Page token does not match the request", "INVALID_ARGUMENT"),
            },
        };
        let mut hits: Vec<&GResponse> = form
            .responses
            .iter()
            .filter(|r| match bound {
                None => true,
                Some((t, true)) => time(&r.last_submitted) >= t,
                Some((t, false)) => time(&r.last_submitted) > t,
            })
            .collect();
        hits.sort_by(|a, b| time(&a.last_submitted).cmp(&time(&b.last_submitted)).then(a.id.cmp(&b.id)));
        let page: Vec<Value> = hits.iter().skip(offset).take(page_size).map(|r| r.json()).collect();
        let mut body = json!({"responses": page});
        if offset + page_size < hits.len() {
            body["nextPageToken"] = json!(format!("{}|{filter}", offset + page_size));
        }
        ResponseTemplate::new(200).set_body_json(body).set_delay(self.0.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_and_filters_parse() {
        let f = form_pairs(b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c");
        assert_eq!(f["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
        assert_eq!(f["assertion"], "a.b.c");
        let (t, inclusive) = timestamp_filter("timestamp >= 2026-03-01T00:00:00Z").unwrap();
        assert_eq!((t.to_rfc3339().as_str(), inclusive), ("2026-03-01T00:00:00+00:00", true));
        assert!(!timestamp_filter("timestamp > 2026-03-01T00:00:00Z").unwrap().1);
        assert!(timestamp_filter("created >= 2026").is_none());
    }
}
