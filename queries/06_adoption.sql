-- Platform adoption and retention, per quarter of the window.
--
-- metrics.md, "Developer experience":
--   adoption at time t: services with onboarded_at <= t (or a net onboarded event) / services
--   in the catalog; per team and organisation; per quarter (t = the quarter's end).
--   retention: of the teams with a `used` event in quarter Q, the share with one in Q+1.
-- "Net onboarded event": the service's onboarded events, of any capability, outnumber its
-- offboarded events up to t. Retention is only given for quarters whose next quarter has begun
-- within the window. Both are per period (see 01_deployments.sql), over its calendar_quarter.

-- Adoption per group and quarter: catalog services onboarded, and their share.
CREATE VIEW adoption AS
WITH service_quarter AS (
    SELECT q.period, s.service, s.team, s.onboarded_at, q.quarter_start,
           CAST(q.quarter_start + INTERVAL '3 months' AS DATE) AS quarter_end
    FROM services s CROSS JOIN calendar_quarter q
),
net_events AS (
    SELECT sq.period, sq.service, sq.quarter_start,
           sum(CASE e.event WHEN 'onboarded' THEN 1 WHEN 'offboarded' THEN -1 ELSE 0 END) AS net
    FROM service_quarter sq
    JOIN adoption_events e ON e.service = sq.service
    WHERE CAST(to_local_time(e.at AT TIME ZONE '{{timezone}}') AS DATE) < sq.quarter_end
    GROUP BY sq.period, sq.service, sq.quarter_start
),
status AS (
    SELECT sq.period,
           CASE {{group_by}} WHEN 'team' THEN sq.team WHEN 'service' THEN sq.service ELSE '' END AS grp,
           sq.quarter_start,
           (sq.onboarded_at IS NOT NULL
             AND CAST(to_local_time(sq.onboarded_at AT TIME ZONE '{{timezone}}') AS DATE) < sq.quarter_end)
           OR COALESCE(ne.net, 0) > 0 AS onboarded
    FROM service_quarter sq
    LEFT JOIN net_events ne
           ON ne.period = sq.period AND ne.service = sq.service AND ne.quarter_start = sq.quarter_start
)
SELECT period, grp, quarter_start,
       count(*) AS services,
       sum(CASE WHEN onboarded THEN 1 ELSE 0 END) AS onboarded,
       avg(CASE WHEN onboarded THEN 1.0 ELSE 0.0 END) AS share
FROM status
GROUP BY period, grp, quarter_start;

-- Team retention per quarter: teams using the platform that used it again the next quarter.
CREATE VIEW retention AS
WITH used AS (
    SELECT DISTINCT team, CAST(date_trunc('quarter', to_local_time(at AT TIME ZONE '{{timezone}}')) AS DATE) AS quarter_start
    FROM adoption_events WHERE event = 'used'
)
SELECT q.period,
       CASE {{group_by}} WHEN 'team' THEN u.team WHEN 'service' THEN CAST(NULL AS VARCHAR) ELSE '' END AS grp,
       u.quarter_start,
       count(*) AS teams,
       sum(CASE WHEN nxt.team IS NOT NULL THEN 1 ELSE 0 END) AS retained,
       avg(CASE WHEN nxt.team IS NOT NULL THEN 1.0 ELSE 0.0 END) AS share
FROM used u
JOIN calendar_quarter q ON q.quarter_start = u.quarter_start
JOIN window_calendar cal ON cal.period = q.period
LEFT JOIN used nxt ON nxt.team = u.team AND nxt.quarter_start = CAST(u.quarter_start + INTERVAL '3 months' AS DATE)
WHERE CAST(u.quarter_start + INTERVAL '3 months' AS DATE) <= cal.last_day
  AND {{group_by}} <> 'service'
GROUP BY q.period, 2, u.quarter_start;
