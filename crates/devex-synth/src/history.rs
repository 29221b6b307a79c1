//! The organisation's history as event streams: the service catalog and
//! adoption events, deployments with the changes they ship, failures and their
//! remediation, incidents, platform use, and quarterly survey waves.
//!
//! Each stream is a small function drawing from its own forked [`Rng`] in a
//! fixed order, so the same seed gives the same bytes; rows go through the
//! [`Sink`], which formats them (CSV or NDJSON, as the exporting tool would)
//! and counts them.

use std::path::Path;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

use crate::org::{COMMENTS, Options, SEVERITIES, Stats, TEAMS, TITLES, TeamSpec, phase, write_bad_rows, write_config};
use crate::rng::Rng;
use crate::write::{Out, ts, ts_cet, ts_naive};

/// The quarters of the history, from 2024-10-01.
struct Calendar {
    start: DateTime<Utc>,
    quarters: u32,
}

impl Calendar {
    fn new(quarters: u32) -> Calendar {
        Calendar { start: Utc.with_ymd_and_hms(2024, 10, 1, 0, 0, 0).single().expect("valid start"), quarters }
    }

    fn quarter_start(&self, q: u32) -> DateTime<Utc> {
        let months = self.start.month0() + 3 * q;
        Utc.with_ymd_and_hms(self.start.year() + (months / 12) as i32, months % 12 + 1, 1, 0, 0, 0)
            .single()
            .expect("valid quarter")
    }

    /// The end of the history (exclusive).
    fn end(&self) -> DateTime<Utc> {
        self.quarter_start(self.quarters)
    }

    fn quarter_of(&self, t: DateTime<Utc>) -> u32 {
        (0..self.quarters).rev().find(|&q| t >= self.quarter_start(q)).unwrap_or(0)
    }

    /// `2025-Q3`.
    fn wave_name(&self, q: u32) -> String {
        let s = self.quarter_start(q);
        format!("{}-Q{}", s.year(), s.month0() / 3 + 1)
    }
}

fn hours(h: f64) -> Duration {
    Duration::seconds((h * 3600.0) as i64)
}

/// A `deployments.csv` row, as a CD tool exports it.
struct DeploymentRow<'a> {
    id: &'a str,
    service: &'a str,
    environment: &'a str,
    status: &'a str,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    commit_sha: &'a str,
    kind: &'a str,
    url: &'a str,
}

/// A `changes.csv` row; the pull request's fields are empty without one.
#[derive(Default)]
struct ChangeRow<'a> {
    service: &'a str,
    sha: &'a str,
    committed_at: String,
    deployment_id: &'a str,
    pr_number: String,
    pr_opened_at: String,
    first_review_at: String,
    merged_at: String,
    author: String,
}

/// An `incidents.ndjson` object; times with a `+01:00` offset, as a tool in Europe exports them.
struct IncidentRow<'a> {
    service: &'a str,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    /// `None`: the key is left out (an export that never links incidents).
    links: Option<(Option<&'a str>, Option<&'a str>)>,
    severity: &'a str,
    title: &'a str,
}

/// An `adoption_events.ndjson` object.
struct AdoptionRow<'a> {
    team: &'a str,
    service: Option<&'a str>,
    capability: &'a str,
    event: &'a str,
    at: DateTime<Utc>,
}

/// The output files, their row counts, and the running incident and adoption numbers.
struct Sink {
    services: Out,
    deployments: Out,
    changes: Out,
    incidents: Out,
    adoption: Out,
    stats: Stats,
    incident_no: u64,
    adoption_no: u64,
}

