//! `devex.toml`: what the user wrote, deserialised with serde and checked, with
//! every setting's default in one place. No I/O here: the CLI decides which
//! file to read (`--config`, `$DEVEX_CONFIG`, `./devex.toml`, or none).
//!
//! ```
//! let cfg = devex_model::Config::from_toml_str("timezone = \"Europe/Berlin\"").unwrap();
//! assert_eq!(cfg.timezone, "Europe/Berlin");
//! assert_eq!(cfg.attribution_window_hours, 24);
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Errors reading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML did not parse or had an unknown or mistyped key.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// `timezone` is not an IANA zone name.
    #[error("timezone `{0}` is not an IANA time zone name (e.g. `UTC`, `Europe/Berlin`)")]
    Timezone(String),
    /// A value is out of its range.
    #[error("{0}")]
    Invalid(String),
}

/// The smallest `survey.min_group_size` accepted: below it, a published
/// score is one or two people's answers.
pub const MIN_GROUP_SIZE_FLOOR: u32 = 3;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the lake lives; `--data` and `$DEVEX_DATA` win over it.
    pub data_dir: Option<PathBuf>,
    /// IANA zone for timestamps without offset, and the calendar of days,
    /// ISO weeks and quarters.
    pub timezone: String,
    /// Environments that count as production (compared case-insensitively).
    pub production_environments: Vec<String>,
    /// Hours after a deployment within which an unlinked incident of the same
    /// service is attributed to it.
    pub attribution_window_hours: u32,
    /// Band thresholds: `dora-2023`, or `custom` with `[custom_benchmarks]`.
    pub benchmarks: String,
    /// With `benchmarks = "custom"`: the thresholds of each band.
    pub custom_benchmarks: Option<CustomBenchmarks>,
    /// Survey settings.
    pub survey: SurveyConfig,
    /// Lake maintenance and locking.
    pub lake: LakeConfig,
    /// Named sources `devex ingest` runs: `[sources.<name>]` with a `type`.
    pub sources: BTreeMap<String, SourceConfig>,
    /// `devex serve`.
    pub serve: ServeConfig,
    /// `devex effect` and the scorecard's effect of onboarding: its bootstrap.
    pub effect: EffectConfig,
}

/// `[effect]`: the bootstrap behind the effect of onboarding's intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EffectConfig {
    /// Bootstrap replicates (each draws as many groups as there are, with replacement).
    pub replicates: u32,
    /// The draws' seed: the same seed gives the same intervals.
    pub seed: u64,
    /// The intervals' level: 0.95 gives the 2.5th to the 97.5th percentile of the replicates.
    pub level: f64,
}

impl Default for EffectConfig {
    fn default() -> Self {
        EffectConfig { replicates: 999, seed: 1, level: 0.95 }
    }
}

impl EffectConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=100_000).contains(&self.replicates) {
            return Err(ConfigError::Invalid(format!("effect.replicates = {} is outside 1..=100000", self.replicates)));
        }
        if !(0.5..=0.999).contains(&self.level) {
            return Err(ConfigError::Invalid(format!(
                "effect.level = {} is outside 0.5..=0.999 (0.95 gives 95 % intervals)",
                self.level
            )));
        }
        Ok(())
    }
}

/// `[serve]`: the PostgreSQL wire server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Where to listen; `--listen` wins over it.
    pub listen: String,
    /// The user clients log in as.
    pub user: String,
    /// The environment variable holding the password (checked with SCRAM-SHA-256).
    /// Unset: no authentication, and only a loopback address is allowed.
    pub password_env: String,
    /// Authenticated clients served at once.
    pub max_connections: usize,
    /// Connections still authenticating (TLS, startup, password) at once.
    pub max_startups: usize,
    /// Seconds a connection may take to authenticate before it is closed.
    pub startup_timeout_secs: u64,
    /// Longest a statement may take, from arrival to its last row sent.
    pub statement_timeout_secs: u64,
    /// Longest statement text a client may send, in bytes.
    pub max_statement_bytes: usize,
    /// Memory (MiB) all running queries share; a query needing more fails.
    pub memory_limit_mb: usize,
    /// Memory (MiB) for the results of the metric functions (`metrics(...)`, ...),
    /// kept per call and lake snapshot; 0 keeps none.
    pub cache_mb: usize,
    /// PEM certificate chain: with `tls_key`, TLS only (clear text refused).
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<std::path::PathBuf>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:5433".into(),
            user: "devex".into(),
            password_env: "DEVEX_SERVE_PASSWORD".into(),
            max_connections: 64,
            max_startups: 256,
            startup_timeout_secs: 10,
            statement_timeout_secs: 60,
            max_statement_bytes: 1 << 20,
            memory_limit_mb: 4096,
            cache_mb: 256,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// One `[sources.<name>]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
#[allow(clippy::large_enum_variant)] // a handful per config file
pub enum SourceConfig {
    /// GitHub (or GitHub Enterprise) repositories.
    Github(GithubSource),
    /// Export files dropped into an inbox directory.
    Files(FilesSource),
    /// GitLab (gitlab.com or self-managed) projects.
    Gitlab(GitlabSource),
    /// PagerDuty incidents.
    Pagerduty(PagerdutySource),
    /// Typeform forms' responses (a DevEx survey).
    Typeform(TypeformSource),
    /// Google Forms forms' responses (a DevEx survey).
    #[serde(rename = "google_forms")]
    GoogleForms(GoogleFormsSource),
}

