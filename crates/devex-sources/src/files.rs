//! The `files` source: export files dropped into an inbox directory.
//!
//! A file's table is named by its file name (`deployments.csv`,
//! `incidents-2026-03.ndjson`, `survey_responses_q3.csv`) or by the directory
//! it is in (`inbox/changes/export.csv`). After its import a file moves to
//! `inbox/done/` (it landed, possibly with quarantined rows) or
//! `inbox/failed/` (its content breaks the contract: unreadable, a required
//! column missing; nothing of it landed). Hidden files and `*.tmp` / `*.part`
//! are left alone: write a file under such a name and rename it when complete.
//! A file modified less than `settle_secs` ago is left for the next run too,
//! in case its writer is still at it.
//!
//! An I/O or lake error is not the file's fault: the file stays where it is
//! and the next run tries again. So that a file that crashes the process (or
//! runs it out of memory) cannot block the inbox forever, each attempt is
//! counted in `<data>/_state/files/<source>.json` before it starts; after
//! [`MAX_ATTEMPTS`] the file moves to `failed/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use devex_model::Table;
use devex_model::config::FilesSource;
use futures::future::LocalBoxFuture;

use devex_ingest::IngestError;
use devex_ingest::context::RunContext;
use devex_ingest::import::{ImportRequest, import};
use devex_ingest::input::{InputFormat, InputSource};
use devex_ingest::progress::{Event, Level};
use devex_ingest::source::{Source, SourceContext, SourceRecord};
use devex_lake::state::StateStore;

/// The `files` source: an inbox directory of export files.
#[derive(Debug, Clone)]
pub struct Files {
    /// The source's name.
    pub name: String,
    /// Its configuration.
    pub config: FilesSource,
}

impl Source for Files {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "files"
    }

    fn run<'a>(&'a self, ctx: &'a SourceContext<'a>) -> LocalBoxFuture<'a, Result<SourceRecord, IngestError>> {
        Box::pin(self.import_inbox(ctx))
    }
}

impl Files {
    async fn import_inbox(&self, ctx: &SourceContext<'_>) -> Result<SourceRecord, IngestError> {
        let (name, cfg) = (&self.name, &self.config);
        let inbox = &cfg.inbox;
        let io = |e: std::io::Error| IngestError::Io { file: inbox.display().to_string(), source: e };
        if !inbox.is_dir() {
            return Err(IngestError::Source {
                name: name.clone(),
                message: format!("inbox {} is not a directory", inbox.display()),
                hint: Some("create it, or fix `inbox` in devex.toml".into()),
            });
        }
        let say = |level, message: String| (ctx.progress)(&Event::new(level, message));
        let (pending, unknown) = pending(inbox).map_err(io)?;
        say(Level::Info, format!("source {name}: {} file(s) in {}", pending.len(), inbox.display()));
        let run = RunContext { source: cfg.source.clone(), ..ctx.run.clone() };
        let mut record = SourceRecord { source: name.clone(), kind: self.kind().into(), ..Default::default() };
        for u in &unknown {
            record.errors.push(format!(
                "{}: left in the inbox: its name names no table or format (e.g. deployments-2026-03.csv)",
                u.display()
            ));
        }
        let settle_for = Duration::from_secs(cfg.settle_secs);
        let mut attempts = Attempts::load(ctx.state, name).await?;
        let mut left = 0;
        for p in &pending {
            if !settled(&p.path, settle_for, SystemTime::now()).map_err(io)? {
                say(
                    Level::Info,
                    format!("{}: modified in the last {} s; left for the next run", p.path.display(), cfg.settle_secs),
                );
                left += 1;
                continue;
            }
            if record.failed {
                // The lake failed on an earlier file: leave the rest for the next run.
                left += 1;
                continue;
            }
            if !self.import_file(ctx, p, &run, &mut attempts, &mut record).await? {
                left += 1;
            }
        }
        record.files = Some(pending.len());
        record.files_left = Some(left);
        Ok(record)
    }

