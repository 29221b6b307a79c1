//! Survey exports are wide: one row per response, one column per question.
//! The lake keeps responses (NPS, team) and answers (one row per question)
//! apart, so waves with different questions share one table.

use devex_model::Table;
use devex_model::table::{INGESTED_AT, MONTH, SOURCE};
use polars::prelude::*;

use crate::context::RunContext;
use crate::error::IngestError;
use crate::quarantine::QuarantineRow;
use crate::validate::Validated;

/// The answers of validated `survey_responses`.
#[derive(Debug)]
pub struct Answers {
    /// The `survey_answers` rows.
    pub df: DataFrame,
    /// Answers to a Likert question that are not on its scale.
    pub quarantined: Vec<QuarantineRow>,
}

impl Answers {
    /// Answers read: landed and quarantined.
    pub fn read(&self) -> usize {
        self.df.height() + self.quarantined.len()
    }
}

/// The `survey_answers` rows of validated `survey_responses`: every extra
/// column with a value becomes one answer; an integer is a `score`, anything
/// else a `text`. An answer to a question on a Likert scale (`ctx.likert`)
/// must be an integer on it, else it goes to the quarantine (the response
/// and its other answers still land).
pub fn answers_from_responses(v: &Validated, ctx: &RunContext) -> Result<Answers, IngestError> {
    let err = |e: PolarsError| IngestError::internal("reshaping survey answers", e);
    let col = |name: &str| v.df.column(name).map(|c| c.as_materialized_series().clone()).map_err(err);
    let ids = col("id")?;
    let surveys = col("survey")?;
    let submitted = col("submitted_at")?;
    let sources = col(SOURCE)?;
    let months = col(MONTH)?;
    let (ids, surveys, sources, months) =
        (ids.str().map_err(err)?, surveys.str().map_err(err)?, sources.str().map_err(err)?, months.str().map_err(err)?);
    let submitted = submitted.i64().map_err(err)?;
    let ingested_col = v.df.column(INGESTED_AT).map_err(err)?.as_materialized_series().i64().map_err(err)?.clone();
    let ingested = if v.df.height() > 0 { ingested_col.get(0) } else { None };

    let mut out = AnswerColumns::default();
    let mut quarantined = Vec::new();
    for q in v.extras.columns() {
        let answers = q.as_materialized_series().str().map_err(err)?;
        for (row, answer) in answers.iter().enumerate() {
            let Some(answer) = answer else { continue };
            if let Some(reason) = ctx.off_scale(q.name(), answer) {
                let record = serde_json::json!({
                    "response_id": ids.get(row),
                    "survey": surveys.get(row),
                    "question": q.name().as_str(),
                    "answer": answer,
                });
                quarantined.push(QuarantineRow {
                    table: Table::SurveyAnswers.name().into(),
                    file: v.file.clone(),
                    line: v.lines.get(row).copied().flatten(),
                    column: Some(q.name().to_string()),
                    value: Some(answer.to_string()),
                    reason: format!("{}: {reason}", q.name()),
                    record: record.to_string(),
                    source: sources.get(row).unwrap_or(&ctx.source).to_string(),
                });
                continue;
            }
            let (score, text) = match answer.parse::<i32>() {
                Ok(n) => (Some(n), None),
                Err(_) => (None, Some(answer.to_string())),
            };
            out.response_id.push(ids.get(row).map(str::to_string));
            out.survey.push(surveys.get(row).map(str::to_string));
            out.question.push(Some(q.name().to_string()));
            out.score.push(score);
            out.text.push(text);
            out.submitted_at.push(submitted.get(row));
            out.source.push(sources.get(row).map(str::to_string));
            out.ingested_at.push(ingested);
            out.month.push(months.get(row).map(str::to_string));
        }
    }
    let n = out.response_id.len();
    let df = DataFrame::new(
        n,
        vec![
            Column::new("response_id".into(), out.response_id),
            Column::new("survey".into(), out.survey),
            Column::new("question".into(), out.question),
            Column::new("score".into(), out.score),
            Column::new("text".into(), out.text),
            Column::new("submitted_at".into(), out.submitted_at),
            Column::new(SOURCE.into(), out.source),
            Column::new(INGESTED_AT.into(), out.ingested_at),
            Column::new(MONTH.into(), out.month),
        ],
    )
    .map_err(err)?;
    Ok(Answers { df, quarantined })
}

#[derive(Default)]
struct AnswerColumns {
    response_id: Vec<Option<String>>,
    survey: Vec<Option<String>>,
    question: Vec<Option<String>>,
    score: Vec<Option<i32>>,
    text: Vec<Option<String>>,
    submitted_at: Vec<Option<i64>>,
    source: Vec<Option<String>>,
    ingested_at: Vec<Option<i64>>,
    month: Vec<Option<String>>,
}
