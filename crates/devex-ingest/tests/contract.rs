//! The contract, in-process: each table's counts (`read = written +
//! replaced + quarantined`), what lands and what the quarantine names
//! (file, line, column, value), and the Likert scales of survey questions.
//! Imports into a real Delta lake in a temp dir, read back with DataFusion.

use std::time::Duration;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use devex_ingest::context::RunContext;
use devex_ingest::import::{ImportOutcome, ImportRequest, import};
use devex_ingest::input::InputSource;
use devex_lake::lock::WriterLock;
use devex_lake::writer::Lake;
use devex_model::Table;

/// One hand-written file per table: two good rows, a duplicate of the first
/// identity (the later copy wins) and one bad row.
struct Case {
    table: &'static str,
    file: &'static str,
    content: &'static str,
    /// (read, written, replaced, quarantined)
    want: (u64, u64, u64, u64),
    /// The bad row: (line, column, value).
    bad: (&'static str, &'static str, &'static str),
    /// A read-back query and its rows.
    check: &'static str,
    check_rows: &'static [&'static [&'static str]],
}

const CASES: &[Case] = &[
    Case {
        table: "deployments",
        file: "deployments.csv",
        content: "id,service,environment,status,finished_at,commit_sha,kind\n\
                  d1,api,production,success,2026-03-02T10:00:00Z,aaa,regular\n\
                  d2,api,Production,FAILURE,2026-03-03T10:00:00+01:00,,\n\
                  d1,api,production,success,2026-03-02T11:00:00Z,aaa,rollback\n\
                  d3,api,production,broken,2026-03-04T10:00:00Z,bbb,regular\n",
        want: (4, 2, 1, 1),
        bad: ("5", "status", "broken"),
        check: "SELECT id, environment, status, finished_at, kind, month FROM deployments ORDER BY id",
        check_rows: &[
            &["d1", "production", "success", "2026-03-02T11:00:00Z", "rollback", "2026-03"],
            &["d2", "Production", "failure", "2026-03-03T09:00:00Z", "regular", "2026-03"],
        ],
    },
    Case {
        table: "changes",
        file: "changes.ndjson",
        content: "{\"repo\":\"r\",\"sha\":\"s1\",\"service\":\"api\",\"committed_at\":\"2026-03-01T09:00:00Z\",\"deployment_id\":\"d1\",\"pr_number\":12}\n\
                  {\"repo\":\"r\",\"sha\":\"s2\",\"service\":\"api\",\"committed_at\":\"2026-03-01T10:00:00Z\"}\n\
                  \n\
                  {\"repo\":\"r\",\"sha\":\"s1\",\"service\":\"api\",\"committed_at\":\"2026-03-01T09:30:00Z\",\"deployment_id\":\"d1\",\"pr_number\":12}\n\
                  {\"repo\":\"r\",\"sha\":\"s3\",\"service\":\"api\",\"committed_at\":\"2026-03-01T10:00:00Z\",\"pr_number\":\"twelve\"}\n",
        want: (4, 2, 1, 1),
        bad: ("5", "pr_number", "twelve"),
        check: "SELECT sha, committed_at, deployment_id, pr_number FROM changes ORDER BY sha",
        check_rows: &[&["s1", "2026-03-01T09:30:00Z", "d1", "12"], &["s2", "2026-03-01T10:00:00Z", "", ""]],
    },
    Case {
        table: "incidents",
        file: "incidents.json",
        content: "[\n\
                  {\"id\":\"i1\",\"service\":\"api\",\"created_at\":\"2026-03-02T12:00:00Z\",\"resolved_at\":\"2026-03-02T14:00:00Z\",\"severity\":\"sev2\"},\n\
                  {\"id\":\"i2\",\"service\":\"api\",\"created_at\":\"2026-03-05T12:00:00Z\"},\n\
                  {\"id\":\"i1\",\"service\":\"api\",\"created_at\":\"2026-03-02T12:00:00Z\",\"resolved_at\":\"2026-03-02T15:00:00Z\",\"severity\":\"sev1\"},\n\
                  {\"id\":\"i3\",\"created_at\":\"2026-03-06T12:00:00Z\"}\n\
                  ]\n",
        want: (4, 2, 1, 1),
        bad: ("5", "service", ""),
        check: "SELECT id, resolved_at, severity FROM incidents ORDER BY id",
        check_rows: &[&["i1", "2026-03-02T15:00:00Z", "sev1"], &["i2", "", ""]],
    },
    Case {
        table: "survey_answers",
        file: "answers.csv",
        content: "response_id,survey,question,score,text,submitted_at\n\
                  r9,2026-Q1,q_focus,4,,2026-03-20T10:00:00Z\n\
                  r9,2026-Q1,q_focus,5,,2026-03-20T10:00:00Z\n\
                  r9,2026-Q1,q_note,,\"hello, world\",2026-03-20T10:00:00Z\n\
                  r9,2026-Q1,,3,,2026-03-20T10:00:00Z\n",
        want: (4, 2, 1, 1),
        bad: ("5", "question", ""),
        check: "SELECT question, score, text FROM survey_answers ORDER BY question",
        check_rows: &[&["q_focus", "5", ""], &["q_note", "", "hello, world"]],
    },
    Case {
        table: "adoption_events",
        file: "adoption.jsonl",
        content: "{\"id\":\"a1\",\"team\":\"payments\",\"service\":\"api\",\"capability\":\"golden-path\",\"event\":\"onboarded\",\"at\":\"2026-01-10\"}\n\
                  {\"id\":\"a2\",\"team\":\"payments\",\"capability\":\"golden-path\",\"event\":\"used\",\"at\":\"2026-02-10T00:00:00Z\"}\n\
                  {\"id\":\"a2\",\"team\":\"payments\",\"capability\":\"golden-path\",\"event\":\"used\",\"at\":\"2026-02-11T00:00:00Z\"}\n\
                  {\"id\":\"a3\",\"team\":\"payments\",\"capability\":\"golden-path\",\"event\":\"adopted\",\"at\":\"2026-02-12\"}\n",
        want: (4, 2, 1, 1),
        bad: ("4", "event", "adopted"),
        check: "SELECT id, at, month FROM adoption_events ORDER BY id",
        check_rows: &[&["a1", "2026-01-10T00:00:00Z", "2026-01"], &["a2", "2026-02-11T00:00:00Z", "2026-02"]],
    },
    Case {
        table: "services",
        file: "services.csv",
        content: "service,team,onboarded_at,tier\n\
                  api,payments,2026-01-10,tier-1\n\
                  web,checkout,,tier-2\n\
                  api,payments-core,2026-01-10,tier-1\n\
                  ,checkout,,\n",
        want: (4, 2, 1, 1),
        bad: ("5", "service", ""),
        check: "SELECT service, team, onboarded_at FROM services ORDER BY service",
        check_rows: &[&["api", "payments-core", "2026-01-10T00:00:00Z"], &["web", "checkout", ""]],
    },
];

struct Dir {
    dir: tempfile::TempDir,
    lake: Lake,
}

impl Dir {
    fn new() -> Dir {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path().join("lake"));
        Dir { dir, lake }
    }

    async fn import(&self, table: &str, file: &str, content: &str, run: RunContext) -> (String, ImportOutcome) {
        let path = self.dir.path().join(file);
        std::fs::write(&path, content).unwrap();
        let lock = WriterLock::acquire(self.lake.location(), Duration::ZERO, |_| {}).unwrap();
        let table = Table::ALL.into_iter().find(|t| t.name() == table).unwrap();
        let req = ImportRequest { table, inputs: vec![InputSource::Path(path.clone())], run };
        (path.display().to_string(), import(&self.lake, &lock, &req).await.unwrap())
    }

    /// Rows of `sql` over every table, as text: timestamps in RFC 3339 UTC, NULL as "".
    async fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let ctx = SessionContext::new();
        for table in Table::ALL {
            if let Some(t) = self.lake.open(table).await.unwrap() {
                t.update_datafusion_session(&ctx.state()).unwrap();
                ctx.register_table(table.name(), t.table_provider().await.unwrap()).unwrap();
            }
        }
        let options = FormatOptions::new().with_null("").with_timestamp_tz_format(Some("%Y-%m-%dT%H:%M:%SZ"));
        let mut out = Vec::new();
        for batch in ctx.sql(sql).await.unwrap().collect().await.unwrap() {
            let columns: Vec<ArrayFormatter> =
                batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
            for row in 0..batch.num_rows() {
                out.push(columns.iter().map(|c| c.value(row).to_string()).collect());
            }
        }
        out
    }
}

