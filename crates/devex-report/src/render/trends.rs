//! Quarterly trend charts: the organisation's on the index page; on a team's
//! page the team against the median team (like with like: the organisation's
//! counts pool every team, so its deployments per day are on another scale
//! than one team's).

use devex_model::plural::count;
use maud::{Markup, html};

use super::markup::{Cell, DataTable, Figure, figure, section};
use super::metric::{METRICS, Metric};
use crate::ReportError;
use crate::charts;
use crate::model::{QuarterMetrics, Scorecard, TeamCard};

/// One line of a trend chart: a value per quarter and what each rests on.
struct TrendLine {
    name: String,
    /// Per quarter of the report: (value in the metric's unit, the sample it rests on).
    points: Vec<Option<(Option<f64>, String)>>,
}

fn lines(card: &Scorecard, team: Option<&TeamCard>, labels: &[String], m: &Metric) -> Vec<TrendLine> {
    let of = |trend: &[QuarterMetrics]| -> Vec<Option<(Option<f64>, String)>> {
        labels
            .iter()
            .map(|l| trend.iter().find(|q| &q.quarter == l).map(|q| ((m.value)(&q.metrics), (m.sample)(&q.metrics))))
            .collect()
    };
    match team {
        None => vec![TrendLine { name: "Organisation".into(), points: of(&card.org_trend) }],
        Some(t) => vec![
            TrendLine { name: t.team.clone(), points: of(&t.trend) },
            TrendLine {
                name: "median team".into(),
                points: labels
                    .iter()
                    .map(|l| {
                        card.median_team
                            .iter()
                            .find(|q| &q.quarter == l)
                            .map(|q| ((m.median)(q), format!("median of {}", count(q.groups as u64, "team"))))
                    })
                    .collect(),
            },
        ],
    }
}

/// One figure per metric.
fn figures(card: &Scorecard, team: Option<&TeamCard>) -> Result<Vec<Figure>, ReportError> {
    let labels: Vec<String> = card.org_trend.iter().map(|q| q.quarter.clone()).collect();
    let mut out = Vec::new();
    for m in &METRICS {
        let lines = lines(card, team, &labels, m);
        let series: Vec<(String, Vec<Option<f64>>)> = lines
            .iter()
            .map(|line| {
                let values = line.points.iter().map(|p| p.as_ref().and_then(|p| p.0).map(|v| v * m.scale));
                (line.name.clone(), values.collect())
            })
            .collect();
        let mut head = vec!["quarter".to_string()];
        head.extend(lines.iter().map(|l| l.name.clone()));
        let rows = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut row = vec![Cell::from(l.as_str())];
                row.extend(lines.iter().map(|line| match &line.points[i] {
                    Some((value, sample)) => Cell::Text(format!("{} ({sample})", (m.show)(*value))),
                    None => "–".into(),
                }));
                row
            })
            .collect();
        let caption = match team {
            None => format!("{} per quarter", m.title),
            Some(_) => format!(
                "{} per quarter: the team against the median team (the middle of every team's own value, \
                 not the organisation's pooled total)",
                m.title
            ),
        };
        out.push(Figure {
            caption,
            svg: charts::lines(&labels, &series, m.axis, None)?,
            table: DataTable { caption: m.title.into(), head, rows, scroll: false },
        });
    }
    Ok(out)
}

pub fn trends(card: &Scorecard, team: Option<&TeamCard>) -> Result<Markup, ReportError> {
    let figures = figures(card, team)?;
    Ok(section("trends", "Quarterly trends", html! { @for f in &figures { (figure(f)) } }))
}
