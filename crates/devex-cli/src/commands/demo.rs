//! `devex demo`: import the bundled sample organisation into a fresh lake and
//! show what landed. The first thing a new user runs.

use std::path::{Path, PathBuf};

use std::io::Write;

use anyhow::Context;
use devex_ingest::context::RunContext;
use devex_ingest::import::{ImportOutcome, ImportRequest, import};
use devex_ingest::input::{InputFormat, InputSource};
use devex_model::Table;
use devex_query::metrics::compute;
use devex_query::{AsOf, GroupBy, LakeSession, Quarter, QuerySettings};
use devex_report::ReportOptions;

use super::{new_run_id, report, writer_lock};
use crate::cli::{DemoArgs, ReportFormat};
use crate::commands::import::print_outcome;
use crate::commands::metrics::render_table;
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

/// Marks a data dir as the demo's, naming the run that wrote it: a re-run may
/// replace the dir only while every commit in it is that run's.
const DEMO_MARKER: &str = "_state/demo-lake.json";

/// Where the demo unpacks the sample organisation it carries, when there is no
/// ./sample-data (an installed binary, the container image): inside the demo's
/// own lake, so the hints' `--config` keeps working and a re-run replaces it.
const BUNDLED_SAMPLE: &str = "_state/demo-sample";

/// The sample organisation, built into the binary (see build.rs).
mod bundled {
    include!(concat!(env!("OUT_DIR"), "/sample_data.rs"));
}

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
    let data = settings.data_dir()?;
    let sample = sample_dir(args.sample.as_deref());
    // Refuse before creating anything in a directory that is not ours; check
    // again under the writer lock, which a concurrent import would hold.
    ensure_replaceable(data)?;
    std::fs::create_dir_all(data.join("_state")).with_context(|| format!("creating {}", data.display()))?;
    let lake = settings.lake()?;
    let lock = writer_lock(settings)?;
    ensure_replaceable(data)?;
    clear_demo_lake(data)?;
    let run_id = new_run_id();
    let marker = serde_json::json!({ "devex_demo": true, "run_id": run_id });
    std::fs::write(data.join(DEMO_MARKER), format!("{marker}\n"))
        .with_context(|| format!("writing {}", data.join(DEMO_MARKER).display()))?;
    let sample = match sample {
        Some(dir) => dir,
        None => unpack_bundled_sample(&data.join(BUNDLED_SAMPLE))?,
    };
    eprintln!("importing the sample organisation from {} into {}", sample.display(), data.display());

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
    let files = sample_files(&sample)?;
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
            run: RunContext::new(run_id.clone(), "file", settings.config.tz()?).with_likert(&config.survey),
        };
        let outcome = import(&lake, &lock, &req).await?;
        total.extend(outcome);
    }
    print_outcome(&total, ReportFormat::Human, &run_id, &data.display())?;
    super::refresh_facts(settings, &lake, &lock, &run_id, "demo", false).await?;
    drop(lock);
    print_recent_quarters(settings).await?;

    let qs = QuerySettings::from_config(&config)?;
    let site = report::write(
        settings,
        &qs,
        AsOf::Latest,
        &ReportOptions { devex: crate::invocation::public_prefix(), ..ReportOptions::default() },
        &args.report_out,
    )
    .await?;
    eprintln!();
    // Commands that work as shown, however this devex was installed.
    let devex = crate::invocation::prefix();
    let path = |p: &Path| crate::invocation::shell_quote(&p.to_string_lossy());
    eprintln!("the lake is in {}; try:", data.display());
    eprintln!(
        "  {devex} --data {} sql \"SELECT service, count(*) AS deploys FROM deployments GROUP BY service ORDER BY deploys DESC LIMIT 5\"",
        path(data)
    );
    eprintln!(
        "  {devex} --data {} --config {} report --out reports/site --title \"Our platform scorecard\"",
        path(data),
        path(&sample_config)
    );
    // Last, on stdout: where the scorecard is, to open in a browser.
    let index = std::fs::canonicalize(&site.index).unwrap_or(site.index);
    writeln!(std::io::stdout(), "\nThe sample organisation's scorecard: {}", index.display())?;
    // The bad rows are in the sample on purpose: quarantining them is the demo
    // working, not failing.
    Ok(Outcome::Success)
}

/// The org-wide and per-team metrics of the last two quarters with data.
async fn print_recent_quarters(settings: &Settings) -> anyhow::Result<()> {
    let qs = QuerySettings::from_config(&settings.config)?;
    let lake = LakeSession::open(settings.data_dir()?).await?;
    let Some(latest) = lake.latest_event(Table::Deployments).await? else { return Ok(()) };
    for q in Quarter::of(latest, qs.timezone).last_n(2) {
        let window = q.window(qs.timezone);
        let mut out = std::io::stdout().lock();
        writeln!(out, "\n== {q} ==")?;
        for group_by in [GroupBy::Org, GroupBy::Team] {
            let doc = compute(&lake, &qs, window, group_by).await?;
            write!(out, "{}", render_table(&doc))?;
        }
    }
    Ok(())
}

