//! `devex trends`: every metric per quarter, or the J-curve relative to onboarding.

use std::io::Write;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use devex_model::Table;
use devex_query::trends::{jcurve, quarterly_documents, quarterly_rows};
use devex_query::{AsOf, Quarter, QuerySettings, Window};

use super::window;
use crate::cli::{MetricsFormat, TrendsArgs};
use crate::exit::Outcome;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: TrendsArgs) -> anyhow::Result<Outcome> {
    let qs = QuerySettings::from_config(&settings.config)?;
    let as_of = args.as_of_version.map(AsOf::Version).unwrap_or_default();
    let lake = settings.open_lake(as_of).await?;
    let latest = lake.latest_event(Table::Deployments).await?.unwrap_or_else(chrono::Utc::now);
    let quarters = Quarter::of(latest, qs.timezone).last_n(args.quarters as usize);
    let group_by = window::group_by(args.by);
    let mut out = std::io::stdout().lock();

    let rows = quarterly_rows(&lake, &qs, &quarters, group_by).await?;
    if args.format == MetricsFormat::Json && !args.relative_to_onboarding {
        let docs: Vec<serde_json::Value> = quarterly_documents(&qs, &quarters, &rows, group_by)?
            .into_iter()
            .map(|(q, metrics)| serde_json::json!({"quarter": q.label(), "metrics": metrics}))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&serde_json::json!({"quarters": docs}))?)?;
        return Ok(Outcome::Success);
    }

    if !args.relative_to_onboarding {
        match args.format {
            MetricsFormat::Csv => write_csv(&mut out, &rows)?,
            _ => {
                let shown = present(
                    rows,
                    "SELECT quarter, grp AS \"group\", deployments, round(per_day, 2) AS per_day, \
                     round(lead_time_p50, 1) AS lead_time_p50_h, lead_time_n, \
                     round(change_failure_rate * 100, 1) AS change_failure_pct, \
                     round(recovery_p50, 1) AS recovery_p50_h, round(time_to_restore_p50, 1) AS restore_p50_h, \
                     round(nps, 0) AS nps, nps_n FROM t ORDER BY \"group\", quarter",
                )
                .await?;
                writeln!(out, "{}", pretty_format_batches(&shown)?)?;
            }
        }
        return Ok(Outcome::Success);
    }

    let (Some(first), Some(last)) = (quarters.first(), quarters.last()) else { return Ok(Outcome::Success) };
    let span = Window::quarters(*first, *last, qs.timezone);
    let devex_query::trends::JcurveRows { series, summary, .. } = jcurve(&lake, &qs, rows, span, group_by).await?;
    match args.format {
        MetricsFormat::Csv => write_csv(&mut out, &series)?,
        MetricsFormat::Json => {
            let json = |b: &[RecordBatch]| -> anyhow::Result<serde_json::Value> {
                let mut w = datafusion::arrow::json::ArrayWriter::new(Vec::new());
                for batch in b {
                    w.write(batch)?;
                }
                w.finish()?;
                let bytes = w.into_inner();
                Ok(if bytes.is_empty() { serde_json::json!([]) } else { serde_json::from_slice(&bytes)? })
            };
            let doc = serde_json::json!({"series": json(&series)?, "summary": json(&summary)?});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        MetricsFormat::Table => {
            let summary = present(
                summary,
                "SELECT grp AS \"group\", metric, round(baseline, 3) AS baseline, dip_rel AS dip_quarter, \
                 recovery_rel AS recovery_quarter FROM t ORDER BY \"group\", metric",
            )
            .await?;
            writeln!(out, "J-curve: quarters relative to onboarding (q0); baseline = mean of q-2 and q-1")?;
            writeln!(out, "{}", pretty_format_batches(&summary)?)?;
            let series = present(
                series,
                "SELECT grp AS \"group\", metric, rel AS q, quarter, round(value, 3) AS value, \
                 CASE WHEN worse THEN 'dip' WHEN better THEN 'better' ELSE '' END AS vs_baseline \
                 FROM t ORDER BY \"group\", metric, q",
            )
            .await?;
            writeln!(out, "{}", pretty_format_batches(&series)?)?;
        }
    }
    Ok(Outcome::Success)
}

/// Round and rename result columns for the terminal (presentation only).
async fn present(batches: Vec<RecordBatch>, sql: &str) -> anyhow::Result<Vec<RecordBatch>> {
    let Some(schema) = batches.first().map(RecordBatch::schema) else { return Ok(Vec::new()) };
    let ctx = SessionContext::new();
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![batches])?))?;
    Ok(ctx.sql(sql).await?.collect().await?)
}

fn write_csv(out: &mut impl Write, batches: &[RecordBatch]) -> anyhow::Result<()> {
    let mut w = datafusion::arrow::csv::Writer::new(out);
    for b in batches {
        w.write(b)?;
    }
    Ok(())
}
