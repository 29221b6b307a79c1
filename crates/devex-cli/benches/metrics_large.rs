//! `just bench`: the large-organisation benchmark of the query layer.
//!
//! Generates an organisation with at least 2 million changes, 700 thousand
//! deployments and 40 thousand incidents (cached under the target dir), imports
//! it with the release `devex` binary, then times `devex metrics --by team`
//! over its two years, and `devex report` (8 quarters) over the same lake,
//! printing wall time, peak RSS (from `wait4`) and the report's cost in
//! metrics runs (issue 11's target: at most 3). The same metrics in DuckDB
//! (`duckdb_metrics.py`: the SQL of `queries/` over the same Parquet files),
//! checked to give devex's numbers, are the yardstick for `devex metrics`
//! (issue 28's target, with the derived facts current: at most 0.5x DuckDB's
//! time; also timed with the facts put aside). Then `devex effect --by team` with
//! 999 replicates against one `devex trends --by team` over the same 8
//! quarters (issue 25's target: at most 3x, peak RSS at most 1 GiB).

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{devex, measure, median, mib, org_lake};

fn main() {
    let (root, data) = org_lake();

    let metrics = metrics_runs(&data, "facts current");
    // The same lake with its derived facts put aside: every view computed from the tables.
    let facts = data.join("_facts");
    let aside = root.join("facts-aside");
    let _ = std::fs::remove_dir_all(&aside);
    std::fs::rename(&facts, &aside).expect("put the facts aside");
    let inline = metrics_runs(&data, "without facts");
    std::fs::rename(&aside, &facts).expect("put the facts back");
    println!("metrics --by team: with facts / without = {:.2}x", metrics / inline);
    duckdb_metrics(&data, &root, metrics, inline);

    // The scorecard of the last quarter with 8 quarters of trend, over the same lake.
    let site = root.join("site");
    let (wall, rss) = measure(
        Command::new(devex())
            .arg("--data")
            .arg(&data)
            .args(["report", "--quarter", "2026-Q3", "--quarters", "8", "--out"])
            .arg(&site)
            .stdout(Stdio::null()),
    );
    println!(
        "report (8 quarters, every team page): {:.3} s wall, peak RSS {:.0} MiB = {:.1}x one metrics run (target <= 3x)",
        wall.as_secs_f64(),
        mib(rss),
        wall.as_secs_f64() / metrics
    );
    effect_against_trends(&data);
}

/// `devex metrics --by team` over the two years, three times: the median wall time.
fn metrics_runs(data: &Path, label: &str) -> f64 {
    let mut walls = Vec::new();
    let mut peak = 0;
    for run in 1..=3 {
        let (wall, rss) = measure(
            Command::new(devex())
                .arg("--data")
                .arg(data)
                .args(["metrics", "--by", "team", "--from", "2024-10-01", "--to", "2026-10-01", "--format", "json"])
                .stdout(Stdio::null()),
        );
        eprintln!(
            "metrics --by team (two years, {label}), run {run}: {:.3} s wall, peak RSS {:.0} MiB",
            wall.as_secs_f64(),
            mib(rss)
        );
        walls.push(wall.as_secs_f64());
        peak = peak.max(rss);
    }
    let metrics = median(walls.clone());
    println!(
        "metrics --by team over two years, {label}: median {metrics:.3} s wall (min {:.3}, max {:.3}), peak RSS {:.0} MiB",
        walls.iter().copied().fold(f64::INFINITY, f64::min),
        walls.iter().copied().fold(0.0, f64::max),
        mib(peak)
    );
    metrics
}

