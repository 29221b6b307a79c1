-- Change lead time.
--
-- metrics.md, "DORA metrics": lead_time_hours: for every change whose `deployment_id` is in D,
-- deployment.finished_at - change.committed_at in hours; values <= 0 are left out. p50 and p90
-- are continuous percentiles (linear interpolation, as SQL percentile_cont) over all such
-- changes pooled (not a median of daily medians); n is their count.
-- A change takes its service's team (metrics.md, "Window and groups"): service_group.
-- Bands (dora-2023, dora_bands): p50 < 24 h elite, < 168 h high, < 720 h medium, otherwise low.
--
-- metrics.md, "DORA metrics": lead_time_stages: every change counted in lead time is split at
-- its points committed_at <= pr_opened_at <= first_review_at <= merged_at <= finished_at (the
-- deployment's). A missing point takes the previous point's value (its stage is 0: a change
-- pushed without a PR spends all its lead time in deploy); each point is then held between the
-- previous point and finished_at (min(max(p, previous), finished_at)), so the four stages coding
-- (commit to PR opened), pickup (to first review), review (to merge) and deploy (to the
-- deployment's finish) are never negative and add up to the change's lead time exactly. Per
-- stage: mean and p50 hours over the same changes as lead_time_hours, and share = stage mean /
-- lead time mean (the shares add up to 1). with_pr counts those changes with a pr_opened_at,
-- reviewed those with a first_review_at.

-- Every change a production deployment shipped, all time, with its lead time taken apart by
-- stage: the window-independent part of lead time, which the lake also keeps as a derived fact
-- (docs/facts.md).
CREATE VIEW deployed_change AS
WITH points AS (
    SELECT c.repo, c.sha, c.service, c.committed_at, c.pr_opened_at, c.first_review_at, c.merged_at,
           pd.id AS deployment_id, pd.finished_at AS deployed_at,
           COALESCE(c.pr_opened_at, c.committed_at) AS opened,
           COALESCE(c.first_review_at, c.pr_opened_at, c.committed_at) AS reviewed,
           COALESCE(c.merged_at, c.first_review_at, c.pr_opened_at, c.committed_at) AS merged
    FROM production_deployment pd
    JOIN changes c ON c.deployment_id = pd.id
),
held AS (
    SELECT p.*, least(greatest(p.opened, p.committed_at), p.deployed_at) AS at_opened
    FROM points p
),
held2 AS (
    SELECT h.*, least(greatest(h.reviewed, h.at_opened), h.deployed_at) AS at_reviewed
    FROM held h
),
held3 AS (
    SELECT h.*, least(greatest(h.merged, h.at_reviewed), h.deployed_at) AS at_merged
    FROM held2 h
)
SELECT repo, sha, service, committed_at, pr_opened_at, first_review_at, merged_at,
       deployment_id, deployed_at,
       (date_part('epoch', deployed_at) - date_part('epoch', committed_at)) / 3600.0 AS hours,
       (date_part('epoch', at_opened) - date_part('epoch', committed_at)) / 3600.0 AS coding_hours,
       (date_part('epoch', at_reviewed) - date_part('epoch', at_opened)) / 3600.0 AS pickup_hours,
       (date_part('epoch', at_merged) - date_part('epoch', at_reviewed)) / 3600.0 AS review_hours,
       (date_part('epoch', deployed_at) - date_part('epoch', at_merged)) / 3600.0 AS deploy_hours
FROM held3;

-- Every change behind the number, with its lead time taken apart by stage, for auditing a
-- disputed lead time: the changes of deployed_change whose deployment is in D of a period.
CREATE VIEW lead_time_change AS
SELECT {{period_of(dc.deployed_at)}} AS period, sg.grp,
       dc.repo, dc.sha, dc.service, dc.committed_at, dc.pr_opened_at, dc.first_review_at, dc.merged_at,
       dc.deployment_id, dc.deployed_at,
       dc.hours, dc.coding_hours, dc.pickup_hours, dc.review_hours, dc.deploy_hours
FROM deployed_change dc
JOIN service_group sg ON sg.service = dc.service
WHERE dc.deployed_at >= {{window_from}} AND dc.deployed_at < {{window_to}};

-- Lead time per group and period, in one pass over the changes of lead_time_change with
-- hours > 0 (what lead_time and lead_time_stages count): n, p50 and p90 of the lead time; each
-- stage's p50 and its sum of whole microseconds; with_pr and reviewed.
-- The sums are of whole microseconds, exact in any order: a float sum would depend on the order
-- the rows are added in, and a cluster adds them in another order than one process. Each stage's
-- microseconds are summed as whole seconds and the microseconds left over, two BIGINT sums that
-- cannot overflow below 5 billion changes in a group even of 50-year lead times, then put
-- together once per group as a DECIMAL
-- (an exact sum of DECIMALs row by row costs several times more); the total is the sum of the
-- four stages' sums, which is exactly the sum of each change's total.
CREATE VIEW lead_time_summary AS
WITH us AS (
    SELECT period, grp, hours, pr_opened_at, first_review_at,
           coding_hours, pickup_hours, review_hours, deploy_hours,
           CAST(round(coding_hours * 3600000000.0) AS BIGINT) AS coding_us,
           CAST(round(pickup_hours * 3600000000.0) AS BIGINT) AS pickup_us,
           CAST(round(review_hours * 3600000000.0) AS BIGINT) AS review_us,
           CAST(round(deploy_hours * 3600000000.0) AS BIGINT) AS deploy_us
    FROM lead_time_change
    WHERE hours > 0
),
summed AS (
    SELECT period, grp, count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90,
           sum(coding_us / 1000000) AS coding_s, sum(coding_us % 1000000) AS coding_rest,
           sum(pickup_us / 1000000) AS pickup_s, sum(pickup_us % 1000000) AS pickup_rest,
           sum(review_us / 1000000) AS review_s, sum(review_us % 1000000) AS review_rest,
           sum(deploy_us / 1000000) AS deploy_s, sum(deploy_us % 1000000) AS deploy_rest,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY coding_hours) AS coding_p50,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY pickup_hours) AS pickup_p50,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY review_hours) AS review_p50,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY deploy_hours) AS deploy_p50,
           count(pr_opened_at) AS with_pr,
           count(first_review_at) AS reviewed
    FROM us
    GROUP BY period, grp
),
exact AS (
    SELECT s.*,
           CAST(coding_s AS DECIMAL(38, 0)) * 1000000 + coding_rest AS coding_total,
           CAST(pickup_s AS DECIMAL(38, 0)) * 1000000 + pickup_rest AS pickup_total,
           CAST(review_s AS DECIMAL(38, 0)) * 1000000 + review_rest AS review_total,
           CAST(deploy_s AS DECIMAL(38, 0)) * 1000000 + deploy_rest AS deploy_total
    FROM summed s
)
SELECT period, grp, n, p50, p90,
       CAST(coding_total AS DOUBLE) AS coding_us, CAST(pickup_total AS DOUBLE) AS pickup_us,
       CAST(review_total AS DOUBLE) AS review_us, CAST(deploy_total AS DOUBLE) AS deploy_us,
       CAST(coding_total + pickup_total + review_total + deploy_total AS DOUBLE) AS total_us,
       coding_p50, pickup_p50, review_p50, deploy_p50, with_pr, reviewed
