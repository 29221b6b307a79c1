//! `devex ingest` from Typeform and Google Forms: the binary against local
//! APIs (`devex-formsmock` on wiremock) speaking each tool's shapes, then the
//! lake's rows, the quarantine, `devex status`, and `devex metrics --by team`
//! with the anonymity rules, against numbers worked out by hand.

use std::time::Duration;

use devex_formsmock::{GForm, GResponse, GoogleForms, KEY_PEM, TfForm, TfResponse, Typeform, service_account_key};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{Workspace, assert_secret_absent, mock_server, rows};

const TF_TOKEN: &str = "tfp_E2eSurveySecret0123456789";

/// Typeform form `pulse` (the team in a hidden field) and form `pulse-b` (the
/// team asked as a question), with what each response pins:
/// - payments p1..p5, March 2026: NPS 10, 9, 9, 7, 2 (3 promoters, 1 detractor: NPS 40);
///   deploy_easy 4, 5, 3, 4 and, from p5, 7, off the 1..5 scale: quarantined.
///   p1 also answers `tools` (choices) and `comment` (text).
/// - search s1: one respondent, withheld.
/// - x1: a partial response, never submitted: never lands.
/// - platform b1, b2 in `pulse-b`: the team is the answer to the `team` question.
fn typeform() -> Typeform {
    let tf = Typeform::new(TF_TOKEN).with_min_gap(Duration::from_millis(25));
    tf.add_form(
        TfForm::new("pulse")
            .hidden_field("team")
            .nps("nps")
            .scale("deploy_easy", 5)
            .field("tools", "multiple_choice")
            .field("comment", "long_text"),
    );
    let nps = [10, 9, 9, 7, 2];
    let easy = [4, 5, 3, 4, 7];
    for i in 0..5 {
        let mut r = TfResponse::new(&format!("p{}", i + 1), &format!("2026-03-0{}T10:00:00Z", i + 2))
            .hidden("team", "payments")
            .number("nps", nps[i])
            .number("deploy_easy", easy[i]);
        if i == 0 {
            r = r.choices("tools", &["CI", "Feature flags"]).text("comment", "builds are slow");
        }
        tf.add_response("pulse", r);
    }
    tf.add_response("pulse", TfResponse::new("s1", "2026-03-10T10:00:00Z").hidden("team", "search").number("nps", 10));
    tf.add_response(
        "pulse",
        TfResponse::partial("x1", "2026-03-11T10:00:00Z").hidden("team", "payments").number("nps", 0),
    );
    tf.add_form(TfForm::new("pulse-b").field("team", "dropdown").nps("nps"));
    for (id, day, n) in [("b1", "03", 8), ("b2", "04", 9)] {
        tf.add_response(
            "pulse-b",
            TfResponse::new(id, &format!("2026-03-{day}T09:00:00Z")).choice("team", "platform").number("nps", n),
        );
    }
    tf
}

/// Google form `gf1`: team `data`, 4 respondents, NPS 9, 10, 6, 10 (3 promoters,
/// 1 detractor: NPS 50); "Deploying my service is easy" (a 1..5 scale, named
/// `deploy_easy` by the config) 5, 4, 4, 3. Form `gf-private` is not shared.
fn google() -> GoogleForms {
    let g = GoogleForms::new(2);
    g.add_form(
        GForm::new("gf1")
            .question("t1", "Which team are you on?", "choiceQuestion")
            .scale("n1", "How likely are you to recommend the platform to a colleague?", 0, 10)
            .scale("d1", "Deploying my service is easy", 1, 5)
            .question("c1", "What slows you down?", "textQuestion"),
    );
    for (i, (n, d)) in [(9, 5), (10, 4), (6, 4), (10, 3)].into_iter().enumerate() {
        g.add_response(
            "gf1",
            GResponse::new(&format!("g{}", i + 1), &format!("2026-03-1{i}T08:00:00.5Z"))
                .answer("t1", &["data"])
                .answer("n1", &[&n.to_string()])
                .answer("d1", &[&d.to_string()]),
        );
    }
    g.add_form(GForm::new("gf-private").question("t1", "Which team are you on?", "choiceQuestion").not_shared());
    g
}

