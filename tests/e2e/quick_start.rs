//! The quick start from a clone is two commands: `cargo run -p devex-cli -- demo`, then
//! `cargo test --workspace` (what `.ci/run` runs). They fit in minutes only because the
//! second reuses every dependency the first compiled, and cargo reuses a build only when it
//! resolved that crate with the same features in both commands.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::util::workspace_root;

/// Each package of `cargo tree ARGS` with the feature sets it is built with (a package
/// built for the host and for the target can have two).
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--locked", "--prefix", "none", "--format", "{p}|{f}"])
        .args(args)
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let line = line.trim_end_matches(" (*)");
        let Some((package, features)) = line.split_once('|') else { continue };
        packages.entry(package.to_string()).or_default().insert(features.to_string());
    }
    packages
}

#[test]
fn the_test_build_reuses_every_dependency_the_demo_build_compiled() {
    // `cargo run -p devex-cli`: devex-cli and its normal dependencies.
    let demo = features(&["-p", "devex-cli", "--edges", "no-dev"]);
    // `cargo test --workspace`: every member with its dev-dependencies.
    let test = features(&["--workspace"]);
    assert!(demo.len() > 300, "cargo tree listed only {} packages", demo.len());
    let rebuilt: Vec<String> = demo
        .iter()
        .filter(|(package, sets)| test.get(*package) != Some(*sets))
        .map(|(package, sets)| format!("{package}: demo {sets:?}, tests {:?}", test.get(package)))
        .collect();
    assert!(
        rebuilt.is_empty(),
        "`cargo test --workspace` would compile these (and all above them) a second time; \
         turn the extra features on in crates/devex-cli/Cargo.toml's build-reuse block:\n{}",
        rebuilt.join("\n")
    );
}

/// `.ci/run` and the shipped binaries build the `cluster` feature too: on top of the
/// default build it must add Ballista's own crates only, never a second build of a crate
/// the default build compiled (devex-cli's Cargo.toml turns those features on in the default build).
#[test]
fn the_cluster_build_adds_ballista_to_the_default_build_and_rebuilds_nothing_else() {
    let default = features(&["--workspace"]);
    let cluster = features(&["--workspace", "--features", "devex-cli/cluster"]);
    let only_cluster: Vec<&String> = cluster.keys().filter(|p| !default.contains_key(*p)).collect();
    assert!(only_cluster.iter().any(|p| p.starts_with("ballista-executor ")), "{only_cluster:?}");
    assert!(!default.keys().any(|p| p.starts_with("ballista")), "the default build has Ballista");
    let rebuilt: Vec<String> = default
        .iter()
        .filter(|(package, _)| !package.starts_with("devex-cli ") && !package.starts_with("devex-cluster "))
        // A further feature set is a further build for Ballista's own use (a build
        // script's host copy, say); a changed one rebuilds the crate and all above it.
        .filter(|(package, sets)| !cluster.get(*package).is_some_and(|c| c.is_superset(sets)))
        .map(|(package, sets)| format!("{package}: default {sets:?}, cluster {:?}", cluster.get(package)))
        .collect();
    assert!(
        rebuilt.is_empty(),
        "`--features cluster` would compile these (and all above them) a second time; turn the \
         extra features on in crates/devex-cli/Cargo.toml's build-reuse block:\n{}",
        rebuilt.join("\n")
    );
}

#[test]
fn the_readme_quick_start_is_the_pair_ci_runs() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("From a fresh clone").expect("README has a quick start from a clone");
    let block: Vec<&str> = readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with("```"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(block, ["cargo run -p devex-cli -- demo", "cargo test --workspace"]);
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert_eq!(
        ci.trim_end().lines().last(),
        Some("cargo test --workspace"),
        ".ci/run must end with the README's test command"
    );
}
