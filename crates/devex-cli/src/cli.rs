//! The command line, as clap derive types. What the user typed, nothing resolved.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use devex_model::Table;

/// DevEx and DORA metrics for platform teams: ingest delivery, incident and
/// survey data into a Delta Lake, query it, publish a scorecard.
///
/// Start with `devex demo`, which imports the bundled sample organisation.
#[derive(Debug, Parser)]
#[command(name = "devex", version = crate::build_info::LONG_VERSION, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file [default: $DEVEX_CONFIG, else ./devex.toml if present, else built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The lake: a directory, or an object-store URL (s3://bucket/prefix, gs://, az://, abfss://)
    /// that every command but demo reads and writes, with credentials from AWS_*, GOOGLE_*,
    /// AZURE_* [default: $DEVEX_DATA, else config `data_dir`, else ./devex-data]
    #[arg(long, global = true, value_name = "DIR|URL")]
    pub data: Option<PathBuf>,
    /// Seconds to wait for another devex writer of a local lake before giving up (object storage
    /// has no lock: writers commit optimistically) [default: config lake.lock_timeout_secs = 60]
    #[arg(long, global = true, value_name = "SECS")]
    pub lock_timeout: Option<u64>,
    /// Run the SQL of metrics, trends, sql and report on a Ballista cluster (`devex cluster`):
    /// the scheduler's address. Fails if it does not answer; never falls back to local. Needs
    /// a devex with the cluster built in (release binaries, the image, `--features cluster`)
    #[arg(long, global = true, value_name = "df://HOST:PORT", env = "DEVEX_CLUSTER")]
    pub cluster: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented devex.toml with every setting and its default.
    Init(InitArgs),
    /// Import export files (CSV, NDJSON, JSON) into one table of the lake.
    ///
    /// Rows that break the data contract go to the `quarantine` table with file,
    /// line, column and reason; the rest land in one atomic commit on the
    /// table's identity (an append when every identity is new, else a MERGE),
    /// so re-importing a file creates no duplicates. Nothing is visible until
    /// that commit: a file that breaks half-way changes nothing.
    ///
    /// Files of any size stream through in chunks, within about
    /// lake.import_memory_mb of memory (default 1024 MiB); a long import shows
    /// its progress every few seconds on a terminal.
    ///
    /// Exit status: 0 all rows landed; 3 some rows were quarantined and the rest
    /// landed; 2 nothing changed (unreadable file, missing required column, lock timeout).
    ///
    /// Examples:
    ///   devex import deployments exports/cd-2026-q3.csv
    ///   devex import incidents pagerduty.ndjson --source pagerduty
    ///   devex import survey_responses wave-2026-Q3.csv   (extra columns become survey_answers)
    ///   cat deploys.json | devex import deployments - --input-format json --format json
    #[command(verbatim_doc_comment)]
    Import(ImportArgs),
    /// Compact small files, vacuum unreferenced files older than the retention, refresh the facts.
    ///
    /// The derived facts (every production deployment with its next one, every deployed
    /// change's lead time, every incident's links: docs/facts.md) are recomputed where
    /// compaction moved their base tables; --refresh-facts recomputes them all.
    ///
    /// Examples:
    ///   devex maintain
    ///   devex maintain --retention-days 90
    ///   devex maintain --refresh-facts
    #[command(verbatim_doc_comment)]
    Maintain(MaintainArgs),
    /// DORA and DevEx metrics for a window, per organisation, team or service.
    ///
    /// Definitions: docs/metrics.md; the SQL behind every number: queries/*.sql.
    ///
    /// Examples:
    ///   devex metrics                          (last 90 days, whole organisation)
    ///   devex metrics --quarter 2026-Q3 --by team
    ///   devex metrics --from 2026-01-01 --to 2026-04-01 --format json
    ///   devex metrics --quarter 2026-Q2 --as-of-version 12   (reproduce a published number)
    #[command(verbatim_doc_comment)]
    Metrics(MetricsArgs),
    /// Every metric per quarter; with --relative-to-onboarding, the J-curve.
    ///
    /// Quarters end with the quarter of the latest deployment. Relative to onboarding, each
    /// team's (or service's) quarters are indexed from its onboarding quarter q0, with the
    /// baseline (mean of q-2 and q-1), the first dip after q0 and the first recovery after it.
    ///
    /// Examples:
    ///   devex trends --by team --quarters 4
    ///   devex trends --by team --relative-to-onboarding
    #[command(verbatim_doc_comment)]
    Trends(TrendsArgs),
    /// The effect of onboarding: each team (or service) against those not yet onboarded.
    ///
    /// The J-curve compares a team with its own past, so an organisation that improves
    /// everywhere makes every move onto the platform look good. This compares each onboarded
    /// team's change since the quarter before its onboarding with the change of the teams not
    /// yet onboarded over the same quarters (an event study: Callaway and Sant'Anna's
    /// group-time effects), per quarter since onboarding, with a bootstrap interval over teams.
    /// Quarters before onboarding are a check: an interval there that excludes 0 means the
    /// groups already drifted apart, and the comparison is flagged as not trustworthy.
    /// Definitions: docs/metrics.md, "Effect of onboarding"; the SQL: queries/08_effect.sql.
    ///
    /// Examples:
    ///   devex effect                                  (per team, 8 quarters, every metric)
    ///   devex effect --metric lead_time_p50 --quarters 12
    ///   devex effect --by service --replicates 4999 --seed 7 --format json
    #[command(verbatim_doc_comment)]
    Effect(EffectArgs),
    /// List the rows behind one DORA number, to check it.
    ///
    /// The rows come from the same saved views as `devex metrics`, for the same window and
    /// group, and the value printed above them is the one `devex metrics` prints. For the
    /// change failure rate every deployment shows the failure rules that hold for it and the
    /// incidents behind them. Survey numbers (nps, the DevEx scores) are never listed row by
    /// row: that would show who answered what. Definitions: docs/metrics.md, "Tracing a number".
    ///
    /// Metrics: deployments, lead_time, change_failure_rate, recovery_time, rework_rate,
    /// time_to_restore.
    ///
    /// Examples:
    ///   devex explain lead_time --quarter 2026-Q2 --team payments
    ///   devex explain change_failure_rate --last 30d --service api --format csv
    ///   devex explain time_to_restore --quarter 2026-Q2 --format json
    #[command(verbatim_doc_comment)]
    Explain(ExplainArgs),
    /// Run ad-hoc SQL (DataFusion dialect) over every lake table and saved view.
    ///
    /// The saved views (the SQL defining every metric, built into devex) are queryable by
    /// name, for the window and grouping given; `devex sql --help` lists each one.
    ///
    /// Examples:
    ///   devex sql "SELECT service, count(*) FROM deployments GROUP BY service"
    ///   devex sql --quarter 2026-Q3 --by team "SELECT * FROM lead_time_change WHERE grp = 'payments'"
    #[command(verbatim_doc_comment, after_long_help = crate::commands::sql::views_help())]
    Sql(SqlArgs),
    /// Run every configured source (GitHub, GitLab, PagerDuty, Typeform, Google Forms, file
    /// inboxes) and land what is new: the nightly job.
    ///
    /// Sources are the [sources.<name>] tables of devex.toml (`devex init` shows an example of
    /// each type). Each GitHub repository and GitLab project syncs from its watermark minus
    /// the overlap (default 3 days); one that fails keeps its watermark and lands nothing,
    /// the others still land, and the run exits 3 naming it. A PagerDuty source reads the
    /// incidents created since its last run and re-reads those still open then. A Typeform or
    /// Google Forms source reads each form's submitted responses from the latest one landed
    /// minus an hour (each form is a unit like a repository). Files dropped into a files
    /// source's inbox are imported and moved to done/ or failed/. Every run appends a record
    /// to <data>/_state/runs.ndjson (see devex status). Tokens come from $GITHUB_TOKEN,
    /// $GITLAB_TOKEN, $PAGERDUTY_TOKEN, $TYPEFORM_TOKEN (or each source's token_env), Google's
    /// key file from $GOOGLE_APPLICATION_CREDENTIALS, and are never printed or stored.
    ///
    /// Examples:
    ///   devex ingest                            (every source, incrementally)
    ///   devex ingest --source github --since 2026-01-01
    ///   devex ingest --source pagerduty         (one source, by its [sources.<name>] name)
    ///   devex ingest --full                     (ignore watermarks, re-read everything)
    #[command(verbatim_doc_comment)]
    Ingest(IngestArgs),
    /// Show the last ingest runs, each source's watermarks and the lake's freshness per table.
    Status(StatusArgs),
    /// Serve the lake over the PostgreSQL wire protocol, for psql, Grafana, Metabase, DBeaver.
    ///
    /// Clients see what `devex sql` sees: every table and saved view (for the window and
    /// grouping given here, default the last 90 days), plus any window's metrics from SQL:
    ///   metrics(from, to [, 'team'|'service'])   the rows of `devex metrics` for [from, to)
    ///   trends(quarters [, by])                   the quarterly rows of `devex trends`
    ///   jcurve([by [, quarters]])                 the rows relative to onboarding
    /// Each statement sees the lake's latest committed version (no restart after an ingest).
    /// Only queries run: INSERT, UPDATE, DELETE, COPY, CREATE and DROP are refused.
    /// The user is `devex` ([serve] user); the password comes from $DEVEX_SERVE_PASSWORD
    /// ([serve] password_env) and is checked with SCRAM-SHA-256. Without a password the
    /// server listens only on a loopback address. [serve] tls_cert/tls_key turn on TLS (and
    /// refuse clear text); statement_timeout_secs, memory_limit_mb and max_connections bound it.
    /// A connection must authenticate within startup_timeout_secs (10); max_startups (256)
    /// bounds connections still authenticating, apart from max_connections.
    /// Each client has a session of its own: SET changes only it, and only statement_timeout
    /// (at most the server's), TimeZone (UTC), DateStyle, IntervalStyle, bytea_output,
    /// extra_float_digits, application_name, search_path, client_encoding (UTF8) and a few
    /// datafusion.execution/explain/sql_parser settings may be set (SHOW ALL lists them).
    ///
    /// Examples:
    ///   devex serve                                   (127.0.0.1:5433, no password)
    ///   DEVEX_SERVE_PASSWORD=... devex serve --listen 0.0.0.0:5433
    ///   psql "host=127.0.0.1 port=5433 user=devex dbname=devex" \
    ///        -c "SELECT * FROM metrics('2026-01-01', '2026-04-01', 'team')"
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Run a Ballista cluster's processes, for `--cluster` (Ballista 55).
    ///
    /// Release binaries and the image have the cluster built in; a source build needs
    /// `--features cluster` (`cargo install --locked --path crates/devex-cli --features cluster`).
    ///
    /// One scheduler plans each query into stages; executors (one per machine or pod) run
    /// them. Both are this binary, so executors read the lake with the same object-store
    /// credentials (AWS_*, GOOGLE_*, AZURE_*) and decode devex's plans. Clients then run
    /// `devex --cluster df://HOST:PORT metrics ...`: the same SQL, the same numbers, on the
    /// cluster. Each table is shipped as its snapshot's live Parquet files; tables with
    /// deletion vectors or column mapping are refused.
    ///
    /// Examples:
    ///   devex cluster scheduler --listen 0.0.0.0:50050
    ///   devex cluster executor --scheduler scheduler:50050 --listen 0.0.0.0:50051
    ///   devex --data s3://lake/org --cluster df://scheduler:50050 metrics --by team
    #[command(verbatim_doc_comment, subcommand)]
    Cluster(ClusterCommand),
    /// Write the public platform scorecard: a self-contained HTML site.
    ///
    /// DIR/index.html is the organisation's page (headline DORA tiles with bands, quarterly
    /// trends, the J-curve around onboarding, adoption, NPS and DevEx scores, data coverage);
    /// DIR/teams/<team>.html is each team's; DIR/scorecard.json holds the same numbers. The
    /// pages load nothing from the network and run no scripts: open them from disk, mail them,
    /// or copy the folder to any static host. No names or free-text answers are published, and
    /// survey groups under survey.min_group_size are withheld.
    ///
    /// Examples:
    ///   devex report                                  (the latest deployment's quarter, 8 quarters of trends)
    ///   devex report --quarter 2026-Q3 --out site/2026-Q3 --title "Acme platform scorecard"
    ///   devex report --quarter 2026-Q3 --as-of 2026-10-02T08:00:00Z   (regenerate a published page)
    #[command(verbatim_doc_comment)]
    Report(ReportArgs),
    /// Import the bundled sample organisation into a fresh data dir, show what landed and its
    /// metrics, and write its scorecard.
    ///
    /// The data dir must be empty, absent, or an earlier demo's lake that nothing else has
    /// written to since: the demo never deletes real data.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write [default: the --config path, else ./devex.toml]
    #[arg(value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Target table: deployments, changes, incidents, survey_responses, survey_answers, adoption_events, services
    #[arg(value_parser = parse_importable, value_name = "TABLE")]
    pub table: Table,
    /// Files to import (.csv, .ndjson/.jsonl, .json array); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Format of standard input (required with `-`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<InputFormatArg>,
    /// Value of `source` for rows whose file has no `source` column.
    #[arg(long, default_value = "file", value_name = "NAME")]
    pub source: String,
    /// Output: a human summary on stderr, or one JSON object per table on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct MaintainArgs {
    /// Keep files needed for time travel within this many days (7..=36500 without --force)
    /// [default: config lake.retention_days = 30]
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u64>,
    /// Allow a retention under 7 days: `--as-of` and `--as-of-version` then fail for older
    /// states, and a reader still using a vacuumed file fails.
    #[arg(long)]
    pub force: bool,
    /// Recompute every derived fact from the base tables, current or not (maintain
    /// always recomputes those whose base tables it compacted). `devex status` shows them.
    #[arg(long)]
    pub refresh_facts: bool,
}

