//! The canonical tables of `docs/data-contract.md`: names, columns, identity
//! keys, event-time columns and their Arrow schemas. The contract is the
//! product's public API; this module is its single encoding in code.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The logical type of a contract column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 string.
    String,
    /// `TIMESTAMP(MICROS, UTC)`.
    Timestamp,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
}

impl ColumnType {
    /// The Arrow type the lake stores this column as.
    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::String => DataType::Utf8,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
        }
    }
}

/// One column of a canonical table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Column name, as in the contract and in import files.
    pub name: &'static str,
    /// Logical type.
    pub ty: ColumnType,
    /// A row without a value here is quarantined.
    pub required: bool,
    /// Allowed values (compared case-insensitively, stored lower-case); empty = any.
    pub allowed: &'static [&'static str],
}

const fn col(name: &'static str, ty: ColumnType, required: bool) -> Column {
    Column { name, ty, required, allowed: &[] }
}

use ColumnType::{Int32, Int64, String as Str, Timestamp as Ts};

const DEPLOYMENTS: &[Column] = &[
    col("id", Str, true),
    col("service", Str, true),
    col("environment", Str, true),
    Column { name: "status", ty: Str, required: true, allowed: &["success", "failure"] },
    col("finished_at", Ts, true),
    col("started_at", Ts, false),
    col("commit_sha", Str, false),
    Column { name: "kind", ty: Str, required: false, allowed: &["regular", "rollback", "hotfix"] },
    col("team", Str, false),
    col("url", Str, false),
];

const CHANGES: &[Column] = &[
    col("repo", Str, true),
    col("sha", Str, true),
    col("service", Str, true),
    col("committed_at", Ts, true),
    col("deployment_id", Str, false),
    col("pr_number", Int64, false),
    col("pr_opened_at", Ts, false),
    col("first_review_at", Ts, false),
    col("merged_at", Ts, false),
    col("author", Str, false),
];

const INCIDENTS: &[Column] = &[
    col("id", Str, true),
    col("service", Str, true),
    col("created_at", Ts, true),
    col("resolved_at", Ts, false),
    col("severity", Str, false),
    col("caused_by_deployment", Str, false),
    col("root_cause_sha", Str, false),
    col("title", Str, false),
];

const SURVEY_RESPONSES: &[Column] = &[
    col("id", Str, true),
    col("survey", Str, true),
    col("submitted_at", Ts, true),
    col("team", Str, false),
    Column { name: "nps", ty: Int32, required: false, allowed: &[] },
];

const SURVEY_ANSWERS: &[Column] = &[
    col("response_id", Str, true),
    col("survey", Str, true),
    col("question", Str, true),
    col("score", Int32, false),
    col("text", Str, false),
    // Not in the contract's column list, but the table's event time is the
    // response's `submitted_at`: storing it makes the partition and window
    // filters possible without a join (columns may be added, per the contract).
    col("submitted_at", Ts, true),
];

const ADOPTION_EVENTS: &[Column] = &[
    col("id", Str, true),
    col("team", Str, true),
    col("service", Str, false),
    col("capability", Str, true),
    Column { name: "event", ty: Str, required: true, allowed: &["onboarded", "used", "offboarded"] },
    col("at", Ts, true),
];

const SERVICES: &[Column] =
    &[col("service", Str, true), col("team", Str, true), col("onboarded_at", Ts, false), col("tier", Str, false)];

const QUARANTINE: &[Column] = &[
    col("id", Str, true),
    col("table", Str, true),
    col("file", Str, true),
    col("line", Int64, false),
    col("column", Str, false),
    col("value", Str, false),
    col("reason", Str, true),
    col("record", Str, false),
    col("run_id", Str, true),
    col("at", Ts, true),
];

/// Columns every data table carries besides its own.
pub const SOURCE: &str = "source";
/// When devex wrote the row (UTC).
pub const INGESTED_AT: &str = "ingested_at";
/// The `YYYY-MM` partition column, derived from the event time in UTC.
pub const MONTH: &str = "month";

/// A canonical table of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Deployments of services to environments.
    Deployments,
    /// Commits (or merged pull requests) and the deployment that shipped them.
    Changes,
    /// Production incidents.
    Incidents,
    /// One row per survey response (NPS and team).
    SurveyResponses,
    /// One row per answered question of a survey response.
    SurveyAnswers,
    /// Platform adoption events.
    AdoptionEvents,
    /// The service catalog.
    Services,
    /// Rejected input rows, with the reason.
    Quarantine,
}

