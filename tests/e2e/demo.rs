//! `devex demo` and `devex init` as a new user runs them.

use crate::util::{Workspace, rows, sample_demo, sample_dir};

#[test]
fn demo_imports_the_sample_and_every_table_reconciles() {
    // The shared run (util::sample_demo); running it again over its own lake is
    // hardening::the_demo_replaces_only_its_own_untouched_lake.
    let demo = sample_demo();
    let (ws, stderr) = (&demo.ws, &demo.stderr);
    for table in
        ["services", "deployments", "changes", "incidents", "survey_responses", "survey_answers", "adoption_events"]
    {
        let line =
            stderr.lines().find(|l| l.starts_with(table)).unwrap_or_else(|| panic!("no line for {table}:\n{stderr}"));
        let n: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        let (read, written, replaced, quarantined) = (n[0], n[1], n[2], n[3]);
        assert_eq!(read, written + replaced + quarantined, "{line}");
        assert!(written > 0, "{line}");
    }
    // The deliberately bad rows are explained, not dropped.
    assert_eq!(ws.query("SELECT count(*) FROM quarantine"), rows(&[&["8"]]));
    // Eight teams, thirty services, eight quarters.
    assert_eq!(ws.query("SELECT count(DISTINCT team), count(*) FROM services"), rows(&[&["8", "30"]]));
    assert_eq!(ws.query("SELECT count(DISTINCT survey) FROM survey_responses"), rows(&[&["8"]]));
}

