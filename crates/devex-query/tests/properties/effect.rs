//! The effect of onboarding (`queries/08_effect.sql`) as properties, over
//! random panels of teams: a trend shared by every team moves no estimate;
//! an effect of δ from onboarding on moves every estimate since onboarding by
//! exactly δ and none before; the same seed gives the same intervals.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use devex_query::effect::register_effect;
use devex_query::{GroupBy, LakeSession, Period, Quarter, QuerySettings, Window, queries};
use proptest::prelude::*;

const QUARTERS: usize = 6;

/// A team: its onboarding quarter (an index into the span; `None`: never) and its values.
#[derive(Debug, Clone)]
struct Team {
    onboarded: Option<usize>,
    values: Vec<Option<f64>>,
}

fn panel() -> impl Strategy<Value = Vec<Team>> {
    let team =
        (prop::option::of(1..QUARTERS), prop::collection::vec(prop::option::weighted(0.9, 0.0..100.0f64), QUARTERS))
            .prop_map(|(onboarded, values)| Team { onboarded, values });
    prop::collection::vec(team, 3..9)
}

fn quarters() -> Vec<Quarter> {
    Quarter { year: 2026, quarter: 2 }.last_n(QUARTERS)
}

/// `(e, estimate, low, high)` of lead time for `teams`, with `replicates` from `seed`.
async fn effect(teams: &[Team], replicates: u32, seed: u64) -> Vec<(i64, f64, Option<f64>, Option<f64>)> {
    let dir = tempfile::tempdir().unwrap();
    let lake = LakeSession::open(dir.path()).await.unwrap();
    let mut settings = QuerySettings::default();
    settings.effect.replicates = replicates;
    settings.effect.seed = seed;
    let qs = quarters();
    let span = Window::quarters(qs[0], qs[QUARTERS - 1], settings.timezone);
    let ctx = lake.metrics_context(&settings, span, GroupBy::Team).await.unwrap();
    let services: Vec<String> = teams
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = t.onboarded.map(|q| format!("'{}T12:00:00Z'", qs[q].first_day())).unwrap_or("NULL".into());
            format!("('s{i}', 't{i}', {at}, 'file', '2026-01-01T00:00:00Z')")
        })
        .collect();
    let insert = format!(
        "INSERT INTO services (service, team, onboarded_at, source, ingested_at) VALUES {}",
        services.join(", ")
    );
    ctx.sql(&insert).await.unwrap().collect().await.unwrap();
    register_quarterly(&ctx, teams, &qs).await;
    let sql = queries::render(queries::JCURVE, &settings, &[Period::window(span)], GroupBy::Team).unwrap();
    queries::run_script(&ctx, "07_jcurve.sql", &sql).await.unwrap();
    let groups: Vec<String> = (0..teams.len()).map(|i| format!("t{i}")).collect();
    register_effect(&ctx, &settings, &groups, span, GroupBy::Team).await.unwrap();
    let rows = ctx
        .sql("SELECT e, estimate, low, high FROM onboarding_effect WHERE metric = 'lead_time_p50' ORDER BY e")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut out = Vec::new();
    for b in rows {
        let (e, est) = (b.column(0).as_primitive::<Int64Type>(), b.column(1).as_primitive::<Float64Type>());
        let (low, high) = (b.column(2).as_primitive::<Float64Type>(), b.column(3).as_primitive::<Float64Type>());
        for i in 0..b.num_rows() {
            let opt = |a: &datafusion::arrow::array::Float64Array| (!a.is_null(i)).then(|| a.value(i));
            out.push((e.value(i), est.value(i), opt(low), opt(high)));
        }
    }
    out
}

