//! The scorecard as HTML: `index.html` for the organisation, one page per
//! team under `teams/`, and `scorecard.json`. Pages are self-contained: inline
//! CSS, inline SVG, no scripts, no fonts, no network.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use devex_query::metrics::GroupMetrics;

use crate::ReportError;
use crate::charts;
use crate::html::{escape, hours, number, percent, rate, table};
use crate::model::{JcurvePoint, JcurveSummary, MedianGroup, QuarterMetrics, Scorecard, TeamCard, WaveNps};

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

/// How a metric is read off a group, shown and compared.
struct Metric {
    /// Heading.
    title: &'static str,
    /// Lower values are better.
    lower_is_better: bool,
    /// A share (0..1): changes are shown in percentage points.
    share: bool,
    /// The value.
    value: fn(&GroupMetrics) -> Option<f64>,
    /// The median group's value (`median_group`).
    median: fn(&MedianGroup) -> Option<f64>,
    /// The band, if the metric has bands.
    band: fn(&GroupMetrics) -> Option<&str>,
    /// The sample the value rests on.
    sample: fn(&GroupMetrics) -> String,
    /// The value for people.
    show: fn(Option<f64>) -> String,
    /// Unit of the chart's y axis.
    axis: &'static str,
    /// Chart scale of the value (100 for shares shown in %).
    scale: f64,
    /// One-line definition (spec/metrics.md).
    definition: &'static str,
}

