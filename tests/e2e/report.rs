//! `devex report` and the scorecard written by `devex demo`: the numbers are
//! `devex metrics`' numbers, the pages are self-contained, private and escaped,
//! and a real headless Chromium loads them from `file://` without errors.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::browser::{self, Browser};
use crate::util::{Workspace, sample_demo};

fn metrics(ws: &Workspace, args: &[&str]) -> Value {
    let out = ws.devex().arg("metrics").args(args).args(["--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every page of the site: index.html and teams/*.html.
fn pages(site: &Path) -> Vec<PathBuf> {
    let mut out = vec![site.join("index.html")];
    let mut teams: Vec<PathBuf> = std::fs::read_dir(site.join("teams")).unwrap().map(|e| e.unwrap().path()).collect();
    teams.sort();
    out.extend(teams);
    out
}

/// The value of every `attr="..."` in `html`.
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// Self-contained: no script, no stylesheet or font from elsewhere, every
/// link relative and resolving to a file of the site (or an anchor).
fn assert_self_contained(page: &Path) {
    let html = std::fs::read_to_string(page).unwrap();
    let lower = html.to_lowercase();
    for forbidden in ["<script", "<link", "<iframe", "<img", "@import", "url(", "@font-face"] {
        assert!(!lower.contains(forbidden), "{} contains {forbidden}", page.display());
    }
    assert!(attribute_values(&html, "src").is_empty(), "{}", page.display());
    for href in attribute_values(&html, "href") {
        assert!(!href.contains("://") && !href.starts_with("//"), "{}: external link {href}", page.display());
        let file = href.split('#').next().unwrap();
        if !file.is_empty() {
            let target = page.parent().unwrap().join(file);
            assert!(target.is_file(), "{}: link {href} does not resolve", page.display());
        }
    }
    // The only URLs are SVG's namespace declarations.
    for (i, _) in lower.match_indices("http") {
        let around = &lower[i.saturating_sub(8)..(i + 40).min(lower.len())];
        assert!(around.contains("xmlns"), "{}: URL in {around}", page.display());
    }
}

fn load_in_chromium(pages: &[PathBuf], shots: &str) -> Option<Vec<(PathBuf, u32, Value)>> {
    let Some(exe) = browser::chromium() else {
        assert!(!browser::required(), "DEVEX_BROWSER_TESTS=required but no chromium: apt-get install chromium");
        eprintln!("skipping the browser part: no chromium (apt-get install chromium; .ci/run installs it)");
        return None;
    };
    let shot_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shot_dir).unwrap();
    let mut b = Browser::launch(&exe);
    let mut out = Vec::new();
    for page in pages {
        // A desktop, a phone, and a desktop at 200 % zoom (640 CSS px).
        for (width, height) in [(1280, 900), (390, 844), (640, 450)] {
            let load = b.load(page, width, height);
            assert!(load.errors.is_empty(), "{} at {width} px: {:#?}", page.display(), load.errors);
            assert!(
                load.requests.iter().all(|u| u.starts_with("file://")),
                "{} requested {:?}",
                page.display(),
                load.requests
            );
            let facts = b.eval(
                "({scripts: document.scripts.length, svgs: document.querySelectorAll('svg').length, \
                  h1: document.querySelectorAll('h1').length, h2: [...document.querySelectorAll('h2')].map(h => h.textContent), \
                  overflow: document.documentElement.scrollWidth - window.innerWidth, \
                  tables: document.querySelectorAll('details table').length, title: document.title, \
                  chart_text: [...document.querySelectorAll('svg text')] \
                      .filter(t => t.textContent.trim() && t.getClientRects().length && t.getScreenCTM()) \
                      .map(t => [parseFloat(getComputedStyle(t).fontSize) * Math.hypot(t.getScreenCTM().a, t.getScreenCTM().b), t.textContent]) \
                      .sort((x, y) => x[0] - y[0])[0]})",
            );
            let name = page.file_stem().unwrap().to_string_lossy().to_string();
            let shot = shot_dir.join(format!("{shots}-{name}-{width}.png"));
            b.screenshot(&shot);
            eprintln!("screenshot: {}", shot.display());
            out.push((page.clone(), width, facts));
        }
    }
    Some(out)
}

#[test]
fn the_sample_scorecard_matches_devex_metrics_is_private_and_opens_offline() {
    let demo = sample_demo();
    let (ws, site, stdout) = (&demo.ws, demo.site.clone(), &demo.stdout);
    // The demo ends by printing where the scorecard is.
    let last = stdout.trim_end().lines().last().unwrap();
    assert!(last.ends_with("index.html") && Path::new(last.rsplit(": ").next().unwrap()).is_file(), "{last}");

    let card = read_json(&site.join("scorecard.json"));
    let quarter = card["quarter"].as_str().unwrap().to_string();
    let previous = card["previous_quarter"].as_str().unwrap().to_string();
    // The scorecard's quarter is the latest deployment's.
    let latest = ws.query("SELECT CAST(max(finished_at) AS VARCHAR) FROM deployments")[0][0].clone();
    let (year, month) = (&latest[..4], latest[5..7].parse::<u32>().unwrap());
    assert_eq!(quarter, format!("{year}-Q{}", (month - 1) / 3 + 1));

    // The model's numbers are `devex metrics`' numbers, org and per team, this quarter and the one before.
    let org = metrics(ws, &["--quarter", &quarter]);
    assert_eq!(card["window"], org["window"]);
    assert_eq!(card["org"], org["groups"][0]);
    assert_eq!(card["org_previous"], metrics(ws, &["--quarter", &previous])["groups"][0]);
    let teams = metrics(ws, &["--quarter", &quarter, "--by", "team"]);
    let by_team = teams["groups"].as_array().unwrap();
    assert_eq!(card["teams"].as_array().unwrap().len(), by_team.len());
    assert!(by_team.len() >= 8);
    for g in by_team {
        let team = g["group"]["team"].as_str().unwrap();
        let t = card["teams"].as_array().unwrap().iter().find(|t| t["team"] == team).unwrap();
        assert_eq!(&t["current"], g, "{team}");
        assert!(site.join("teams").join(t["page"].as_str().unwrap()).is_file(), "{team}");
    }
    // Eight quarters of trend, the last being the scorecard's quarter.
    let trend = card["org_trend"].as_array().unwrap();
    assert_eq!(trend.len(), 8);
    assert_eq!(trend[7]["quarter"], quarter.as_str());
    assert_eq!(trend[7]["metrics"], org["groups"][0]);
    // Every quarter is computed in one pass, and each is exactly `devex metrics` of that
    // quarter on its own: the organisation's first quarter, and every team's every quarter.
    let first = trend[0]["quarter"].as_str().unwrap();
    assert_eq!(trend[0]["metrics"], metrics(ws, &["--quarter", first])["groups"][0], "{first}");
    for point in trend {
        let q = point["quarter"].as_str().unwrap();
        for g in metrics(ws, &["--quarter", q, "--by", "team"])["groups"].as_array().unwrap() {
            let team = g["group"]["team"].as_str().unwrap();
            let Some(t) = card["teams"].as_array().unwrap().iter().find(|t| t["team"] == team) else { continue };
            let at = t["trend"].as_array().unwrap().iter().find(|p| p["quarter"] == q);
            assert_eq!(at.map(|p| &p["metrics"]), Some(g), "{team} {q}");
        }
    }

    // The sample shows a J-curve: some team's lead time dips after onboarding and recovers.
    let summary = card["jcurve_summary"].as_array().unwrap();
    assert!(
        summary.iter().any(|s| s["metric"] == "lead_time_p50"
            && s["dip_rel"].as_i64().is_some()
            && s["recovery_rel"].as_i64().is_some()),
        "{summary:#?}"
    );
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("The J-curve: teams before and after onboarding"));
    // Where lead time goes: a stacked bar per team, its data table listing every team.
    let stages = &index[index.find("id=\"stages\"").expect("a stages section")..];
    let stages = &stages[..stages.find("</section>").unwrap()];
    for t in card["teams"].as_array().unwrap() {
        assert!(stages.contains(&format!("<th scope=\"row\">{}</th>", t["team"].as_str().unwrap())), "{t}");
    }
    // The headline tiles: four DORA keys and rework, each with its band as text.
    for title in [
        "Deployment frequency",
        "Change lead time (median)",
        "Change failure rate",
        "Failed deployment recovery time (median)",
        "Rework rate",
    ] {
        assert!(index.contains(&format!("<h3>{title}</h3>")), "{title}");
    }
    if let Some(band) = org["groups"][0]["lead_time_hours"]["band"].as_str() {
        assert!(index.contains(&format!("Band: <strong>{band}</strong>")));
    }
    // Freshness: each table's Delta version as the lake has it.
    let versions: Vec<(String, Option<u64>)> = card["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap().to_string(), t["version"].as_u64()))
        .collect();
    for (table, version) in &versions {
        assert_eq!(*version, crate::util::delta_version(&ws.data(), table), "{table}");
    }
    // DevEx dimension scores come from the sample's question mapping.
    assert!(!card["wave_dimensions"].as_array().unwrap().is_empty());

    // Privacy: no author and no free-text answer on any page or in the JSON.
    let authors = ws.query("SELECT DISTINCT author FROM changes WHERE author IS NOT NULL");
    let texts = ws.query("SELECT DISTINCT text FROM survey_answers WHERE text IS NOT NULL AND length(text) > 12");
    assert!(!authors.is_empty() && !texts.is_empty(), "the sample has authors and free text");
    let mut published = vec![std::fs::read_to_string(site.join("scorecard.json")).unwrap()];
    for page in pages(&site) {
        assert_self_contained(&page);
        published.push(std::fs::read_to_string(&page).unwrap());
    }
    for text in &published {
        for secret in authors.iter().chain(&texts) {
            let escaped = devex_report::html::escape(&secret[0]);
            assert!(!text.contains(&secret[0]) && !text.contains(&escaped), "published: {}", secret[0]);
        }
    }

    // A real browser: no console errors, no requests but the file itself, readable on a phone.
    let all = pages(&site);
    let shown = [all[0].clone(), all[1].clone()];
    if let Some(loads) = load_in_chromium(&shown, "sample") {
        for (page, width, facts) in loads {
            assert_eq!(facts["scripts"], 0);
            assert_eq!(facts["h1"], 1);
            assert!(facts["svgs"].as_u64().unwrap() >= 5, "{facts}");
            assert!(facts["tables"].as_u64().unwrap() >= 5, "{facts}");
            // No sideways scrolling of the page at phone width (wide tables and charts scroll in
            // their own box), and no chart text under 10 CSS px at any width.
            assert!(facts["overflow"].as_i64().unwrap() <= 0, "{} at {width}: {facts}", page.display());
            let smallest = facts["chart_text"][0].as_f64().unwrap_or_else(|| panic!("{facts}"));
            let text = &facts["chart_text"][1];
            assert!(smallest >= 10.0, "{} at {width} px: chart text {text} of {smallest:.1} px", page.display());
        }
    }
}

// A tiny organisation with hostile names and a survey group at the suppression edge.
const SERVICES: &str = "service,team,onboarded_at\napi,<script>alert(1)</script>,\nweb,\"ops & \"\"co\"\"\",\n";
const DEPLOYMENTS: &str = "id,service,environment,status,finished_at,commit_sha,kind\n\
A1,api,production,success,2026-04-02T10:00:00Z,a1,regular\n\
A2,api,production,success,2026-05-02T10:00:00Z,a2,regular\n\
W1,web,production,success,2026-04-03T10:00:00Z,w1,regular\n\
W0,web,production,success,2026-02-03T10:00:00Z,w0,regular\n";
// <script> team: 4 answers (withheld); ops: 5 answers, 3 promoters, 1 detractor -> NPS 40.
const SURVEY: &str = "id,survey,submitted_at,team,nps,comment\n\
s1,2026-Q2,2026-05-20,<script>alert(1)</script>,10,secret remark one\n\
s2,2026-Q2,2026-05-20,<script>alert(1)</script>,10,\n\
s3,2026-Q2,2026-05-20,<script>alert(1)</script>,0,\n\
s4,2026-Q2,2026-05-20,<script>alert(1)</script>,9,\n\
o1,2026-Q2,2026-05-21,\"ops & \"\"co\"\"\",10,\n\
o2,2026-Q2,2026-05-21,\"ops & \"\"co\"\"\",9,\n\
o3,2026-Q2,2026-05-21,\"ops & \"\"co\"\"\",9,\n\
o4,2026-Q2,2026-05-21,\"ops & \"\"co\"\"\",8,\n\
o5,2026-Q2,2026-05-21,\"ops & \"\"co\"\"\",3,\n";

#[test]
fn hostile_names_render_as_text_and_small_survey_groups_are_withheld() {
    let ws = Workspace::new();
    for (table, name, body) in
        [("services", "s.csv", SERVICES), ("deployments", "d.csv", DEPLOYMENTS), ("survey_responses", "r.csv", SURVEY)]
    {
        let f = ws.file(name, body);
        let (code, _, stderr) = ws.import(table, &[&f], &[]);
        assert_eq!(code, 0, "{table}: {stderr}");
    }
    let out = ws
        .devex()
        .args(["report", "--out", "site", "--quarters", "2", "--title", "Acme <b>scorecard</b>"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let site = ws.path().join("site");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "site/index.html");

    let card = read_json(&site.join("scorecard.json"));
    assert_eq!(card["quarter"], "2026-Q2");
    let team = |name: &str| card["teams"].as_array().unwrap().iter().find(|t| t["team"] == name).unwrap().clone();
    let hostile = team("<script>alert(1)</script>");
    assert_eq!(
        hostile["current"]["nps"],
        serde_json::json!({"value": null, "n": 4, "promoters": null, "detractors": null, "suppressed": true,
                           "suppressed_reason": "min_group_size"})
    );
    // ops has 5 responses, but shown beside the organisation's 9 it would give the hostile
    // team's 4 away (9 - 5): it is withheld too, and the organisation is shown.
    let ops = team("ops & \"co\"");
    assert_eq!(
        ops["current"]["nps"],
        serde_json::json!({"value": null, "n": 5, "promoters": null, "detractors": null, "suppressed": true,
                           "suppressed_reason": "complementary"})
    );
    // Promoters s1 s2 s4 o1 o2 o3, detractors s3 o5 of 9: 100 * (6 - 2) / 9.
    assert!((card["org"]["nps"]["value"].as_f64().unwrap() - 400.0 / 9.0).abs() < 1e-9, "{}", card["org"]["nps"]);
    // Same numbers as `devex metrics`.
    let by_team = metrics(&ws, &["--quarter", "2026-Q2", "--by", "team"]);
    for g in by_team["groups"].as_array().unwrap() {
        assert_eq!(&team(g["group"]["team"].as_str().unwrap())["current"], g);
    }

    let hostile_page = site.join("teams").join(hostile["page"].as_str().unwrap());
    for page in pages(&site) {
        assert_self_contained(&page);
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(!html.contains("<script") && !html.contains("<b>scorecard"), "{}", page.display());
        assert!(!html.contains("secret remark"), "{}", page.display());
        // No local path (the lake's, the binary's) is published.
        assert!(!html.contains(ws.path().to_str().unwrap()), "{}", page.display());
    }
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(index.contains("ops &amp; &quot;co&quot;"));
    assert!(index.contains("<title>Acme &lt;b&gt;scorecard&lt;/b&gt;</title>"));
    // Both teams' NPS are withheld in their tiles and wave tables, each saying why.
    let page = std::fs::read_to_string(&hostile_page).unwrap();
    assert!(page.contains("withheld <span class=\"why\">(n &lt; 5)</span>"), "{}", hostile_page.display());
    let ops_page = std::fs::read_to_string(site.join("teams").join(ops["page"].as_str().unwrap())).unwrap();
    assert!(ops_page.contains("would reveal a group of fewer than 5"), "ops page says why");
    // Each DORA number of a team page says how to list its rows, with the team quoted for a shell.
    for metric in ["deployments", "lead_time", "change_failure_rate", "recovery_time", "time_to_restore"] {
        let command = format!("explain {metric} --quarter 2026-Q2 --team ");
        assert!(ops_page.contains(&command) && page.contains(&command), "{command}");
    }
    assert!(!ops_page.contains("explain nps"), "survey numbers are never listed");
    assert!(index.contains("<p class=\"value\">44</p>"), "the organisation's NPS is shown");

    // A second run for another quarter replaces the pages, keeping nothing stale.
    std::fs::write(site.join("teams").join("gone.html"), "old").unwrap();
    let again =
        ws.devex().args(["report", "--out", "site", "--quarter", "2026-Q1", "--quarters", "2"]).output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(!site.join("teams").join("gone.html").exists());
    assert_eq!(read_json(&site.join("scorecard.json"))["quarter"], "2026-Q1");

    // In a browser the name is text: no script runs, nothing is logged.
    if let Some(loads) = load_in_chromium(&[site.join("index.html"), hostile_page], "hostile") {
        for (_, _, facts) in loads {
            assert_eq!(facts["scripts"], 0);
        }
    }
}

#[test]
fn report_errors_are_clear() {
    let ws = Workspace::new();
    let out = ws.devex().args(["report"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: no lake at") && stderr.contains("hint:"), "{stderr}");
    let f =
        ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-04T10:00:00Z\n");
    assert_eq!(ws.import("deployments", &[&f], &[]).0, 0);
    let out = ws.devex().args(["report", "--quarter", "2026-Q5"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--quarter `2026-Q5` is not a quarter"));
    let out = ws.devex().args(["report", "--quarters", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A quarter holding a main wave (teams a and b, 6 each) and a 3-person pulse of team a:
/// the pulse is withheld, and so is every number that would give it back by subtraction
/// (the quarter minus the main wave, for the organisation and for team a), on the page and
/// in scorecard.json. Team b, whose one wave is its quarter, is shown.
#[test]
fn the_waves_of_a_quarter_cannot_be_subtracted_from_it() {
    let ws = Workspace::new();
    let mut survey = String::from("id,survey,submitted_at,team,nps\n");
    for (i, nps) in [10, 10, 9, 8, 3, 2].iter().enumerate() {
        survey += &format!("a{i},main,2026-05-10,a,{nps}\n");
    }
    for (i, nps) in [10, 9, 9, 7, 7, 1].iter().enumerate() {
        survey += &format!("b{i},main,2026-05-11,b,{nps}\n");
    }
    for (i, nps) in [10, 10, 0].iter().enumerate() {
        survey += &format!("p{i},pulse,2026-06-20,a,{nps}\n");
    }
    let deployments = "id,service,environment,status,finished_at\nd1,api,production,success,2026-05-02T10:00:00Z\n";
    for (table, name, body) in [
        ("services", "s.csv", "service,team\napi,a\nweb,b\n"),
        ("deployments", "d.csv", deployments),
        ("survey_responses", "r.csv", survey.as_str()),
    ] {
        let f = ws.file(name, body);
        let (code, _, stderr) = ws.import(table, &[&f], &[]);
        assert_eq!(code, 0, "{table}: {stderr}");
    }
    let out = ws.devex().args(["report", "--out", "site", "--quarter", "2026-Q2", "--quarters", "2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let card = read_json(&ws.path().join("site").join("scorecard.json"));
    // The organisation's quarter: promoters 3 + 3 + 2 of 15.
    assert_eq!(card["org"]["nps"]["n"], 15);
    assert_eq!(card["org"]["nps"]["promoters"], 8);
    let waves: Vec<(String, String, Value, Value)> = card["waves"]
        .as_array()
        .unwrap()
        .iter()
        .chain(card["teams"].as_array().unwrap().iter().flat_map(|t| t["waves"].as_array().unwrap()))
        .map(|w| {
            (
                w["grp"].as_str().unwrap().into(),
                w["survey"].as_str().unwrap().into(),
                w["n"].clone(),
                w["promoters"].clone(),
            )
        })
        .collect();
    let shown = |grp: &str, survey: &str| {
        let w =
            waves.iter().find(|w| w.0 == grp && w.1 == survey).unwrap_or_else(|| panic!("{grp} {survey}: {waves:?}"));
        !w.3.is_null()
    };
    // Before: the main wave's 12 were shown, and 15 - 12 gave the pulse's answers.
    assert!(!shown("", "pulse") && !shown("", "main"), "{waves:?}");
    assert!(!shown("a", "pulse") && !shown("a", "main"), "team a's quarter (9) minus its main wave (6): {waves:?}");
    assert!(shown("b", "main"), "team b's one wave is its quarter: {waves:?}");
    let team = |name: &str| card["teams"].as_array().unwrap().iter().find(|t| t["team"] == name).unwrap().clone();
    assert_eq!(team("a")["current"]["nps"]["promoters"], 5);
    assert_eq!(team("b")["current"]["nps"]["promoters"], 3);
    // The page says why the waves are missing.
    let index = std::fs::read_to_string(ws.path().join("site").join("index.html")).unwrap();
    assert!(index.contains("would reveal a group of fewer than 5"), "the index says why");
}
