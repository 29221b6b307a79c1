-- The effect of onboarding: an event study.
--
-- metrics.md, "Effect of onboarding": the J-curve compares a group with its own past, so an
-- organisation that improves everywhere makes every move onto the platform look good. This
-- compares each onboarded group with the groups NOT YET onboarded over the same quarters
-- (Callaway and Sant'Anna's group-time effects, no covariates).
--   Units: the groups of the grouping, each with its quarterly series Y[i,t] of a metric (the
--   values of `devex trends`; a null is missing). Cohort G[i]: the group's onboarding quarter
--   q0 (as the J-curve); never onboarded: G = infinity (NULL here).
--   For every cohort g and quarter t of the span, with base quarter b = g - 1 in the span and
--   t <> b: treated T(g,t) = units with G = g and both Y[i,t] and Y[i,b]; controls C(g,t) =
--   units with G <> g and G > max(t, b) (never-onboarded included), with both values;
--   ATT(g,t) = mean over T of (Y[i,t] - Y[i,b]) - mean over C of (Y[j,t] - Y[j,b]), defined
--   when T and C each hold a unit.
--   Event time e = t - g. estimate(e) = the mean of the defined ATT(g, g+e) weighted by
--   |T(g, g+e)|; treated(e) is that weight's sum, cohorts(e) the number of cohorts in it.
--   Interval: a group bootstrap; low/high are the percentiles of the replicates that define
--   estimate(e), given only when at least 90 % of the replicates define it.
--   Pre-trends: e <= -2 are placebo estimates; an interval of one that excludes 0 flags the
--   metric (`pre_trends_differ`).
--
-- Reads `metric_series` and `group_onboarding` (07_jcurve.sql), `calendar_quarter` (the span's
-- quarters) and `effect_replicate` (replicate, grp, draws): the replicate weights devex
-- registers from its seed. Replicate 0 draws every group once: it is the estimate itself.
-- Replicates 1..B each draw as many groups as there are, with replacement, from all groups;
-- `draws` is how many times a group was drawn (a group drawn twice counts twice, and weighs
-- twice in every mean and in treated(e)). The interval holds {{effect_level}} of the
-- replicates: from the {{effect_low}} to the {{effect_high}} percentile.

-- Quarters as numbers (year * 4 + quarter), so that b = g - 1 and e = t - g are arithmetic.
CREATE VIEW effect_quarter AS
SELECT DISTINCT CAST(date_part('year', quarter_start) * 4 + date_part('quarter', quarter_start) AS BIGINT) AS t
FROM calendar_quarter;

-- Each group's series by quarter number, with its cohort g (NULL: never onboarded).
CREATE VIEW effect_panel AS
SELECT s.grp, s.metric, s.direction,
       CAST(date_part('year', s.quarter_start) * 4 + date_part('quarter', s.quarter_start) AS BIGINT) AS t,
       s.value,
       CAST(date_part('year', o.q0) * 4 + date_part('quarter', o.q0) AS BIGINT) AS g
FROM metric_series s
LEFT JOIN group_onboarding o ON o.grp = s.grp;

-- The cohorts whose base quarter g - 1 is in the span.
CREATE VIEW effect_cohort AS
SELECT DISTINCT p.g FROM effect_panel p JOIN effect_quarter q ON q.t = p.g - 1;

-- Every unit's change of a metric from a cohort's base quarter b = g - 1 to a quarter t <> b
-- of the span, for the units treated (G = g) or control (G > max(t, b), or never onboarded)
-- in cell (g, t), where both values exist.
CREATE VIEW effect_change AS
SELECT c.g, q.t, y.metric, y.grp, COALESCE(y.g = c.g, false) AS treated, y.value - base.value AS change
FROM effect_cohort c
JOIN effect_quarter q ON q.t <> c.g - 1
JOIN effect_panel y ON y.t = q.t
JOIN effect_panel base ON base.grp = y.grp AND base.metric = y.metric AND base.t = c.g - 1
WHERE y.value IS NOT NULL AND base.value IS NOT NULL
  AND (y.g = c.g OR y.g IS NULL OR y.g > greatest(q.t, c.g - 1));

-- ATT(g,t) per replicate (replicate 0: the estimate), where both sides hold a unit; `treated`
-- is |T(g,t)| counted with the replicate's draws.
CREATE VIEW effect_cells AS
WITH side AS (
    SELECT w.replicate, c.metric, c.g, c.t, c.treated,
           CAST(sum(w.draws) AS DOUBLE) AS n, sum(CAST(w.draws AS DOUBLE) * c.change) AS total
    FROM effect_change c
    JOIN effect_replicate w ON w.grp = c.grp
    WHERE w.draws > 0
    GROUP BY w.replicate, c.metric, c.g, c.t, c.treated
)
SELECT tr.replicate, tr.metric, tr.g, tr.t, tr.t - tr.g AS e,
       tr.total / tr.n - co.total / co.n AS att,
       tr.n AS treated
FROM side tr
JOIN side co ON co.replicate = tr.replicate AND co.metric = tr.metric AND co.g = tr.g AND co.t = tr.t
WHERE tr.treated AND NOT co.treated;

-- estimate(e) per replicate: the cells' ATT weighted by their treated units.
CREATE VIEW effect_by_replicate AS
SELECT replicate, metric, e,
       sum(att * treated) / sum(treated) AS estimate,
       sum(treated) AS treated,
       count(*) AS cohorts
FROM effect_cells
GROUP BY replicate, metric, e;

-- Each metric's event times: the estimate, its interval (NULL when fewer than 90 % of the
-- replicates define it, or there are none), the treated units and their cohorts. Values are
-- rounded to 9 decimals: a sum of floats over parallel partitions can differ in its last bit
-- from run to run, and the same seed must give the same numbers.
CREATE VIEW onboarding_effect AS
WITH point AS (
    SELECT metric, e, estimate, treated, cohorts FROM effect_by_replicate WHERE replicate = 0
),
boot AS (
    SELECT metric, e, count(*) AS defined,
           percentile_cont({{effect_low}}) WITHIN GROUP (ORDER BY estimate) AS low,
           percentile_cont({{effect_high}}) WITHIN GROUP (ORDER BY estimate) AS high
    FROM effect_by_replicate
    WHERE replicate > 0
    GROUP BY metric, e
),
replicates AS (
    SELECT count(DISTINCT replicate) AS b FROM effect_replicate WHERE replicate > 0
),
directions AS (
    SELECT DISTINCT metric, direction FROM metric_series
)
SELECT p.metric, d.direction, p.e, round(p.estimate, 9) AS estimate,
       CASE WHEN r.b > 0 AND bt.defined >= 0.9 * r.b THEN round(bt.low, 9) END AS low,
       CASE WHEN r.b > 0 AND bt.defined >= 0.9 * r.b THEN round(bt.high, 9) END AS high,
       CAST(p.treated AS BIGINT) AS treated,
       p.cohorts
FROM point p
CROSS JOIN replicates r
JOIN directions d ON d.metric = p.metric
LEFT JOIN boot bt ON bt.metric = p.metric AND bt.e = p.e;

-- Per metric: whether a placebo estimate (e <= -2) has an interval that excludes 0.
CREATE VIEW onboarding_pretrend AS
SELECT metric, COALESCE(bool_or(e <= -2 AND (low > 0 OR high < 0)), false) AS pre_trends_differ
FROM onboarding_effect
GROUP BY metric;
