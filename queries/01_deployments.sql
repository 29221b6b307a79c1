-- Deployments and deployment frequency.
--
-- metrics.md, "Window and groups": a window is half-open, [from, to). Groups: none (whole
-- organisation), team, or service. A deployment's team is its `team` column, else the catalog
-- owner of its service. A production deployment has status = success and an environment in
-- production_environments (case-insensitive). D = production deployments with finished_at in
-- the window.
--
-- metrics.md, "DORA metrics":
--   deployments = |D|.
--   deployment_frequency.per_day = |D| / days in the window.
--   deploy_days_per_week_p50: for each ISO week overlapping the window, the number of distinct
--   calendar days with at least one deployment in D; the median over those weeks.
-- Bands (dora-2023): elite if deploy_days_per_week_p50 >= 5; high if >= 1; medium if at least
-- one deploy-day a month (median over months); otherwise low.
--
-- Bands: from `dora_bands` (00_bands.sql).
--
-- Periods: one run computes the metrics of one or more windows at once (`devex metrics` one,
-- the report and `devex trends` one per quarter). `metric_period` lists them: `period` (its
-- label, e.g. 2026-Q3), `window_from` and `window_to`; they follow each other without gap or
-- overlap. Every view that depends on the window carries `period` as a key, and each window is
-- computed exactly as if it were the only one. An event within [window_from, window_to) (the
-- span of every period, below) belongs to the period `{{period_of(t)}}` names: the label of
-- the period whose window holds t.
--
-- Parameters (window_from, window_to, group_by, attribution_window_hours, min_group_size,
-- benchmarks, timezone) appear as double-brace placeholders: typed values that devex-query
-- renders as SQL literals (never text a user typed). window_from and window_to span every
-- period (they let DataFusion skip files outside it). `calendar_week`, `calendar_month` and
-- `calendar_quarter` list, per period, the ISO weeks (by their Monday), months and quarters
-- overlapping its window (by their first day) in the configured time zone, which all
-- calendars follow.

-- Every production deployment, all time (attribution needs the ones before the window too).
-- `seq` numbers a service's deployments in order (BIGINT: ROW_NUMBER's unsigned type would
-- make its union with a BIGINT in 03_change_failure.sql a decimal); `next_id`, `next_kind` and
-- `next_finished_at` are those of the service's next production deployment in that order
-- (failure rule 4, in 03_change_failure.sql), computed in the same pass.
CREATE VIEW production_deployment AS
SELECT d.source, d.id, d.service, d.finished_at, d.commit_sha, d.kind,
       COALESCE(d.team, s.team) AS team,
       CAST(ROW_NUMBER() OVER service_order AS BIGINT) AS seq,
       LEAD(d.id) OVER service_order AS next_id,
       LEAD(d.kind) OVER service_order AS next_kind,
       LEAD(d.finished_at) OVER service_order AS next_finished_at
FROM deployments d
LEFT JOIN services s ON s.service = d.service
WHERE d.status = 'success'
  AND lower(d.environment) IN (SELECT environment FROM production_environments)
WINDOW service_order AS (PARTITION BY d.service ORDER BY d.finished_at, d.source, d.id);

-- D of each period, with each deployment's group and local calendar day, ISO week (Monday) and month.
CREATE VIEW window_deployment AS
SELECT {{period_of(pd.finished_at)}} AS period, pd.*,
       {{group_of(pd.team, pd.service)}} AS grp,
       CAST(to_local_time(pd.finished_at AT TIME ZONE '{{timezone}}') AS DATE) AS local_day,
       CAST(date_trunc('week', to_local_time(pd.finished_at AT TIME ZONE '{{timezone}}')) AS DATE) AS local_week,
       CAST(date_trunc('month', to_local_time(pd.finished_at AT TIME ZONE '{{timezone}}')) AS DATE) AS local_month
FROM production_deployment pd
WHERE pd.finished_at >= {{window_from}} AND pd.finished_at < {{window_to}};

-- Each period's window in the local calendar: its first and last day, and its length in days.
CREATE VIEW window_calendar AS
SELECT period,
       CAST(to_local_time(window_from AT TIME ZONE '{{timezone}}') AS DATE) AS first_day,
       CAST(to_local_time((window_to - INTERVAL '1 microsecond') AT TIME ZONE '{{timezone}}') AS DATE) AS last_day,
       (date_part('epoch', to_local_time(window_to AT TIME ZONE '{{timezone}}'))
        - date_part('epoch', to_local_time(window_from AT TIME ZONE '{{timezone}}'))) / 86400.0 AS days
