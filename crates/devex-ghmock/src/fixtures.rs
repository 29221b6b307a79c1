//! Hand-worked scenarios shared by the ingest tests and the end-to-end test.

use crate::{Issue, Pull, Repo, t};

/// `acme/api` (service `api`) in March 2026, every mapping rule once:
///
/// | deployment | sha | env | status | finished (UTC) | ships | kind |
/// |---|---|---|---|---|---|---|
/// | 1 | c2 | production | success | 03-02 10:00 | c1 (03-01 10:00), c2 (03-02 08:00): first deploy, 30-day lookback | regular |
/// | 9 | c4 | staging | success | 03-05 09:30 | (not production) | regular |
/// | 2 | c4 | production | success | 03-05 10:00 | c3 (03-04 10:00), c4 = squash of PR #7 (first commit 03-03 10:00) | regular |
/// | 3 | c5 | production | failure | 03-06 10:00 | nothing (failed) | regular |
/// | 4 | c2 | production | success | 03-06 12:00 | nothing (c2 was deployed before) | rollback |
/// | 5 | c6 | production | success | 03-07 10:00 | c5 (03-06 09:00), c6 (03-07 08:00) via PR #9 labelled hotfix | hotfix |
///
/// Issues labelled `incident`: #20 (SEV-1, 03-05 12:00-15:00, "Root cause: <c3, short>"),
/// #22 (`service:auth`, 03-02 11:00-12:00, links deployment 1); #21 is a pull request.
/// A commit of 2026-01-10 is older than the lookback and ships with nothing.
pub fn acme_api() -> Repo {
    let mut r = Repo::new("acme/api");
    let old = r.commit("2026-01-10T10:00:00Z", "too old for the lookback");
    let c1 = r.commit("2026-03-01T10:00:00Z", "c1");
    let c2 = r.commit("2026-03-02T08:00:00Z", "c2");
    let _ = (old, c1);
    r.deployment(1, &c2, "production", "2026-03-02T10:00:00Z", "success");
    let c3 = r.commit("2026-03-04T10:00:00Z", "c3");
    // PR #7, squash-merged: its commits started on 2026-03-03T10:00; the squash commit is from 03-05.
    let pr_commits = {
        let mut side = Repo::new("acme/api");
        let p1 = side.commit_with_parents("2026-03-03T10:00:00Z", "wip", vec![c3.clone()]);
        side.commit_with_parents("2026-03-04T12:00:00Z", "more", vec![p1]);
        side.commits
    };
    let c4 = r.commit("2026-03-05T09:00:00Z", "Add feature (#7)");
    r.pulls.push(Pull {
        number: 7,
        created_at: t("2026-03-03T11:00:00Z"),
        merged_at: Some(t("2026-03-05T09:00:00Z")),
        merge_commit_sha: Some(c4.clone()),
        commits: pr_commits,
        reviews: vec![t("2026-03-04T15:00:00Z"), t("2026-03-03T16:00:00Z")],
        labels: vec![],
    });
    r.deployment(2, &c4, "production", "2026-03-05T10:00:00Z", "success");
    r.deployment(9, &c4, "staging", "2026-03-05T09:30:00Z", "success");
    let c5 = r.commit("2026-03-06T09:00:00Z", "c5");
    r.deployment(3, &c5, "production", "2026-03-06T10:00:00Z", "failure");
    r.deployment(4, &c2, "production", "2026-03-06T12:00:00Z", "success");
    // PR #9 (merge commit, labelled hotfix) brings c5 and its merge commit c6.
    let c6 = r.commit_with_parents("2026-03-07T08:00:00Z", "Merge pull request #9", vec![c5.clone()]);
    r.pulls.push(Pull {
        number: 9,
        created_at: t("2026-03-06T09:30:00Z"),
        merged_at: Some(t("2026-03-07T08:00:00Z")),
        merge_commit_sha: Some(c6.clone()),
        commits: vec![r.commits.iter().find(|c| c.sha == c5).unwrap().clone()],
        reviews: vec![],
        labels: vec!["hotfix".into()],
    });
    r.deployment(5, &c6, "production", "2026-03-07T10:00:00Z", "success");
    r.issues.push(Issue {
        number: 20,
        title: "Checkout errors".into(),
        body: format!("Impact: 5xx\n\nRoot cause: {}\n", &c3[..10]),
        labels: vec!["incident".into(), "SEV-1".into()],
        created_at: t("2026-03-05T12:00:00Z"),
        closed_at: Some(t("2026-03-05T15:00:00Z")),
        pull_request: false,
    });
    r.issues.push(Issue {
        number: 21,
        title: "A PR the issues endpoint also lists".into(),
        body: String::new(),
        labels: vec!["incident".into()],
        created_at: t("2026-03-05T12:00:00Z"),
        closed_at: None,
        pull_request: true,
    });
    r.issues.push(Issue {
        number: 22,
        title: "Login down".into(),
        body: "Caused by https://api.github.com/repos/acme/api/deployments/1".into(),
        labels: vec!["incident".into(), "service:auth".into()],
        created_at: t("2026-03-02T11:00:00Z"),
        closed_at: Some(t("2026-03-02T12:00:00Z")),
        pull_request: false,
    });
    r
}
