//! `devex explain METRIC`: the rows behind one number of `devex metrics`.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use devex_query::explain::{Explained, Traced, explain};
use devex_query::{GroupBy, QuerySettings};
use serde_json::{Map, Value, json};

use super::window;
use crate::cli::{ExplainArgs, MetricsFormat};
use crate::exit::Outcome;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: ExplainArgs) -> anyhow::Result<Outcome> {
    // Refuse survey numbers before touching the lake.
    let traced = Traced::parse(&args.metric)?;
    let qs = QuerySettings::from_config(&settings.config)?;
    let window = window::resolve(&args.window, qs.timezone, chrono::Utc::now())?;
    let as_of = window::as_of(&args.window, qs.timezone)?;
    let (group_by, group) = match (&args.team, &args.service) {
        (Some(t), _) => (GroupBy::Team, Some(t.as_str())),
        (None, Some(s)) => (GroupBy::Service, Some(s.as_str())),
        (None, None) => (GroupBy::Org, None),
    };
    let lake = settings.open_lake(as_of).await?;
    let e = explain(&lake, &qs, window, group_by, group, traced).await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        MetricsFormat::Json => {
            let mut group_json = Map::new();
            if let Some(g) = group {
                group_json.insert(group_by.as_str().to_string(), Value::from(g));
            }
            let doc = json!({
                "metric": traced.name(),
                "window": devex_query::metrics::document(&qs, window, Vec::new()).window,
                "group": group_json,
                "value": value(&e)?,
                "rows": objects(&e.rows)?,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        MetricsFormat::Csv => {
            let mut w = datafusion::arrow::csv::Writer::new(&mut out);
            for b in &e.rows {
                w.write(b)?;
            }
        }
        MetricsFormat::Table => {
            let who = group.map(|g| format!("{} {g}", group_by.as_str())).unwrap_or_else(|| "the organisation".into());
            let n: usize = e.rows.iter().map(RecordBatch::num_rows).sum();
            writeln!(out, "{} of {who}, {} .. {}: {}", traced.name(), window.from, window.to, summary(&e)?)?;
            writeln!(out, "{n} rows behind it:")?;
            writeln!(out, "{}", pretty_format_batches(&e.rows)?)?;
        }
    }
    Ok(Outcome::Success)
}

/// Batches as JSON objects, numbers at full precision.
fn objects(batches: &[RecordBatch]) -> anyhow::Result<Vec<Value>> {
    let mut buf = Vec::new();
    {
        // Every column in every object, null or not: the rows all have one shape.
        let mut w = datafusion::arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, datafusion::arrow::json::writer::JsonArray>(&mut buf);
        for b in batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_slice(&buf)?)
}

/// The group's `metrics` row as one JSON object.
fn metrics_row(e: &Explained) -> anyhow::Result<Map<String, Value>> {
    let rows = objects(&e.metrics)?;
    match rows.into_iter().next() {
        Some(Value::Object(m)) => Ok(m),
        _ => anyhow::bail!("no metrics row for the group"),
    }
}

/// The number, exactly as the `metrics` view holds it (`null` when it cannot be computed).
fn value(e: &Explained) -> anyhow::Result<Value> {
    Ok(metrics_row(e)?.remove(e.metric.value_column()).unwrap_or(Value::Null))
}

/// The number and its companions, in words, for the table.
fn summary(e: &Explained) -> anyhow::Result<String> {
    let m = metrics_row(e)?;
    let get = |k: &str| match m.get(k) {
        Some(Value::Null) | None => "-".to_string(),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.3}"),
            _ => n.to_string(),
        },
        Some(v) => v.to_string(),
    };
    Ok(match e.metric {
        Traced::Deployments => format!("{} deployments", get("deployments")),
        Traced::LeadTime => {
            format!(
                "p50 {} h, p90 {} h over n = {} changes",
                get("lead_time_p50"),
                get("lead_time_p90"),
                get("lead_time_n")
            )
        }
        Traced::ChangeFailureRate => {
            format!("{} ({} failed of {} deployments)", get("change_failure_rate"), get("failed"), get("deployments"))
        }
        Traced::RecoveryTime => format!(
            "p50 {} h over n = {} recovered failures, {} open",
            get("recovery_p50"),
            get("recovery_n"),
            get("recovery_open")
        ),
        Traced::ReworkRate => {
            format!(
                "{} ({} rollbacks or hotfixes of {} deployments)",
                get("rework_rate"),
                get("rework_n"),
                get("deployments")
            )
        }
        Traced::TimeToRestore => {
            format!("p50 {} h over n = {} resolved incidents", get("time_to_restore_p50"), get("time_to_restore_n"))
        }
    })
}