/// Which window, and which state of the lake.
#[derive(Debug, Args, Clone)]
pub struct WindowArgs {
    /// Window start (inclusive): a date or timestamp; without offset, in the configured timezone
    #[arg(long, value_name = "DATE", requires = "to", conflicts_with_all = ["quarter", "last"])]
    pub from: Option<String>,
    /// Window end (exclusive)
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<String>,
    /// A calendar quarter, e.g. 2026-Q3
    #[arg(long, value_name = "YYYY-QN", conflicts_with = "last")]
    pub quarter: Option<String>,
    /// The last N days or weeks up to now, e.g. 90d, 12w [default: 90d]
    #[arg(long, value_name = "N{d|w}")]
    pub last: Option<String>,
    /// Read the lake as it was at this instant (Delta time travel)
    #[arg(long, value_name = "TIMESTAMP", conflicts_with = "as_of_version")]
    pub as_of: Option<String>,
    /// Read every table at this Delta version (as printed by `import --format json` and the report)
    #[arg(long, value_name = "N")]
    pub as_of_version: Option<u64>,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Group by team or service [default: the whole organisation]
    #[arg(long, value_enum, value_name = "GROUP")]
    pub by: Option<GroupArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MetricsFormat::Table)]
    pub format: MetricsFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The number to list: deployments, lead_time, change_failure_rate, recovery_time,
    /// rework_rate or time_to_restore
    #[arg(value_name = "METRIC")]
    pub metric: String,
    #[command(flatten)]
    pub window: WindowArgs,
    /// The team whose number to list [default: the whole organisation]
    #[arg(long, value_name = "TEAM", conflicts_with = "service")]
    pub team: Option<String>,
    /// The service whose number to list
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MetricsFormat::Table)]
    pub format: MetricsFormat,
}

