//! `just bench`: `devex serve` latency. Over the large organisation's lake
//! (two years, >= 2M changes), times `SELECT * FROM metrics(from, to, 'team')`
//! through the PostgreSQL wire with 1 client (10 queries) and 20 concurrent
//! clients (3 queries each), p50 and p95, next to `devex metrics --by team` run
//! as a process for the same window (3 runs, median), and checks that the
//! server's rows equal the process's CSV. Then a dashboard (two `metrics(...)` windows and a
//! weekly deployment count) loaded three times by each of 20 viewers.

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{devex, measure, median, org_lake};

const PASSWORD: &str = "bench-serve-password";
const SQL: &str = "SELECT * FROM metrics('2024-10-01', '2026-10-01', 'team') ORDER BY grp";

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn connect(addr: SocketAddr) -> tokio_postgres::Client {
    let conn = format!("host={} port={} user=devex password={PASSWORD} dbname=devex", addr.ip(), addr.port());
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// One query's rows as text, and its latency in seconds.
async fn timed(client: &tokio_postgres::Client) -> (Vec<Vec<String>>, f64) {
    let t = Instant::now();
    let messages = client.simple_query(SQL).await.expect("metrics()");
    let rows = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).unwrap_or("").to_string()).collect())
            }
            _ => None,
        })
        .collect();
    (rows, t.elapsed().as_secs_f64())
}

fn main() {
    let (_root, data) = org_lake();

    let mut walls = Vec::new();
    for _ in 0..3 {
        let (wall, _) = measure(
            Command::new(devex())
                .arg("--data")
                .arg(&data)
                .args(["metrics", "--by", "team", "--from", "2024-10-01", "--to", "2026-10-01", "--format", "csv"])
                .stdout(Stdio::null()),
        );
        walls.push(wall.as_secs_f64());
    }
    let process = median(walls);
    let csv = Command::new(devex())
        .arg("--data")
        .arg(&data)
        .args(["metrics", "--by", "team", "--from", "2024-10-01", "--to", "2026-10-01", "--format", "csv"])
        .output()
        .expect("devex metrics");
    let csv_rows = String::from_utf8_lossy(&csv.stdout).lines().count() - 1;

    let mut server = Command::new(devex())
        .env("DEVEX_SERVE_PASSWORD", PASSWORD)
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("devex serve");
    let started = Instant::now();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let first = lines.next().expect("a line").expect("stderr");
    let addr: SocketAddr = first
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("address")
        .parse()
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    eprintln!("devex serve ready in {:.1} s", started.elapsed().as_secs_f64());

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = connect(addr).await;
        let (first_rows, first) = timed(&client).await;
        assert_eq!(first_rows.len(), csv_rows, "the server's groups are the process's");
        let mut one = Vec::new();
        for _ in 0..10 {
            let (rows, s) = timed(&client).await;
            assert_eq!(rows, first_rows, "every answer is the same");
            one.push(s);
        }
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let expected = first_rows.clone();
            tasks.push(tokio::spawn(async move {
                let client = connect(addr).await;
                let mut v = Vec::new();
                for _ in 0..3 {
                    let (rows, s) = timed(&client).await;
                    assert_eq!(rows, expected, "every answer is the same");
                    v.push(s);
                }
                v
            }));
        }
        let t = Instant::now();
        let mut twenty = Vec::new();
        for task in tasks {
            twenty.extend(task.await.unwrap());
        }
        let wall = t.elapsed().as_secs_f64();
        println!("devex metrics --by team (two years) as a process: median {process:.3} s");
        println!("metrics(...) over the wire, first query on a fresh server: {first:.3} s");
        println!(
            "metrics(...) 1 client, 10 queries: p50 {:.3} s, p95 {:.3} s",
            percentile(one.clone(), 0.5),
            percentile(one, 0.95)
        );
        println!(
            "metrics(...) 20 clients x 3 queries: p50 {:.3} s, p95 {:.3} s; {wall:.1} s for all 60 ({:.2} queries/s)",
            percentile(twenty.clone(), 0.5),
            percentile(twenty, 0.95),
            60.0 / wall
        );
        dashboard(addr).await;
    });
    let _ = server.kill();
    let _ = server.wait();
}

/// A Grafana dashboard's queries: this quarter's and last quarter's metrics per team, and the
/// weekly deployment count.
const DASHBOARD: [&str; 3] = [
    "SELECT * FROM metrics('2026-07-01', '2026-10-01', 'team') ORDER BY grp",
    "SELECT * FROM metrics('2026-04-01', '2026-07-01', 'team') ORDER BY grp",
    "SELECT date_trunc('week', finished_at) AS week, count(*) AS deployments FROM deployments \
     WHERE finished_at >= '2026-04-01' GROUP BY 1 ORDER BY 1",
];

/// 20 viewers each loading the dashboard three times, after one viewer's warm-up load (issue
/// 28's target: p95 <= 1 s per query).
async fn dashboard(addr: SocketAddr) {
    let warm = connect(addr).await;
    let t = Instant::now();
    for sql in DASHBOARD {
        warm.simple_query(sql).await.expect("dashboard query");
    }
    let warm_up = t.elapsed().as_secs_f64();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        tasks.push(tokio::spawn(async move {
            let client = connect(addr).await;
            let mut v = Vec::new();
            for _ in 0..3 {
                for sql in DASHBOARD {
                    let t = Instant::now();
                    client.simple_query(sql).await.expect("dashboard query");
                    v.push(t.elapsed().as_secs_f64());
                }
            }
            v
        }));
    }
    let t = Instant::now();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let wall = t.elapsed().as_secs_f64();
    println!(
        "dashboard (2 metrics(...) windows + weekly deployments), warm-up load {warm_up:.3} s; 20 viewers x 3 loads: \
         p50 {:.3} s, p95 {:.3} s per query, {:.1} queries/s (target p95 <= 1 s)",
        percentile(all.clone(), 0.5),
        percentile(all.clone(), 0.95),
        all.len() as f64 / wall
    );
}
