//! Platform adoption (share of catalog services onboarded) and retention
//! (share of teams still using the platform the next quarter).

use maud::{Markup, html};

use super::markup::{Cell, DataTable, Figure, figure, section};
use crate::ReportError;
use crate::charts;
use crate::html::percent;
use crate::model::{Scorecard, TeamCard};

/// The organisation's adoption and retention per quarter, if there is any.
fn org_figure(card: &Scorecard) -> Result<Option<Figure>, ReportError> {
    let mut labels: Vec<String> = card.adoption.iter().map(|a| a.quarter.clone()).collect();
    for r in &card.retention {
        if !labels.contains(&r.quarter) {
            labels.push(r.quarter.clone());
        }
    }
    labels.sort();
    if labels.is_empty() {
        return Ok(None);
    }
    let adoption = |l: &String| card.adoption.iter().find(|a| &a.quarter == l);
    let retention = |l: &String| card.retention.iter().find(|r| &r.quarter == l);
    let series = [
        ("services onboarded".to_string(), labels.iter().map(|l| adoption(l)?.share.map(|s| s * 100.0)).collect()),
        (
            "teams retained next quarter".to_string(),
            labels.iter().map(|l| retention(l)?.share.map(|s| s * 100.0)).collect(),
        ),
    ];
    let rows = labels
        .iter()
        .map(|l| {
            let a = adoption(l).map(|a| format!("{} of {} ({})", a.onboarded, a.services, percent(a.share)));
            let r = retention(l).map(|r| format!("{} of {} ({})", r.retained, r.teams, percent(r.share)));
            vec![
                Cell::from(l.as_str()),
                a.unwrap_or_else(|| "–".into()).into(),
                r.unwrap_or_else(|| "– (next quarter not begun)".into()).into(),
            ]
        })
        .collect();
    Ok(Some(Figure {
        caption: "Share of catalog services onboarded at each quarter's end, and of the teams using the platform in a \
                  quarter, the share still using it in the next"
            .into(),
        svg: charts::lines(&labels, &series, "%", None)?,
        table: DataTable::new("Adoption and retention", &["quarter", "services onboarded", "teams retained"], rows),
    }))
}

pub fn org_section(card: &Scorecard) -> Result<Markup, ReportError> {
    let body = match org_figure(card)? {
        Some(f) => figure(&f),
        None => html! { p { "No services in the catalog and no adoption events." } },
    };
    Ok(section("adoption", "Platform adoption and retention", body))
}

fn team_figure(team: &TeamCard) -> Result<Figure, ReportError> {
    let labels: Vec<String> = team.adoption.iter().map(|a| a.quarter.clone()).collect();
    let values = team.adoption.iter().map(|a| a.share.map(|s| s * 100.0)).collect();
    let rows = team
        .adoption
        .iter()
        .map(|a| {
            let cells = [a.quarter.clone(), a.onboarded.to_string(), a.services.to_string(), percent(a.share)];
            cells.into_iter().map(Cell::Text).collect()
        })
        .collect();
    Ok(Figure {
        caption: "Share of the team's services onboarded onto the platform, at each quarter's end".into(),
        svg: charts::lines(&labels, &[("services onboarded".into(), values)], "% of services", None)?,
        table: DataTable::new("Adoption", &["quarter", "onboarded", "services", "share"], rows),
    })
}

pub fn team_section(team: &TeamCard) -> Result<Markup, ReportError> {
    let body = if team.adoption.is_empty() {
        html! { p { "No services of this team are in the catalog." } }
    } else {
        figure(&team_figure(team)?)
    };
    Ok(section("adoption", "Adoption", body))
}