impl Table {
    /// Every table, in the order the lake lists them.
    pub const ALL: [Table; 8] = [
        Table::Deployments,
        Table::Changes,
        Table::Incidents,
        Table::SurveyResponses,
        Table::SurveyAnswers,
        Table::AdoptionEvents,
        Table::Services,
        Table::Quarantine,
    ];

    /// The tables `devex import` accepts.
    pub const IMPORTABLE: [Table; 7] = [
        Table::Deployments,
        Table::Changes,
        Table::Incidents,
        Table::SurveyResponses,
        Table::SurveyAnswers,
        Table::AdoptionEvents,
        Table::Services,
    ];

    /// The table's name, which is also its directory under the data dir.
    pub fn name(self) -> &'static str {
        match self {
            Table::Deployments => "deployments",
            Table::Changes => "changes",
            Table::Incidents => "incidents",
            Table::SurveyResponses => "survey_responses",
            Table::SurveyAnswers => "survey_answers",
            Table::AdoptionEvents => "adoption_events",
            Table::Services => "services",
            Table::Quarantine => "quarantine",
        }
    }

    /// The contract's own columns, in order (without `source`, `ingested_at`, `month`).
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Deployments => DEPLOYMENTS,
            Table::Changes => CHANGES,
            Table::Incidents => INCIDENTS,
            Table::SurveyResponses => SURVEY_RESPONSES,
            Table::SurveyAnswers => SURVEY_ANSWERS,
            Table::AdoptionEvents => ADOPTION_EVENTS,
            Table::Services => SERVICES,
            Table::Quarantine => QUARANTINE,
        }
    }

    /// The column a row's `month` partition is derived from; `None` for unpartitioned tables.
    pub fn event_time(self) -> Option<&'static str> {
        match self {
            Table::Deployments => Some("finished_at"),
            Table::Changes => Some("committed_at"),
            Table::Incidents => Some("created_at"),
            Table::SurveyResponses | Table::SurveyAnswers => Some("submitted_at"),
            Table::AdoptionEvents => Some("at"),
            Table::Services | Table::Quarantine => None,
        }
    }

    /// Whether rows carry `source` and `ingested_at` (every table but the quarantine).
    pub fn has_provenance(self) -> bool {
        self != Table::Quarantine
    }

    /// The identity of a row: re-ingesting a row with the same key replaces it.
    pub fn key(self) -> &'static [&'static str] {
        match self {
            Table::Changes => &["source", "repo", "sha"],
            Table::SurveyAnswers => &["source", "response_id", "question"],
            Table::Services => &["service"],
            Table::Quarantine => &["id"],
            _ => &["source", "id"],
        }
    }

    /// Partition columns of the Delta table.
    pub fn partition_columns(self) -> &'static [&'static str] {
        if self.event_time().is_some() { &[MONTH] } else { &[] }
    }

    /// Look up a contract column.
    pub fn column(self, name: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.name == name)
    }

    /// The full Arrow schema stored in the lake: contract columns, then
    /// `source` and `ingested_at`, then `month` for partitioned tables.
    pub fn schema(self) -> SchemaRef {
        let mut fields: Vec<Field> =
            self.columns().iter().map(|c| Field::new(c.name, c.ty.arrow(), !c.required)).collect();
        if self.has_provenance() {
            fields.push(Field::new(SOURCE, DataType::Utf8, false));
            fields.push(Field::new(INGESTED_AT, ColumnType::Timestamp.arrow(), false));
        }
        if self.event_time().is_some() {
            fields.push(Field::new(MONTH, DataType::Utf8, false));
        }
        Arc::new(Schema::new(fields))
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown table name.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown table `{0}` (expected one of: deployments, changes, incidents, survey_responses, survey_answers, adoption_events, services, quarantine)"
)]
pub struct UnknownTable(pub String);

impl FromStr for Table {
    type Err = UnknownTable;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Table::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| UnknownTable(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_event_times_are_columns_of_the_schema() {
        for t in Table::ALL {
            let schema = t.schema();
            for k in t.key() {
                assert!(schema.field_with_name(k).is_ok(), "{t}: key {k}");
            }
            if let Some(e) = t.event_time() {
                assert!(t.column(e).unwrap().required, "{t}: event time must be required");
            }
            assert_eq!(t.name().parse::<Table>().unwrap(), t);
        }
    }

    #[test]
    fn timestamps_are_micros_utc() {
        let s = Table::Deployments.schema();
        assert_eq!(
            s.field_with_name("finished_at").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
    }
}
