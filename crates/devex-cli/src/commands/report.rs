//! `devex report`: the public platform scorecard as a static site.

use devex_model::plural::count;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use devex_query::{AsOf, QuerySettings};
use devex_report::{ReportOptions, Site, build, write_site};

use super::window;
use crate::cli::ReportArgs;
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: ReportArgs) -> anyhow::Result<Outcome> {
    let qs = QuerySettings::from_config(&settings.config)?;
    let as_of = window::as_of_from(args.as_of.as_deref(), args.as_of_version, qs.timezone)?;
    let opts = ReportOptions {
        title: args.title,
        quarters: args.quarters as usize,
        quarter: args.quarter.as_deref().map(window::quarter).transpose()?,
        devex: crate::invocation::public_prefix(),
    };
    let site = write(settings, &qs, as_of, &opts, &args.out).await?;
    writeln!(std::io::stdout(), "{}", site.index.display())?;
    Ok(Outcome::Success)
}

/// Build the scorecard and write it under `out`, saying on stderr what was written.
pub async fn write(
    settings: &Settings,
    qs: &QuerySettings,
    as_of: AsOf,
    opts: &ReportOptions,
    out: &Path,
) -> anyhow::Result<Site> {
    if settings.data.local().is_some_and(|d| !d.is_dir()) {
        return Err(Failure::error(
            format!("no lake at {}", settings.data),
            "import data first (devex import, or devex demo for the sample), or pass --data DIR",
        ));
    }
    let started = Instant::now();
    let lake = settings.open_lake(as_of).await?;
    let card = build(&lake, qs, opts).await?;
    let queried = started.elapsed();
    let site = write_site(&card, out)?;
    eprintln!(
        "scorecard for {} ({}, {}): queries {:.2} s, pages {:.0} ms; wrote {} and {}",
        card.quarter,
        count(card.org_trend.len() as u64, "quarter"),
        count(card.teams.len() as u64, "team"),
        queried.as_secs_f64(),
        (started.elapsed() - queried).as_secs_f64() * 1000.0,
        site.index.display(),
        count(site.teams.len() as u64, "team page"),
    );
    Ok(site)
}