/// `devex effect --by team` (999 replicates) against `devex trends --by team`, 8 quarters each.
fn effect_against_trends(data: &Path) {
    let run = |args: &[&str]| {
        let mut walls = Vec::new();
        let mut peak = 0;
        for _ in 0..3 {
            let (wall, rss) = measure(Command::new(devex()).arg("--data").arg(data).args(args).stdout(Stdio::null()));
            walls.push(wall.as_secs_f64());
            peak = peak.max(rss);
        }
        (median(walls), peak)
    };
    let (trends, trends_rss) = run(&["trends", "--by", "team", "--quarters", "8", "--format", "csv"]);
    let (effect, effect_rss) =
        run(&["effect", "--by", "team", "--quarters", "8", "--replicates", "999", "--format", "json"]);
    println!(
        "effect --by team (999 replicates, 8 quarters): median {effect:.3} s wall, peak RSS {:.0} MiB; \
         trends --by team: {trends:.3} s, {:.0} MiB; effect / trends = {:.2}x (target <= 3x, <= 1024 MiB)",
        mib(effect_rss),
        mib(trends_rss),
        effect / trends
    );
}

/// `devex metrics --by team` over the two years in DuckDB, three times (median), against
/// devex's median; first checks that both give the same numbers.
fn duckdb_metrics(data: &Path, root: &Path, devex_median: f64, without_facts: f64) {
    if !Command::new("python3").args(["-c", "import duckdb"]).status().is_ok_and(|s| s.success()) {
        println!("duckdb: not installed (python3 -m pip install duckdb), no metrics ratio");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/duckdb_metrics.py");
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries");
    let out = root.join("duckdb-metrics.json");
    let mut walls = Vec::new();
    let mut peak = 0;
    for _ in 0..3 {
        let (wall, rss) = measure(
            Command::new("python3")
                .arg(&script)
                .arg(data)
                .arg(&queries)
                .args(["2024-10-01T00:00:00Z", "2026-10-01T00:00:00Z", "team", "UTC"])
                .arg(&out),
        );
        walls.push(wall.as_secs_f64());
        peak = peak.max(rss);
    }
    let devex_csv = Command::new(devex())
        .arg("--data")
        .arg(data)
        .args(["metrics", "--by", "team", "--from", "2024-10-01", "--to", "2026-10-01", "--format", "csv"])
        .output()
        .expect("devex metrics");
    let compared = same_numbers(&String::from_utf8_lossy(&devex_csv.stdout), &std::fs::read_to_string(&out).unwrap());
    let duck = median(walls);
    println!(
        "metrics --by team, same SQL in DuckDB on the same Parquet: median {duck:.3} s wall, peak RSS {:.0} MiB; \
         devex / duckdb = {:.2}x with the facts current (target <= 0.5x), {:.2}x without; {compared}",
        mib(peak),
        devex_median / duck,
        without_facts / duck
    );
}

/// Whether devex's CSV rows and DuckDB's JSON rows hold the same numbers: counts, bands and
/// texts equal, values to 1e-12 relative. Percentiles to 1e-5: DataFusion 55 rounds
/// percentile_cont's interpolation weight down to 6 decimals (its `INTERPOLATION_PRECISION`).
fn same_numbers(csv: &str, json: &str) -> String {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(json).expect("duckdb json");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let devex: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(devex.len(), rows.len(), "devex and DuckDB give different groups");
    let mut checked = 0;
    for (d, k) in devex.iter().zip(&rows) {
        for (name, value) in header.iter().zip(d) {
            let theirs = &k[*name];
            let same = match theirs {
                serde_json::Value::Null => value.is_empty(),
                serde_json::Value::Bool(b) => *value == b.to_string(),
                serde_json::Value::Number(n) => value.parse::<f64>().is_ok_and(|v| {
                    let n = n.as_f64().unwrap();
                    let tolerance = if name.ends_with("_p50") || name.ends_with("_p90") { 1e-5 } else { 1e-12 };
                    (v - n).abs() <= tolerance * n.abs().max(1.0)
                }),
                serde_json::Value::String(s) => value == s,
                other => panic!("unexpected DuckDB value {other}"),
            };
            assert!(same, "{name} of {}: devex {value}, DuckDB {theirs}", d[0]);
            checked += 1;
        }
    }
    format!("{checked} values of {} groups equal", rows.len())
}