fn config(tf: &str, google: &str) -> String {
    format!(
        "[survey]\nmin_group_size = 3\n\n[survey.questions]\ndeploy_easy = {{ dimension = \"feedback_loops\", scale_max = 5 }}\n\n\
         [sources.pulse]\ntype = \"typeform\"\nbase_url = \"{tf}\"\nforms = [{{ id = \"pulse\" }}]\n\
         nps_field = \"nps\"\npage_size = 2\nrequests_per_second = 20\nretry_base_ms = 1\n\n\
         [sources.pulse-b]\ntype = \"typeform\"\nbase_url = \"{tf}\"\nforms = [{{ id = \"pulse-b\" }}]\n\
         nps_field = \"nps\"\nrequests_per_second = 20\n\n\
         [sources.google]\ntype = \"google_forms\"\nbase_url = \"{google}\"\n\
         forms = [{{ id = \"gf1\" }}, {{ id = \"gf-private\" }}]\nteam_question = \"Which team are you on?\"\n\
         nps_question = \"n1\"\nquestions = {{ \"Deploying my service is easy\" = \"deploy_easy\" }}\nretry_base_ms = 1\n"
    )
}

fn metrics_by_team(ws: &Workspace) -> Vec<Value> {
    let out = ws
        .devex()
        .args(["--config", "devex.toml", "metrics", "--from", "2026-03-01", "--to", "2026-04-01", "--by", "team"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["groups"].as_array().unwrap().clone()
}

fn nps_of(groups: &[Value], team: &str) -> Value {
    groups.iter().find(|g| g["group"]["team"] == team).unwrap_or_else(|| panic!("no team {team}"))["nps"].clone()
}

#[test]
fn surveys_pulled_from_typeform_and_google_forms_land_and_score_per_team() {
    let tf = typeform();
    let g = google();
    let (rt, tf_server) = mock_server();
    rt.block_on(tf.mount(&tf_server));
    // The first page of `pulse` meets a 429 (no wait named) and then a 503 before it answers.
    rt.block_on(async {
        Mock::given(method("GET"))
            .and(path("/forms/pulse/responses"))
            .respond_with(ResponseTemplate::new(429))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&tf_server)
            .await;
        Mock::given(method("GET"))
            .and(path("/forms/pulse/responses"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .with_priority(2)
            .mount(&tf_server)
            .await;
    });
    let g_server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(g.mount(&g_server));
    let ws = Workspace::new();
    ws.file("devex.toml", &config(&tf_server.uri(), &g_server.uri()));
    let key = ws.file("keys/forms-reader.json", &service_account_key(&GoogleForms::token_uri(&g_server)));
    let devex = |args: &[&str]| {
        ws.devex()
            .env("TYPEFORM_TOKEN", TF_TOKEN)
            .env("GOOGLE_APPLICATION_CREDENTIALS", &key)
            .args(["--config", "devex.toml"])
            .args(args)
            .output()
            .unwrap()
    };

    let first = devex(&["ingest"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    // gf-private failed (not shared) and p5's answer is in the quarantine: exit 3.
    assert_eq!(first.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("form gf-private") && stderr.contains("HTTP 403"), "{stderr}");
    assert!(stderr.contains("share the form with the service account"), "{stderr}");
    assert!(stderr.contains("rate limit (HTTP 429)") && stderr.contains("HTTP 503"), "{stderr}");

    assert_eq!(
        ws.query("SELECT id, survey, team, CAST(nps AS VARCHAR), source FROM survey_responses ORDER BY id"),
        rows(&[
            &["b1", "2026-Q1", "platform", "8", "typeform"],
            &["b2", "2026-Q1", "platform", "9", "typeform"],
            &["g1", "2026-Q1", "data", "9", "google_forms"],
            &["g2", "2026-Q1", "data", "10", "google_forms"],
            &["g3", "2026-Q1", "data", "6", "google_forms"],
            &["g4", "2026-Q1", "data", "10", "google_forms"],
            &["p1", "2026-Q1", "payments", "10", "typeform"],
            &["p2", "2026-Q1", "payments", "9", "typeform"],
            &["p3", "2026-Q1", "payments", "9", "typeform"],
            &["p4", "2026-Q1", "payments", "7", "typeform"],
            &["p5", "2026-Q1", "payments", "2", "typeform"],
            &["s1", "2026-Q1", "search", "10", "typeform"],
        ])
    );
    assert_eq!(
        ws.query(
            "SELECT response_id, question, CAST(score AS VARCHAR), text FROM survey_answers \
             WHERE response_id IN ('p1', 'g1', 'g4') ORDER BY response_id, question"
        ),
        rows(&[
            &["g1", "deploy_easy", "5", ""],
            &["g4", "deploy_easy", "3", ""],
            &["p1", "comment", "", "builds are slow"],
            &["p1", "deploy_easy", "4", ""],
            &["p1", "tools", "", "CI; Feature flags"],
        ])
    );
    // p5's deploy_easy = 7 is off the 1..5 scale: quarantined, not landed.
    assert_eq!(ws.query("SELECT count(*) FROM survey_answers WHERE response_id = 'p5'"), rows(&[&["0"]]));
    let quarantined = ws.query("SELECT count(*) FROM quarantine WHERE \"table\" = 'survey_answers'");
    assert_eq!(quarantined, rows(&[&["1"]]));

    // Typeform: newest first in pages of 2, from `since`, never asking for partial responses,
    // paced (at 20 a second, 50 ms apart; the mock refuses requests less than 25 ms apart,
    // which leaves a loaded machine's scheduling room: none was).
    let sent = tf.requests();
    let pulse: Vec<&String> = sent.iter().filter(|r| r.starts_with("GET /forms/pulse/responses")).collect();
    assert_eq!(pulse.len(), 4, "6 submitted responses in pages of 2, and an empty last page: {sent:?}");
    assert!(pulse.iter().all(|r| r.contains("page_size=2") && r.contains("since=")), "{pulse:?}");
    assert!(pulse[1].contains("before=p5") && pulse[2].contains("before=p3"), "{pulse:?}");
    assert!(sent.iter().all(|r| !r.contains("response_type")), "{sent:?}");
    assert_eq!(tf.too_soon(), 0);
    // Google: one grant verified with the key's public half, reused for every request.
    assert_eq!(g.grants(), 1);
    let gsent = g.requests();
    let gpages: Vec<&String> = gsent.iter().filter(|r| r.starts_with("GET /v1/forms/gf1/responses")).collect();
    assert_eq!(gpages.len(), 2, "{gsent:?}");
    assert!(gpages[1].contains("pageToken=") && gpages[1].contains("filter=timestamp"), "{gpages:?}");

    // By team: payments 5 respondents (NPS 40) and data 4 (NPS 50) are shown; search (1) and
    // platform (2) are withheld, together 3 = min_group_size, so nothing more is.
    let groups = metrics_by_team(&ws);
    let payments = nps_of(&groups, "payments");
    assert_eq!((payments["value"].as_f64(), payments["n"].as_i64()), (Some(40.0), Some(5)), "{payments}");
    assert_eq!((payments["promoters"].as_i64(), payments["detractors"].as_i64()), (Some(3), Some(1)));
    let data = nps_of(&groups, "data");
    assert_eq!((data["value"].as_f64(), data["n"].as_i64()), (Some(50.0), Some(4)), "{data}");
    for (team, n) in [("search", 1), ("platform", 2)] {
        let nps = nps_of(&groups, team);
        assert_eq!((nps["value"].clone(), nps["n"].as_i64()), (Value::Null, Some(n)), "{nps}");
        assert_eq!(nps["suppressed_reason"], "min_group_size", "{nps}");
    }
    // DevEx feedback loops, rescaled 100 * (answer - 1) / 4: payments 75, 100, 50, 75 -> 75;
    // data 100, 75, 75, 50 -> 75. search and platform answered no scale question.
    let out = devex(&[
        "sql",
        "SELECT grp, dimension, n, value, suppressed FROM devex_scores ORDER BY grp",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--by",
        "team",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "grp,dimension,n,value,suppressed\ndata,feedback_loops,4,75.0,false\npayments,feedback_loops,4,75.0,false\n"
    );

    // New responses arrive; the next run reads each form from its watermark minus an hour.
    tf.add_response(
        "pulse",
        TfResponse::new("p6", "2026-03-20T10:00:00Z").hidden("team", "payments").number("nps", 10),
    );
    g.add_response("gf1", GResponse::new("g5", "2026-03-25T08:00:00Z").answer("t1", &["data"]).answer("n1", &["9"]));
    let before = (tf.requests().len(), g.requests().len());
    let second = devex(&["ingest"]);
    assert_eq!(second.status.code(), Some(3), "gf-private still fails: {}", String::from_utf8_lossy(&second.stderr));
    let sent = tf.requests()[before.0..].to_vec();
    let pulse: Vec<&String> = sent.iter().filter(|r| r.starts_with("GET /forms/pulse/responses")).collect();
    // pulse's watermark was s1's 2026-03-10T10:00Z.
    assert!(pulse.iter().all(|r| r.contains("since=2026-03-10T09%3A00%3A00Z")), "{pulse:?}");
    let gsent = g.requests()[before.1..].to_vec();
    // gf1's watermark was g4's 2026-03-13T08:00:00.5Z.
    assert!(
        gsent.iter().any(|r| r.starts_with("GET /v1/forms/gf1/responses") && r.contains("2026-03-13T07%3A00%3A00")),
        "{gsent:?}"
    );
    assert_eq!(ws.query("SELECT count(*), count(DISTINCT id) FROM survey_responses"), rows(&[&["14", "14"]]));
    assert_eq!(g.grants(), 2, "a new run, a new grant");

    // --since reads from a date whatever the watermark; --full from initial_days back. Rows
    // read again replace themselves.
    let before = tf.requests().len();
    let since = devex(&["ingest", "--source", "pulse", "--since", "2026-03-05"]);
    // p4, p5, s1 and p6: p5's off-scale answer goes to the quarantine again.
    assert_eq!(since.status.code(), Some(3), "{}", String::from_utf8_lossy(&since.stderr));
    let sent = tf.requests()[before..].to_vec();
    assert!(
        sent.iter().filter(|r| r.contains("/responses")).all(|r| r.contains("since=2026-03-05T00%3A00%3A00Z")),
        "{sent:?}"
    );
    let before = tf.requests().len();
    let full = devex(&["ingest", "--source", "pulse", "--full"]);
    assert_eq!(full.status.code(), Some(3), "{}", String::from_utf8_lossy(&full.stderr));
    let sent = tf.requests()[before..].to_vec();
    assert!(sent.iter().filter(|r| r.contains("/responses")).all(|r| r.contains("since=2025-")), "{sent:?}");
    assert_eq!(ws.query("SELECT count(*), count(DISTINCT id) FROM survey_responses"), rows(&[&["14", "14"]]));

    // status names each form's watermark; no secret is in any output or state file.
    let status = devex(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("form pulse") && text.contains("2026-03-20"), "{text}");
    assert!(text.contains("form gf1") && text.contains("2026-03-25"), "{text}");
    let marks = &text[text.find("Watermarks").expect("a Watermarks section")..];
    let marks = &marks[..marks.find("\n\n").unwrap_or(marks.len())];
    assert!(!marks.contains("form gf-private"), "a form that never read has no watermark: {marks}");
    let key_line = KEY_PEM.lines().nth(5).unwrap();
    for secret in [TF_TOKEN, key_line, "ya29.mock-access-token-1"] {
        assert_secret_absent(secret, &[&first, &second, &since, &full, &status], &ws.data());
    }
}

#[test]
fn refused_survey_tokens_fail_at_once_with_a_hint_and_land_nothing() {
    let tf = typeform();
    let g = google();
    g.accept_token("ya29.good-token");
    let (rt, server) = mock_server();
    rt.block_on(tf.mount(&server));
    let g_server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(g.mount(&g_server));
    let ws = Workspace::new();
    ws.file(
        "devex.toml",
        &format!(
            "[sources.pulse]\ntype = \"typeform\"\nbase_url = \"{}\"\nforms = [{{ id = \"pulse\" }}]\nrequests_per_second = 50\n\n\
             [sources.google]\ntype = \"google_forms\"\nbase_url = \"{}\"\ntoken_env = \"GOOGLE_FORMS_TOKEN\"\n\
             forms = [{{ id = \"gf1\" }}]\n",
            server.uri(),
            g_server.uri()
        ),
    );
    let out = ws
        .devex()
        .env("TYPEFORM_TOKEN", "tfp_revoked_0123456789")
        .env("GOOGLE_FORMS_TOKEN", "ya29.expired-token")
        .args(["--config", "devex.toml", "ingest"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("HTTP 401") && stderr.contains("personal access token"), "{stderr}");
    assert!(stderr.contains("expires after an hour"), "{stderr}");
    assert!(!stderr.contains("tfp_revoked_0123456789") && !stderr.contains("ya29.expired-token"), "{stderr}");
    // One request per form: a 401 is not retried.
    assert_eq!(tf.requests().len(), 1, "{:?}", tf.requests());
    assert!(!ws.data().join("survey_responses").exists(), "nothing landed");
    assert!(!ws.data().join("_state/typeform/pulse.json").exists(), "the state did not move");

    // With the ready token Google accepts, that source lands on its own.
    let out = ws
        .devex()
        .env("TYPEFORM_TOKEN", "tfp_revoked_0123456789")
        .env("GOOGLE_FORMS_TOKEN", "ya29.good-token")
        .args(["--config", "devex.toml", "ingest"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ws.query("SELECT count(*) FROM survey_responses WHERE source = 'google_forms'"), rows(&[&["4"]]));
    assert_eq!(g.grants(), 0, "a ready token needs no grant");

    // Without the variables: errors naming them.
    let out = ws
        .devex()
        .env_remove("TYPEFORM_TOKEN")
        .env_remove("GOOGLE_FORMS_TOKEN")
        .args(["--config", "devex.toml", "ingest"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("$TYPEFORM_TOKEN is not set") && stderr.contains("$GOOGLE_FORMS_TOKEN is not set"),
        "{stderr}"
    );
}
