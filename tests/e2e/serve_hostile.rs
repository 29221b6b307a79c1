//! `devex serve` against a hostile read-only user: no query crashes it, no
//! statement writes or escapes its bounds, passwords cannot be guessed at
//! speed, and running out of descriptors does not spin a core.

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::serve::{PASSWORD, connect, cpu_ticks, lake, psycopg, spawn, start};

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.code().code().to_string()).unwrap_or_else(|| format!("not a server error: {e:?}"))
}

/// Every pg_catalog table (what psql, Grafana, Metabase and DBeaver read,
/// and the rest) answers through psql and psycopg, pg_roles included.
#[test]
fn every_pg_catalog_table_reads_and_pg_roles_lists_the_user() {
    let ws = lake();
    let server = start(&ws, Some(PASSWORD));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tables: Vec<String> = rt.block_on(async {
        let client = connect(server.addr, PASSWORD).await.unwrap();
        let rows = client
            .query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'pg_catalog' ORDER BY table_name",
                &[],
            )
            .await
            .unwrap();
        let roles = client.query("SELECT rolname, rolsuper, rolcanlogin FROM pg_catalog.pg_roles", &[]).await.unwrap();
        let roles: Vec<(String, bool, bool)> = roles.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        assert_eq!(roles, [("devex".to_string(), false, true)]);
        rows.iter().map(|r| r.get(0)).collect()
    });
    for needed in ["pg_roles", "pg_class", "pg_namespace", "pg_attribute", "pg_type", "pg_database", "pg_settings"] {
        assert!(tables.iter().any(|t| t == needed), "{needed} not in {tables:?}");
    }
    // psql: one script reading each table.
    let script: String = tables.iter().map(|t| format!("SELECT count(*) FROM pg_catalog.{t};\n")).collect();
    let file = ws.file("catalog.sql", &script);
    let conn = format!("host={} port={} user=devex dbname=devex sslmode=disable", server.addr.ip(), server.addr.port());
    let out = Command::new("psql")
        .env("PGPASSWORD", PASSWORD)
        .args([&conn, "-At", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), tables.len());
    // psql's meta-commands that read the catalog (`\du` and `\df` need ARRAY(subquery) and
    // pg_function_is_visible, which datafusion-pg-catalog 0.19 lacks: they fail, and the server stays up).
    for meta in ["\\l", "\\dn", "\\dv", "\\dt", "\\d deployments", "\\du"] {
        let out = Command::new("psql").env("PGPASSWORD", PASSWORD).args([&conn, "-c", meta]).output().unwrap();
        assert!(out.status.success() || meta == "\\du", "{meta}: {}", String::from_utf8_lossy(&out.stderr));
    }

    let script = r#"
import sys, psycopg
with psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user="devex", password=sys.argv[3], dbname="devex", autocommit=True) as conn:
    for t in sys.argv[4:]:
        conn.execute(f"SELECT * FROM pg_catalog.{t}").fetchall()
    print(conn.execute("SELECT rolname FROM pg_catalog.pg_roles").fetchall())
"#;
    if let Some(out) = psycopg(&server, script, &tables) {
        assert_eq!(out, "[('devex',)]\n");
    }
    assert!(server.log().lines().all(|l| !l.contains("overflowed")), "{}", server.log());
    rt.block_on(async {
        let client = connect(server.addr, PASSWORD).await.expect("the server is still up");
        assert_eq!(client.query_one("SELECT count(*) FROM deployments", &[]).await.unwrap().get::<_, i64>(0), 3);
    });
}

