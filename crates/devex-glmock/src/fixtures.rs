//! A hand-worked GitLab organisation: every mapping rule of `docs/sources.md`
//! with its arithmetic, so tests can pin the rows and the metrics.
//!
//! Group `acme`, environment `production`, `first_deploy_lookback_days = 30`,
//! `hotfix_labels = ["hotfix"]`, `incident_labels = ["incident"]`:
//! - `acme/payments/payments-api` (a subgroup's project; service `payments-api`);
//! - `acme/legacy`, archived: never synced;
//! - `other/thing`, outside the group: never synced.
//!
//! Deployments of `payments-api` (all times UTC):
//!
//! | id | sha | status | finished | ships | kind |
//! |---|---|---|---|---|---|
//! | 101 | c2 | success | 03-02 10:00 | first: commits since 01-31 10:00 (30 days before): c1, c2 (c0 is older) | regular |
//! | 102 | c4 | success | 03-04 14:00 | compare c2..c4: c3, c4 | regular |
//! | 103 | c2 | success | 03-04 16:00 | c2 was deployed by 101: rollback, nothing | rollback |
//! | 104 | c5 | success | 03-05 11:00 | compare c4..c5 (103 is a rollback): c5, a revert | hotfix |
//! | 105 | c7 | failed | 03-06 10:30 | nothing | regular |
//! | 106 | c7 | success | 03-06 11:00 | compare c5..c7: c6, c7; MR !4 is labelled `Hotfix` | hotfix |
//! | 107 | c8 | running | - | not landed until it finishes (see [`between_runs`]) | |
//! | 108 | c8 | success (staging) | | another environment: not read | |
//!
//! Changes and their lead times (deployment finished - committed):
//! - c1 authored 2026-03-01T10:00+01:00 = 09:00Z, in MR !1 (fast-forward): 101 at 03-02 10:00: 25 h;
//! - c2 03-02 08:00, no MR: 2 h;
//! - c3 03-03 10:00, in MR !2 (closed) and MR !5 (merged, so pr_number 5): 102 at 03-04 14:00: 28 h;
//! - c4 03-04 12:00, the squash commit of MR !3, whose own commits were authored 03-02 12:00 and
//!   03-03 12:00: committed_at 03-02 12:00, 50 h;
//! - c5 03-05 09:00 (reverts c4): 2 h; c6 03-06 09:00: 2 h; c7 (MR !4's merge commit) 03-06 10:00: 1 h.
//!
//! Sorted: 1 2 2 2 25 28 50: p50 2 h; p90 at 0.9 * 6 = 5.4: 28 + 0.4 * 22 = 36.8 h.
//!
//! Incidents:
//! - #1, type incident, severity HIGH (sev2), 03-04 15:00 - 17:00, "**Root cause:** `<c4's first 8>`"
//!   (expanded to c4's 40 digits through the commits API): 102 failed (rule 2); restored in 2 h;
//! - #2, an issue labelled `Incident`, `severity::1` (sev1) and `service::web`, 03-06 12:00, open;
//!   no `web` deployment: linked to nothing;
//! - #3, an issue without an incident label: not an incident;
//! - #4, type incident, severity LOW (sev4), 03-20 00:00 - 04:00, root cause `deadbeef12` that
//!   GitLab does not know (null); no deployment in the 24 h before it: linked to nothing.
//!
//! March 2026, the organisation: D = 101, 102, 103, 104, 106 (5). Failed: 102 (#1; and the next is
//! a rollback), 103 (the next, 104, is a hotfix), 104 (the next production deployment, 106 - 105
//! failed - is a hotfix): 3 of 5 = 0.6. Rework: 103, 104, 106: 0.6. Recovery: 102 at 103 (2 h;
//! #1 resolved at 3 h), 103 at 104 (19 h), 104 at 106 (24 h): p50 19 h, n 3. Time to restore:
//! #1 2 h, #4 4 h: p50 3 h, n 2. Incidents linked: #1 of #1, #2, #4: 1/3.

use crate::{GitLab, Project};

/// The source's group.
pub const GROUP: &str = "acme";
/// The synced project.
pub const PAYMENTS: &str = "acme/payments/payments-api";

