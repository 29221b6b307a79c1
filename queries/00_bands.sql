-- DORA performance bands: every band in queries/ reads its thresholds from `dora_bands`, and the
-- scorecard's "about" text prints them from it.
--
-- metrics.md, "Bands (dora-2023)":
--   lead time p50            elite < 24 h, high < 168 h, medium < 720 h, otherwise low
--   deployment frequency     elite: deploy_days_per_week_p50 >= 5; high: >= 1; medium: at least
--                            one deploy-day a month, median over months; otherwise low
--   change failure rate      elite <= 5 %, high <= 10 %, medium <= 15 %, otherwise low
--   recovery time p50        elite < 1 h, high < 24 h, medium < 168 h, otherwise low
-- How each value compares with its threshold (<, <= or >=) is part of the metric's definition
-- and stays in the view that bands it. With `benchmarks = "custom"`, the `custom_bands` table
-- (from `[custom_benchmarks]` in devex.toml, same columns) replaces these rows.

CREATE VIEW dora_bands AS
SELECT metric, band, threshold
FROM (VALUES
    ('lead_time_p50', 'elite', 24.0),
    ('lead_time_p50', 'high', 168.0),
    ('lead_time_p50', 'medium', 720.0),
    ('deploy_days_per_week_p50', 'elite', 5.0),
    ('deploy_days_per_week_p50', 'high', 1.0),
    ('deploy_days_per_month_p50', 'medium', 1.0),
    ('change_failure_rate', 'elite', 0.05),
    ('change_failure_rate', 'high', 0.10),
    ('change_failure_rate', 'medium', 0.15),
    ('recovery_p50', 'elite', 1.0),
    ('recovery_p50', 'high', 24.0),
    ('recovery_p50', 'medium', 168.0)
) AS dora_2023(metric, band, threshold)
WHERE {{benchmarks}} = 'dora-2023'
UNION ALL
SELECT metric, band, threshold FROM custom_bands;

-- The thresholds side by side, one row: what the band expressions compare with.
CREATE VIEW band_threshold AS
SELECT max(CASE WHEN metric = 'lead_time_p50' AND band = 'elite' THEN threshold END) AS lead_time_elite,
       max(CASE WHEN metric = 'lead_time_p50' AND band = 'high' THEN threshold END) AS lead_time_high,
       max(CASE WHEN metric = 'lead_time_p50' AND band = 'medium' THEN threshold END) AS lead_time_medium,
       max(CASE WHEN metric = 'deploy_days_per_week_p50' AND band = 'elite' THEN threshold END) AS frequency_elite,
       max(CASE WHEN metric = 'deploy_days_per_week_p50' AND band = 'high' THEN threshold END) AS frequency_high,
       max(CASE WHEN metric = 'deploy_days_per_month_p50' AND band = 'medium' THEN threshold END) AS frequency_medium,
       max(CASE WHEN metric = 'change_failure_rate' AND band = 'elite' THEN threshold END) AS failure_elite,
       max(CASE WHEN metric = 'change_failure_rate' AND band = 'high' THEN threshold END) AS failure_high,
       max(CASE WHEN metric = 'change_failure_rate' AND band = 'medium' THEN threshold END) AS failure_medium,
       max(CASE WHEN metric = 'recovery_p50' AND band = 'elite' THEN threshold END) AS recovery_elite,
       max(CASE WHEN metric = 'recovery_p50' AND band = 'high' THEN threshold END) AS recovery_high,
       max(CASE WHEN metric = 'recovery_p50' AND band = 'medium' THEN threshold END) AS recovery_medium
FROM dora_bands;
