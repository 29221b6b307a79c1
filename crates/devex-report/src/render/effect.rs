//! The effect of onboarding: each onboarded team against the teams not yet
//! onboarded over the same quarters, per quarter since onboarding, with its
//! interval. The numbers are `devex effect`'s (`queries/08_effect.sql`).

use maud::{Markup, html};

use super::markup::{Cell, DataTable, Figure, figure, section};
use crate::ReportError;
use crate::charts;
use crate::model::Scorecard;
use devex_query::effect::{MetricEffect, groups_noun, level_percent};

/// A metric's title, and how its values read on the chart (unit and scale).
fn shown(metric: &str) -> (&'static str, &'static str, f64) {
    match metric {
        "lead_time_p50" => ("Change lead time (median)", "hours vs not yet onboarded", 1.0),
        "change_failure_rate" => ("Change failure rate", "points vs not yet onboarded", 100.0),
        "deployments_per_day" => ("Deployment frequency", "per day vs not yet onboarded", 1.0),
        "recovery_p50" => ("Failed-deployment recovery time (median)", "hours vs not yet onboarded", 1.0),
        "time_to_restore_p50" => ("Time to restore (median)", "hours vs not yet onboarded", 1.0),
        _ => ("NPS", "NPS points vs not yet onboarded", 1.0),
    }
}

fn figure_of(m: &MetricEffect, by: &str, level: f64) -> Result<Figure, ReportError> {
    let (title, axis, scale) = shown(&m.metric);
    let points: Vec<charts::EventPoint> = m
        .event_times
        .iter()
        .map(|t| (t.e, t.estimate * scale, t.low.zip(t.high).map(|(l, h)| (l * scale, h * scale))))
        .collect();
    let num = |v: f64| format!("{:.2}", v * scale);
    let rows = m
        .event_times
        .iter()
        .map(|t| {
            let interval = match (t.low, t.high) {
                (Some(l), Some(h)) => format!("{} to {}", num(l), num(h)),
                _ => "none (too few replicates define it)".to_string(),
            };
            vec![
                Cell::Text(t.e.to_string()),
                Cell::Text(num(t.estimate)),
                Cell::Text(interval),
                Cell::Text(t.treated.to_string()),
                Cell::Text(t.cohorts.to_string()),
            ]
        })
        .collect();
    let pct = level_percent(level);
    Ok(Figure {
        caption: format!(
            "{title}: onboarded teams' change since the quarter before onboarding, minus that of the teams not yet \
             onboarded, per quarter since onboarding; whiskers: {pct} % intervals; shaded: before onboarding (the check)"
        ),
        svg: charts::event_study(&points, axis)?,
        table: DataTable {
            caption: format!("{title}: effect of onboarding by quarter since onboarding"),
            head: vec![
                "quarters since onboarding".into(),
                format!("estimate ({})", axis.split(" vs").next().unwrap_or(axis)),
                format!("{pct} % interval"),
                groups_noun(by).into(),
                "cohorts".into(),
            ],
            rows,
            scroll: false,
        },
    })
}

pub fn org_section(card: &Scorecard) -> Result<Markup, ReportError> {
    let doc = &card.effect;
    let mut figures = Vec::new();
    for m in &doc.metrics {
        figures.push((m, figure_of(m, &doc.by, doc.bootstrap.level)?));
    }
    let body = html! {
        p {
            "What is compared: each team's change from the quarter before it moved onto the platform, against the \
             change of the teams not yet onboarded over the same quarters. A before-and-after picture alone (the \
             J-curve above) credits the platform with everything that improved at the same time, such as faster CI \
             for everyone or a quiet quarter; subtracting the teams not yet onboarded takes that out. Quarters \
             before onboarding are a check: there the difference should be about zero. The intervals come from \
             redrawing the teams "
            (doc.bootstrap.replicates) " times (seed " (doc.bootstrap.seed) "); with few teams they are wide, and a \
             wide interval is the honest answer."
        }
        @if let Some(note) = &card.effect_note {
            p { "Nothing to compare: " (note) "." }
        }
        @for (m, f) in &figures {
            p { (m.sentence(&doc.by, doc.bootstrap.level)) }
            @if let Some(w) = m.warning(&doc.by) {
                p.warning { (w) }
            }
            (figure(f))
        }
    };
    Ok(section("effect", "Effect of onboarding: against the teams not yet onboarded", body))
}
