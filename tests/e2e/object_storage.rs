//! `--data` with a URL: never a local path.

use std::process::{Command, Output};

use crate::util::Workspace;

/// `devex --data DATA ARGS` in the workspace.
fn devex_at(ws: &Workspace, data: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devex"))
        .current_dir(ws.path())
        .env_remove("DEVEX_CONFIG")
        .env_remove("DEVEX_DATA")
        .args(["--data", data])
        .args(args)
        .output()
        .unwrap()
}

/// `--data s3://…` is refused for what cannot use object storage, and nothing
/// is created locally (it used to make `./s3:/lake/org/_state`); an unknown
/// scheme is refused by name.
#[test]
fn a_url_never_becomes_a_local_directory() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("inbox")).unwrap();
    std::fs::write(ws.path().join("devex.toml"), "[sources.drop]\ntype = \"files\"\ninbox = \"inbox\"\n").unwrap();
    let csv =
        ws.file("d.csv", "id,service,environment,status,finished_at\nd1,api,production,success,2026-03-02T10:00:00Z\n");
    for args in [
        vec!["import", "deployments", csv.to_str().unwrap()],
        vec!["ingest"],
        vec!["metrics"],
        vec!["status"],
        vec!["maintain"],
    ] {
        let out = devex_at(&ws, "s3://lake/org", &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("s3://lake/org") && stderr.contains("object storage"), "{args:?}: {stderr}");
    }
    let out = devex_at(&ws, "ftp://host/lake", &["metrics"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown scheme `ftp`"), "{stderr}");
    let made: Vec<_> = std::fs::read_dir(ws.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(
        !made.iter().any(|n| n.to_string_lossy().starts_with("s3") || n.to_string_lossy().starts_with("ftp")),
        "{made:?}"
    );
}
