//! No differencing, as a property (`queries/05_survey.sql`, metrics.md
//! "No differencing"): random teams, waves and quarters of survey responses
//! in a lake; whatever the scorecard publishes of them (each quarter's NPS for
//! the organisation and each team, each wave's NPS over the two quarters for
//! the organisation and each team), no sum or difference of published numbers
//! isolates a group of 1 to `min_group_size - 1` respondents. The check is
//! brute force: every combination of the published cells with coefficients
//! -1, 0 and +1.

use std::collections::BTreeSet;

use devex_query::{GroupBy, LakeSession, Period, Quarter, QuerySettings, Window};
use proptest::prelude::*;

const MIN: usize = 5;
const TEAMS: [&str; 2] = ["a", "b"];

/// One response: its team, wave (0 or 1), quarter (0: 2026-Q1, 1: 2026-Q2) and NPS answer.
#[derive(Debug, Clone)]
struct Response {
    team: usize,
    wave: usize,
    quarter: usize,
    nps: i64,
}

/// Where each wave runs (0: the first quarter, 1: the second, 2: across both) and how many
/// of each team answered it in each quarter (0 when the wave does not run then).
fn scenario() -> impl Strategy<Value = Vec<Response>> {
    (prop::array::uniform2(0..3usize), prop::array::uniform8(0..=8usize), prop::collection::vec(0..=10i64, 64))
        .prop_map(|(spans, counts, answers)| {
            let mut out = Vec::new();
            for team in 0..2 {
                for wave in 0..2 {
                    for quarter in 0..2 {
                        let runs = spans[wave] == 2 || spans[wave] == quarter;
                        let n = if runs { counts[team * 4 + wave * 2 + quarter] } else { 0 };
                        for _ in 0..n {
                            let nps = answers[out.len()];
                            out.push(Response { team, wave, quarter, nps });
                        }
                    }
                }
            }
            out
        })
}

/// One published cell: the respondents it counts (a bit each) and its published counts.
#[derive(Debug)]
struct Cell {
    what: String,
    members: u64,
}

fn insert_sql(responses: &[Response]) -> String {
    let rows: Vec<String> = responses
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let at = format!("2026-{:02}-{:02}T12:00:00Z", 2 + 3 * r.quarter, 1 + i % 28);
            format!("('r{i}', 'w{}', '{at}', '{}', {}, 'file', '{at}', '{}')", r.wave, TEAMS[r.team], r.nps, &at[..7])
        })
        .collect();
    format!(
        "INSERT INTO survey_responses (id, survey, submitted_at, team, nps, source, ingested_at, month) VALUES {}",
        rows.join(", ")
    )
}

fn text(batch: &datafusion::arrow::array::RecordBatch, column: usize, row: usize) -> String {
    datafusion::arrow::util::display::array_value_to_string(batch.column(column), row).unwrap()
}

/// Rows of `sql` in `ctx`, every value as text.
async fn rows(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<Vec<String>> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut out = Vec::new();
    for b in &batches {
        for row in 0..b.num_rows() {
            out.push((0..b.num_columns()).map(|c| text(b, c, row)).collect());
        }
    }
    out
}

/// What the scorecard publishes of `responses`: the cells whose counts are shown.
async fn published(responses: &[Response]) -> Vec<Cell> {
    let empty = tempfile::tempdir().unwrap();
    let lake = LakeSession::open(empty.path()).await.unwrap();
    let settings = QuerySettings { min_group_size: MIN as i64, ..QuerySettings::default() };
    let tz = settings.timezone;
    let (q1, q2) = (Quarter::new(2026, 1).unwrap(), Quarter::new(2026, 2).unwrap());
    let span = Window::quarters(q1, q2, tz);
    let quarters = [Period::quarter(q1, tz), Period::quarter(q2, tz)];
    let first = lake.metrics_context(&settings, span, GroupBy::Org).await.unwrap();
    if !responses.is_empty() {
        first.sql(&insert_sql(responses)).await.unwrap().collect().await.unwrap();
    }
    let in_group = |r: &Response, grp: &str| grp.is_empty() || TEAMS[r.team] == grp;
    let members = |keep: &dyn Fn(&Response) -> bool| -> u64 {
        responses.iter().enumerate().filter(|(_, r)| keep(r)).fold(0u64, |m, (i, _)| m | 1 << i)
    };
    let mut cells = Vec::new();
    for by in [GroupBy::Org, GroupBy::Team] {
        let quarterly = lake.periods_context(&settings, &quarters, by).await.unwrap();
        let sql = "SELECT period, grp, n, promoters, detractors FROM nps WHERE NOT suppressed";
        for row in rows(&quarterly, sql).await {
            let q = usize::from(row[0] != q1.label());
            let set = members(&|r: &Response| r.quarter == q && in_group(r, &row[1]));
            cells.push(check(format!("quarter {} grp '{}'", row[0], row[1]), set, &row[2..], responses));
        }
        let waves = match by {
            GroupBy::Org => first.clone(),
            _ => lake.metrics_context(&settings, span, by).await.unwrap(),
        };
        let sql = "SELECT survey, grp, n, promoters, detractors FROM nps_by_wave WHERE NOT suppressed";
        for row in rows(&waves, sql).await {
            let w = usize::from(row[0] != "w0");
            let set = members(&|r: &Response| r.wave == w && in_group(r, &row[1]));
            cells.push(check(format!("wave {} grp '{}'", row[0], row[1]), set, &row[2..], responses));
        }
    }
    cells
}

