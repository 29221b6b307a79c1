//! Developer experience: NPS per survey wave and the DevEx dimension scores,
//! with withheld groups said in words.

use maud::{Markup, html};

use super::markup::{Cell, DataTable, Figure, figure, section};
use crate::ReportError;
use crate::charts;
use crate::html::number;
use crate::model::{Scorecard, WaveNps};

fn nps_figure(waves: &[WaveNps], min_group_size: i64, whose: &str) -> Result<Figure, ReportError> {
    let bars: Vec<(String, Option<charts::NpsCounts>)> = waves
        .iter()
        .map(|w| {
            let counts = match (w.suppressed, w.promoters, w.passives, w.detractors) {
                (false, Some(p), Some(m), Some(d)) => Some((p, m, d)),
                _ => None,
            };
            (w.survey.clone(), counts)
        })
        .collect();
    let count = |v: Option<i64>| Cell::Text(number(v.map(|v| v as f64), 0));
    let rows = waves
        .iter()
        .map(|w| {
            if w.suppressed {
                let why = Cell::Withheld { reason: w.suppressed_reason.clone(), min_group_size };
                vec![w.survey.as_str().into(), why, "–".into(), "–".into(), "–".into(), w.n.to_string().into()]
            } else {
                vec![
                    w.survey.as_str().into(),
                    number(w.value, 0).into(),
                    count(w.promoters),
                    count(w.passives),
                    count(w.detractors),
                    w.n.to_string().into(),
                ]
            }
        })
        .collect();
    let note = if waves.iter().any(|w| w.suppressed) { "; outlined bars: withheld" } else { "" };
    Ok(Figure {
        caption: format!(
            "Net Promoter Score per survey wave from {whose}: promoters (9–10), passives (7–8) and detractors (0–6) as \
             a share of responses{note}"
        ),
        svg: charts::nps_bars(&bars)?,
        table: DataTable::new(
            "NPS per survey wave",
            &["survey", "NPS", "promoters", "passives", "detractors", "responses"],
            rows,
        ),
    })
}

/// NPS per wave from `whose`, or a sentence saying there are no responses.
fn nps(waves: &[WaveNps], min_group_size: i64, whose: &str) -> Result<Markup, ReportError> {
    if waves.is_empty() {
        return Ok(html! { p { "No survey responses with an NPS answer from " (whose) " in the report's quarters." } });
    }
    Ok(figure(&nps_figure(waves, min_group_size, whose)?))
}

/// DevEx dimension scores per survey wave, if any question is mapped to a dimension.
fn dimensions_figure(card: &Scorecard) -> Result<Option<Figure>, ReportError> {
    let mut surveys: Vec<String> = card.wave_dimensions.iter().map(|d| d.survey.clone()).collect();
    surveys.dedup();
    let mut dims: Vec<String> = card.wave_dimensions.iter().map(|d| d.dimension.clone()).collect();
    dims.sort();
    dims.dedup();
    if dims.is_empty() {
        return Ok(None);
    }
    let find = |s: &String, d: &String| card.wave_dimensions.iter().find(|w| &w.survey == s && &w.dimension == d);
    let series: Vec<(String, Vec<Option<f64>>)> = dims
        .iter()
        .map(|d| (d.replace('_', " "), surveys.iter().map(|s| find(s, d).and_then(|w| w.value)).collect()))
        .collect();
    let mut head = vec!["survey".to_string()];
    head.extend(dims.iter().map(|d| d.replace('_', " ")));
    let rows = surveys
        .iter()
        .map(|s| {
            let mut row = vec![Cell::from(s.as_str())];
            row.extend(dims.iter().map(|d| match find(s, d) {
                Some(w) if w.suppressed => {
                    Cell::Withheld { reason: w.suppressed_reason.clone(), min_group_size: card.min_group_size }
                }
                Some(w) => Cell::Text(format!("{} (n = {})", number(w.value, 0), w.n)),
                None => "–".into(),
            }));
            row
        })
        .collect();
    Ok(Some(Figure {
        caption: "DevEx dimension scores per survey wave: mean of the Likert items mapped to each dimension, rescaled \
                  to 0–100"
            .into(),
        svg: charts::lines(&surveys, &series, "score (0–100)", None)?,
        table: DataTable { caption: "DevEx dimension scores".into(), head, rows, scroll: true },
    }))
}

pub fn org_section(card: &Scorecard) -> Result<Markup, ReportError> {
    let nps = nps(&card.waves, card.min_group_size, "the organisation")?;
    let dimensions = dimensions_figure(card)?;
    let body = html! {
        (nps)
        @match &dimensions {
            Some(f) => (figure(f)),
            None => p {
                "No DevEx dimension scores: map survey questions to dimensions under "
                code { "[survey.questions]" } " in devex.toml."
            },
        }
    };
    Ok(section("devex", "Developer experience", body))
}

pub fn team_section(card: &Scorecard, waves: &[WaveNps]) -> Result<Markup, ReportError> {
    Ok(section("devex", "Developer experience", nps(waves, card.min_group_size, "the team")?))
}