const METRICS: [Metric; 5] = [
    Metric {
        title: "Deployment frequency",
        lower_is_better: false,
        share: false,
        value: |g| g.deployment_frequency.per_day,
        median: |q| q.per_day,
        band: |g| g.deployment_frequency.band.as_deref(),
        sample: |g| format!("{} production deployments", g.deployments),
        show: rate,
        axis: "deployments per day",
        scale: 1.0,
        definition: "Successful production deployments per day of the window. Band from the median number of \
                     deploy days per ISO week.",
    },
    Metric {
        title: "Change lead time (median)",
        lower_is_better: true,
        share: false,
        value: |g| g.lead_time_hours.p50,
        median: |q| q.lead_time_p50,
        band: |g| g.lead_time_hours.band.as_deref(),
        sample: |g| format!("n = {} changes · p90 {}", g.lead_time_hours.n, hours(g.lead_time_hours.p90)),
        show: hours,
        axis: "hours",
        scale: 1.0,
        definition: "From commit to the production deployment that shipped it; continuous median over every \
                     change deployed in the window (values ≤ 0 left out).",
    },
    Metric {
        title: "Change failure rate",
        lower_is_better: true,
        share: true,
        value: |g| g.change_failure_rate.value,
        median: |q| q.change_failure_rate,
        band: |g| g.change_failure_rate.band.as_deref(),
        sample: |g| format!("{} of {} deployments failed", g.change_failure_rate.failed, g.deployments),
        show: percent,
        axis: "% of deployments",
        scale: 100.0,
        definition: "Share of production deployments that failed: an incident names it or its commit, an \
                     unlinked incident of its service follows it within the attribution window, or the next \
                     deployment is a rollback or hotfix.",
    },
    Metric {
        title: "Failed deployment recovery time (median)",
        lower_is_better: true,
        share: false,
        value: |g| g.recovery_time_hours.p50,
        median: |q| q.recovery_p50,
        band: |g| g.recovery_time_hours.band.as_deref(),
        sample: |g| format!("n = {} recovered · {} open", g.recovery_time_hours.n, g.recovery_time_hours.open),
        show: hours,
        axis: "hours",
        scale: 1.0,
        definition: "From a failed deployment to the rollback or hotfix after it, or to the resolution of its \
                     incidents, whichever is first; median over those recovered.",
    },
    Metric {
        title: "Rework rate",
        lower_is_better: true,
        share: true,
        value: |g| g.rework_rate.value,
        median: |q| q.rework_rate,
        band: |_| None,
        sample: |g| format!("{} of {} deployments were rollbacks or hotfixes", g.rework_rate.n, g.deployments),
        show: percent,
        axis: "% of deployments",
        scale: 100.0,
        definition: "Share of production deployments that are rollbacks or hotfixes (unplanned work).",
    },
];

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
    let mut teams = Vec::new();
    for team in &card.teams {
        let path = teams_dir.join(&team.page);
        write_atomic(&path, team_page(card, team)?.as_bytes())?;
        teams.push(path);
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

/// The organisation's page.
pub fn index_page(card: &Scorecard) -> Result<String, ReportError> {
    let mut body = String::new();
    let sub =
        format!("Quarter {} · calendar {} · {} teams", card.quarter, escape(&card.window.timezone), card.teams.len());
    header(&mut body, &card.title, &sub, card);
    body.push_str(
        "<nav aria-label=\"Sections\"><ul><li><a href=\"#headline\">Headline</a></li><li><a href=\"#teams\">Teams</a></li>\
         <li><a href=\"#trends\">Trends</a></li><li><a href=\"#jcurve\">J-curve</a></li><li><a href=\"#adoption\">Adoption</a></li>\
         <li><a href=\"#devex\">Developer experience</a></li><li><a href=\"#coverage\">Data coverage</a></li>\
         <li><a href=\"#about\">About these numbers</a></li></ul></nav><main>",
    );
    tiles(
        &mut body,
        "headline",
        &format!("{}: the organisation", card.quarter),
        card,
        &card.org,
        Some(&card.org_previous),
    );
    teams_table(&mut body, card);
    trends(&mut body, card, None)?;
    jcurve_section(&mut body, card)?;
    adoption_section(&mut body, card)?;
    devex_section(&mut body, card)?;
    coverage_section(&mut body, card)?;
    about(&mut body, card, "");
    body.push_str("</main>");
    Ok(page(&card.title, &body))
}

/// One team's page.
pub fn team_page(card: &Scorecard, team: &TeamCard) -> Result<String, ReportError> {
    let mut body = String::new();
    let name = escape(&team.team);
    let title = format!("{} — {}", team.team, card.title);
    header(&mut body, &title, &format!("Team {name} · quarter {}", card.quarter), card);
    body.push_str(
        "<nav aria-label=\"Back\"><ul><li><a href=\"../index.html\">← Organisation scorecard</a></li></ul></nav><main>",
    );
    tiles(
        &mut body,
        "headline",
        &format!("{}: team {name}", card.quarter),
        card,
        &team.current,
        team.previous.as_ref(),
    );
    trends(&mut body, card, Some(team))?;

    // The team's J-curve: its own values with its baseline.
    let points: Vec<&JcurvePoint> = card.jcurve.iter().filter(|p| p.grp == team.team).collect();
    let _ = write!(body, "<section aria-labelledby=\"jcurve\"><h2 id=\"jcurve\">Before and after onboarding</h2>");
    if points.iter().all(|p| p.baseline.is_none()) {
        body.push_str(
            "<p>No J-curve: the team's services were not onboarded within the report's quarters with two quarters of \
             history before (the baseline is the mean of the two quarters before onboarding).</p>",
        );
    } else {
        for (metric, label, _) in JCURVE {
            let pts: Vec<&&JcurvePoint> = points.iter().filter(|p| p.metric == metric).collect();
            let Some(baseline) = pts.iter().find_map(|p| p.baseline) else { continue };
            let scale = if metric == "change_failure_rate" { 100.0 } else { 1.0 };
            let labels: Vec<String> = pts.iter().map(|p| rel_label(p.rel)).collect();
            let values: Vec<Option<f64>> = pts.iter().map(|p| p.value.map(|v| v * scale)).collect();
            let svg = charts::lines(
                &labels,
                &[(team.team.clone(), values)],
                axis_of(metric),
                Some((baseline * scale, "baseline")),
            )?;
            let rows: Vec<Vec<String>> = pts
                .iter()
                .map(|p| {
                    let state = match (p.worse, p.better) {
                        (Some(true), _) => "worse than baseline (dip)",
                        (_, Some(true)) => "better than baseline",
                        _ => "",
                    };
                    vec![rel_label(p.rel), escape(&p.quarter), show_jcurve(metric, p.value), state.into()]
                })
                .collect();
            figure(
                &mut body,
                &format!(
                    "{label}, by quarter relative to onboarding (q0); dashed: baseline {}",
                    show_jcurve(metric, Some(baseline))
                ),
                &svg,
                &table(label, &["quarter vs onboarding", "quarter", "value", "vs baseline"], &rows),
            );
        }
    }
    body.push_str("</section>");

    let _ = write!(body, "<section aria-labelledby=\"adoption\"><h2 id=\"adoption\">Adoption</h2>");
    if team.adoption.is_empty() {
        body.push_str("<p>No services of this team are in the catalog.</p>");
    } else {
        let labels: Vec<String> = team.adoption.iter().map(|a| a.quarter.clone()).collect();
        let values = team.adoption.iter().map(|a| a.share.map(|s| s * 100.0)).collect();
        let svg = charts::lines(&labels, &[("services onboarded".into(), values)], "% of services", None)?;
        let rows: Vec<Vec<String>> = team
            .adoption
            .iter()
            .map(|a| vec![escape(&a.quarter), a.onboarded.to_string(), a.services.to_string(), percent(a.share)])
            .collect();
        figure(
            &mut body,
            "Share of the team's services onboarded onto the platform, at each quarter's end",
            &svg,
            &table("Adoption", &["quarter", "onboarded", "services", "share"], &rows),
        );
    }
    body.push_str("</section>");

    let _ = write!(body, "<section aria-labelledby=\"devex\"><h2 id=\"devex\">Developer experience</h2>");
    nps_figure(&mut body, &team.waves, card.min_group_size, "the team")?;
    body.push_str("</section>");

    let _ = write!(body, "<section aria-labelledby=\"coverage\"><h2 id=\"coverage\">Data coverage</h2>");
    coverage_table(&mut body, &[(team.team.clone(), &team.trend)]);
    body.push_str("</section>");
    about(&mut body, card, "../");
    body.push_str("</main>");
    Ok(page(&title, &body))
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"devex\"><title>{}</title><style>{CSS}</style></head>\
         <body>{body}</body></html>\n",
        escape(title)
    )
}

