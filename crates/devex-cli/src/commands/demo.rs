//! `devex demo`: import the bundled sample organisation into a fresh lake and
//! show what landed. The first thing a new user runs.

use std::path::{Path, PathBuf};

use std::io::Write;

use anyhow::Context;
use devex_ingest::import::{ImportOutcome, ImportRequest, import};
use devex_ingest::input::{InputFormat, InputSource};
use devex_ingest::lake::Lake;
use devex_ingest::validate::RunContext;
use devex_model::Table;
use devex_query::metrics::compute;
use devex_query::{AsOf, GroupBy, LakeSession, QuerySettings, Window};
use devex_report::ReportOptions;

use super::{new_run_id, report, writer_lock};
use crate::cli::{DemoArgs, ReportFormat};
use crate::commands::import::print_outcome;
use crate::commands::metrics::render_table;
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

/// Marks a data dir as the demo's, so a re-run may replace it.
const DEMO_MARKER: &str = "_state/demo-lake";

/// The order tables are imported in: the catalog first.
const ORDER: [Table; 7] = [
    Table::Services,
    Table::Deployments,
    Table::Changes,
    Table::Incidents,
    Table::SurveyResponses,
    Table::SurveyAnswers,
    Table::AdoptionEvents,
];

pub async fn run(settings: &Settings, args: DemoArgs) -> anyhow::Result<Outcome> {
    let sample = sample_dir(args.sample.as_deref())?;
    let data = &settings.data_dir;
    prepare_data_dir(data, args.force)?;
    let lake = Lake::new(data);
    let lock = writer_lock(settings)?;
    std::fs::write(data.join(DEMO_MARKER), "devex demo lake: `devex demo` may replace this directory\n")
        .with_context(|| format!("writing {}", data.join(DEMO_MARKER).display()))?;
    eprintln!("importing the sample organisation from {} into {}", sample.display(), data.display());

    let files = sample_files(&sample)?;
    let run_id = new_run_id();
    let mut total = ImportOutcome::default();
    for table in ORDER {
        let inputs: Vec<InputSource> =
            files.iter().filter(|(t, _)| *t == table).map(|(_, p)| InputSource::Path(p.clone())).collect();
        if inputs.is_empty() {
            continue;
        }
        let req = ImportRequest {
            table,
            inputs,
            run: RunContext {
                run_id: run_id.clone(),
                source: "file".into(),
                tz: settings.config.tz()?,
                now_micros: chrono::Utc::now().timestamp_micros(),
            },
        };
        let outcome = import(&lake, &lock, &req).await?;
        total.tables.extend(outcome.tables);
        total.warnings.extend(outcome.warnings);
        total.quarantined.extend(outcome.quarantined);
    }
    print_outcome(&total, ReportFormat::Human, &run_id)?;
    drop(lock);
    print_recent_quarters(settings).await?;

    // The sample's survey questions map to DevEx dimensions through the sample's own
    // devex.toml, unless the user's configuration maps questions itself.
    let mut config = settings.config.clone();
    let sample_config = sample.join("devex.toml");
    if config.survey.questions.is_empty() && sample_config.is_file() {
        let text =
            std::fs::read_to_string(&sample_config).with_context(|| format!("reading {}", sample_config.display()))?;
        let parsed = devex_model::Config::from_toml_str(&text)
            .with_context(|| format!("reading {}", sample_config.display()))?;
        config.survey.questions = parsed.survey.questions;
    }
    let qs = QuerySettings::from_config(&config)?;
    let site = report::write(settings, &qs, AsOf::Latest, &ReportOptions::default(), &args.report_out).await?;
    eprintln!();
    eprintln!("the lake is in {}; try:", data.display());
    eprintln!(
        "  devex --data {} sql \"SELECT service, count(*) AS deploys FROM deployments GROUP BY service ORDER BY deploys DESC LIMIT 5\"",
        data.display()
    );
    eprintln!(
        "  devex --data {} --config {} report --out reports/site --title \"Our platform scorecard\"",
        data.display(),
        sample_config.display()
    );
    // Last, on stdout: where the scorecard is, to open in a browser.
    let index = std::fs::canonicalize(&site.index).unwrap_or(site.index);
    println!("\nThe sample organisation's scorecard: {}", index.display());
    // The bad rows are in the sample on purpose: quarantining them is the demo
    // working, not failing.
    Ok(Outcome::Success)
}

/// The org-wide and per-team metrics of the last two quarters with data.
async fn print_recent_quarters(settings: &Settings) -> anyhow::Result<()> {
    let qs = QuerySettings::from_config(&settings.config)?;
    let lake = LakeSession::open(&settings.data_dir).await?;
    let Some(latest) = lake.latest_event(Table::Deployments).await? else { return Ok(()) };
    let (mut year, mut quarter) = Window::quarter_of(latest, qs.timezone);
    let mut quarters = Vec::new();
    for _ in 0..2 {
        quarters.push((year, quarter));
        (year, quarter) = if quarter == 1 { (year - 1, 4) } else { (year, quarter - 1) };
    }
    for (year, quarter) in quarters.into_iter().rev() {
        let window = Window::quarter(year, quarter, qs.timezone).expect("valid quarter");
        let mut out = std::io::stdout().lock();
        writeln!(out, "\n== {year}-Q{quarter} ==")?;
        for group_by in [GroupBy::Org, GroupBy::Team] {
            let doc = compute(&lake, &qs, window, group_by).await?;
            write!(out, "{}", render_table(&doc))?;
        }
    }
    Ok(())
}

/// `--sample`, else ./sample-data, else the sample in the source tree this binary was built from.
fn sample_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample-data");
    [PathBuf::from("sample-data"), built_in].into_iter().find(|p| p.join("services.csv").is_file()).ok_or_else(|| {
        Failure::error("no sample-data directory found", "run from the devex checkout, or pass --sample DIR")
    })
}

fn prepare_data_dir(data: &Path, force: bool) -> anyhow::Result<()> {
    let non_empty = data.read_dir().map(|mut d| d.next().is_some()).unwrap_or(false);
    if non_empty {
        if !force && !data.join(DEMO_MARKER).is_file() {
            return Err(Failure::error(
                format!("{} is not empty and is not a previous demo's lake", data.display()),
                "pass --data DIR for another directory, or --force to replace it",
            ));
        }
        std::fs::remove_dir_all(data).with_context(|| format!("removing the old demo lake {}", data.display()))?;
    }
    std::fs::create_dir_all(data.join("_state")).with_context(|| format!("creating {}", data.display()))?;
    Ok(())
}

/// Every importable file under the sample dir with its table: the file's stem
/// names the table (`deployments.csv`, `bad/deployments.csv`), else its
/// directory does (`survey_responses/2026-Q1.csv`). Good files sort before
/// files under `bad/`.
fn sample_files(dir: &Path) -> anyhow::Result<Vec<(Table, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if InputFormat::from_path(&path).is_none() {
                continue;
            }
            let name = |p: Option<&std::ffi::OsStr>| p.and_then(|s| s.to_str()).and_then(|s| s.parse::<Table>().ok());
            if let Some(t) = name(path.file_stem()).or_else(|| name(path.parent().and_then(Path::file_name))) {
                out.push((t, path));
            }
        }
    }
    out.sort_by_key(|(_, p)| (p.components().any(|c| c.as_os_str() == "bad"), p.clone()));
    Ok(out)
}
