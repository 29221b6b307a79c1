//! The GitHub source: `[sources.<name>]` with `type = "github"`.
//!
//! [`sync_source`] reads every repository of the source (several at once) into
//! memory as canonical rows; [`Github`], the source the run loop drives, lands
//! them with one MERGE per table (through [`devex_ingest::source::land`], so they are
//! validated like any file) and only then calls [`save_state`], which advances
//! the watermark of each repository that synced. A repository that failed
//! keeps its old watermark and contributed no row; the next run retries it.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_sources::github::client::ApiError> {
//! use devex_sources::github::{SyncOptions, sync_source};
//! let cfg = devex_model::config::GithubSource { repos: vec!["acme/api".into()], ..Default::default() };
//! let production = vec!["production".to_string()];
//! let opts = SyncOptions { full: false, since: None, now: chrono::Utc::now() };
//! let state = devex_lake::state::StateStore::local("devex-data".as_ref());
//! let sync = sync_source("github", &cfg, &production, &state, &opts,
//!     devex_ingest::progress::silent()).await?;
//! println!("{} deployments from {} repos", sync.deployments.len(), sync.repos.len());
//! # Ok(()) }
//! ```

pub mod client;
mod map;
pub mod parse;
pub mod payload;
pub mod sync;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use devex_model::config::GithubSource;
use devex_model::row;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use client::{ApiError, CachedPage, Client, RetryPolicy};
use devex_ingest::IngestError;
use devex_ingest::progress::{Event, Level, Progress};
use devex_ingest::source::{Source, SourceContext, SourceRecord, Watermark, land, sync_units, unit_errors};
use devex_lake::state::StateStore;
use sync::{RepoPlan, RepoState, SyncWindow, sync_repo};

pub use devex_ingest::source::SyncOptions;

/// The `github` source: every repository of a `[sources.<name>]` with `type = "github"`.
#[derive(Debug, Clone)]
pub struct Github {
    /// The source's name.
    pub name: String,
    /// Its configuration.
    pub config: GithubSource,
}

impl Source for Github {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "github"
    }

    fn watermarks<'a>(&'a self, state: &'a StateStore) -> LocalBoxFuture<'a, Result<Vec<Watermark>, IngestError>> {
        Box::pin(async move {
            Ok(load_state(state, &self.name)
                .await?
                .repos
                .into_iter()
                .map(|(repo, s)| Watermark {
                    unit: repo,
                    at: s.watermark,
                    counts: vec![("production_deployments_seen", s.shipped.len())],
                })
                .collect())
        })
    }

    fn run<'a>(&'a self, ctx: &'a SourceContext<'a>) -> LocalBoxFuture<'a, Result<SourceRecord, IngestError>> {
        Box::pin(async move {
            let cfg = &self.config;
            (ctx.progress)(&Event::new(Level::Info, format!("source {}: GitHub {}", self.name, cfg.base_url)));
            let sync = sync_source(
                &self.name,
                cfg,
                ctx.production_environments,
                ctx.state,
                ctx.options,
                Arc::clone(&ctx.progress),
            )
            .await
            .map_err(|e| e.into_ingest(&self.name))?;
            let landed = land(ctx, "github", &self.name, &sync.deployments)
                .await?
                .and(land(ctx, "github", &self.name, &sync.changes).await?)
                .and(land(ctx, "github", &self.name, &sync.incidents).await?);
            // Only now that the rows are in the lake do the watermarks move.
            save_state(ctx.state, &self.name, &sync).await?;
            Ok(SourceRecord {
                source: self.name.clone(),
                kind: self.kind().into(),
                tables: landed.tables,
                errors: unit_errors(&sync.repos),
                warnings: landed.warnings,
                requests: Some(sync.requests),
                not_modified: Some(sync.not_modified),
                repos: Some(sync.repos.len()),
                ..Default::default()
            })
        })
    }
}

/// One repository's result.
pub type RepoOutcome = devex_ingest::source::UnitOutcome;

/// What a source's sync read.
#[derive(Debug, Default)]
pub struct SourceSync {
    /// `deployments` rows of every repository that synced.
    pub deployments: Vec<row::Deployment>,
    /// `changes` rows.
    pub changes: Vec<row::Change>,
    /// `incidents` rows.
    pub incidents: Vec<row::Incident>,
    /// Per repository, in the order listed.
    pub repos: Vec<RepoOutcome>,
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Of which answered 304 from the conditional-request cache.
    pub not_modified: u64,
    new_state: BTreeMap<String, RepoState>,
    cache: HashMap<String, CachedPage>,
}

/// What devex keeps of a source between runs: `_state/github/<source>.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceState {
    /// Per repository.
    pub repos: BTreeMap<String, RepoState>,
}

/// The `_state` key of a source's state: `github/<source>.json`.
pub fn state_key(source: &str) -> String {
    format!("github/{source}.json")
}

fn cache_key(source: &str) -> String {
    format!("github/{source}.etags.json")
}

