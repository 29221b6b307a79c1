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

CREATE VIEW window_response AS
SELECT CASE {{group_by}} WHEN 'team' THEN COALESCE(r.team, '(no team)')
                       WHEN 'service' THEN CAST(NULL AS VARCHAR) ELSE '' END AS grp,
       r.*
FROM survey_responses r
WHERE r.submitted_at >= {{window_from}} AND r.submitted_at < {{window_to}};

CREATE VIEW nps AS
SELECT r.grp,
       count(*) AS n,
       CASE WHEN count(*) >= {{min_group_size}} THEN sum(CASE WHEN r.nps >= 9 THEN 1 ELSE 0 END) END AS promoters,
       CASE WHEN count(*) >= {{min_group_size}} THEN sum(CASE WHEN r.nps <= 6 THEN 1 ELSE 0 END) END AS detractors,
       CASE WHEN count(*) >= {{min_group_size}}
            THEN 100.0 * (sum(CASE WHEN r.nps >= 9 THEN 1 ELSE 0 END) - sum(CASE WHEN r.nps <= 6 THEN 1 ELSE 0 END)) / count(*)
       END AS value,
       count(*) < {{min_group_size}} AS suppressed
FROM window_response r
WHERE r.nps IS NOT NULL AND r.grp IS NOT NULL
GROUP BY r.grp;

-- Each answer rescaled to 0-100 on its question's scale, then averaged per dimension (the same
-- as rescaling the mean when a dimension's items share a scale).
CREATE VIEW devex_scores AS
SELECT r.grp, q.dimension,
       count(DISTINCT r.id) AS n,
       CASE WHEN count(DISTINCT r.id) >= {{min_group_size}}
            THEN avg(100.0 * (a.score - 1) / (q.scale_max - 1)) END AS value,
       count(DISTINCT r.id) < {{min_group_size}} AS suppressed
FROM window_response r
JOIN survey_answers a ON a.source = r.source AND a.response_id = r.id
JOIN survey_questions q ON q.question = a.question
WHERE a.score IS NOT NULL AND r.grp IS NOT NULL
GROUP BY r.grp, q.dimension;

-- Per survey wave (the `survey` column), for the scorecard's wave chart: promoters (9-10),
-- passives (7-8), detractors (0-6) and NPS; withheld below min_group_size like every survey
-- number.
CREATE VIEW nps_by_wave AS
SELECT r.grp, r.survey,
       count(*) AS n,
       CASE WHEN count(*) >= {{min_group_size}} THEN sum(CASE WHEN r.nps >= 9 THEN 1 ELSE 0 END) END AS promoters,
       CASE WHEN count(*) >= {{min_group_size}} THEN sum(CASE WHEN r.nps BETWEEN 7 AND 8 THEN 1 ELSE 0 END) END AS passives,
       CASE WHEN count(*) >= {{min_group_size}} THEN sum(CASE WHEN r.nps <= 6 THEN 1 ELSE 0 END) END AS detractors,
       CASE WHEN count(*) >= {{min_group_size}}
            THEN 100.0 * (sum(CASE WHEN r.nps >= 9 THEN 1 ELSE 0 END) - sum(CASE WHEN r.nps <= 6 THEN 1 ELSE 0 END)) / count(*)
       END AS value,
       count(*) < {{min_group_size}} AS suppressed
FROM window_response r
WHERE r.nps IS NOT NULL AND r.grp IS NOT NULL
GROUP BY r.grp, r.survey;

-- DevEx dimension scores per survey wave (same rescaling and suppression as devex_scores).
CREATE VIEW devex_scores_by_wave AS
SELECT r.grp, r.survey, q.dimension,
       count(DISTINCT r.id) AS n,
       CASE WHEN count(DISTINCT r.id) >= {{min_group_size}}
            THEN avg(100.0 * (a.score - 1) / (q.scale_max - 1)) END AS value,
       count(DISTINCT r.id) < {{min_group_size}} AS suppressed
FROM window_response r
JOIN survey_answers a ON a.source = r.source AND a.response_id = r.id
JOIN survey_questions q ON q.question = a.question
WHERE a.score IS NOT NULL AND r.grp IS NOT NULL
GROUP BY r.grp, r.survey, q.dimension;
