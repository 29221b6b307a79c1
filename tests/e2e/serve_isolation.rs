//! `devex serve` against a client that tries to change or block the server
//! for everyone: its settings stay in its own session, silent sockets cannot
//! keep a client with the password out, and `SHOW` answers.

use std::io::Read;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::serve::{PASSWORD, connect, lake, psycopg, start};

/// The one value of `SHOW name` on `client`.
async fn show(client: &tokio_postgres::Client, name: &str) -> String {
    let rows = client.simple_query(&format!("SHOW {name}")).await.unwrap_or_else(|e| panic!("SHOW {name}: {e:?}"));
    rows.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or_default().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("SHOW {name} answered no row"))
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> Result<i64, tokio_postgres::Error> {
    Ok(client.query_one(sql, &[]).await?.get(0))
}

/// The SQLSTATE and message of a failed statement.
fn refusal(e: &tokio_postgres::Error) -> (String, String) {
    let db = e.as_db_error().unwrap_or_else(|| panic!("not a server error: {e:?}"));
    (db.code().code().to_string(), db.message().to_string())
}

#[test]
fn a_clients_set_changes_only_its_own_session() {
    let ws = lake();
    std::fs::write(ws.path().join("devex.toml"), "[serve]\nstatement_timeout_secs = 30\n").unwrap();
    let server = start(&ws, Some(PASSWORD));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let a = connect(server.addr, PASSWORD).await.unwrap();
        let b = connect(server.addr, PASSWORD).await.unwrap();

        // Each allowed setting: the value `a` sets, and what `a` then shows.
        let allowed = [
            ("statement_timeout", "'5s'", "5s"),
            ("DateStyle", "'ISO, DMY'", "ISO, DMY"),
            ("IntervalStyle", "iso_8601", "iso_8601"),
            ("bytea_output", "escape", "escape"),
            ("extra_float_digits", "-2", "-2"),
            ("application_name", "'dashboard 7'", "dashboard 7"),
            ("search_path", "information_schema", "information_schema"),
            ("datafusion.execution.batch_size", "1024", "1024"),
            ("datafusion.explain.format", "tree", "tree"),
            ("datafusion.explain.logical_plan_only", "true", "true"),
            ("datafusion.explain.physical_plan_only", "true", "true"),
            ("datafusion.explain.show_schema", "true", "true"),
            ("datafusion.explain.show_sizes", "false", "false"),
            ("datafusion.explain.show_statistics", "true", "true"),
            ("datafusion.sql_parser.parse_float_as_decimal", "true", "true"),
            ("datafusion.sql_parser.enable_ident_normalization", "false", "false"),
        ];
        for (name, value, shown) in allowed {
            let before = show(&b, name).await;
            assert_ne!(before, shown, "{name}: the test would prove nothing");
            a.simple_query(&format!("SET {name} = {value}")).await.unwrap_or_else(|e| panic!("SET {name}: {e:?}"));
            assert_eq!(show(&a, name).await, shown, "{name} in the session that set it");
            assert_eq!(show(&b, name).await, before, "{name} leaked into another session");
        }
        // UTF8 and UTC are accepted as what they already are.
        for set in ["SET TIME ZONE 'UTC'", "SET client_encoding = 'UTF8'", "SET NAMES 'UTF8'"] {
            a.simple_query(set).await.unwrap_or_else(|e| panic!("{set}: {e:?}"));
        }

        // The settings took effect in `a` only.
        assert!(count(&a, "SELECT count(*) FROM tables").await.unwrap() > 5, "search_path = information_schema");
        assert!(count(&b, "SELECT count(*) FROM tables").await.is_err(), "b still resolves names in public");
        assert!(count(&a, "SELECT count(*) FROM public.DEPLOYMENTS").await.is_err(), "no ident normalization in a");
        assert_eq!(count(&b, "SELECT count(*) FROM DEPLOYMENTS").await.unwrap(), 3);
        a.simple_query("SET datafusion.sql_parser.enable_ident_normalization = true").await.unwrap();
        a.simple_query("SET statement_timeout = 1000").await.unwrap();
        let started = Instant::now();
        let e = a.simple_query(ENDLESS).await.expect_err("a's own timeout");
        assert_eq!(refusal(&e).0, "57014", "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(show(&b, "statement_timeout").await, "30s");
        // Never above the server's limit; 0 is the server's limit.
        a.simple_query("SET statement_timeout = '10min'").await.unwrap();
        assert_eq!(show(&a, "statement_timeout").await, "30s");
        a.simple_query("SET statement_timeout = 0").await.unwrap();
        assert_eq!(show(&a, "statement_timeout").await, "30s");
        // RESET restores the server's value, for this session.
        a.simple_query("RESET datafusion.execution.batch_size").await.unwrap();
        assert_eq!(
            show(&a, "datafusion.execution.batch_size").await,
            show(&b, "datafusion.execution.batch_size").await
        );
        a.simple_query("RESET ALL").await.unwrap();
        assert_eq!(show(&a, "search_path").await, "public");

        // Each refused setting: its SQLSTATE, through both protocols, and nobody is changed.
        let refused = [
            ("SET datafusion.runtime.memory_limit = '1K'", "42501", "datafusion.runtime.memory_limit"),
            ("SET datafusion.runtime.temp_directory = '/tmp/x'", "42501", "datafusion.runtime.temp_directory"),
            ("SET datafusion.catalog.information_schema = false", "42501", "datafusion.catalog.information_schema"),
            ("SET datafusion.catalog.default_schema = 'x'", "42501", "datafusion.catalog.default_schema"),
            ("SET datafusion.execution.target_partitions = 64", "42501", "datafusion.execution.target_partitions"),
            ("SET datafusion.execution.time_zone = '+02:00'", "42501", "datafusion.execution.time_zone"),
            ("SET datafusion.no_such.setting = 1", "42704", "datafusion.no_such.setting"),
            ("SET work_mem = '1GB'", "42501", "work_mem"),
            ("SET TIME ZONE 'Europe/Berlin'", "0A000", "Europe/Berlin"),
            ("SET client_encoding = 'LATIN1'", "0A000", "LATIN1"),
            ("SET LOCAL statement_timeout = 1000", "0A000", "LOCAL"),
            ("SET statement_timeout = 'soon'", "22023", "statement_timeout"),
            ("SET datafusion.execution.batch_size = 100000000", "22023", "datafusion.execution.batch_size"),
            ("SET search_path = nowhere", "3F000", "nowhere"),
            ("SET ROLE postgres", "42501", "ROLE"),
            ("SET TRANSACTION READ WRITE", "25006", "READ WRITE"),
        ];
        for (sql, code, named) in refused {
            let simple = a.simple_query(sql).await.expect_err(sql);
            let extended = a.execute(sql, &[]).await.expect_err(sql);
            for e in [simple, extended] {
                let (got, message) = refusal(&e);
                assert_eq!(got, code, "{sql}: {message}");
                assert!(message.contains(named), "{sql}: the message names it: {message}");
            }
        }
        for client in [&a, &b] {
            assert_eq!(count(client, "SELECT count(*) FROM deployments").await.unwrap(), 3);
            assert!(count(client, "SELECT count(*) FROM information_schema.tables").await.unwrap() > 5);
        }
        // A third client, connected after all of it, sees the server's settings.
        let c = connect(server.addr, PASSWORD).await.unwrap();
        assert_eq!(show(&c, "statement_timeout").await, "30s");
        assert_eq!(count(&c, "SELECT count(*) FROM deployments").await.unwrap(), 3);
    });
}

