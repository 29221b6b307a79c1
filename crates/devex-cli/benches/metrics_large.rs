//! `just bench`: the large-organisation benchmark of the query layer.
//!
//! Generates an organisation with at least 2 million changes, 700 thousand
//! deployments and 40 thousand incidents (cached under the target dir), imports
//! it with the release `devex` binary, then times `devex metrics --by team`
//! over its two years, printing wall time and peak RSS (from `wait4`).
//! Target: under 2 s wall and under 1 GiB peak RSS on a 2-core machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn target_dir() -> PathBuf {
    // benches run from the package dir; the binary sits in <target>/release/.
    Path::new(env!("CARGO_BIN_EXE_devex")).parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

/// Run a command, returning (wall time, peak RSS in bytes).
fn measure(cmd: &mut Command) -> (Duration, u64) {
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; `pid` is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{cmd:?} failed: status {status}");
    std::mem::forget(child);
    (wall, usage.ru_maxrss as u64 * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let devex = env!("CARGO_BIN_EXE_devex");
    let root = target_dir().join("bench-org");
    let files = root.join("files");
    let data = root.join("lake");
    let marker = root.join("imported");
    let opts = devex_synth::Options { scale: 100, commits_mean: 3.0, ..Default::default() };

    if !marker.is_file() {
        let _ = std::fs::remove_dir_all(&root);
        let t = Instant::now();
        let stats = devex_synth::generate(&opts, &files).expect("generate");
        eprintln!("generated {stats} in {:.1} s", t.elapsed().as_secs_f64());
        assert!(stats.changes >= 2_000_000 && stats.deployments >= 700_000 && stats.incidents >= 40_000, "{stats}");
        for (table, file) in [
            ("services", "services.csv"),
            ("deployments", "deployments.csv"),
            ("changes", "changes.csv"),
            ("incidents", "incidents.ndjson"),
        ] {
            let (wall, rss) = measure(
                Command::new(devex)
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
            Command::new(devex)
                .arg("--data")
                .arg(&data)
                .args(["metrics", "--by", "team", "--from", "2024-10-01", "--to", "2026-10-01", "--format", "json"])
                .stdout(std::process::Stdio::null()),
        );
        eprintln!(
            "metrics --by team (two years), run {run}: {:.3} s wall, peak RSS {:.0} MiB",
            wall.as_secs_f64(),
            mib(rss)
        );
        walls.push(wall.as_secs_f64());
        peak = peak.max(rss);
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "metrics --by team over two years: median {:.3} s wall (min {:.3}, max {:.3}), peak RSS {:.0} MiB (target < 2 s, < 1024 MiB)",
        walls[1],
        walls[0],
        walls[2],
        mib(peak)
    );
}