impl SourceConfig {
    /// Check values serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            SourceConfig::Github(g) => {
                if g.repos.is_empty() && g.org.is_none() {
                    return Err("name `repos = [\"owner/name\", ...]` or `org = \"...\"`".into());
                }
                if let Some(r) = g.repos.iter().find(|r| r.split('/').filter(|p| !p.is_empty()).count() != 2) {
                    return Err(format!("repos: `{r}` is not `owner/name`"));
                }
                if g.deploy_from == DeployFrom::Workflows && g.workflows.is_empty() {
                    return Err("deploy_from = \"workflows\" needs `workflows = [\"Deploy\", ...]`".into());
                }
                if g.concurrency == 0 {
                    return Err("concurrency must be at least 1".into());
                }
                if g.max_wait_secs > 86_400 {
                    return Err("max_wait_secs must be at most 86400".into());
                }
                check_http(&g.base_url, g.retry_base_ms, g.timeout_secs)
            }
            SourceConfig::Gitlab(g) => {
                if g.projects.is_empty() && g.group.as_deref().is_none_or(|s| s.trim().is_empty()) {
                    return Err("name `projects = [\"group/project\", ...]` or `group = \"...\"`".into());
                }
                if let Some(p) = g.projects.iter().find(|p| p.split('/').filter(|s| !s.is_empty()).count() < 2) {
                    return Err(format!("projects: `{p}` is not a `group/project` path"));
                }
                if g.environment.trim().is_empty() {
                    return Err("environment must name the GitLab environment whose deployments are read".into());
                }
                if g.concurrency == 0 {
                    return Err("concurrency must be at least 1".into());
                }
                check_http(&g.base_url, g.retry_base_ms, g.timeout_secs)
            }
            SourceConfig::Pagerduty(p) => {
                if p.initial_days == 0 {
                    return Err("initial_days must be at least 1".into());
                }
                check_http(&p.base_url, p.retry_base_ms, p.timeout_secs)
            }
            SourceConfig::Typeform(t) => {
                check_forms(&t.forms)?;
                if t.team_field.trim().is_empty() {
                    return Err("team_field must name a hidden field or a question's ref".into());
                }
                if t.initial_days == 0 {
                    return Err("initial_days must be at least 1".into());
                }
                if !(1..=1000).contains(&t.page_size) {
                    return Err("page_size must be 1..=1000 (Typeform's largest page)".into());
                }
                let rate = t.requests_per_second;
                if rate.is_nan() || rate <= 0.0 || rate > 100.0 {
                    return Err("requests_per_second must be above 0 and at most 100 (Typeform allows about 2)".into());
                }
                check_http(&t.base_url, t.retry_base_ms, t.timeout_secs)
            }
            SourceConfig::GoogleForms(g) => {
                check_forms(&g.forms)?;
                if g.credentials_env.trim().is_empty() && g.token_env.as_deref().is_none_or(|t| t.trim().is_empty()) {
                    return Err(
                        "name `credentials_env` (a service-account key file) or `token_env` (an access token)".into()
                    );
                }
                if g.initial_days == 0 {
                    return Err("initial_days must be at least 1".into());
                }
                if !(1..=5000).contains(&g.page_size) {
                    return Err("page_size must be 1..=5000 (the Forms API's largest page)".into());
                }
                check_http(&g.base_url, g.retry_base_ms, g.timeout_secs)
            }
            SourceConfig::Files(_) => Ok(()),
        }
    }
}

/// Where a GitHub source finds deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeployFrom {
    /// GitHub Deployments and their statuses.
    #[default]
    Deployments,
    /// Successful runs of the named GitHub Actions workflows on the default branch.
    Workflows,
    /// Published releases (libraries, mobile apps).
    Releases,
}

/// `[sources.<name>]` with `type = "github"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GithubSource {
    /// Repositories as `owner/name`.
    pub repos: Vec<String>,
    /// Every non-archived repository of this organisation (besides `repos`).
    pub org: Option<String>,
    /// With `org`: only repositories with at least one of these topics.
    pub topics: Vec<String>,
    /// API root; for GitHub Enterprise Server `https://HOST/api/v3`.
    pub base_url: String,
    /// Environment variable holding the token.
    pub token_env: String,
    /// `owner/name` -> service, for repositories whose service is not the repository name.
    pub services: BTreeMap<String, String>,
    /// Where deployments come from.
    pub deploy_from: DeployFrom,
    /// With `deploy_from = "workflows"`: the workflows whose successful runs are deployments (exact names).
    pub workflows: Vec<String>,
    /// With workflows or releases: the environment their deployments get.
    pub environment: String,
    /// The first deployment of a repository ships the commits of this many days before it.
    pub first_deploy_lookback_days: u32,
    /// A deployment shipping a pull request with one of these labels is a hotfix.
    pub hotfix_labels: Vec<String>,
    /// Issues with one of these labels are incidents.
    pub incident_labels: Vec<String>,
    /// Each run re-reads this many days before the last run, to catch late status changes.
    pub overlap_days: u32,
    /// Repositories synced at once.
    pub concurrency: usize,
    /// Retries of a request after a 5xx or a timeout.
    pub max_retries: u32,
    /// First retry delay in milliseconds (doubling, with jitter).
    pub retry_base_ms: u64,
    /// Seconds before a request times out.
    pub timeout_secs: u64,
    /// The longest a rate limit may hold a request, in seconds; a longer wait
    /// fails the repository (it retries from its watermark next run).
    pub max_wait_secs: u64,
}

impl Default for GithubSource {
    fn default() -> Self {
        GithubSource {
            repos: Vec::new(),
            org: None,
            topics: Vec::new(),
            base_url: "https://api.github.com".into(),
            token_env: "GITHUB_TOKEN".into(),
            services: BTreeMap::new(),
            deploy_from: DeployFrom::Deployments,
            workflows: Vec::new(),
            environment: "production".into(),
            first_deploy_lookback_days: 30,
            hotfix_labels: vec!["hotfix".into()],
            incident_labels: vec!["incident".into()],
            overlap_days: 3,
            concurrency: 4,
            max_retries: 5,
            retry_base_ms: 500,
            timeout_secs: 30,
            max_wait_secs: 900,
        }
    }
}