/// `quarterly_metrics` with the teams' lead times (the other columns are not needed).
async fn register_quarterly(ctx: &SessionContext, teams: &[Team], qs: &[Quarter]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("quarter", DataType::Utf8, false),
        Field::new("quarter_start", DataType::Date32, false),
        Field::new("grp", DataType::Utf8, true),
        Field::new("per_day", DataType::Float64, true),
        Field::new("lead_time_p50", DataType::Float64, true),
        Field::new("change_failure_rate", DataType::Float64, true),
        Field::new("recovery_p50", DataType::Float64, true),
        Field::new("time_to_restore_p50", DataType::Float64, true),
        Field::new("nps", DataType::Float64, true),
        Field::new("rework_rate", DataType::Float64, true),
    ]));
    let mut quarter = Vec::new();
    let mut start = Vec::new();
    let mut grp = Vec::new();
    let mut value = Vec::new();
    for (i, t) in teams.iter().enumerate() {
        for (q, v) in qs.iter().zip(&t.values) {
            if let Some(v) = v {
                quarter.push(q.label());
                start.push(devex_query::calendar::epoch_day(q.first_day()));
                grp.push(format!("t{i}"));
                value.push(Some(*v));
            }
        }
    }
    let n = value.len();
    let none = || Arc::new(datafusion::arrow::array::Float64Array::from(vec![None::<f64>; n])) as _;
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(datafusion::arrow::array::StringArray::from(quarter)),
            Arc::new(datafusion::arrow::array::Date32Array::from(start)),
            Arc::new(datafusion::arrow::array::StringArray::from(grp)),
            none(),
            Arc::new(datafusion::arrow::array::Float64Array::from(value)),
            none(),
            none(),
            none(),
            none(),
            none(),
        ],
    )
    .unwrap();
    ctx.register_table("quarterly_metrics", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())).unwrap();
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn cases() -> u32 {
    std::env::var("DEVEX_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Every team's lead time rises by the same amount in one quarter (an
    /// organisation-wide change): the comparison removes it.
    #[test]
    fn a_change_shared_by_every_team_moves_no_estimate(teams in panel(), quarter in 0..QUARTERS, shift in -50.0..50.0f64) {
        let before = run(effect(&teams, 0, 1));
        let shifted: Vec<Team> = teams
            .iter()
            .map(|t| {
                let mut t = t.clone();
                if let Some(v) = t.values[quarter].as_mut() {
                    *v += shift;
                }
                t
            })
            .collect();
        let after = run(effect(&shifted, 0, 1));
        prop_assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            prop_assert_eq!(b.0, a.0);
            prop_assert!(close(b.1, a.1), "e = {}: {} then {}", b.0, b.1, a.1);
        }
    }

    /// Onboarded teams gain δ from their onboarding quarter on: every estimate
    /// since onboarding moves by exactly δ, and none before it.
    #[test]
    fn an_effect_from_onboarding_on_moves_estimates_since_onboarding_by_it(teams in panel(), delta in -20.0..20.0f64) {
        let before = run(effect(&teams, 0, 1));
        let treated: Vec<Team> = teams
            .iter()
            .map(|t| {
                let mut t = t.clone();
                if let Some(g) = t.onboarded {
                    for v in t.values[g..].iter_mut().flatten() {
                        *v += delta;
                    }
                }
                t
            })
            .collect();
        let after = run(effect(&treated, 0, 1));
        prop_assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            let moved = if b.0 >= 0 { delta } else { 0.0 };
            prop_assert!(close(a.1 - b.1, moved), "e = {}: {} then {} (delta {})", b.0, b.1, a.1, delta);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_intervals() {
    let teams: Vec<Team> = (0..8)
        .map(|i| Team {
            onboarded: if i % 3 == 2 { None } else { Some(2 + i % 3) },
            values: (0..QUARTERS).map(|q| Some(((i * 7 + q * 3) % 11) as f64 + q as f64)).collect(),
        })
        .collect();
    let first = run(effect(&teams, 200, 42));
    assert!(first.iter().any(|r| r.2.is_some()), "some interval: {first:?}");
    assert_eq!(run(effect(&teams, 200, 42)), first);
    assert_ne!(run(effect(&teams, 200, 43)), first, "another seed draws other replicates");
}
