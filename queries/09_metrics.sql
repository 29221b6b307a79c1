-- Every metric of each period, one row per period and group: what `devex trends` and the report
-- chart (one period per quarter, computed in one pass).
-- The definitions are in the files this view reads (01_ to 06_); nothing is computed here.

CREATE VIEW period_metrics AS
SELECT p.period,
       g.grp,
       f.deployments,
       f.per_day,
       f.deploy_days_per_week_p50,
       f.band AS deployment_frequency_band,
       lt.p50 AS lead_time_p50,
       lt.p90 AS lead_time_p90,
       COALESCE(lt.n, 0) AS lead_time_n,
       lt.band AS lead_time_band,
       st.coding_mean AS lead_time_coding_mean,
       st.coding_p50 AS lead_time_coding_p50,
       st.coding_share AS lead_time_coding_share,
       st.pickup_mean AS lead_time_pickup_mean,
       st.pickup_p50 AS lead_time_pickup_p50,
       st.pickup_share AS lead_time_pickup_share,
       st.review_mean AS lead_time_review_mean,
       st.review_p50 AS lead_time_review_p50,
       st.review_share AS lead_time_review_share,
       st.deploy_mean AS lead_time_deploy_mean,
       st.deploy_p50 AS lead_time_deploy_p50,
       st.deploy_share AS lead_time_deploy_share,
       COALESCE(st.with_pr, 0) AS lead_time_with_pr,
       COALESCE(st.reviewed, 0) AS lead_time_reviewed,
       cfr.value AS change_failure_rate,
       COALESCE(cfr.failed, 0) AS failed,
       cfr.band AS change_failure_rate_band,
       rt.p50 AS recovery_p50,
       COALESCE(rt.n, 0) AS recovery_n,
       COALESCE(rt.open, 0) AS recovery_open,
       rt.band AS recovery_band,
       rw.value AS rework_rate,
       COALESCE(rw.n, 0) AS rework_n,
       ttr.p50 AS time_to_restore_p50,
       COALESCE(ttr.n, 0) AS time_to_restore_n,
       nps.value AS nps,
       COALESCE(nps.n, 0) AS nps_n,
       nps.promoters AS nps_promoters,
       nps.detractors AS nps_detractors,
       COALESCE(nps.suppressed, true) AS nps_suppressed,
       nps.suppressed_reason AS nps_suppressed_reason,
       cov.changes_deployed,
       cov.incidents_linked
FROM metric_group g
CROSS JOIN metric_period p
LEFT JOIN deployment_frequency f ON f.period = p.period AND f.grp = g.grp
LEFT JOIN lead_time lt ON lt.period = p.period AND lt.grp = g.grp
LEFT JOIN lead_time_stages st ON st.period = p.period AND st.grp = g.grp
LEFT JOIN change_failure_rate cfr ON cfr.period = p.period AND cfr.grp = g.grp
LEFT JOIN recovery_time rt ON rt.period = p.period AND rt.grp = g.grp
LEFT JOIN rework_rate rw ON rw.period = p.period AND rw.grp = g.grp
LEFT JOIN time_to_restore ttr ON ttr.period = p.period AND ttr.grp = g.grp
LEFT JOIN nps ON nps.period = p.period AND nps.grp = g.grp
LEFT JOIN coverage cov ON cov.period = p.period AND cov.grp = g.grp;

-- Every metric of the window, one row per group: what `devex metrics` prints. A run of one
-- period (`devex metrics`, `devex sql`) has one row per group; `period_metrics` keys several.
CREATE VIEW metrics AS
SELECT * EXCLUDE (period) FROM period_metrics;