fn header(out: &mut String, title: &str, sub: &str, card: &Scorecard) {
    let _ = write!(
        out,
        "<header><h1>{}</h1><p class=\"sub\">{sub}</p><p class=\"sub\">Generated {} from the lake's state at that \
         time · definitions version {} · bands {}</p></header>",
        escape(title),
        escape(&card.generated_at),
        escape(card.definitions_version),
        escape(&card.benchmarks),
    );
}

/// Headline tiles: value, band as text and colour, sample size, change vs the previous quarter.
fn tiles(
    out: &mut String,
    id: &str,
    heading: &str,
    card: &Scorecard,
    now: &GroupMetrics,
    before: Option<&GroupMetrics>,
) {
    let _ = write!(out, "<section aria-labelledby=\"{id}\"><h2 id=\"{id}\">{heading}</h2><div class=\"tiles\">");
    for m in &METRICS {
        let value = (m.value)(now);
        let band = match (m.band)(now) {
            Some(b) => format!("<p class=\"band band-{0}\">Band: <strong>{0}</strong></p>", escape(b)),
            None if value.is_some() => "<p class=\"band band-none\">No DORA band</p>".into(),
            None => "<p class=\"band band-none\">No data</p>".into(),
        };
        let change = change(m, value, before.and_then(m.value), &card.previous_quarter);
        let _ = write!(
            out,
            "<article class=\"tile\"><h3>{}</h3><p class=\"value\">{}</p>{band}<p class=\"n\">{}</p><p class=\"delta\">{change}</p></article>",
            m.title,
            (m.show)(value),
            escape(&(m.sample)(now)),
        );
    }
    // Developer sentiment beside the DORA keys.
    let nps = match &now.nps {
        Some(n) if n.n == 0 => ("–".into(), "no responses".into()),
        Some(n) if n.suppressed => {
            (withheld(n.suppressed_reason.as_deref(), card.min_group_size), format!("{} responses", n.n))
        }
        Some(n) => (number(n.value, 0), format!("n = {} responses", n.n)),
        None => ("–".into(), "no responses".into()),
    };
    let _ = write!(
        out,
        "<article class=\"tile\"><h3>Developer NPS</h3><p class=\"value\">{}</p><p class=\"band band-none\">−100 to +100</p>\
         <p class=\"n\">{}</p><p class=\"delta\">survey responses submitted in the quarter</p></article></div></section>",
        nps.0, nps.1
    );
}

/// "−12 % vs 2026-Q2 · better", direction-aware.
fn change(m: &Metric, now: Option<f64>, before: Option<f64>, previous: &str) -> String {
    let (Some(now), Some(before)) = (now, before) else {
        return format!("no comparison with {previous}");
    };
    let diff = now - before;
    let (text, zero) = if m.share {
        (format!("{:+.1} pp", diff * 100.0), (diff * 1000.0).round() == 0.0)
    } else if before == 0.0 {
        (format!("{diff:+.2}"), diff == 0.0)
    } else {
        let pct = 100.0 * diff / before;
        (format!("{pct:+.0} %"), pct.round() == 0.0)
    };
    // The arrow shows the value's direction; the word (and colour) whether that is good.
    let arrow = if diff < 0.0 { "▼" } else { "▲" };
    let verdict = if zero {
        "<span class=\"same\">unchanged</span>".to_string()
    } else if (diff < 0.0) == m.lower_is_better {
        format!("<span class=\"better\">{arrow} better</span>")
    } else {
        format!("<span class=\"worse\">{arrow} worse</span>")
    };
    format!("{} vs {previous} · {verdict}", text.replace('-', "−"))
}

