//! `devex cluster` and `--cluster`: a scheduler and an executor (this
//! binary, on loopback) run the metric SQL over the sample organisation's
//! lake and give the local run's numbers, byte for byte.

use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Workspace, sample_demo};

/// The cluster's processes, killed on drop.
struct Cluster {
    processes: Vec<Child>,
    url: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in &mut self.processes {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Two free consecutive ports (an executor takes its port and the next).
fn free_port_pair() -> u16 {
    loop {
        let port = free_port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scheduler and one executor on loopback.
fn cluster(ws: &Workspace) -> Cluster {
    cluster_with(&|| ws.process(ws.data()))
}

/// A scheduler and one executor on loopback, started by `command` (which
/// sets their environment).
fn cluster_with(command: &dyn Fn() -> std::process::Command) -> Cluster {
    let scheduler = free_port();
    let mut processes = Vec::new();
    let spawn = |args: &[String]| {
        command().arg("cluster").args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
    };
    processes.push(spawn(&["scheduler".into(), "--listen".into(), format!("127.0.0.1:{scheduler}")]));
    wait_for(scheduler);
    let executor = free_port_pair();
    processes.push(spawn(&[
        "executor".into(),
        "--scheduler".into(),
        format!("127.0.0.1:{scheduler}"),
        "--listen".into(),
        format!("127.0.0.1:{executor}"),
        "--concurrent-tasks".into(),
        "2".into(),
    ]));
    wait_for(executor + 1);
    Cluster { processes, url: format!("df://127.0.0.1:{scheduler}") }
}

/// The same metrics and ad-hoc SQL, locally and on the cluster.
#[test]
fn metrics_on_a_ballista_cluster_equal_the_local_run() {
    let demo = sample_demo();
    let cluster = cluster(&demo.ws);
    for args in [
        &["metrics", "--from", "2026-01-01", "--to", "2026-07-01", "--by", "team", "--format", "csv"][..],
        &[
            "sql",
            "SELECT service, count(*) AS n, max(finished_at) AS last FROM deployments GROUP BY service ORDER BY service",
            "--format",
            "csv",
        ],
    ] {
        let local = demo.ws.devex().args(args).output().unwrap();
        assert_eq!(local.status.code(), Some(0), "{}", String::from_utf8_lossy(&local.stderr));
        let remote = demo.ws.devex().arg("--cluster").arg(&cluster.url).args(args).output().unwrap();
        assert_eq!(remote.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&remote.stderr));
        assert!(local.stdout.len() > 100, "{}", String::from_utf8_lossy(&local.stdout));
        assert_eq!(String::from_utf8_lossy(&remote.stdout), String::from_utf8_lossy(&local.stdout), "{args:?}");
    }
    // The metrics run computed each shared view once on the cluster, kept its
    // rows in the lake's scratch directory, and removed them when it ended.
    let remote = demo
        .ws
        .devex()
        .env("RUST_LOG", "devex_query=debug")
        .env("NO_COLOR", "1")
        .args(["--cluster", &cluster.url, "metrics", "--from", "2026-01-01", "--to", "2026-07-01", "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&remote.stderr);
    assert_eq!(remote.status.code(), Some(0), "{stderr}");
    for view in ["deployment_outcome", "lead_time_summary"] {
        let kept = stderr.lines().filter(|l| l.contains("view kept") && l.contains(&format!("view=\"{view}\"")));
        assert_eq!(kept.count(), 1, "{view}: {stderr}");
    }
    let scratch = demo.ws.data().join("_scratch");
    let left: Vec<_> = std::fs::read_dir(&scratch).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", scratch.display());
}

/// A lake on S3 (moto) read by the cluster: the executors resolve the
/// `s3://` files of each snapshot with the standard AWS environment, and the
/// numbers are the local lake's.
#[test]
fn a_cluster_reads_a_lake_on_s3() {
    let Some(moto) = crate::object_storage::moto() else { return };
    let demo = sample_demo();
    crate::object_storage::upload(&moto, &demo.ws.data(), "lake", "org");
    let ws = Workspace::new();
    let cluster = cluster_with(&|| crate::object_storage::s3_process(&ws, &moto, "s3://lake/org"));
    let sql = "SELECT s.team, count(*) AS n, min(d.finished_at) AS first, sum(CASE WHEN d.status = 'failure' THEN 1 ELSE 0 END) AS failed \
               FROM deployments d JOIN services s USING (service) GROUP BY s.team ORDER BY s.team";
    let local = demo.ws.devex().args(["sql", sql, "--format", "csv"]).output().unwrap();
    assert_eq!(local.status.code(), Some(0), "{}", String::from_utf8_lossy(&local.stderr));
    let remote = crate::object_storage::s3_process(&ws, &moto, "s3://lake/org")
        .args(["--cluster", &cluster.url, "sql", sql, "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(remote.status.code(), Some(0), "{}", String::from_utf8_lossy(&remote.stderr));
    assert!(String::from_utf8_lossy(&local.stdout).lines().count() > 3);
    assert_eq!(String::from_utf8_lossy(&remote.stdout), String::from_utf8_lossy(&local.stdout));
    // A metrics run writes its shared views to the bucket for the executors,
    // and removes them when it ends.
    let args = ["metrics", "--from", "2026-01-01", "--to", "2026-07-01", "--by", "team", "--format", "csv"];
    let local = demo.ws.devex().args(args).output().unwrap();
    assert_eq!(local.status.code(), Some(0), "{}", String::from_utf8_lossy(&local.stderr));
    let remote = crate::object_storage::s3_process(&ws, &moto, "s3://lake/org")
        .env("RUST_LOG", "devex_query=debug")
        .env("NO_COLOR", "1")
        .args(["--cluster", &cluster.url])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&remote.stderr);
    assert_eq!(remote.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("view kept"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&remote.stdout), String::from_utf8_lossy(&local.stdout));
    assert_eq!(crate::object_storage::keys(&moto, "lake", "org/_scratch/"), Vec::<String>::new());
}

/// No scheduler at the address: the command fails naming it, with a hint,
/// and does not fall back to running locally.
#[test]
fn an_unreachable_cluster_fails_and_never_runs_locally() {
    let demo = sample_demo();
    let url = format!("df://127.0.0.1:{}", free_port());
    let out = demo.ws.devex().args(["--cluster", &url, "metrics", "--format", "csv"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("no Ballista scheduler answers at {url}")), "{stderr}");
    assert!(stderr.contains("hint: start one with `devex cluster scheduler"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing was computed locally");
    let out = demo.ws.devex().env("DEVEX_CLUSTER", "http://x:1").args(["metrics"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("expected df://HOST:PORT"), "{stderr}");
}
