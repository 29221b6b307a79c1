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
-- No differencing. Every published survey number is a sum of pieces: the respondents of one
-- team, one wave and one calendar quarter. Two rules keep any sum or difference of published
-- numbers from giving away a group of 1 to min_group_size - 1 respondents:
--
-- 1. Teams (complementary suppression). The organisation's number is always one `devex
--    metrics` away from the teams' numbers, so withholding a small team alone is not enough:
--    within each set of teams that add up to a total (the teams of one window, wave or
--    dimension), the respondents in withheld teams must be 0 or at least min_group_size. When
--    they are not, the smallest team still shown (then by name) is withheld too; its own n is
--    at least min_group_size, so one more always suffices (and can only raise another set's
--    withheld respondents past min_group_size, never into 1..min_group_size - 1).
-- 2. Waves. A quarter's number is the sum of its waves (a wave that straddles two quarters
--    counts in each), so the quarter's number minus its other waves gives a wave's answers
--    back, and the organisation's quarter minus its main wave, minus team b's quarter, plus
--    b's main wave gives team a's pulse back even when every wave alone is large enough. And
--    a wave that straddles two quarters is the sum of its two quarters' pieces, so when one of
--    those quarters is withheld, the wave minus the other quarter gives it back. So a wave's
--    number is withheld, for the organisation, when in a quarter the wave touches the
--    organisation's quarter is withheld (under min_group_size), or the quarter holds another
--    wave and any team's piece of 1 to min_group_size - 1 respondents; for a team, when its
--    quarter there is withheld by rule 1, or it ran another wave there and has such a piece.
--    (A wave alone in quarters that are all published adds up to what they publish already.)
--    Then every group of respondents the published numbers tell apart is a piece of at least
--    min_group_size, a whole team's quarter, or the teams withheld in a quarter together: none
--    smaller can be subtracted out.
-- `suppressed_reason` says which rule withheld a group: `min_group_size` or `complementary`
-- (either of the two rules above).

-- The survey responses submitted in each period, with their group.
CREATE VIEW window_response AS
SELECT {{period_of(r.submitted_at)}} AS period,
       {{group_of(r.team, CAST(NULL AS VARCHAR))}} AS grp,
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

-- The pieces every survey number is made of: one team, one wave and one calendar quarter of
-- a period (for DevEx, per dimension: the responses answering it).
CREATE VIEW survey_piece AS
SELECT 'nps' AS measure, r.period, COALESCE(r.team, '(no team)') AS team, r.survey,
       CAST('' AS VARCHAR) AS dimension,
       CAST(date_trunc('quarter', to_local_time(r.submitted_at AT TIME ZONE '{{timezone}}')) AS DATE) AS quarter,
       count(*) AS n
FROM window_response r
WHERE r.nps IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
UNION ALL
SELECT 'devex', r.period, COALESCE(r.team, '(no team)'), r.survey, q.dimension,
       CAST(date_trunc('quarter', to_local_time(r.submitted_at AT TIME ZONE '{{timezone}}')) AS DATE),
       count(DISTINCT r.id)
FROM window_response r
JOIN survey_answers a ON a.source = r.source AND a.response_id = r.id
JOIN survey_questions q ON q.question = a.question
WHERE a.score IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6;

-- Each team's calendar quarters as the quarterly scorecard publishes them: whether rule 1
-- withholds them there (the same rule as survey_withheld's, over the teams of one quarter),
-- whether the team has a small piece there, how many waves the team, and everyone, ran, and
-- whether the organisation's quarter is withheld (under min_group_size).
CREATE VIEW survey_team_quarter AS
WITH quarter_n AS (
    SELECT measure, period, dimension, quarter, team, sum(n) AS n,
           min(n) < {{min_group_size}} AS has_small_piece, count(*) AS waves
    FROM survey_piece
    GROUP BY measure, period, dimension, quarter, team
), sized AS (
    SELECT q.*,
           sum(CASE WHEN q.n < {{min_group_size}} THEN q.n ELSE 0 END)
               OVER (PARTITION BY q.measure, q.period, q.dimension, q.quarter) AS withheld_n,
           sum(q.n) OVER (PARTITION BY q.measure, q.period, q.dimension, q.quarter) AS all_n,
           row_number() OVER (PARTITION BY q.measure, q.period, q.dimension, q.quarter, q.n < {{min_group_size}}
                              ORDER BY q.n, q.team) AS size_rank
    FROM quarter_n q
), all_waves AS (
    SELECT measure, period, dimension, quarter, count(DISTINCT survey) AS waves
    FROM survey_piece
    GROUP BY measure, period, dimension, quarter
)
SELECT s.measure, s.period, s.dimension, s.quarter, s.team, s.has_small_piece,
       s.waves AS team_waves, w.waves AS all_waves, s.all_n < {{min_group_size}} AS all_withheld,
       s.n < {{min_group_size}}
           OR (s.withheld_n > 0 AND s.withheld_n < {{min_group_size}} AND s.size_rank = 1) AS withheld
FROM sized s
JOIN all_waves w ON w.measure = s.measure AND w.period = s.period AND w.dimension = s.dimension AND w.quarter = s.quarter;

-- The wave numbers rule 2 withholds. The organisation's (grp '') when, in a quarter the wave
-- touches, the organisation's quarter is withheld, or the quarter holds another wave and any
-- team's small piece; a team's when, in a quarter the wave touches, the team's quarter is
-- withheld, or the team ran another wave there and has a small piece.
CREATE VIEW survey_wave_withheld AS
SELECT DISTINCT c.measure, c.period, c.grp, c.survey, COALESCE(c.dimension, '') AS dimension
FROM survey_cell c
JOIN survey_piece p
  ON p.measure = c.measure AND p.period = c.period AND p.survey = c.survey
 AND p.dimension = COALESCE(c.dimension, '') AND (c.grp = '' OR p.team = c.grp)
JOIN survey_team_quarter t
  ON t.measure = c.measure AND t.period = c.period AND t.quarter = p.quarter
 AND t.dimension = COALESCE(c.dimension, '')
 AND ((c.grp = '' AND (t.all_withheld OR (t.has_small_piece AND t.all_waves > 1)))
      OR (t.team = c.grp AND (t.withheld OR (t.has_small_piece AND t.team_waves > 1))))
WHERE c.survey IS NOT NULL;

-- The withholding rules, once for every survey number (see the header).
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
SELECT s.measure, s.period, s.grp, s.survey, s.dimension, s.n, s.promoters, s.passives, s.detractors, s.score,
       CASE WHEN s.small THEN 'min_group_size'
            WHEN s.withheld_n > 0 AND s.withheld_n < {{min_group_size}} AND s.size_rank = 1 THEN 'complementary'
            WHEN w.measure IS NOT NULL THEN 'complementary'
       END AS suppressed_reason
FROM sized s
LEFT JOIN survey_wave_withheld w
  ON w.measure = s.measure AND w.period = s.period AND w.grp = s.grp AND w.survey = s.survey
 AND w.dimension = COALESCE(s.dimension, '');

-- NPS per group and period: n, promoters, detractors and value, withheld where the rules say.
CREATE VIEW nps AS
SELECT period, grp, n,
       CASE WHEN suppressed_reason IS NULL THEN promoters END AS promoters,
       CASE WHEN suppressed_reason IS NULL THEN detractors END AS detractors,
       CASE WHEN suppressed_reason IS NULL THEN 100.0 * (promoters - detractors) / n END AS value,
       suppressed_reason IS NOT NULL AS suppressed,
       suppressed_reason
FROM survey_withheld
WHERE measure = 'nps' AND survey IS NULL;

-- DevEx dimension scores (0-100) per group, period and dimension, withheld where the rules say.
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
