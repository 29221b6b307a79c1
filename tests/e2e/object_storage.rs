//! `--data` with a URL: never a local path; reading a lake on S3 (a local
//! `moto_server`) gives the numbers of the same lake on disk.

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::util::{Workspace, sample_demo};

/// `devex --data DATA ARGS` in the workspace.
fn devex_at(ws: &Workspace, data: &str, args: &[&str]) -> Output {
    ws.process(data).args(args).output().unwrap()
}

/// `--data s3://…` is refused by the one command that needs a local
/// directory (`demo`), and nothing is created locally (a URL used to become
/// `./s3:/lake/org/_state`); an unknown scheme is refused by name.
#[test]
fn a_url_never_becomes_a_local_directory() {
    let ws = Workspace::new();
    let out = devex_at(&ws, "s3://lake/org", &["demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("s3://lake/org") && stderr.contains("local directory"), "{stderr}");
    let out = devex_at(&ws, "ftp://host/lake", &["metrics"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown scheme `ftp`"), "{stderr}");
    let made: Vec<_> = std::fs::read_dir(ws.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(made.is_empty(), "{made:?}");
}

/// A `moto_server` (S3 on loopback), killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `moto_server`, or `None` when it is not installed (an error under
/// DEVEX_S3_TESTS=required, which `.ci/run` sets after installing it).
pub fn moto() -> Option<Moto> {
    if Command::new("moto_server").arg("--help").output().is_err() {
        assert!(
            std::env::var_os("DEVEX_S3_TESTS").is_none_or(|v| v != "required"),
            "DEVEX_S3_TESTS=required but moto_server is missing: python3 -m pip install 'moto[server]'"
        );
        eprintln!("moto_server is not installed: skipping (python3 -m pip install 'moto[server]')");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(moto);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto_server did not start on port {port}");
}

/// Run a boto3 script (moto's own dependency) against moto: `s3` is a client.
fn boto(moto: &Moto, body: &str, args: &[&str]) -> String {
    let script = format!(
        "import sys, boto3\ns3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\nargs = sys.argv[2:]\n{body}"
    );
    let out = Command::new("python3").args(["-c", &script, &moto.endpoint]).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The keys under `s3://bucket/prefix`.
pub fn keys(moto: &Moto, bucket: &str, prefix: &str) -> Vec<String> {
    boto(
        moto,
        "for page in s3.get_paginator('list_objects_v2').paginate(Bucket=args[0], Prefix=args[1]):\n    \
         for o in page.get('Contents', []): print(o['Key'])",
        &[bucket, prefix],
    )
    .lines()
    .map(String::from)
    .collect()
}

/// Copy the directory `dir` to `s3://bucket/prefix` with boto3 (moto's own dependency).
pub fn upload(moto: &Moto, dir: &std::path::Path, bucket: &str, prefix: &str) {
    let script = r#"
import os, sys, boto3
endpoint, root, bucket, prefix = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket=bucket)
n = 0
for base, _, files in os.walk(root):
    for f in files:
        path = os.path.join(base, f)
        s3.upload_file(path, bucket, prefix + "/" + os.path.relpath(path, root))
        n += 1
print(n)
"#;
    let out =
        Command::new("python3").args(["-c", script, &moto.endpoint]).arg(dir).args([bucket, prefix]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `devex --data DATA` against moto, with S3's standard environment.
pub fn s3_process(ws: &Workspace, moto: &Moto, data: &str) -> Command {
    let mut cmd = ws.process(data);
    cmd.env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1");
    cmd
}

/// `devex --data s3://... ARGS` against moto, with S3's standard environment.
fn devex_s3(ws: &Workspace, moto: &Moto, data: &str, args: &[&str]) -> Output {
    s3_process(ws, moto, data).args(args).output().unwrap()
}

/// Stdout of a command that must succeed.
fn ok(out: &Output, what: &str) -> String {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The bundled sample data, by table.
fn sample(name: &str) -> String {
    format!("{}/../../sample-data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Every writing command works on S3 as on disk: the sample data imported
/// into S3 and into a directory gives the same metrics; `ingest` keeps its
/// run log and the files source's state in the bucket, `status` reads them
/// back, and `maintain` compacts the tables without changing a number.
#[test]
fn import_ingest_status_and_maintain_write_a_lake_on_s3() {
    let Some(moto) = moto() else { return };
    boto(&moto, "s3.create_bucket(Bucket='lake')", &[]);
    let ws = Workspace::new();
    let local = ws.path().join("local").to_string_lossy().into_owned();
    for (table, file) in [
        ("deployments", "deployments.csv"),
        ("changes", "changes.csv"),
        ("incidents", "incidents.ndjson"),
        ("services", "services.csv"),
    ] {
        for data in ["s3://lake/org", local.as_str()] {
            let out = s3_process(&ws, &moto, data).args(["import", table, &sample(file)]).output().unwrap();
            ok(&out, &format!("import {table} into {data}"));
        }
    }
    let metrics: &[&str] =
        &["metrics", "--from", "2025-01-01", "--to", "2027-01-01", "--by", "team", "--format", "csv"];
    let want = ok(&devex_s3(&ws, &moto, &local, metrics), "local metrics");
    assert!(want.lines().count() > 2, "{want}");
    assert_eq!(ok(&devex_s3(&ws, &moto, "s3://lake/org", metrics), "metrics on s3"), want);
    // A bucket that does not exist: the error names the lake's URL, never a secret.
    let missing = s3_process(&ws, &moto, "s3://no-such-bucket/org")
        .args(["import", "deployments", &sample("deployments.csv")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("deployments at s3://no-such-bucket/org/deployments"), "{stderr}");
    assert!(!stderr.contains("testing"), "{stderr}");
    // Nothing of the S3 lake lands on the local disk.
    let made: Vec<_> = std::fs::read_dir(ws.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(made, vec![std::ffi::OsString::from("local")]);

    // A nightly ingest from a files inbox: its state lives in the bucket.
    let inbox = ws.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(
        inbox.join("deployments-extra.csv"),
        "id,service,environment,status,finished_at\nx1,api,production,success,2026-06-02T10:00:00Z\n",
    )
    .unwrap();
    let config = ws.file(
        "devex.toml",
        &format!("[sources.drop]\ntype = \"files\"\ninbox = \"{}\"\nsettle_secs = 0\n", inbox.display()),
    );
    let with_config = |args: &[&str]| {
        s3_process(&ws, &moto, "s3://lake/org").arg("--config").arg(&config).args(args).output().unwrap()
    };
    ok(&with_config(&["ingest"]), "ingest into s3");
    let state = keys(&moto, "lake", "org/_state/");
    assert!(state.contains(&"org/_state/runs.ndjson".to_string()), "{state:?}");
    assert!(state.contains(&"org/_state/files/drop.json".to_string()), "{state:?}");
    ok(&with_config(&["ingest"]), "a second ingest");
    let status: serde_json::Value =
        serde_json::from_str(&ok(&with_config(&["status", "--format", "json"]), "status on s3")).unwrap();
    assert_eq!(status["runs"].as_array().unwrap().len(), 2, "both runs are in the log: {status}");
    let tables = status["tables"].as_array().unwrap();
    let deployments = tables.iter().find(|t| t["table"] == "deployments").unwrap();
    assert!(deployments["version"].as_u64().unwrap() >= 1, "{status}");
    let count = |data: &str| {
        ok(&devex_s3(&ws, &moto, data, &["sql", "SELECT count(*) FROM deployments", "--format", "csv"]), "count")
    };
    let before = count("s3://lake/org");

    // Maintenance compacts on S3; the numbers do not move.
    let maintained = with_config(&["maintain"]);
    let log = String::from_utf8_lossy(&maintained.stderr).into_owned();
    ok(&maintained, "maintain on s3");
    assert!(log.contains("deployments") && log.contains("s3://lake/org"), "{log}");
    assert_eq!(count("s3://lake/org"), before);
    assert_eq!(
        ok(
            &devex_s3(
                &ws,
                &moto,
                "s3://lake/org",
                &["sql", "SELECT count(*) FROM deployments WHERE id = 'x1'", "--format", "csv"]
            ),
            "x1"
        ),
        "count(*)\n1\n"
    );
}

/// Deployment rows `id,…` for ids `from..to`, with `status`.
fn deployments_csv(from: usize, to: usize, status: &str) -> String {
    let mut csv = String::from("id,service,environment,status,finished_at\n");
    for i in from..to {
        csv.push_str(&format!("d{i},svc{},production,{status},2026-0{}-1{}T10:00:00Z\n", i % 7, 1 + i % 6, i % 10));
    }
    csv
}

/// Two imports into the same table at once, on S3 (no lock there): both
/// staged from the same version, the second to commit finds the table moved
/// and merges. Both land; the 1,000 identities both wrote are not duplicated.
#[test]
fn two_concurrent_imports_on_s3_both_land_and_nothing_is_duplicated() {
    let Some(moto) = moto() else { return };
    boto(&moto, "s3.create_bucket(Bucket='lake')", &[]);
    let ws = Workspace::new();
    let a = ws.file("a.csv", &deployments_csv(0, 2000, "success"));
    let b = ws.file("b.csv", &deployments_csv(1000, 3000, "failure"));
    // Debug builds pause before committing: both stage before either commits.
    let start = |file: &std::path::Path, pause_ms: &str| {
        s3_process(&ws, &moto, "s3://lake/org")
            .env("DEVEX_TEST_PAUSE_BEFORE_COMMIT_MS", pause_ms)
            .args(["import", "deployments"])
            .arg(file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = start(&a, "1500");
    let second = start(&b, "5000");
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    ok(&first, "first import");
    ok(&second, "second import");
    let sql = "SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(CASE WHEN status = 'failure' THEN 1 ELSE 0 END) AS failed FROM deployments";
    let got = ok(&devex_s3(&ws, &moto, "s3://lake/org", &["sql", sql, "--format", "csv"]), "count");
    // 3,000 identities once each; the second import's rows won on the overlap.
    assert_eq!(got, "n,ids,failed\n3000,3000,2000\n");
    // The log shows the second writer's MERGE after the first's append.
    let logs: Vec<String> =
        keys(&moto, "lake", "org/deployments/_delta_log/").into_iter().filter(|k| k.ends_with(".json")).collect();
    let last = boto(
        &moto,
        "print(s3.get_object(Bucket='lake', Key=args[0])['Body'].read().decode())",
        &[logs.iter().max().unwrap()],
    );
    assert!(last.contains("\"operation\":\"MERGE\""), "{last}");
}

/// A writer killed after writing its data files but before committing them
/// leaves the table as it was: readable, with none of its rows, and a rerun
/// of the same import lands them once.
#[test]
fn a_killed_writer_on_s3_leaves_the_table_readable() {
    let Some(moto) = moto() else { return };
    boto(&moto, "s3.create_bucket(Bucket='lake')", &[]);
    let ws = Workspace::new();
    let first = ws.file("first.csv", &deployments_csv(0, 100, "success"));
    ok(&devex_s3(&ws, &moto, "s3://lake/org", &["import", "deployments", first.to_str().unwrap()]), "first import");
    let parquet = |keys: Vec<String>| keys.into_iter().filter(|k| k.ends_with(".parquet")).count();
    let files_before = parquet(keys(&moto, "lake", "org/deployments/"));
    let big = ws.file("big.csv", &deployments_csv(50, 5000, "failure"));
    let mut killed = s3_process(&ws, &moto, "s3://lake/org")
        .env("DEVEX_TEST_PAUSE_BEFORE_COMMIT_MS", "60000")
        .args(["import", "deployments"])
        .arg(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until its data files are in the bucket, then kill it before it commits.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while parquet(keys(&moto, "lake", "org/deployments/")) == files_before {
        assert!(std::time::Instant::now() < deadline, "the writer never wrote a data file");
        std::thread::sleep(Duration::from_millis(200));
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let sql = &[
        "sql",
        "SELECT count(*) AS n, sum(CASE WHEN status = 'failure' THEN 1 ELSE 0 END) AS failed FROM deployments",
        "--format",
        "csv",
    ][..];
    assert_eq!(ok(&devex_s3(&ws, &moto, "s3://lake/org", sql), "after the kill"), "n,failed\n100,0\n");
    ok(&devex_s3(&ws, &moto, "s3://lake/org", &["import", "deployments", big.to_str().unwrap()]), "rerun");
    assert_eq!(ok(&devex_s3(&ws, &moto, "s3://lake/org", sql), "after the rerun"), "n,failed\n5000,4950\n");
}

/// The sample organisation's lake copied to S3 reads as the same numbers:
/// metrics, trends and ad-hoc SQL.
#[test]
fn a_lake_on_s3_gives_the_numbers_of_the_same_lake_on_disk() {
    let Some(moto) = moto() else { return };
    let demo = sample_demo();
    upload(&moto, &demo.ws.data(), "lake", "org");
    let ws = Workspace::new();
    for args in [
        &["metrics", "--from", "2026-01-01", "--to", "2026-07-01", "--by", "team", "--format", "csv"][..],
        &["trends", "--quarters", "4", "--format", "csv"],
        &["sql", "SELECT service, count(*) AS n FROM deployments GROUP BY service ORDER BY service", "--format", "csv"],
    ] {
        let local = demo.ws.devex().args(args).output().unwrap();
        assert_eq!(local.status.code(), Some(0), "{}", String::from_utf8_lossy(&local.stderr));
        let remote = devex_s3(&ws, &moto, "s3://lake/org", args);
        assert_eq!(remote.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&remote.stderr));
        assert!(local.stdout.len() > 100, "{args:?}: {}", String::from_utf8_lossy(&local.stdout));
        assert_eq!(String::from_utf8_lossy(&remote.stdout), String::from_utf8_lossy(&local.stdout), "{args:?}");
    }
    // A prefix with no lake reads as empty tables, and nothing appears locally.
    let empty =
        devex_s3(&ws, &moto, "s3://lake/nothing-here", &["sql", "SELECT count(*) FROM deployments", "--format", "csv"]);
    assert_eq!(empty.status.code(), Some(0), "{}", String::from_utf8_lossy(&empty.stderr));
    assert_eq!(String::from_utf8_lossy(&empty.stdout).lines().nth(1), Some("0"));
    assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0, "nothing is written locally");
    // Missing bucket: the error names the URL, and no secret is printed.
    let missing = devex_s3(&ws, &moto, "s3://no-such-bucket/org", &["metrics"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_ne!(missing.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("s3://no-such-bucket/org"), "{stderr}");
    assert!(!stderr.contains("testing"), "{stderr}");
}
