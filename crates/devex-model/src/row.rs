//! One typed row per canonical table: what a source builds before its rows go
//! through the one validation and quarantine path (`devex-ingest`), which sees
//! them as records with the contract's column names
//! (`docs/data-contract.md`). A field's type says what the contract allows;
//! the validator still checks every value, as it does for a file.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use devex_model::row::{Deployment, DeploymentKind, DeploymentStatus, Row};
//! let d = Deployment {
//!     id: "api/deployments/1".into(),
//!     service: "api".into(),
//!     environment: "production".into(),
//!     status: DeploymentStatus::Success,
//!     finished_at: Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
//!     kind: Some(DeploymentKind::Rollback),
//!     ..Deployment::default()
//! };
//! let record = d.record();
//! assert_eq!(record["status"], "success");
//! assert_eq!(record["finished_at"], "2026-03-02T10:00:00Z");
//! assert_eq!(record["kind"], "rollback");
//! assert!(record["commit_sha"].is_null());
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::table::Table;

/// A typed row of one canonical table.
pub trait Row: Serialize {
    /// The table the row belongs to.
    const TABLE: Table;

    /// The row as a record with the contract's column names (absent values as null).
    fn record(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The records of `rows`, for the validation path.
pub fn records<R: Row>(rows: &[R]) -> Vec<serde_json::Value> {
    rows.iter().map(Row::record).collect()
}

/// `deployments.status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentStatus {
    #[default]
    Success,
    Failure,
}

/// `deployments.kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentKind {
    #[default]
    Regular,
    Rollback,
    Hotfix,
}

/// `adoption_events.event`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdoptionEventKind {
    #[default]
    Onboarded,
    Used,
    Offboarded,
}

/// A row of `deployments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub service: String,
    pub environment: String,
    pub status: DeploymentStatus,
    pub finished_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub commit_sha: Option<String>,
    pub kind: Option<DeploymentKind>,
    pub team: Option<String>,
    pub url: Option<String>,
}

impl Row for Deployment {
    const TABLE: Table = Table::Deployments;
}

/// A row of `changes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub repo: String,
    pub sha: String,
    pub service: String,
    pub committed_at: DateTime<Utc>,
    pub deployment_id: Option<String>,
    pub pr_number: Option<i64>,
    pub pr_opened_at: Option<DateTime<Utc>>,
    pub first_review_at: Option<DateTime<Utc>>,
    pub merged_at: Option<DateTime<Utc>>,
    pub author: Option<String>,
}

impl Row for Change {
    const TABLE: Table = Table::Changes;
}

/// A row of `incidents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub service: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub severity: Option<String>,
    pub caused_by_deployment: Option<String>,
    pub root_cause_sha: Option<String>,
    pub title: Option<String>,
}

impl Row for Incident {
    const TABLE: Table = Table::Incidents;
}

/// A row of `survey_responses`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SurveyResponse {
    pub id: String,
    pub survey: String,
    pub submitted_at: DateTime<Utc>,
    pub team: Option<String>,
    pub nps: Option<i32>,
}

impl Row for SurveyResponse {
    const TABLE: Table = Table::SurveyResponses;
}

/// A row of `survey_answers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SurveyAnswer {
    pub response_id: String,
    pub survey: String,
    pub question: String,
    pub score: Option<i32>,
    pub text: Option<String>,
    /// The response's `submitted_at` (the table's event time).
    pub submitted_at: DateTime<Utc>,
}

impl Row for SurveyAnswer {
    const TABLE: Table = Table::SurveyAnswers;
}

/// A row of `adoption_events`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdoptionEvent {
    pub id: String,
    pub team: String,
    pub service: Option<String>,
    pub capability: String,
    pub event: AdoptionEventKind,
    pub at: DateTime<Utc>,
}

impl Row for AdoptionEvent {
    const TABLE: Table = Table::AdoptionEvents;
}

/// A row of `services` (the catalog).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub service: String,
    pub team: String,
    pub onboarded_at: Option<DateTime<Utc>>,
    pub tier: Option<String>,
}

impl Row for Service {
    const TABLE: Table = Table::Services;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<R: Row + Default>() -> (Table, Vec<String>) {
        let record = R::default().record();
        let mut keys: Vec<String> = record.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        keys.sort();
        (R::TABLE, keys)
    }

    /// Every row struct has exactly its table's contract columns, so a source
    /// cannot build a row the lake does not have a column for, or miss one.
    #[test]
    fn each_row_has_exactly_its_table_s_columns() {
        let all = [
            keys::<Deployment>(),
            keys::<Change>(),
            keys::<Incident>(),
            keys::<SurveyResponse>(),
            keys::<SurveyAnswer>(),
            keys::<AdoptionEvent>(),
            keys::<Service>(),
        ];
        for (table, keys) in all {
            let mut want: Vec<String> = table.columns().iter().map(|c| c.name.to_string()).collect();
            want.sort();
            assert_eq!(keys, want, "{}", table.name());
        }
        let mut tables: Vec<Table> = [
            Deployment::TABLE,
            Change::TABLE,
            Incident::TABLE,
            SurveyResponse::TABLE,
            SurveyAnswer::TABLE,
            AdoptionEvent::TABLE,
            Service::TABLE,
        ]
        .to_vec();
        tables.sort();
        assert_eq!(tables, Table::IMPORTABLE.to_vec(), "a row struct for every importable table");
    }

    /// Closed sets serialise to the values the contract allows.
    #[test]
    fn enums_serialise_to_the_contract_s_allowed_values() {
        let allowed = |table: Table, column: &str| table.column(column).map(|c| c.allowed.to_vec()).unwrap_or_default();
        let as_str = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
        for s in [DeploymentStatus::Success, DeploymentStatus::Failure] {
            assert!(allowed(Table::Deployments, "status").contains(&as_str(serde_json::to_value(s).unwrap()).as_str()));
        }
        for k in [DeploymentKind::Regular, DeploymentKind::Rollback, DeploymentKind::Hotfix] {
            assert!(allowed(Table::Deployments, "kind").contains(&as_str(serde_json::to_value(k).unwrap()).as_str()));
        }
        for e in [AdoptionEventKind::Onboarded, AdoptionEventKind::Used, AdoptionEventKind::Offboarded] {
            assert!(
                allowed(Table::AdoptionEvents, "event").contains(&as_str(serde_json::to_value(e).unwrap()).as_str())
            );
        }
    }
}
