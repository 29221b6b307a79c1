//! The headline tiles of a quarter and the organisation's table of teams.

use devex_model::plural::count;
use devex_query::metrics::{GroupMetrics, Nps};
use maud::{Markup, html};

use super::markup::{Cell, DataTable, cell, section, table};
use super::metric::{METRICS, change};
use crate::html::number;
use crate::model::Scorecard;

/// One tile's words, shaped from a group's metrics.
struct Tile {
    title: &'static str,
    value: Cell,
    /// `Some(band)`, or `None` with `banded` false for "No DORA band"/"No data".
    band: Option<String>,
    has_value: bool,
    sample: String,
    change: Markup,
}

fn dora_tiles(card: &Scorecard, now: &GroupMetrics, before: Option<&GroupMetrics>) -> Vec<Tile> {
    METRICS
        .iter()
        .map(|m| {
            let value = (m.value)(now);
            Tile {
                title: m.title,
                value: Cell::Text((m.show)(value)),
                band: (m.band)(now).map(str::to_string),
                has_value: value.is_some(),
                sample: (m.sample)(now),
                change: change(m, value, before.and_then(m.value), &card.previous_quarter),
            }
        })
        .collect()
}

/// The NPS as a cell, and the line under it.
fn nps(nps: Option<&Nps>, min_group_size: i64) -> (Cell, String) {
    match nps {
        Some(n) if n.n == 0 => ("–".into(), "no responses".into()),
        Some(n) if n.suppressed => {
            (Cell::Withheld { reason: n.suppressed_reason.clone(), min_group_size }, count(n.n, "response"))
        }
        Some(n) => (number(n.value, 0).into(), format!("n = {}", count(n.n, "response"))),
        None => ("–".into(), "no responses".into()),
    }
}

/// Headline tiles: value, band as text and colour, sample size, change vs the previous
/// quarter; then developer sentiment beside the DORA keys.
pub fn tiles(heading: &str, card: &Scorecard, now: &GroupMetrics, before: Option<&GroupMetrics>) -> Markup {
    let (nps_value, nps_n) = nps(now.nps.as_ref(), card.min_group_size);
    let body = html! {
        div class="tiles" {
            @for t in dora_tiles(card, now, before) {
                article class="tile" {
                    h3 { (t.title) }
                    p class="value" { (cell(&t.value)) }
                    @match (&t.band, t.has_value) {
                        (Some(b), _) => p class={ "band band-" (b) } { "Band: " strong { (b) } },
                        (None, true) => p class="band band-none" { "No DORA band" },
                        (None, false) => p class="band band-none" { "No data" },
                    }
                    p class="n" { (t.sample) }
                    p class="delta" { (t.change) }
                }
            }
            article class="tile" {
                h3 { "Developer NPS" }
                p class="value" { (cell(&nps_value)) }
                p class="band band-none" { "−100 to +100" }
                p class="n" { (nps_n) }
                p class="delta" { "survey responses submitted in the quarter" }
            }
        }
    };
    section("headline", heading, body)
}

/// Each team's metrics in the quarter, a row per team linking to its page.
fn teams_rows(card: &Scorecard) -> Vec<Vec<Cell>> {
    card.teams
        .iter()
        .map(|t| {
            let mut row = vec![Cell::Link { href: format!("teams/{}", t.page), text: t.team.clone() }];
            for m in &METRICS {
                row.push(Cell::Banded {
                    value: (m.show)((m.value)(&t.current)),
                    band: (m.band)(&t.current).map(str::to_string),
                });
            }
            row.push(nps(t.current.nps.as_ref(), card.min_group_size).0);
            row
        })
        .collect()
}

pub fn teams_table(card: &Scorecard) -> Markup {
    let rows = teams_rows(card);
    let body = html! {
        @if rows.is_empty() {
            p { "No team deployed in the quarter." }
        } @else {
            (table(&DataTable::new(
                "Each team's metrics in the quarter; the team's page has its trends and J-curve",
                &["team", "deploys", "lead time p50", "failure rate", "recovery p50", "rework", "NPS"],
                rows,
            ).scrolling()))
        }
    };
    section("teams", &format!("Teams in {}", card.quarter), body)
}
