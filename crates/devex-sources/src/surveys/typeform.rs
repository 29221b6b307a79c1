//! The Typeform source: `[sources.<name>]` with `type = "typeform"`
//! (`docs/sources.md`), over Typeform's Create API (a form's fields) and
//! Responses API.
//!
//! Per form, a run reads the form's fields once (to check that `team_field`
//! and `nps_field` exist, and that scales match `[survey.questions]`), then
//! its completed responses since the watermark minus the overlap, newest
//! first, `page_size` at a time, paging with `before` (the last item's id)
//! until a page comes back short. Requests are paced to
//! `requests_per_second` (Typeform allows about two a second per account); a
//! 429, which may name no wait, is backed off.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_sources::http::HttpError> {
//! use devex_sources::surveys::typeform;
//! let cfg = devex_model::config::TypeformSource::default();
//! let client = typeform::client(&cfg, typeform::token(&cfg)?, devex_ingest::progress::silent())?;
//! let form = devex_model::config::FormRef { id: "tfDevEx26".into(), survey: None };
//! let since = chrono::Utc::now() - chrono::Duration::days(90);
//! let read = typeform::read_form(&client, &cfg, &Default::default(), &form, since).await?;
//! println!("{} responses in {} requests", read.responses.len(), client.requests());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use devex_ingest::IngestError;
use devex_ingest::progress::{Event, Level, Progress};
use devex_ingest::source::{Source, SourceContext, SourceRecord, Watermark};
use devex_lake::state::StateStore;
use devex_model::config::{FormRef, TypeformSource};
use devex_model::timestamp::RFC3339_UTC;
use futures::future::LocalBoxFuture;
use serde_json::Value;

use super::{AnswerValue, FormRead, Submitted, read_from, run_forms, watermarks};
use crate::http::{Api, HttpClient, HttpError, RetryPolicy, encode};

/// The `typeform` source.
#[derive(Debug, Clone)]
pub struct Typeform {
    /// The source's name.
    pub name: String,
    /// Its configuration.
    pub config: TypeformSource,
}

impl Source for Typeform {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "typeform"
    }

    fn watermarks<'a>(&'a self, state: &'a StateStore) -> LocalBoxFuture<'a, Result<Vec<Watermark>, IngestError>> {
        Box::pin(watermarks(state, "typeform", &self.name))
    }

    fn run<'a>(&'a self, ctx: &'a SourceContext<'a>) -> LocalBoxFuture<'a, Result<SourceRecord, IngestError>> {
        Box::pin(async move {
            let cfg = &self.config;
            let fail = |e: HttpError| e.into_ingest(&self.name);
            (ctx.progress)(&Event::new(Level::Info, format!("source {}: Typeform {}", self.name, cfg.base_url)));
            let client = client(cfg, token(cfg).map_err(fail)?, Arc::clone(&ctx.progress)).map_err(fail)?;
            let read = async |form: &FormRef, watermark: Option<DateTime<Utc>>| {
                let from = read_from(ctx.options, watermark, cfg.overlap_minutes, cfg.initial_days);
                read_form(&client, cfg, &ctx.run.likert, form, from).await
            };
            run_forms(ctx, "typeform", &self.name, &cfg.forms, read, || client.requests()).await
        })
    }
}

/// The personal access token from `token_env`.
pub fn token(cfg: &TypeformSource) -> Result<String, HttpError> {
    std::env::var(&cfg.token_env).ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        HttpError::Setup(format!(
            "${} is not set: Typeform needs a personal access token with the responses:read and forms:read scopes",
            cfg.token_env
        ))
    })
}

/// A client for the source's account, paced to `requests_per_second`.
pub fn client(cfg: &TypeformSource, token: String, notify: Progress) -> Result<HttpClient, HttpError> {
    Ok(HttpClient::new(
        Api::Typeform,
        &cfg.base_url,
        Some(token),
        Duration::from_secs(cfg.timeout_secs.max(1)),
        RetryPolicy::new(cfg.max_retries, Duration::from_millis(cfg.retry_base_ms)),
        notify,
    )?
    .with_rate(cfg.requests_per_second))
}

