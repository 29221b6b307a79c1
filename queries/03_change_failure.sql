-- Change failure rate, failed-deployment recovery time and rework rate.
--
-- metrics.md, "DORA metrics": a deployment d in D has failed when any of these holds:
--   1. an incident has caused_by_deployment = d.id;
--   2. an incident has root_cause_sha equal to d.commit_sha or to the sha of a change with
--      deployment_id = d.id;
--   3. an incident with neither link, of the same service, was created at most
--      attribution_window_hours after d.finished_at, and d is the latest production deployment
--      of that service finished at or before the incident's created_at;
--   4. the next production deployment of the same service (by finished_at) has kind rollback
--      or hotfix.
-- change_failure_rate = failed / |D| (null when |D| = 0).
-- recovery_time_hours: for each failed d, recovered at the earlier of (a) the finished_at of the
-- rollback or hotfix that followed it and (b) the latest resolved_at of the incidents linked to
-- it, if all are resolved. Hours from d.finished_at; p50 over failed deployments that
-- recovered, n their count, open those not yet recovered.
-- rework_rate = deployments in D with kind in (rollback, hotfix) / |D|.
-- Bands (dora-2023, dora_bands): failure rate <= 5 % elite, <= 10 % high, <= 15 % medium, otherwise low;
-- recovery p50 < 1 h elite, < 24 h high, < 168 h medium, otherwise low.

