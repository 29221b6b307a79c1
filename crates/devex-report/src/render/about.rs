//! Data coverage, and "About these numbers": the window, each definition, the
//! band thresholds, each table's freshness and how to reproduce the page.

use maud::{Markup, html};

use super::markup::{Cell, DataTable, section, table};
use super::metric::METRICS;
use crate::html::percent;
use crate::model::{QuarterMetrics, Scorecard, TeamCard};

/// Each group's coverage in its last quarter.
fn coverage_table(groups: &[(String, &Vec<QuarterMetrics>)]) -> Markup {
    let rows = groups
        .iter()
        .flat_map(|(name, trend)| {
            trend.last().map(|q| {
                vec![
                    Cell::from(name.as_str()),
                    q.quarter.as_str().into(),
                    percent(q.metrics.coverage.changes_deployed).into(),
                    percent(q.metrics.coverage.incidents_linked).into(),
                ]
            })
        })
        .collect();
    table(
        &DataTable::new(
            "Coverage in the scorecard's quarter",
            &["group", "quarter", "changes mapped to a deployment", "incidents linked to a deployment"],
            rows,
        )
        .scrolling(),
    )
}

pub fn coverage_section(card: &Scorecard) -> Markup {
    let mut groups = vec![("Organisation".to_string(), &card.org_trend)];
    groups.extend(card.teams.iter().map(|t| (t.team.clone(), &t.trend)));
    let body = html! {
        p {
            "How much of the raw data the metrics could use. Low shares mean a number rests on thin data: changes \
             not mapped to a deployment are missing from lead time, and incidents not linked to a deployment are \
             missing from the change failure rate."
        }
        (coverage_table(&groups))
    };
    section("coverage", "Data coverage", body)
}

pub fn team_coverage_section(team: &TeamCard) -> Markup {
    section("coverage", "Data coverage", coverage_table(&[(team.team.clone(), &team.trend)]))
}

/// The band thresholds in words, from the `dora_bands` rows the metrics were banded with.
fn bands_text(card: &Scorecard) -> String {
    let t = |metric: &str, band: &str| {
        card.bands.iter().find(|b| b.metric == metric && b.band == band).map(|b| b.threshold).unwrap_or(f64::NAN)
    };
    let hours = |h: f64| {
        if h >= 168.0 && h % 168.0 == 0.0 {
            let w = h / 168.0;
            format!("{w} week{}", if w == 1.0 { "" } else { "s" })
        } else if h >= 48.0 && h % 24.0 == 0.0 {
            format!("{} days", h / 24.0)
        } else {
            format!("{h} h")
        }
    };
    let share = |s: f64| format!("{} %", (s * 1000.0).round() / 10.0);
    let days = |d: f64| format!("{d}+ day{}", if d == 1.0 { "" } else { "s" });
    let below = |metric: &str| {
        format!(
            "elite < {}, high < {}, medium < {}",
            hours(t(metric, "elite")),
            hours(t(metric, "high")),
            hours(t(metric, "medium"))
        )
    };
    format!(
        "Lead time p50: {}. Deployment frequency: elite on {} a week (median week), high on {} a week, medium on {} \
         a month. Change failure rate: elite ≤ {}, high ≤ {}, medium ≤ {}. Recovery p50: {}. Otherwise low.",
        below("lead_time_p50"),
        days(t("deploy_days_per_week_p50", "elite")),
        days(t("deploy_days_per_week_p50", "high")),
        days(t("deploy_days_per_month_p50", "medium")),
        share(t("change_failure_rate", "elite")),
        share(t("change_failure_rate", "high")),
        share(t("change_failure_rate", "medium")),
        below("recovery_p50"),
    )
}

/// Each table's Delta version and latest event.
fn freshness(card: &Scorecard) -> DataTable {
    let rows = card
        .tables
        .iter()
        .map(|t| {
            vec![
                Cell::from(t.table.as_str()),
                t.version.map(|v| v.to_string()).unwrap_or_else(|| "never written".into()).into(),
                t.latest_event.clone().unwrap_or_else(|| "–".into()).into(),
            ]
        })
        .collect();
    DataTable::new(
        "Freshness: the Delta version of each table read, and its latest event",
        &["table", "version", "latest event (UTC)"],
        rows,
    )
}

/// The `devex explain` command that lists the rows behind each DORA number of
/// a team's page, for the scorecard's quarter and the lake as it was read.
pub fn team_explain(card: &Scorecard, team: &TeamCard) -> Markup {
    let command = |metric: &str| {
        format!(
            "{} explain {metric} --quarter {} --team {} --as-of {}",
            card.devex,
            card.quarter,
            devex_model::shell::quote(&team.team),
            card.generated_at
        )
    };
    let numbers = [
        ("Deployments and deployment frequency", "deployments"),
        ("Lead time, and its stages", "lead_time"),
        ("Change failure rate", "change_failure_rate"),
        ("Recovery time", "recovery_time"),
        ("Rework rate", "rework_rate"),
        ("Time to restore", "time_to_restore"),
    ];
    let body = html! {
        p {
            "Each number of " (card.quarter) " on this page can be checked row by row against the lake it was              computed from: the command lists the deployments, changes or incidents behind it, read from the same              views. Survey numbers are never listed row by row."
        }
        dl {
            @for (what, metric) in numbers { dt { (what) } dd { code { (command(metric)) } } }
        }
    };
    section("explain", "Checking these numbers", body)
}

/// `root` leads from the page to the site's root (`""` or `"../"`).
pub fn about(card: &Scorecard, root: &str) -> Markup {
    let min = card.min_group_size;
    let body = html! {
        p {
            "Window: " (card.window.from) " to " (card.window.to) " (half-open; calendar days, weeks and quarters in "
            (card.window.timezone) "). The trend charts cover the " (card.org_trend.len())
            " quarters ending with it. The numbers follow devex's definitions, version " (card.definitions_version)
            ", summed up below (in full in devex's " code { "docs/metrics.md" } "); the SQL that computes every \
             number is in devex's " code { "queries/" } ", and " code { "devex sql" } " runs the same views."
        }
        dl {
            @for m in &METRICS { dt { (m.title) } dd { (m.definition) } }
            dt { "Developer NPS and DevEx scores" }
            dd {
                "From survey responses submitted in the quarter; groups of fewer than " (min) " responses are \
                 withheld. Where groups stand beside their total, the withheld groups together always hold none or \
                 at least " (min) " responses (another group is withheld if needed), so no small group can be worked \
                 out by subtraction. No names and no free-text answers are published."
            }
            dt { "Bands (" (card.benchmarks) ")" }
            dd { (bands_text(card)) }
        }
        (table(&freshness(card)))
        p {
            "To reproduce this page exactly, run " code {
                "devex report --quarter " (card.quarter) " --quarters " (card.org_trend.len()) " --as-of "
                (card.generated_at)
            }
            ": every table is read as it was at that instant (Delta time travel), within the lake's retention."
        }
        p class="sub" { a href={ (root) "scorecard.json" } { "scorecard.json" } " holds the same numbers, machine-readable." }
    };
    section("about", "About these numbers", body)
}
