//! The J-curve: teams before and after their services moved onto the platform.
//! The organisation's page shows every team relative to its own baseline; a
//! team's page shows its own values with its baseline.

use std::collections::{HashMap, HashSet};

use maud::{Markup, html};

use super::markup::{Cell, DataTable, Figure, figure, section};
use crate::ReportError;
use crate::charts;
use crate::html::{hours, number, percent, rate};
use crate::model::{JcurvePoint, JcurveSummary, Scorecard, TeamCard};

/// The J-curve metrics shown, with how each is put relative to its baseline.
const JCURVE: [(&str, &str, Relative); 3] = [
    ("lead_time_p50", "Change lead time (median)", Relative::Index),
    ("change_failure_rate", "Change failure rate", Relative::Points),
    ("deployments_per_day", "Deployment frequency", Relative::Index),
];

#[derive(Clone, Copy)]
enum Relative {
    /// value / baseline × 100 (baseline = 100).
    Index,
    /// (value − baseline) in percentage points (baseline = 0).
    Points,
}

impl Relative {
    /// A value relative to `baseline`, on the chart's scale.
    fn of(self, value: f64, baseline: f64) -> f64 {
        match self {
            Relative::Index => 100.0 * value / baseline,
            Relative::Points => 100.0 * (value - baseline),
        }
    }

    /// Whether a group with this baseline can be drawn: an index over a zero
    /// baseline is undefined (such a team is in the table only).
    fn drawable(self, baseline: f64) -> bool {
        matches!(self, Relative::Points) || baseline != 0.0
    }

    /// The y axis, the baseline's value on it, and the caption's words.
    fn axis(self) -> (&'static str, f64, &'static str) {
        match self {
            Relative::Index => ("% of baseline", 100.0, "as a percentage of the team's baseline (100 = baseline)"),
            Relative::Points => ("pp vs baseline", 0.0, "in percentage points above or below the team's baseline"),
        }
    }
}

pub fn rel_label(rel: i64) -> String {
    match rel {
        0 => "q0".into(),
        r if r > 0 => format!("q+{r}"),
        r => format!("q{r}"),
    }
}

fn axis_of(metric: &str) -> &'static str {
    match metric {
        "change_failure_rate" => "% of deployments",
        "deployments_per_day" => "deployments per day",
        "nps" => "NPS",
        _ => "hours",
    }
}

fn show(metric: &str, v: Option<f64>) -> String {
    match metric {
        "change_failure_rate" => percent(v),
        "deployments_per_day" => rate(v),
        "nps" => number(v, 0),
        _ => hours(v),
    }
}

/// One figure per metric: every team with a baseline, relative to it.
fn org_figures(card: &Scorecard) -> Result<Vec<Figure>, ReportError> {
    let with_baseline: Vec<&JcurveSummary> = card.jcurve_summary.iter().filter(|s| s.baseline.is_some()).collect();
    // Every point by (team, metric, quarter from onboarding): a page shows hundreds of teams.
    let mut index: HashMap<(&str, &str, i64), &JcurvePoint> = HashMap::new();
    for p in &card.jcurve {
        index.entry((p.grp.as_str(), p.metric.as_str(), p.rel)).or_insert(p);
    }
    let mut out = Vec::new();
    for (metric, label, relative) in JCURVE {
        let summaries: Vec<&JcurveSummary> = with_baseline.iter().copied().filter(|s| s.metric == metric).collect();
        let teams: Vec<(&str, f64)> = summaries
            .iter()
            .filter_map(|s| s.baseline.filter(|b| relative.drawable(*b)).map(|b| (s.grp.as_str(), b)))
            .collect();
        let point = |team: &str, rel: i64| index.get(&(team, metric, rel)).copied();
        let drawn_teams: HashSet<&str> = teams.iter().map(|(t, _)| *t).collect();
        let drawn = card.jcurve.iter().filter(|p| p.metric == metric && drawn_teams.contains(p.grp.as_str()));
        let (Some(lo), Some(hi)) = (drawn.clone().map(|p| p.rel).min(), drawn.map(|p| p.rel).max()) else {
            continue;
        };
        let labels: Vec<String> = (lo..=hi).map(rel_label).collect();
        let series: Vec<(String, Vec<Option<f64>>)> = teams
            .iter()
            .map(|(team, baseline)| {
                let values = (lo..=hi).map(|rel| point(team, rel)?.value.map(|v| relative.of(v, *baseline)));
                (team.to_string(), values.collect())
            })
            .collect();
        let (axis, reference, how) = relative.axis();
        let rows = summaries
            .iter()
            .map(|s| {
                let mut row: Vec<Cell> = vec![s.grp.as_str().into(), show(metric, s.baseline).into()];
                row.push(s.dip_rel.map(rel_label).unwrap_or_else(|| "none".into()).into());
                row.push(s.recovery_rel.map(rel_label).unwrap_or_else(|| "not yet".into()).into());
                row.extend((lo..=hi).map(|rel| Cell::Text(show(metric, point(&s.grp, rel).and_then(|p| p.value)))));
                row
            })
            .collect();
        let mut head = vec!["team".to_string(), "baseline".into(), "dip".into(), "recovery".into()];
        head.extend(labels.iter().cloned());
        out.push(Figure {
            caption: format!("{label} relative to onboarding, {how}; dashed: the baseline"),
            svg: charts::lines(&labels, &series, axis, Some((reference, "baseline")))?,
            table: DataTable { caption: label.into(), head, rows, scroll: true },
        });
    }
    Ok(out)
}

