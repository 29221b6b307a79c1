//! Benchmark: sync many repositories from a GitHub that answers every request
//! in 50 ms (`devex-ghmock` with a delay), and compare the wall time with the
//! sequential sum (requests x 50 ms). Not a timed test: it prints figures.
//!
//!   cargo bench -p devex-ingest --bench github_sync
//!   DEVEX_BENCH_REPOS=10 DEVEX_BENCH_DEPLOYS=50 cargo bench -p devex-ingest --bench github_sync

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use chrono::Utc;
use devex_ghmock::{Repo, mount_with_delay};
use devex_model::config::GithubSource;
use devex_sources::github::{SyncOptions, sync_source};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let repos = env("DEVEX_BENCH_REPOS", 50);
    let deploys = env("DEVEX_BENCH_DEPLOYS", 200);
    let delay = Duration::from_millis(env("DEVEX_BENCH_DELAY_MS", 50) as u64);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let server = wiremock::MockServer::start().await;
        let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let mut all = Vec::new();
        for r in 0..repos {
            let mut repo = Repo::new(&format!("acme/svc-{r:02}"));
            for d in 0..deploys {
                let at = start + chrono::Duration::hours(d as i64 * 24 + r as i64);
                let sha = repo.commit(&(at - chrono::Duration::hours(3)).to_rfc3339(), &format!("change {d}"));
                repo.deployment(d as u64 + 1, &sha, "production", &at.to_rfc3339(), "success");
            }
            all.push(repo);
        }
        mount_with_delay(&server, all, 100, delay).await;
        let cfg = GithubSource {
            repos: (0..repos).map(|r| format!("acme/svc-{r:02}")).collect(),
            base_url: server.uri(),
            ..GithubSource::default()
        };
        let data = tempfile::tempdir().unwrap();
        let opts = SyncOptions { full: true, since: None, now: Utc::now() };
        let started = Instant::now();
        let sync = sync_source("bench", &cfg, &["production".into()], &devex_lake::state::StateStore::local(data.path()), &opts, devex_ingest::progress::silent())
            .await
            .unwrap();
        let wall = started.elapsed();
        assert!(sync.repos.iter().all(|r| r.error.is_none()));
        let sequential = delay * sync.requests as u32;
        println!("github sync: {repos} repos x {deploys} deployments, {} ms per request", delay.as_millis());
        println!(
            "  {} requests, {} deployments, {} changes; wall {:.1} s vs sequential sum {:.1} s ({:.1}x), concurrency {} repos",
            sync.requests,
            sync.deployments.len(),
            sync.changes.len(),
            wall.as_secs_f64(),
            sequential.as_secs_f64(),
            sequential.as_secs_f64() / wall.as_secs_f64(),
            cfg.concurrency
        );
    });
}
