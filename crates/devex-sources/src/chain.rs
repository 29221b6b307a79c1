//! The deployment chain every pull source builds (GitHub, GitLab): which
//! successful production deployments form it and which are rollbacks (a
//! redeploy of an earlier sha in the same environment), where each
//! deployment's commits come from (a compare from the latest earlier
//! deployment that shipped code, or a lookback for the first), and which
//! deployment a commit is attributed to (the earliest that shipped it).
//! No HTTP here: each source fetches what these need.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use devex_model::row::{self, DeploymentKind, DeploymentStatus};
use serde::{Deserialize, Serialize};

/// A successful production deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipped {
    /// The deployment's `id` in the lake.
    pub id: String,
    /// Its commit.
    pub sha: String,
    /// Lower-cased environment.
    pub environment: String,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// A redeploy of an earlier sha (ships nothing).
    pub rollback: bool,
}

/// A deployment as fetched, before mapping.
#[derive(Debug, Clone)]
pub(crate) struct Deploy {
    pub(crate) id: String,
    pub(crate) environment: String,
    pub(crate) sha: String,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) finished_at: DateTime<Utc>,
    pub(crate) success: bool,
    pub(crate) url: Option<String>,
}

/// A commit a deployment shipped.
#[derive(Debug, Clone)]
pub(crate) struct Commit {
    pub(crate) sha: String,
    pub(crate) authored_at: DateTime<Utc>,
    pub(crate) author: Option<String>,
    pub(crate) message: String,
    pub(crate) parents: usize,
}

/// Where a production deployment's commits come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommitSource {
    /// A rollback: it ships nothing.
    Nothing,
    /// The commits between this sha (the latest earlier deployment that shipped code) and its own.
    Compare(String),
    /// The repository's first deployment: the commits of the lookback before it.
    Lookback,
}

/// The chain of successful production deployments, what was remembered updated
/// with what was read now, oldest first, rollbacks (a redeploy of an earlier
/// sha in the same environment) marked; and, for each deployment read now, its
/// index in the chain and where its commits come from.
pub(crate) fn chain(
    previous: Vec<Shipped>,
    deploys: &[Deploy],
    production: &[String],
) -> (Vec<Shipped>, Vec<(usize, CommitSource)>) {
    let is_prod = |env: &str| production.iter().any(|p| p.eq_ignore_ascii_case(env));
    let mut chain: BTreeMap<String, Shipped> = previous.into_iter().map(|s| (s.id.clone(), s)).collect();
    for d in deploys.iter().filter(|d| d.success && is_prod(&d.environment)) {
        chain.insert(
            d.id.clone(),
            Shipped {
                id: d.id.clone(),
                sha: d.sha.clone(),
                environment: d.environment.to_ascii_lowercase(),
                finished_at: d.finished_at,
                rollback: false,
            },
        );
    }
    let mut chain: Vec<Shipped> = chain.into_values().collect();
    chain.sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));

    let fetched: HashSet<&str> = deploys.iter().map(|d| d.id.as_str()).collect();
    let mut plans = Vec::new();
    for i in 0..chain.len() {
        let (earlier, rest) = chain.split_at_mut(i);
        let this = &mut rest[0];
        let mut same_env = earlier.iter().filter(|e| e.environment == this.environment);
        this.rollback = same_env.clone().any(|e| e.sha == this.sha);
        if !fetched.contains(this.id.as_str()) {
            continue;
        }
        let source = if this.rollback {
            CommitSource::Nothing
        } else {
            match same_env.rfind(|e| !e.rollback) {
                Some(base) => CommitSource::Compare(base.sha.clone()),
                None => CommitSource::Lookback,
            }
        };
        plans.push((i, source));
    }
    (chain, plans)
}

/// First deployment wins: each commit is attributed once, to the earliest
/// deployment that shipped it. `commits` are in the order of `plans`. Returns
/// (deployment id, commit) pairs and the set of attributed shas.
pub(crate) fn attribute(
    chain: &[Shipped],
    plans: &[(usize, CommitSource)],
    commits: Vec<Vec<Commit>>,
) -> (Vec<(String, Commit)>, HashSet<String>) {
    let mut attributed: HashSet<String> = HashSet::new();
    let mut shipped: Vec<(String, Commit)> = Vec::new();
    for ((i, _), commits) in plans.iter().zip(commits) {
        for c in commits {
            if attributed.insert(c.sha.clone()) {
                shipped.push((chain[*i].id.clone(), c));
            }
        }
    }
    (shipped, attributed)
}

/// A revert commit, as `git revert` writes it.
pub fn is_revert(message: &str) -> bool {
    message.contains("This reverts commit ")
}

/// Kinds: `rollback` (a redeployed sha), else `hotfix` (it ships a revert
/// commit, or a commit whose merged pull or merge request has one of
/// `hotfix_labels`, compared case-insensitively); deployments not listed are
/// `regular`. `labels[i]` are the labels of `shipped[i]`'s request (empty if none).
pub(crate) fn kinds(
    chain: &[Shipped],
    shipped: &[(String, Commit)],
    labels: &[&[String]],
    hotfix_labels: &[String],
) -> HashMap<String, DeploymentKind> {
    let mut kind: HashMap<String, DeploymentKind> = HashMap::new();
    for s in chain.iter().filter(|s| s.rollback) {
        kind.insert(s.id.clone(), DeploymentKind::Rollback);
    }
    for ((deploy_id, c), labels) in shipped.iter().zip(labels) {
        let labelled = labels.iter().any(|l| hotfix_labels.iter().any(|h| h.eq_ignore_ascii_case(l)));
        if (is_revert(&c.message) || labelled) && !kind.contains_key(deploy_id) {
            kind.insert(deploy_id.clone(), DeploymentKind::Hotfix);
        }
    }
    kind
}

/// The `deployments` rows of every deployment read.
pub(crate) fn deployment_rows(
    deploys: &[Deploy],
    kinds: &HashMap<String, DeploymentKind>,
    service: &str,
) -> Vec<row::Deployment> {
    deploys
        .iter()
        .map(|d| row::Deployment {
            id: d.id.clone(),
            service: service.to_string(),
            environment: d.environment.clone(),
            status: if d.success { DeploymentStatus::Success } else { DeploymentStatus::Failure },
            finished_at: d.finished_at,
            started_at: d.started_at,
            commit_sha: Some(d.sha.clone()),
            kind: Some(kinds.get(&d.id).copied().unwrap_or(DeploymentKind::Regular)),
            team: None,
            url: d.url.clone(),
        })
        .collect()
}