/// Read one form: its fields, then its completed responses submitted since `from`.
/// `likert` is `[survey.questions]`' scales (question -> `scale_max`).
pub async fn read_form(
    client: &HttpClient,
    cfg: &TypeformSource,
    likert: &BTreeMap<String, u32>,
    form: &FormRef,
    from: DateTime<Utc>,
) -> Result<FormRead, HttpError> {
    let url = client.url(&format!("/forms/{}", encode(&form.id)));
    let definition = client.get(&url).await?.body;
    let mut warnings =
        check_definition(cfg, likert, &definition).map_err(|m| HttpError::Setup(format!("form {}: {m}", form.id)))?;
    let page_size = cfg.page_size as usize;
    let mut by_id: BTreeMap<String, Submitted> = BTreeMap::new();
    let mut unlanded: BTreeSet<String> = BTreeSet::new();
    let mut before: Option<String> = None;
    loop {
        let mut q = format!(
            "/forms/{}/responses?page_size={page_size}&since={}",
            encode(&form.id),
            encode(&from.format(RFC3339_UTC).to_string())
        );
        if let Some(b) = &before {
            q.push_str(&format!("&before={}", encode(b)));
        }
        let url = client.url(&q);
        let page = client.get(&url).await?.body;
        let items = page
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| HttpError::malformed(&url, "no `items` array"))?;
        for item in items {
            if let Some(s) = submitted(cfg, item, &url, &mut unlanded)? {
                by_id.insert(s.id.clone(), s);
            }
        }
        if items.len() < page_size {
            break;
        }
        before = Some(response_id(items.last().expect("a full page"), &url)?);
    }
    if !unlanded.is_empty() {
        warnings.push(format!(
            "answers of type {} are not landed (no column holds them)",
            unlanded.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(FormRead { responses: by_id.into_values().collect(), warnings })
}

/// Every field of a form, groups' fields included.
fn fields(list: &Value, out: &mut Vec<Value>) {
    for f in list.as_array().into_iter().flatten() {
        out.push(f.clone());
        if let Some(inner) = f.pointer("/properties/fields") {
            fields(inner, out);
        }
    }
}

/// Check the form against the config: `team_field` is a hidden field or a
/// question's ref, `nps_field` a question's ref. Returns a warning for each
/// scale that is not the `1..=scale_max` of `[survey.questions]`.
fn check_definition(
    cfg: &TypeformSource,
    likert: &BTreeMap<String, u32>,
    definition: &Value,
) -> Result<Vec<String>, String> {
    let mut all = Vec::new();
    fields(definition.get("fields").unwrap_or(&Value::Null), &mut all);
    let refs: Vec<&str> = all.iter().filter_map(|f| f.get("ref").and_then(Value::as_str)).collect();
    let hidden: Vec<&str> =
        definition.get("hidden").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let list = |v: &[&str]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    if !hidden.contains(&cfg.team_field.as_str()) && !refs.contains(&cfg.team_field.as_str()) {
        return Err(format!(
            "team_field `{}` is neither a hidden field nor a question's ref (hidden fields: {}; refs: {})",
            cfg.team_field,
            list(&hidden),
            list(&refs)
        ));
    }
    if let Some(nps) = &cfg.nps_field
        && !refs.contains(&nps.as_str())
    {
        return Err(format!("nps_field `{nps}` is no question's ref (refs: {})", list(&refs)));
    }
    let mut warnings = Vec::new();
    for f in &all {
        let (Some(r), Some(steps)) =
            (f.get("ref").and_then(Value::as_str), f.pointer("/properties/steps").and_then(Value::as_i64))
        else {
            continue;
        };
        let Some(max) = likert.get(r) else { continue };
        let low = if f.pointer("/properties/start_at_one").and_then(Value::as_bool).unwrap_or(false) { 1 } else { 0 };
        let high = low + steps - 1;
        if (low, high) != (1, i64::from(*max)) {
            warnings.push(format!(
                "question `{r}` is a scale of {low}..{high}, [survey.questions] says 1..{max}: answers off 1..{max} go to the quarantine"
            ));
        }
    }
    Ok(warnings)
}

fn response_id(item: &Value, url: &str) -> Result<String, HttpError> {
    item.get("response_id")
        .or_else(|| item.get("token"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| HttpError::malformed(url, "a response with neither `response_id` nor `token`"))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The value of one answer (`None`: a type no column holds, named in `unlanded`).
fn value(answer: &Value, unlanded: &mut BTreeSet<String>) -> Option<AnswerValue> {
    let kind = answer.get("type").and_then(Value::as_str).unwrap_or_default();
    let field = answer.get(kind).unwrap_or(&Value::Null);
    match kind {
        "number" => match field.as_i64().and_then(|n| i32::try_from(n).ok()) {
            Some(n) => Some(AnswerValue::Score(n)),
            None => text(field).map(AnswerValue::Text),
        },
        "choice" => field.get("label").or_else(|| field.get("other")).and_then(text).map(AnswerValue::Text),
        "choices" => {
            let mut labels: Vec<String> =
                field.get("labels").and_then(Value::as_array).into_iter().flatten().filter_map(text).collect();
            labels.extend(field.get("other").and_then(text));
            (!labels.is_empty()).then(|| AnswerValue::Text(labels.join("; ")))
        }
        "text" | "email" | "url" | "date" | "boolean" => text(field).map(AnswerValue::Text),
        other => {
            unlanded.insert(other.to_string());
            None
        }
    }
}

/// A submitted response (`None` for a partial one, which never lands).
fn submitted(
    cfg: &TypeformSource,
    item: &Value,
    url: &str,
    unlanded: &mut BTreeSet<String>,
) -> Result<Option<Submitted>, HttpError> {
    let id = response_id(item, url)?;
    let partial = item.get("response_type").and_then(Value::as_str).is_some_and(|t| t != "completed");
    let submitted_at = item
        .get("submitted_at")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && !s.starts_with("0001-"))
        .map(|s| {
            DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                HttpError::malformed(url, format!("response {id}: `submitted_at` = {s:?} is not an RFC 3339 time"))
            })
        })
        .transpose()?;
    let Some(submitted_at) = submitted_at.filter(|_| !partial) else {
        return Ok(None);
    };
    let mut team =
        item.get("hidden").and_then(|h| h.get(&cfg.team_field)).and_then(text).filter(|t| !t.trim().is_empty());
    let mut nps = None;
    let mut answers = Vec::new();
    for a in item.get("answers").and_then(Value::as_array).into_iter().flatten() {
        let field = a.get("field").unwrap_or(&Value::Null);
        let Some(name) = field.get("ref").or_else(|| field.get("id")).and_then(Value::as_str) else {
            continue;
        };
        let Some(v) = value(a, unlanded) else { continue };
        if name == cfg.team_field {
            if team.is_none() {
                team = Some(match v {
                    AnswerValue::Text(t) => t,
                    AnswerValue::Score(s) => s.to_string(),
                });
            }
        } else if cfg.nps_field.as_deref() == Some(name) {
            nps = match v {
                AnswerValue::Score(s) => Some(s),
                AnswerValue::Text(t) => {
                    return Err(HttpError::malformed(
                        url,
                        format!("response {id}: the NPS answer ({name}) is {t:?}, not a whole number"),
                    ));
                }
            };
        } else {
            answers.push((name.to_string(), v));
        }
    }
    Ok(Some(Submitted { id, submitted_at, team, nps, answers }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cfg() -> TypeformSource {
        TypeformSource { nps_field: Some("nps".into()), ..Default::default() }
    }

    #[test]
    fn answers_map_by_ref_and_type() {
        let item = json!({
            "response_id": "r1", "response_type": "completed", "submitted_at": "2026-03-02T10:00:00Z",
            "hidden": {"team": "payments"},
            "answers": [
                {"field": {"id": "a", "type": "nps", "ref": "nps"}, "type": "number", "number": 9},
                {"field": {"id": "b", "type": "opinion_scale", "ref": "deploy_easy"}, "type": "number", "number": 4},
                {"field": {"id": "c", "type": "multiple_choice", "ref": "tools"}, "type": "choices",
                 "choices": {"ids": ["x", "y"], "labels": ["CI", "CD"], "other": "Pager"}},
                {"field": {"id": "d", "type": "multiple_choice", "ref": "stack"}, "type": "choice", "choice": {"label": "Rust"}},
                {"field": {"id": "e", "type": "yes_no", "ref": "oncall"}, "type": "boolean", "boolean": false},
                {"field": {"id": "f", "type": "file_upload", "ref": "cv"}, "type": "file_url", "file_url": "https://x"},
                {"field": {"id": "g", "type": "long_text"}, "type": "text", "text": "faster builds"},
            ]
        });
        let mut unlanded = BTreeSet::new();
        let s = submitted(&cfg(), &item, "u", &mut unlanded).unwrap().unwrap();
        assert_eq!((s.id.as_str(), s.team.as_deref(), s.nps), ("r1", Some("payments"), Some(9)));
        assert_eq!(
            s.answers,
            vec![
                ("deploy_easy".to_string(), AnswerValue::Score(4)),
                ("tools".to_string(), AnswerValue::Text("CI; CD; Pager".into())),
                ("stack".to_string(), AnswerValue::Text("Rust".into())),
                ("oncall".to_string(), AnswerValue::Text("false".into())),
                ("g".to_string(), AnswerValue::Text("faster builds".into())),
            ]
        );
        assert_eq!(unlanded.into_iter().collect::<Vec<_>>(), ["file_url"]);
    }

    #[test]
    fn the_team_from_an_answer_and_partial_responses_skipped() {
        let item = json!({
            "token": "r2", "submitted_at": "2026-03-02T10:00:00+01:00",
            "hidden": {},
            "answers": [{"field": {"id": "t", "type": "dropdown", "ref": "team"}, "type": "choice", "choice": {"label": "search"}}]
        });
        let s = submitted(&cfg(), &item, "u", &mut BTreeSet::new()).unwrap().unwrap();
        assert_eq!((s.id.as_str(), s.team.as_deref()), ("r2", Some("search")));
        assert_eq!(s.submitted_at.to_rfc3339(), "2026-03-02T09:00:00+00:00");
        assert!(s.answers.is_empty());
        let partial = json!({"response_id": "r3", "response_type": "partial", "submitted_at": "0001-01-01T00:00:00Z"});
        assert!(submitted(&cfg(), &partial, "u", &mut BTreeSet::new()).unwrap().is_none());
        let bad = json!({"response_id": "r4", "submitted_at": "yesterday"});
        let err =
            submitted(&cfg(), &bad, "https://tf/forms/x/responses", &mut BTreeSet::new()).unwrap_err().to_string();
        assert!(err.contains("r4") && err.contains("submitted_at") && err.contains("https://tf/forms/x"), "{err}");
    }

    #[test]
    fn the_definition_is_checked_against_the_config() {
        let likert = BTreeMap::from([("deploy_easy".to_string(), 5u32), ("docs".to_string(), 5u32)]);
        let def = json!({
            "hidden": ["team"],
            "fields": [
                {"ref": "nps", "type": "nps", "properties": {"steps": 11, "start_at_one": false}},
                {"ref": "group", "type": "group", "properties": {"fields": [
                    {"ref": "deploy_easy", "type": "opinion_scale", "properties": {"steps": 5, "start_at_one": true}},
                    {"ref": "docs", "type": "opinion_scale", "properties": {"steps": 7, "start_at_one": true}},
                ]}},
            ]
        });
        let warnings = check_definition(&cfg(), &likert, &def).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("`docs` is a scale of 1..7"), "{warnings:?}");
        let no_team = TypeformSource { team_field: "squad".into(), ..cfg() };
        let err = check_definition(&no_team, &likert, &def).unwrap_err();
        assert!(err.contains("team_field `squad`") && err.contains("hidden fields: team"), "{err}");
        let no_nps = TypeformSource { nps_field: Some("recommend".into()), ..cfg() };
        assert!(check_definition(&no_nps, &likert, &def).unwrap_err().contains("nps_field `recommend`"));
    }
}