fn run() -> RunContext {
    RunContext::new("r1", "file", chrono_tz::UTC)
}

fn rows(v: &[&[&str]]) -> Vec<Vec<String>> {
    v.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
}

fn counts(outcome: &ImportOutcome, i: usize) -> (u64, u64, u64, u64) {
    let t = &outcome.tables[i];
    (t.read as u64, t.written as u64, t.replaced as u64, t.quarantined as u64)
}

#[tokio::test]
async fn each_table_counts_good_duplicate_and_bad_rows_exactly() {
    for case in CASES {
        let dir = Dir::new();
        let (file, outcome) = dir.import(case.table, case.file, case.content, run()).await;
        assert_eq!(outcome.tables.len(), 1, "{}", case.table);
        assert_eq!(outcome.tables[0].table, case.table);
        assert_eq!(counts(&outcome, 0), case.want, "{}: {:?}", case.table, outcome.tables[0]);
        let table = Table::ALL.into_iter().find(|t| t.name() == case.table).unwrap();
        assert_eq!(outcome.tables[0].version, dir.lake.version(table).await.unwrap(), "{}", case.table);
        assert_eq!(dir.query(case.check).await, rows(case.check_rows), "{}", case.table);
        let q =
            dir.query("SELECT \"table\", file, CAST(line AS VARCHAR), \"column\", value, record FROM quarantine").await;
        assert_eq!(q.len(), 1, "{}: {q:?}", case.table);
        let (line, column, value) = case.bad;
        assert_eq!(q[0][0], case.table);
        assert_eq!(q[0][1], file);
        assert_eq!((q[0][2].as_str(), q[0][3].as_str(), q[0][4].as_str()), (line, column, value), "{}", case.table);
        let record: serde_json::Value = serde_json::from_str(&q[0][5]).expect("record is JSON");
        assert!(record.is_object() && !record.as_object().unwrap().is_empty(), "{}", case.table);
    }
}