/// The saved state of a source (empty if it never ran).
pub async fn load_state(state: &StateStore, source: &str) -> Result<SourceState, IngestError> {
    Ok(state.read_json(&state_key(source)).await?)
}

/// Sync every repository of a source into memory.
pub async fn sync_source(
    name: &str,
    cfg: &GithubSource,
    production: &[String],
    store: &StateStore,
    opts: &SyncOptions,
    notify: Progress,
) -> Result<SourceSync, ApiError> {
    let token = std::env::var(&cfg.token_env).ok().filter(|t| !t.trim().is_empty());
    if token.is_none() {
        notify(&Event::new(
            Level::Warn,
            format!(
                "{name}: ${} is not set: unauthenticated requests (GitHub allows 60 an hour, public repositories only)",
                cfg.token_env
            ),
        ));
    }
    // A cache that cannot be read costs requests, not correctness: start afresh.
    let cache: HashMap<String, CachedPage> = store.read_json(&cache_key(name)).await.unwrap_or_default();
    let secret = token.clone();
    let client = Client::new(
        &cfg.base_url,
        token,
        Duration::from_secs(cfg.timeout_secs.max(1)),
        RetryPolicy::new(cfg.max_retries, Duration::from_millis(cfg.retry_base_ms))
            .with_max_wait(Duration::from_secs(cfg.max_wait_secs)),
        cache,
        Arc::clone(&notify),
    )?;
    let state = load_state(store, name).await.map_err(|e| ApiError::State(Arc::new(e)))?;
    let plans = repositories(&client, cfg).await.map_err(|e| redact(e, secret.as_deref()))?;
    let overlap = chrono::Duration::days(i64::from(cfg.overlap_days));

    let units: Vec<(String, RepoPlan)> = plans.into_iter().map(|p| (p.repo.clone(), p)).collect();
    let client = &client;
    let state = &state;
    let secret = secret.as_deref();
    let synced = sync_units(
        units,
        cfg.concurrency,
        &notify,
        |e: &ApiError| (redact_text(&e.to_string(), secret), e.hint().map(str::to_string)),
        |plan: RepoPlan| async move {
            let previous = state.repos.get(&plan.repo).cloned().unwrap_or_default();
            let since = match (opts.since, opts.full) {
                (Some(s), _) => Some(s),
                (None, true) => None,
                (None, false) => previous.watermark.map(|w| w - overlap),
            };
            let previous = if opts.full { RepoState::default() } else { previous };
            sync_repo(client, cfg, production, &plan, previous, &SyncWindow { since, now: opts.now }).await
        },
    )
    .await;
    let mut out = SourceSync {
        deployments: synced.deployments,
        changes: synced.changes,
        incidents: synced.incidents,
        repos: synced.outcomes,
        new_state: synced.states,
        ..SourceSync::default()
    };
    out.requests = client.requests();
    out.not_modified = client.not_modified();
    out.cache = client.cache();
    Ok(out)
}

/// After the rows landed: advance the watermark of every repository that synced
/// (failed ones keep theirs) and keep the conditional-request cache.
pub async fn save_state(store: &StateStore, source: &str, sync: &SourceSync) -> Result<(), IngestError> {
    let mut state = load_state(store, source).await?;
    for (repo, s) in &sync.new_state {
        state.repos.insert(repo.clone(), s.clone());
    }
    store.write_json(&state_key(source), &state).await?;
    Ok(store.write_json(&cache_key(source), &sync.cache).await?)
}

/// The repositories of a source: `repos`, plus the non-archived repositories of
/// `org` (with one of `topics`, if given).
async fn repositories(client: &Client, cfg: &GithubSource) -> Result<Vec<RepoPlan>, ApiError> {
    let mut names: Vec<String> = cfg.repos.clone();
    if let Some(org) = &cfg.org {
        let path = format!("/orgs/{org}/repos?type=all&per_page=100");
        let url = client.url(&path);
        let listed = client.list(&path, None, |_| true).await?;
        for r in payload::items::<payload::Repository>(&listed, &url)? {
            if r.archived || (!cfg.topics.is_empty() && !cfg.topics.iter().any(|t| r.topics.contains(t))) {
                continue;
            }
            names.push(r.full_name.ok_or_else(|| parse::malformed(&url, "a repository without `full_name`".into()))?);
        }
    }
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|repo| {
            let service = cfg
                .services
                .get(&repo)
                .cloned()
                .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(&repo).to_string());
            RepoPlan { repo, service }
        })
        .collect())
}

fn redact(e: ApiError, secret: Option<&str>) -> ApiError {
    match e {
        ApiError::Setup(m) => ApiError::Setup(redact_text(&m, secret)),
        other => other,
    }
}

/// Belt and braces: the token is never put in a message, but if some layer
/// echoed it, it is cut out here.
pub fn redact_text(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if s.len() >= 4 => text.replace(s, "[redacted]"),
        _ => text.to_string(),
    }
}
