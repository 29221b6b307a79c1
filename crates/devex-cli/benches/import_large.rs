//! `just bench`: importing the large organisation's changes (2M rows) as
//! NDJSON, against DuckDB turning the same file into zstd Parquet
//! (`read_json -> COPY TO`), both timed in this run (wall, peak RSS); then a
//! "night" of new identities into a table that already holds the rest (in the
//! organisation's lake, so the derived facts are refreshed too); and an
//! 8 GiB NDJSON export, which must import within `lake.import_memory_mb`
//! (1024 MiB by default).
//!
//! DuckDB comes from PyPI (`python3 -m pip install duckdb`, which `just bench`
//! runs); without it the DuckDB side is skipped with a note.

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{devex, facts_line, facts_seconds, measure, median, mib, org_files, target_dir};

fn duckdb(script: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &format!("import duckdb\nduckdb.sql(\"SET enable_progress_bar = false\")\n{script}")]);
    cmd
}

fn has_duckdb() -> bool {
    Command::new("python3").args(["-c", "import duckdb"]).status().is_ok_and(|s| s.success())
}

fn import(data: &Path, file: &Path) -> (f64, u64) {
    import_table(data, "changes", file, None)
}

/// `devex import TABLE FILE` into `data`: (wall seconds, peak RSS), its stderr to `log` if given.
fn import_table(data: &Path, table: &str, file: &Path, log: Option<&Path>) -> (f64, u64) {
    let mut cmd = Command::new(devex());
    cmd.arg("--data").arg(data).args(["import", table]).arg(file).args(["--format", "json"]).stdout(Stdio::null());
    if let Some(log) = log {
        cmd.stderr(std::fs::File::create(log).unwrap());
    }
    let (wall, rss) = measure(&mut cmd);
    (wall.as_secs_f64(), rss)
}

/// Write `src` over and over to `out` until it holds `bytes`, copy `k`'s shas
/// prefixed with `k<k>-` so every row is a new identity.
fn repeat_with_new_identities(src: &Path, out: &Path, bytes: u64) {
    use std::io::{BufRead, BufReader, BufWriter, Write};
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out).unwrap());
    let mut written = 0u64;
    for k in 0.. {
        let marker = format!("\"sha\":\"k{k}-");
        for line in BufReader::with_capacity(1 << 20, std::fs::File::open(src).unwrap()).lines() {
            let line = line.unwrap().replacen("\"sha\":\"", &marker, 1);
            w.write_all(line.as_bytes()).unwrap();
            w.write_all(b"\n").unwrap();
            written += line.len() as u64 + 1;
            if written >= bytes {
                w.flush().unwrap();
                return;
            }
        }
    }
}

