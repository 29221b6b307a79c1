//! The GitLab source: `[sources.<name>]` with `type = "gitlab"`
//! (`docs/sources.md`), over GitLab's REST v4 with plain reqwest and serde
//! structs ([`payload`]).
//!
//! [`sync_source`] reads every project of the source (several at once) into
//! memory as canonical rows; [`Gitlab`], the source the run loop drives, lands
//! them with one MERGE per table and only then calls [`save_state`], which
//! advances the watermark of each project that synced. A project that failed
//! keeps its old watermark and contributed no row; the next run retries it.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_sources::http::HttpError> {
//! use devex_sources::gitlab::sync_source;
//! let cfg = devex_model::config::GitlabSource { group: Some("acme".into()), ..Default::default() };
//! let opts = devex_ingest::source::SyncOptions { full: false, since: None, now: chrono::Utc::now() };
//! let token = std::env::var("GITLAB_TOKEN").ok();
//! let state = devex_lake::state::StateStore::local("devex-data".as_ref());
//! let sync = sync_source("gitlab", &cfg, token, &state, &opts,
//!     devex_ingest::progress::silent()).await?;
//! println!("{} deployments from {} projects", sync.deployments.len(), sync.projects.len());
//! # Ok(()) }
//! ```

pub mod payload;
pub mod sync;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use devex_model::config::GitlabSource;
use devex_model::row;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::http::{Api, HttpClient, HttpError, RetryPolicy};
use devex_ingest::IngestError;
use devex_ingest::progress::{Event, Level, Progress};
use devex_ingest::source::{
    Source, SourceContext, SourceRecord, SyncOptions, UnitOutcome, Watermark, land, sync_units, unit_errors,
};
use devex_lake::state::StateStore;
use sync::{ProjectPlan, ProjectState, SyncWindow, encode, list, sync_project};

/// The `gitlab` source.
#[derive(Debug, Clone)]
pub struct Gitlab {
    /// The source's name.
    pub name: String,
    /// Its configuration.
    pub config: GitlabSource,
}

impl Source for Gitlab {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "gitlab"
    }

    fn watermarks<'a>(&'a self, state: &'a StateStore) -> LocalBoxFuture<'a, Result<Vec<Watermark>, IngestError>> {
        Box::pin(async move {
            Ok(load_state(state, &self.name)
                .await?
                .projects
                .into_iter()
                .map(|(project, s)| Watermark {
                    unit: project,
                    at: s.watermark,
                    counts: vec![("production_deployments_seen", s.shipped.len())],
                })
                .collect())
        })
    }

    fn run<'a>(&'a self, ctx: &'a SourceContext<'a>) -> LocalBoxFuture<'a, Result<SourceRecord, IngestError>> {
        Box::pin(async move {
            let cfg = &self.config;
            (ctx.progress)(&Event::new(Level::Info, format!("source {}: GitLab {}", self.name, cfg.base_url)));
            let token = std::env::var(&cfg.token_env).ok().filter(|t| !t.trim().is_empty());
            if token.is_none() {
                (ctx.progress)(&Event::new(
                    Level::Warn,
                    format!(
                        "{}: ${} is not set: unauthenticated requests (public projects only)",
                        self.name, cfg.token_env
                    ),
                ));
            }
            let sync = sync_source(&self.name, cfg, token, ctx.state, ctx.options, Arc::clone(&ctx.progress))
                .await
                .map_err(|e| e.into_ingest(&self.name))?;
            let landed = land(ctx, "gitlab", &self.name, &sync.deployments)
                .await?
                .and(land(ctx, "gitlab", &self.name, &sync.changes).await?)
                .and(land(ctx, "gitlab", &self.name, &sync.incidents).await?);
            // Only now that the rows are in the lake do the watermarks move.
            save_state(ctx.state, &self.name, &sync).await?;
            Ok(SourceRecord {
                source: self.name.clone(),
                kind: self.kind().into(),
                tables: landed.tables,
                errors: unit_errors(&sync.projects),
                warnings: landed.warnings,
                requests: Some(sync.requests),
                repos: Some(sync.projects.len()),
                ..Default::default()
            })
        })
    }
}

