//! The scorecard model: every number on the page, computed by `devex-query`
//! (the SQL in `queries/`), never re-derived here. It is also written as
//! `scorecard.json`.

use std::collections::BTreeMap;

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use devex_model::Table;
use devex_query::effect::{EffectDocument, compute_from_rows};
use devex_query::metrics::{GroupMetrics, WindowJson};
use devex_query::trends::{jcurve, quarterly_documents, quarterly_rows};
use devex_query::{GroupBy, LakeSession, Quarter, QuerySettings, Window};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ReportError;

/// What to put in the report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Page title.
    pub title: String,
    /// Quarters of history in the trend charts (the last is the scorecard's quarter).
    pub quarters: usize,
    /// The scorecard's quarter; default: the quarter of the latest deployment.
    pub quarter: Option<Quarter>,
    /// How devex is run, for the `devex explain` commands on the team pages
    /// (`devex`, or `cargo run -p devex-cli --`); never a path.
    pub devex: String,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { title: "Platform scorecard".into(), quarters: 8, quarter: None, devex: "devex".into() }
    }
}

/// One quarter's metrics of a group.
#[derive(Debug, Clone, Serialize)]
pub struct QuarterMetrics {
    /// `2026-Q3`.
    pub quarter: String,
    /// The metrics, as `devex metrics --format json` prints them.
    pub metrics: GroupMetrics,
}

/// One team's part of the scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct TeamCard {
    /// The team.
    pub team: String,
    /// File name of its page under `teams/`.
    pub page: String,
    /// The scorecard quarter.
    pub current: GroupMetrics,
    /// The quarter before, if the team had one.
    pub previous: Option<GroupMetrics>,
    /// Every quarter of the report.
    pub trend: Vec<QuarterMetrics>,
    /// Share of the team's services onboarded, per quarter.
    pub adoption: Vec<AdoptionPoint>,
    /// NPS per survey wave.
    pub waves: Vec<WaveNps>,
}

/// A point of the J-curve series (`jcurve_series`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JcurvePoint {
    /// The team.
    pub grp: String,
    /// `lead_time_p50`, `change_failure_rate`, ...
    pub metric: String,
    /// `2026-Q3`.
    pub quarter: String,
    /// Quarters since onboarding (q0 = 0).
    pub rel: i64,
    /// The metric's value.
    #[serde(default)]
    pub value: Option<f64>,
    /// Mean of q-2 and q-1.
    #[serde(default)]
    pub baseline: Option<f64>,
    /// After q0 and worse than baseline.
    #[serde(default)]
    pub worse: Option<bool>,
    /// After q0 and better than baseline.
    #[serde(default)]
    pub better: Option<bool>,
}

/// Per team and metric: baseline, first dip and first recovery (`jcurve`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JcurveSummary {
    /// The team.
    pub grp: String,
    /// The metric.
    pub metric: String,
    /// Mean of q-2 and q-1.
    #[serde(default)]
    pub baseline: Option<f64>,
    /// First quarter after q0 worse than baseline.
    #[serde(default)]
    pub dip_rel: Option<i64>,
    /// First later quarter better than baseline.
    #[serde(default)]
    pub recovery_rel: Option<i64>,
}

/// A quarter's median group (`median_group`): the middle of the groups' values,
/// on the same scale as one group's (unlike the organisation's pooled numbers).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MedianGroup {
    /// `2026-Q3`.
    pub quarter: String,
    /// Groups with a row in the quarter.
    pub groups: i64,
    /// Median of the groups' deployments per day.
    #[serde(default)]
    pub per_day: Option<f64>,
    /// Median of the groups' lead time p50.
    #[serde(default)]
    pub lead_time_p50: Option<f64>,
    /// Median of the groups' change failure rates.
    #[serde(default)]
    pub change_failure_rate: Option<f64>,
    /// Median of the groups' recovery time p50.
    #[serde(default)]
    pub recovery_p50: Option<f64>,
    /// Median of the groups' rework rates.
    #[serde(default)]
    pub rework_rate: Option<f64>,
}

/// Adoption at a quarter's end (`adoption`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdoptionPoint {
    /// Group (team, or empty for the organisation).
    pub grp: String,
    /// `2026-Q3`.
    pub quarter: String,
    /// Services in the catalog.
    pub services: i64,
    /// Of which onboarded.
    pub onboarded: i64,
    /// onboarded / services.
    #[serde(default)]
    pub share: Option<f64>,
}