/// The cell for `members`, after checking its published counts are theirs (so the test
/// knows what each published number counts).
fn check(what: String, members: u64, counts: &[String], responses: &[Response]) -> Cell {
    let of = |keep: &dyn Fn(i64) -> bool| {
        responses.iter().enumerate().filter(|(i, r)| members >> i & 1 == 1 && keep(r.nps)).count().to_string()
    };
    assert_eq!(counts, [of(&|_| true), of(&|n| n >= 9), of(&|n| n <= 6)], "{what}");
    Cell { what, members }
}

/// A combination of `cells` with coefficients -1, 0, +1 that counts exactly 1 to MIN - 1
/// respondents once each and nobody else: the cells and their signs.
fn isolating(cells: &[Cell], respondents: usize) -> Option<Vec<(i8, String)>> {
    // Identical cells add nothing; an empty one neither.
    let distinct: BTreeSet<u64> = cells.iter().map(|c| c.members).filter(|m| *m != 0).collect();
    let masks: Vec<u64> = distinct.into_iter().collect();
    assert!(masks.len() <= 14, "{} distinct cells: too many to brute-force", masks.len());
    // Respondents in exactly the same cells get the same sum in every combination: count
    // them as one class, weighed by its size.
    let mut classes: Vec<(u32, usize)> = Vec::new();
    for r in 0..respondents {
        let signature = masks.iter().enumerate().fold(0u32, |sig, (i, m)| sig | (((m >> r & 1) as u32) << i));
        match classes.iter_mut().find(|(s, _)| *s == signature) {
            Some(class) => class.1 += 1,
            None => classes.push((signature, 1)),
        }
    }
    let members: Vec<Vec<usize>> =
        (0..masks.len()).map(|i| (0..classes.len()).filter(|c| classes[*c].0 >> i & 1 == 1).collect()).collect();
    let weights: Vec<usize> = classes.iter().map(|(_, w)| *w).collect();
    struct Search<'a> {
        members: &'a [Vec<usize>],
        weights: &'a [usize],
        signs: Vec<i8>,
        sums: Vec<i8>,
    }
    impl Search<'_> {
        fn run(&mut self, i: usize) -> bool {
            if i == self.members.len() {
                let all_01 = self.sums.iter().all(|s| *s == 0 || *s == 1);
                let ones: usize = self.sums.iter().zip(self.weights).filter(|(s, _)| **s == 1).map(|(_, w)| w).sum();
                return all_01 && (1..MIN).contains(&ones);
            }
            for sign in [0i8, 1, -1] {
                self.signs[i] = sign;
                for c in &self.members[i] {
                    self.sums[*c] += sign;
                }
                let found = self.run(i + 1);
                for c in &self.members[i] {
                    self.sums[*c] -= sign;
                }
                if found {
                    return true;
                }
            }
            self.signs[i] = 0;
            false
        }
    }
    let mut search =
        Search { members: &members, weights: &weights, signs: vec![0; masks.len()], sums: vec![0; classes.len()] };
    if !search.run(0) {
        return None;
    }
    let name = |m: u64| cells.iter().find(|c| c.members == m).map(|c| c.what.clone()).unwrap_or_default();
    Some(masks.iter().zip(&search.signs).filter(|(_, s)| **s != 0).map(|(m, s)| (*s, name(*m))).collect())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn cases() -> u32 {
    std::env::var("DEVEX_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6)
}

proptest! {
    // 6 random cases per run (each builds a lake); `DEVEX_PROPTEST_CASES=500` searches harder.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_combination_of_published_numbers_isolates_a_small_group(responses in scenario()) {
        let cells = runtime().block_on(published(&responses));
        let found = isolating(&cells, responses.len());
        prop_assert!(found.is_none(), "published numbers give a small group away: {found:?}\nresponses: {responses:?}");
    }
}

/// The case that motivated the rule across teams and waves: a main wave of a (10) and
/// b (10) and a pulse of a (3) and b (6). Every wave and team is large enough on its own,
/// yet the organisation's quarter, minus its main wave, minus b's quarter, plus b's main
/// wave, is a's pulse.
#[test]
fn a_pulse_is_not_given_away_by_four_numbers() {
    let mut responses = Vec::new();
    for (team, wave, n) in [(0, 0, 10), (0, 1, 3), (1, 0, 10), (1, 1, 6)] {
        for k in 0..n {
            responses.push(Response { team, wave, quarter: 0, nps: (k * 3 % 11) as i64 });
        }
    }
    let cells = runtime().block_on(published(&responses));
    assert!(cells.iter().any(|c| c.what.starts_with("quarter")), "the quarters are still published: {cells:?}");
    assert_eq!(isolating(&cells, responses.len()), None);
}

/// Found by the property above: one team, one wave across two quarters, 5 answers in the
/// first and 1 in the second. The organisation's second quarter is withheld (1), yet its
/// wave (6) minus its first quarter (5) gave that one answer back; the wave is withheld now.
#[test]
fn a_wave_across_two_quarters_does_not_give_a_withheld_quarter_away() {
    let mut responses = vec![Response { team: 1, wave: 1, quarter: 0, nps: 0 }; 5];
    responses.push(Response { team: 1, wave: 1, quarter: 1, nps: 0 });
    let cells = runtime().block_on(published(&responses));
    assert!(cells.iter().any(|c| c.what == "quarter 2026-Q1 grp ''"), "the first quarter is published: {cells:?}");
    assert!(!cells.iter().any(|c| c.what.starts_with("wave")), "no wave is published: {cells:?}");
    assert_eq!(isolating(&cells, responses.len()), None);
}