fn teams_table(out: &mut String, card: &Scorecard) {
    let _ = write!(out, "<section aria-labelledby=\"teams\"><h2 id=\"teams\">Teams in {}</h2>", card.quarter);
    let rows: Vec<Vec<String>> = card
        .teams
        .iter()
        .map(|t| {
            let mut row = vec![format!("<a href=\"teams/{}\">{}</a>", escape(&t.page), escape(&t.team))];
            for m in &METRICS {
                let band =
                    (m.band)(&t.current).map(|b| format!(" <span class=\"chip band-{0}\">{0}</span>", escape(b)));
                row.push(format!("{}{}", (m.show)((m.value)(&t.current)), band.unwrap_or_default()));
            }
            row.push(match &t.current.nps {
                Some(n) if n.n == 0 => "–".into(),
                Some(n) if n.suppressed => withheld(n.suppressed_reason.as_deref(), card.min_group_size),
                Some(n) => number(n.value, 0),
                None => "–".into(),
            });
            row
        })
        .collect();
    if rows.is_empty() {
        out.push_str("<p>No team deployed in the quarter.</p>");
    } else {
        out.push_str("<div class=\"scroll\">");
        out.push_str(&table(
            "Each team's metrics in the quarter; the team's page has its trends and J-curve",
            &["team", "deploys", "lead time p50", "failure rate", "recovery p50", "rework", "NPS"],
            &rows,
        ));
        out.push_str("</div>");
    }
    out.push_str("</section>");
}

/// One line of a trend chart: a value per quarter and what each rests on.
struct TrendLine {
    name: String,
    /// Per quarter of the report: (value in the metric's unit, the sample it rests on).
    points: Vec<Option<(Option<f64>, String)>>,
}

/// The quarterly trend charts: the organisation's on the index page; on a team's page
/// the team against the median team (like with like: the organisation's counts pool
/// every team, so its deployments per day are on another scale than one team's).
fn trends(out: &mut String, card: &Scorecard, team: Option<&TeamCard>) -> Result<(), ReportError> {
    out.push_str("<section aria-labelledby=\"trends\"><h2 id=\"trends\">Quarterly trends</h2>");
    let labels: Vec<String> = card.org_trend.iter().map(|q| q.quarter.clone()).collect();
    let of = |trend: &[QuarterMetrics], m: &Metric| -> Vec<Option<(Option<f64>, String)>> {
        labels
            .iter()
            .map(|l| trend.iter().find(|q| &q.quarter == l).map(|q| ((m.value)(&q.metrics), (m.sample)(&q.metrics))))
            .collect()
    };
    for m in &METRICS {
        let lines = match team {
            None => vec![TrendLine { name: "Organisation".into(), points: of(&card.org_trend, m) }],
            Some(t) => vec![
                TrendLine { name: t.team.clone(), points: of(&t.trend, m) },
                TrendLine {
                    name: "median team".into(),
                    points: labels
                        .iter()
                        .map(|l| {
                            card.median_team
                                .iter()
                                .find(|q| &q.quarter == l)
                                .map(|q| ((m.median)(q), format!("median of {} teams", q.groups)))
                        })
                        .collect(),
                },
            ],
        };
        let series: Vec<(String, Vec<Option<f64>>)> = lines
            .iter()
            .map(|line| {
                (
                    line.name.clone(),
                    line.points.iter().map(|p| p.as_ref().and_then(|p| p.0).map(|v| v * m.scale)).collect(),
                )
            })
            .collect();
        let svg = charts::lines(&labels, &series, m.axis, None)?;
        let mut head = vec!["quarter".to_string()];
        head.extend(lines.iter().map(|l| l.name.clone()));
        let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut row = vec![escape(l)];
                for line in &lines {
                    row.push(match &line.points[i] {
                        Some((value, sample)) => format!("{} ({})", (m.show)(*value), escape(sample)),
                        None => "–".into(),
                    });
                }
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
        figure(out, &caption, &svg, &table(m.title, &head_refs, &rows));
    }
    out.push_str("</section>");
    Ok(())
}

