//! What every row of one run shares: its id, the source it is landed as,
//! the time zone of timestamps without an offset, the clock, and the Likert
//! scales of the configured survey questions.
//!
//! ```
//! use devex_ingest::context::RunContext;
//! let run = RunContext::new("r1", "file", chrono_tz::UTC);
//! assert_eq!(run.off_scale("q1", "4"), None); // not a Likert question
//! ```

use std::collections::BTreeMap;

use chrono_tz::Tz;

/// What every row of one run shares.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The run's id, recorded in quarantine rows and commit metadata.
    pub run_id: String,
    /// Value of `source` for rows whose file has no `source` column.
    pub source: String,
    /// Zone for timestamps without an offset.
    pub tz: Tz,
    /// `ingested_at` of every row, microseconds UTC; event times later than a
    /// day past it are quarantined.
    pub now_micros: i64,
    /// Survey questions scored on a Likert scale: question -> `scale_max` (the
    /// scale is `1..=scale_max`); an answer off its scale is quarantined.
    pub likert: BTreeMap<String, u32>,
}

impl RunContext {
    /// A run of `source` now, in `tz`, with no Likert questions.
    pub fn new(run_id: impl Into<String>, source: impl Into<String>, tz: Tz) -> RunContext {
        RunContext {
            run_id: run_id.into(),
            source: source.into(),
            tz,
            now_micros: chrono::Utc::now().timestamp_micros(),
            likert: BTreeMap::new(),
        }
    }

    /// With the configured survey questions' scales.
    pub fn with_likert(mut self, survey: &devex_model::config::SurveyConfig) -> RunContext {
        self.likert = survey.questions.iter().map(|(q, spec)| (q.clone(), spec.scale_max)).collect();
        self
    }

    /// Why `answer` to `question` is not a valid score, if the question is on a
    /// Likert scale and it is not an integer on it.
    pub fn off_scale(&self, question: &str, answer: &str) -> Option<String> {
        let max = *self.likert.get(question)?;
        match answer.trim().parse::<i64>() {
            Ok(n) if (1..=i64::from(max)).contains(&n) => None,
            Ok(n) => Some(format!("{n} is outside the question's scale 1..{max}")),
            Err(_) => Some(format!("`{answer}` is not a score on the question's scale 1..{max}")),
        }
    }
}
