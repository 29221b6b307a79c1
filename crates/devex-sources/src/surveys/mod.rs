//! The survey-tool sources: a DevEx pulse read from [`typeform`] or
//! [`google_forms`] (`docs/sources.md`, "Survey tools") into `survey_responses`
//! and `survey_answers` rows.
//!
//! Both run the same way ([`run_forms`]): each form is one unit, read on its
//! own from its watermark (the latest `submitted_at` landed, minus
//! `overlap_minutes`); the rows of every form that read land through the one
//! validation and quarantine path (Likert scales of `[survey.questions]`, NPS
//! 0..10), and only then does each of those forms' watermark move. A form that
//! failed lands nothing and keeps its watermark; the run exits 3 naming it.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use devex_sources::surveys::wave;
//! let t = Utc.with_ymd_and_hms(2026, 3, 31, 23, 30, 0).unwrap();
//! assert_eq!(wave(Some("2026-H1"), t, chrono_tz::UTC), "2026-H1");
//! assert_eq!(wave(None, t, chrono_tz::UTC), "2026-Q1");
//! assert_eq!(wave(None, t, chrono_tz::Europe::Berlin), "2026-Q2"); // 01:30 on 1 April there
//! ```

pub mod google_auth;
pub mod google_forms;
pub mod typeform;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use devex_ingest::IngestError;
use devex_ingest::import::TableReport;
use devex_ingest::progress::{Event, Level};
use devex_ingest::source::{SourceContext, SourceRecord, SyncOptions, Watermark, land};
use devex_lake::state::StateStore;
use devex_model::config::FormRef;
use devex_model::row;
use serde::{Deserialize, Serialize};

use crate::http::HttpError;

/// What devex keeps of a survey-tool source between runs:
/// `_state/<type>/<source>.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormsState {
    /// Per form id.
    pub forms: BTreeMap<String, FormState>,
}

/// One form's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormState {
    /// The latest `submitted_at` landed.
    pub watermark: Option<DateTime<Utc>>,
    /// Responses the form's last successful run read.
    #[serde(default)]
    pub last_read: usize,
}

/// The `_state` key of a source's state: `typeform/<source>.json`.
pub fn state_key(kind: &str, source: &str) -> String {
    format!("{kind}/{source}.json")
}

/// The saved state of a source (empty if it never ran).
pub async fn load_state(state: &StateStore, kind: &str, source: &str) -> Result<FormsState, IngestError> {
    Ok(state.read_json(&state_key(kind, source)).await?)
}

/// The watermarks `devex status` shows: one per form.
pub async fn watermarks(state: &StateStore, kind: &str, source: &str) -> Result<Vec<Watermark>, IngestError> {
    Ok(load_state(state, kind, source)
        .await?
        .forms
        .into_iter()
        .map(|(form, s)| Watermark {
            unit: format!("form {form}"),
            at: s.watermark,
            counts: vec![("responses_last_read", s.last_read)],
        })
        .collect())
}

/// Where a form's read starts: `--since`; else its watermark minus the
/// overlap; else (a first run, or `--full`) `initial_days` back.
pub fn read_from(
    opts: &SyncOptions,
    watermark: Option<DateTime<Utc>>,
    overlap_minutes: u32,
    initial_days: u32,
) -> DateTime<Utc> {
    match (opts.since, opts.full, watermark) {
        (Some(s), _, _) => s,
        (None, false, Some(w)) => w - chrono::Duration::minutes(i64::from(overlap_minutes)),
        _ => opts.now - chrono::Duration::days(i64::from(initial_days)),
    }
}

/// A response's wave: the form's `survey` label, else the response's quarter
/// (`YYYY-Qn`) in the configured time zone.
pub fn wave(label: Option<&str>, submitted_at: DateTime<Utc>, tz: Tz) -> String {
    match label {
        Some(l) => l.to_string(),
        None => {
            let local = submitted_at.with_timezone(&tz);
            format!("{}-Q{}", local.year(), local.month0() / 3 + 1)
        }
    }
}

/// An answer's value: a number lands as `score`, anything else as `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerValue {
    /// A whole number (a scale, a rating).
    Score(i32),
    /// Text: a choice's label, several joined by `"; "`, free text.
    Text(String),
}

/// One submitted response, tool-independent.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The tool's response id.
    pub id: String,
    /// When it was (last) submitted.
    pub submitted_at: DateTime<Utc>,
    /// The team it names, if any.
    pub team: Option<String>,
    /// Its NPS answer, if any.
    pub nps: Option<i32>,
    /// Its other answers: question name, value.
    pub answers: Vec<(String, AnswerValue)>,
}