    /// Import one settled file of the inbox and move it to `done/` or
    /// `failed/`, recording what it did; `false` when it stays in the inbox
    /// for the next run (the lake failed, not the file).
    async fn import_file(
        &self,
        ctx: &SourceContext<'_>,
        p: &Pending,
        run: &RunContext,
        attempts: &mut Attempts,
        record: &mut SourceRecord,
    ) -> Result<bool, IngestError> {
        let inbox = &self.config.inbox;
        let io = |e: std::io::Error| IngestError::Io { file: inbox.display().to_string(), source: e };
        let say = |level, message: String| (ctx.progress)(&Event::new(level, message));
        if attempts.made(&p.path) >= MAX_ATTEMPTS {
            let to = settle(inbox, &p.path, false).map_err(io)?;
            attempts.finish(ctx.state, &p.path).await?;
            record.errors.push(format!(
                "{}: gave up after {MAX_ATTEMPTS} attempts that did not finish (did it crash or exhaust memory?); moved to {}",
                p.path.display(),
                to.display()
            ));
            return Ok(true);
        }
        attempts.begin(ctx.state, &p.path).await?;
        let req = ImportRequest { table: p.table, inputs: vec![InputSource::Path(p.path.clone())], run: run.clone() };
        match import(ctx.lake, ctx.lock, &req).await {
            Ok(o) => {
                let to = settle(inbox, &p.path, true).map_err(io)?;
                attempts.finish(ctx.state, &p.path).await?;
                say(Level::Info, format!("{} -> {}", p.path.display(), to.display()));
                for t in o.tables {
                    record.add(t);
                }
                for w in o.warnings {
                    say(Level::Warn, w.clone());
                    record.warnings.push(w);
                }
            }
            Err(e) if e.is_bad_input() => {
                let to = settle(inbox, &p.path, false).map_err(io)?;
                attempts.finish(ctx.state, &p.path).await?;
                let hint = e.hint().map(|h| format!(" (hint: {h})")).unwrap_or_default();
                record.errors.push(format!("{e}{hint}; moved to {}", to.display()));
            }
            Err(e) => {
                // Not the file's fault: it stays for the next run (its attempt is counted).
                record.failed = true;
                record.errors.push(format!("{}: {e}; left in the inbox for the next run", p.path.display()));
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// A file waiting in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The file.
    pub path: PathBuf,
    /// Its table.
    pub table: Table,
}

/// Files in the inbox, oldest name first; and the files whose table or format
/// could not be told (left in place).
pub fn pending(inbox: &Path) -> std::io::Result<(Vec<Pending>, Vec<PathBuf>)> {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    let mut dirs = vec![(inbox.to_path_buf(), None)];
    while let Some((dir, dir_table)) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") {
                continue;
            }
            if path.is_dir() {
                // One level of table directories; done/ and failed/ are ours.
                if dir == inbox && name != "done" && name != "failed" {
                    match name.parse::<Table>() {
                        Ok(t) if t != Table::Quarantine => dirs.push((path, Some(t))),
                        _ => unknown.push(path),
                    }
                }
                continue;
            }
            match (InputFormat::from_path(&path), dir_table.or_else(|| table_of(&name))) {
                (Some(_), Some(table)) => found.push(Pending { path, table }),
                _ => unknown.push(path),
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    unknown.sort();
    Ok((found, unknown))
}

/// Whether `file` was modified at least `settle` ago (a file whose time cannot
/// be read counts as settled; one dated in the future does not).
pub fn settled(file: &Path, settle: Duration, now: SystemTime) -> std::io::Result<bool> {
    let modified = std::fs::metadata(file)?.modified()?;
    Ok(match now.duration_since(modified) {
        Ok(age) => age >= settle,
        Err(_) => settle.is_zero(),
    })
}

/// Attempts a file may take before it is given up on.
pub const MAX_ATTEMPTS: u32 = 3;

/// Attempts per inbox file that has not finished yet, kept in
/// `_state/files/<source>.json`.
#[derive(Debug, Default)]
pub struct Attempts {
    key: String,
    counts: BTreeMap<String, u32>,
}

impl Attempts {
    /// The attempts of the files source `source` (none if it never ran, or
    /// if its file is unreadable: the count starts over).
    pub async fn load(state: &StateStore, source: &str) -> Result<Attempts, IngestError> {
        let key = format!("files/{source}.json");
        let counts = match state.read(&key).await? {
            Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            None => BTreeMap::new(),
        };
        Ok(Attempts { key, counts })
    }

    /// Attempts already made on `file`.
    pub fn made(&self, file: &Path) -> u32 {
        self.counts.get(&file.display().to_string()).copied().unwrap_or(0)
    }

    /// Count one more attempt on `file`, stored before the attempt starts.
    pub async fn begin(&mut self, state: &StateStore, file: &Path) -> Result<(), IngestError> {
        *self.counts.entry(file.display().to_string()).or_default() += 1;
        Ok(state.write_json(&self.key, &self.counts).await?)
    }

    /// `file` is done with (moved away): forget its attempts.
    pub async fn finish(&mut self, state: &StateStore, file: &Path) -> Result<(), IngestError> {
        self.counts.remove(&file.display().to_string());
        Ok(state.write_json(&self.key, &self.counts).await?)
    }
}

/// The table a file name starts with (the longest match: `survey_answers` before `survey`).
fn table_of(name: &str) -> Option<Table> {
    let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
    Table::ALL
        .iter()
        .filter(|t| **t != Table::Quarantine)
        .filter(|t| {
            stem.strip_prefix(t.name()).is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_', '.', ' ']))
        })
        .max_by_key(|t| t.name().len())
        .copied()
}

/// Move a processed file to `inbox/done/` or `inbox/failed/`, never overwriting.
pub fn settle(inbox: &Path, file: &Path, landed: bool) -> std::io::Result<PathBuf> {
    let dir = inbox.join(if landed { "done" } else { "failed" });
    std::fs::create_dir_all(&dir)?;
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file").to_string();
    let mut target = dir.join(&name);
    let mut i = 1;
    while target.exists() {
        target = dir.join(format!("{i}-{name}"));
        i += 1;
    }
    std::fs::rename(file, &target)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_from_names_and_directories() {
        assert_eq!(table_of("deployments.csv"), Some(Table::Deployments));
        assert_eq!(table_of("incidents-2026-03.ndjson"), Some(Table::Incidents));
        assert_eq!(table_of("survey_answers_q3.csv"), Some(Table::SurveyAnswers));
        assert_eq!(table_of("deploymentsx.csv"), None);
        assert_eq!(table_of("quarantine.csv"), None);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deployments-1.csv"), "x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::write(dir.path().join("changes.csv.part"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("changes")).unwrap();
        std::fs::write(dir.path().join("changes/export.json"), "[]").unwrap();
        std::fs::create_dir_all(dir.path().join("done")).unwrap();
        std::fs::write(dir.path().join("done/deployments.csv"), "x").unwrap();
        let (found, unknown) = pending(dir.path()).unwrap();
        let tables: Vec<Table> = found.iter().map(|p| p.table).collect();
        assert_eq!(tables, vec![Table::Changes, Table::Deployments]);
        assert_eq!(unknown, vec![dir.path().join("notes.txt")]);
        let moved = settle(dir.path(), &found[1].path, true).unwrap();
        assert_eq!(moved, dir.path().join("done/deployments-1.csv"));
        std::fs::write(dir.path().join("deployments.csv"), "y").unwrap();
        let again = settle(dir.path(), &dir.path().join("deployments.csv"), true).unwrap();
        assert_eq!(again, dir.path().join("done/1-deployments.csv"));
    }

    #[tokio::test]
    async fn fresh_files_are_not_settled_and_attempts_persist() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("deployments.csv");
        std::fs::write(&f, "x").unwrap();
        let now = SystemTime::now();
        assert!(!settled(&f, Duration::from_secs(60), now).unwrap());
        assert!(settled(&f, Duration::ZERO, now).unwrap());
        assert!(settled(&f, Duration::from_secs(60), now + Duration::from_secs(61)).unwrap());

        let state = StateStore::local(dir.path());
        let mut a = Attempts::load(&state, "inbox").await.unwrap();
        a.begin(&state, &f).await.unwrap();
        a.begin(&state, &f).await.unwrap();
        assert_eq!(Attempts::load(&state, "inbox").await.unwrap().made(&f), 2);
        a.finish(&state, &f).await.unwrap();
        assert_eq!(Attempts::load(&state, "inbox").await.unwrap().made(&f), 0);
    }
}