fn jcurve_section(out: &mut String, card: &Scorecard) -> Result<(), ReportError> {
    out.push_str(
        "<section aria-labelledby=\"jcurve\"><h2 id=\"jcurve\">The J-curve: teams before and after onboarding</h2>\
         <p>Each line is a team, its quarters counted from the quarter its services moved onto the platform (q0). \
         The baseline is the team's mean over the two quarters before q0. A move onto a new platform often costs \
         speed and stability for a quarter or two (the dip) before it pays off (the recovery).</p>",
    );
    let with_baseline: Vec<&JcurveSummary> = card.jcurve_summary.iter().filter(|s| s.baseline.is_some()).collect();
    if with_baseline.is_empty() {
        out.push_str(
            "<p>No team was onboarded within the report's quarters with two quarters of history before, so there is \
             no J-curve yet.</p></section>",
        );
        return Ok(());
    }
    for (metric, label, relative) in JCURVE {
        let summaries: Vec<&&JcurveSummary> = with_baseline.iter().filter(|s| s.metric == metric).collect();
        let teams: Vec<(&str, f64)> = summaries
            .iter()
            .filter_map(|s| {
                let b = s.baseline?;
                match relative {
                    Relative::Points => Some((s.grp.as_str(), b)),
                    // An index over a zero baseline is undefined: such a team is in the table only.
                    Relative::Index => (b != 0.0).then_some((s.grp.as_str(), b)),
                }
            })
            .collect();
        let points: Vec<&JcurvePoint> =
            card.jcurve.iter().filter(|p| p.metric == metric && teams.iter().any(|(t, _)| *t == p.grp)).collect();
        let (Some(lo), Some(hi)) = (points.iter().map(|p| p.rel).min(), points.iter().map(|p| p.rel).max()) else {
            continue;
        };
        let labels: Vec<String> = (lo..=hi).map(rel_label).collect();
        let series: Vec<(String, Vec<Option<f64>>)> = teams
            .iter()
            .map(|(team, baseline)| {
                let values = (lo..=hi)
                    .map(|rel| {
                        let v = points.iter().find(|p| p.grp == *team && p.rel == rel)?.value?;
                        Some(match relative {
                            Relative::Index => 100.0 * v / baseline,
                            Relative::Points => 100.0 * (v - baseline),
                        })
                    })
                    .collect();
                (team.to_string(), values)
            })
            .collect();
        let (axis, reference, how) = match relative {
            Relative::Index => ("% of baseline", 100.0, "as a percentage of the team's baseline (100 = baseline)"),
            Relative::Points => ("pp vs baseline", 0.0, "in percentage points above or below the team's baseline"),
        };
        let svg = charts::lines(&labels, &series, axis, Some((reference, "baseline")))?;
        let rows: Vec<Vec<String>> = summaries
            .iter()
            .map(|s| {
                let mut row = vec![escape(&s.grp), show_jcurve(metric, s.baseline)];
                row.push(s.dip_rel.map(rel_label).unwrap_or_else(|| "none".into()));
                row.push(s.recovery_rel.map(rel_label).unwrap_or_else(|| "not yet".into()));
                for rel in lo..=hi {
                    let v = card.jcurve.iter().find(|p| p.grp == s.grp && p.metric == metric && p.rel == rel);
                    row.push(show_jcurve(metric, v.and_then(|p| p.value)));
                }
                row
            })
            .collect();
        let mut head = vec!["team".to_string(), "baseline".into(), "dip".into(), "recovery".into()];
        head.extend(labels.iter().cloned());
        let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
        figure(
            out,
            &format!("{label} relative to onboarding, {how}; dashed: the baseline"),
            &svg,
            &format!("<div class=\"scroll\">{}</div>", table(label, &head_refs, &rows)),
        );
    }
    out.push_str("</section>");
    Ok(())
}