/// What a source's sync read.
#[derive(Debug, Default)]
pub struct SourceSync {
    /// `deployments` rows of every project that synced.
    pub deployments: Vec<row::Deployment>,
    /// `changes` rows.
    pub changes: Vec<row::Change>,
    /// `incidents` rows.
    pub incidents: Vec<row::Incident>,
    /// Per project, by path.
    pub projects: Vec<UnitOutcome>,
    /// HTTP requests sent (retries included).
    pub requests: u64,
    new_state: BTreeMap<String, ProjectState>,
}

/// What devex keeps of a source between runs: `_state/gitlab/<source>.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceState {
    /// Per project.
    pub projects: BTreeMap<String, ProjectState>,
}

/// The `_state` key of a source's state: `gitlab/<source>.json`.
pub fn state_key(source: &str) -> String {
    format!("gitlab/{source}.json")
}

/// The saved state of a source (empty if it never ran).
pub async fn load_state(state: &StateStore, source: &str) -> Result<SourceState, IngestError> {
    Ok(state.read_json(&state_key(source)).await?)
}

/// After the rows landed: advance the watermark of every project that synced
/// (failed ones keep theirs).
pub async fn save_state(store: &StateStore, source: &str, sync: &SourceSync) -> Result<(), IngestError> {
    let mut state = load_state(store, source).await?;
    for (project, s) in &sync.new_state {
        state.projects.insert(project.clone(), s.clone());
    }
    Ok(store.write_json(&state_key(source), &state).await?)
}

/// Sync every project of a source into memory.
pub async fn sync_source(
    name: &str,
    cfg: &GitlabSource,
    token: Option<String>,
    store: &StateStore,
    opts: &SyncOptions,
    notify: Progress,
) -> Result<SourceSync, HttpError> {
    let api = format!("{}/api/v4", cfg.base_url.trim_end_matches('/'));
    let client = HttpClient::new(
        Api::Gitlab,
        &api,
        token,
        Duration::from_secs(cfg.timeout_secs.max(1)),
        RetryPolicy::new(cfg.max_retries, Duration::from_millis(cfg.retry_base_ms)),
        Arc::clone(&notify),
    )?;
    let state = load_state(store, name).await.map_err(HttpError::state)?;
    let plans = projects(&client, cfg).await?;
    let overlap = chrono::Duration::days(i64::from(cfg.overlap_days));

    let units: Vec<(String, ProjectPlan)> = plans.into_iter().map(|p| (p.path.clone(), p)).collect();
    let client = &client;
    let state = &state;
    let synced = sync_units(
        units,
        cfg.concurrency,
        &notify,
        |e: &HttpError| (e.to_string(), e.hint().map(str::to_string)),
        |plan: ProjectPlan| async move {
            let previous = if opts.full {
                ProjectState::default()
            } else {
                state.projects.get(&plan.path).cloned().unwrap_or_default()
            };
            let since = opts.since.or_else(|| previous.watermark.map(|w| w - overlap));
            sync_project(client, cfg, &plan, previous, &SyncWindow { since, now: opts.now }).await
        },
    )
    .await;
    let mut out = SourceSync {
        deployments: synced.deployments,
        changes: synced.changes,
        incidents: synced.incidents,
        projects: synced.outcomes,
        requests: 0,
        new_state: synced.states,
    };
    out.requests = client.requests();
    Ok(out)
}

/// The projects of a source: `projects`, plus every non-archived project of
/// `group` and its subgroups, deduplicated.
async fn projects(client: &HttpClient, cfg: &GitlabSource) -> Result<Vec<ProjectPlan>, HttpError> {
    let mut paths: Vec<String> = cfg.projects.iter().map(|p| p.trim_matches('/').to_string()).collect();
    if let Some(group) = cfg.group.as_deref().filter(|g| !g.trim().is_empty()) {
        let path = format!(
            "/groups/{}/projects?include_subgroups=true&archived=false&per_page=100",
            encode(group.trim_matches('/'))
        );
        let url = client.url(&path);
        for p in payload::items::<payload::Project>(&list(client, &path).await?, &url)? {
            if !p.archived {
                paths.push(p.path_with_namespace);
            }
        }
    }
    paths.sort();
    paths.dedup();
    Ok(paths
        .into_iter()
        .map(|path| {
            let service = cfg
                .services
                .get(&path)
                .cloned()
                .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(&path).to_string());
            ProjectPlan { path, service }
        })
        .collect())
}
