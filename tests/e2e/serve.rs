//! `devex serve`: the binary serving a real lake on loopback, read by real
//! clients: tokio-postgres (extended protocol, bound parameters) and the
//! machine's `psql`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Workspace, delta_version, sample_demo};

pub const PASSWORD: &str = "serve-e2e-Secret-0123";

/// A running `devex serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// What it has written to stderr so far (its log).
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// The log lines so far, joined.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The log once `ready` holds for it, or after 5 s (whatever it is then): the server
    /// logs an event a moment after a client sees its effect.
    pub fn log_when(&self, ready: impl Fn(&str) -> bool) -> String {
        let waiting = Instant::now();
        loop {
            let log = self.log();
            if ready(&log) || waiting.elapsed() > Duration::from_secs(5) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `devex serve --listen 127.0.0.1:0` and read the bound address from its first line.
pub fn start(ws: &Workspace, password: Option<&str>) -> Server {
    start_with(ws, password, &["--from", "2026-03-01", "--to", "2026-04-01"])
}

/// `devex serve ARGS --listen 127.0.0.1:0`.
pub fn start_with(ws: &Workspace, password: Option<&str>, args: &[&str]) -> Server {
    let mut cmd = ws.process(ws.data());
    cmd.arg("serve").args(args).args(["--listen", "127.0.0.1:0"]);
    if let Some(p) = password {
        cmd.env("DEVEX_SERVE_PASSWORD", p);
    }
    spawn(cmd)
}

/// Spawn a prepared `devex serve` command and read the bound address from its first line.
pub fn spawn(mut cmd: Command) -> Server {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap_or_else(|e| panic!("{e}"));
    let addr = first
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .parse()
        .unwrap();
    // Keep draining stderr so the server never blocks on a full pipe.
    let log = std::sync::Arc::new(std::sync::Mutex::new(vec![first]));
    let kept = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    Server { child, addr, log }
}

/// Run a psycopg 3 `script` against `server` with `sys.argv[1:4]` = host, port,
/// password and then `args`; its stdout, or `None` when psycopg is not installed
/// (an error when DEVEX_PSYCOPG_TESTS=required, as `.ci/run` sets).
pub fn psycopg(server: &Server, script: &str, args: &[String]) -> Option<String> {
    let has_psycopg = Command::new("python3").args(["-c", "import psycopg"]).status().is_ok_and(|s| s.success());
    if !has_psycopg {
        assert!(
            std::env::var_os("DEVEX_PSYCOPG_TESTS").is_none_or(|v| v != "required"),
            "DEVEX_PSYCOPG_TESTS=required but psycopg is missing: python3 -m pip install 'psycopg[binary]'"
        );
        eprintln!("psycopg is not installed: skipping (python3 -m pip install 'psycopg[binary]')");
        return None;
    }
    let out = Command::new("python3")
        .args(["-c", script, &server.addr.ip().to_string(), &server.addr.port().to_string(), PASSWORD])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn lake() -> Workspace {
    let ws = Workspace::new();
    let csv = ws.file(
        "deployments.csv",
        "id,service,environment,status,finished_at\n\
         d1,api,production,success,2026-03-02T10:00:00Z\n\
         d2,api,production,success,2026-03-05T10:00:00Z\n\
         d3,web,production,failure,2026-03-06T10:00:00Z\n",
    );
    assert_eq!(ws.import("deployments", &[&csv], &[]).0, 0);
    ws
}

pub async fn connect(addr: SocketAddr, password: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let conn = format!("host={} port={} user=devex password={password} dbname=devex", addr.ip(), addr.port());
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

#[test]
fn clients_read_the_lake_with_scram_and_every_write_is_refused() {
    let ws = lake();
    let server = start(&ws, Some(PASSWORD));
    let version = delta_version(&ws.data(), "deployments");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // A wrong password is refused.
        let Err(err) = connect(server.addr, "not-the-password").await else { panic!("a wrong password was accepted") };
        assert!(err.to_string().contains("password") || format!("{err:?}").contains("28P01"), "{err:?}");

        let client = connect(server.addr, PASSWORD).await.unwrap();
        let n: i64 = client.query_one("SELECT count(*) FROM deployments", &[]).await.unwrap().get(0);
        assert_eq!(n, 3);
        // Extended protocol with a bound parameter.
        let rows = client.query("SELECT id FROM deployments WHERE service = $1 ORDER BY id", &[&"api"]).await.unwrap();
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(ids, ["d1", "d2"]);
        // A saved view of the served window.
        let d: i64 = client.query_one("SELECT deployments FROM metrics", &[]).await.unwrap().get(0);
        assert_eq!(d, 2, "two successful production deployments in March");

        for write in [
            "DELETE FROM deployments",
            "INSERT INTO deployments (id) VALUES ('x')",
            "UPDATE deployments SET service = 'x'",
            "CREATE VIEW mine AS SELECT 1",
            "DROP TABLE deployments",
            "COPY deployments TO '/tmp/devex-serve-leak.csv'",
            "CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '/etc/passwd'",
            "EXPLAIN ANALYZE DELETE FROM deployments",
        ] {
            let simple = client.simple_query(write).await.err().unwrap_or_else(|| panic!("{write} ran"));
            let extended = client.query(write, &[]).await.err().unwrap_or_else(|| panic!("{write} ran"));
            for e in [simple, extended] {
                let db = e.as_db_error().map(|d| (d.code().code().to_string(), d.message().to_string()));
                let text = format!("{e:?}");
                // Refused as a write, or not even parsed by the PostgreSQL dialect.
                assert!(
                    db.as_ref().is_some_and(
                        |(code, m)| (code == "25006" && m.contains("read-only")) || m.contains("sql parser error")
                    ),
                    "{write}: {text}"
                );
            }
        }
        let n: i64 = client.query_one("SELECT count(*) FROM deployments", &[]).await.unwrap().get(0);
        assert_eq!(n, 3);
        assert!(client.simple_query("SELECT * FROM leak").await.is_err(), "no external table was created");
        assert!(client.simple_query("SELECT * FROM mine").await.is_err(), "no view was created");
    });
    assert_eq!(delta_version(&ws.data(), "deployments"), version, "the lake is unchanged");
    assert!(!std::path::Path::new("/tmp/devex-serve-leak.csv").exists());

    // The machine's psql, with the password from PGPASSWORD.
    let psql = Command::new("psql")
        .env("PGPASSWORD", PASSWORD)
        .args([
            &format!("host={} port={} user=devex dbname=devex sslmode=disable", server.addr.ip(), server.addr.port()),
            "-At",
            "-c",
            "SELECT service, count(*) FROM deployments GROUP BY service ORDER BY service",
        ])
        .output()
        .unwrap();
    assert!(psql.status.success(), "{}", String::from_utf8_lossy(&psql.stderr));
    assert_eq!(String::from_utf8_lossy(&psql.stdout), "api|2\nweb|1\n");
}

#[test]
fn without_a_password_it_only_listens_on_loopback() {
    let ws = lake();
    let out = ws.devex().env_remove("DEVEX_SERVE_PASSWORD").args(["serve", "--listen", "0.0.0.0:0"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("without a password") && stderr.contains("DEVEX_SERVE_PASSWORD"), "{stderr}");
    // On loopback it serves, unauthenticated.
    let server = start(&ws, None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = connect(server.addr, "anything").await.unwrap();
        let n: i64 = client.query_one("SELECT count(*) FROM deployments", &[]).await.unwrap().get(0);
        assert_eq!(n, 3);
    });
}

/// `metrics(...)`, `trends(...)` and `jcurve(...)` over the wire equal
/// `devex metrics` and `devex trends` for the same window, to the last digit;
/// 20 clients at once all get the same answer.
#[test]
fn metric_functions_equal_the_cli_and_concurrent_clients_agree() {
    let demo = sample_demo();
    let ws = &demo.ws;
    let server = start_with(ws, Some(PASSWORD), &["--quarter", "2026-Q2"]);
    // `--format csv` prints the view's rows at full precision (JSON parsing in
    // this test would round the last digit: serde_json's default float parser).
    let out = ws
        .devex()
        .args(["metrics", "--from", "2026-01-01", "--to", "2026-07-01", "--by", "team", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cli: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(cli.len() >= 3 && header.len() > 20, "{csv}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = connect(server.addr, PASSWORD).await.unwrap();
        let wire = client
            .simple_query("SELECT * FROM metrics('2026-01-01', '2026-07-01', 'team') ORDER BY grp")
            .await
            .unwrap();
        let wire: Vec<_> = wire
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(wire.len(), cli.len());
        let mut floats = 0;
        for (w, c) in wire.iter().zip(&cli) {
            let names: Vec<&str> = w.columns().iter().map(|c| c.name()).collect();
            assert_eq!(names, header, "the view's columns, in order");
            for (i, name) in header.iter().enumerate() {
                let (w, c) = (w.get(i).unwrap_or(""), c[i]);
                match (w.parse::<f64>(), c.parse::<f64>()) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a.to_bits(), b.to_bits(), "{name}: wire {w}, cli {c}");
                        floats += usize::from(c.contains('.'));
                    }
                    // PostgreSQL's text booleans are `t` and `f`.
                    _ => assert_eq!(
                        match w {
                            "t" => "true",
                            "f" => "false",
                            other => other,
                        },
                        c,
                        "{name}"
                    ),
                }
            }
        }
        assert!(floats > 50, "only {floats} non-integer values compared");

        // The organisation, with timestamps and a date, as Grafana would send them.
        let org = client
            .query_one(
                "SELECT deployments, failed, lead_time_n FROM metrics('2026-01-01T00:00:00Z', DATE '2026-07-01')",
                &[],
            )
            .await
            .unwrap();
        let out =
            ws.devex().args(["metrics", "--from", "2026-01-01", "--to", "2026-07-01", "--format", "json"]).output();
        let org_cli: serde_json::Value = serde_json::from_slice(&out.unwrap().stdout).unwrap();
        let g = &org_cli["groups"][0];
        assert_eq!(org.get::<_, i64>(0), g["deployments"].as_i64().unwrap());
        assert_eq!(org.get::<_, i64>(1), g["change_failure_rate"]["failed"].as_i64().unwrap());
        assert_eq!(org.get::<_, i64>(2), g["lead_time_hours"]["n"].as_i64().unwrap());

        // Quarterly rows and the J-curve: the same rows as `devex trends`.
        let trends = client.query("SELECT quarter, grp, deployments FROM trends(4, 'team') ORDER BY quarter, grp", &[]);
        let trends: Vec<(String, String, i64)> =
            trends.await.unwrap().iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        let out = ws.devex().args(["trends", "--quarters", "4", "--by", "team", "--format", "json"]).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut expected = Vec::new();
        for q in doc["quarters"].as_array().unwrap() {
            for g in q["metrics"]["groups"].as_array().unwrap() {
                let team = g["group"]["team"].as_str().unwrap().to_string();
                expected.push((q["quarter"].as_str().unwrap().to_string(), team, g["deployments"].as_i64().unwrap()));
            }
        }
        expected.sort();
        assert_eq!(trends, expected);
        let jcurve = client.query("SELECT count(*) FROM jcurve('team', 4)", &[]).await.unwrap();
        let out = ws
            .devex()
            .args(["trends", "--quarters", "4", "--by", "team", "--relative-to-onboarding", "--format", "json"])
            .output();
        let doc: serde_json::Value = serde_json::from_slice(&out.unwrap().stdout).unwrap();
        assert_eq!(jcurve[0].get::<_, i64>(0) as usize, doc["series"].as_array().unwrap().len());

        // The effect of onboarding: the rows of `devex effect`, to the last bit.
        let sql = "SELECT e, estimate, treated FROM effect('lead_time_p50', 'team', 8) ORDER BY e";
        let effect = client.query(sql, &[]).await.unwrap();
        let out = ws.devex().args(["effect", "--metric", "lead_time_p50", "--format", "json"]).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let times = doc["metrics"][0]["event_times"].as_array().unwrap();
        assert!(!times.is_empty(), "{doc}");
        assert_eq!(effect.len(), times.len());
        for (row, t) in effect.iter().zip(times) {
            assert_eq!(row.get::<_, i64>(0), t["e"].as_i64().unwrap());
            assert_eq!(row.get::<_, f64>(1), t["estimate"].as_f64().unwrap());
            assert_eq!(row.get::<_, i64>(2), t["treated"].as_i64().unwrap());
        }

        // The rows behind a number: as many as the number counts, the same rows as `devex explain`.
        let n = client.query_one("SELECT count(*) FROM explain('lead_time', '2026-01-01', '2026-07-01')", &[]);
        assert_eq!(n.await.unwrap().get::<_, i64>(0), g["lead_time_hours"]["n"].as_i64().unwrap());
        let sql = "SELECT id FROM explain('change_failure_rate', '2026-01-01', '2026-07-01') WHERE failed ORDER BY finished_at, id";
        let wire: Vec<String> = client.query(sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        let out = ws
            .devex()
            .args(["explain", "change_failure_rate", "--from", "2026-01-01", "--to", "2026-07-01", "--format", "json"])
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let cli: Vec<String> = doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["failed"] == true)
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!cli.is_empty());
        assert_eq!(wire, cli);

        // Bad arguments say what is wrong.
        for (sql, needle) in [
            ("SELECT * FROM metrics('2026-07-01', '2026-01-01')", "empty"),
            ("SELECT * FROM metrics('yesterday', '2026-01-01')", "`from`"),
            ("SELECT * FROM metrics('2026-01-01', '2026-02-01', 'tribe')", "'team', 'service' or 'org'"),
            ("SELECT * FROM trends(0)", "between 1 and 200"),
            ("SELECT * FROM effect('speed')", "`metric` is one of"),
            ("SELECT * FROM effect('nps', 'org')", "compares teams or services"),
            ("SELECT * FROM explain('nps', '2026-01-01', '2026-07-01')", "never listed row by row"),
            ("SELECT * FROM explain('lead_time', '2026-01-01', '2026-07-01', 'team')", "name the team"),
        ] {
            let e = client.simple_query(sql).await.err().unwrap_or_else(|| panic!("{sql} ran"));
            let msg = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
            assert!(msg.contains(needle), "{sql}: {e:?}");
        }

        // 8 clients at once, each computing the same window: one answer (the 20 of
        // `just bench` measure the latency; 8 already run more statements than cores).
        let sql = "SELECT * FROM metrics('2025-10-01', '2026-07-01', 'service') ORDER BY grp";
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let addr = server.addr;
            tasks.push(tokio::spawn(async move {
                let client = connect(addr, PASSWORD).await.unwrap();
                let rows = client.simple_query(sql).await.unwrap();
                rows.iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect::<Vec<_>>())
                        }
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        assert!(answers[0].len() >= 5, "{:?}", answers[0]);
        assert!(answers.iter().all(|a| a == &answers[0]), "the 8 answers differ");
    });
}

