//! `just bench-scale`: devex at scale on object storage, and on a cluster.
//!
//! Generates an organisation (by default 20M changes, 2M deployments: set
//! `DEVEX_SCALE` to the number of 8-team copies, 270 for that size, and
//! `DEVEX_SCALE_COMMITS` to the mean commits per deployment, 13.5) once under
//! `<target>/bench-scale/files`, starts a `moto_server` (an S3 on loopback,
//! objects in memory), and measures:
//! 1. `devex import` of each table into `s3://scale/org` (wall, peak RSS), the
//!    changes in two parts: all but every 19th row, then those (about 1M rows,
//!    in every month) as a night's import into the rest, with the derived facts
//!    refreshed as in production;
//! 2. `devex metrics --by team` over the whole history, run locally against S3;
//! 3. the same on a cluster of 1 scheduler and 2 executors (two tasks at a
//!    time each), checked to print the local run's CSV byte for byte;
//! 4. the lake's files and bytes per table, and each process's peak RSS.
//!
//! The figures go to stderr and `<target>/bench-scale/results.json`, which
//! `docs/scale.md` extrapolates from.

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{devex, facts_line, facts_seconds, measure, mib, target_dir};

struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Peak resident memory of a running process (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn s3<'a>(cmd: &'a mut Command, endpoint: &str) -> &'a mut Command {
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
}