/// Team retention from a quarter to the next (`retention`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetentionPoint {
    /// `2026-Q3`.
    pub quarter: String,
    /// Teams using the platform in the quarter.
    pub teams: i64,
    /// Of which used it in the next quarter too.
    pub retained: i64,
    /// retained / teams.
    #[serde(default)]
    pub share: Option<f64>,
}

/// NPS of one survey wave (`nps_by_wave`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaveNps {
    /// Group (team, or empty).
    pub grp: String,
    /// The wave, e.g. `2026-Q3`.
    pub survey: String,
    /// Responses with an NPS answer.
    pub n: i64,
    /// 9-10 (withheld below the group size).
    #[serde(default)]
    pub promoters: Option<i64>,
    /// 7-8.
    #[serde(default)]
    pub passives: Option<i64>,
    /// 0-6.
    #[serde(default)]
    pub detractors: Option<i64>,
    /// NPS.
    #[serde(default)]
    pub value: Option<f64>,
    /// Withheld.
    pub suppressed: bool,
    /// `min_group_size` or `complementary` (see `queries/05_survey.sql`).
    #[serde(default)]
    pub suppressed_reason: Option<String>,
}

/// A DevEx dimension score of one wave (`devex_scores_by_wave`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaveDimension {
    /// The wave.
    pub survey: String,
    /// `feedback_loops`, ...
    pub dimension: String,
    /// Responses.
    pub n: i64,
    /// 0-100.
    #[serde(default)]
    pub value: Option<f64>,
    /// Withheld.
    pub suppressed: bool,
    /// `min_group_size` or `complementary`.
    #[serde(default)]
    pub suppressed_reason: Option<String>,
}

/// What the page was computed from: each table's Delta version and latest event.
#[derive(Debug, Clone, Serialize)]
pub struct TableState {
    /// The table.
    pub table: String,
    /// Delta version read (`--as-of-version` reproduces it).
    pub version: Option<u64>,
    /// The latest event time in the table (RFC 3339 UTC).
    pub latest_event: Option<String>,
}

/// When the scorecard is generated: now, or `SOURCE_DATE_EPOCH` (seconds since
/// 1970, the reproducible-builds convention) when it is set, so that two runs
/// over the same lake give the same bytes. A malformed value is ignored.
fn generated_at() -> chrono::DateTime<chrono::Utc> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now)
}

/// The whole scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    /// Page title.
    pub title: String,
    /// How devex is run, for the commands the pages print (not in `scorecard.json`).
    #[serde(skip)]
    pub devex: String,
    /// When it was generated (UTC).
    pub generated_at: String,
    /// Metric definitions version.
    pub definitions_version: &'static str,
    /// Band thresholds.
    pub benchmarks: String,
    /// The scorecard's quarter.
    pub quarter: String,
    /// The quarter before it.
    pub previous_quarter: String,
    /// The scorecard quarter's window.
    pub window: WindowJson,
    /// Survey groups smaller than this are withheld.
    pub min_group_size: i64,
    /// Organisation, scorecard quarter.
    pub org: GroupMetrics,
    /// Organisation, previous quarter.
    pub org_previous: GroupMetrics,
    /// Organisation, every quarter.
    pub org_trend: Vec<QuarterMetrics>,
    /// Per team.
    pub teams: Vec<TeamCard>,
    /// J-curve series per team and metric.
    pub jcurve: Vec<JcurvePoint>,
    /// J-curve baseline, dip and recovery per team and metric.
    pub jcurve_summary: Vec<JcurveSummary>,
    /// Each quarter's median team: what a team page compares the team with.
    pub median_team: Vec<MedianGroup>,
    /// The effect of onboarding per team: what `devex effect --format json` gives.
    pub effect: EffectDocument,
    /// Why no team can be compared, when none can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect_note: Option<String>,
    /// Organisation adoption per quarter.
    pub adoption: Vec<AdoptionPoint>,
    /// Team retention per quarter.
    pub retention: Vec<RetentionPoint>,
    /// Organisation NPS per wave.
    pub waves: Vec<WaveNps>,
    /// Organisation DevEx dimension scores per wave.
    pub wave_dimensions: Vec<WaveDimension>,
    /// Each table's version and freshness.
    pub tables: Vec<TableState>,
    /// The band thresholds the metrics were banded with (`dora_bands`), for the
    /// page's "about" text; `benchmarks` names them in the JSON.
    #[serde(skip)]
    pub bands: Vec<BandThreshold>,
}