/// A 4,000-term expression and a 2 MiB statement are refused at once with
/// 54001, in both protocols, while another client keeps answering.
#[test]
fn oversized_statements_are_refused_before_planning() {
    let ws = lake();
    std::fs::write(ws.path().join("devex.toml"), "[serve]\nstatement_timeout_secs = 5\n").unwrap();
    let server = start(&ws, Some(PASSWORD));
    let deep = format!("SELECT {}", vec!["1"; 4000].join("+"));
    let long = format!("SELECT 1 AS x /* {} */", "x".repeat(2 << 20));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let attacker = connect(server.addr, PASSWORD).await.unwrap();
        let other = connect(server.addr, PASSWORD).await.unwrap();
        for sql in [&deep, &long] {
            let started = Instant::now();
            let (simple, extended, answered) =
                tokio::join!(attacker.simple_query(sql), attacker.query(sql.as_str(), &[]), async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let at = Instant::now();
                    let n: i64 = other.query_one("SELECT count(*) FROM deployments", &[]).await.unwrap().get(0);
                    (n, at.elapsed())
                });
            for e in [simple.map(drop).expect_err("simple"), extended.map(drop).expect_err("extended")] {
                assert_eq!(sqlstate(&e), "54001", "{e:?}");
            }
            assert!(started.elapsed() < Duration::from_secs(3), "refused in {:?}", started.elapsed());
            assert_eq!(answered.0, 3);
            assert!(answered.1 < Duration::from_secs(1), "the other client waited {:?}", answered.1);
        }
        // Under the bounds, a long but shallow statement runs.
        let wide = format!(
            "SELECT count(*) FROM deployments WHERE id IN ({})",
            (0..5000).map(|i| format!("'d{i}'")).collect::<Vec<_>>().join(",")
        );
        let n: i64 = attacker.query_one(wide.as_str(), &[]).await.unwrap().get(0);
        assert_eq!(n, 3);
        let e = attacker.simple_query(&long).await.map(drop).expect_err("long");
        assert!(e.as_db_error().unwrap().message().contains("max_statement_bytes"), "{e:?}");
    });
}

/// `SELECT … INTO` is refused by its plan, in both protocols and inside a
/// cursor; no table appears for anyone.
#[test]
fn select_into_is_refused_everywhere() {
    let ws = lake();
    let server = start(&ws, Some(PASSWORD));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let a = connect(server.addr, PASSWORD).await.unwrap();
        let b = connect(server.addr, PASSWORD).await.unwrap();
        let e = a.simple_query("SELECT 42 AS x INTO evil_simple").await.map(drop).expect_err("simple");
        assert_eq!(sqlstate(&e), "25006", "{e:?}");
        let e = a.query("SELECT 42 AS x INTO evil_extended", &[]).await.map(drop).expect_err("extended");
        assert_eq!(sqlstate(&e), "25006", "{e:?}");
        let e =
            a.simple_query("DECLARE c CURSOR FOR SELECT 42 AS x INTO evil_cursor").await.map(drop).expect_err("cursor");
        assert_eq!(sqlstate(&e), "25006", "{e:?}");
        let e =
            a.simple_query("EXPLAIN ANALYZE SELECT 42 AS x INTO evil_explain").await.map(drop).expect_err("explain");
        assert_eq!(sqlstate(&e), "25006", "{e:?}");
        for t in ["evil_simple", "evil_extended", "evil_cursor", "evil_explain"] {
            for client in [&a, &b] {
                assert!(client.simple_query(&format!("SELECT * FROM {t}")).await.is_err(), "{t} was created");
            }
        }
        // A plain cursor still works.
        a.simple_query("BEGIN").await.unwrap();
        a.simple_query("DECLARE c CURSOR FOR SELECT id FROM deployments ORDER BY id").await.unwrap();
        let rows = a.simple_query("FETCH 2 FROM c").await.unwrap();
        let n = rows.iter().filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))).count();
        assert_eq!(n, 2);
    });
}

