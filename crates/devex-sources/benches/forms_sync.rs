//! Benchmark: read a form of 50,000 responses from a Typeform and from a Google
//! Forms that answer every request in 50 ms (`devex-formsmock` with a delay),
//! then an incremental run after 500 more arrive. Typeform is paced to its 2
//! requests a second. Not a timed test: it prints wall times and request counts.
//!
//!   cargo bench -p devex-sources --bench forms_sync
//!   DEVEX_BENCH_RESPONSES=5000 cargo bench -p devex-sources --bench forms_sync

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use devex_formsmock::{GForm, GResponse, GoogleForms, TfForm, TfResponse, Typeform, service_account_key};
use devex_model::config::{FormRef, GoogleFormsSource, TypeformSource};
use devex_sources::surveys::{google_forms, typeform};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn at(start: DateTime<Utc>, i: usize) -> String {
    (start + chrono::Duration::seconds(i as i64 * 60)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn main() {
    let n = env("DEVEX_BENCH_RESPONSES", 50_000);
    let more = env("DEVEX_BENCH_NEW_RESPONSES", 500);
    let delay = Duration::from_millis(env("DEVEX_BENCH_DELAY_MS", 50) as u64);
    let start = Utc::now() - chrono::Duration::days(60);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let teams = ["payments", "search", "platform", "data"];
        let form = FormRef { id: "pulse".into(), survey: None };
        let likert = BTreeMap::from([("deploy_easy".to_string(), 5u32)]);
        println!("forms sync: a form of {n} responses, then {more} new ones, {} ms per request", delay.as_millis());

        // Typeform.
        let server = wiremock::MockServer::start().await;
        let tf = Typeform::new("tfp_bench").with_delay(delay);
        tf.add_form(TfForm::new("pulse").hidden_field("team").nps("nps").scale("deploy_easy", 5));
        for i in 0..n {
            tf.add_response(
                "pulse",
                TfResponse::new(&format!("r{i}"), &at(start, i))
                    .hidden("team", teams[i % 4])
                    .number("nps", (i % 11) as i64)
                    .number("deploy_easy", (i % 5 + 1) as i64)
                    .text("comment", "more CI runners"),
            );
        }
        tf.mount(&server).await;
        let cfg = TypeformSource { base_url: server.uri(), nps_field: Some("nps".into()), ..Default::default() };
        let client = typeform::client(&cfg, "tfp_bench".into(), devex_ingest::progress::silent()).unwrap();
        let t = Instant::now();
        let read = typeform::read_form(&client, &cfg, &likert, &form, start - chrono::Duration::days(1)).await.unwrap();
        let (first, first_requests) = (t.elapsed(), client.requests());
        assert_eq!(read.responses.len(), n);
        let watermark = read.responses.iter().map(|r| r.submitted_at).max().unwrap();
        for i in n..n + more {
            tf.add_response(
                "pulse",
                TfResponse::new(&format!("r{i}"), &at(start, i)).hidden("team", "data").number("nps", 9),
            );
        }
        let client = typeform::client(&cfg, "tfp_bench".into(), devex_ingest::progress::silent()).unwrap();
        let t = Instant::now();
        let since = watermark - chrono::Duration::minutes(i64::from(cfg.overlap_minutes));
        let again = typeform::read_form(&client, &cfg, &likert, &form, since).await.unwrap();
        println!(
            "  typeform: first run {} responses in {:.1} s, {first_requests} requests (paced to {} a second); \
             incremental {} responses in {:.1} s, {} requests",
            read.responses.len(),
            first.as_secs_f64(),
            cfg.requests_per_second,
            again.responses.len(),
            t.elapsed().as_secs_f64(),
            client.requests()
        );

        // Google Forms, with a service-account grant.
        let server = wiremock::MockServer::start().await;
        let g = GoogleForms::new(5000).with_delay(delay);
        g.add_form(
            GForm::new("pulse")
                .question("t1", "Which team are you on?", "choiceQuestion")
                .scale("n1", "How likely are you to recommend the platform?", 0, 10)
                .scale("d1", "Deploying my service is easy", 1, 5),
        );
        for i in 0..n {
            g.add_response(
                "pulse",
                GResponse::new(&format!("g{i}"), &at(start, i))
                    .answer("t1", &[teams[i % 4]])
                    .answer("n1", &[&(i % 11).to_string()])
                    .answer("d1", &[&(i % 5 + 1).to_string()]),
            );
        }
        g.mount(&server).await;
        let key = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(key.path(), service_account_key(&GoogleForms::token_uri(&server))).unwrap();
        // SAFETY: set before any thread of this process reads the environment for it.
        unsafe { std::env::set_var("DEVEX_BENCH_GOOGLE_KEY", key.path()) };
        let cfg = GoogleFormsSource {
            base_url: server.uri(),
            credentials_env: "DEVEX_BENCH_GOOGLE_KEY".into(),
            team_question: Some("Which team are you on?".into()),
            nps_question: Some("n1".into()),
            questions: BTreeMap::from([("Deploying my service is easy".into(), "deploy_easy".into())]),
            ..Default::default()
        };
        let session = google_forms::Session::new(&cfg, devex_ingest::progress::silent()).unwrap();
        let t = Instant::now();
        let read =
            google_forms::read_form(&session, &cfg, &likert, &form, start - chrono::Duration::days(1)).await.unwrap();
        let (first, first_requests) = (t.elapsed(), session.requests());
        assert_eq!(read.responses.len(), n);
        let watermark = read.responses.iter().map(|r| r.submitted_at).max().unwrap();
        for i in n..n + more {
            g.add_response("pulse", GResponse::new(&format!("g{i}"), &at(start, i)).answer("t1", &["data"]));
        }
        let session = google_forms::Session::new(&cfg, devex_ingest::progress::silent()).unwrap();
        let t = Instant::now();
        let since = watermark - chrono::Duration::minutes(i64::from(cfg.overlap_minutes));
        let again = google_forms::read_form(&session, &cfg, &likert, &form, since).await.unwrap();
        println!(
            "  google forms: first run {} responses in {:.1} s, {first_requests} requests (a grant included); \
             incremental {} responses in {:.1} s, {} requests; {} grants",
            read.responses.len(),
            first.as_secs_f64(),
            again.responses.len(),
            t.elapsed().as_secs_f64(),
            session.requests(),
            g.grants()
        );
    });
}
