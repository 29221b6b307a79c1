-- Change lead time.
--
-- metrics.md, "DORA metrics": lead_time_hours: for every change whose `deployment_id` is in D,
-- deployment.finished_at - change.committed_at in hours; values <= 0 are left out. p50 and p90
-- are continuous percentiles (linear interpolation, as SQL percentile_cont) over all such
-- changes pooled (not a median of daily medians); n is their count.
-- A change takes its service's team (metrics.md, "Window and groups"): service_group.
-- Bands (dora-2023, dora_bands): p50 < 24 h elite, < 168 h high, < 720 h medium, otherwise low.

-- Every change behind the number, for auditing a disputed lead time.
CREATE VIEW lead_time_change AS
SELECT wd.period, sg.grp,
       c.repo, c.sha, c.service, c.committed_at,
       wd.id AS deployment_id, wd.finished_at AS deployed_at,
       (date_part('epoch', wd.finished_at) - date_part('epoch', c.committed_at)) / 3600.0 AS hours
FROM window_deployment wd
JOIN changes c ON c.deployment_id = wd.id
JOIN service_group sg ON sg.service = c.service;

-- Lead time per group and period: p50, p90, n and band, over lead_time_change.
CREATE VIEW lead_time AS
WITH v AS (
    SELECT period, grp,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90,
           count(*) AS n
    FROM lead_time_change
    WHERE hours > 0
    GROUP BY period, grp
)
SELECT v.period, v.grp, v.p50, v.p90, v.n,
       CASE WHEN v.p50 < t.lead_time_elite THEN 'elite'
            WHEN v.p50 < t.lead_time_high THEN 'high'
            WHEN v.p50 < t.lead_time_medium THEN 'medium'
            ELSE 'low' END AS band
FROM v CROSS JOIN band_threshold t;