impl Sink {
    fn create(out: &Path) -> std::io::Result<Sink> {
        let mut sink = Sink {
            services: Out::create(&out.join("services.csv"))?,
            deployments: Out::create(&out.join("deployments.csv"))?,
            changes: Out::create(&out.join("changes.csv"))?,
            incidents: Out::create(&out.join("incidents.ndjson"))?,
            adoption: Out::create(&out.join("adoption_events.ndjson"))?,
            stats: Stats::default(),
            incident_no: 0,
            adoption_no: 0,
        };
        sink.services.csv(&["service", "team", "onboarded_at", "tier"])?;
        sink.deployments.csv(&[
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
        sink.changes.csv(&[
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
        Ok(sink)
    }

    fn service(&mut self, service: &str, team: &str, onboarded_at: &str, tier: &str) -> std::io::Result<()> {
        self.stats.services += 1;
        self.services.csv(&[service, team, onboarded_at, tier])
    }

    fn deployment(&mut self, d: &DeploymentRow) -> std::io::Result<()> {
        self.stats.deployments += 1;
        let (started, finished) = (ts(d.started_at), ts(d.finished_at));
        self.deployments.csv(&[
            d.id,
            d.service,
            d.environment,
            d.status,
            &started,
            &finished,
            d.commit_sha,
            d.kind,
            d.url,
        ])
    }

    fn change(&mut self, c: &ChangeRow) -> std::io::Result<()> {
        self.stats.changes += 1;
        self.changes.csv(&[
            c.service,
            c.sha,
            c.service,
            &c.committed_at,
            c.deployment_id,
            &c.pr_number,
            &c.pr_opened_at,
            &c.first_review_at,
            &c.merged_at,
            &c.author,
        ])
    }

    fn incident(&mut self, i: &IncidentRow) -> std::io::Result<()> {
        self.incident_no += 1;
        self.stats.incidents += 1;
        let id = format!("INC-{}", self.incident_no);
        let (created, resolved) = (ts_cet(i.created_at), i.resolved_at.map(ts_cet));
        let mut fields = vec![
            ("id", Some(id.as_str())),
            ("service", Some(i.service)),
            ("created_at", Some(&created)),
            ("resolved_at", resolved.as_deref()),
            ("severity", Some(i.severity)),
        ];
        if let Some((caused, root)) = i.links {
            fields.extend([("caused_by_deployment", caused), ("root_cause_sha", root)]);
        }
        fields.push(("title", Some(i.title)));
        self.incidents.json(&fields)
    }

    fn adoption(&mut self, a: &AdoptionRow) -> std::io::Result<()> {
        self.adoption_no += 1;
        self.stats.adoption_events += 1;
        let (id, at) = (format!("adopt-{}", self.adoption_no), ts(a.at));
        let mut fields = vec![("id", Some(id.as_str())), ("team", Some(a.team))];
        if a.service.is_some() {
            fields.push(("service", a.service));
        }
        fields.extend([("capability", Some(a.capability)), ("event", Some(a.event)), ("at", Some(&at))]);
        self.adoption.json(&fields)
    }

    fn finish(self) -> std::io::Result<Stats> {
        for f in [self.services, self.deployments, self.changes, self.incidents, self.adoption] {
            f.finish()?;
        }
        Ok(self.stats)
    }
}

/// One team of one copy of the organisation.
struct Team<'a> {
    spec: &'a TeamSpec,
    name: String,
    /// The onboarding quarter, if within the history.
    q0: Option<u32>,
}

impl Team<'_> {
    /// Quarters since onboarding.
    fn rel(&self, cal: &Calendar, t: DateTime<Utc>) -> Option<i64> {
        self.q0.map(|q0| cal.quarter_of(t) as i64 - q0 as i64)
    }

    fn author(&self, r: &mut Rng) -> String {
        format!("dev-{}-{}", self.name, r.range(1, self.spec.members as u64 + 1))
    }
}

/// Generate the organisation into `out`.
pub fn generate(opts: &Options, out: &Path) -> std::io::Result<Stats> {
    let cal = Calendar::new(opts.quarters);
    let mut rng = Rng::new(opts.seed);
    let mut sink = Sink::create(out)?;
    for copy in 1..=opts.scale {
        let suffix = if opts.scale == 1 { String::new() } else { format!("-{copy}") };
        for spec in TEAMS {
            let team = Team {
                spec,
                name: format!("{}{suffix}", spec.name),
                q0: spec.onboard_quarter.filter(|&q| q < opts.quarters),
            };
            let mut trng = rng.fork(copy as u64);
            for (si, svc) in spec.services.iter().enumerate() {
                let mut srng = trng.fork(si as u64);
                let service = format!("{svc}{suffix}");
                catalog_entry(&mut sink, &cal, &team, &service, &mut srng)?;
                let slots = deployment_slots(&cal, &team, &mut srng);
                deploy_history(&mut sink, &cal, opts, &team, &service, &slots, &mut srng)?;
                work_in_progress(&mut sink, &cal, &team, &service, &mut srng)?;
                unlinked_incidents(&mut sink, &cal, &service, &mut srng)?;
            }
            platform_use(&mut sink, &cal, &team, &mut trng)?;
        }
    }
    for q in 0..opts.quarters {
        survey_wave(out, &cal, opts, q, &mut sink.stats, &mut rng.fork(1000 + q as u64))?;
    }
    write_bad_rows(out)?;
    write_config(out)?;
    sink.finish()
}

/// The service's catalog row and its onboarding events. Services of a team move
/// within its onboarding quarter; one in four lags a quarter.
fn catalog_entry(sink: &mut Sink, cal: &Calendar, team: &Team, service: &str, r: &mut Rng) -> std::io::Result<()> {
    let onboarded = team.q0.map(|q| {
        let q = if r.chance(0.25) { (q + 1).min(cal.quarters - 1) } else { q };
        cal.quarter_start(q) + Duration::days(r.range(0, 40) as i64)
    });
    let tier = *r.pick(&["tier-1", "tier-2", "tier-2", "tier-3"]);
    let onboarded_s = onboarded.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default();
    sink.service(service, &team.name, &onboarded_s, tier)?;
    let Some(on) = onboarded else { return Ok(()) };
    let event =
        |capability, at| AdoptionRow { team: &team.name, service: Some(service), capability, event: "onboarded", at };
    for (cap, at) in [("ci-template", on - Duration::days(r.range(0, 20) as i64)), ("golden-path", on)] {
        sink.adoption(&event(cap, at))?;
    }
    if r.chance(0.7) {
        let at = on + Duration::days(r.range(10, 60) as i64);
        if at < cal.end() {
            sink.adoption(&event("observability", at))?;
        }
    }
    Ok(())
}

/// Deployment slots: Poisson per week, weekdays, working hours.
fn deployment_slots(cal: &Calendar, team: &Team, r: &mut Rng) -> Vec<DateTime<Utc>> {
    let mut slots = Vec::new();
    let mut week = cal.start;
    while week < cal.end() {
        let (_, _, rate, _) = phase(team.rel(cal, week));
        for _ in 0..r.poisson(team.spec.deploys_per_week * rate) {
            let t = week + Duration::days(r.range(0, 5) as i64) + Duration::minutes(r.range(8 * 60, 19 * 60) as i64);
            if t < cal.end() {
                slots.push(t);
            }
        }
        week += Duration::days(7);
    }
    slots.sort();
    slots
}

/// A service's deployments, slot by slot: a failed deploy ships nothing; otherwise
/// the commits it ships (with pull requests), sometimes a staging deploy first, and
/// now and then a production failure with its incident and remediation.
fn deploy_history(
    sink: &mut Sink,
    cal: &Calendar,
    opts: &Options,
    team: &Team,
    service: &str,
    slots: &[DateTime<Utc>],
    r: &mut Rng,
) -> std::io::Result<()> {
    let mut deploy_no = 0u64;
    let mut pr_no = 100u64;
    let mut last_good_sha: Option<String> = None;
    for (i, &t) in slots.iter().enumerate() {
        let next_slot = slots.get(i + 1).copied().unwrap_or(cal.end());
        let (lead_mult, cfr_mult, _, _) = phase(team.rel(cal, t));
        deploy_no += 1;
        let id = format!("{service}-{deploy_no}");
        let env = if r.chance(0.05) { "prod" } else { "production" };
        let started = t - Duration::minutes(r.range(4, 25) as i64);
        let url = format!("https://cd.example.com/{service}/deployments/{deploy_no}");
        let deployment = |environment, status, started_at, finished_at, commit_sha| DeploymentRow {
            id: &id,
            service,
            environment,
            status,
            started_at,
            finished_at,
            commit_sha,
            kind: "regular",
            url: &url,
        };
        if r.chance(0.03) {
            // The deploy itself failed: nothing shipped.
            sink.deployment(&deployment(env, "failure", started, t, ""))?;
            continue;
        }
        let shas = shipped_changes(sink, opts, team, service, &id, t, lead_mult, &mut pr_no, r)?;
        let head = shas.last().cloned().unwrap_or_default();
        // Staging first, sometimes.
        if r.chance(0.4) {
            let st = t - hours(r.f64() * 3.0 + 1.0);
            let sid = format!("{id}-staging");
            sink.deployment(&DeploymentRow {
                id: &sid,
                ..deployment("staging", "success", st - Duration::minutes(10), st, &head)
            })?;
        }
        sink.deployment(&deployment(env, "success", started, t, &head))?;

        if r.chance((team.spec.failure_rate * cfr_mult).min(0.9)) {
            let failed = Failed { id: &id, at: t, shas: &shas, lead_mult, next_slot };
            let fix = failure(sink, cal, team, service, &failed, &mut deploy_no, last_good_sha.as_deref(), r)?;
            if let Some(sha) = fix {
                last_good_sha = Some(sha);
            }
        } else {
            last_good_sha = Some(head);
        }
    }
    Ok(())
}

/// The commits one deployment ships, most through a pull request; their shas in order.
#[allow(clippy::too_many_arguments)]
fn shipped_changes(
    sink: &mut Sink,
    opts: &Options,
    team: &Team,
    service: &str,
    deployment_id: &str,
    t: DateTime<Utc>,
    lead_mult: f64,
    pr_no: &mut u64,
    r: &mut Rng,
) -> std::io::Result<Vec<String>> {
    let mut shas = Vec::new();
    for _ in 0..1 + r.poisson(opts.commits_mean) {
        let sha = r.sha();
        let lead = r.lognormal(team.spec.lead_median_hours * lead_mult, 0.9).max(0.2);
        let committed = t - hours(lead);
        let mut row =
            ChangeRow { service, sha: &sha, committed_at: ts(committed), deployment_id, ..Default::default() };
        if r.chance(0.85) {
            *pr_no += 1;
            row.pr_number = pr_no.to_string();
            row.first_review_at = if r.chance(0.8) { ts(committed + hours(lead * 0.3)) } else { String::new() };
            row.pr_opened_at = ts(committed + hours(lead * 0.1));
            row.merged_at = ts(committed + hours(lead * 0.7));
        }
        row.author = team.author(r);
        sink.change(&row)?;
        shas.push(sha);
    }
    Ok(shas)
}

/// A production deployment that failed.
struct Failed<'a> {
    id: &'a str,
    at: DateTime<Utc>,
    shas: &'a [String],
    lead_mult: f64,
    /// The next deployment slot: a fix must come before it.
    next_slot: DateTime<Utc>,
}

/// How the data says a deployment failed varies: an incident naming it, one naming
/// a commit it shipped, an unlinked one, or only a rollback or hotfix after it.
/// Returns the sha of a hotfix, which becomes the last good one.
#[allow(clippy::too_many_arguments)]
fn failure(
    sink: &mut Sink,
    cal: &Calendar,
    team: &Team,
    service: &str,
    failed: &Failed,
    deploy_no: &mut u64,
    last_good_sha: Option<&str>,
    r: &mut Rng,
) -> std::io::Result<Option<String>> {
    let t = failed.at;
    let mode = r.range(0, 100);
    let mut remediate = r.chance(0.5);
    let incident_at = match mode {
        0..45 => Some(t + hours(0.2 + r.f64() * 3.0)),
        45..80 => Some(t + hours(0.2 + r.f64() * 20.0)),
        _ => {
            remediate = true;
            None
        }
    };
    if let Some(created) = incident_at.filter(|c| *c < cal.end()) {
        let restore = r.lognormal(3.0 * failed.lead_mult, 1.0).max(0.1);
        let resolved = created + hours(restore);
        let open = resolved >= cal.end() || (cal.end() - created < Duration::days(10) && r.chance(0.3));
        let root = match mode {
            25..45 => Some(r.pick(failed.shas).clone()),
            _ => None,
        };
        let caused = (mode < 25).then_some(failed.id);
        let title = *r.pick(TITLES);
        let severity = *r.pick(SEVERITIES);
        sink.incident(&IncidentRow {
            service,
            created_at: created,
            resolved_at: (!open).then_some(resolved),
            links: Some((caused, root.as_deref())),
            severity,
            title,
        })?;
    }
    let fix_at = t + hours(r.lognormal(1.5, 0.6));
    if !(remediate && fix_at < failed.next_slot && fix_at < cal.end()) {
        return Ok(None);
    }
    *deploy_no += 1;
    let fid = format!("{service}-{deploy_no}");
    let furl = format!("https://cd.example.com/{service}/deployments/{deploy_no}");
    let fix = |started_at, commit_sha, kind| DeploymentRow {
        id: &fid,
        service,
        environment: "production",
        status: "success",
        started_at,
        finished_at: fix_at,
        commit_sha,
        kind,
        url: &furl,
    };
    if let (true, Some(good)) = (r.chance(0.5), last_good_sha) {
        sink.deployment(&fix(fix_at - Duration::minutes(5), good, "rollback"))?;
        return Ok(None);
    }
    let sha = r.sha();
    let committed = fix_at - hours(0.3 + r.f64());
    let author = team.author(r);
    sink.change(&ChangeRow {
        service,
        sha: &sha,
        committed_at: ts(committed),
        deployment_id: &fid,
        author,
        ..Default::default()
    })?;
    sink.deployment(&fix(fix_at - Duration::minutes(8), &sha, "hotfix"))?;
    Ok(Some(sha))
}

/// Work in progress at the end: committed, not yet deployed.
fn work_in_progress(sink: &mut Sink, cal: &Calendar, team: &Team, service: &str, r: &mut Rng) -> std::io::Result<()> {
    for _ in 0..r.poisson(2.0) {
        let committed = cal.end() - hours(r.f64() * 120.0 + 1.0);
        let sha = r.sha();
        let author = team.author(r);
        sink.change(&ChangeRow { service, sha: &sha, committed_at: ts(committed), author, ..Default::default() })?;
    }
    Ok(())
}

/// Incidents no deployment caused (infrastructure, third parties).
fn unlinked_incidents(sink: &mut Sink, cal: &Calendar, service: &str, r: &mut Rng) -> std::io::Result<()> {
    for q in 0..cal.quarters {
        for _ in 0..r.poisson(0.3) {
            let created = cal.quarter_start(q) + Duration::minutes(r.range(0, 90 * 24 * 60) as i64);
            if created >= cal.end() {
                continue;
            }
            let resolved = created + hours(r.lognormal(4.0, 1.0));
            let title = *r.pick(TITLES);
            let severity = *r.pick(SEVERITIES);
            sink.incident(&IncidentRow {
                service,
                created_at: created,
                resolved_at: (resolved < cal.end()).then_some(resolved),
                links: None,
                severity,
                title,
            })?;
        }
    }
    Ok(())
}

/// Team-level platform use: a monthly `used` event after onboarding, now and then
/// skipped; mobile drops one capability two quarters in.
fn platform_use(sink: &mut Sink, cal: &Calendar, team: &Team, r: &mut Rng) -> std::io::Result<()> {
    let Some(q0) = team.q0 else { return Ok(()) };
    let mut month = cal.quarter_start(q0);
    let mut offboarded = false;
    while month < cal.end() {
        if r.chance(0.85) {
            let at = month + Duration::days(r.range(0, 27) as i64);
            sink.adoption(&AdoptionRow {
                team: &team.name,
                service: None,
                capability: "golden-path",
                event: "used",
                at,
            })?;
        }
        if !offboarded && team.spec.name == "mobile" && cal.quarter_of(month) == q0 + 2 {
            offboarded = true;
            let at = month + Duration::days(3);
            sink.adoption(&AdoptionRow {
                team: &team.name,
                service: None,
                capability: "observability",
                event: "offboarded",
                at,
            })?;
        }
        let m0 = month.month0() + 1;
        month = Utc
            .with_ymd_and_hms(month.year() + (m0 / 12) as i32, m0 % 12 + 1, 1, 0, 0, 0)
            .single()
            .expect("valid month");
    }
    Ok(())
}

/// One survey wave: an export per quarter, sent in the quarter's last weeks; a
/// docs question joins from the fifth wave.
fn survey_wave(
    out: &Path,
    cal: &Calendar,
    opts: &Options,
    q: u32,
    stats: &mut Stats,
    r: &mut Rng,
) -> std::io::Result<()> {
    let wave = cal.wave_name(q);
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
    for copy in 1..=opts.scale {
        let suffix = if opts.scale == 1 { String::new() } else { format!("-{copy}") };
        for spec in TEAMS {
            let team_name = format!("{}{suffix}", spec.name);
            let rel = spec.onboard_quarter.filter(|&q0| q0 < opts.quarters).map(|q0| q as i64 - q0 as i64);
            let (_, _, _, mood) = phase(rel);
            for member in 1..=spec.members {
                if !r.chance(0.75) {
                    continue;
                }
                let id = format!("resp-{wave}-{team_name}-{member}");
                let submitted = cal.quarter_start(q + 1) - Duration::days(r.range(3, 20) as i64)
                    + Duration::minutes(r.range(8 * 60, 18 * 60) as i64);
                let nps = (6.8 + mood * 1.2 + r.normal() * 1.6).round().clamp(0.0, 10.0) as i64;
                let likert = |r: &mut Rng, bias: f64| {
                    (3.0 + mood * 0.6 + bias + r.normal() * 0.8).round().clamp(1.0, 5.0) as i64
                };
                let mut row = vec![id, wave.clone(), ts_naive(submitted), team_name.clone(), nps.to_string()];
                for bias in [0.0, -0.3, -0.2, 0.1] {
                    row.push(likert(r, bias).to_string());
                }
                if with_docs_question {
                    row.push(likert(r, -0.5).to_string());
                }
                row.push(if r.chance(0.25) { r.pick(COMMENTS).to_string() } else { String::new() });
                f.csv(&row.iter().map(String::as_str).collect::<Vec<_>>())?;
                stats.survey_responses += 1;
            }
        }
    }
    f.finish()
}
