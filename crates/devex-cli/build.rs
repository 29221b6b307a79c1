//! Build facts for `devex --version` and the sample organisation `devex demo`
//! carries inside the binary (so an installed or containerised devex has it too).
//!
//! - `DEVEX_GIT_COMMIT`: `$DEVEX_BUILD_COMMIT` if set (a container build has no
//!   `.git`), else `git rev-parse --short=12 HEAD`, else `unknown`.
//! - `DEVEX_BUILD_DATE`: the UTC date of `$SOURCE_DATE_EPOCH` if set (reproducible
//!   builds), else of this build.
//! - `$OUT_DIR/sample_data.rs`: every file under the workspace's `sample-data/`,
//!   as `(relative path, bytes)`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEVEX_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rustc-env=DEVEX_GIT_COMMIT={}", commit(&manifest));
    println!("cargo:rustc-env=DEVEX_BUILD_DATE={}", build_date());
    embed_sample(&manifest.join("../../sample-data"));
}

fn commit(manifest: &Path) -> String {
    if let Some(c) = std::env::var("DEVEX_BUILD_COMMIT").ok().filter(|c| !c.trim().is_empty()) {
        return c.trim().chars().take(12).collect();
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // Rebuild when HEAD moves: HEAD itself (detached, or a branch switch), its
    // reflog (every commit appends to it), the branch's ref file and packed-refs.
    // Only files that exist: cargo reruns a script whose watched file is missing
    // on every build.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = PathBuf::from(dir);
        let head_ref = git(&["symbolic-ref", "-q", "HEAD"]);
        let watched = ["HEAD", "logs/HEAD", "packed-refs"].into_iter().map(|f| dir.join(f));
        for path in watched.chain(head_ref.map(|r| dir.join(r))).filter(|p| p.is_file()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
}

fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0));
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn embed_sample(dir: &Path) {
    let mut files = Vec::new();
    if dir.is_dir() {
        println!("cargo:rerun-if-changed={}", dir.display());
        collect(dir, dir, &mut files);
    }
    files.sort();
    let mut out = String::from("/// The sample organisation: (path under sample-data/, contents).\n");
    out.push_str("pub const FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        out.push_str(&format!("    ({rel:?}, include_bytes!({abs:?})),\n"));
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("sample_data.rs");
    std::fs::write(&target, out).expect("write sample_data.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let rel = path.strip_prefix(root).expect("under root");
        let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let abs = path.canonicalize().unwrap_or(path);
        files.push((rel.join("/"), abs.to_string_lossy().into_owned()));
    }
}
