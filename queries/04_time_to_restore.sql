-- Time to restore service and data coverage.
--
-- metrics.md, "DORA metrics":
--   time_to_restore_hours: incidents with created_at in the window and a resolved_at:
--   resolved_at - created_at, p50, n.
--   coverage: share of changes committed in the window that have a deployment_id, and share of
--   incidents created in the window that are linked to a deployment (by any of the failure
--   rules 1-3, see 03_change_failure.sql). Shown beside the metrics, so a number built on thin
--   data says so.
-- An incident or change takes its service's team (metrics.md, "Window and groups"): service_group.

-- The incidents created in each period, with their group.
CREATE VIEW window_incident AS
SELECT {{period_of(i.created_at)}} AS period, sg.grp,
       i.*,
       l.incident_id IS NOT NULL AS linked
FROM incidents i
JOIN service_group sg ON sg.service = i.service
LEFT JOIN (SELECT DISTINCT incident_source, incident_id FROM incident_link) l
       ON l.incident_source = i.source AND l.incident_id = i.id
WHERE i.created_at >= {{window_from}} AND i.created_at < {{window_to}};

-- Time to restore service per group and period: p50 and n of resolved incidents.
CREATE VIEW time_to_restore AS
SELECT period, grp,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (date_part('epoch', resolved_at) - date_part('epoch', created_at)) / 3600.0) AS p50,
       count(*) AS n
FROM window_incident
WHERE resolved_at IS NOT NULL
GROUP BY period, grp;

-- The changes committed in each period, with their group.
CREATE VIEW window_change AS
SELECT {{period_of(c.committed_at)}} AS period, sg.grp,
       c.*
FROM changes c
JOIN service_group sg ON sg.service = c.service
WHERE c.committed_at >= {{window_from}} AND c.committed_at < {{window_to}};

-- Data coverage per group and period: changes mapped to deployments (the changes of
-- window_change, read from their narrow part change_commit), incidents linked.
CREATE VIEW coverage AS
SELECT p.period, g.grp,
       ch.changes_deployed,
       inc.incidents_linked
FROM metric_group g
CROSS JOIN metric_period p
LEFT JOIN (SELECT period, grp, avg(CASE WHEN mapped THEN 1.0 ELSE 0.0 END) AS changes_deployed
           FROM (SELECT {{period_of(c.committed_at)}} AS period, sg.grp, c.mapped
                 FROM change_commit c
                 JOIN service_group sg ON sg.service = c.service
                 WHERE c.committed_at >= {{window_from}} AND c.committed_at < {{window_to}}) wc
           GROUP BY period, grp) ch ON ch.period = p.period AND ch.grp = g.grp
LEFT JOIN (SELECT period, grp, avg(CASE WHEN linked THEN 1.0 ELSE 0.0 END) AS incidents_linked
           FROM window_incident GROUP BY period, grp) inc ON inc.period = p.period AND inc.grp = g.grp;