/// `[sources.<name>]` with `type = "gitlab"` (`docs/sources.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitlabSource {
    /// The instance; the API is `{base_url}/api/v4`.
    pub base_url: String,
    /// Environment variable holding the token (`read_api` scope), sent as `PRIVATE-TOKEN`.
    pub token_env: String,
    /// Projects as `path_with_namespace`.
    pub projects: Vec<String>,
    /// Every non-archived project of this group and of its subgroups (besides `projects`).
    pub group: Option<String>,
    /// The GitLab environment whose deployments are read (exact name).
    pub environment: String,
    /// `path_with_namespace` -> service; default: the last segment of the path.
    pub services: BTreeMap<String, String>,
    /// A project's first deployment ships this many days of commits.
    pub first_deploy_lookback_days: u32,
    /// A merged MR with one of these labels makes its deployment a hotfix.
    pub hotfix_labels: Vec<String>,
    /// Issues with one of these labels (or of type incident) are incidents.
    pub incident_labels: Vec<String>,
    /// Each run re-reads this many days before the last one.
    pub overlap_days: u32,
    /// Projects synced at once.
    pub concurrency: usize,
    /// Retries of a request after a 5xx, a timeout or a connection error.
    pub max_retries: u32,
    /// First retry delay in milliseconds (doubling, with jitter).
    pub retry_base_ms: u64,
    /// Seconds before a request times out.
    pub timeout_secs: u64,
}

impl Default for GitlabSource {
    fn default() -> Self {
        GitlabSource {
            base_url: "https://gitlab.com".into(),
            token_env: "GITLAB_TOKEN".into(),
            projects: Vec::new(),
            group: None,
            environment: "production".into(),
            services: BTreeMap::new(),
            first_deploy_lookback_days: 30,
            hotfix_labels: vec!["hotfix".into()],
            incident_labels: vec!["incident".into()],
            overlap_days: 3,
            concurrency: 4,
            max_retries: 5,
            retry_base_ms: 500,
            timeout_secs: 30,
        }
    }
}

/// `[sources.<name>]` with `type = "pagerduty"` (`docs/sources.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutySource {
    /// The REST API root; the EU service region is `https://api.eu.pagerduty.com`.
    pub base_url: String,
    /// Environment variable holding a (read-only) REST API key.
    pub token_env: String,
    /// Only these services' incidents; empty: every service.
    pub service_ids: Vec<String>,
    /// PagerDuty service id -> service; default: the PagerDuty service's name.
    pub services: BTreeMap<String, String>,
    /// A first run (and `--full`) reads incidents created this many days back.
    pub initial_days: u32,
    /// Each run re-reads this many days before the last one.
    pub overlap_days: u32,
    /// Retries of a request after a 5xx, a timeout or a connection error.
    pub max_retries: u32,
    /// First retry delay in milliseconds (doubling, with jitter).
    pub retry_base_ms: u64,
    /// Seconds before a request times out.
    pub timeout_secs: u64,
}

impl Default for PagerdutySource {
    fn default() -> Self {
        PagerdutySource {
            base_url: "https://api.pagerduty.com".into(),
            token_env: "PAGERDUTY_TOKEN".into(),
            service_ids: Vec::new(),
            services: BTreeMap::new(),
            initial_days: 365,
            overlap_days: 3,
            max_retries: 5,
            retry_base_ms: 500,
            timeout_secs: 30,
        }
    }
}

/// One form of a survey-tool source: `{ id = "...", survey = "2026-H2" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormRef {
    /// The tool's form id.
    pub id: String,
    /// The wave label its responses land under (`survey`); default: each
    /// response's quarter, `YYYY-Qn` in the configured time zone.
    #[serde(default)]
    pub survey: Option<String>,
}

/// `[sources.<name>]` with `type = "typeform"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TypeformSource {
    /// The API root; Typeform's EU data center is `https://api.eu.typeform.com`.
    pub base_url: String,
    /// Environment variable holding a personal access token (`responses:read`, `forms:read`).
    pub token_env: String,
    /// The forms to read.
    pub forms: Vec<FormRef>,
    /// The team: a hidden field's name, else the ref of the question that asks it.
    pub team_field: String,
    /// The ref of the NPS question (0..10), if the form has one.
    pub nps_field: Option<String>,
    /// A first run (and `--full`) reads responses submitted this many days back.
    pub initial_days: u32,
    /// Each run re-reads this many minutes before the latest response landed
    /// (Typeform may list a response up to about 30 minutes late).
    pub overlap_minutes: u32,
    /// Responses asked for per page (Typeform's largest is 1000).
    pub page_size: u32,
    /// Requests a second at most (Typeform allows about 2 per account).
    pub requests_per_second: f64,
    /// Retries of a request after a 5xx, a timeout or a connection error.
    pub max_retries: u32,
    /// First retry delay in milliseconds (doubling, with jitter).
    pub retry_base_ms: u64,
    /// Seconds before a request times out.
    pub timeout_secs: u64,
}

impl Default for TypeformSource {
    fn default() -> Self {
        TypeformSource {
            base_url: "https://api.typeform.com".into(),
            token_env: "TYPEFORM_TOKEN".into(),
            forms: Vec::new(),
            team_field: "team".into(),
            nps_field: None,
            initial_days: 365,
            overlap_minutes: 60,
            page_size: 1000,
            requests_per_second: 2.0,
            max_retries: 5,
            retry_base_ms: 500,
            timeout_secs: 30,
        }
    }
}