/// Past a few wrong passwords an address waits longer for each try; every
/// failure is logged with the peer and never the password; an unknown user
/// is answered as a wrong password; the right password still gets in.
#[test]
fn wrong_passwords_are_throttled_and_logged() {
    let ws = lake();
    let server = start(&ws, Some(PASSWORD));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let attempt = |user: &'static str, password: &'static str| async move {
            let conn =
                format!("host=127.0.0.1 port={} user={user} password={password} dbname=devex", server.addr.port());
            let started = Instant::now();
            let result = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.map(drop);
            (result, started.elapsed())
        };
        // An unknown user and a wrong password get the same answer.
        let (unknown, _) = attempt("mallory", "guess-1").await;
        let (wrong, _) = attempt("devex", "guess-2").await;
        let (unknown, wrong) = (unknown.expect_err("unknown user"), wrong.expect_err("wrong password"));
        assert_eq!(sqlstate(&unknown), "28P01", "{unknown:?}");
        assert_eq!(sqlstate(&wrong), "28P01", "{wrong:?}");
        let text = |e: &tokio_postgres::Error, user: &str| e.as_db_error().unwrap().message().replace(user, "USER");
        assert_eq!(text(&unknown, "mallory"), text(&wrong, "devex"));
        // Six more wrong passwords: the 4th failure on waits 250 ms, then 500, 1000, 2000.
        let mut took = Vec::new();
        for _ in 0..6 {
            let (r, elapsed) = attempt("devex", "guess-again").await;
            assert_eq!(sqlstate(&r.expect_err("wrong")), "28P01");
            took.push(elapsed);
        }
        assert!(took[3] >= Duration::from_millis(900), "the 6th failure's successor waits: {took:?}");
        assert!(took[5] >= Duration::from_millis(1800), "{took:?}");
        let (ok, elapsed) = attempt("devex", PASSWORD).await;
        ok.expect("the right password gets in after the throttle");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        // Forgiven: the next try is not slowed down (checked in the log below: a wall-clock
        // bound here fails on a loaded machine). The server forgets the failures just after
        // it has answered the right password, so a client that reconnects at once can race
        // it (CI saw a seventh wait): the next try comes a moment later.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (ok, _) = attempt("devex", PASSWORD).await;
        ok.unwrap();
    });
    let log = server.log();
    // Waits before the 4th to 8th wrong tries and before the right one; none before the
    // first three, none after the right one.
    let slowed = log.lines().filter(|l| l.contains("slowing down an address")).count();
    assert_eq!(slowed, 6, "{log}");
    let failures: Vec<&str> = log.lines().filter(|l| l.contains("password authentication failed")).collect();
    assert_eq!(failures.len(), 8, "{log}");
    assert!(failures.iter().all(|l| l.contains("127.0.0.1:")), "{log}");
    assert!(failures.iter().any(|l| l.contains("mallory")), "{log}");
    for secret in ["guess-1", "guess-2", "guess-again", PASSWORD] {
        assert!(!log.contains(secret), "the log holds a password: {log}");
    }
}

/// With every file descriptor taken, the accept loop waits instead of
/// spinning, says so once, and serves again when descriptors free up.
#[test]
fn running_out_of_descriptors_does_not_spin() {
    let ws = lake();
    std::fs::write(ws.path().join("devex.toml"), "[serve]\nstartup_timeout_secs = 3\n").unwrap();
    let mut cmd = Command::new("sh");
    cmd.current_dir(ws.path())
        .env_remove("DEVEX_CONFIG")
        .env_remove("DEVEX_DATA")
        .env_remove("DEVEX_SERVE_PASSWORD")
        .args(["-c", "ulimit -n 128 && exec \"$0\" \"$@\"", env!("CARGO_BIN_EXE_devex"), "--data"])
        .arg(ws.data())
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let server = spawn(cmd);
    // Each accepted connection takes two descriptors: 100 silent ones exhaust 128.
    let silent: Vec<TcpStream> = (0..150).filter_map(|_| TcpStream::connect(server.addr).ok()).collect();
    let waiting = Instant::now();
    while !server.log().contains("accepting connections failed") {
        assert!(waiting.elapsed() < Duration::from_secs(3), "descriptors never ran out:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = cpu_ticks(server.child.id());
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(server.child.id()) - before;
    assert!(spent <= 20, "the server spent {spent} ticks of 100 while out of descriptors");
    let log = server.log();
    assert_eq!(log.matches("accepting connections failed").count(), 1, "said once:\n{log}");
    drop(silent);
    // Once the deadline has closed the silent ones, clients get in again.
    std::thread::sleep(Duration::from_secs(4));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(connect(server.addr, "")).expect("served again");
    let n: i64 = rt.block_on(client.query_one("SELECT count(*) FROM deployments", &[])).unwrap().get(0);
    assert_eq!(n, 3);
}