const ENDLESS: &str = "SELECT count(*) FROM generate_series(1, 100000000000) WHERE value % 7 = 3";

/// 80 sockets that never speak hold no session slot: a client with the
/// password gets in at once, and the silent ones are closed at the deadline.
#[test]
fn silent_sockets_cannot_keep_a_client_out() {
    let ws = lake();
    std::fs::write(ws.path().join("devex.toml"), "[serve]\nmax_connections = 2\nstartup_timeout_secs = 2\n").unwrap();
    let server = start(&ws, Some(PASSWORD));
    let opened = Instant::now();
    let mut silent: Vec<TcpStream> = (0..80).map(|_| TcpStream::connect(server.addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let started = Instant::now();
        let a = connect(server.addr, PASSWORD).await.expect("a client with the password gets in");
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        assert_eq!(count(&a, "SELECT count(*) FROM deployments").await.unwrap(), 3);
        let _b = connect(server.addr, PASSWORD).await.expect("a second session");
        // max_connections counts authenticated sessions.
        let Err(e) = connect(server.addr, PASSWORD).await else { panic!("a third session got in") };
        assert_eq!(refusal(&e).0, "53300", "{e:?}");
    });
    // The silent sockets are closed by the deadline (2 s), not by pgwire's minute.
    let deadline = Duration::from_secs(2);
    std::thread::sleep((deadline + Duration::from_millis(1500)).saturating_sub(opened.elapsed()));
    for s in &mut silent {
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("a silent socket is still open after the deadline: {other:?}"),
        }
    }
    let timed_out = |log: &str| log.lines().filter(|l| l.contains("not authenticated within")).count();
    let log = server.log_when(|log| timed_out(log) >= 80 && (log.contains("53300") || log.contains("max_connections")));
    let timed_out = timed_out(&log);
    assert!(timed_out >= 80, "each timed-out socket is logged with its peer:\n{log}");
    assert!(log.contains("127.0.0.1:"), "{log}");
    assert!(log.contains("53300") || log.contains("max_connections"), "the refused session is logged:\n{log}");
    assert!(!log.contains(PASSWORD));
}