/// `[sources.<name>]` with `type = "google_forms"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GoogleFormsSource {
    /// The Forms API root.
    pub base_url: String,
    /// Environment variable holding the path of a service-account key (JSON).
    pub credentials_env: String,
    /// Environment variable holding an OAuth access token instead (used when set here).
    pub token_env: Option<String>,
    /// The forms to read (each shared with the service account).
    pub forms: Vec<FormRef>,
    /// The team: a question's exact title, or its questionId.
    pub team_question: Option<String>,
    /// The NPS question (0..10): its exact title, or its questionId.
    pub nps_question: Option<String>,
    /// Question title -> the question name answers land under; default: the questionId.
    pub questions: BTreeMap<String, String>,
    /// A first run (and `--full`) reads responses submitted this many days back.
    pub initial_days: u32,
    /// Each run re-reads this many minutes before the latest response landed.
    pub overlap_minutes: u32,
    /// Responses asked for per page (the Forms API's largest is 5000).
    pub page_size: u32,
    /// Retries of a request after a 5xx, a timeout or a connection error.
    pub max_retries: u32,
    /// First retry delay in milliseconds (doubling, with jitter).
    pub retry_base_ms: u64,
    /// Seconds before a request times out.
    pub timeout_secs: u64,
}

impl Default for GoogleFormsSource {
    fn default() -> Self {
        GoogleFormsSource {
            base_url: "https://forms.googleapis.com".into(),
            credentials_env: "GOOGLE_APPLICATION_CREDENTIALS".into(),
            token_env: None,
            forms: Vec::new(),
            team_question: None,
            nps_question: None,
            questions: BTreeMap::new(),
            initial_days: 365,
            overlap_minutes: 60,
            page_size: 5000,
            max_retries: 5,
            retry_base_ms: 500,
            timeout_secs: 30,
        }
    }
}

/// The checks every survey-tool source's `forms` pass.
fn check_forms(forms: &[FormRef]) -> Result<(), String> {
    if forms.is_empty() {
        return Err("name the forms to read: `forms = [{ id = \"...\", survey = \"2026-H2\" }]`".into());
    }
    if forms.iter().any(|f| f.id.trim().is_empty()) {
        return Err("forms: a form's `id` is empty".into());
    }
    let mut ids: Vec<&str> = forms.iter().map(|f| f.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("forms: `{}` is listed twice", w[0]));
    }
    if forms.iter().any(|f| f.survey.as_deref().is_some_and(|s| s.trim().is_empty())) {
        return Err("forms: a form's `survey` label is empty (leave it out to label by quarter)".into());
    }
    Ok(())
}

/// The checks every HTTP source's request settings pass.
fn check_http(base_url: &str, retry_base_ms: u64, timeout_secs: u64) -> Result<(), String> {
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(format!("base_url `{base_url}` is not an http(s) URL"));
    }
    if retry_base_ms > 60_000 || !(1..=3_600).contains(&timeout_secs) {
        return Err("retry_base_ms must be at most 60000, timeout_secs 1..=3600".into());
    }
    Ok(())
}

/// `[sources.<name>]` with `type = "files"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSource {
    /// The inbox: files named for their table (`deployments-2026-03.csv`, or under
    /// `deployments/`) are imported, then moved to `done/` or `failed/` beside them.
    pub inbox: PathBuf,
    /// The value of the `source` column for rows whose file has none.
    #[serde(default = "default_files_source")]
    pub source: String,
    /// A file modified less than this many seconds ago may still be being
    /// written: it is left for the next run.
    #[serde(default = "default_settle_secs")]
    pub settle_secs: u64,
}

fn default_files_source() -> String {
    "file".into()
}

fn default_settle_secs() -> u64 {
    60
}

/// `[custom_benchmarks]`: band thresholds of your own, in the units of
/// `docs/metrics.md`'s band table. A value is elite if it passes `elite`, else
/// high if it passes `high`, else medium if it passes `medium`, else low; lead
/// time and recovery pass by being below (hours), change failure rate by being
/// at most (a share, 0..1), deployment frequency by being at least (`elite` and
/// `high` in deploy days per ISO week, median week; `medium` in deploy days per
/// month, median month).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomBenchmarks {
    /// Lead time p50, hours.
    pub lead_time_hours: Thresholds,
    /// Deployment frequency, deploy days.
    pub deploy_days: Thresholds,
    /// Change failure rate, a share.
    pub change_failure_rate: Thresholds,
    /// Failed deployment recovery time p50, hours.
    pub recovery_hours: Thresholds,
}

/// The three thresholds of one metric's bands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// The elite threshold.
    pub elite: f64,
    /// The high threshold.
    pub high: f64,
    /// The medium threshold.
    pub medium: f64,
}

impl CustomBenchmarks {
    /// (metric, band, threshold) rows, as the `dora_bands` view holds them.
    pub fn rows(&self) -> Vec<(&'static str, &'static str, f64)> {
        let mut out = Vec::new();
        for (metric, t) in [
            ("lead_time_p50", self.lead_time_hours),
            ("change_failure_rate", self.change_failure_rate),
            ("recovery_p50", self.recovery_hours),
        ] {
            out.extend([(metric, "elite", t.elite), (metric, "high", t.high), (metric, "medium", t.medium)]);
        }
        out.extend([
            ("deploy_days_per_week_p50", "elite", self.deploy_days.elite),
            ("deploy_days_per_week_p50", "high", self.deploy_days.high),
            ("deploy_days_per_month_p50", "medium", self.deploy_days.medium),
        ]);
        out
    }

    fn validate(&self) -> Result<(), String> {
        for (name, t) in [
            ("lead_time_hours", self.lead_time_hours),
            ("change_failure_rate", self.change_failure_rate),
            ("recovery_hours", self.recovery_hours),
        ] {
            if !(t.elite.is_finite()
                && 0.0 < t.elite
                && t.elite <= t.high
                && t.high <= t.medium
                && t.medium.is_finite())
            {
                return Err(format!("custom_benchmarks.{name}: need 0 < elite <= high <= medium"));
            }
        }
        let d = self.deploy_days;
        if !(d.high > 0.0 && d.high <= d.elite && d.elite <= 7.0 && d.medium > 0.0 && d.medium <= 31.0) {
            return Err(
                "custom_benchmarks.deploy_days: need 0 < high <= elite <= 7 (days a week) and 0 < medium <= 31 (days a month)"
                    .into(),
            );
        }
        Ok(())
    }
}