-- Rule 3 without a quadratic join: one ordered stream per service of production deployments
-- and unlinked incidents. A running max of the deployment sequence number gives, at each
-- incident, the latest deployment finished at or before it (deployments sort first on ties).
CREATE VIEW incident_window_link AS
WITH stream AS (
    SELECT service, finished_at AS t, 0 AS ord, seq,
           CAST(NULL AS VARCHAR) AS incident_source, CAST(NULL AS VARCHAR) AS incident_id
    FROM production_deployment
    UNION ALL
    SELECT service, created_at AS t, 1 AS ord, CAST(NULL AS BIGINT) AS seq, source, id
    FROM incidents
    WHERE caused_by_deployment IS NULL AND root_cause_sha IS NULL
),
latest AS (
    SELECT service, t, ord, incident_source, incident_id,
           max(seq) OVER (PARTITION BY service ORDER BY t, ord, seq
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS latest_seq
    FROM stream
)
SELECT l.incident_source, l.incident_id, pd.source AS deployment_source, pd.id AS deployment_id,
       'window' AS rule
FROM latest l
JOIN production_deployment pd ON pd.service = l.service AND pd.seq = l.latest_seq
WHERE l.ord = 1
  AND date_part('epoch', l.t) - date_part('epoch', pd.finished_at) <= {{attribution_window_hours}} * 3600.0;

-- Every (incident, production deployment) link, by rules 1-3.
CREATE VIEW incident_link AS
SELECT DISTINCT incident_source, incident_id, deployment_source, deployment_id, rule FROM (
    SELECT i.source AS incident_source, i.id AS incident_id, pd.source AS deployment_source,
           pd.id AS deployment_id, 'caused_by_deployment' AS rule
    FROM incidents i JOIN production_deployment pd ON pd.id = i.caused_by_deployment
    UNION ALL
    SELECT i.source, i.id, pd.source, pd.id, 'root_cause_sha'
    FROM incidents i JOIN production_deployment pd ON pd.commit_sha = i.root_cause_sha
    UNION ALL
    SELECT i.source, i.id, pd.source, pd.id, 'root_cause_sha'
    FROM incidents i
    JOIN changes c ON c.sha = i.root_cause_sha
    JOIN production_deployment pd ON pd.id = c.deployment_id
    UNION ALL
    SELECT incident_source, incident_id, deployment_source, deployment_id, rule FROM incident_window_link
) links;

-- Each deployment in D: failed or not, by which rules (one column each, named as in
-- `devex explain change_failure_rate`), the incidents behind them, and when it recovered and by what.
CREATE VIEW deployment_outcome AS
WITH per_incident AS (
    SELECT deployment_source, deployment_id, incident_source, incident_id,
           bool_or(rule = 'caused_by_deployment') AS caused_by_deployment,
           bool_or(rule = 'root_cause_sha') AS root_cause_sha,
           bool_or(rule = 'window') AS attributed_incident
    FROM incident_link
    GROUP BY deployment_source, deployment_id, incident_source, incident_id
),
linked AS (
    SELECT l.deployment_source, l.deployment_id,
           count(*) AS incidents, count(i.resolved_at) AS resolved, max(i.resolved_at) AS last_resolved_at,
           bool_or(l.caused_by_deployment) AS caused_by_deployment,
           bool_or(l.root_cause_sha) AS root_cause_sha,
           bool_or(l.attributed_incident) AS attributed_incident,
           array_to_string(array_sort(array_agg(l.incident_id)), ',') AS incident_ids
    FROM per_incident l
    JOIN incidents i ON i.source = l.incident_source AND i.id = l.incident_id
    GROUP BY l.deployment_source, l.deployment_id
),
outcome AS (
    SELECT wd.period, wd.grp, wd.source, wd.id, wd.service, wd.team, wd.finished_at, wd.kind,
           COALESCE(lk.incidents, 0) AS incidents,
           COALESCE(lk.caused_by_deployment, false) AS caused_by_deployment,
           COALESCE(lk.root_cause_sha, false) AS root_cause_sha,
           COALESCE(lk.attributed_incident, false) AS attributed_incident,
           COALESCE(wd.next_kind IN ('rollback', 'hotfix'), false) AS followed_by_rollback_or_hotfix,
           lk.incident_ids,
           CASE WHEN wd.next_kind IN ('rollback', 'hotfix') THEN wd.next_id END AS rollback_or_hotfix_id,
           CASE WHEN wd.next_kind IN ('rollback', 'hotfix') THEN wd.next_finished_at END AS remediated_at,
           CASE WHEN lk.incidents = lk.resolved THEN lk.last_resolved_at END AS incidents_resolved_at
    FROM window_deployment wd
    LEFT JOIN linked lk ON lk.deployment_source = wd.source AND lk.deployment_id = wd.id
)
SELECT period, grp, source, id, service, team, finished_at, kind, incidents,
       caused_by_deployment, root_cause_sha, attributed_incident, followed_by_rollback_or_hotfix,
       caused_by_deployment OR root_cause_sha OR attributed_incident OR followed_by_rollback_or_hotfix AS failed,
       incident_ids, rollback_or_hotfix_id,
       least(remediated_at, incidents_resolved_at) AS recovered_at,
       CASE WHEN remediated_at IS NOT NULL AND (incidents_resolved_at IS NULL OR remediated_at <= incidents_resolved_at)
            THEN 'rollback_or_hotfix'
            WHEN incidents_resolved_at IS NOT NULL THEN 'incidents_resolved' END AS recovered_by
FROM outcome;

-- Change failure rate per group and period: failed deployments of D, with the band.
CREATE VIEW change_failure_rate AS
WITH v AS (
    SELECT period, grp,
           count(*) AS deployments,
           sum(CASE WHEN failed THEN 1 ELSE 0 END) AS failed,
           CAST(sum(CASE WHEN failed THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS value
    FROM deployment_outcome
    GROUP BY period, grp
)
SELECT v.period, v.grp, v.deployments, v.failed, v.value,
       CASE WHEN v.value <= t.failure_elite THEN 'elite'
            WHEN v.value <= t.failure_high THEN 'high'
            WHEN v.value <= t.failure_medium THEN 'medium'
            ELSE 'low' END AS band
FROM v CROSS JOIN band_threshold t;

-- Failed-deployment recovery time per group and period: p50, n, open failures, band.
CREATE VIEW recovery_time AS
WITH v AS (
    SELECT period, grp,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS p50,
           count(hours) AS n,
           count(*) - count(hours) AS open
    FROM (SELECT period, grp, (date_part('epoch', recovered_at) - date_part('epoch', finished_at)) / 3600.0 AS hours
          FROM deployment_outcome WHERE failed) f
    GROUP BY period, grp
)
SELECT v.period, v.grp, v.p50, v.n, v.open,
       CASE WHEN v.p50 < t.recovery_elite THEN 'elite'
            WHEN v.p50 < t.recovery_high THEN 'high'
            WHEN v.p50 < t.recovery_medium THEN 'medium'
            WHEN v.p50 IS NOT NULL THEN 'low' END AS band
FROM v CROSS JOIN band_threshold t;

-- Rework rate per group and period: the share of D that are rollbacks or hotfixes.
CREATE VIEW rework_rate AS
SELECT period, grp,
       sum(CASE WHEN kind IN ('rollback', 'hotfix') THEN 1 ELSE 0 END) AS n,
       CAST(sum(CASE WHEN kind IN ('rollback', 'hotfix') THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS value
FROM window_deployment
GROUP BY period, grp;