fn adoption_section(out: &mut String, card: &Scorecard) -> Result<(), ReportError> {
    out.push_str("<section aria-labelledby=\"adoption\"><h2 id=\"adoption\">Platform adoption and retention</h2>");
    let mut labels: Vec<String> = card.adoption.iter().map(|a| a.quarter.clone()).collect();
    for r in &card.retention {
        if !labels.contains(&r.quarter) {
            labels.push(r.quarter.clone());
        }
    }
    labels.sort();
    if labels.is_empty() {
        out.push_str("<p>No services in the catalog and no adoption events.</p></section>");
        return Ok(());
    }
    let adoption: Vec<Option<f64>> = labels
        .iter()
        .map(|l| card.adoption.iter().find(|a| &a.quarter == l).and_then(|a| a.share).map(|s| s * 100.0))
        .collect();
    let retention: Vec<Option<f64>> = labels
        .iter()
        .map(|l| card.retention.iter().find(|r| &r.quarter == l).and_then(|r| r.share).map(|s| s * 100.0))
        .collect();
    let svg = charts::lines(
        &labels,
        &[("services onboarded".into(), adoption), ("teams retained next quarter".into(), retention)],
        "%",
        None,
    )?;
    let rows: Vec<Vec<String>> = labels
        .iter()
        .map(|l| {
            let a = card.adoption.iter().find(|a| &a.quarter == l);
            let r = card.retention.iter().find(|r| &r.quarter == l);
            vec![
                escape(l),
                a.map(|a| format!("{} of {} ({})", a.onboarded, a.services, percent(a.share)))
                    .unwrap_or_else(|| "–".into()),
                r.map(|r| format!("{} of {} ({})", r.retained, r.teams, percent(r.share)))
                    .unwrap_or_else(|| "– (next quarter not begun)".into()),
            ]
        })
        .collect();
    figure(
        out,
        "Share of catalog services onboarded at each quarter's end, and of the teams using the platform in a quarter, \
         the share still using it in the next",
        &svg,
        &table("Adoption and retention", &["quarter", "services onboarded", "teams retained"], &rows),
    );
    out.push_str("</section>");
    Ok(())
}

fn devex_section(out: &mut String, card: &Scorecard) -> Result<(), ReportError> {
    out.push_str("<section aria-labelledby=\"devex\"><h2 id=\"devex\">Developer experience</h2>");
    nps_figure(out, &card.waves, card.min_group_size, "the organisation")?;
    let mut surveys: Vec<String> = card.wave_dimensions.iter().map(|d| d.survey.clone()).collect();
    surveys.dedup();
    let mut dims: Vec<String> = card.wave_dimensions.iter().map(|d| d.dimension.clone()).collect();
    dims.sort();
    dims.dedup();
    if dims.is_empty() {
        out.push_str(
            "<p>No DevEx dimension scores: map survey questions to dimensions under <code>[survey.questions]</code> \
             in devex.toml.</p>",
        );
    } else {
        let find = |s: &String, d: &String| card.wave_dimensions.iter().find(|w| &w.survey == s && &w.dimension == d);
        let series: Vec<(String, Vec<Option<f64>>)> = dims
            .iter()
            .map(|d| (d.replace('_', " "), surveys.iter().map(|s| find(s, d).and_then(|w| w.value)).collect()))
            .collect();
        let svg = charts::lines(&surveys, &series, "score (0–100)", None)?;
        let mut head = vec!["survey".to_string()];
        head.extend(dims.iter().map(|d| d.replace('_', " ")));
        let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = surveys
            .iter()
            .map(|s| {
                let mut row = vec![escape(s)];
                for d in &dims {
                    row.push(match find(s, d) {
                        Some(w) if w.suppressed => withheld(w.suppressed_reason.as_deref(), card.min_group_size),
                        Some(w) => format!("{} (n = {})", number(w.value, 0), w.n),
                        None => "–".into(),
                    });
                }
                row
            })
            .collect();
        figure(
            out,
            "DevEx dimension scores per survey wave: mean of the Likert items mapped to each dimension, rescaled to 0–100",
            &svg,
            &format!("<div class=\"scroll\">{}</div>", table("DevEx dimension scores", &head_refs, &rows)),
        );
    }
    out.push_str("</section>");
    Ok(())
}

/// Why a survey number is not shown, in words: too few respondents, or withheld
/// beside a smaller group so that the total does not give that group away.
fn withheld(reason: Option<&str>, min: i64) -> String {
    match reason {
        Some("complementary") => format!(
            "withheld <span class=\"why\">(shown, it and the total would reveal a group of fewer than {min})</span>"
        ),
        _ => format!("withheld <span class=\"why\">(n &lt; {min})</span>"),
    }
}

fn nps_figure(out: &mut String, waves: &[WaveNps], min: i64, whose: &str) -> Result<(), ReportError> {
    if waves.is_empty() {
        let _ = write!(out, "<p>No survey responses with an NPS answer from {whose} in the report's quarters.</p>");
        return Ok(());
    }
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
    let svg = charts::nps_bars(&bars)?;
    let rows: Vec<Vec<String>> = waves
        .iter()
        .map(|w| {
            if w.suppressed {
                vec![
                    escape(&w.survey),
                    withheld(w.suppressed_reason.as_deref(), min),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                    w.n.to_string(),
                ]
            } else {
                vec![
                    escape(&w.survey),
                    number(w.value, 0),
                    number(w.promoters.map(|v| v as f64), 0),
                    number(w.passives.map(|v| v as f64), 0),
                    number(w.detractors.map(|v| v as f64), 0),
                    w.n.to_string(),
                ]
            }
        })
        .collect();
    let note = if waves.iter().any(|w| w.suppressed) { "; outlined bars: withheld".to_string() } else { String::new() };
    figure(
        out,
        &format!(
            "Net Promoter Score per survey wave from {whose}: promoters (9–10), passives (7–8) and detractors (0–6) as \
             a share of responses{note}"
        ),
        &svg,
        &table("NPS per survey wave", &["survey", "NPS", "promoters", "passives", "detractors", "responses"], &rows),
    );
    Ok(())
}

