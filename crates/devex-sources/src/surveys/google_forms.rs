//! The Google Forms source: `[sources.<name>]` with `type = "google_forms"`
//! (`docs/sources.md`), over the Forms API v1.
//!
//! A run authenticates once ([`google_auth`](super::google_auth): a
//! service-account key's JWT grant, the token reused until a minute before it
//! expires, or a ready access token). Per form, it reads the form's items (to
//! name questions by title and find the team and NPS questions), then its
//! responses with `filter=timestamp >= <watermark - overlap>`, following
//! `nextPageToken` with the filter unchanged.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_sources::http::HttpError> {
//! use devex_sources::surveys::google_forms::{Session, read_form};
//! let cfg = devex_model::config::GoogleFormsSource::default();
//! let session = Session::new(&cfg, devex_ingest::progress::silent())?;
//! let form = devex_model::config::FormRef { id: "1FAIpQLSheldout".into(), survey: None };
//! let since = chrono::Utc::now() - chrono::Duration::days(90);
//! let read = read_form(&session, &cfg, &Default::default(), &form, since).await?;
//! println!("{} responses in {} requests", read.responses.len(), session.requests());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use devex_ingest::IngestError;
use devex_ingest::progress::{Event, Level, Progress};
use devex_ingest::source::{Source, SourceContext, SourceRecord, Watermark};
use devex_lake::state::StateStore;
use devex_model::config::{FormRef, GoogleFormsSource};
use devex_model::timestamp::RFC3339_UTC;
use futures::future::LocalBoxFuture;
use serde_json::Value;

use super::google_auth::{AccessToken, Credentials, exchange};
use super::{AnswerValue, FormRead, Submitted, read_from, run_forms, watermarks};
use crate::http::{Api, HttpClient, HttpError, RetryPolicy, encode};

/// The `google_forms` source.
#[derive(Debug, Clone)]
pub struct GoogleForms {
    /// The source's name.
    pub name: String,
    /// Its configuration.
    pub config: GoogleFormsSource,
}

impl Source for GoogleForms {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "google_forms"
    }

    fn watermarks<'a>(&'a self, state: &'a StateStore) -> LocalBoxFuture<'a, Result<Vec<Watermark>, IngestError>> {
        Box::pin(watermarks(state, "google_forms", &self.name))
    }

    fn run<'a>(&'a self, ctx: &'a SourceContext<'a>) -> LocalBoxFuture<'a, Result<SourceRecord, IngestError>> {
        Box::pin(async move {
            let cfg = &self.config;
            let fail = |e: HttpError| e.into_ingest(&self.name);
            (ctx.progress)(&Event::new(Level::Info, format!("source {}: Google Forms {}", self.name, cfg.base_url)));
            let session = Session::new(cfg, Arc::clone(&ctx.progress)).map_err(fail)?;
            let read = async |form: &FormRef, watermark: Option<DateTime<Utc>>| {
                let from = read_from(ctx.options, watermark, cfg.overlap_minutes, cfg.initial_days);
                read_form(&session, cfg, &ctx.run.likert, form, from).await
            };
            run_forms(ctx, "google_forms", &self.name, &cfg.forms, read, || session.requests()).await
        })
    }
}

/// The source's authenticated access to the Forms API for one run.
pub struct Session {
    credentials: Credentials,
    base_url: String,
    timeout: Duration,
    retry: RetryPolicy,
    notify: Progress,
    current: tokio::sync::Mutex<Option<(HttpClient, AccessToken)>>,
    /// Requests of clients already replaced, and of token exchanges.
    spent: AtomicU64,
}

impl Session {
    /// A session with the config's credentials (read now; no request yet).
    pub fn new(cfg: &GoogleFormsSource, notify: Progress) -> Result<Session, HttpError> {
        Ok(Session {
            credentials: Credentials::from_config(cfg)?,
            base_url: cfg.base_url.clone(),
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
            retry: RetryPolicy::new(cfg.max_retries, Duration::from_millis(cfg.retry_base_ms)),
            notify,
            current: tokio::sync::Mutex::new(None),
            spent: AtomicU64::new(0),
        })
    }