FROM exact;

-- Lead time per group and period: p50, p90, n and band, over lead_time_change.
CREATE VIEW lead_time AS
SELECT v.period, v.grp, v.p50, v.p90, v.n,
       CASE WHEN v.p50 < t.lead_time_elite THEN 'elite'
            WHEN v.p50 < t.lead_time_high THEN 'high'
            WHEN v.p50 < t.lead_time_medium THEN 'medium'
            ELSE 'low' END AS band
FROM lead_time_summary v CROSS JOIN band_threshold t;

-- Lead time taken apart by stage per group and period: each stage's mean and p50 hours and its
-- share of the mean lead time, over the changes lead_time counts; with_pr and reviewed.
-- Means and shares are the exact sums of lead_time_summary, divided once.
CREATE VIEW lead_time_stages AS
SELECT period, grp, n,
       coding_us / n / 3600000000.0 AS coding_mean, coding_p50, coding_us / total_us AS coding_share,
       pickup_us / n / 3600000000.0 AS pickup_mean, pickup_p50, pickup_us / total_us AS pickup_share,
       review_us / n / 3600000000.0 AS review_mean, review_p50, review_us / total_us AS review_share,
       deploy_us / n / 3600000000.0 AS deploy_mean, deploy_p50, deploy_us / total_us AS deploy_share,
       with_pr, reviewed
FROM lead_time_summary;
