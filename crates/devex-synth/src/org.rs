//! The organisation model and the event streams it produces.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

use crate::rng::Rng;
use crate::write::{Out, ts, ts_cet, ts_naive};

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

struct TeamSpec {
    name: &'static str,
    services: &'static [&'static str],
    /// Quarter index in which the team moves onto the platform; `None`: never.
    onboard_quarter: Option<u32>,
    deploys_per_week: f64,
    lead_median_hours: f64,
    failure_rate: f64,
    members: u32,
}

const TEAMS: &[TeamSpec] = &[
    TeamSpec {
        name: "payments",
        services: &["payments-api", "ledger", "fraud-scoring", "payouts"],
        onboard_quarter: Some(2),
        deploys_per_week: 2.0,
        lead_median_hours: 40.0,
        failure_rate: 0.14,
        members: 10,
    },
    TeamSpec {
        name: "checkout",
        services: &["checkout-web", "cart", "pricing", "promotions"],
        onboard_quarter: Some(3),
        deploys_per_week: 1.8,
        lead_median_hours: 55.0,
        failure_rate: 0.12,
        members: 9,
    },
    TeamSpec {
        name: "search",
        services: &["search-api", "indexer", "ranking", "autocomplete"],
        onboard_quarter: Some(2),
        deploys_per_week: 1.5,
        lead_median_hours: 70.0,
        failure_rate: 0.13,
        members: 8,
    },
    TeamSpec {
        name: "identity",
        services: &["auth", "user-profile", "sessions"],
        onboard_quarter: Some(4),
        deploys_per_week: 1.2,
        lead_median_hours: 90.0,
        failure_rate: 0.15,
        members: 7,
    },
    TeamSpec {
        name: "catalog",
        services: &["catalog-api", "inventory", "media", "reviews"],
        onboard_quarter: Some(3),
        deploys_per_week: 1.4,
        lead_median_hours: 60.0,
        failure_rate: 0.12,
        members: 8,
    },
    TeamSpec {
        name: "growth",
        services: &["growth-web", "notifications", "experiments", "referrals"],
        onboard_quarter: Some(5),
        deploys_per_week: 2.0,
        lead_median_hours: 35.0,
        failure_rate: 0.11,
        members: 11,
    },
    TeamSpec {
        name: "mobile",
        services: &["ios-app", "android-app", "mobile-bff"],
        onboard_quarter: Some(4),
        deploys_per_week: 0.9,
        lead_median_hours: 120.0,
        failure_rate: 0.16,
        members: 6,
    },
    TeamSpec {
        name: "data-platform",
        services: &["etl-runner", "warehouse-sync", "event-bus", "metrics-api"],
        onboard_quarter: None,
        deploys_per_week: 1.0,
        lead_median_hours: 100.0,
        failure_rate: 0.13,
        members: 4,
    },
];

/// Multipliers for (lead time, failure rate, deploy rate, sentiment) by quarter relative to onboarding.
fn phase(rel: Option<i64>) -> (f64, f64, f64, f64) {
    match rel {
        None => (1.0, 1.0, 1.0, 0.0),
        Some(r) if r < 0 => (1.0, 1.0, 1.0, 0.0),
        Some(0) => (1.45, 1.6, 0.85, -1.0),
        Some(1) => (1.25, 1.35, 0.95, -0.5),
        Some(2) => (0.8, 0.8, 1.2, 0.8),
        Some(_) => (0.6, 0.5, 1.4, 1.3),
    }
}

const SEVERITIES: &[&str] = &["sev1", "sev2", "sev2", "sev3", "sev3", "sev3", "sev4"];
const TITLES: &[&str] = &[
    "Elevated 5xx error rate",
    "Latency p99 above SLO",
    "Checkout requests timing out",
    "Queue backlog growing",
    "Database connection pool exhausted",
    "Memory leak after release",
    "Feature flag misconfiguration",
    "Certificate expired on internal endpoint",
];
const COMMENTS: &[&str] = &[
    "CI is much faster since the move to the golden path.",
    "Deploys feel safer, but the docs for the new pipeline are thin.",
    "Too many tools to learn at once, it slowed us down this quarter.",
    "Local dev environment breaks after every platform upgrade.",
    "Love the self-service environments, saves days.",
    "Flaky integration tests still block merges, \"retry\" is our friend.",
    "On-call got quieter, dashboards out of the box help a lot.",
    "Would like better support for mobile release trains.",
];