    /// A client whose token is good for at least another minute.
    pub async fn client(&self) -> Result<HttpClient, HttpError> {
        let mut current = self.current.lock().await;
        if let Some((client, token)) = current.as_ref()
            && token.renew_at.is_none_or(|at| tokio::time::Instant::now() < at)
        {
            return Ok(client.clone());
        }
        if let Some((old, _)) = current.take() {
            self.spent.fetch_add(old.requests(), Ordering::Relaxed);
        }
        let token = match &self.credentials {
            Credentials::Token(t) => AccessToken { token: t.clone(), renew_at: None },
            Credentials::Key(key) => {
                let (token, requests) = exchange(key, self.timeout, self.retry, Arc::clone(&self.notify)).await?;
                self.spent.fetch_add(requests, Ordering::Relaxed);
                token
            }
        };
        let client = HttpClient::new(
            Api::GoogleForms,
            &self.base_url,
            Some(token.token.clone()),
            self.timeout,
            self.retry,
            Arc::clone(&self.notify),
        )?;
        *current = Some((client.clone(), token));
        Ok(client)
    }

    /// Requests sent so far (token exchanges and retries included).
    pub fn requests(&self) -> u64 {
        let live = self.current.try_lock().ok().and_then(|c| c.as_ref().map(|(c, _)| c.requests())).unwrap_or(0);
        self.spent.load(Ordering::Relaxed) + live
    }
}

/// A question of a form.
#[derive(Debug, Clone)]
struct Question {
    title: String,
    scale: bool,
}

/// The questions of a form's `items[]` by questionId (a grid's rows too,
/// titled `item title / row title`).
fn questions(definition: &Value) -> BTreeMap<String, Question> {
    let mut out = BTreeMap::new();
    for item in definition.get("items").and_then(Value::as_array).into_iter().flatten() {
        let title = item.get("title").and_then(Value::as_str).unwrap_or_default();
        if let Some(q) = item.pointer("/questionItem/question")
            && let Some(id) = q.get("questionId").and_then(Value::as_str)
        {
            out.insert(id.to_string(), Question { title: title.to_string(), scale: q.get("scaleQuestion").is_some() });
        }
        for q in item.pointer("/questionGroupItem/questions").and_then(Value::as_array).into_iter().flatten() {
            if let Some(id) = q.get("questionId").and_then(Value::as_str) {
                let row = q.pointer("/rowQuestion/title").and_then(Value::as_str).unwrap_or_default();
                out.insert(id.to_string(), Question { title: format!("{title} / {row}"), scale: false });
            }
        }
    }
    out
}

/// The questionId a config names by exact title or by id.
fn find(questions: &BTreeMap<String, Question>, key: &str, what: &str) -> Result<String, String> {
    if questions.contains_key(key) {
        return Ok(key.to_string());
    }
    let hits: Vec<&String> = questions.iter().filter(|(_, q)| q.title == key).map(|(id, _)| id).collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("{what} `{key}` is no question's exact title or questionId")),
        _ => Err(format!("{what} `{key}` is the title of {} questions: give its questionId", hits.len())),
    }
}