/// Past `max_startups`, a socket is closed at once; a client gets in once
/// they are gone.
#[test]
fn handshakes_have_their_own_bound() {
    let ws = lake();
    std::fs::write(ws.path().join("devex.toml"), "[serve]\nmax_startups = 4\nstartup_timeout_secs = 2\n").unwrap();
    let server = start(&ws, None);
    let silent: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(server.addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut fifth = TcpStream::connect(server.addr).unwrap();
    fifth.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut buf = [0u8; 1];
    assert!(matches!(fifth.read(&mut buf), Ok(0) | Err(_)), "the fifth handshake is closed at once");
    let log = server.log_when(|log| log.contains("max_startups"));
    assert!(log.contains("max_startups"), "{log}");
    drop(silent);
    std::thread::sleep(Duration::from_millis(300));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(connect(server.addr, "")).expect("in once the handshakes are gone");
    assert_eq!(rt.block_on(count(&client, "SELECT count(*) FROM deployments")).unwrap(), 3);
}

/// `SHOW` through psql (simple protocol) and psycopg (extended protocol).
#[test]
fn show_answers_through_psql_and_psycopg() {
    let ws = lake();
    let server = start(&ws, Some(PASSWORD));
    let conn = format!("host={} port={} user=devex dbname=devex sslmode=disable", server.addr.ip(), server.addr.port());
    let psql = |sql: &str| {
        let out = Command::new("psql").env("PGPASSWORD", PASSWORD).args([&conn, "-At", "-c", sql]).output().unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(psql("SHOW datafusion.execution.batch_size"), "8192");
    assert_eq!(psql("SHOW statement_timeout"), "60s");
    assert_eq!(psql("SHOW TimeZone"), "UTC");
    let all = psql("SHOW ALL");
    for name in ["statement_timeout|60s|", "DateStyle|", "search_path|public|", "datafusion.execution.batch_size|8192|"]
    {
        assert!(all.lines().any(|l| l.starts_with(name)), "SHOW ALL lacks {name}:\n{all}");
    }
    assert!(!all.contains("datafusion.runtime"), "{all}");
    // One psql session: SET then SHOW.
    assert_eq!(psql("SET datafusion.execution.batch_size = 512; SHOW datafusion.execution.batch_size"), "SET\n512");

    let script = r#"
import sys, psycopg
with psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user="devex", password=sys.argv[3], dbname="devex", autocommit=True) as conn:
    print(conn.execute("SHOW datafusion.execution.batch_size").fetchone()[0])
    conn.execute("SET statement_timeout = '7s'")
    print(conn.execute("SHOW statement_timeout").fetchone()[0])
    rows = conn.execute("SHOW ALL").fetchall()
    print(len(rows[0]), any(r[0] == "statement_timeout" and r[1] == "7s" for r in rows))
    try:
        conn.execute("SET datafusion.runtime.memory_limit = '1K'")
        print("set")
    except psycopg.errors.InsufficientPrivilege as e:
        print("refused", e.sqlstate)
"#;
    if let Some(out) = psycopg(&server, script, &[]) {
        assert_eq!(out, "8192\n7s\n3 True\nrefused 42501\n");
    }
}