/// An import that lands while the server runs is seen by the next statement:
/// a table's new rows, a table created since, the saved views and metrics().
#[test]
fn an_import_while_serving_is_visible_to_the_next_query() {
    let ws = lake();
    let server = start(&ws, None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(connect(server.addr, "")).unwrap();
    let count = |sql: &'static str| rt.block_on(async { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) });
    assert_eq!(count("SELECT count(*) FROM deployments"), 3);
    assert_eq!(count("SELECT count(*) FROM incidents"), 0);
    assert_eq!(count("SELECT deployments FROM metrics('2026-03-01', '2026-04-01')"), 2);

    let more = ws.file(
        "more.csv",
        "id,service,environment,status,finished_at\nd4,api,production,success,2026-03-09T10:00:00Z\n",
    );
    assert_eq!(ws.import("deployments", &[&more], &[]).0, 0);
    let incidents = ws.file(
        "incidents.csv",
        "id,service,severity,created_at,resolved_at\ni1,api,sev1,2026-03-09T11:00:00Z,2026-03-09T13:00:00Z\n",
    );
    let (code, _, stderr) = ws.import("incidents", &[&incidents], &[]);
    assert_eq!(code, 0, "{stderr}");

    assert_eq!(count("SELECT count(*) FROM deployments"), 4);
    assert_eq!(count("SELECT count(*) FROM incidents"), 1);
    assert_eq!(count("SELECT deployments FROM metrics"), 3, "the saved view reads the new version");
    assert_eq!(count("SELECT deployments FROM metrics('2026-03-01', '2026-04-01')"), 3);
    assert_eq!(count("SELECT time_to_restore_n FROM metrics('2026-03-01', '2026-04-01')"), 1);
}

#[test]
fn a_metric_function_is_computed_once_per_snapshot_and_cache_mb_bounds_it() {
    let ws = lake();
    let mut cmd = ws.process(ws.data());
    cmd.env("RUST_LOG", "warn,devex_serve=info,devex_serve::functions=debug").args([
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    let server = spawn(cmd);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(connect(server.addr, "")).unwrap();
    let deployments =
        |sql: &'static str| rt.block_on(async { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) });
    let answers =
        |how: &str| server.log().lines().filter(|l| l.contains("metric function answered") && l.contains(how)).count();
    let window = "SELECT deployments FROM metrics('2026-03-01', '2026-04-01')";
    assert_eq!(deployments(window), 2);
    assert_eq!(deployments(window), 2);
    assert_eq!(deployments("SELECT deployments FROM metrics('2026-03-01', '2026-04-01', 'org')"), 2);
    server.log_when(|l| l.matches("metric function answered").count() >= 3);
    assert_eq!((answers("computed"), answers("from memory")), (1, 2), "{}", server.log());
    // Another window is another call.
    assert_eq!(deployments("SELECT deployments FROM metrics('2026-03-02', '2026-04-01')"), 2);
    // A commit is a new snapshot: computed again, with the new row.
    let more = ws.file(
        "more.csv",
        "id,service,environment,status,finished_at\nd4,api,production,success,2026-03-09T10:00:00Z\n",
    );
    assert_eq!(ws.import("deployments", &[&more], &[]).0, 0);
    assert_eq!(deployments(window), 3);
    assert_eq!(deployments(window), 3);
    server.log_when(|l| l.matches("metric function answered").count() >= 6);
    assert_eq!((answers("computed"), answers("from memory")), (3, 3), "{}", server.log());
    drop(server);

    // `[serve] cache_mb = 0`: nothing is kept.
    let config = ws.file("nocache.toml", "[serve]\ncache_mb = 0\n");
    let mut cmd = ws.process(ws.data());
    cmd.env("RUST_LOG", "warn,devex_serve=info,devex_serve::functions=debug").arg("--config").arg(&config).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    let server = spawn(cmd);
    let client = rt.block_on(connect(server.addr, "")).unwrap();
    for _ in 0..2 {
        let n = rt.block_on(async { client.query_one(window, &[]).await.unwrap().get::<_, i64>(0) });
        assert_eq!(n, 3);
    }
    let log = server.log_when(|l| l.matches("metric function answered").count() >= 2);
    assert_eq!(log.matches("answered: computed").count(), 2, "{log}");
    assert!(!log.contains("from memory"), "{log}");
}

/// CPU time (user + system, clock ticks) the process has used.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

const ENDLESS: &str = "SELECT count(*) FROM generate_series(1, 100000000000) WHERE value % 7 = 3";

/// A client killed mid-query leaves nothing running; a statement past the
/// timeout is cancelled with PostgreSQL's 57014.
#[test]
fn a_killed_client_costs_nothing_and_statements_time_out() {
    let ws = lake();
    // Long enough that the client below is killed mid-query, not timed out first.
    std::fs::write(ws.path().join("devex.toml"), "[serve]\nstatement_timeout_secs = 4\n").unwrap();
    let server = start(&ws, None);
    let pid = server.child.id();
    let conn = format!("host={} port={} user=devex dbname=devex sslmode=disable", server.addr.ip(), server.addr.port());

    let mut psql = Command::new("psql").args([&conn, "-At", "-c", ENDLESS]).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let busy = cpu_ticks(pid);
    // 20 ticks (0.2 CPU-seconds) in 1.5 s: running, even beside the other tests on 2 cores.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(cpu_ticks(pid) - busy >= 20, "the query is not running: the test proves nothing");
    psql.kill().unwrap();
    psql.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let after = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(1000));
    let spent = cpu_ticks(pid) - after;
    assert!(spent <= 10, "the server spent {spent} ticks in the second after its client was killed");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = connect(server.addr, "").await.unwrap();
        let n: i64 = client.query_one("SELECT count(*) FROM deployments", &[]).await.unwrap().get(0);
        assert_eq!(n, 3, "the server still answers");
        let started = Instant::now();
        let e = client.simple_query(ENDLESS).await.map(|_| ()).expect_err("an endless query ends");
        let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
        assert_eq!(db.code().code(), "57014", "{db:?}");
        assert!(db.message().contains("statement timeout"), "{db:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        let e = client.query(ENDLESS, &[]).await.map(|_| ()).expect_err("extended protocol too");
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("57014"), "{e:?}");
        let n: i64 = client.query_one("SELECT count(*) FROM deployments", &[]).await.unwrap().get(0);
        assert_eq!(n, 3, "the connection is usable after a timeout");
    });
}