/// `--sample`, else ./sample-data (in a devex checkout); `None`: the bundled one.
fn sample_dir(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_path_buf());
    }
    Some(PathBuf::from("sample-data")).filter(|p| p.join("services.csv").is_file())
}

/// Write the sample organisation this binary carries into `dir`.
fn unpack_bundled_sample(dir: &Path) -> anyhow::Result<PathBuf> {
    if bundled::FILES.is_empty() {
        return Err(Failure::error(
            "this devex was built without the sample organisation",
            "pass --sample DIR (the sample-data directory of the devex source)",
        ));
    }
    for (name, bytes) in bundled::FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir.to_path_buf())
}

/// Whether `devex demo` may replace `data`: it is empty or absent, or it holds
/// only what an earlier demo wrote (its tables, every commit of which names the
/// demo's run, and its marker). Anything else (an import, an ingest, a maintain
/// since, or files of any other kind) makes it real data, which the demo never
/// deletes.
fn ensure_replaceable(data: &Path) -> anyhow::Result<()> {
    let Ok(entries) = data.read_dir() else { return Ok(()) };
    // A `_state` holding nothing but the writer lock is what taking the lock leaves.
    let bare_state = |p: &Path| {
        p.file_name().is_some_and(|n| n == "_state")
            && p.read_dir().is_ok_and(|mut d| d.all(|e| e.is_ok_and(|e| e.file_name() == "writer.lock")))
    };
    let entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| !bare_state(p)).collect();
    if entries.is_empty() {
        return Ok(());
    }
    match foreign_content(data, &entries) {
        None => Ok(()),
        Some(why) => Err(Failure::error(
            format!("{} holds data the demo did not write ({why}); the demo never replaces it", data.display()),
            "pass --data DIR for a directory of its own (e.g. --data ./devex-demo)",
        )),
    }
}

/// The first thing in `data` an earlier demo did not write, if any.
fn foreign_content(data: &Path, entries: &[PathBuf]) -> Option<String> {
    let marker = std::fs::read_to_string(data.join(DEMO_MARKER)).ok();
    let run_id = marker
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .filter(|m| m["devex_demo"] == true)
        .and_then(|m| m["run_id"].as_str().map(str::to_string));
    let Some(run_id) = run_id else { return Some(format!("no demo marker {DEMO_MARKER}")) };
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == "_state" {
            let state: Vec<String> = std::fs::read_dir(entry)
                .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
                .unwrap_or_default();
            let ours = [DEMO_MARKER, BUNDLED_SAMPLE].map(|p| Path::new(p).file_name().and_then(|n| n.to_str()));
            if let Some(other) = state.iter().find(|n| n.as_str() != "writer.lock" && !ours.contains(&Some(n.as_str())))
            {
                return Some(format!("_state/{other}"));
            }
            continue;
        }
        if name == devex_lake::facts::FACTS_DIR && entry.is_dir() {
            // The derived facts the demo's own run computed: each a table of its commits.
            for fact in std::fs::read_dir(entry).into_iter().flatten().flatten() {
                if let Some(why) = foreign_commit(&fact.path(), &run_id) {
                    return Some(format!("{name}/{}: {why}", fact.file_name().to_string_lossy()));
                }
            }
            continue;
        }
        if name.parse::<Table>().is_err() || !entry.is_dir() {
            return Some(name.to_string());
        }
        if let Some(why) = foreign_commit(entry, &run_id) {
            return Some(format!("{name}: {why}"));
        }
    }
    None
}

/// A commit of the table in `dir` that the demo run `run_id` did not write.
fn foreign_commit(dir: &Path, run_id: &str) -> Option<String> {
    let log = dir.join("_delta_log");
    let Ok(files) = log.read_dir() else { return Some("not a Delta table".into()) };
    for f in files.filter_map(|e| e.ok().map(|e| e.path())) {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !name.ends_with(".json") {
            if name.ends_with(".crc") || name.starts_with('.') {
                continue;
            }
            return Some(format!("log file {name}"));
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let writer = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| v.get("commitInfo").and_then(|c| c.get("run_id")).and_then(|r| r.as_str()).map(String::from));
        if writer.as_deref() != Some(run_id) {
            return Some(format!("commit {name} by {}", writer.unwrap_or_else(|| "another writer".into())));
        }
    }
    None
}

/// Remove an earlier demo's tables, marker and unpacked sample, keeping the writer lock we hold.
fn clear_demo_lake(data: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(data).with_context(|| format!("listing {}", data.display()))? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n == "_state") {
            let marker = data.join(DEMO_MARKER);
            if marker.exists() {
                std::fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))?;
            }
            let sample = data.join(BUNDLED_SAMPLE);
            if sample.exists() {
                std::fs::remove_dir_all(&sample).with_context(|| format!("removing {}", sample.display()))?;
            }
            continue;
        }
        std::fs::remove_dir_all(&path).with_context(|| format!("removing the old demo table {}", path.display()))?;
    }
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
