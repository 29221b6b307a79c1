-- Change lead time.
--
-- metrics.md, "DORA metrics": lead_time_hours: for every change whose `deployment_id` is in D,
-- deployment.finished_at - change.committed_at in hours; values <= 0 are left out. p50 and p90
-- are continuous percentiles (linear interpolation, as SQL percentile_cont) over all such
-- changes pooled (not a median of daily medians); n is their count.
-- A change takes its service's team (metrics.md, "Window and groups").
-- Bands (dora-2023): p50 < 24 h elite, < 168 h high, < 720 h medium, otherwise low.

-- Every change behind the number, for auditing a disputed lead time.
CREATE VIEW lead_time_change AS
SELECT CASE {{group_by}} WHEN 'team' THEN COALESCE(s.team, '(no team)')
                       WHEN 'service' THEN c.service ELSE '' END AS grp,
       c.repo, c.sha, c.service, c.committed_at,
       wd.id AS deployment_id, wd.finished_at AS deployed_at,
       (date_part('epoch', wd.finished_at) - date_part('epoch', c.committed_at)) / 3600.0 AS hours
FROM changes c
JOIN window_deployment wd ON wd.id = c.deployment_id
LEFT JOIN services s ON s.service = c.service;

CREATE VIEW lead_time AS
SELECT grp,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90,
       count(*) AS n,
       CASE WHEN percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) < 24 THEN 'elite'
            WHEN percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) < 168 THEN 'high'
            WHEN percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) < 720 THEN 'medium'
            ELSE 'low' END AS band
FROM lead_time_change
WHERE hours > 0
GROUP BY grp;