/// psql's meta-commands read pg_catalog.
#[test]
fn psql_lists_tables_and_describes_one() {
    let ws = lake();
    let server = start(&ws, None);
    let conn = format!("host={} port={} user=devex dbname=devex sslmode=disable", server.addr.ip(), server.addr.port());
    let run = |cmd: &str| {
        let out = Command::new("psql").args([&conn, "-c", cmd]).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, text) = run("\\dt");
    assert!(ok && text.contains("deployments") && text.contains("incidents"), "{text}");
    let (ok, text) = run("\\d deployments");
    assert!(ok && text.contains("finished_at") && text.contains("service"), "{text}");
}

/// With a certificate, only TLS clients get in; a certificate that cannot be
/// loaded stops the server before it listens.
#[test]
fn tls_is_required_when_configured_and_a_bad_certificate_is_fatal() {
    let ws = lake();
    let (cert, key) = (ws.path().join("server.crt"), ws.path().join("server.key"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let config = format!("[serve]\ntls_cert = {:?}\ntls_key = {:?}\n", cert, key);
    std::fs::write(ws.path().join("devex.toml"), &config).unwrap();
    let server = start(&ws, Some(PASSWORD));
    let psql = |sslmode: &str| {
        let conn =
            format!("host={} port={} user=devex dbname=devex sslmode={sslmode}", server.addr.ip(), server.addr.port());
        let out = Command::new("psql")
            .env("PGPASSWORD", PASSWORD)
            .args([&conn, "-At", "-c", "SELECT count(*) FROM deployments"])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, text) = psql("require");
    assert!(ok && text.trim() == "3", "{text}");
    let (ok, text) = psql("disable");
    assert!(!ok && text.contains("sslmode=require"), "{text}");
    drop(server);

    std::fs::write(&key, "not a key").unwrap();
    let out = ws.devex().env("DEVEX_SERVE_PASSWORD", PASSWORD).args(["serve", "--listen", "127.0.0.1:0"]).output();
    let out = out.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TLS key") && stderr.contains("clear text") && !stderr.contains("listening"), "{stderr}");
}

/// Every query of the provisioned Grafana dashboard runs, with Grafana's
/// macros expanded as its PostgreSQL data source expands them.
#[test]
fn the_grafana_dashboard_queries_run_as_grafana_sends_them() {
    let demo = sample_demo();
    let server = start_with(&demo.ws, Some(PASSWORD), &["--last", "90d"]);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/dashboards/dora.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (from, to) = ("2026-01-01T00:00:00.000Z", "2026-07-01T00:00:00.000Z");
    let expand = |sql: &str| {
        let mut sql = sql.replace("${__from:date:iso}", from).replace("${__to:date:iso}", to);
        while let Some(at) = sql.find("$__timeFilter(") {
            let end = at + sql[at..].find(')').unwrap();
            let column = sql[at + "$__timeFilter(".len()..end].to_string();
            sql.replace_range(at..=end, &format!("{column} BETWEEN '{from}' AND '{to}'"));
        }
        while let Some(at) = sql.find("$__timeGroupAlias(") {
            let end = at + sql[at..].find(')').unwrap();
            let args = sql[at + "$__timeGroupAlias(".len()..end].to_string();
            let (column, interval) = args.split_once(',').unwrap();
            let seconds = match interval.trim() {
                "1d" => 86_400,
                "1w" => 604_800,
                other => panic!("interval {other}"),
            };
            sql.replace_range(
                at..=end,
                &format!("floor(extract(epoch from {column})/{seconds})*{seconds} AS \"time\""),
            );
        }
        sql
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = connect(server.addr, PASSWORD).await.unwrap();
        let mut ran = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let sql = expand(target["rawSql"].as_str().unwrap());
                assert!(!sql.contains('$'), "an unexpanded macro: {sql}");
                let rows = client.query(&sql, &[]).await.unwrap_or_else(|e| panic!("{}: {sql}: {e:?}", panel["title"]));
                assert!(!rows.is_empty(), "{}: no rows for {sql}", panel["title"]);
                ran += 1;
            }
        }
        assert!(ran >= 7, "{ran} queries");
        // The stat panels' window equals `devex metrics` for it.
        let n: i64 = client
            .query_one(&expand("SELECT deployments FROM metrics('${__from:date:iso}', '${__to:date:iso}')"), &[])
            .await
            .unwrap()
            .get(0);
        let out = demo.ws.devex().args(["metrics", "--from", from, "--to", to, "--format", "json"]).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(Some(n), doc["groups"][0]["deployments"].as_i64());
    });
}

