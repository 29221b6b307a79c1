//! The GitHub mapping rules, with no HTTP in them: each deployment's kind, and
//! the canonical `deployments` and `changes` rows, on top of the chain and
//! attribution every pull source shares ([`crate::chain`]). `sync.rs` fetches
//! what these need and calls them in that order.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use devex_model::row::{self, DeploymentKind};

pub(crate) use crate::chain::{Commit, CommitSource, Deploy, Shipped, attribute, chain};

/// A merged pull request.
#[derive(Debug, Clone)]
pub(crate) struct PullRequest {
    pub(crate) number: i64,
    pub(crate) opened_at: DateTime<Utc>,
    pub(crate) merged_at: Option<DateTime<Utc>>,
    pub(crate) first_review_at: Option<DateTime<Utc>>,
    pub(crate) first_commit_at: Option<DateTime<Utc>>,
    pub(crate) merge_commit_sha: Option<String>,
    pub(crate) commit_shas: Vec<String>,
    pub(crate) labels: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct PullRequests {
    /// Every shipped commit that belongs to a PR (its merge commit or one of its commits).
    pub(crate) by_sha: HashMap<String, PullRequest>,
}

/// Kinds ([`crate::chain::kinds`]), with each shipped commit's pull request labels.
pub(crate) fn kinds(
    chain: &[Shipped],
    shipped: &[(String, Commit)],
    prs: &PullRequests,
    hotfix_labels: &[String],
) -> HashMap<String, DeploymentKind> {
    let none: Vec<String> = Vec::new();
    let labels: Vec<&[String]> = shipped
        .iter()
        .map(|(_, c)| prs.by_sha.get(&c.sha).map_or(none.as_slice(), |pr| pr.labels.as_slice()))
        .collect();
    crate::chain::kinds(chain, shipped, &labels, hotfix_labels)
}

pub(crate) use crate::chain::deployment_rows;

/// The `changes` rows of the shipped commits. A squash or rebase merge rewrote
/// its pull request's commits: its lead time starts at the PR's first commit.
pub(crate) fn change_rows(
    repo: &str,
    service: &str,
    shipped: &[(String, Commit)],
    attributed: &HashSet<String>,
    prs: &PullRequests,
) -> Vec<row::Change> {
    let repo_name = repo.rsplit('/').next().unwrap_or(repo);
    shipped
        .iter()
        .map(|(deploy_id, c)| {
            let pr = prs.by_sha.get(&c.sha);
            let squashed = pr.is_some_and(|pr| {
                pr.merge_commit_sha.as_deref() == Some(c.sha.as_str())
                    && c.parents <= 1
                    && !pr.commit_shas.iter().any(|s| attributed.contains(s) && s != &c.sha)
            });
            let committed_at: DateTime<Utc> = match (squashed, pr.and_then(|p| p.first_commit_at)) {
                (true, Some(first)) if first < c.authored_at => first,
                _ => c.authored_at,
            };
            row::Change {
                repo: repo_name.to_string(),
                sha: c.sha.clone(),
                service: service.to_string(),
                committed_at,
                deployment_id: Some(deploy_id.clone()),
                pr_number: pr.map(|p| p.number),
                pr_opened_at: pr.map(|p| p.opened_at),
                first_review_at: pr.and_then(|p| p.first_review_at),
                merged_at: pr.and_then(|p| p.merged_at),
                author: c.author.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use devex_model::row::DeploymentStatus;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn deploy(id: &str, sha: &str, env: &str, at: &str, success: bool) -> Deploy {
        Deploy {
            id: id.into(),
            environment: env.into(),
            sha: sha.into(),
            started_at: None,
            finished_at: t(at),
            success,
            url: None,
        }
    }

    fn commit(sha: &str, at: &str, message: &str) -> Commit {
        Commit { sha: sha.into(), authored_at: t(at), author: None, message: message.into(), parents: 1 }
    }

    /// d1 (first: lookback), d2 (compare from d1), d3 (redeploys d1's sha: rollback), d4 (compare
    /// from d2, the latest earlier deployment that shipped code), a staging and a failed deploy
    /// that are not in the chain.
    fn deploys() -> Vec<Deploy> {
        vec![
            deploy("d1", "s1", "production", "2026-03-01T10:00:00Z", true),
            deploy("d2", "s2", "Production", "2026-03-02T10:00:00Z", true),
            deploy("d3", "s1", "production", "2026-03-02T12:00:00Z", true),
            deploy("st", "s9", "staging", "2026-03-02T13:00:00Z", true),
            deploy("df", "s8", "production", "2026-03-02T14:00:00Z", false),
            deploy("d4", "s4", "production", "2026-03-03T10:00:00Z", true),
        ]
    }

    #[test]
    fn the_chain_marks_rollbacks_and_says_where_commits_come_from() {
        let (chain, plans) = chain(Vec::new(), &deploys(), &["production".into()]);
        let ids: Vec<(&str, bool)> = chain.iter().map(|s| (s.id.as_str(), s.rollback)).collect();
        assert_eq!(ids, [("d1", false), ("d2", false), ("d3", true), ("d4", false)]);
        let sources: Vec<(usize, CommitSource)> = plans;
        assert_eq!(
            sources,
            [
                (0, CommitSource::Lookback),
                (1, CommitSource::Compare("s1".into())),
                (2, CommitSource::Nothing),
                (3, CommitSource::Compare("s2".into())),
            ]
        );
        // A later run remembers the chain: a new deployment compares from the remembered d4.
        let later = [deploy("d5", "s5", "production", "2026-03-04T10:00:00Z", true)];
        let (chain2, plans2) = super::chain(chain, &later, &["production".into()]);
        assert_eq!(chain2.len(), 5);
        assert_eq!(plans2, [(4, CommitSource::Compare("s4".into()))]);
    }

    #[test]
    fn a_commit_goes_to_the_first_deployment_and_kinds_follow_reverts_and_labels() {
        let (chain, plans) = chain(Vec::new(), &deploys(), &["production".into()]);
        let commits = vec![
            vec![commit("c1", "2026-02-28T10:00:00Z", "feature")],
            vec![commit("c1", "2026-02-28T10:00:00Z", "feature"), commit("c2", "2026-03-01T12:00:00Z", "fix")],
            vec![],
            vec![commit("c4", "2026-03-02T20:00:00Z", "Revert \"fix\"\n\nThis reverts commit c2.")],
        ];
        let (shipped, attributed) = attribute(&chain, &plans, commits);
        let pairs: Vec<(&str, &str)> = shipped.iter().map(|(d, c)| (d.as_str(), c.sha.as_str())).collect();
        assert_eq!(pairs, [("d1", "c1"), ("d2", "c2"), ("d4", "c4")]);
        assert_eq!(attributed.len(), 3);

        let mut prs = PullRequests::default();
        prs.by_sha.insert(
            "c2".into(),
            PullRequest {
                number: 7,
                opened_at: t("2026-03-01T11:00:00Z"),
                merged_at: Some(t("2026-03-01T13:00:00Z")),
                first_review_at: None,
                first_commit_at: Some(t("2026-03-01T08:00:00Z")),
                merge_commit_sha: Some("c2".into()),
                commit_shas: vec!["x1".into(), "x2".into()],
                labels: vec!["HotFix".into()],
            },
        );
        let kinds = kinds(&chain, &shipped, &prs, &["hotfix".into()]);
        assert_eq!(kinds.get("d2"), Some(&DeploymentKind::Hotfix), "a PR label, compared case-insensitively");
        assert_eq!(kinds.get("d3"), Some(&DeploymentKind::Rollback));
        assert_eq!(kinds.get("d4"), Some(&DeploymentKind::Hotfix), "a revert commit");
        assert_eq!(kinds.get("d1"), None);

        let rows = deployment_rows(&deploys(), &kinds, "api");
        assert_eq!(rows.len(), 6);
        assert_eq!((rows[4].status, rows[4].kind), (DeploymentStatus::Failure, Some(DeploymentKind::Regular)));
        // c2 is its PR's squash merge commit: lead time starts at the PR's first commit.
        let changes = change_rows("acme/api", "api", &shipped, &attributed, &prs);
        assert_eq!(changes[1].committed_at, t("2026-03-01T08:00:00Z"));
        assert_eq!((changes[1].pr_number, changes[1].repo.as_str()), (Some(7), "api"));
        assert_eq!(changes[0].committed_at, t("2026-02-28T10:00:00Z"));
    }
}