/// `[survey]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyConfig {
    /// Groups with fewer responses than this have their scores withheld.
    pub min_group_size: u32,
    /// Question column -> DevEx dimension and scale.
    pub questions: BTreeMap<String, SurveyQuestion>,
}

/// How one survey question maps to a DevEx dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyQuestion {
    /// e.g. `feedback_loops`, `cognitive_load`, `flow_state`, `satisfaction`.
    pub dimension: String,
    /// The top of the Likert scale (the bottom is 1).
    #[serde(default = "default_scale_max")]
    pub scale_max: u32,
}

fn default_scale_max() -> u32 {
    5
}

/// `[lake]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LakeConfig {
    /// Seconds a writer waits for another devex writer to finish.
    pub lock_timeout_secs: u64,
    /// `devex maintain` deletes unreferenced files older than this many days;
    /// time travel works within it.
    pub retention_days: u64,
    /// About how much memory (MiB) an import may use, whatever the file's
    /// size: inputs are read, validated and written in chunks sized from it.
    pub import_memory_mb: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: None,
            timezone: "UTC".into(),
            production_environments: vec!["production".into(), "prod".into()],
            attribution_window_hours: 24,
            benchmarks: "dora-2023".into(),
            custom_benchmarks: None,
            survey: SurveyConfig::default(),
            lake: LakeConfig::default(),
            sources: BTreeMap::new(),
            serve: ServeConfig::default(),
            effect: EffectConfig::default(),
        }
    }
}

impl Default for SurveyConfig {
    fn default() -> Self {
        SurveyConfig { min_group_size: 5, questions: BTreeMap::new() }
    }
}

impl Default for LakeConfig {
    fn default() -> Self {
        LakeConfig { lock_timeout_secs: 60, retention_days: 30, import_memory_mb: 1024 }
    }
}

impl Config {
    /// Parse and check a `devex.toml`.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check values serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.tz()?;
        if self.production_environments.is_empty() {
            return Err(ConfigError::Invalid("production_environments must name at least one environment".into()));
        }
        self.validate_benchmarks()?;
        for (name, source) in &self.sources {
            source.validate().map_err(|m| ConfigError::Invalid(format!("sources.{name}: {m}")))?;
        }
        self.survey.validate()?;
        self.lake.validate()?;
        self.effect.validate()?;
        self.serve.validate()
    }

    /// `benchmarks` names a known scheme, and `[custom_benchmarks]` is there exactly when it is `custom`.
    fn validate_benchmarks(&self) -> Result<(), ConfigError> {
        match (self.benchmarks.as_str(), &self.custom_benchmarks) {
            ("dora-2023", None) => {}
            ("custom", Some(c)) => c.validate().map_err(ConfigError::Invalid)?,
            ("custom", None) => {
                return Err(ConfigError::Invalid(
                    "benchmarks = \"custom\" needs a [custom_benchmarks] table (devex init shows one)".into(),
                ));
            }
            ("dora-2023", Some(_)) => {
                return Err(ConfigError::Invalid(
                    "[custom_benchmarks] is set but benchmarks = \"dora-2023\": set benchmarks = \"custom\" to use it"
                        .into(),
                ));
            }
            (other, _) => {
                return Err(ConfigError::Invalid(format!(
                    "benchmarks `{other}` is unknown (supported: dora-2023, custom)"
                )));
            }
        }
        Ok(())
    }

    /// The configured time zone.
    pub fn tz(&self) -> Result<Tz, ConfigError> {
        self.timezone.parse::<Tz>().map_err(|_| ConfigError::Timezone(self.timezone.clone()))
    }

    /// The commented `devex.toml` that `devex init` writes: every setting with its default.
    pub fn template() -> &'static str {
        TEMPLATE
    }
}

const TEMPLATE: &str = r#"# devex configuration. Every setting is shown with its default.
# Lookup order: --config FILE, then $DEVEX_CONFIG, then ./devex.toml.

# Where the lake (Delta tables) lives. --data DIR and $DEVEX_DATA win over it.
# data_dir = "./devex-data"

# IANA time zone: timestamps without an offset are read in it, and days,
# ISO weeks (Monday) and quarters follow its calendar.
timezone = "UTC"

# Environments that count as production (case-insensitive).
production_environments = ["production", "prod"]

# An incident with no explicit link is attributed to the latest production
# deployment of its service finished at most this many hours before it.
attribution_window_hours = 24

# Band thresholds for the DORA metrics: "dora-2023", or "custom" with a
# [custom_benchmarks] table of your own thresholds, for example:
benchmarks = "dora-2023"
# [custom_benchmarks]
# lead_time_hours = { elite = 24, high = 168, medium = 720 }        # elite if below, ...
# deploy_days = { elite = 5, high = 1, medium = 1 }                 # days a week (elite, high), a month (medium)
# change_failure_rate = { elite = 0.05, high = 0.10, medium = 0.15 } # elite if at most, ...
# recovery_hours = { elite = 1, high = 24, medium = 168 }

[survey]
# Survey scores of groups with fewer responses are withheld (at least 3). Where
# groups are shown beside their total, more is withheld so that no withheld group
# can be worked out by subtraction.
min_group_size = 5

# Survey question columns mapped to DevEx dimensions (Likert 1..scale_max), e.g.
# [survey.questions]
# q_ci_speed = { dimension = "feedback_loops", scale_max = 5 }
# q_focus_time = { dimension = "flow_state", scale_max = 5 }

