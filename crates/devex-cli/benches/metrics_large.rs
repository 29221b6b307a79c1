//! `just bench`: the large-organisation benchmark of the query layer.
//!
//! Generates an organisation with at least 2 million changes, 700 thousand
//! deployments and 40 thousand incidents (cached under the target dir), imports
//! it with the release `devex` binary, then times `devex metrics --by team`
//! over its two years, and `devex report` (8 quarters) over the same lake,
//! printing wall time, peak RSS (from `wait4`) and the report's cost in
//! metrics runs (issue 11's target: at most 3).

mod common;

use std::process::{Command, Stdio};

use common::{devex, measure, median, mib, org_files, target_dir};

fn main() {
    let files = org_files();
    let root = target_dir().join("bench-org");
    let data = root.join("lake");
    let marker = root.join("imported");

    if !marker.is_file() {
        let _ = std::fs::remove_dir_all(&data);
        for (table, file) in [
            ("services", "services.csv"),
            ("deployments", "deployments.csv"),
            ("changes", "changes.csv"),
            ("incidents", "incidents.ndjson"),
        ] {
            let (wall, rss) = measure(
                Command::new(devex())
                    .arg("--data")
                    .arg(&data)
                    .args(["import", table])
                    .arg(files.join(file))
                    .arg("--format")
                    .arg("json"),
            );
            eprintln!("import {table:<12} {:>7.1} s  peak RSS {:>7.0} MiB", wall.as_secs_f64(), mib(rss));
        }
        std::fs::write(&marker, "").unwrap();
    } else {
        eprintln!("reusing the imported organisation in {}", root.display());
    }

    let mut walls = Vec::new();
    let mut peak = 0;
    for run in 1..=3 {
        let (wall, rss) = measure(
            Command::new(devex())
                .arg("--data")
                .arg(&data)
                .args(["metrics", "--by", "team", "--from", "2024-10-01", "--to", "2026-10-01", "--format", "json"])
                .stdout(Stdio::null()),
        );
        eprintln!(
            "metrics --by team (two years), run {run}: {:.3} s wall, peak RSS {:.0} MiB",
            wall.as_secs_f64(),
            mib(rss)
        );
        walls.push(wall.as_secs_f64());
        peak = peak.max(rss);
    }
    let metrics = median(walls.clone());
    println!(
        "metrics --by team over two years: median {metrics:.3} s wall (min {:.3}, max {:.3}), peak RSS {:.0} MiB (target < 2 s, < 1024 MiB)",
        walls.iter().copied().fold(f64::INFINITY, f64::min),
        walls.iter().copied().fold(0.0, f64::max),
        mib(peak)
    );

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
}
