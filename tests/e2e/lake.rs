//! The lake's guarantees under stress: a writer killed mid-write, concurrent
//! writers, the lock timeout, and maintenance with time travel.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Workspace, counts, delta_version, query, rows};

fn parquet_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out
}

/// A changes file of `n` rows spread over 24 months.
fn big_changes_file(ws: &Workspace, name: &str, n: usize) -> std::path::PathBuf {
    let path = ws.path().join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "repo,sha,service,committed_at,deployment_id,author").unwrap();
    for i in 0..n {
        let month = i % 24;
        writeln!(
            f,
            "repo-{},{:040x},svc-{},{}-{:02}-{:02}T10:00:00Z,dep-{},dev-{}",
            i % 50,
            i,
            i % 50,
            2024 + month / 12,
            month % 12 + 1,
            i % 28 + 1,
            i / 3,
            i % 97
        )
        .unwrap();
    }
    f.flush().unwrap();
    path
}

#[test]
fn sigkill_mid_write_leaves_the_previous_version_and_the_next_import_succeeds() {
    let ws = Workspace::new();
    let small = ws.file(
        "small.csv",
        "repo,sha,service,committed_at\nr,s1,api,2026-03-01T09:00:00Z\nr,s2,api,2026-03-02T09:00:00Z\n",
    );
    let (code, _, stderr) = ws.import("changes", &[&small], &[]);
    assert_eq!(code, 0, "{stderr}");
    let before = delta_version(&ws.data(), "changes").unwrap();
    let files_before = parquet_files(&ws.data().join("changes")).len();
    let big = big_changes_file(&ws, "big.csv", 400_000);

    let mut child = Command::new(env!("CARGO_BIN_EXE_devex"))
        .arg("--data")
        .arg(ws.data())
        .args(["import", "changes"])
        .arg(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as it has started writing data files (before its commit).
    let start = Instant::now();
    while parquet_files(&ws.data().join("changes")).len() == files_before {
        if start.elapsed() > Duration::from_secs(120) || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import was killed, not finished");

    let after = delta_version(&ws.data(), "changes").unwrap();
    assert_eq!(after, before, "a killed writer commits nothing");
    assert_eq!(
        query(&ws.data(), "SELECT sha FROM changes ORDER BY sha"),
        rows(&[&["s1"], &["s2"]]),
        "the previous version is intact and readable"
    );

    // The lock died with the process: the next import goes through at once.
    let (code, reports, stderr) = ws.import("changes", &[&big], &["--lock-timeout", "0"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&reports[0]), (400_000, 400_000, 0, 0));
    assert_eq!(query(&ws.data(), "SELECT count(*) FROM changes"), rows(&[&["400002"]]));
}

#[test]
fn concurrent_imports_serialise() {
    let ws = Workspace::new();
    let header = "id,service,environment,status,finished_at\n";
    let a: String =
        (0..200).map(|i| format!("a{i},api,production,success,2026-03-{:02}T10:00:00Z\n", i % 28 + 1)).collect();
    let b: String =
        (0..200).map(|i| format!("b{i},web,production,success,2026-04-{:02}T10:00:00Z\n", i % 28 + 1)).collect();
    let fa = ws.file("a.csv", &format!("{header}{a}"));
    let fb = ws.file("b.csv", &format!("{header}{b}"));
    let spawn = |f: &Path| {
        Command::new(env!("CARGO_BIN_EXE_devex"))
            .arg("--data")
            .arg(ws.data())
            .args(["import", "deployments", "--format", "json"])
            .arg(f)
            .output()
    };
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| spawn(&fa).unwrap());
        let hb = s.spawn(|| spawn(&fb).unwrap());
        (ha.join().unwrap(), hb.join().unwrap())
    });
    for r in [&ra, &rb] {
        assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let mut versions: Vec<u64> =
        [&ra, &rb].iter().map(|r| crate::util::reports(r)[0]["version"].as_u64().unwrap()).collect();
    versions.sort();
    assert_eq!(versions[1], versions[0] + 1, "one commit after the other: {versions:?}");
    assert_eq!(
        query(&ws.data(), "SELECT service, count(*) FROM deployments GROUP BY service ORDER BY service"),
        rows(&[&["api", "200"], &["web", "200"]])
    );
}

#[test]
fn a_held_lock_times_out_naming_the_holder() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.data()).unwrap();
    let _held = devex_lake::lock::WriterLock::acquire(
        &devex_model::location::Location::Local(ws.data()),
        Duration::ZERO,
        |_| {},
    )
    .unwrap();
    let f =
        ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\n");
    let started = Instant::now();
    let (code, reports, stderr) = ws.import("deployments", &[&f], &["--lock-timeout", "1"]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(code, 2, "{stderr}");
    assert!(reports.is_empty());
    assert!(stderr.contains(&format!("pid {}", std::process::id())), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!ws.data().join("deployments").exists());
}

#[test]
fn maintain_compacts_and_time_travel_keeps_working() {
    let ws = Workspace::new();
    let header = "id,service,environment,status,finished_at\n";
    for i in 0..4 {
        let body: String =
            (0..10).map(|j| format!("d{i}-{j},api,production,success,2026-03-{:02}T10:00:00Z\n", j + 1)).collect();
        let f = ws.file(&format!("n{i}.csv"), &format!("{header}{body}"));
        let (code, _, stderr) = ws.import("deployments", &[&f], &[]);
        assert_eq!(code, 0, "{stderr}");
    }
    let table = ws.data().join("deployments");
    let files_before = parquet_files(&table).len();
    assert!(files_before >= 4, "one file per import: {files_before}");

    let out = ws.devex().args(["maintain"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(query(&ws.data(), "SELECT count(*) FROM deployments"), rows(&[&["40"]]));
    // Within the retention, the first import's version is still readable.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let first = rt.block_on(async {
        let s = devex_query::LakeSession::open_as_of(ws.data(), devex_query::AsOf::Version(1)).await.unwrap();
        let b = s.sql("SELECT count(*) AS n FROM deployments").await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::display::array_value_to_string(b[0].column(0), 0).unwrap()
    });
    assert_eq!(first, "10");

    // A retention under a week needs --force: it vacuums the files time travel needs.
    let compacted = parquet_files(&table).len();
    let out = ws.devex().args(["maintain", "--retention-days", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error:") && stderr.contains("hint:") && stderr.contains("--force"), "{stderr}");
    assert_eq!(parquet_files(&table).len(), compacted, "nothing vacuumed");

    // With no retention (forced), the compacted-away files are deleted.
    let out = ws.devex().args(["maintain", "--retention-days", "0", "--force"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let files_after = parquet_files(&table).len();
    assert_eq!(files_after, 1, "compacted into one file, the rest vacuumed (was {files_before})");
    assert_eq!(query(&ws.data(), "SELECT count(*) FROM deployments"), rows(&[&["40"]]));
}