fn main() {
    let files = org_files();
    let dir = target_dir().join("bench-import");
    std::fs::create_dir_all(&dir).unwrap();
    let ndjson = dir.join("changes.ndjson");
    let (base, night) = (dir.join("changes-base.ndjson"), dir.join("changes-night.ndjson"));
    let duck = has_duckdb();
    if !ndjson.is_file() {
        assert!(duck, "the NDJSON export is made with DuckDB: python3 -m pip install duckdb");
        let csv = files.join("changes.csv");
        let script = format!(
            "duckdb.sql(\"COPY (SELECT * FROM read_csv('{0}', all_varchar = true)) TO '{1}' (FORMAT json)\")\n\
             duckdb.sql(\"COPY (SELECT * FROM read_json('{1}', format = 'newline_delimited') LIMIT 1800000) TO '{2}' (FORMAT json)\")\n\
             duckdb.sql(\"COPY (SELECT * FROM read_json('{1}', format = 'newline_delimited') OFFSET 1800000) TO '{3}' (FORMAT json)\")",
            csv.display(),
            ndjson.display(),
            base.display(),
            night.display()
        );
        measure(&mut duckdb(&script));
    }
    let size = std::fs::metadata(&ndjson).map(|m| m.len()).unwrap_or(0);
    eprintln!("changes.ndjson: {:.0} MiB", mib(size));

    // Three runs of each, interleaved, so a slow moment of the machine weighs on both sides.
    let lake = dir.join("lake");
    let parquet = dir.join("duckdb.parquet");
    let copy = format!(
        "duckdb.sql(\"COPY (SELECT * FROM read_json('{}', format = 'newline_delimited')) TO '{}' (FORMAT parquet, COMPRESSION zstd)\")",
        ndjson.display(),
        parquet.display()
    );
    let (mut devex_walls, mut duck_walls, mut devex_rss, mut duck_rss) = (Vec::new(), Vec::new(), 0, 0);
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&lake);
        let (wall, rss) = import(&lake, &ndjson);
        devex_walls.push(wall);
        devex_rss = devex_rss.max(rss);
        if duck {
            let (wall, rss) = measure(&mut duckdb(&copy));
            duck_walls.push(wall.as_secs_f64());
            duck_rss = duck_rss.max(rss);
        }
    }
    let devex_wall = median(devex_walls);
    println!(
        "devex import changes (NDJSON, {:.0} MiB, new table): median {devex_wall:.2} s wall of 3, peak RSS {:.0} MiB (target <= 1024 MiB)",
        mib(size),
        mib(devex_rss)
    );
    if duck {
        let wall = median(duck_walls);
        println!(
            "duckdb read_json -> COPY TO parquet: median {wall:.2} s wall of 3, peak RSS {:.0} MiB; devex / duckdb = {:.2}x (target <= 1.5x)",
            mib(duck_rss),
            devex_wall / wall
        );
    } else {
        println!("duckdb: not installed (python3 -m pip install duckdb), no ratio");
    }

    // An 8 GiB export (the changes again and again, each copy with shas of its own).
    let big = dir.join("changes-8gib.ndjson");
    let want = 8u64 << 30;
    if std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0) < want {
        repeat_with_new_identities(&ndjson, &big, want);
    }
    let _ = std::fs::remove_dir_all(&lake);
    let (wall, rss) = import(&lake, &big);
    let big_size = std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0);
    println!(
        "devex import changes (NDJSON, {:.1} GiB, new table): {wall:.1} s wall, peak RSS {:.0} MiB (target <= 1024 MiB)",
        big_size as f64 / (1u64 << 30) as f64,
        mib(rss)
    );

    // A night of new identities into a table that holds the other 1.8M rows: an append, into
    // the organisation's lake (its services, deployments and incidents too), so the import
    // refreshes the derived facts as it does in production. The import alone is the wall time
    // less the refresh the import reports.
    let _ = std::fs::remove_dir_all(&lake);
    for (table, file) in
        [("services", "services.csv"), ("deployments", "deployments.csv"), ("incidents", "incidents.ndjson")]
    {
        import_table(&lake, table, &files.join(file), None);
    }
    import(&lake, &base);
    let log = dir.join("night.stderr");
    let (wall, rss) = import_table(&lake, "changes", &night, Some(&log));
    let facts = facts_seconds(&log);
    let alone = wall - facts;
    println!(
        "devex import of 200k new changes into 1.8M, facts refreshed: {wall:.2} s wall = {alone:.2} s import + {facts:.2} s facts; \
         with facts / import alone = {:.2}x (target <= 1.5x), peak RSS {:.0} MiB\n  {}",
        wall / alone,
        mib(rss),
        facts_line(&log)
    );
    let (wall, rss) = import_table(&lake, "changes", &night, Some(&log));
    println!(
        "the same 200k again (known identities, the same values: no row changes, so no fact is refreshed): {wall:.2} s wall, {:.2} s of it facts, peak RSS {:.0} MiB",
        facts_seconds(&log),
        mib(rss)
    );
    let _ = std::fs::remove_dir_all(&lake);
}