fn boto(endpoint: &str, body: &str) -> String {
    let script = format!(
        "import sys, boto3\ns3 = boto3.client('s3', endpoint_url='{endpoint}', region_name='us-east-1', \
         aws_access_key_id='bench', aws_secret_access_key='bench')\n{body}"
    );
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Split a CSV export into `base` (the header and all but every 19th row) and
/// `night` (the header and every 19th row). `night` is renamed into place last:
/// its presence says the split is whole.
fn split_night(csv: &Path, base: &Path, night: &Path) {
    use std::io::{BufRead, BufReader, BufWriter, Write};
    let partial = |p: &Path| p.with_extension("partial");
    let open = |p: &Path| BufWriter::with_capacity(1 << 20, std::fs::File::create(partial(p)).unwrap());
    let (mut b, mut n) = (open(base), open(night));
    for (i, line) in BufReader::with_capacity(1 << 20, std::fs::File::open(csv).unwrap()).lines().enumerate() {
        let line = line.unwrap();
        if i == 0 || i % 19 != 0 {
            writeln!(b, "{line}").unwrap();
        }
        if i == 0 || i % 19 == 0 {
            writeln!(n, "{line}").unwrap();
        }
    }
    b.into_inner().unwrap().sync_all().unwrap();
    n.into_inner().unwrap().sync_all().unwrap();
    std::fs::rename(partial(base), base).unwrap();
    std::fs::rename(partial(night), night).unwrap();
}

fn main() {
    let scale = env_or("DEVEX_SCALE", 270.0) as u32;
    let commits = env_or("DEVEX_SCALE_COMMITS", 13.5);
    let root = target_dir().join("bench-scale");
    let files = root.join(format!("files-{scale}-{commits}"));
    if !files.join("generated").is_file() {
        let _ = std::fs::remove_dir_all(&files);
        let opts = devex_synth::Options { scale, commits_mean: commits, ..Default::default() };
        let t = Instant::now();
        let stats = devex_synth::generate(&opts, &files).expect("generate");
        eprintln!("generated {stats} in {:.1} s", t.elapsed().as_secs_f64());
        std::fs::write(files.join("generated"), stats.to_string()).unwrap();
    }
    let stats = std::fs::read_to_string(files.join("generated")).unwrap();
    eprintln!("organisation: {stats}");
    let (base, night) = (files.join("changes-base.csv"), files.join("changes-night.csv"));
    if !night.is_file() {
        split_night(&files.join("changes.csv"), &base, &night);
    }

    // S3 on loopback.
    let moto_port = port();
    let mut processes = Killed(vec![
        Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server: python3 -m pip install 'moto[server]'"),
    ]);
    wait_for(moto_port);
    let endpoint = format!("http://127.0.0.1:{moto_port}");
    boto(&endpoint, "s3.create_bucket(Bucket='scale')");
    let data = "s3://scale/org";

    let mut results = serde_json::Map::new();
    results.insert("organisation".into(), stats.trim().into());
    let mut imports = Vec::new();
    for (step, table, file) in [
        ("services", "services", files.join("services.csv")),
        ("deployments", "deployments", files.join("deployments.csv")),
        ("changes", "changes", base),
        ("incidents", "incidents", files.join("incidents.ndjson")),
        ("night", "changes", night),
    ] {
        let log = root.join(format!("import-{step}.stderr"));
        let report = root.join(format!("import-{step}.json"));
        let (wall, rss) = measure(
            s3(&mut Command::new(devex()), &endpoint)
                .args(["--data", data, "import", table])
                .arg(&file)
                .args(["--format", "json"])
                .stdout(std::fs::File::create(&report).unwrap())
                .stderr(std::fs::File::create(&log).unwrap()),
        );
        // The import's own report: the rows it read.
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let (rows, facts) = (report["read"].as_u64().unwrap_or_default(), facts_seconds(&log));
        eprintln!(
            "import {step:<12} {rows:>10} rows {:>8.1} s ({facts:.1} s of it facts)  peak RSS {:>7.0} MiB\n  {}",
            wall.as_secs_f64(),
            mib(rss),
            facts_line(&log)
        );
        imports.push(serde_json::json!({
            "step": step, "table": table, "rows": rows, "seconds": wall.as_secs_f64(),
            "facts_seconds": facts, "peak_rss_mib": mib(rss),
        }));
    }
    results.insert("import".into(), imports.into());
    let layout = boto(
        &endpoint,
        "import collections\nn = collections.Counter(); b = collections.Counter()\n\
         for page in s3.get_paginator('list_objects_v2').paginate(Bucket='scale', Prefix='org/'):\n    \
         for o in page.get('Contents', []):\n        \
         if o['Key'].endswith('.parquet'):\n            t = o['Key'].split('/')[1]; n[t] += 1; b[t] += o['Size']\n\
         for t in sorted(n): print(t, n[t], b[t])",
    );
    let mut tables = Vec::new();
    for line in layout.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (files, bytes): (u64, u64) = (parts[1].parse().unwrap(), parts[2].parse().unwrap());
        eprintln!("lake {:<12} {files:>6} files {:>9.1} MiB", parts[0], mib(bytes));
        tables.push(serde_json::json!({"table": parts[0], "files": files, "mib": mib(bytes)}));
    }
    results.insert("lake".into(), tables.into());

    let metrics = ["metrics", "--from", "2024-10-01", "--to", "2026-10-01", "--by", "team", "--format", "csv"];
    let local_csv = root.join("local.csv");
    let (wall, rss) = measure(
        s3(&mut Command::new(devex()), &endpoint)
            .args(["--data", data])
            .args(metrics)
            .stdout(std::fs::File::create(&local_csv).unwrap()),
    );
    eprintln!("metrics, local on S3   {:>8.1} s  peak RSS {:>7.0} MiB", wall.as_secs_f64(), mib(rss));
    results
        .insert("metrics_local".into(), serde_json::json!({"seconds": wall.as_secs_f64(), "peak_rss_mib": mib(rss)}));

    // 1 scheduler, 2 executors, two tasks at a time each (on 2 cores).
    let scheduler = port();
    let spawn = |name: &str, args: Vec<String>| {
        s3(&mut Command::new(devex()), &endpoint)
            .arg("cluster")
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join(format!("{name}.log"))).unwrap())
            .spawn()
            .unwrap()
    };
    processes.0.push(spawn("scheduler", vec!["scheduler".into(), "--listen".into(), format!("127.0.0.1:{scheduler}")]));
    wait_for(scheduler);
    let mut executors = Vec::new();
    for n in 0..2 {
        let listen = loop {
            let p = port();
            if TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
                break p;
            }
        };
        let child = spawn(
            &format!("executor-{n}"),
            vec![
                "executor".into(),
                "--scheduler".into(),
                format!("127.0.0.1:{scheduler}"),
                "--listen".into(),
                format!("127.0.0.1:{listen}"),
                "--concurrent-tasks".into(),
                "2".into(),
            ],
        );
        executors.push(child.id());
        processes.0.push(child);
        wait_for(listen + 1);
    }
    let cluster_csv = root.join("cluster.csv");
    // Bounded: a job the scheduler loses track of would otherwise wait forever
    // (see docs/scale.md on Ballista 55's task metrics).
    let limit = env_or("DEVEX_SCALE_CLUSTER_TIMEOUT_SECS", 1800.0) as u64;
    let (wall, rss) = measure(
        s3(&mut Command::new("timeout"), &endpoint)
            .arg(limit.to_string())
            .arg(devex())
            .args(["--data", data, "--cluster", &format!("df://127.0.0.1:{scheduler}")])
            .args(metrics)
            .env("RUST_LOG", "devex_query=debug")
            .env("NO_COLOR", "1")
            .stdout(std::fs::File::create(&cluster_csv).unwrap())
            .stderr(std::fs::File::create(root.join("cluster-client.log")).unwrap()),
    );
    let executor_rss: Vec<f64> = executors.iter().map(|pid| mib(peak_rss(*pid))).collect();
    eprintln!(
        "metrics, cluster (1+2) {:>8.1} s  client peak RSS {:>7.0} MiB, executors {:?} MiB",
        wall.as_secs_f64(),
        mib(rss),
        executor_rss.iter().map(|m| m.round()).collect::<Vec<_>>()
    );
    // Where the run's time went: each shared view computed on the cluster and
    // kept on the bucket, then the statement.
    let log = std::fs::read_to_string(root.join("cluster-client.log")).unwrap();
    let mut kept_ms = 0.0;
    for line in log.lines().filter(|l| l.contains("view kept")) {
        let field = |name: &str| line.split(&format!(" {name}=")).nth(1).and_then(|r| r.split(' ').next());
        let ms: f64 = field("ms").and_then(|m| m.parse().ok()).unwrap_or_default();
        kept_ms += ms;
        eprintln!(
            "  kept {:<20} {:>9} rows {:>8.1} s",
            field("view").unwrap_or("?").trim_matches('"'),
            field("rows").unwrap_or("?"),
            ms / 1000.0
        );
    }
    eprintln!("  the statement and the rest   {:>8.1} s", wall.as_secs_f64() - kept_ms / 1000.0);
    assert_eq!(
        std::fs::read(&cluster_csv).unwrap(),
        std::fs::read(&local_csv).unwrap(),
        "the cluster printed other numbers than the local run"
    );
    eprintln!(
        "the cluster's CSV equals the local run's ({} lines)",
        std::fs::read_to_string(&local_csv).unwrap().lines().count()
    );
    results.insert(
        "metrics_cluster".into(),
        serde_json::json!({"seconds": wall.as_secs_f64(), "client_peak_rss_mib": mib(rss), "executor_peak_rss_mib": executor_rss}),
    );
    let out = root.join("results.json");
    std::fs::write(&out, serde_json::to_string_pretty(&serde_json::Value::Object(results)).unwrap()).unwrap();
    eprintln!("results: {}", Path::new(&out).display());
}