#[derive(Debug, Args)]
pub struct TrendsArgs {
    /// How many quarters, ending with the quarter of the latest deployment (1..=200).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=200))]
    pub quarters: u32,
    /// Group by team or service [default: the whole organisation]
    #[arg(long, value_enum, value_name = "GROUP")]
    pub by: Option<GroupArg>,
    /// Index quarters from each group's onboarding quarter (needs --by).
    #[arg(long, requires = "by")]
    pub relative_to_onboarding: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MetricsFormat::Table)]
    pub format: MetricsFormat,
    /// Read every table at this Delta version.
    #[arg(long, value_name = "N")]
    pub as_of_version: Option<u64>,
}

#[derive(Debug, Args)]
pub struct EffectArgs {
    /// Compare teams or services.
    #[arg(long, value_enum, value_name = "GROUP", default_value_t = GroupArg::Team)]
    pub by: GroupArg,
    /// How many quarters, ending with the quarter of the latest deployment (2..=200).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=200))]
    pub quarters: u32,
    /// Only this metric (repeatable): lead_time_p50, change_failure_rate, deployments_per_day,
    /// recovery_p50, time_to_restore_p50, nps [default: all six]
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(devex_query::effect::METRICS))]
    pub metric: Vec<String>,
    /// Bootstrap replicates (1..=100000) [default: [effect] replicates, 999]
    #[arg(long, value_name = "B", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replicates: Option<u32>,
    /// The bootstrap's seed: the same seed gives the same intervals [default: [effect] seed, 1]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MetricsFormat::Table)]
    pub format: MetricsFormat,
    /// Read every table at this Delta version.
    #[arg(long, value_name = "N")]
    pub as_of_version: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupArg {
    Team,
    Service,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricsFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Grouping for the saved views [default: the whole organisation]
    #[arg(long, value_enum, value_name = "GROUP")]
    pub by: Option<GroupArg>,
    /// The statement to run.
    #[arg(value_name = "SQL", required_unless_present = "file", conflicts_with = "file")]
    pub query: Option<String>,
    /// Read the statement from a file.
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    pub file: Option<PathBuf>,
    /// Output format (parquet needs --output).
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Run only this source (repeatable) [default: every source in the config]
    #[arg(long, value_name = "NAME")]
    pub source: Vec<String>,
    /// Read from this date or timestamp on, whatever the watermarks say
    #[arg(long, value_name = "DATE", conflicts_with = "full")]
    pub since: Option<String>,
    /// Ignore the watermarks and re-read everything (rows already in the lake are replaced, not duplicated)
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Grouping for the saved views [default: the whole organisation]
    #[arg(long, value_enum, value_name = "GROUP")]
    pub by: Option<GroupArg>,
    /// Address to listen on [default: [serve] listen, 127.0.0.1:5433]
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Run the scheduler: clients connect to it with --cluster df://HOST:PORT.
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        listen: std::net::SocketAddr,
    },
    /// Run an executor: it registers with the scheduler and runs the tasks it is given.
    Executor {
        /// The scheduler's address.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Address for data (Arrow Flight); the next port serves the scheduler's calls.
        #[arg(long, default_value = "127.0.0.1:50051", value_name = "HOST:PORT")]
        listen: std::net::SocketAddr,
        /// The host name others reach this executor by [default: the listen address]
        #[arg(long, value_name = "HOST")]
        external_host: Option<String>,
        /// Tasks run at once [default: one per core]
        #[arg(long, default_value_t = 0, value_name = "N")]
        concurrent_tasks: usize,
        /// Directory for shuffle files [default: a temporary directory]
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// How many of the last runs to show.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub runs: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Directory to write the site into (created if missing).
    #[arg(long, default_value = "reports/site", value_name = "DIR")]
    pub out: PathBuf,
    /// The scorecard's quarter, e.g. 2026-Q3 [default: the quarter of the latest deployment]
    #[arg(long, value_name = "YYYY-QN")]
    pub quarter: Option<String>,
    /// Quarters of history in the trend and J-curve charts, ending with the scorecard's quarter.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=40))]
    pub quarters: u32,
    /// The page title.
    #[arg(long, default_value = "Platform scorecard")]
    pub title: String,
    /// Read the lake as it was at this instant (Delta time travel); the page prints the instant to use.
    #[arg(long, value_name = "TIMESTAMP", conflicts_with = "as_of_version")]
    pub as_of: Option<String>,
    /// Read every table at this Delta version.
    #[arg(long, value_name = "N")]
    pub as_of_version: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The sample organisation to import [default: ./sample-data, else the one built into devex]
    #[arg(long, value_name = "DIR")]
    pub sample: Option<PathBuf>,
    /// Where to write the sample's scorecard.
    #[arg(long, default_value = "reports/demo", value_name = "DIR")]
    pub report_out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormatArg {
    Csv,
    Ndjson,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

fn parse_importable(s: &str) -> Result<Table, String> {
    let t: Table = s.parse().map_err(|e: devex_model::table::UnknownTable| e.to_string())?;
    if t == Table::Quarantine {
        return Err("the quarantine is written by devex itself, not imported".into());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
