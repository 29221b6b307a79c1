//! Test harness: a temp workspace, the binary, and SQL read-back.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use assert_cmd::Command;
use datafusion::arrow::util::display::array_value_to_string;
use tempfile::TempDir;

/// A temp dir with a data dir inside; the binary runs with it as cwd.
pub struct Workspace {
    root: PathBuf,
    /// Removed on drop (absent for the shared sample, which lives in the target dir).
    _dir: Option<TempDir>,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir");
        Workspace { root: dir.path().to_path_buf(), _dir: Some(dir) }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn data(&self) -> PathBuf {
        self.root.join("lake")
    }

    /// Write a file under the workspace, returning its path.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `devex --data <lake> ARGS...`, with no DEVEX_* from the environment.
    pub fn devex(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_devex"));
        cmd.current_dir(self.path())
            .env_remove("DEVEX_CONFIG")
            .env_remove("DEVEX_DATA")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .arg("--data")
            .arg(self.data());
        cmd
    }

    /// `devex --data DATA` as a plain process (to spawn and keep, or to point
    /// at another lake, e.g. a URL), with no DEVEX_* from the environment.
    pub fn process(&self, data: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_devex"));
        cmd.current_dir(self.path())
            .env_remove("DEVEX_CONFIG")
            .env_remove("DEVEX_DATA")
            .env_remove("DEVEX_SERVE_PASSWORD")
            .arg("--data")
            .arg(data);
        cmd
    }

    /// Run `devex import TABLE FILES... --format json`; the exit code and per-table reports.
    pub fn import(&self, table: &str, files: &[&Path], extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
        let out =
            self.devex().arg("import").arg(table).args(files).args(["--format", "json"]).args(extra).output().unwrap();
        let reports = reports(&out);
        (out.status.code().unwrap_or(-1), reports, String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Rows of a query, each value rendered as text (`""` for null).
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        query(&self.data(), sql)
    }
}

/// The repository's root (README.md, .ci/, Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The bundled sample organisation.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample-data")
}

/// `devex demo` over the bundled sample, run once per test binary and shared by
/// the tests that only read its lake, output and scorecard (the sample's import
/// and 8-quarter report are the slowest thing the suite does).
pub struct SampleDemo {
    pub ws: Workspace,
    /// `--report-out`.
    pub site: PathBuf,
    pub stdout: String,
    pub stderr: String,
}

pub fn sample_demo() -> &'static SampleDemo {
    static DEMO: OnceLock<SampleDemo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-sample-demo");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("sample demo dir");
        let ws = Workspace { root, _dir: None };
        let site = ws.path().join("site");
        let out = ws.devex().arg("demo").arg("--sample").arg(sample_dir()).arg("--report-out").arg(&site).output();
        let out = out.expect("run devex demo");
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        SampleDemo { ws, site, stdout, stderr }
    })
}

/// The JSON reports on stdout.
pub fn reports(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// (read, written, replaced, quarantined) of a report.
pub fn counts(report: &serde_json::Value) -> (u64, u64, u64, u64) {
    let n = |k: &str| report[k].as_u64().unwrap_or_else(|| panic!("no {k} in {report}"));
    (n("read"), n("written"), n("replaced"), n("quarantined"))
}

/// Read the lake through a fresh DataFusion session.
pub fn query(data: &Path, sql: &str) -> Vec<Vec<String>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let session = devex_query::LakeSession::open(data).await.expect("open lake");
        let batches = session.sql(sql).await.expect("plan").collect().await.expect("run");
        let mut rows = Vec::new();
        for b in batches {
            for r in 0..b.num_rows() {
                rows.push(
                    b.columns()
                        .iter()
                        .map(|c| if c.is_null(r) { String::new() } else { array_value_to_string(c, r).unwrap() })
                        .collect(),
                );
            }
        }
        rows
    })
}

/// The Delta version of a table, by listing its log.
pub fn delta_version(data: &Path, table: &str) -> Option<u64> {
    let log = data.join(table).join("_delta_log");
    std::fs::read_dir(log)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".json")?.parse::<u64>().ok())
        .max()
}

pub fn rows(v: &[&[&str]]) -> Vec<Vec<String>> {
    v.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
}

/// A local API server (wiremock) on its own runtime's threads, so it answers
/// while the test drives the binary; mount the API with `rt.block_on(...)`.
pub fn mock_server() -> (tokio::runtime::Runtime, wiremock::MockServer) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(wiremock::MockServer::start());
    (rt, server)
}

/// `devex metrics --from FROM --to TO --format json` for the organisation: its one group.
pub fn org_metrics(ws: &Workspace, from: &str, to: &str) -> serde_json::Value {
    let out = ws.devex().args(["metrics", "--from", from, "--to", to, "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["groups"][0].clone()
}

/// The secret is in none of the outputs and no file under `<data>/_state`.
pub fn assert_secret_absent(secret: &str, outputs: &[&Output], data: &Path) {
    for out in outputs {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret), "the secret is in stdout");
        assert!(!String::from_utf8_lossy(&out.stderr).contains(secret), "the secret is in stderr");
    }
    for p in files_under(&data.join("_state")) {
        assert!(!String::from_utf8_lossy(&std::fs::read(&p).unwrap()).contains(secret), "{}", p.display());
    }
}

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