fn coverage_section(out: &mut String, card: &Scorecard) -> Result<(), ReportError> {
    out.push_str(
        "<section aria-labelledby=\"coverage\"><h2 id=\"coverage\">Data coverage</h2>\
         <p>How much of the raw data the metrics could use. Low shares mean a number rests on thin data: changes \
         not mapped to a deployment are missing from lead time, and incidents not linked to a deployment are \
         missing from the change failure rate.</p>",
    );
    let mut groups = vec![("Organisation".to_string(), &card.org_trend)];
    groups.extend(card.teams.iter().map(|t| (t.team.clone(), &t.trend)));
    coverage_table(out, &groups);
    out.push_str("</section>");
    Ok(())
}

fn coverage_table(out: &mut String, groups: &[(String, &Vec<QuarterMetrics>)]) {
    let rows: Vec<Vec<String>> = groups
        .iter()
        .flat_map(|(name, trend)| {
            trend.last().map(|q| {
                vec![
                    escape(name),
                    escape(&q.quarter),
                    percent(q.metrics.coverage.changes_deployed),
                    percent(q.metrics.coverage.incidents_linked),
                ]
            })
        })
        .collect();
    out.push_str("<div class=\"scroll\">");
    out.push_str(&table(
        "Coverage in the scorecard's quarter",
        &["group", "quarter", "changes mapped to a deployment", "incidents linked to a deployment"],
        &rows,
    ));
    out.push_str("</div>");
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
            "elite &lt; {}, high &lt; {}, medium &lt; {}",
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

fn about(out: &mut String, card: &Scorecard, root: &str) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"about\"><h2 id=\"about\">About these numbers</h2>\
         <p>Window: {} to {} (half-open; calendar days, weeks and quarters in {}). The trend charts cover the {} \
         quarters ending with it. Definitions: <code>spec/metrics.md</code> version {}; the SQL that computes every \
         number is in <code>queries/</code>, and <code>devex sql</code> runs the same views.</p><dl>",
        escape(&card.window.from),
        escape(&card.window.to),
        escape(&card.window.timezone),
        card.org_trend.len(),
        escape(card.definitions_version),
    );
    for m in &METRICS {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", m.title, m.definition);
    }
    let _ = write!(
        out,
        "<dt>Developer NPS and DevEx scores</dt><dd>From survey responses submitted in the quarter; groups of fewer \
         than {0} responses are withheld. Where groups stand beside their total, the withheld groups together \
         always hold none or at least {0} responses (another group is withheld if needed), so no small group \
         can be worked out by subtraction. No names and no free-text answers are published.</dd>\
         <dt>Bands ({1})</dt><dd>{2}</dd></dl>",
        card.min_group_size,
        escape(&card.benchmarks),
        bands_text(card),
    );
    let rows: Vec<Vec<String>> = card
        .tables
        .iter()
        .map(|t| {
            vec![
                escape(&t.table),
                t.version.map(|v| v.to_string()).unwrap_or_else(|| "never written".into()),
                t.latest_event.as_deref().map(escape).unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    out.push_str(&table(
        "Freshness: the Delta version of each table read, and its latest event",
        &["table", "version", "latest event (UTC)"],
        &rows,
    ));
    let _ = write!(
        out,
        "<p>To reproduce this page exactly, run <code>devex report --quarter {} --quarters {} --as-of {}</code>: \
         every table is read as it was at that instant (Delta time travel), within the lake's retention.</p>\
         <p class=\"sub\"><a href=\"{root}scorecard.json\">scorecard.json</a> holds the same numbers, machine-readable.</p></section>",
        escape(&card.quarter),
        card.org_trend.len(),
        escape(&card.generated_at),
    );
}

/// A chart with its caption (plain text) and its data table (HTML).
fn figure(out: &mut String, caption: &str, svg: &str, data_table: &str) {
    let caption = escape(caption);
    let svg = svg.replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{caption}\" "), 1);
    let _ = write!(
        out,
        "<figure><div class=\"chart\">{svg}</div><figcaption>{caption}</figcaption>\
         <details><summary>Data table</summary>{data_table}</details></figure>"
    );
}

