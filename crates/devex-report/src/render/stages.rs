//! Where lead time goes: each change's lead time cut into coding, pickup,
//! review and deploy (docs/metrics.md, "Where the time goes: the stages").
//! On the index page, a stacked bar of the stage means per team with the
//! lead-time p50 beside it; on a team's page, the stages' shares per quarter.

use maud::{Markup, html};

use super::markup::{Cell, DataTable, Figure, figure, section};
use crate::ReportError;
use crate::charts;
use crate::html::{hours, percent as share};
use crate::model::{Scorecard, TeamCard};
use devex_query::metrics::{GroupMetrics, LeadTimeStages, STAGES, Stage};

fn stage(s: &LeadTimeStages, name: &str) -> Stage {
    match name {
        "coding" => s.coding.clone(),
        "pickup" => s.pickup.clone(),
        "review" => s.review.clone(),
        _ => s.deploy.clone(),
    }
}

const ABOUT: &str = "Each change's lead time is cut where its pull request was opened, first reviewed and merged: \
                     coding (commit to PR opened), pickup (to the first review), review (to the merge) and deploy \
                     (to the deployment's finish). The four add up to the lead time; a change pushed without a pull \
                     request spends it all in deploy.";

/// The stacked bar per team, for the scorecard's quarter.
pub fn org_section(card: &Scorecard) -> Result<Markup, ReportError> {
    let teams: Vec<(&str, &GroupMetrics)> = card.teams.iter().map(|t| (t.team.as_str(), &t.current)).collect();
    let labels: Vec<String> = teams.iter().map(|(t, _)| t.to_string()).collect();
    let parts: Vec<(String, Vec<Option<f64>>)> = STAGES
        .iter()
        .map(|s| (s.to_string(), teams.iter().map(|(_, g)| stage(&g.lead_time_stages, s).mean).collect()))
        .collect();
    let p50: Vec<Option<f64>> = teams.iter().map(|(_, g)| g.lead_time_hours.p50).collect();
    let mut head = vec!["team".to_string()];
    head.extend(STAGES.iter().map(|s| format!("{s} mean (share)")));
    head.extend(["lead time mean of stages".to_string(), "lead time p50".into(), "changes (with PR, reviewed)".into()]);
    let rows = teams
        .iter()
        .map(|(t, g)| {
            let s = &g.lead_time_stages;
            let mut row = vec![Cell::from(*t)];
            row.extend(STAGES.iter().map(|name| {
                let st = stage(s, name);
                Cell::Text(format!("{} ({})", hours(st.mean), share(st.share)))
            }));
            let total: Option<f64> = STAGES.iter().map(|name| stage(s, name).mean).sum();
            row.push(hours(total).into());
            row.push(hours(g.lead_time_hours.p50).into());
            row.push(Cell::Text(format!("{} ({}, {})", g.lead_time_hours.n, s.with_pr, s.reviewed)));
            row
        })
        .collect();
    let f = Figure {
        caption: format!(
            "Where lead time goes in {}: the mean hours of each stage per team, the median beside it",
            card.quarter
        ),
        svg: charts::stacked_bars(&labels, &parts, ("lead time p50", &p50), "hours (mean per change)")?,
        table: DataTable { caption: "Lead time by stage".into(), head, rows, scroll: true },
    };
    Ok(section("stages", "Where lead time goes", html! { p { (ABOUT) } (figure(&f)) }))
}

/// The stages' shares of a team's lead time, per quarter.
pub fn team_section(card: &Scorecard, team: &TeamCard) -> Result<Markup, ReportError> {
    let labels: Vec<String> = card.org_trend.iter().map(|q| q.quarter.clone()).collect();
    let at = |l: &String| team.trend.iter().find(|q| &q.quarter == l).map(|q| &q.metrics.lead_time_stages);
    let series: Vec<(String, Vec<Option<f64>>)> = STAGES
        .iter()
        .map(|s| {
            let values = labels.iter().map(|l| at(l).and_then(|st| stage(st, s).share).map(|v| 100.0 * v));
            (s.to_string(), values.collect())
        })
        .collect();
    let mut head = vec!["quarter".to_string()];
    head.extend(STAGES.iter().map(|s| format!("{s} share (mean)")));
    let rows = labels
        .iter()
        .map(|l| {
            let mut row = vec![Cell::from(l.as_str())];
            row.extend(STAGES.iter().map(|name| match at(l) {
                Some(st) => {
                    let s = stage(st, name);
                    Cell::Text(format!("{} ({})", share(s.share), hours(s.mean)))
                }
                None => "–".into(),
            }));
            row
        })
        .collect();
    let f = Figure {
        caption: format!("Where {}'s lead time goes, per quarter: each stage's share of the mean lead time", team.team),
        svg: charts::lines(&labels, &series, "% of lead time", None)?,
        table: DataTable { caption: "Stage shares per quarter".into(), head, rows, scroll: false },
    };
    Ok(section("stages", "Where lead time goes", html! { p { (ABOUT) } (figure(&f)) }))
}