# Sources `devex ingest` runs, each a named table with a `type`. For example:
#
# [sources.github]
# type = "github"
# repos = ["acme/payments-api", "acme/web"]   # and/or: org = "acme", topics = ["service"]
# base_url = "https://api.github.com"         # GitHub Enterprise: "https://HOST/api/v3"
# token_env = "GITHUB_TOKEN"                  # the variable holding the token
# deploy_from = "deployments"                 # or "workflows" (with workflows = ["Deploy"]), or "releases"
# environment = "production"                  # the environment of workflow or release deployments
# services = { "acme/web" = "storefront" }    # repo -> service; default: the repo name
# first_deploy_lookback_days = 30             # the first deployment ships this many days of commits
# hotfix_labels = ["hotfix"]                  # a PR with one of these makes its deployment a hotfix
# incident_labels = ["incident"]              # issues with one of these are incidents
# overlap_days = 3                            # each run re-reads this much before the last one
# concurrency = 4                             # repositories synced at once
# max_retries = 5                             # retries after a 5xx or a timeout
# retry_base_ms = 500                         # first retry delay (doubling, with jitter)
# timeout_secs = 30
# max_wait_secs = 900                         # longest rate-limit wait; past it the repository fails (retried next run)
#
# [sources.gitlab]
# type = "gitlab"
# base_url = "https://gitlab.com"             # self-managed: "https://gitlab.example.com" (the API is {base_url}/api/v4)
# token_env = "GITLAB_TOKEN"                  # a token with read_api scope
# projects = ["acme/payments-api"]            # path_with_namespace; and/or:
# group = "acme"                              # every non-archived project of this group and its subgroups
# environment = "production"                  # the GitLab environment whose deployments are read (exact name)
# services = { "acme/web/storefront" = "web" } # project -> service; default: the last segment of its path
# first_deploy_lookback_days = 30             # a project's first deployment ships this many days of commits
# hotfix_labels = ["hotfix"]                  # a merged MR with one of these makes its deployment a hotfix
# incident_labels = ["incident"]              # issues with one of these (or of type incident) are incidents
# overlap_days = 3                            # each run re-reads this much before the last one
# concurrency = 4                             # projects synced at once
# max_retries = 5
# retry_base_ms = 500
# timeout_secs = 30
#
# [sources.pagerduty]
# type = "pagerduty"
# base_url = "https://api.pagerduty.com"      # EU service region: "https://api.eu.pagerduty.com"
# token_env = "PAGERDUTY_TOKEN"               # a (read-only) REST API key
# service_ids = ["PABC123"]                   # only these services' incidents; default (empty): every service
# services = { "PABC123" = "payments-api" }   # PagerDuty service id -> service; default: its PagerDuty name
# initial_days = 365                          # a first run (and --full) reads incidents created this many days back
# overlap_days = 3                            # each run re-reads this much before the last one
# max_retries = 5
# retry_base_ms = 500
# timeout_secs = 30
#
# [sources.pulse]
# type = "typeform"
# base_url = "https://api.typeform.com"       # EU data center: "https://api.eu.typeform.com"
# token_env = "TYPEFORM_TOKEN"                # a personal access token with responses:read and forms:read
# forms = [{ id = "tfDevEx26", survey = "2026-H2" }]   # survey: the wave label; default: each response's quarter
# team_field = "team"                         # a hidden field's name, or the ref of the question asking it
# nps_field = "nps"                           # the ref of the NPS question (0..10)
# initial_days = 365                          # a first run (and --full) reads responses this many days back
# overlap_minutes = 60                        # each run re-reads this much before the latest response landed
# requests_per_second = 2                     # Typeform allows about 2 per account
#
# [sources.pulse-google]
# type = "google_forms"
# credentials_env = "GOOGLE_APPLICATION_CREDENTIALS"   # path to a service-account key (JSON); share each form with it
# token_env = "GOOGLE_FORMS_TOKEN"            # or: an OAuth access token (gcloud auth print-access-token)
# forms = [{ id = "1FAIpQLSheldout", survey = "2026-H2-google" }]   # the id in the form's edit URL
# team_question = "Which team are you on?"    # a question's exact title, or its questionId
# nps_question = "How likely are you to recommend the platform to a colleague?"
# questions = { "Deploying my service is easy" = "deploy_easy" }   # title -> the name [survey.questions] uses
# initial_days = 365
# overlap_minutes = 60
#
# [sources.exports]
# type = "files"
# inbox = "/var/lib/devex/inbox"              # imported files move to inbox/done/ or inbox/failed/
# source = "file"                             # the `source` column for rows without one
# settle_secs = 60                            # files modified more recently are left for the next run

[lake]
# Seconds a writer waits for another devex writer (import, ingest, maintain).
lock_timeout_secs = 60
# `devex maintain` vacuums unreferenced files older than this, and each table's
# Delta log keeps this much history: time travel (--as-of) works within it.
retention_days = 30
# About how much memory (MiB) one import may use, whatever the file's size.
import_memory_mb = 1024

[effect]
# The effect of onboarding (`devex effect`, the scorecard): each onboarded team against the
# teams not yet onboarded, with a bootstrap over teams for the intervals.
replicates = 999                     # bootstrap replicates; more is steadier and slower
seed = 1                             # the same seed gives the same intervals
level = 0.95                         # 95 % intervals

