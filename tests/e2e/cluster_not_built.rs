//! A devex built without the `cluster` feature (the quick start's source
//! build): `devex cluster` and `--cluster` fail at once, say what is missing
//! and how to get it, and never run the query locally instead. With the
//! feature, `cluster.rs` runs a real cluster (`.ci/run` builds both).

use crate::util::Workspace;

fn assert_not_built(out: &std::process::Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("error: {what} needs a devex built with the cluster feature (Ballista)")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: use a release binary or the image"), "{stderr}");
    assert!(stderr.contains("cargo install --locked --path crates/devex-cli --features cluster"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing was computed locally: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn without_the_cluster_feature_cluster_commands_say_how_to_get_it() {
    let ws = Workspace::new();
    let out = ws.devex().args(["cluster", "scheduler", "--listen", "127.0.0.1:0"]).output().unwrap();
    assert_not_built(&out, "`devex cluster scheduler`");
    let out = ws.devex().args(["cluster", "executor", "--scheduler", "127.0.0.1:1"]).output().unwrap();
    assert_not_built(&out, "`devex cluster executor`");
    let out = ws.devex().args(["--cluster", "df://127.0.0.1:1", "metrics", "--format", "csv"]).output().unwrap();
    assert_not_built(&out, "--cluster df://127.0.0.1:1");
    // A malformed address is still named as such.
    let out = ws.devex().env("DEVEX_CLUSTER", "http://x:1").args(["metrics"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("expected df://HOST:PORT"), "{stderr}");
    // `--help` says where the cluster is built in.
    let out = ws.devex().args(["cluster", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--features cluster"), "{help}");
}
