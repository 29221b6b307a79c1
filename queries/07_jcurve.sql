-- Trends relative to onboarding: the J-curve.
--
-- metrics.md, "Trends and the J-curve": quarterly series of every metric per group. For a group
-- with an onboarding date, quarters are also indexed relative to the onboarding quarter (q0);
-- the baseline is the mean of the two quarters before q0. A dip is a quarter after q0 worse
-- than baseline; recovery is the first later quarter better than baseline.
--
-- Reads `quarterly_metrics`: the `metrics` view (09_metrics.sql) of each quarter, with its
-- `quarter` label and `quarter_start`, as `devex trends` computes it.
-- A service's onboarding date is its catalog `onboarded_at`; a team's is the earliest of its
-- services'. The baseline needs both quarters before q0 to have a value. "Worse" and "better"
-- follow each metric's direction (lower lead time, failure rate, recovery and restore times are
-- better; more deployments per day and a higher NPS are better).

CREATE VIEW group_onboarding AS
SELECT CASE {{group_by}} WHEN 'team' THEN s.team ELSE s.service END AS grp,
       min(s.onboarded_at) AS onboarded_at,
       CAST(date_trunc('quarter', to_local_time(min(s.onboarded_at) AT TIME ZONE '{{timezone}}')) AS DATE) AS q0
FROM services s
WHERE s.onboarded_at IS NOT NULL AND {{group_by}} <> 'org'
GROUP BY 1;

-- Every J-curve metric of every group and quarter in long form, with its direction (1: higher
-- is better, -1: lower is better). The J-curve and the effect of onboarding (08_effect.sql)
-- read the same series.
CREATE VIEW metric_series AS
SELECT grp, quarter, quarter_start, 'lead_time_p50' AS metric, lead_time_p50 AS value, -1 AS direction FROM quarterly_metrics
UNION ALL SELECT grp, quarter, quarter_start, 'change_failure_rate', change_failure_rate, -1 FROM quarterly_metrics
UNION ALL SELECT grp, quarter, quarter_start, 'deployments_per_day', per_day, 1 FROM quarterly_metrics
UNION ALL SELECT grp, quarter, quarter_start, 'recovery_p50', recovery_p50, -1 FROM quarterly_metrics
UNION ALL SELECT grp, quarter, quarter_start, 'time_to_restore_p50', time_to_restore_p50, -1 FROM quarterly_metrics
UNION ALL SELECT grp, quarter, quarter_start, 'nps', nps, 1 FROM quarterly_metrics;

CREATE VIEW jcurve_series AS
WITH long AS (SELECT * FROM metric_series),
indexed AS (
    SELECT l.grp, l.quarter, l.metric, l.value, l.direction,
           CAST((date_part('year', l.quarter_start) * 4 + date_part('quarter', l.quarter_start))
              - (date_part('year', o.q0) * 4 + date_part('quarter', o.q0)) AS BIGINT) AS rel
    FROM long l JOIN group_onboarding o ON o.grp = l.grp
),
baseline AS (
    SELECT grp, metric,
           CASE WHEN count(value) = 2 THEN avg(value) END AS baseline
    FROM indexed WHERE rel IN (-2, -1)
    GROUP BY grp, metric
)
SELECT i.grp, i.metric, i.quarter, i.rel, i.value, b.baseline,
       CASE WHEN i.rel > 0 THEN (i.value - b.baseline) * i.direction < 0 END AS worse,
       CASE WHEN i.rel > 0 THEN (i.value - b.baseline) * i.direction > 0 END AS better
FROM indexed i
LEFT JOIN baseline b ON b.grp = i.grp AND b.metric = i.metric;

-- Per group and metric: the baseline, the first dip after q0 and the first recovery after it.
CREATE VIEW jcurve AS
WITH dip AS (
    SELECT grp, metric, min(baseline) AS baseline, min(CASE WHEN worse THEN rel END) AS dip_rel
    FROM jcurve_series GROUP BY grp, metric
)
SELECT d.grp, d.metric, d.baseline, d.dip_rel,
       min(CASE WHEN s.better AND s.rel > d.dip_rel THEN s.rel END) AS recovery_rel
FROM dip d
LEFT JOIN jcurve_series s ON s.grp = d.grp AND s.metric = d.metric
GROUP BY d.grp, d.metric, d.baseline, d.dip_rel;

-- Each quarter's median group (the median team, or service), for comparing one group with its
-- peers like for like on its page. The organisation's own numbers pool every group: its
-- deployments per day are the sum of all teams', on another scale than any one team's.
-- `groups` counts the groups with a row in the quarter; each median is over those with a value.
CREATE VIEW median_group AS
SELECT quarter, quarter_start, count(*) AS groups,
       median(per_day) AS per_day,
       median(lead_time_p50) AS lead_time_p50,
       median(change_failure_rate) AS change_failure_rate,
       median(recovery_p50) AS recovery_p50,
       median(rework_rate) AS rework_rate
FROM quarterly_metrics
GROUP BY quarter, quarter_start;