#[tokio::test]
async fn reimporting_the_same_files_changes_no_row() {
    let dir = Dir::new();
    let mut dumps = Vec::new();
    for pass in 0..2 {
        for case in CASES {
            let (_, outcome) = dir.import(case.table, case.file, case.content, run()).await;
            let (read, written, replaced, quarantined) = counts(&outcome, 0);
            assert_eq!(read, written + replaced + quarantined);
            if pass == 1 {
                assert_eq!(written, 0, "{}: second pass writes nothing new", case.table);
                assert_eq!(replaced, case.want.1 + case.want.2, "{}", case.table);
            }
        }
        let mut dump = Vec::new();
        for c in CASES {
            dump.push(dir.query(&format!("SELECT * FROM {} ORDER BY 1, 2, 3", c.table)).await);
        }
        dump.push(dir.query("SELECT id, \"table\", line, reason FROM quarantine ORDER BY 1").await);
        dumps.push(dump);
    }
    assert_eq!(dumps[0], dumps[1], "every table, ingested_at included, is unchanged");
    assert_eq!(dumps[1].last().unwrap().len(), CASES.len(), "quarantine rows are replaced, not repeated");
}

#[tokio::test]
async fn likert_answers_off_their_scale_are_quarantined_and_the_rest_land() {
    let config = devex_model::Config::from_toml_str(
        "[survey]\nmin_group_size = 3\n[survey.questions]\nq_ci = { dimension = \"feedback_loops\", scale_max = 5 }\n",
    )
    .unwrap();
    let survey = &config.survey;
    let dir = Dir::new();
    // Five responses: q_ci 5, 3, 99 (off the scale), "agree" (not a score), 1. A free comment.
    let (_, outcome) = dir
        .import(
            "survey_responses",
            "wave.csv",
            "id,survey,submitted_at,team,nps,q_ci,comment\n\
             r1,2026-Q1,2026-02-10,a,9,5,fine\n\
             r2,2026-Q1,2026-02-10,a,9,3,\n\
             r3,2026-Q1,2026-02-10,a,9,99,\n\
             r4,2026-Q1,2026-02-10,a,9,agree,\n\
             r5,2026-Q1,2026-02-10,a,9,1,\n",
            run().with_likert(survey),
        )
        .await;
    // Every response lands; of the 6 answers (5 q_ci, 1 comment), 2 are quarantined.
    assert_eq!(counts(&outcome, 0), (5, 5, 0, 0));
    assert_eq!(counts(&outcome, 1), (6, 4, 0, 2));
    assert_eq!(
        dir.query("SELECT \"table\", line, \"column\", value FROM quarantine ORDER BY line").await,
        rows(&[&["survey_answers", "4", "q_ci", "99"], &["survey_answers", "5", "q_ci", "agree"]])
    );
    assert_eq!(
        dir.query("SELECT response_id, score FROM survey_answers WHERE question = 'q_ci' ORDER BY response_id").await,
        rows(&[&["r1", "5"], &["r2", "3"], &["r5", "1"]])
    );
    // survey_answers imported directly obey the same scale.
    let (_, outcome) = dir
        .import(
            "survey_answers",
            "answers.csv",
            "response_id,survey,question,score,submitted_at\nr1,2026-Q1,q_ci,0,2026-02-10\nr2,2026-Q1,q_ci,4,2026-02-10\n",
            run().with_likert(survey),
        )
        .await;
    assert_eq!(counts(&outcome, 0), (2, 0, 1, 1));
    // A question with no scale takes any integer.
    let (_, outcome) = dir
        .import(
            "survey_answers",
            "other.csv",
            "response_id,survey,question,score,submitted_at\nr1,2026-Q1,q_other,99,2026-02-10\n",
            run().with_likert(survey),
        )
        .await;
    assert_eq!(counts(&outcome, 0), (1, 1, 0, 0));
}
