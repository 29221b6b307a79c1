//! `devex effect`: the effect of onboarding, per metric and quarter since
//! onboarding, against the teams (or services) not yet onboarded.

use std::io::Write;

use devex_model::Table;
use devex_query::effect::{EffectDocument, compute, groups_noun, level_percent};
use devex_query::{AsOf, Quarter, QuerySettings};

use super::window;
use crate::cli::{EffectArgs, MetricsFormat};
use crate::exit::Outcome;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: EffectArgs) -> anyhow::Result<Outcome> {
    let mut qs = QuerySettings::from_config(&settings.config)?;
    if let Some(b) = args.replicates {
        qs.effect.replicates = b;
    }
    if let Some(s) = args.seed {
        qs.effect.seed = s;
    }
    let as_of = args.as_of_version.map(AsOf::Version).unwrap_or_default();
    let lake = settings.open_lake(as_of).await?;
    let latest = lake.latest_event(Table::Deployments).await?.unwrap_or_else(chrono::Utc::now);
    let quarters = Quarter::of(latest, qs.timezone).last_n(args.quarters as usize);
    let group_by = window::group_by(Some(args.by));
    let (doc, nothing) = compute(&lake, &qs, &quarters, group_by, &args.metric).await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        MetricsFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?,
        MetricsFormat::Csv => write_csv(&mut out, &doc)?,
        MetricsFormat::Table => match &nothing {
            Some(why) => writeln!(out, "Nothing to compare: {why}.")?,
            None => write_table(&mut out, &doc)?,
        },
    }
    if let (Some(why), MetricsFormat::Json | MetricsFormat::Csv) = (&nothing, args.format) {
        eprintln!("nothing to compare: {why}");
    }
    Ok(Outcome::Success)
}

/// One row per metric and event time: what `effect(...)` over the wire gives.
fn write_csv(out: &mut impl Write, doc: &EffectDocument) -> anyhow::Result<()> {
    let mut w = datafusion::arrow::csv::Writer::new(out);
    w.write(&doc.to_batch())?;
    Ok(())
}

fn write_table(out: &mut impl Write, doc: &EffectDocument) -> anyhow::Result<()> {
    let groups = groups_noun(&doc.by);
    writeln!(
        out,
        "Effect of onboarding, {} to {}: each onboarded {} against the {groups} not yet onboarded \
         over the same quarters ({} bootstrap replicates, seed {}).",
        doc.quarters[0],
        doc.quarters[1],
        groups.trim_end_matches('s'),
        doc.bootstrap.replicates,
        doc.bootstrap.seed
    )?;
    writeln!(out, "e = quarters since onboarding (0: the onboarding quarter; -1 is the base; below 0: the check)")?;
    let pct = level_percent(doc.bootstrap.level);
    for m in &doc.metrics {
        writeln!(out, "\n{}", m.metric)?;
        writeln!(
            out,
            "  {:>3}  {:>10}  {:>23}  {:>7}  {:>7}",
            "e",
            "estimate",
            format!("{pct} % interval"),
            "treated",
            "cohorts"
        )?;
        for t in &m.event_times {
            let interval = match (t.low, t.high) {
                (Some(l), Some(h)) => format!("{l:.3} .. {h:.3}"),
                _ => "-".to_string(),
            };
            writeln!(out, "  {:>3}  {:>10.3}  {:>23}  {:>7}  {:>7}", t.e, t.estimate, interval, t.treated, t.cohorts)?;
        }
        writeln!(out, "  {}", m.sentence(&doc.by, doc.bootstrap.level))?;
        if let Some(w) = m.warning(&doc.by) {
            writeln!(out, "  {w}")?;
        }
    }
    Ok(())
}