/// What reading one form gave.
#[derive(Debug, Default)]
pub struct FormRead {
    /// Its submitted responses since the read's start.
    pub responses: Vec<Submitted>,
    /// Notes for the run record (a scale that does not match `[survey.questions]`, ...).
    pub warnings: Vec<String>,
}

/// The rows a form's responses land as.
pub fn rows(form: &FormRef, read: &FormRead, tz: Tz) -> (Vec<row::SurveyResponse>, Vec<row::SurveyAnswer>) {
    let mut responses = Vec::with_capacity(read.responses.len());
    let mut answers = Vec::new();
    for r in &read.responses {
        let survey = wave(form.survey.as_deref(), r.submitted_at, tz);
        for (question, value) in &r.answers {
            let (score, text) = match value {
                AnswerValue::Score(s) => (Some(*s), None),
                AnswerValue::Text(t) => (None, Some(t.clone())),
            };
            answers.push(row::SurveyAnswer {
                response_id: r.id.clone(),
                survey: survey.clone(),
                question: question.clone(),
                score,
                text,
                submitted_at: r.submitted_at,
            });
        }
        responses.push(row::SurveyResponse {
            id: r.id.clone(),
            survey,
            submitted_at: r.submitted_at,
            team: r.team.clone(),
            nps: r.nps,
        });
    }
    (responses, answers)
}

/// Run a survey-tool source: read each form with `read(form, its state)` (one
/// unit each, in order), land the rows of every form that read, then save
/// the state of those forms. `requests` reports the HTTP requests sent.
pub async fn run_forms(
    ctx: &SourceContext<'_>,
    kind: &'static str,
    name: &str,
    forms: &[FormRef],
    read: impl AsyncFn(&FormRef, Option<DateTime<Utc>>) -> Result<FormRead, HttpError>,
    requests: impl Fn() -> u64,
) -> Result<SourceRecord, IngestError> {
    let previous = load_state(ctx.state, kind, name).await?;
    let mut next = previous.clone();
    let mut responses = Vec::new();
    let mut answers = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (i, form) in forms.iter().enumerate() {
        let watermark = previous.forms.get(&form.id).and_then(|s| s.watermark);
        match read(form, watermark).await {
            Ok(got) => {
                let (r, a) = rows(form, &got, ctx.run.tz);
                let latest = got.responses.iter().map(|r| r.submitted_at).max();
                (ctx.progress)(&Event::new(
                    Level::Detail,
                    format!(
                        "[{}/{}] {name}: form {}: {}, {}",
                        i + 1,
                        forms.len(),
                        form.id,
                        devex_model::plural::count(r.len() as u64, "response"),
                        devex_model::plural::count(a.len() as u64, "answer")
                    ),
                ));
                for w in &got.warnings {
                    (ctx.progress)(&Event::new(Level::Warn, format!("{name}: form {}: {w}", form.id)));
                }
                warnings.extend(got.warnings.iter().map(|w| format!("form {}: {w}", form.id)));
                next.forms.insert(
                    form.id.clone(),
                    FormState { watermark: latest.max(watermark), last_read: got.responses.len() },
                );
                responses.extend(r);
                answers.extend(a);
            }
            Err(e) => {
                let hint = e.hint().map(|h| format!(" (hint: {h})")).unwrap_or_default();
                if let HttpError::State(_) = e {
                    return Err(e.into_ingest(name));
                }
                (ctx.progress)(&Event::new(
                    Level::Warn,
                    format!("{name}: form {} failed; nothing of it lands, its watermark stays: {e}", form.id),
                ));
                errors.push(format!("form {}: {e}{hint}", form.id));
            }
        }
    }
    let landed = land(ctx, kind, name, &responses).await?.and(land(ctx, kind, name, &answers).await?);
    // Only now that the rows are in the lake do the watermarks move.
    if next != previous {
        ctx.state.write_json(&state_key(kind, name), &next).await?;
    }
    warnings.extend(landed.warnings);
    Ok(SourceRecord {
        source: name.to_string(),
        kind: kind.into(),
        tables: merged(landed.tables),
        errors,
        warnings,
        requests: Some(requests()),
        ..Default::default()
    })
}

/// One report per table: an import of responses also reports the (untouched)
/// answers table, which the answers' own import reports again.
fn merged(reports: Vec<TableReport>) -> Vec<TableReport> {
    let mut out: Vec<TableReport> = Vec::new();
    for r in reports {
        match out.iter_mut().find(|m| m.table == r.table) {
            Some(m) => {
                m.read += r.read;
                m.written += r.written;
                m.replaced += r.replaced;
                m.quarantined += r.quarantined;
                m.version = m.version.max(r.version);
            }
            None => out.push(r),
        }
    }
    out
}