/// Generate the organisation into `out`.
pub fn generate(opts: &Options, out: &Path) -> std::io::Result<Stats> {
    let start = Utc.with_ymd_and_hms(2024, 10, 1, 0, 0, 0).single().expect("valid start");
    let quarter_start = |q: u32| -> DateTime<Utc> {
        let months = start.month0() + 3 * q;
        Utc.with_ymd_and_hms(start.year() + (months / 12) as i32, months % 12 + 1, 1, 0, 0, 0)
            .single()
            .expect("valid quarter")
    };
    let end = quarter_start(opts.quarters);
    let quarter_of =
        |t: DateTime<Utc>| -> u32 { (0..opts.quarters).rev().find(|&q| t >= quarter_start(q)).unwrap_or(0) };
    let wave_name = |q: u32| {
        let s = quarter_start(q);
        format!("{}-Q{}", s.year(), s.month0() / 3 + 1)
    };

    let mut rng = Rng::new(opts.seed);
    let mut stats = Stats::default();
    let mut services_out = Out::create(&out.join("services.csv"))?;
    let mut deploys_out = Out::create(&out.join("deployments.csv"))?;
    let mut changes_out = Out::create(&out.join("changes.csv"))?;
    let mut incidents_out = Out::create(&out.join("incidents.ndjson"))?;
    let mut adoption_out = Out::create(&out.join("adoption_events.ndjson"))?;
    services_out.csv(&["service", "team", "onboarded_at", "tier"])?;
    deploys_out.csv(&[
        "id",
        "service",
        "environment",
        "status",
        "started_at",
        "finished_at",
        "commit_sha",
        "kind",
        "url",
    ])?;
    changes_out.csv(&[
        "repo",
        "sha",
        "service",
        "committed_at",
        "deployment_id",
        "pr_number",
        "pr_opened_at",
        "first_review_at",
        "merged_at",
        "author",
    ])?;
    let mut incident_no = 0u64;
    let mut adoption_no = 0u64;
    let hours = |h: f64| Duration::seconds((h * 3600.0) as i64);

    for copy in 1..=opts.scale {
        let suffix = if opts.scale == 1 { String::new() } else { format!("-{copy}") };
        for team in TEAMS {
            let team_name = format!("{}{suffix}", team.name);
            let mut trng = rng.fork(copy as u64);
            let q0 = team.onboard_quarter.filter(|&q| q < opts.quarters);
            let rel = |t: DateTime<Utc>| q0.map(|q0| quarter_of(t) as i64 - q0 as i64);
            for (si, svc) in team.services.iter().enumerate() {
                let service = format!("{svc}{suffix}");
                let mut srng = trng.fork(si as u64);
                // Services of a team move within its onboarding quarter; one in four lags a quarter.
                let onboarded = q0.map(|q| {
                    let q = if srng.chance(0.25) { (q + 1).min(opts.quarters - 1) } else { q };
                    quarter_start(q) + Duration::days(srng.range(0, 40) as i64)
                });
                let tier = *srng.pick(&["tier-1", "tier-2", "tier-2", "tier-3"]);
                let onboarded_s = onboarded.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default();
                services_out.csv(&[&service, &team_name, &onboarded_s, tier])?;
                stats.services += 1;
                if let Some(on) = onboarded {
                    for (cap, at) in
                        [("ci-template", on - Duration::days(srng.range(0, 20) as i64)), ("golden-path", on)]
                    {
                        adoption_no += 1;
                        let id = format!("adopt-{adoption_no}");
                        adoption_out.json(&[
                            ("id", Some(&id)),
                            ("team", Some(&team_name)),
                            ("service", Some(&service)),
                            ("capability", Some(cap)),
                            ("event", Some("onboarded")),
                            ("at", Some(&ts(at))),
                        ])?;
                        stats.adoption_events += 1;
                    }
                    if srng.chance(0.7) {
                        let at = on + Duration::days(srng.range(10, 60) as i64);
                        if at < end {
                            adoption_no += 1;
                            let id = format!("adopt-{adoption_no}");
                            adoption_out.json(&[
                                ("id", Some(&id)),
                                ("team", Some(&team_name)),
                                ("service", Some(&service)),
                                ("capability", Some("observability")),
                                ("event", Some("onboarded")),
                                ("at", Some(&ts(at))),
                            ])?;
                            stats.adoption_events += 1;
                        }
                    }
                }

                // Deployment slots: Poisson per week, weekdays, working hours.
                let mut slots = Vec::new();
                let mut week = start;
                while week < end {
                    let (_, _, rate, _) = phase(rel(week));
                    for _ in 0..srng.poisson(team.deploys_per_week * rate) {
                        let t = week
                            + Duration::days(srng.range(0, 5) as i64)
                            + Duration::minutes(srng.range(8 * 60, 19 * 60) as i64);
                        if t < end {
                            slots.push(t);
                        }
                    }
                    week += Duration::days(7);
                }
                slots.sort();

                let mut deploy_no = 0u64;
                let mut pr_no = 100u64;
                let mut last_good_sha: Option<String> = None;
                let author = |r: &mut Rng| format!("dev-{}-{}", team_name, r.range(1, team.members as u64 + 1));
                for (i, &t) in slots.iter().enumerate() {
                    let next_slot = slots.get(i + 1).copied().unwrap_or(end);
                    let (lead_mult, cfr_mult, _, _) = phase(rel(t));
                    deploy_no += 1;
                    let id = format!("{service}-{deploy_no}");
                    let env = if srng.chance(0.05) { "prod" } else { "production" };
                    let started = t - Duration::minutes(srng.range(4, 25) as i64);
                    let url = format!("https://cd.example.com/{service}/deployments/{deploy_no}");
                    if srng.chance(0.03) {
                        // The deploy itself failed: nothing shipped.
                        deploys_out.csv(&[&id, &service, env, "failure", &ts(started), &ts(t), "", "regular", &url])?;
                        stats.deployments += 1;
                        continue;
                    }
                    // Staging first, sometimes.
                    let commit_count = 1 + srng.poisson(opts.commits_mean);
                    let mut shas = Vec::new();
                    for _ in 0..commit_count {
                        let sha = srng.sha();
                        let lead = srng.lognormal(team.lead_median_hours * lead_mult, 0.9).max(0.2);
                        let committed = t - hours(lead);
                        let pr = if srng.chance(0.85) {
                            pr_no += 1;
                            let review =
                                if srng.chance(0.8) { ts(committed + hours(lead * 0.3)) } else { String::new() };
                            (
                                pr_no.to_string(),
                                ts(committed + hours(lead * 0.1)),
                                review,
                                ts(committed + hours(lead * 0.7)),
                            )
                        } else {
                            Default::default()
                        };
                        let a = author(&mut srng);
                        changes_out.csv(&[
                            &service,
                            &sha,
                            &service,
                            &ts(committed),
                            &id,
                            &pr.0,
                            &pr.1,
                            &pr.2,
                            &pr.3,
                            &a,
                        ])?;
                        stats.changes += 1;
                        shas.push(sha);
                    }
                    let head = shas.last().cloned().unwrap_or_default();
                    if srng.chance(0.4) {
                        let sid = format!("{id}-staging");
                        let st = t - hours(srng.f64() * 3.0 + 1.0);
                        deploys_out.csv(&[
                            &sid,
                            &service,
                            "staging",
                            "success",
                            &ts(st - Duration::minutes(10)),
                            &ts(st),
                            &head,
                            "regular",
                            &url,
                        ])?;
                        stats.deployments += 1;
                    }
                    deploys_out.csv(&[&id, &service, env, "success", &ts(started), &ts(t), &head, "regular", &url])?;
                    stats.deployments += 1;

                    if srng.chance((team.failure_rate * cfr_mult).min(0.9)) {
                        // This deployment fails in production; how the data says so varies.
                        let mode = srng.range(0, 100);
                        let mut remediate = srng.chance(0.5);
                        let incident_at = match mode {
                            0..45 => Some(t + hours(0.2 + srng.f64() * 3.0)),
                            45..80 => Some(t + hours(0.2 + srng.f64() * 20.0)),
                            _ => {
                                remediate = true;
                                None
                            }
                        };
                        if let Some(created) = incident_at.filter(|c| *c < end) {
                            incident_no += 1;
                            let inc_id = format!("INC-{incident_no}");
                            let restore = srng.lognormal(3.0 * lead_mult, 1.0).max(0.1);
                            let resolved = created + hours(restore);
                            let open = resolved >= end || (end - created < Duration::days(10) && srng.chance(0.3));
                            let resolved_s = (!open).then(|| ts_cet(resolved));
                            let (caused, root) = match mode {
                                0..25 => (Some(id.clone()), None),
                                25..45 => (None, Some(srng.pick(&shas).clone())),
                                _ => (None, None),
                            };
                            let title = *srng.pick(TITLES);
                            let sev = *srng.pick(SEVERITIES);
                            incidents_out.json(&[
                                ("id", Some(&inc_id)),
                                ("service", Some(&service)),
                                ("created_at", Some(&ts_cet(created))),
                                ("resolved_at", resolved_s.as_deref()),
                                ("severity", Some(sev)),
                                ("caused_by_deployment", caused.as_deref()),
                                ("root_cause_sha", root.as_deref()),
                                ("title", Some(title)),
                            ])?;
                            stats.incidents += 1;
                        }
                        let fix_at = t + hours(srng.lognormal(1.5, 0.6));
                        if remediate && fix_at < next_slot && fix_at < end {
                            deploy_no += 1;
                            let fid = format!("{service}-{deploy_no}");
                            let furl = format!("https://cd.example.com/{service}/deployments/{deploy_no}");
                            if let (true, Some(good)) = (srng.chance(0.5), last_good_sha.clone()) {
                                deploys_out.csv(&[
                                    &fid,
                                    &service,
                                    "production",
                                    "success",
                                    &ts(fix_at - Duration::minutes(5)),
                                    &ts(fix_at),
                                    &good,
                                    "rollback",
                                    &furl,
                                ])?;
                            } else {
                                let sha = srng.sha();
                                let committed = fix_at - hours(0.3 + srng.f64());
                                let a = author(&mut srng);
                                changes_out.csv(&[
                                    &service,
                                    &sha,
                                    &service,
                                    &ts(committed),
                                    &fid,
                                    "",
                                    "",
                                    "",
                                    "",
                                    &a,
                                ])?;
                                stats.changes += 1;
                                deploys_out.csv(&[
                                    &fid,
                                    &service,
                                    "production",
                                    "success",
                                    &ts(fix_at - Duration::minutes(8)),
                                    &ts(fix_at),
                                    &sha,
                                    "hotfix",
                                    &furl,
                                ])?;
                                last_good_sha = Some(sha);
                            }
                            stats.deployments += 1;
                        }
                    } else {
                        last_good_sha = Some(head);
                    }
                }
                // Work in progress at the end: committed, not yet deployed.
                for _ in 0..srng.poisson(2.0) {
                    let committed = end - hours(srng.f64() * 120.0 + 1.0);
                    let sha = srng.sha();
                    let a = author(&mut srng);
                    changes_out.csv(&[&service, &sha, &service, &ts(committed), "", "", "", "", "", &a])?;
                    stats.changes += 1;
                }
                // Incidents no deployment caused (infrastructure, third parties).
                for q in 0..opts.quarters {
                    for _ in 0..srng.poisson(0.3) {
                        let created = quarter_start(q) + Duration::minutes(srng.range(0, 90 * 24 * 60) as i64);
                        if created >= end {
                            continue;
                        }
                        incident_no += 1;
                        let inc_id = format!("INC-{incident_no}");
                        let resolved = created + hours(srng.lognormal(4.0, 1.0));
                        let resolved_s = (resolved < end).then(|| ts_cet(resolved));
                        let title = *srng.pick(TITLES);
                        let sev = *srng.pick(SEVERITIES);
                        incidents_out.json(&[
                            ("id", Some(&inc_id)),
                            ("service", Some(&service)),
                            ("created_at", Some(&ts_cet(created))),
                            ("resolved_at", resolved_s.as_deref()),
                            ("severity", Some(sev)),
                            ("title", Some(title)),
                        ])?;
                        stats.incidents += 1;
                    }
                }
            }

            // Team-level platform use: a monthly `used` event after onboarding, now and then skipped.
            if let Some(q0) = q0 {
                let mut month = quarter_start(q0);
                let mut offboarded = false;
                while month < end {
                    if trng.chance(0.85) {
                        adoption_no += 1;
                        let id = format!("adopt-{adoption_no}");
                        let at = month + Duration::days(trng.range(0, 27) as i64);
                        adoption_out.json(&[
                            ("id", Some(&id)),
                            ("team", Some(&team_name)),
                            ("capability", Some("golden-path")),
                            ("event", Some("used")),
                            ("at", Some(&ts(at))),
                        ])?;
                        stats.adoption_events += 1;
                    }
                    if !offboarded && team.name == "mobile" && quarter_of(month) == q0 + 2 {
                        offboarded = true;
                        adoption_no += 1;
                        let id = format!("adopt-{adoption_no}");
                        adoption_out.json(&[
                            ("id", Some(&id)),
                            ("team", Some(&team_name)),
                            ("capability", Some("observability")),
                            ("event", Some("offboarded")),
                            ("at", Some(&ts(month + Duration::days(3)))),
                        ])?;
                        stats.adoption_events += 1;
                    }
                    let m0 = month.month0() + 1;
                    month = Utc
                        .with_ymd_and_hms(month.year() + (m0 / 12) as i32, m0 % 12 + 1, 1, 0, 0, 0)
                        .single()
                        .expect("valid month");
                }
            }
        }
    }

    // Survey waves: one export per quarter, sent in the quarter's last weeks.
    for q in 0..opts.quarters {
        let wave = wave_name(q);
        let with_docs_question = q >= 4;
        let mut f = Out::create(&out.join("survey_responses").join(format!("{wave}.csv")))?;
        let mut header = vec![
            "id",
            "survey",
            "submitted_at",
            "team",
            "nps",
            "q_ci_speed",
            "q_easy_to_understand",
            "q_focus_time",
            "q_satisfaction",
        ];
        if with_docs_question {
            header.push("q_docs_findable");
        }
        header.push("comment");
        f.csv(&header)?;
        let mut wrng = rng.fork(1000 + q as u64);
        for copy in 1..=opts.scale {
            let suffix = if opts.scale == 1 { String::new() } else { format!("-{copy}") };
            for team in TEAMS {
                let team_name = format!("{}{suffix}", team.name);
                let rel = team.onboard_quarter.filter(|&q0| q0 < opts.quarters).map(|q0| q as i64 - q0 as i64);
                let (_, _, _, mood) = phase(rel);
                let mut n = 0;
                for member in 1..=team.members {
                    if !wrng.chance(0.75) {
                        continue;
                    }
                    n += 1;
                    let id = format!("resp-{wave}-{team_name}-{member}");
                    let submitted = quarter_start(q + 1) - Duration::days(wrng.range(3, 20) as i64)
                        + Duration::minutes(wrng.range(8 * 60, 18 * 60) as i64);
                    let nps = (6.8 + mood * 1.2 + wrng.normal() * 1.6).round().clamp(0.0, 10.0) as i64;
                    let likert = |r: &mut Rng, bias: f64| {
                        (3.0 + mood * 0.6 + bias + r.normal() * 0.8).round().clamp(1.0, 5.0) as i64
                    };
                    let mut row = vec![id, wave.clone(), ts_naive(submitted), team_name.clone(), nps.to_string()];
                    for bias in [0.0, -0.3, -0.2, 0.1] {
                        row.push(likert(&mut wrng, bias).to_string());
                    }
                    if with_docs_question {
                        row.push(likert(&mut wrng, -0.5).to_string());
                    }
                    row.push(if wrng.chance(0.25) { wrng.pick(COMMENTS).to_string() } else { String::new() });
                    f.csv(&row.iter().map(String::as_str).collect::<Vec<_>>())?;
                    stats.survey_responses += 1;
                }
                let _ = n;
            }
        }
        f.finish()?;
    }

    write_bad_rows(out)?;
    write_config(out)?;
    for f in [services_out, deploys_out, changes_out, incidents_out, adoption_out] {
        f.finish()?;
    }
    Ok(stats)
}

/// The sample's `devex.toml`: its survey questions mapped to DevEx dimensions.
fn write_config(out: &Path) -> std::io::Result<()> {
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
fn write_bad_rows(out: &Path) -> std::io::Result<()> {
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
