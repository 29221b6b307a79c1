//! The organisation model: its teams, how each moves onto the platform, and
//! the sample's configuration and deliberately broken rows. The event streams
//! it produces are in `history.rs`.

use std::fmt;
use std::path::Path;

use crate::write::Out;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The seed: same seed, same bytes.
    pub seed: u64,
    /// Number of quarters, starting 2024-10-01.
    pub quarters: u32,
    /// Copies of the 8-team organisation (for benchmarks); 1 for the sample.
    pub scale: u32,
    /// Mean number of commits a deployment ships, beyond the first.
    pub commits_mean: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options { seed: 42, quarters: 8, scale: 1, commits_mean: 1.5 }
    }
}

/// Row counts written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub services: usize,
    pub deployments: usize,
    pub changes: usize,
    pub incidents: usize,
    pub survey_responses: usize,
    pub adoption_events: usize,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} services, {} deployments, {} changes, {} incidents, {} survey responses, {} adoption events",
            self.services, self.deployments, self.changes, self.incidents, self.survey_responses, self.adoption_events
        )
    }
}

pub(crate) struct TeamSpec {
    pub(crate) name: &'static str,
    pub(crate) services: &'static [&'static str],
    /// Quarter index in which the team moves onto the platform; `None`: never.
    pub(crate) onboard_quarter: Option<u32>,
    pub(crate) deploys_per_week: f64,
    pub(crate) lead_median_hours: f64,
    pub(crate) failure_rate: f64,
    pub(crate) members: u32,
}

/// A team: name, services, onboarding quarter, deploys a week, median lead time (h),
/// failure rate, members.
const fn team(
    name: &'static str,
    services: &'static [&'static str],
    onboard_quarter: Option<u32>,
    deploys_per_week: f64,
    lead_median_hours: f64,
    failure_rate: f64,
    members: u32,
) -> TeamSpec {
    TeamSpec { name, services, onboard_quarter, deploys_per_week, lead_median_hours, failure_rate, members }
}

#[rustfmt::skip]
pub(crate) const TEAMS: &[TeamSpec] = &[
    team("payments", &["payments-api", "ledger", "fraud-scoring", "payouts"], Some(2), 2.0, 40.0, 0.14, 10),
    team("checkout", &["checkout-web", "cart", "pricing", "promotions"], Some(3), 1.8, 55.0, 0.12, 9),
    team("search", &["search-api", "indexer", "ranking", "autocomplete"], Some(2), 1.5, 70.0, 0.13, 8),
    team("identity", &["auth", "user-profile", "sessions"], Some(4), 1.2, 90.0, 0.15, 7),
    team("catalog", &["catalog-api", "inventory", "media", "reviews"], Some(3), 1.4, 60.0, 0.12, 8),
    team("growth", &["growth-web", "notifications", "experiments", "referrals"], Some(5), 2.0, 35.0, 0.11, 11),
    team("mobile", &["ios-app", "android-app", "mobile-bff"], Some(4), 0.9, 120.0, 0.16, 6),
    team("data-platform", &["etl-runner", "warehouse-sync", "event-bus", "metrics-api"], None, 1.0, 100.0, 0.13, 4),
];

/// Multipliers for (lead time, failure rate, deploy rate, sentiment) by quarter relative to onboarding.
pub(crate) fn phase(rel: Option<i64>) -> (f64, f64, f64, f64) {
    match rel {
        None => (1.0, 1.0, 1.0, 0.0),
        Some(r) if r < 0 => (1.0, 1.0, 1.0, 0.0),
        Some(0) => (1.45, 1.6, 0.85, -1.0),
        Some(1) => (1.25, 1.35, 0.95, -0.5),
        Some(2) => (0.8, 0.8, 1.2, 0.8),
        Some(_) => (0.6, 0.5, 1.4, 1.3),
    }
}

pub(crate) const SEVERITIES: &[&str] = &["sev1", "sev2", "sev2", "sev3", "sev3", "sev3", "sev4"];
pub(crate) const TITLES: &[&str] = &[
    "Elevated 5xx error rate",
    "Latency p99 above SLO",
    "Checkout requests timing out",
    "Queue backlog growing",
    "Database connection pool exhausted",
    "Memory leak after release",
    "Feature flag misconfiguration",
    "Certificate expired on internal endpoint",
];
pub(crate) const COMMENTS: &[&str] = &[
    "CI is much faster since the move to the golden path.",
    "Deploys feel safer, but the docs for the new pipeline are thin.",
    "Too many tools to learn at once, it slowed us down this quarter.",
    "Local dev environment breaks after every platform upgrade.",
    "Love the self-service environments, saves days.",
    "Flaky integration tests still block merges, \"retry\" is our friend.",
    "On-call got quieter, dashboards out of the box help a lot.",
    "Would like better support for mobile release trains.",
];

/// The sample's `devex.toml`: its survey questions mapped to DevEx dimensions.
pub(crate) fn write_config(out: &Path) -> std::io::Result<()> {
    let mut c = Out::create(&out.join("devex.toml"))?;
    c.raw(
        "# The sample organisation's survey questions, mapped to DevEx dimensions (Likert 1..5).\n\
         # `devex demo` uses this mapping when your own configuration maps no questions; to use it\n\
         # with other commands: devex --config sample-data/devex.toml metrics ...\n\
         [survey.questions]\n\
         q_ci_speed = { dimension = \"feedback_loops\", scale_max = 5 }\n\
         q_easy_to_understand = { dimension = \"cognitive_load\", scale_max = 5 }\n\
         q_docs_findable = { dimension = \"cognitive_load\", scale_max = 5 }\n\
         q_focus_time = { dimension = \"flow_state\", scale_max = 5 }\n\
         q_satisfaction = { dimension = \"satisfaction\", scale_max = 5 }\n",
    )?;
    c.finish()
}

/// Deliberately broken rows, one problem each, for the demo's quarantine.
pub(crate) fn write_bad_rows(out: &Path) -> std::io::Result<()> {
    let mut d = Out::create(&out.join("bad").join("deployments.csv"))?;
    d.raw("id,service,environment,status,finished_at,commit_sha,kind\n")?;
    d.raw("bad-1,payments-api,production,done,2025-03-04T10:00:00Z,abc123,regular\n")?;
    d.raw("bad-2,payments-api,production,success,yesterday,abc124,regular\n")?;
    d.raw("bad-3,,production,success,2025-03-05T10:00:00Z,abc125,regular\n")?;
    d.raw("bad-4,cart,production,success,2025-03-06T10:00:00Z,abc126,canary\n")?;
    d.finish()?;
    let mut i = Out::create(&out.join("bad").join("incidents.ndjson"))?;
    i.raw("{\"id\": \"BAD-INC-1\", \"service\": \"ledger\", \"created_at\": \"last tuesday\"}\n")?;
    i.raw("{\"id\": \"BAD-INC-2\", \"created_at\": \"2025-05-01T10:00:00Z\", \"title\": \"no service given\"}\n")?;
    i.finish()?;
    let mut s = Out::create(&out.join("bad").join("survey_responses.csv"))?;
    s.raw("id,survey,submitted_at,team,nps,q_ci_speed\n")?;
    s.raw("bad-resp-1,2025-Q2,2025-06-20 10:00:00,payments,11,4\n")?;
    s.raw("bad-resp-2,2025-Q2,2025-06-20 11:00:00,search,seven,3\n")?;
    s.finish()?;
    Ok(())
}