[serve]
# `devex serve`: the lake over the PostgreSQL wire protocol (psql, Grafana, Metabase).
listen = "127.0.0.1:5433"           # --listen wins; beyond loopback a password is required
user = "devex"
password_env = "DEVEX_SERVE_PASSWORD" # the variable holding the password (SCRAM-SHA-256)
max_connections = 64                 # authenticated clients at once
max_startups = 256                   # connections still authenticating at once
startup_timeout_secs = 10            # to finish TLS, startup and the password, else closed
statement_timeout_secs = 60          # per statement, rows sent included (clients may set less)
max_statement_bytes = 1048576        # longer statements are refused (54001) before parsing
memory_limit_mb = 4096               # shared by all running queries
cache_mb = 256                       # metrics(...) results kept per call and snapshot; 0: none
# TLS from PEM files; with them, clear-text clients are refused, and a file that
# fails to load stops the server:
# tls_cert = "/etc/devex/tls/server.crt"
# tls_key = "/etc/devex/tls/server.key"
"#;

impl SurveyConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.min_group_size < MIN_GROUP_SIZE_FLOOR {
            return Err(ConfigError::Invalid(format!(
                "survey.min_group_size = {} is below {MIN_GROUP_SIZE_FLOOR}: groups that small identify people",
                self.min_group_size
            )));
        }
        for (q, spec) in &self.questions {
            if spec.scale_max < 2 {
                return Err(ConfigError::Invalid(format!("survey.questions.{q}: scale_max must be at least 2")));
            }
        }
        Ok(())
    }
}

impl LakeConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=36_500).contains(&self.retention_days) {
            return Err(ConfigError::Invalid(format!(
                "lake.retention_days = {} is outside 1..=36500",
                self.retention_days
            )));
        }
        if !(64..=1_048_576).contains(&self.import_memory_mb) {
            return Err(ConfigError::Invalid(format!(
                "lake.import_memory_mb = {} is outside 64..=1048576 (MiB)",
                self.import_memory_mb
            )));
        }
        Ok(())
    }
}