/// One band threshold (`dora_bands`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BandThreshold {
    /// `lead_time_p50`, `deploy_days_per_week_p50`, ...
    pub metric: String,
    /// `elite`, `high` or `medium`.
    pub band: String,
    /// The value a metric is compared with.
    pub threshold: f64,
}

/// Compute the scorecard.
pub async fn build(
    lake: &LakeSession,
    settings: &QuerySettings,
    opts: &ReportOptions,
) -> Result<Scorecard, ReportError> {
    let tz = settings.timezone;
    let last = match opts.quarter {
        Some(q) => q,
        None => Quarter::of(lake.latest_event(Table::Deployments).await?.unwrap_or_else(chrono::Utc::now), tz),
    };
    let quarters = last.last_n(opts.quarters.max(2));

    // Every quarter in one pass per grouping: the organisation's, then the teams' (whose
    // quarterly rows also feed the J-curve).
    let org_rows = quarterly_rows(lake, settings, &quarters, GroupBy::Org).await?;
    let org_docs = quarterly_documents(settings, &quarters, &org_rows, GroupBy::Org)?;
    let current_doc = org_docs.last().map(|(_, doc)| doc.clone()).expect("at least two quarters");
    let org_trend: Vec<QuarterMetrics> = org_docs
        .into_iter()
        .filter_map(|(q, doc)| doc.groups.into_iter().next().map(|g| QuarterMetrics { quarter: q.label(), metrics: g }))
        .collect();
    let team_rows = quarterly_rows(lake, settings, &quarters, GroupBy::Team).await?;
    let mut team_trend: BTreeMap<String, Vec<QuarterMetrics>> = BTreeMap::new();
    for (q, doc) in quarterly_documents(settings, &quarters, &team_rows, GroupBy::Team)? {
        for g in doc.groups {
            let team = g.group.get("team").cloned().unwrap_or_default();
            team_trend.entry(team).or_default().push(QuarterMetrics { quarter: q.label(), metrics: g });
        }
    }
    let n = org_trend.len();
    let org = org_trend[n - 1].metrics.clone();
    let org_previous = org_trend[n - 2].metrics.clone();

    let span = Window::quarters(quarters[0], last, tz);
    let (effect, effect_note) =
        compute_from_rows(lake, settings, &quarters, GroupBy::Team, team_rows.clone(), &[]).await?;
    let curves = jcurve(lake, settings, team_rows, span, GroupBy::Team).await?;

    let org_ctx = lake.metrics_context(settings, span, GroupBy::Org).await?;
    let team_ctx = lake.metrics_context(settings, span, GroupBy::Team).await?;
    let views = ViewRows::read(&org_ctx, &team_ctx).await?;
    let teams = team_cards(team_trend, &last, &views);
    let tables = table_states(lake).await?;
    Ok(Scorecard {
        title: opts.title.clone(),
        devex: opts.devex.clone(),
        generated_at: generated_at().format(devex_model::timestamp::RFC3339_UTC).to_string(),
        definitions_version: current_doc.definitions_version,
        benchmarks: current_doc.benchmarks.clone(),
        quarter: last.label(),
        previous_quarter: last.previous().label(),
        window: current_doc.window.clone(),
        min_group_size: settings.min_group_size,
        org,
        org_previous,
        org_trend,
        teams,
        jcurve: from_batches(&curves.series)?,
        jcurve_summary: from_batches(&curves.summary)?,
        median_team: from_batches(&curves.median)?,
        effect,
        effect_note: effect_note.map(|n| n.to_string()),
        adoption: views.adoption,
        retention: views.retention,
        waves: views.waves,
        wave_dimensions: views.wave_dimensions,
        tables,
        bands: views.bands,
    })
}

/// What the scorecard reads from the views beside the metrics: adoption,
/// retention, survey waves and the bands, for the organisation and per team.
struct ViewRows {
    adoption: Vec<AdoptionPoint>,
    team_adoption: Vec<AdoptionPoint>,
    retention: Vec<RetentionPoint>,
    waves: Vec<WaveNps>,
    team_waves: Vec<WaveNps>,
    bands: Vec<BandThreshold>,
    wave_dimensions: Vec<WaveDimension>,
}