/// Read one form: its items, then its responses submitted since `from`.
/// `likert` is `[survey.questions]`' scales (question -> `scale_max`).
pub async fn read_form(
    session: &Session,
    cfg: &GoogleFormsSource,
    likert: &BTreeMap<String, u32>,
    form: &FormRef,
    from: DateTime<Utc>,
) -> Result<FormRead, HttpError> {
    let client = session.client().await?;
    let definition = client.get(&client.url(&format!("/v1/forms/{}", encode(&form.id)))).await?.body;
    let questions = questions(&definition);
    let setup = |m: String| HttpError::Setup(format!("form {}: {m}", form.id));
    let team = cfg.team_question.as_deref().map(|k| find(&questions, k, "team_question")).transpose().map_err(setup)?;
    let nps = cfg.nps_question.as_deref().map(|k| find(&questions, k, "nps_question")).transpose().map_err(setup)?;
    let mut warnings: Vec<String> = cfg
        .questions
        .keys()
        .filter(|title| !questions.values().any(|q| &q.title == *title))
        .map(|title| format!("questions: no question is titled `{title}`"))
        .collect();
    let filter = format!("timestamp >= {}", from.format(RFC3339_UTC));
    let mut by_id: BTreeMap<String, Submitted> = BTreeMap::new();
    let mut unlanded = BTreeSet::new();
    let mut page_token: Option<String> = None;
    loop {
        let client = session.client().await?;
        let mut q =
            format!("/v1/forms/{}/responses?filter={}&pageSize={}", encode(&form.id), encode(&filter), cfg.page_size);
        if let Some(t) = &page_token {
            q.push_str(&format!("&pageToken={}", encode(t)));
        }
        let url = client.url(&q);
        let page = client.get(&url).await?.body;
        for r in page.get("responses").and_then(Value::as_array).into_iter().flatten() {
            let s = response(cfg, likert, &questions, team.as_deref(), nps.as_deref(), r, &url, &mut unlanded)?;
            by_id.insert(s.id.clone(), s);
        }
        match page.get("nextPageToken").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            Some(t) => page_token = Some(t.to_string()),
            None => break,
        }
    }
    if !unlanded.is_empty() {
        warnings.push(format!(
            "answers to {} are not landed (file uploads and grades have no column)",
            unlanded.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(FormRead { responses: by_id.into_values().collect(), warnings })
}

/// One response as the contract's values.
#[allow(clippy::too_many_arguments)]
fn response(
    cfg: &GoogleFormsSource,
    likert: &BTreeMap<String, u32>,
    questions: &BTreeMap<String, Question>,
    team: Option<&str>,
    nps: Option<&str>,
    r: &Value,
    url: &str,
    unlanded: &mut BTreeSet<String>,
) -> Result<Submitted, HttpError> {
    let id = r
        .get("responseId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| HttpError::malformed(url, "a response without `responseId`"))?
        .to_string();
    let at = r
        .get("lastSubmittedTime")
        .and_then(Value::as_str)
        .ok_or_else(|| HttpError::malformed(url, format!("response {id}: no `lastSubmittedTime`")))?;
    let submitted_at = DateTime::parse_from_rfc3339(at).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        HttpError::malformed(url, format!("response {id}: `lastSubmittedTime` = {at:?} is not an RFC 3339 time"))
    })?;
    let mut out = Submitted { id: id.clone(), submitted_at, team: None, nps: None, answers: Vec::new() };
    let answers = r.get("answers").and_then(Value::as_object);
    for (qid, answer) in answers.into_iter().flatten() {
        let Some(values) = answer.pointer("/textAnswers/answers").and_then(Value::as_array) else {
            unlanded.insert(questions.get(qid).map_or_else(|| qid.clone(), |q| format!("`{}`", q.title)));
            continue;
        };
        let values: Vec<&str> = values.iter().filter_map(|v| v.get("value").and_then(Value::as_str)).collect();
        if values.is_empty() {
            continue;
        }
        if Some(qid.as_str()) == team {
            out.team = Some(values.join("; ")).filter(|t| !t.trim().is_empty());
            continue;
        }
        if Some(qid.as_str()) == nps {
            let n = values[0].trim().parse::<i32>().map_err(|_| {
                HttpError::malformed(
                    url,
                    format!("response {id}: the NPS answer is {:?}, not a whole number", values[0]),
                )
            })?;
            out.nps = Some(n);
            continue;
        }
        let question = questions.get(qid);
        let name = question.and_then(|q| cfg.questions.get(&q.title)).cloned().unwrap_or_else(|| qid.clone());
        let whole = match values.as_slice() {
            [one] => one.trim().parse::<i32>().ok(),
            _ => None,
        };
        let value = match whole {
            Some(n) if question.is_some_and(|q| q.scale) || likert.contains_key(&name) => AnswerValue::Score(n),
            _ => AnswerValue::Text(values.join("; ")),
        };
        out.answers.push((name, value));
    }
    out.answers.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition() -> Value {
        json!({"items": [
            {"title": "Which team are you on?", "questionItem": {"question": {"questionId": "t1", "choiceQuestion": {}}}},
            {"title": "How likely are you to recommend the platform?", "questionItem": {"question": {"questionId": "n1", "scaleQuestion": {"low": 0, "high": 10}}}},
            {"title": "Deploying my service is easy", "questionItem": {"question": {"questionId": "d1", "scaleQuestion": {"low": 1, "high": 5}}}},
            {"title": "Docs", "questionItem": {"question": {"questionId": "x1", "textQuestion": {}}}},
            {"title": "Tools you use", "questionItem": {"question": {"questionId": "c1", "choiceQuestion": {"type": "CHECKBOX"}}}},
            {"title": "Rate", "questionGroupItem": {"questions": [{"questionId": "g1", "rowQuestion": {"title": "CI"}}]}},
        ]})
    }

    #[test]
    fn answers_map_by_title_and_kind() {
        let cfg = GoogleFormsSource {
            questions: BTreeMap::from([("Deploying my service is easy".to_string(), "deploy_easy".to_string())]),
            ..Default::default()
        };
        let q = questions(&definition());
        assert_eq!(q["g1"].title, "Rate / CI");
        let team = find(&q, "Which team are you on?", "team_question").unwrap();
        let nps = find(&q, "n1", "nps_question").unwrap();
        assert!(find(&q, "Team", "team_question").unwrap_err().contains("team_question `Team`"));
        let likert = BTreeMap::from([("x1".to_string(), 5u32)]);
        let r = json!({"responseId": "R1", "lastSubmittedTime": "2026-03-02T10:00:00.123456Z", "answers": {
            "t1": {"questionId": "t1", "textAnswers": {"answers": [{"value": "payments"}]}},
            "n1": {"questionId": "n1", "textAnswers": {"answers": [{"value": "9"}]}},
            "d1": {"questionId": "d1", "textAnswers": {"answers": [{"value": "4"}]}},
            "x1": {"questionId": "x1", "textAnswers": {"answers": [{"value": "3"}]}},
            "c1": {"questionId": "c1", "textAnswers": {"answers": [{"value": "CI"}, {"value": "CD"}]}},
            "g1": {"questionId": "g1", "textAnswers": {"answers": [{"value": "7"}]}},
            "f1": {"questionId": "f1", "fileUploadAnswers": {"answers": [{"fileId": "x"}]}},
        }});
        let mut unlanded = BTreeSet::new();
        let s = response(&cfg, &likert, &q, Some(&team), Some(&nps), &r, "u", &mut unlanded).unwrap();
        assert_eq!((s.team.as_deref(), s.nps), (Some("payments"), Some(9)));
        assert_eq!(s.submitted_at.to_rfc3339(), "2026-03-02T10:00:00.123456+00:00");
        assert_eq!(
            s.answers,
            vec![
                ("c1".to_string(), AnswerValue::Text("CI; CD".into())),
                ("deploy_easy".to_string(), AnswerValue::Score(4)),
                // Not a scale, not a Likert question: a number stays text.
                ("g1".to_string(), AnswerValue::Text("7".into())),
                // Named in [survey.questions]: an integer is a score.
                ("x1".to_string(), AnswerValue::Score(3)),
            ]
        );
        assert_eq!(unlanded.into_iter().collect::<Vec<_>>(), ["f1"]);
        let bad = json!({"responseId": "R2", "lastSubmittedTime": "2026-03-02T10:00:00Z", "answers": {
            "n1": {"questionId": "n1", "textAnswers": {"answers": [{"value": "very"}]}}}});
        let err = response(&cfg, &likert, &q, None, Some(&nps), &bad, "u", &mut BTreeSet::new()).unwrap_err();
        assert!(err.to_string().contains("R2") && err.to_string().contains("NPS"), "{err}");
    }
}