/// The organisation as it is at the first run.
pub fn acme() -> Vec<Project> {
    let mut p = Project::new(11, PAYMENTS);
    p.commit("2026-01-20T09:00:00Z", "initial");
    let c1 = p.commit("2026-03-01T10:00:00+01:00", "Add checkout");
    let c2 = p.commit("2026-03-02T08:00:00Z", "Fix typo");
    p.deployment(101, &c2, "success", "2026-03-02T10:00:00Z");
    let c3 = p.commit("2026-03-03T10:00:00Z", "Feature x");
    let y1 = p.side_commit("2026-03-02T12:00:00Z", "Feature y, part 1");
    let y2 = p.side_commit("2026-03-03T12:00:00Z", "Feature y, part 2");
    let c4 = p.commit("2026-03-04T12:00:00Z", "Squashed feature y (!3)");
    p.deployment(102, &c4, "success", "2026-03-04T14:00:00Z");
    p.deployment(103, &c2, "success", "2026-03-04T16:00:00Z");
    let c5 = p.commit("2026-03-05T09:00:00Z", &format!("Revert \"Squashed feature y\"\n\nThis reverts commit {c4}."));
    p.deployment(104, &c5, "success", "2026-03-05T11:00:00Z");
    let c6 = p.commit("2026-03-06T09:00:00Z", "Feature z");
    let c7 = p.commit("2026-03-06T10:00:00Z", "Merge branch 'feature-4' into 'main'");
    p.deployment(105, &c7, "failed", "2026-03-06T10:30:00Z");
    p.deployment(106, &c7, "success", "2026-03-06T11:00:00Z");
    let c8 = p.commit("2026-03-07T09:00:00Z", "Feature w");
    p.deployment(107, &c8, "running", "2026-03-07T09:50:00Z");
    if let Some(d) = p.deployments.last_mut() {
        d.job = Some(("2026-03-07T09:45:00Z".into(), None));
    }
    p.deployment(108, &c8, "success", "2026-03-07T09:30:00Z");
    if let Some(d) = p.deployments.last_mut() {
        d.environment = "staging".into();
    }

    let find = |p: &Project, sha: &str| p.find_commit(sha).cloned().expect("a commit");
    let (k1, k3, k6) = (find(&p, &c1), find(&p, &c3), find(&p, &c6));
    p.merged(1, "2026-03-01T09:30:00Z", "2026-03-01T12:00:00Z", vec![k1]);
    let closed = p.merged(2, "2026-03-03T10:10:00Z", "2026-03-03T10:20:00Z", vec![k3.clone()]);
    closed.state = "closed".into();
    closed.merged_at = None;
    p.merged(3, "2026-03-03T13:00:00Z", "2026-03-04T12:00:00Z", vec![y1, y2]).squash_commit_sha = Some(c4.clone());
    let mr4 = p.merged(4, "2026-03-06T09:30:00Z", "2026-03-06T10:00:00Z", vec![k6]);
    mr4.merge_commit_sha = Some(c7);
    mr4.labels = vec!["Hotfix".into()];
    p.merged(5, "2026-03-03T10:30:00Z", "2026-03-03T11:00:00Z", vec![k3]);

    let i1 = p.issue(1, "incident", "2026-03-04T15:00:00Z", "Checkout errors");
    i1.severity = "HIGH".into();
    i1.closed_at = Some("2026-03-04T17:00:00Z".into());
    i1.updated_at = "2026-03-04T17:00:00Z".into();
    i1.description = format!("Checkout returned 500s.\n\n**Root cause:** `{}`\n", &c4[..8]);
    let i2 = p.issue(2, "issue", "2026-03-06T12:00:00Z", "Storefront slow");
    i2.labels = vec!["Incident".into(), "severity::1".into(), "service::web".into()];
    p.issue(3, "issue", "2026-03-06T13:00:00Z", "Refactor the cart").labels = vec!["tech-debt".into()];
    let i4 = p.issue(4, "incident", "2026-03-20T00:00:00Z", "Latency spike");
    i4.severity = "LOW".into();
    i4.closed_at = Some("2026-03-20T04:00:00Z".into());
    i4.updated_at = "2026-03-20T04:00:00Z".into();
    i4.description = "Root cause: deadbeef12 (a commit of another repository)".into();

    let mut legacy = Project::new(12, "acme/legacy");
    let l1 = legacy.commit("2026-03-01T00:00:00Z", "old");
    legacy.deployment(201, &l1, "success", "2026-03-02T00:00:00Z");
    legacy.archived = true;
    let mut other = Project::new(13, "other/thing");
    let o1 = other.commit("2026-03-01T00:00:00Z", "elsewhere");
    other.deployment(301, &o1, "success", "2026-03-02T00:00:00Z");
    vec![p, legacy, other]
}

/// What changes before the second run, at `now` (RFC 3339): deployment 107 finishes
/// (2026-03-07T10:00Z, shipping c8, committed 09:00Z: 1 h; regular), and #2 closes at
/// 2026-03-06T20:00Z (restored in 8 h). Both are updated at `now`, inside the overlap.
///
/// March then: D = 6, failed 3: 0.5; rework 3 of 6: 0.5; lead times 1 1 2 2 2 25 28 50:
/// p50 2, p90 at 6.3: 28 + 0.3 * 22 = 34.6; time to restore 2 4 8: p50 4, n 3.
pub fn between_runs(gl: &GitLab, now: &str) {
    gl.with(PAYMENTS, |p| {
        if let Some(d) = p.deployments.iter_mut().find(|d| d.id == 107) {
            d.status = "success".into();
            d.updated_at = now.into();
            d.job = Some(("2026-03-07T09:45:00Z".into(), Some("2026-03-07T10:00:00Z".into())));
        }
        if let Some(i) = p.issues.iter_mut().find(|i| i.iid == 2) {
            i.closed_at = Some("2026-03-06T20:00:00Z".into());
            i.updated_at = now.into();
        }
    });
}
