-- Every metric of one window, one row per group: what `devex metrics` prints.
-- The definitions are in the files this view reads (01_ to 06_); nothing is computed here.

CREATE VIEW metrics AS
SELECT g.grp,
       f.deployments,
       f.per_day,
       f.deploy_days_per_week_p50,
       f.band AS deployment_frequency_band,
       lt.p50 AS lead_time_p50,
       lt.p90 AS lead_time_p90,
       COALESCE(lt.n, 0) AS lead_time_n,
       lt.band AS lead_time_band,
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
LEFT JOIN deployment_frequency f ON f.grp = g.grp
LEFT JOIN lead_time lt ON lt.grp = g.grp
LEFT JOIN change_failure_rate cfr ON cfr.grp = g.grp
LEFT JOIN recovery_time rt ON rt.grp = g.grp
LEFT JOIN rework_rate rw ON rw.grp = g.grp
LEFT JOIN time_to_restore ttr ON ttr.grp = g.grp
LEFT JOIN nps ON nps.grp = g.grp
LEFT JOIN coverage cov ON cov.grp = g.grp;
