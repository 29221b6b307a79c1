-- NPS and DevEx dimension scores.
--
-- metrics.md, "Developer experience":
--   nps per group, over survey responses submitted in the window with a non-null nps:
--   promoters score 9-10, detractors 0-6; value = 100 * (promoters - detractors) / n.
--   When n < min_group_size the value is withheld (null, suppressed: true), in every output.
--   DevEx dimension scores: mean of the items mapped to the dimension, rescaled to 0-100 as
--   100 * (v - 1) / (scale_max - 1); same suppression.
-- Surveys are answered per team: grouped by service, there is no survey number.
-- When suppressed, the promoter and detractor counts are withheld too: with n they would
-- give the value away.
--
-- No differencing (complementary suppression). The organisation's number is always one
-- `devex metrics` away from the teams' numbers, so withholding a small team alone is not
-- enough: the organisation's total minus the teams shown would give the small team's
-- answers back. Rule: within each set of groups that add up to a total (the teams of one
-- window, wave or dimension), the respondents in withheld groups must be 0 or at least
-- min_group_size. When they are not, the smallest group still shown (then by name) is
-- withheld too; its own n is at least min_group_size, so one more always suffices.
-- `suppressed_reason` says which rule withheld a group: `min_group_size` or `complementary`.

CREATE VIEW window_response AS
SELECT {{period_of(r.submitted_at)}} AS period,
       CASE {{group_by}} WHEN 'team' THEN COALESCE(r.team, '(no team)')
                       WHEN 'service' THEN CAST(NULL AS VARCHAR) ELSE '' END AS grp,
       r.*
FROM survey_responses r
WHERE r.submitted_at >= {{window_from}} AND r.submitted_at < {{window_to}};

-- One row per published survey number before withholding: NPS counts per period and group,
-- over the window (`survey` null) and per wave; DevEx scores per period, group and dimension,
-- over the window and per wave. Each answer is rescaled to 0-100 on its question's scale, then averaged per
-- dimension (the same as rescaling the mean when a dimension's items share a scale).
CREATE VIEW survey_cell AS
SELECT 'nps' AS measure, r.period, r.grp, r.survey, CAST(NULL AS VARCHAR) AS dimension,
       count(*) AS n,
       sum(CASE WHEN r.nps >= 9 THEN 1 ELSE 0 END) AS promoters,
       sum(CASE WHEN r.nps BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS passives,
       sum(CASE WHEN r.nps <= 6 THEN 1 ELSE 0 END) AS detractors,
       CAST(NULL AS DOUBLE) AS score
FROM window_response r
WHERE r.nps IS NOT NULL AND r.grp IS NOT NULL
GROUP BY GROUPING SETS ((r.period, r.grp), (r.period, r.grp, r.survey))
UNION ALL
SELECT 'devex', r.period, r.grp, r.survey, q.dimension,
       count(DISTINCT r.id),
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
       avg(100.0 * (a.score - 1) / (q.scale_max - 1))
FROM window_response r
JOIN survey_answers a ON a.source = r.source AND a.response_id = r.id
JOIN survey_questions q ON q.question = a.question
WHERE a.score IS NOT NULL AND r.grp IS NOT NULL
GROUP BY GROUPING SETS ((r.period, r.grp, q.dimension), (r.period, r.grp, r.survey, q.dimension));

-- The withholding rule, once for every survey number (see the header).
CREATE VIEW survey_withheld AS
WITH sized AS (
    SELECT c.*,
           c.n < {{min_group_size}} AS small,
           sum(CASE WHEN c.n < {{min_group_size}} THEN c.n ELSE 0 END)
               OVER (PARTITION BY c.period, c.measure, c.survey, c.dimension) AS withheld_n,
           row_number() OVER (PARTITION BY c.period, c.measure, c.survey, c.dimension, c.n < {{min_group_size}}
                              ORDER BY c.n, c.grp) AS size_rank
    FROM survey_cell c
)
SELECT measure, period, grp, survey, dimension, n, promoters, passives, detractors, score,
       CASE WHEN small THEN 'min_group_size'
            WHEN withheld_n > 0 AND withheld_n < {{min_group_size}} AND size_rank = 1 THEN 'complementary'
       END AS suppressed_reason
FROM sized;

CREATE VIEW nps AS
SELECT period, grp, n,
       CASE WHEN suppressed_reason IS NULL THEN promoters END AS promoters,
       CASE WHEN suppressed_reason IS NULL THEN detractors END AS detractors,
       CASE WHEN suppressed_reason IS NULL THEN 100.0 * (promoters - detractors) / n END AS value,
       suppressed_reason IS NOT NULL AS suppressed,
       suppressed_reason
FROM survey_withheld
WHERE measure = 'nps' AND survey IS NULL;

CREATE VIEW devex_scores AS
SELECT period, grp, dimension, n,
       CASE WHEN suppressed_reason IS NULL THEN score END AS value,
       suppressed_reason IS NOT NULL AS suppressed,
       suppressed_reason
FROM survey_withheld
WHERE measure = 'devex' AND survey IS NULL;

-- Per survey wave (the `survey` column), for the scorecard's wave chart: promoters (9-10),
-- passives (7-8), detractors (0-6) and NPS; withheld like every survey number.
CREATE VIEW nps_by_wave AS
SELECT period, grp, survey, n,
       CASE WHEN suppressed_reason IS NULL THEN promoters END AS promoters,
       CASE WHEN suppressed_reason IS NULL THEN passives END AS passives,
       CASE WHEN suppressed_reason IS NULL THEN detractors END AS detractors,
       CASE WHEN suppressed_reason IS NULL THEN 100.0 * (promoters - detractors) / n END AS value,
       suppressed_reason IS NOT NULL AS suppressed,
       suppressed_reason
FROM survey_withheld
WHERE measure = 'nps' AND survey IS NOT NULL;

-- DevEx dimension scores per survey wave (same rescaling and withholding as devex_scores).
CREATE VIEW devex_scores_by_wave AS
SELECT period, grp, survey, dimension, n,
       CASE WHEN suppressed_reason IS NULL THEN score END AS value,
       suppressed_reason IS NOT NULL AS suppressed,
       suppressed_reason
FROM survey_withheld
WHERE measure = 'devex' AND survey IS NOT NULL;
