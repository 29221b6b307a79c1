"""`devex metrics` in DuckDB, for `just bench`: the same SQL files of queries/
over the same Parquet files of the lake, for the metrics_large bench to time
against devex and to check that both give the same numbers.

    python3 duckdb_metrics.py LAKE QUERIES FROM TO GROUP_BY TZ OUT.json

The files are run as they are, placeholders filled as devex fills them for
one window, with three dialect rewrites: a timestamp literal is DuckDB's
`TIMESTAMPTZ '...'`, and `to_local_time(t AT TIME ZONE 'z')` is DuckDB's
`(t AT TIME ZONE 'z')` (a TIMESTAMPTZ at a zone is its local time); and the integer
division `x_us / 1000000` is DuckDB's `//` (its `/` divides as floats).
Each table reads the live files of its Delta log (adds minus removes), with
its `month` partition column. The views devex computes once per run
(`queries::SHARED_VIEWS`) are DuckDB tables here too, so both engines do the
same work. Settings are devex's defaults.
"""

import datetime
import glob
import json
import os
import re
import sys

import duckdb

SHARED_VIEWS = {"band_threshold", "production_deployment", "service_group", "incident_link", "deployment_outcome"}
FILES = ["00_bands.sql", "01_deployments.sql", "02_lead_time.sql", "03_change_failure.sql",
         "04_time_to_restore.sql", "05_survey.sql", "09_metrics.sql"]
# Tables the bench lake does not hold, with the columns the metric SQL reads.
EMPTY = {
    "survey_responses": "source VARCHAR, id VARCHAR, survey VARCHAR, submitted_at TIMESTAMPTZ, team VARCHAR, nps INTEGER",
    "survey_answers": "source VARCHAR, response_id VARCHAR, survey VARCHAR, question VARCHAR, score INTEGER",
    "incidents": "source VARCHAR, id VARCHAR, service VARCHAR, created_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ, "
                 "caused_by_deployment VARCHAR, root_cause_sha VARCHAR",
}


def live_files(table_dir):
    """The data files of a Delta table's latest version."""
    live = {}
    for log in sorted(glob.glob(os.path.join(table_dir, "_delta_log", "*.json"))):
        with open(log) as f:
            for line in f:
                action = json.loads(line)
                if "add" in action:
                    live[action["add"]["path"]] = True
                elif "remove" in action:
                    live.pop(action["remove"]["path"], None)
    if glob.glob(os.path.join(table_dir, "_delta_log", "*.checkpoint*")):
        sys.exit(f"{table_dir}: checkpoints are not read by this script")
    return [os.path.join(table_dir, p) for p in live]


def calendar(first, last):
    """Mondays, first days of months and of quarters overlapping [first, last] (dates)."""
    weeks, months, quarters = [], [], []
    d = first - datetime.timedelta(days=first.weekday())
    while d <= last:
        weeks.append(d)
        d += datetime.timedelta(days=7)
    m = first.replace(day=1)
    while m <= last:
        months.append(m)
        m = (m.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    q = m = first.replace(day=1, month=(first.month - 1) // 3 * 3 + 1)
    while q <= last:
        quarters.append(q)
        q = datetime.date(q.year + (q.month + 2) // 12, (q.month + 2) % 12 + 1, 1)
    return weeks, months, quarters


def main():
    lake, queries, frm, to, group_by, tz, out = sys.argv[1:8]
    con = duckdb.connect()
    run = lambda sql: con.execute(sql).fetchall()
    run("SET enable_progress_bar = false")
    run("SET TimeZone = 'UTC'")
    for table in ["services", "deployments", "changes", "incidents", "survey_responses", "survey_answers"]:
        files = live_files(os.path.join(lake, table))
        if files:
            listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            run(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listing}], hive_partitioning = true)")
        else:
            run(f"CREATE TABLE {table} ({EMPTY[table]})")

    # The parameter tables of devex_query::params, for one window in `tz` at devex's defaults.
    local = lambda t: run(f"SELECT CAST((TIMESTAMPTZ '{t}' AT TIME ZONE '{tz}') AS DATE)")[0][0]
    last = run(f"SELECT CAST(((TIMESTAMPTZ '{to}' - INTERVAL '1 microsecond') AT TIME ZONE '{tz}') AS DATE)")[0][0]
    weeks, months, quarters = calendar(local(frm), last)
    period = f"{frm}/{to}"
    run("CREATE TABLE production_environments AS SELECT * FROM (VALUES ('production'), ('prod')) t(environment)")
    run("CREATE TABLE survey_questions (question VARCHAR, dimension VARCHAR, scale_max BIGINT)")
    run("CREATE TABLE custom_bands (metric VARCHAR, band VARCHAR, threshold DOUBLE)")
    run(f"CREATE TABLE metric_period AS SELECT '{period}' AS period, TIMESTAMPTZ '{frm}' AS window_from, TIMESTAMPTZ '{to}' AS window_to")
    for name, column, days in [("calendar_week", "week_start", weeks), ("calendar_month", "month_start", months),
                               ("calendar_quarter", "quarter_start", quarters)]:
        values = ", ".join(f"('{period}', DATE '{d}')" for d in days)
        run(f"CREATE TABLE {name} AS SELECT * FROM (VALUES {values}) t(period, {column})")

    for file in FILES:
        text = open(os.path.join(queries, file)).read()
        text = (text.replace("{{timezone}}", tz)
                .replace("{{window_from}}", f"TIMESTAMPTZ '{frm}'")
                .replace("{{window_to}}", f"TIMESTAMPTZ '{to}'")
                .replace("{{group_by}}", f"'{group_by}'")
                .replace("{{benchmarks}}", "'dora-2023'")
                .replace("{{attribution_window_hours}}", "24.0")
                .replace("{{min_group_size}}", "5")
                .replace("to_local_time(", "("))
        text = re.sub(r"^\s*--.*$", "", text, flags=re.M)
        text = re.sub(r"\b(\w+_us) / 1000000\b", r"\1 // 1000000", text)
        text = re.sub(r"\{\{period_of\(([^)]*)\)\}\}", lambda m: f"CASE WHEN {m.group(1)} < TIMESTAMPTZ '{to}' THEN '{period}' END", text)
        text = expand_group_of(text, group_by)
        for statement in filter(str.strip, text.split(";")):
            name = re.match(r"\s*CREATE VIEW (\w+) AS", statement).group(1)
            if name in SHARED_VIEWS:
                statement = statement.replace(f"CREATE VIEW {name} AS", f"CREATE TABLE {name} AS", 1)
            run(statement)
    cursor = con.execute("SELECT * FROM metrics ORDER BY grp")
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    with open(out, "w") as f:
        json.dump([dict(zip(columns, r)) for r in rows], f, default=str)


def expand_group_of(text, group_by):
    """`{{group_of(team, service)}}` as devex_query::queries::render writes it."""
    out, rest, opening = [], text, "{{group_of("
    while opening in rest:
        at = rest.index(opening)
        start = at + len(opening)
        close = rest.index(")}}", start)
        inner, args, depth, last = rest[start:close], [], 0, 0
        for i, c in enumerate(inner):
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif c == "," and depth == 0:
                args.append(inner[last:i].strip())
                last = i + 1
        args.append(inner[last:].strip())
        team, service = args
        out.append(rest[:at])
        out.append(f"CASE '{group_by}' WHEN 'team' THEN COALESCE({team}, '(no team)') "
                   f"WHEN 'service' THEN {service} ELSE '' END")
        rest = rest[close + 3:]
    out.append(rest)
    return "".join(out)


if __name__ == "__main__":
    main()
