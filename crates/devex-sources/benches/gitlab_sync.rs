//! Benchmark: sync 50 projects x 200 deployments (10,000 deployments) from a
//! GitLab that answers every request in 50 ms (`devex-glmock` with a delay),
//! and compare the wall time with the sequential sum (requests x 50 ms). Not a
//! timed test: it prints figures.
//!
//!   cargo bench -p devex-ingest --bench gitlab_sync
//!   DEVEX_BENCH_PROJECTS=10 DEVEX_BENCH_DEPLOYS=50 cargo bench -p devex-ingest --bench gitlab_sync

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use chrono::Utc;
use devex_glmock::{GitLab, Project};
use devex_ingest::source::SyncOptions;
use devex_model::config::GitlabSource;
use devex_sources::gitlab::sync_source;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let projects = env("DEVEX_BENCH_PROJECTS", 50);
    let deploys = env("DEVEX_BENCH_DEPLOYS", 200);
    let delay = Duration::from_millis(env("DEVEX_BENCH_DELAY_MS", 50) as u64);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let server = wiremock::MockServer::start().await;
        let gl = GitLab::new("glpat-bench", 100).with_delay(delay);
        let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        for p in 0..projects {
            let mut project = Project::new(p as u64 + 1, &format!("acme/svc-{p:02}"));
            for d in 0..deploys {
                let at = start + chrono::Duration::hours(d as i64 * 24 + p as i64);
                let authored = (at - chrono::Duration::hours(3)).to_rfc3339();
                let sha = project.commit(&authored, &format!("change {d}"));
                let commit = project.find_commit(&sha).cloned().expect("just made");
                let merged = (at - chrono::Duration::hours(1)).to_rfc3339();
                project.merged(d as u64 + 1, &authored, &merged, vec![commit]);
                project.deployment((p * deploys + d) as u64 + 1, &sha, "success", &at.to_rfc3339());
            }
            let incident = project.issue(1, "incident", &(start + chrono::Duration::days(3)).to_rfc3339(), "outage");
            incident.closed_at = Some((start + chrono::Duration::days(4)).to_rfc3339());
            gl.add(project);
        }
        gl.mount(&server).await;
        let cfg = GitlabSource { group: Some("acme".into()), base_url: server.uri(), ..GitlabSource::default() };
        let data = tempfile::tempdir().unwrap();
        let opts = SyncOptions { full: true, since: None, now: Utc::now() };
        let started = Instant::now();
        let sync = sync_source(
            "bench",
            &cfg,
            Some("glpat-bench".into()),
            &devex_lake::state::StateStore::local(data.path()),
            &opts,
            devex_ingest::progress::silent(),
        )
        .await
        .unwrap();
        let wall = started.elapsed();
        assert!(
            sync.projects.iter().all(|p| p.error.is_none()),
            "{:?}",
            sync.projects.iter().find(|p| p.error.is_some())
        );
        let sequential = delay * sync.requests as u32;
        println!("gitlab sync: {projects} projects x {deploys} deployments, {} ms per request", delay.as_millis());
        println!(
            "  {} requests, {} deployments, {} changes, {} incidents; wall {:.1} s vs sequential sum {:.1} s ({:.1}x), \
             {} projects at once",
            sync.requests,
            sync.deployments.len(),
            sync.changes.len(),
            sync.incidents.len(),
            wall.as_secs_f64(),
            sequential.as_secs_f64(),
            sequential.as_secs_f64() / wall.as_secs_f64(),
            cfg.concurrency
        );
    });
}
