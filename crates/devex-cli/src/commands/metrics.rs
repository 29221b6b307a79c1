//! `devex metrics`: every metric of a window, as a table, JSON or CSV.

use std::io::Write;

use devex_query::QuerySettings;
use devex_query::metrics::{GroupMetrics, MetricsDocument, compute, metric_rows};

use super::window;
use crate::cli::{MetricsArgs, MetricsFormat};
use crate::exit::Outcome;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: MetricsArgs) -> anyhow::Result<Outcome> {
    let qs = QuerySettings::from_config(&settings.config)?;
    let window = window::resolve(&args.window, qs.timezone, chrono::Utc::now())?;
    let as_of = window::as_of(&args.window, qs.timezone)?;
    let group_by = window::group_by(args.by);
    let lake = settings.open_lake(as_of).await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        MetricsFormat::Json => {
            let doc = compute(&lake, &qs, window, group_by).await?;
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        MetricsFormat::Csv => {
            let rows = metric_rows(&lake, &qs, window, group_by).await?;
            let mut w = datafusion::arrow::csv::Writer::new(&mut out);
            for b in &rows {
                w.write(b)?;
            }
        }
        MetricsFormat::Table => {
            let doc = compute(&lake, &qs, window, group_by).await?;
            write!(out, "{}", render_table(&doc))?;
        }
    }
    Ok(Outcome::Success)
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "-".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "-".into())
}

fn band(b: &Option<String>) -> String {
    b.as_deref().map(|b| format!(" {b}")).unwrap_or_default()
}

/// The terminal table: one row per group, values rounded, with bands, sample sizes and coverage.
pub fn render_table(doc: &MetricsDocument) -> String {
    let header = [
        "group",
        "deploys",
        "per day",
        "deploy days/wk",
        "lead time p50 h (n)",
        "change failure",
        "recovery p50 h (n, open)",
        "rework",
        "restore p50 h (n)",
        "NPS (n)",
        "coverage chg/inc",
    ];
    let rows: Vec<Vec<String>> = doc.groups.iter().map(row).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    let mut s = format!(
        "window {} .. {} ({}), benchmarks {}\n",
        doc.window.from, doc.window.to, doc.window.timezone, doc.benchmarks
    );
    s.push_str(&line(header.iter().map(|h| h.to_string()).collect()));
    s.push('\n');
    for r in rows {
        s.push_str(&line(r));
        s.push('\n');
    }
    s
}

fn row(g: &GroupMetrics) -> Vec<String> {
    let name = g.group.values().next().cloned().unwrap_or_else(|| "(organisation)".into());
    let f = &g.deployment_frequency;
    let lt = &g.lead_time_hours;
    let cfr = &g.change_failure_rate;
    let rt = &g.recovery_time_hours;
    vec![
        name,
        g.deployments.to_string(),
        num(f.per_day, 2),
        format!("{}{}", num(f.deploy_days_per_week_p50, 1), band(&f.band)),
        format!("{}{} ({})", num(lt.p50, 1), band(&lt.band), lt.n),
        format!("{}{} ({}/{})", pct(cfr.value), band(&cfr.band), cfr.failed, g.deployments),
        format!("{}{} ({}, {})", num(rt.p50, 1), band(&rt.band), rt.n, rt.open),
        format!("{} ({})", pct(g.rework_rate.value), g.rework_rate.n),
        format!("{} ({})", num(g.time_to_restore_hours.p50, 1), g.time_to_restore_hours.n),
        match &g.nps {
            None => "-".into(),
            // Nobody answered: nothing is withheld.
            Some(n) if n.n == 0 => "-".into(),
            Some(n) if n.suppressed => format!("withheld (n={})", n.n),
            Some(n) => format!("{} ({})", num(n.value, 0), n.n),
        },
        format!("{}/{}", pct(g.coverage.changes_deployed), pct(g.coverage.incidents_linked)),
    ]
}