/// psycopg 3 (server-side binding: the extended protocol with parameters),
/// when installed; `.ci/run` installs it and sets DEVEX_PSYCOPG_TESTS=required.
#[test]
fn psycopg_binds_parameters_and_reads_metrics() {
    let ws = lake();
    let server = start(&ws, Some(PASSWORD));
    let script = r#"
import sys, psycopg
with psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user="devex", password=sys.argv[3], dbname="devex") as conn:
    rows = conn.execute("SELECT id FROM deployments WHERE service = %s ORDER BY id", ["api"]).fetchall()
    print(",".join(r[0] for r in rows))
    print(conn.execute("SELECT deployments, failed FROM metrics('2026-03-01', '2026-04-01')").fetchone())
    try:
        conn.execute("DELETE FROM deployments WHERE id = %s", ["d1"])
        print("deleted")
    except psycopg.errors.ReadOnlySqlTransaction as e:
        print("refused", e.sqlstate)
"#;
    if let Some(out) = psycopg(&server, script, &[]) {
        assert_eq!(out, "d1,d2\n(2, 0)\nrefused 25006\n");
    }
}

/// Past `max_connections` a client is told why (53300); a freed slot is reused.
#[test]
fn clients_past_max_connections_are_told_so() {
    let ws = lake();
    std::fs::write(ws.path().join("devex.toml"), "[serve]\nmax_connections = 2\n").unwrap();
    let server = start(&ws, None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let a = connect(server.addr, "").await.unwrap();
        let b = connect(server.addr, "").await.unwrap();
        let Err(e) = connect(server.addr, "").await else { panic!("a third client got in") };
        let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
        assert_eq!(db.code().code(), "53300", "{db:?}");
        assert!(db.message().contains("max_connections"), "{db:?}");
        drop(a);
        // The slot is released when the server sees the socket close.
        let mut third = None;
        for _ in 0..50 {
            if let Ok(c) = connect(server.addr, "").await {
                third = Some(c);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let c = third.expect("a freed slot is reused");
        for client in [&b, &c] {
            let n: i64 = client.query_one("SELECT count(*) FROM deployments", &[]).await.unwrap().get(0);
            assert_eq!(n, 3);
        }
    });
}