impl ServeConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "serve.listen = \"{}\" is not an address with a port (e.g. \"127.0.0.1:5433\", \"0.0.0.0:5433\")",
                self.listen
            )));
        }
        if self.max_connections == 0 || self.user.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "serve.max_connections must be at least 1 and serve.user not empty".into(),
            ));
        }
        if !(1024..=(64 << 20)).contains(&self.max_statement_bytes) {
            return Err(ConfigError::Invalid(format!(
                "serve.max_statement_bytes = {} is outside 1024..=67108864",
                self.max_statement_bytes
            )));
        }
        if self.max_startups == 0 {
            return Err(ConfigError::Invalid("serve.max_startups must be at least 1".into()));
        }
        if !(1..=300).contains(&self.startup_timeout_secs) {
            return Err(ConfigError::Invalid(format!(
                "serve.startup_timeout_secs = {} is outside 1..=300",
                self.startup_timeout_secs
            )));
        }
        if !(1..=86_400).contains(&self.statement_timeout_secs) {
            return Err(ConfigError::Invalid(format!(
                "serve.statement_timeout_secs = {} is outside 1..=86400",
                self.statement_timeout_secs
            )));
        }
        if !(64..=1_048_576).contains(&self.memory_limit_mb) {
            return Err(ConfigError::Invalid(format!(
                "serve.memory_limit_mb = {} is outside 64..=1048576 (MiB)",
                self.memory_limit_mb
            )));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "serve.tls_cert and serve.tls_key go together: set both (PEM files) or neither".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_round_trips_to_the_defaults() {
        assert_eq!(Config::from_toml_str(Config::template()).unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_and_zones_are_rejected() {
        assert!(Config::from_toml_str("timezon = \"UTC\"").is_err());
        let err = Config::from_toml_str("timezone = \"Mars/Olympus\"").unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"));
    }

    #[test]
    fn group_sizes_below_three_and_silly_retentions_are_errors() {
        for bad in [
            "[survey]\nmin_group_size = 2",
            "[survey]\nmin_group_size = 0",
            "[lake]\nretention_days = 0",
            "[lake]\nimport_memory_mb = 8",
        ] {
            assert!(Config::from_toml_str(bad).is_err(), "{bad}");
        }
        let err = Config::from_toml_str("[survey]\nmin_group_size = 2").unwrap_err().to_string();
        assert!(err.contains("min_group_size"), "{err}");
        assert_eq!(Config::from_toml_str("[survey]\nmin_group_size = 3").unwrap().survey.min_group_size, 3);
    }

    #[test]
    fn custom_benchmarks_need_each_other_and_sane_thresholds() {
        let custom = "benchmarks = \"custom\"\n[custom_benchmarks]\n\
                      lead_time_hours = { elite = 12, high = 48, medium = 336 }\n\
                      deploy_days = { elite = 4, high = 1, medium = 2 }\n\
                      change_failure_rate = { elite = 0.02, high = 0.05, medium = 0.1 }\n\
                      recovery_hours = { elite = 0.5, high = 4, medium = 72 }\n";
        let cfg = Config::from_toml_str(custom).unwrap();
        let rows = cfg.custom_benchmarks.unwrap().rows();
        assert!(
            rows.contains(&("lead_time_p50", "elite", 12.0))
                && rows.contains(&("deploy_days_per_month_p50", "medium", 2.0))
        );
        assert!(Config::from_toml_str("benchmarks = \"custom\"").is_err());
        assert!(Config::from_toml_str(&custom.replace("\"custom\"", "\"dora-2023\"")).is_err());
        assert!(Config::from_toml_str(&custom.replace("elite = 12, high = 48", "elite = 48, high = 12")).is_err());
        assert!(Config::from_toml_str("benchmarks = \"dora-2019\"").unwrap_err().to_string().contains("custom"));
    }

    #[test]
    fn gitlab_and_pagerduty_sources_parse_with_defaults_and_name_bad_values() {
        let cfg = Config::from_toml_str(
            "[sources.gl]\ntype = \"gitlab\"\ngroup = \"acme\"\n[sources.pd]\ntype = \"pagerduty\"\n",
        )
        .unwrap();
        let SourceConfig::Gitlab(gl) = &cfg.sources["gl"] else { panic!("gitlab") };
        assert_eq!(
            (gl.base_url.as_str(), gl.token_env.as_str(), gl.concurrency),
            ("https://gitlab.com", "GITLAB_TOKEN", 4)
        );
        let SourceConfig::Pagerduty(pd) = &cfg.sources["pd"] else { panic!("pagerduty") };
        assert_eq!((pd.initial_days, pd.token_env.as_str()), (365, "PAGERDUTY_TOKEN"));
        for (bad, says) in [
            ("[sources.gl]\ntype = \"gitlab\"\n", "projects"),
            ("[sources.gl]\ntype = \"gitlab\"\nprojects = [\"solo\"]\n", "solo"),
            ("[sources.gl]\ntype = \"gitlab\"\ngroup = \"a\"\nenvironment = \"\"\n", "environment"),
            ("[sources.gl]\ntype = \"gitlab\"\ngroup = \"a\"\nconcurrency = 0\n", "concurrency"),
            ("[sources.gl]\ntype = \"gitlab\"\ngroup = \"a\"\nbase_url = \"gitlab.com\"\n", "base_url"),
            ("[sources.gl]\ntype = \"gitlab\"\ngroup = \"a\"\nrepos = [\"a/b\"]\n", "repos"),
            ("[sources.pd]\ntype = \"pagerduty\"\ninitial_days = 0\n", "initial_days"),
            ("[sources.pd]\ntype = \"pagerduty\"\nbase_url = \"ftp://x\"\n", "base_url"),
            ("[sources.pd]\ntype = \"pagerduty\"\nservice = \"x\"\n", "service"),
        ] {
            let err = Config::from_toml_str(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn survey_tool_sources_parse_with_defaults_and_name_bad_values() {
        let cfg = Config::from_toml_str(
            "[sources.tf]\ntype = \"typeform\"\nforms = [{ id = \"a\", survey = \"2026-H2\" }, { id = \"b\" }]\n\
             [sources.gf]\ntype = \"google_forms\"\nforms = [{ id = \"1FAIp\" }]\n",
        )
        .unwrap();
        let SourceConfig::Typeform(tf) = &cfg.sources["tf"] else { panic!("typeform") };
        assert_eq!(
            (tf.base_url.as_str(), tf.token_env.as_str(), tf.team_field.as_str(), tf.nps_field.as_deref()),
            ("https://api.typeform.com", "TYPEFORM_TOKEN", "team", None)
        );
        assert_eq!((tf.page_size, tf.requests_per_second, tf.overlap_minutes), (1000, 2.0, 60));
        assert_eq!(tf.forms[0], FormRef { id: "a".into(), survey: Some("2026-H2".into()) });
        let SourceConfig::GoogleForms(gf) = &cfg.sources["gf"] else { panic!("google_forms") };
        assert_eq!(
            (gf.base_url.as_str(), gf.credentials_env.as_str(), gf.token_env.as_deref(), gf.page_size),
            ("https://forms.googleapis.com", "GOOGLE_APPLICATION_CREDENTIALS", None, 5000)
        );
        for (bad, says) in [
            ("[sources.tf]\ntype = \"typeform\"\n", "forms"),
            ("[sources.tf]\ntype = \"typeform\"\nforms = [{ id = \"\" }]\n", "empty"),
            ("[sources.tf]\ntype = \"typeform\"\nforms = [{ id = \"a\" }, { id = \"a\" }]\n", "twice"),
            ("[sources.tf]\ntype = \"typeform\"\nforms = [{ id = \"a\", wave = \"x\" }]\n", "wave"),
            ("[sources.tf]\ntype = \"typeform\"\nforms = [{ id = \"a\" }]\npage_size = 5000\n", "page_size"),
            (
                "[sources.tf]\ntype = \"typeform\"\nforms = [{ id = \"a\" }]\nrequests_per_second = 0\n",
                "requests_per_second",
            ),
            ("[sources.tf]\ntype = \"typeform\"\nforms = [{ id = \"a\" }]\nteam_field = \" \"\n", "team_field"),
            (
                "[sources.gf]\ntype = \"google_forms\"\nforms = [{ id = \"a\" }]\ncredentials_env = \"\"\n",
                "credentials_env",
            ),
            ("[sources.gf]\ntype = \"google_forms\"\nforms = [{ id = \"a\" }]\nbase_url = \"forms\"\n", "base_url"),
            ("[sources.gf]\ntype = \"googleforms\"\nforms = [{ id = \"a\" }]\n", "googleforms"),
        ] {
            let err = Config::from_toml_str(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn the_template_s_commented_sources_parse() {
        // Every `# [sources.*]` example of the template, uncommented, is a valid config.
        let mut uncommented = String::new();
        let mut in_sources = false;
        for line in TEMPLATE.lines() {
            if line.starts_with("# [sources.") {
                in_sources = true;
            } else if !line.starts_with('#') {
                in_sources = false;
            }
            if in_sources && line.len() > 2 {
                let text = &line[2..];
                uncommented.push_str(text.split("  #").next().unwrap_or(text).trim_end());
                uncommented.push('\n');
            }
        }
        for kind in ["typeform", "google_forms", "pagerduty", "gitlab", "github", "files"] {
            assert!(uncommented.contains(&format!("type = \"{kind}\"")), "no {kind} example in the template");
        }
        let cfg = Config::from_toml_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert!(cfg.sources.values().any(|s| matches!(s, SourceConfig::GoogleForms(_))));
    }

    #[test]
    fn questions_parse_with_default_scale() {
        let cfg = Config::from_toml_str("[survey.questions]\nq_ci = { dimension = \"feedback_loops\" }\n").unwrap();
        assert_eq!(cfg.survey.questions["q_ci"].scale_max, 5);
    }
}
