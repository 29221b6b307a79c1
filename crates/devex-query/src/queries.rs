//! The SQL files of `queries/`, compiled into the binary so it is
//! self-contained, and registered as views: the single source of metric truth.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;

use devex_model::Table;

use crate::calendar::{Period, Window};
use crate::error::QueryError;
use crate::facts::{FACTS, Fact, Lineage};
use crate::params::{GroupBy, QuerySettings};
use crate::scratch::Scratch;
use crate::session::TableVersion;
use crate::shared::SharedView;

/// Every saved query file, in the order they build on each other.
pub const FILES: &[(&str, &str)] = &[
    ("00_bands.sql", include_str!("../../../queries/00_bands.sql")),
    ("01_deployments.sql", include_str!("../../../queries/01_deployments.sql")),
    ("02_lead_time.sql", include_str!("../../../queries/02_lead_time.sql")),
    ("03_change_failure.sql", include_str!("../../../queries/03_change_failure.sql")),
    ("04_time_to_restore.sql", include_str!("../../../queries/04_time_to_restore.sql")),
    ("05_survey.sql", include_str!("../../../queries/05_survey.sql")),
    ("06_adoption.sql", include_str!("../../../queries/06_adoption.sql")),
    ("09_metrics.sql", include_str!("../../../queries/09_metrics.sql")),
];

/// The J-curve views: they read `quarterly_metrics`, which only `devex trends` registers.
pub const JCURVE: &str = include_str!("../../../queries/07_jcurve.sql");

/// The effect of onboarding's views, over the J-curve's: they also read
/// `effect_replicate`, which `devex_query::effect` registers from its seed.
pub const EFFECT: &str = include_str!("../../../queries/08_effect.sql");

/// One saved view: its name, the file defining it, and what it holds (the
/// first sentence of the comment above its `CREATE VIEW`, else of its file's header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    /// The view's name, as SQL reads it.
    pub name: String,
    /// The `queries/` file defining it.
    pub file: &'static str,
    /// What it holds, in one line.
    pub about: String,
}

/// Every saved view of [`FILES`] (what `devex sql` and `devex serve` can read;
/// the [`JCURVE`] views need `devex trends`' quarterly rows), in file order,
/// described from the SQL files' own comments (built into the binary: no
/// `queries/` needed).
///
/// ```
/// let views = devex_query::queries::saved_views();
/// let metrics = views.iter().find(|v| v.name == "metrics").unwrap();
/// assert_eq!(metrics.file, "09_metrics.sql");
/// assert!(!metrics.about.is_empty());
/// ```
pub fn saved_views() -> Vec<SavedView> {
    let mut out = Vec::new();
    for &(file, text) in FILES {
        let lines: Vec<&str> = text.lines().collect();
        let header =
            first_sentence(&comment_block(&lines, lines.iter().position(|l| !l.starts_with("--")).unwrap_or(0)));
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("CREATE VIEW ") else { continue };
            let name = rest.split_whitespace().next().unwrap_or_default().to_string();
            let above = first_sentence(&comment_block(&lines, i));
            let about = if above.is_empty() { header.clone() } else { above };
            out.push(SavedView { name, file, about });
        }
    }
    out
}