fn rel_label(rel: i64) -> String {
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

fn show_jcurve(metric: &str, v: Option<f64>) -> String {
    match metric {
        "change_failure_rate" => percent(v),
        "deployments_per_day" => rate(v),
        "nps" => number(v, 0),
        _ => hours(v),
    }
}

const CSS: &str = "\
:root{--fg:#1b1b1b;--muted:#4a4a4a;--line:#d0d0d0;--bg:#fff;--accent:#005a9c}\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:var(--fg);background:var(--bg)}\
header,nav,main{max-width:1100px;margin:0 auto;padding:0 16px}\
header{padding-top:24px}h1{font-size:1.8rem;margin:0 0 4px}h2{font-size:1.35rem;margin:40px 0 12px;border-bottom:2px solid var(--line);padding-bottom:4px}\
h3{font-size:1rem;margin:0 0 6px}.sub{color:var(--muted);margin:2px 0}\
a{color:var(--accent)}nav ul{list-style:none;padding:0;margin:16px 0 0;display:flex;flex-wrap:wrap;gap:6px 16px}\
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}\
.tile{border:1px solid var(--line);border-radius:8px;padding:12px}.tile p{margin:4px 0}\
.value{font-size:1.6rem;font-weight:700}.n,.delta{color:var(--muted);font-size:.9rem}\
.band,.chip{display:inline-block;border-radius:4px;padding:1px 8px;font-size:.9rem;border:1px solid}\
.chip{font-size:.8rem;padding:0 6px}\
.why{display:block;font-size:.75rem;font-weight:normal;color:#555}\
.band-elite{background:#dff3e8;color:#0a5132;border-color:#0a5132}\
.band-high{background:#e1eefa;color:#0b4173;border-color:#0b4173}\
.band-medium{background:#fdf0d5;color:#6b4400;border-color:#6b4400}\
.band-low{background:#fbe3e1;color:#8a1c12;border-color:#8a1c12}\
.band-none{background:#f1f1f1;color:#333;border-color:#999}\
.better{color:#0a5132;font-weight:600}.worse{color:#8a1c12;font-weight:600}.same{color:var(--muted)}\
figure{margin:16px 0 28px}.chart svg{width:100%;max-width:760px;height:auto;display:block}\
figcaption{color:var(--muted);font-size:.95rem;margin:6px 0}\
details{margin:6px 0}summary{cursor:pointer;color:var(--accent)}\
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:8px 0;font-size:.9rem}\
caption{text-align:left;font-weight:600;padding:4px 0}\
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}thead th{background:#f4f4f4}\
dt{font-weight:600;margin-top:8px}dd{margin:0 0 0 16px}code{background:#f4f4f4;padding:0 4px;border-radius:3px;overflow-wrap:anywhere}\
@media (max-width:600px){body{font-size:15px}h1{font-size:1.4rem}.tiles{grid-template-columns:1fr 1fr}.value{font-size:1.25rem}}\
@media print{nav,details{display:none}a{color:inherit;text-decoration:none}\
figure,.tile,table{break-inside:avoid}h2{break-after:avoid}}";

#[cfg(test)]
mod tests {
    use super::{METRICS, change, rel_label};

    #[test]
    fn changes_read_as_better_or_worse_by_the_metric_s_direction() {
        let (frequency, lead_time, failure_rate) = (&METRICS[0], &METRICS[1], &METRICS[2]);
        // Lead time 10 h -> 8 h: down 20 %, better.
        assert_eq!(
            change(lead_time, Some(8.0), Some(10.0), "2026-Q2"),
            "−20 % vs 2026-Q2 · <span class=\"better\">▼ better</span>"
        );
        // Deployments 2/day -> 1/day: down 50 %, worse.
        assert!(change(frequency, Some(1.0), Some(2.0), "Q").ends_with("<span class=\"worse\">▼ worse</span>"));
        // Failure rate 5 % -> 7.5 %: +2.5 percentage points, worse.
        assert!(
            change(failure_rate, Some(0.075), Some(0.05), "Q")
                .starts_with("+2.5 pp vs Q · <span class=\"worse\">▲ worse")
        );
        assert_eq!(change(lead_time, Some(8.0), None, "2026-Q2"), "no comparison with 2026-Q2");
        assert!(change(lead_time, Some(10.0), Some(10.0), "Q").contains("unchanged"));
        assert_eq!([rel_label(-2), rel_label(0), rel_label(3)], ["q-2", "q0", "q+3"]);
    }
}