FROM metric_period;

-- Every change's service and commit time, and whether it names a deployment: the narrow part
-- of changes that the service groups (below) and data coverage (04_time_to_restore.sql) read.
-- The lake keeps it as a derived fact (docs/facts.md), so a metrics run reads three narrow
-- columns instead of scanning the changes table twice.
CREATE VIEW change_commit AS
SELECT service, committed_at, deployment_id IS NOT NULL AS mapped
FROM changes;

-- A change or an incident takes its service's team (metrics.md, "Window and groups"): the
-- group of every service the catalog, the changes or the incidents name. The one place that
-- rule is written; deployments follow their own (their `team` column, else the catalog's).
CREATE VIEW service_group AS
SELECT x.service,
       {{group_of(s.team, x.service)}} AS grp
FROM (SELECT service FROM services UNION SELECT service FROM change_commit UNION SELECT service FROM incidents) x
LEFT JOIN services s ON s.service = x.service;

-- The groups reported: every team or service the catalog, the deployments or the surveys know.
CREATE VIEW metric_group AS
SELECT DISTINCT {{group_of(x.team, x.service)}} AS grp
FROM (SELECT service, team FROM services
      UNION ALL SELECT service, team FROM production_deployment
      UNION ALL SELECT CAST(NULL AS VARCHAR) AS service, team FROM survey_responses WHERE team IS NOT NULL) x
WHERE NOT ({{group_by}} = 'service' AND x.service IS NULL)
UNION
SELECT '' AS grp WHERE {{group_by}} = 'org';

-- Distinct deploy days per ISO week and per month of each period; weeks and months without a
-- deployment count as 0. (Counted first, then padded: aggregating a count(DISTINCT) computed
-- over the padded join trips a DataFusion 55 optimizer bug that merges the two aggregations.)
CREATE VIEW deploy_days_per_week AS
WITH counted AS (
    SELECT period, grp, local_week, count(DISTINCT local_day) AS deploy_days
    FROM window_deployment GROUP BY period, grp, local_week
)
SELECT w.period, g.grp, w.week_start, COALESCE(c.deploy_days, 0) AS deploy_days
FROM metric_group g CROSS JOIN calendar_week w
LEFT JOIN counted c ON c.period = w.period AND c.grp = g.grp AND c.local_week = w.week_start;

-- Distinct deploy days per calendar month of each period and group (months without a deployment count as 0).
CREATE VIEW deploy_days_per_month AS
WITH counted AS (
    SELECT period, grp, local_month, count(DISTINCT local_day) AS deploy_days
    FROM window_deployment GROUP BY period, grp, local_month
)
SELECT m.period, g.grp, m.month_start, COALESCE(c.deploy_days, 0) AS deploy_days
FROM metric_group g CROSS JOIN calendar_month m
LEFT JOIN counted c ON c.period = m.period AND c.grp = g.grp AND c.local_month = m.month_start;

-- Deployments per group and period (in all and per day), deploy days per week and per month (p50), band.
CREATE VIEW deployment_frequency AS
WITH counts AS (SELECT period, grp, count(*) AS deployments FROM window_deployment GROUP BY period, grp),
     weekly AS (SELECT period, grp, median(CAST(deploy_days AS DOUBLE)) AS p50 FROM deploy_days_per_week GROUP BY period, grp),
     monthly AS (SELECT period, grp, median(CAST(deploy_days AS DOUBLE)) AS p50 FROM deploy_days_per_month GROUP BY period, grp)
SELECT cal.period, g.grp,
       COALESCE(c.deployments, 0) AS deployments,
       CAST(COALESCE(c.deployments, 0) AS DOUBLE) / cal.days AS per_day,
       w.p50 AS deploy_days_per_week_p50,
       m.p50 AS deploy_days_per_month_p50,
       CASE WHEN w.p50 >= t.frequency_elite THEN 'elite'
            WHEN w.p50 >= t.frequency_high THEN 'high'
            WHEN m.p50 >= t.frequency_medium THEN 'medium'
            ELSE 'low' END AS band
FROM metric_group g
CROSS JOIN window_calendar cal
CROSS JOIN band_threshold t
LEFT JOIN counts c ON c.period = cal.period AND c.grp = g.grp
LEFT JOIN weekly w ON w.period = cal.period AND w.grp = g.grp
LEFT JOIN monthly m ON m.period = cal.period AND m.grp = g.grp;