pub fn org_section(card: &Scorecard) -> Result<Markup, ReportError> {
    let any = card.jcurve_summary.iter().any(|s| s.baseline.is_some());
    let figures = if any { org_figures(card)? } else { Vec::new() };
    let body = html! {
        p {
            "Each line is a team, its quarters counted from the quarter its services moved onto the platform (q0). \
             The baseline is the team's mean over the two quarters before q0. A move onto a new platform often costs \
             speed and stability for a quarter or two (the dip) before it pays off (the recovery)."
        }
        @if !any {
            p {
                "No team was onboarded within the report's quarters with two quarters of history before, so there is \
                 no J-curve yet."
            }
        }
        @for f in &figures { (figure(f)) }
    };
    Ok(section("jcurve", "The J-curve: teams before and after onboarding", body))
}

/// One figure per metric: the team's own values, with its baseline dashed.
fn team_figures(card: &Scorecard, team: &TeamCard) -> Result<Vec<Figure>, ReportError> {
    let points: Vec<&JcurvePoint> = card.jcurve.iter().filter(|p| p.grp == team.team).collect();
    let mut out = Vec::new();
    for (metric, label, _) in JCURVE {
        let pts: Vec<&JcurvePoint> = points.iter().copied().filter(|p| p.metric == metric).collect();
        let Some(baseline) = pts.iter().find_map(|p| p.baseline) else { continue };
        let scale = if metric == "change_failure_rate" { 100.0 } else { 1.0 };
        let labels: Vec<String> = pts.iter().map(|p| rel_label(p.rel)).collect();
        let values: Vec<Option<f64>> = pts.iter().map(|p| p.value.map(|v| v * scale)).collect();
        let rows = pts
            .iter()
            .map(|p| {
                let state = match (p.worse, p.better) {
                    (Some(true), _) => "worse than baseline (dip)",
                    (_, Some(true)) => "better than baseline",
                    _ => "",
                };
                vec![rel_label(p.rel).into(), p.quarter.as_str().into(), show(metric, p.value).into(), state.into()]
            })
            .collect();
        out.push(Figure {
            caption: format!(
                "{label}, by quarter relative to onboarding (q0); dashed: baseline {}",
                show(metric, Some(baseline))
            ),
            svg: charts::lines(
                &labels,
                &[(team.team.clone(), values)],
                axis_of(metric),
                Some((baseline * scale, "baseline")),
            )?,
            table: DataTable::new(label, &["quarter vs onboarding", "quarter", "value", "vs baseline"], rows),
        });
    }
    Ok(out)
}

pub fn team_section(card: &Scorecard, team: &TeamCard) -> Result<Markup, ReportError> {
    let any = card.jcurve.iter().any(|p| p.grp == team.team && p.baseline.is_some());
    let figures = if any { team_figures(card, team)? } else { Vec::new() };
    let body = html! {
        @if !any {
            p {
                "No J-curve: the team's services were not onboarded within the report's quarters with two quarters of \
                 history before (the baseline is the mean of the two quarters before onboarding)."
            }
        }
        @for f in &figures { (figure(f)) }
    };
    Ok(section("jcurve", "Before and after onboarding", body))
}