/// The comment lines directly above line `at`, joined.
fn comment_block(lines: &[&str], at: usize) -> String {
    let start = lines[..at].iter().rposition(|l| !l.trim_start().starts_with("--")).map_or(0, |p| p + 1);
    lines[start..at]
        .iter()
        .map(|l| l.trim_start().trim_start_matches('-').trim())
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to the first full stop or colon that ends a sentence.
fn first_sentence(text: &str) -> String {
    let end = text
        .char_indices()
        .find(|(i, c)| matches!(c, '.' | ':') && text[i + 1..].starts_with(' ') || *i + 1 == text.len() && *c == '.')
        .map_or(text.len(), |(i, _)| i);
    text[..end].trim().to_string()
}

/// Views that several metrics read. In a session for a metrics run, each is a
/// [`SharedView`]: computed once, on the first scan of a statement that reads
/// it, and kept in memory instead of being re-planned inline by every view
/// that reads it (DataFusion does not share common subplans).
pub const SHARED_VIEWS: &[&str] = &[
    "band_threshold",
    "production_deployment",
    "service_group",
    "incident_link",
    "deployment_outcome",
    "lead_time_summary",
];

pub use crate::shared::SharedCache;

/// Tables registered per run (`params::register`): a view reading one depends on the periods.
const WINDOW_TABLES: &[&str] = &["metric_period", "calendar_week", "calendar_month", "calendar_quarter"];

/// How a session computes the [`SHARED_VIEWS`].
#[derive(Debug, Clone, Copy)]
pub enum Sharing<'a> {
    /// Planned inline by every view that reads them.
    Inline,
    /// Each computed once in this process, when a statement first scans it;
    /// those that do not depend on the periods are kept in the cache for the
    /// next run over the same lake.
    InProcess(&'a SharedCache),
    /// Each computed once on the session's engine (a cluster) as it is
    /// registered, and read from its rows in the scratch directory.
    Scratch(&'a Scratch),
}

/// Run every statement of every file (`CREATE VIEW ...`) in `ctx`, for the
/// run's `periods`, the [`SHARED_VIEWS`] computed as `sharing` says.
///
/// A view of `facts` whose stamp equals its lineage here (the same SQL and
/// settings, and `versions` of the base tables it reads) is registered as
/// that fact's table instead of being planned. Returns every view's lineage.
///
/// `stop_after`: once every view it names is registered, the rest are not
/// (what a fact's refresh needs; empty: every view).
#[allow(clippy::too_many_arguments)]
pub async fn register_views(
    ctx: &SessionContext,
    settings: &QuerySettings,
    periods: &[Period],
    group_by: GroupBy,
    sharing: Sharing<'_>,
    facts: &[Fact],
    versions: &[TableVersion],
    stop_after: &[&str],
) -> Result<HashMap<String, Lineage>, QueryError> {
    // A view is window-independent if its text is the same for other periods and
    // it reads only lake tables, settings tables and window-independent views.
    let day = chrono::Duration::days(1);
    let probe: Vec<Period> = periods
        .iter()
        .map(|p| Period {
            label: format!("{}~", p.label),
            window: Window { from: p.window.from - day, to: p.window.to - day },
        })
        .collect();
    let mut independent: HashSet<String> = Table::ALL.iter().map(|t| t.name().to_string()).collect();
    independent.extend(SETTINGS_TABLES.iter().map(|t| t.to_string()));
    let mut lineages: HashMap<String, Lineage> = HashMap::new();
    let done = |lineages: &HashMap<String, Lineage>| {
        !stop_after.is_empty() && stop_after.iter().all(|name| lineages.contains_key(*name))
    };
    for (file, text) in FILES {
        if done(&lineages) {
            break;
        }
        let err = |source| QueryError::SavedQuery { file: file.to_string(), source };
        let sql = render(text, settings, periods, group_by)?;
        let other = DFParser::parse_sql(&render(text, settings, &probe, group_by)?).map_err(err)?;
        for (statement, probed) in DFParser::parse_sql(&sql).map_err(err)?.into_iter().zip(other) {
            if done(&lineages) {
                break;
            }
            let text = statement.to_string();
            let reads = ctx.state().resolve_table_references(&statement).map_err(err)?;
            let same = text == probed.to_string()
                && reads.iter().all(|r| independent.contains(r.table()) && !WINDOW_TABLES.contains(&r.table()));
            let plan = ctx.state().statement_to_plan(statement).await.map_err(err)?;
            let created = match &plan {
                LogicalPlan::Ddl(DdlStatement::CreateView(v)) => Some(v.name.table().to_string()),
                _ => None,
            };
            if let Some(name) = created.as_ref().filter(|_| same) {
                independent.insert(name.clone());
            }
            let fact = match &created {
                Some(name) => {
                    let lineage = lineage_of(name, &text, &reads, &lineages, settings);
                    let fact = facts.iter().find(|f| {
                        same && f.name == *name && FACTS.contains(&name.as_str()) && f.stamp == lineage.stamp(versions)
                    });
                    lineages.insert(name.clone(), lineage);
                    fact
                }
                None => None,
            };
            let shared = created.clone().filter(|n| SHARED_VIEWS.contains(&n.as_str()));
            if let (Some(name), Sharing::Scratch(scratch), None) = (&shared, sharing, fact) {
                ctx.execute_logical_plan(plan).await.map_err(err)?;
                let plan = take_view(ctx, name).await.map_err(err)?;
                let table = scratch.keep(ctx, name, plan).await?;
                ctx.register_table(name.as_str(), table).map_err(err)?;
                continue;
            }
            let (Some(name), Sharing::InProcess(cache)) = (shared, sharing) else {
                match (fact, &created) {
                    (Some(fact), Some(name)) => {
                        ctx.register_table(name.as_str(), Arc::clone(&fact.provider)).map_err(err)?;
                    }
                    _ => {
                        ctx.execute_logical_plan(plan).await.map_err(err)?;
                    }
                }
                continue;
            };
            let key = format!("{text}\n{settings:?}");
            let cached = if same { cache.lock().ok().and_then(|c| c.get(&key).cloned()) } else { None };
            let table: Arc<dyn TableProvider> = match cached {
                Some(table) => table,
                None => {
                    match fact {
                        Some(fact) => ctx.register_table(name.as_str(), Arc::clone(&fact.provider)).map(|_| ()),
                        None => ctx.execute_logical_plan(plan).await.map(|_| ()),
                    }
                    .map_err(err)?;
                    let plan = take_view(ctx, &name).await.map_err(err)?;
                    let keep = same.then(|| (Arc::clone(cache), key));
                    Arc::new(SharedView::new(&name, plan, keep))
                }
            };
            ctx.register_table(name.as_str(), table).map_err(err)?;
        }
    }
    Ok(lineages)
}

/// The plan of the view `name` of `ctx`, which is deregistered: for a shared
/// view to be registered in its place.
async fn take_view(ctx: &SessionContext, name: &str) -> datafusion::error::Result<LogicalPlan> {
    let plan = ctx.table(name).await?.into_unoptimized_plan();
    ctx.deregister_table(name)?;
    Ok(plan)
}

/// Tables of settings (`params::register`): their contents are part of the
/// definition of a view that reads them.
const SETTINGS_TABLES: &[&str] = &["production_environments", "survey_questions", "custom_bands"];

/// The lineage of the view `name` created by `text`, reading `reads`.
fn lineage_of(
    name: &str,
    text: &str,
    reads: &[datafusion::common::TableReference],
    lineages: &HashMap<String, Lineage>,
    settings: &QuerySettings,
) -> Lineage {
    let mut out = Lineage::default();
    for r in reads {
        let read = r.table();
        if let Some(table) = Table::ALL.iter().find(|t| t.name() == read) {
            out.base.insert(*table);
        } else if let Some(view) = lineages.get(read) {
            out.base.extend(view.base.iter().copied());
            out.parts.extend(view.parts.iter().map(|(k, v)| (k.clone(), v.clone())));
        } else {
            let contents = match read {
                "production_environments" => format!("{:?}", settings.production_environments),
                "survey_questions" => format!("{:?}", settings.questions),
                "custom_bands" => format!("{:?}", settings.custom_bands),
                // A run's own table (the periods, their calendars): its text is in the view's.
                other => format!("(the run's `{other}`)"),
            };
            out.parts.insert(read.to_string(), contents);
        }
    }
    out.parts.insert(name.to_string(), text.to_string());
    out
}

/// Fill a query's `{{name}}` placeholders with SQL literals rendered from
/// typed values (never from text a user typed). Literals rather than a join
/// with the `params` table let DataFusion fold the grouping and prune files
/// by time, and avoid a cross join per row. `{{window_from}}` and
/// `{{window_to}}` span `periods` (which follow each other, oldest first);
/// `{{period_of(t)}}` is the label of the period holding `t` (a `CASE` over
/// their ends), for `t` within that span. `{{group_of(team, service)}}` is
/// the group of a row with that team and service (docs/metrics.md, "Window
/// and groups"): its team, `(no team)` without one, its service, or `''` for
/// the whole organisation.
pub fn render(
    text: &str,
    settings: &QuerySettings,
    periods: &[Period],
    group_by: GroupBy,
) -> Result<String, QueryError> {
    let span = contiguous_span(periods)?;
    let ts = |t: DateTime<Utc>| {
        format!("arrow_cast('{}', 'Timestamp(Microsecond, Some(\"UTC\"))')", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
    };
    let label = |p: &Period| format!("'{}'", p.label.replace('\'', "''"));
    // Always a CASE, even for one period: a constant would make DataFusion treat every
    // grouping by period as sorted input, which aggregates several times slower.
    let period_of = |t: &str| {
        let arms: String =
            periods.iter().map(|p| format!(" WHEN {t} < {} THEN {}", ts(p.window.to), label(p))).collect();
        format!("CASE{arms} END")
    };
    let group = format!("'{}'", group_by.as_str());
    let group_of = |args: &[&str]| match args {
        [team, service] => Ok(format!(
            "CASE {group} WHEN 'team' THEN COALESCE({team}, '(no team)') WHEN 'service' THEN {service} ELSE '' END"
        )),
        _ => Err(QueryError::Config("`{{group_of(team, service)}}` takes two arguments".into())),
    };
    let out = expand(text, "period_of", |args| Ok(period_of(&args.join(","))))?;
    let out = expand(&out, "group_of", group_of)?;
    Ok(out
        .replace("{{timezone}}", settings.timezone_literal()?)
        .replace("{{window_from}}", &ts(span.from))
        .replace("{{window_to}}", &ts(span.to))
        .replace("{{group_by}}", &group)
        .replace("{{benchmarks}}", &format!("'{}'", settings.benchmarks.replace('\'', "''")))
        .replace("{{attribution_window_hours}}", &format!("{:?}", settings.attribution_window_hours))
        .replace("{{min_group_size}}", &settings.min_group_size.to_string())
        .replace("{{effect_level}}", &fraction(settings.effect.level))
        .replace("{{effect_low}}", &fraction((1.0 - settings.effect.level) / 2.0))
        .replace("{{effect_high}}", &fraction((1.0 + settings.effect.level) / 2.0)))
}

/// A fraction as an SQL literal, to 9 decimals (`(1 - 0.95) / 2` is 0.025, not 0.025000000000000022).
fn fraction(x: f64) -> String {
    format!("{:?}", (x * 1e9).round() / 1e9)
}

/// `text` with every `{{name(a, b, ...)}}` replaced by `f` of its arguments
/// (split at the commas outside parentheses, trimmed).
fn expand(text: &str, name: &str, f: impl Fn(&[&str]) -> Result<String, QueryError>) -> Result<String, QueryError> {
    let opening = format!("{{{{{name}(");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&opening) {
        let open = at + opening.len();
        let close = rest[open..]
            .find(")}}")
            .ok_or_else(|| QueryError::Config(format!("`{opening}` without its `)}}}}` in a saved query")))?;
        let inner = &rest[open..open + close];
        let mut args = Vec::new();
        let (mut depth, mut start) = (0i32, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    args.push(inner[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
        args.push(inner[start..].trim());
        out.push_str(&rest[..at]);
        out.push_str(&f(&args)?);
        rest = &rest[open + close + ")}}".len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The window `periods` span, if they follow each other without gap or overlap.
pub fn contiguous_span(periods: &[Period]) -> Result<Window, QueryError> {
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
        return Err(QueryError::Config("no window to compute".into()));
    };
    if let Some(w) = periods.windows(2).find(|w| w[0].window.to != w[1].window.from) {
        return Err(QueryError::Config(format!(
            "the windows {} and {} do not follow each other",
            w[0].label, w[1].label
        )));
    }
    Ok(Window { from: first.window.from, to: last.window.to })
}

/// Plan and run each statement of a script of several.
pub async fn run_script(ctx: &SessionContext, file: &str, sql: &str) -> Result<(), QueryError> {
    let err = |source| QueryError::SavedQuery { file: file.to_string(), source };
    let statements = DFParser::parse_sql(sql).map_err(err)?;
    for statement in statements {
        let plan = ctx.state().statement_to_plan(statement).await.map_err(err)?;
        ctx.execute_logical_plan(plan).await.map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Quarter;

    #[test]
    fn period_of_names_the_period_holding_a_time_and_periods_must_follow_each_other() {
        let settings = QuerySettings::default();
        let q = |s: &str| Period::quarter(s.parse::<Quarter>().unwrap(), settings.timezone);
        let ts = |s: &str| format!("arrow_cast('{s}', 'Timestamp(Microsecond, Some(\"UTC\"))')");
        let text = "{{period_of(x.at)}} {{window_from}} {{window_to}}";
        let sql = render(text, &settings, &[q("2026-Q1"), q("2026-Q2")], GroupBy::Org).unwrap();
        assert_eq!(
            sql,
            format!(
                "CASE WHEN x.at < {} THEN '2026-Q1' WHEN x.at < {} THEN '2026-Q2' END {} {}",
                ts("2026-04-01T00:00:00.000000Z"),
                ts("2026-07-01T00:00:00.000000Z"),
                ts("2026-01-01T00:00:00.000000Z"),
                ts("2026-07-01T00:00:00.000000Z"),
            )
        );
        let gap = render(text, &settings, &[q("2026-Q1"), q("2026-Q3")], GroupBy::Org).unwrap_err();
        assert!(gap.to_string().contains("2026-Q1 and 2026-Q3 do not follow each other"), "{gap}");
        assert!(render(text, &settings, &[], GroupBy::Org).is_err());
        assert!(render("{{period_of(x.at", &settings, &[q("2026-Q1")], GroupBy::Org).is_err());
    }

    #[test]
    fn group_of_writes_the_grouping_rule_once() {
        let settings = QuerySettings::default();
        let q = Period::quarter("2026-Q1".parse::<Quarter>().unwrap(), settings.timezone);
        let text = "{{group_of(d.team, CAST(NULL AS VARCHAR))}} AS grp";
        let sql = render(text, &settings, std::slice::from_ref(&q), GroupBy::Team).unwrap();
        assert_eq!(
            sql,
            "CASE 'team' WHEN 'team' THEN COALESCE(d.team, '(no team)') WHEN 'service' THEN CAST(NULL AS VARCHAR) \
             ELSE '' END AS grp"
        );
        assert!(render("{{group_of(d.team)}}", &settings, &[q], GroupBy::Team).is_err());
    }
}
