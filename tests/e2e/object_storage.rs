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

/// `--data s3://…` is refused for what cannot use object storage, and nothing
/// is created locally (it used to make `./s3:/lake/org/_state`); an unknown
/// scheme is refused by name.
#[test]
fn a_url_never_becomes_a_local_directory() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("inbox")).unwrap();
    std::fs::write(ws.path().join("devex.toml"), "[sources.drop]\ntype = \"files\"\ninbox = \"inbox\"\n").unwrap();
    let csv =
        ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-02T10:00:00Z\n");
    for args in [vec!["import", "deployments", csv.to_str().unwrap()], vec!["ingest"], vec!["status"], vec!["maintain"]]
    {
        let out = devex_at(&ws, "s3://lake/org", &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("s3://lake/org") && stderr.contains("need a local directory"), "{args:?}: {stderr}");
    }
    let out = devex_at(&ws, "ftp://host/lake", &["metrics"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown scheme `ftp`"), "{stderr}");
    let made: Vec<_> = std::fs::read_dir(ws.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(
        !made.iter().any(|n| n.to_string_lossy().starts_with("s3") || n.to_string_lossy().starts_with("ftp")),
        "{made:?}"
    );
}

/// A `moto_server` (S3 on loopback), killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `moto_server`, or `None` when it is not installed (an error under
/// DEVEX_S3_TESTS=required, which `.ci/run` sets after installing it).
fn moto() -> Option<Moto> {
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

/// Copy the directory `dir` to `s3://bucket/prefix` with boto3 (moto's own dependency).
fn upload(moto: &Moto, dir: &std::path::Path, bucket: &str, prefix: &str) {
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

/// `devex --data s3://... ARGS` against moto, with S3's standard environment.
fn devex_s3(ws: &Workspace, moto: &Moto, data: &str, args: &[&str]) -> Output {
    ws.process(data)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .args(args)
        .output()
        .unwrap()
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