#[test]
fn demo_refuses_to_replace_a_lake_that_is_not_its_own() {
    let ws = Workspace::new();
    let f =
        ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\n");
    let (code, _, _) = ws.import("deployments", &[&f], &[]);
    assert_eq!(code, 0);
    let out = ws.devex().arg("demo").arg("--sample").arg(sample_dir()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the demo never replaces it") && stderr.contains("hint: pass --data DIR"), "{stderr}");
    assert_eq!(ws.query("SELECT id FROM deployments"), rows(&[&["d1"]]));
}

#[test]
fn init_writes_a_config_every_command_accepts() {
    let ws = Workspace::new();
    let out = ws.devex().arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(ws.path().join("devex.toml")).unwrap();
    assert!(text.contains("timezone = \"UTC\"") && text.contains("lock_timeout_secs = 60"));
    // Refuses to overwrite without --force.
    assert_eq!(ws.devex().arg("init").output().unwrap().status.code(), Some(2));
    // ./devex.toml is picked up: a bad value there is reported with the file name.
    std::fs::write(ws.path().join("devex.toml"), "timezone = \"Nowhere/Land\"\n").unwrap();
    let out = ws.devex().args(["sql", "SELECT 1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("devex.toml") && stderr.contains("Nowhere/Land"), "{stderr}");
}

#[test]
fn sql_errors_list_the_tables() {
    let ws = Workspace::new();
    let out = ws.devex().args(["sql", "SELECT nosuch FROM deployments"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nosuch") && stderr.contains("hint: tables: deployments(id"), "{stderr}");
    let out = ws.devex().args(["sql", "SELECT count(*) AS n FROM incidents", "--format", "csv"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n0\n");
}

#[test]
fn sql_writes_parquet_to_a_file() {
    let ws = Workspace::new();
    let f = ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\nd2,web,production,success,2026-03-05T10:00:00Z\n");
    assert_eq!(ws.import("deployments", &[&f], &[]).0, 0);
    let out_file = ws.path().join("out.parquet");
    let out = ws
        .devex()
        .args([
            "sql",
            "SELECT service, count(*) AS n FROM deployments GROUP BY service",
            "--format",
            "parquet",
            "--output",
        ])
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let n = rt.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        let df = ctx.read_parquet(out_file.to_str().unwrap(), Default::default()).await.unwrap();
        df.count().await.unwrap()
    });
    assert_eq!(n, 2);
    // Parquet to a terminal makes no sense: it needs --output.
    let out = ws.devex().args(["sql", "SELECT 1", "--format", "parquet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output"));
}

/// `devex --version` as the user sees it: `devex 0.1.0 (commit 1a2b3c4d5e6f, built 2026-11-24)`.
fn version_line() -> (String, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_devex")).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8(out.stdout).unwrap();
    let rest = line
        .strip_prefix(&format!("devex {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{line:?}"));
    let (commit, rest) = rest.split_once(", built ").unwrap_or_else(|| panic!("{line:?}"));
    let date = rest.strip_suffix(")\n").unwrap_or_else(|| panic!("{line:?}"));
    (line.trim_end().to_string(), commit.to_string(), date.to_string())
}

#[test]
fn version_names_the_release_the_commit_and_the_build_date() {
    let (line, commit, date) = version_line();
    // The commit this checkout is at (the binary is rebuilt when HEAD moves).
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    assert_eq!(commit, head.unwrap_or_else(|| "unknown".into()), "{line}");
    let built = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap_or_else(|e| panic!("{line}: {e}"));
    assert!(
        built <= chrono::Utc::now().date_naive() && built >= chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        "{line}"
    );
    // -V prints the same, and so does every subcommand's --version.
    let short = std::process::Command::new(env!("CARGO_BIN_EXE_devex")).arg("-V").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&short.stdout).trim_end(), line);
    let sub = std::process::Command::new(env!("CARGO_BIN_EXE_devex")).args(["status", "--version"]).output().unwrap();
    assert!(String::from_utf8_lossy(&sub.stdout).contains(&format!("(commit {commit}, built {date})")));

    // `devex status` shows the same build, first in its human output and under "devex" in JSON.
    let ws = Workspace::new();
    let out = ws.devex().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().next(), Some(line.as_str()));
    let out = ws.devex().args(["status", "--format", "json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["devex"],
        serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "commit": commit, "built": date}),
        "{json}"
    );
}

#[test]
fn an_installed_devex_runs_the_demo_anywhere_and_its_hints_work_as_printed() {
    // devex on PATH, run from a directory with no sample-data: the demo uses the
    // sample organisation built into the binary.
    let ws = Workspace::new();
    let bin = ws.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("devex");
    std::fs::hard_link(env!("CARGO_BIN_EXE_devex"), &exe)
        .or_else(|_| std::fs::copy(env!("CARGO_BIN_EXE_devex"), &exe).map(|_| ()))
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let run = |program: &str, args: &[&str]| {
        let out = std::process::Command::new(program)
            .args(args)
            .current_dir(ws.path())
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env_remove("DEVEX_CONFIG")
            .env_remove("DEVEX_DATA")
            .env_remove("DEVEX_INVOCATION")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        assert_eq!(out.status.code(), Some(0), "{program} {args:?}\n{stderr}");
        (stdout, stderr)
    };
    let (stdout, stderr) = run("devex", &["demo"]);
    assert!(
        stderr.contains("importing the sample organisation from devex-data/_state/demo-sample into devex-data"),
        "{stderr}"
    );
    assert!(stdout.contains("The sample organisation's scorecard:"), "{stdout}");
    assert_eq!(
        crate::util::query(&ws.path().join("devex-data"), "SELECT count(DISTINCT team), count(*) FROM services"),
        rows(&[&["8", "30"]])
    );
    // Every hint, run exactly as printed by a shell, works.
    let hints: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.ends_with("; try:"))
        .skip(1)
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(hints.len(), 2, "{stderr}");
    assert!(hints.iter().all(|h| h.starts_with("devex --data devex-data ")), "{hints:?}");
    let (top, _) = run("sh", &["-c", hints[0]]);
    let most = crate::util::query(
        &ws.path().join("devex-data"),
        "SELECT max(n) FROM (SELECT count(*) AS n FROM deployments GROUP BY service)",
    );
    assert!(top.contains("deploys") && top.contains(&most[0][0]), "{top}");
    run("sh", &["-c", hints[1]]);
    let index = std::fs::read_to_string(ws.path().join("reports/site/index.html")).unwrap();
    assert!(index.contains("Our platform scorecard"));
    // So does the import's: every quarantined row of this run.
    let all = stderr.lines().find_map(|l| l.strip_prefix("all of them: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(all.starts_with("devex --data devex-data sql "), "{all}");
    let (quarantined, _) = run("sh", &["-c", all]);
    assert!(
        quarantined.contains("bad/survey_responses.csv") && quarantined.contains("not an integer"),
        "{quarantined}"
    );
    // A second demo replaces its own lake, unpacked sample included.
    run("devex", &["demo"]);
}
