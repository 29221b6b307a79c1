//! The scorecard as HTML: `index.html` for the organisation, one page per
//! team under `teams/`, and `scorecard.json`. Pages are self-contained: inline
//! CSS, inline SVG, no scripts, no fonts, no network.
//!
//! Each part of a page has a module: it shapes its data from the [`Scorecard`]
//! (figures, tables and cells as plain data) and then lays it out with `maud`,
//! which escapes every string it splices in. A new page section is one module
//! and one line in [`index_page`] or [`team_page`].

mod about;
mod adoption;
mod effect;
mod headline;
mod jcurve;
mod markup;
mod metric;
mod stages;
mod survey;
mod trends;

use devex_model::plural::count;
use std::path::{Path, PathBuf};

use maud::html;

use crate::ReportError;
use crate::model::{Scorecard, TeamCard};
use markup::{header, nav, page};

/// The files a report run wrote.
#[derive(Debug, Clone)]
pub struct Site {
    /// `DIR/index.html`.
    pub index: PathBuf,
    /// `DIR/scorecard.json`.
    pub json: PathBuf,
    /// `DIR/teams/<team>.html`, one per team.
    pub teams: Vec<PathBuf>,
}

/// Write `index.html`, `scorecard.json` and `teams/*.html` under `dir`. Each
/// file is written to a temporary name and renamed, so a reader never sees a
/// half-written page; team pages left from an earlier run that no longer have
/// a team are removed.
pub fn write_site(card: &Scorecard, dir: &Path) -> Result<Site, ReportError> {
    let teams_dir = dir.join("teams");
    std::fs::create_dir_all(&teams_dir).map_err(|source| ReportError::Io { path: teams_dir.clone(), source })?;
    let index = dir.join("index.html");
    write_atomic(&index, index_page(card)?.as_bytes())?;
    let json = dir.join("scorecard.json");
    let text = serde_json::to_string_pretty(card).map_err(|e| ReportError::Shape(e.to_string()))?;
    write_atomic(&json, text.as_bytes())?;
    // Team pages are independent: drawn and written on every core, in chunks.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = card.teams.len().div_ceil(threads).max(1);
    let written: Vec<Result<Vec<PathBuf>, ReportError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = card
            .teams
            .chunks(chunk)
            .map(|part| {
                let teams_dir = &teams_dir;
                scope.spawn(move || {
                    part.iter()
                        .map(|team| {
                            let path = teams_dir.join(&team.page);
                            write_atomic(&path, team_page(card, team)?.as_bytes())?;
                            Ok(path)
                        })
                        .collect()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut teams = Vec::new();
    for part in written {
        teams.extend(part?);
    }
    let stale = std::fs::read_dir(&teams_dir).map_err(|source| ReportError::Io { path: teams_dir.clone(), source })?;
    for entry in stale.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "html") && !teams.contains(&path) {
            std::fs::remove_file(&path).map_err(|source| ReportError::Io { path: path.clone(), source })?;
        }
    }
    Ok(Site { index, json, teams })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    devex_model::atomic::write_atomic(path, bytes)
        .map_err(|source| ReportError::Io { path: path.to_path_buf(), source })
}

fn card_header(card: &Scorecard, title: &str, sub: &str) -> maud::Markup {
    header(title, sub, &card.generated_at, card.definitions_version, &card.benchmarks)
}

/// The organisation's page.
pub fn index_page(card: &Scorecard) -> Result<String, ReportError> {
    let sub = format!(
        "Quarter {} · calendar {} · {}",
        card.quarter,
        card.window.timezone,
        count(card.teams.len() as u64, "team")
    );
    let sections = [
        ("#headline", "Headline"),
        ("#teams", "Teams"),
        ("#trends", "Trends"),
        ("#stages", "Lead-time stages"),
        ("#jcurve", "J-curve"),
        ("#effect", "Effect of onboarding"),
        ("#adoption", "Adoption"),
        ("#devex", "Developer experience"),
        ("#coverage", "Data coverage"),
        ("#about", "About these numbers"),
    ];
    let body = html! {
        (card_header(card, &card.title, &sub))
        (nav("Sections", &sections))
        main {
            (headline::tiles(&format!("{}: the organisation", card.quarter), card, &card.org, Some(&card.org_previous)))
            (headline::teams_table(card))
            (trends::trends(card, None)?)
            (stages::org_section(card)?)
            (jcurve::org_section(card)?)
            (effect::org_section(card)?)
            (adoption::org_section(card)?)
            (survey::org_section(card)?)
            (about::coverage_section(card))
            (about::about(card, ""))
        }
    };
    Ok(page(&card.title, body))
}

/// One team's page.
pub fn team_page(card: &Scorecard, team: &TeamCard) -> Result<String, ReportError> {
    let title = format!("{} — {}", team.team, card.title);
    let sub = format!("Team {} · quarter {}", team.team, card.quarter);
    let body = html! {
        (card_header(card, &title, &sub))
        (nav("Back", &[("../index.html", "← Organisation scorecard")]))
        main {
            (headline::tiles(&format!("{}: team {}", card.quarter, team.team), card, &team.current, team.previous.as_ref()))
            (trends::trends(card, Some(team))?)
            (stages::team_section(card, team)?)
            (jcurve::team_section(card, team)?)
            (adoption::team_section(team)?)
            (survey::team_section(card, &team.waves)?)
            (about::team_coverage_section(team))
            (about::team_explain(card, team))
            (about::about(card, "../"))
        }
    };
    Ok(page(&title, body))
}
