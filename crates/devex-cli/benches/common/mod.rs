//! What the benchmarks share: timing a child process (wall and peak RSS), and
//! the large organisation, generated once and cached under the target dir.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub fn target_dir() -> PathBuf {
    // benches run from the package dir; the binary sits in <target>/release/.
    Path::new(env!("CARGO_BIN_EXE_devex")).parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

pub fn devex() -> &'static str {
    env!("CARGO_BIN_EXE_devex")
}

/// Run a command, returning (wall time, peak RSS in bytes).
pub fn measure(cmd: &mut Command) -> (Duration, u64) {
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

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The large organisation's export files (>= 2M changes, 700k deployments,
/// 40k incidents), generated once into `<target>/bench-org/files`.
pub fn org_files() -> PathBuf {
    let root = target_dir().join("bench-org");
    let files = root.join("files");
    let marker = root.join("generated");
    if !marker.is_file() && !root.join("imported").is_file() {
        let _ = std::fs::remove_dir_all(&files);
        let opts = devex_synth::Options { scale: 100, commits_mean: 3.0, ..Default::default() };
        let t = Instant::now();
        let stats = devex_synth::generate(&opts, &files).expect("generate");
        eprintln!("generated {stats} in {:.1} s", t.elapsed().as_secs_f64());
        assert!(stats.changes >= 2_000_000 && stats.deployments >= 700_000 && stats.incidents >= 40_000, "{stats}");
        std::fs::write(&marker, "").unwrap();
    }
    files
}

/// Median of three or more timings, in seconds.
pub fn median(mut walls: Vec<f64>) -> f64 {
    walls.sort_by(f64::total_cmp);
    walls[walls.len() / 2]
}

/// The large organisation imported into `<target>/bench-org/lake` (once;
/// later runs reuse it): (bench root, lake).
pub fn org_lake() -> (PathBuf, PathBuf) {
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
    (root, data)
}

/// The seconds of "facts refreshed in X s" in an import's stderr (0 when no fact was refreshed).
pub fn facts_seconds(log: &Path) -> f64 {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines().find_map(|l| l.strip_prefix("facts refreshed in ")?.split(' ').next()?.parse().ok()).unwrap_or(0.0)
}

/// The facts an import refreshed, as its stderr lists them.
pub fn facts_line(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines().find(|l| l.starts_with("facts refreshed in ")).unwrap_or("no fact refreshed").to_string()
}