impl ViewRows {
    async fn read(org_ctx: &SessionContext, team_ctx: &SessionContext) -> Result<ViewRows, ReportError> {
        let adoption_sql = "SELECT grp, concat(CAST(date_part('year', quarter_start) AS BIGINT), '-Q', CAST(date_part('quarter', quarter_start) AS BIGINT)) AS quarter, services, onboarded, share FROM adoption ORDER BY grp, quarter_start";
        let adoption: Vec<AdoptionPoint> = rows(org_ctx, adoption_sql).await?;
        let team_adoption: Vec<AdoptionPoint> = rows(team_ctx, adoption_sql).await?;
        let retention: Vec<RetentionPoint> = rows(
            org_ctx,
            "SELECT concat(CAST(date_part('year', quarter_start) AS BIGINT), '-Q', CAST(date_part('quarter', quarter_start) AS BIGINT)) AS quarter, teams, retained, share FROM retention ORDER BY quarter_start",
        )
        .await?;
        let waves_sql = "SELECT grp, survey, n, promoters, passives, detractors, value, suppressed, suppressed_reason FROM nps_by_wave ORDER BY grp, survey";
        let waves: Vec<WaveNps> = rows(org_ctx, waves_sql).await?;
        let team_waves: Vec<WaveNps> = rows(team_ctx, waves_sql).await?;
        let bands: Vec<BandThreshold> = rows(org_ctx, "SELECT metric, band, threshold FROM dora_bands").await?;
        let wave_dimensions: Vec<WaveDimension> = rows(
            org_ctx,
            "SELECT survey, dimension, n, value, suppressed, suppressed_reason FROM devex_scores_by_wave ORDER BY survey, dimension",
        )
        .await?;
        Ok(ViewRows { adoption, team_adoption, retention, waves, team_waves, bands, wave_dimensions })
    }
}

/// One card per team with numbers in the last quarter, each with its own page.
fn team_cards(team_trend: BTreeMap<String, Vec<QuarterMetrics>>, last: &Quarter, views: &ViewRows) -> Vec<TeamCard> {
    let mut used_pages = Vec::new();
    team_trend
        .into_iter()
        .filter(|(_, trend)| trend.last().is_some_and(|t| t.quarter == last.label()))
        .map(|(team, trend)| {
            let current = trend.last().expect("filtered").metrics.clone();
            let previous =
                trend.iter().rev().nth(1).filter(|p| p.quarter == last.previous().label()).map(|p| p.metrics.clone());
            let page = page_name(&team, &mut used_pages);
            TeamCard {
                adoption: views.team_adoption.iter().filter(|a| a.grp == team).cloned().collect(),
                waves: views.team_waves.iter().filter(|w| w.grp == team).cloned().collect(),
                team,
                page,
                current,
                previous,
                trend,
            }
        })
        .collect()
}

/// Each table's version and latest event.
async fn table_states(lake: &LakeSession) -> Result<Vec<TableState>, ReportError> {
    Ok(lake
        .freshness()
        .await?
        .into_iter()
        .map(|(tv, latest)| TableState {
            table: tv.table.name().into(),
            version: tv.version,
            latest_event: latest.map(|t| t.format(devex_model::timestamp::RFC3339_UTC).to_string()),
        })
        .collect())
}

/// A file name for a team's page: lower-case letters, digits and dashes, unique.
fn page_name(team: &str, used: &mut Vec<String>) -> String {
    let mut slug: String =
        team.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        slug = "team".into();
    }
    let mut name = format!("{slug}.html");
    let mut i = 2;
    while used.contains(&name) {
        name = format!("{slug}-{i}.html");
        i += 1;
    }
    used.push(name.clone());
    name
}

async fn rows<T: DeserializeOwned>(ctx: &SessionContext, sql: &str) -> Result<Vec<T>, ReportError> {
    let batches = ctx
        .sql(sql)
        .await
        .map_err(devex_query::QueryError::from)?
        .collect()
        .await
        .map_err(devex_query::QueryError::from)?;
    from_batches(&batches)
}

fn from_batches<T: DeserializeOwned>(batches: &[RecordBatch]) -> Result<Vec<T>, ReportError> {
    let mut w = datafusion::arrow::json::ArrayWriter::new(Vec::new());
    for b in batches {
        w.write(b).map_err(|e| ReportError::Shape(e.to_string()))?;
    }
    w.finish().map_err(|e| ReportError::Shape(e.to_string()))?;
    let bytes = w.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&bytes).map_err(|e| ReportError::Shape(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::page_name;

    #[test]
    fn page_names_are_safe_and_unique() {
        let mut used = Vec::new();
        assert_eq!(page_name("Payments", &mut used), "payments.html");
        assert_eq!(page_name("<script>alert(1)</script>", &mut used), "script-alert-1---script.html");
        assert_eq!(page_name("payments", &mut used), "payments-2.html");
        assert_eq!(page_name("../..", &mut used), "team.html");
    }
}
