//! How the user runs this devex, so that the commands hints print work as shown:
//! `devex` when that is what the shell finds, `cargo run --release -p devex-cli --`
//! for a binary in a cargo target directory, else the binary's full path.
//! `DEVEX_INVOCATION` overrides it (the container image sets it to its `docker run` form).

use std::path::{Path, PathBuf};

/// The command prefix for hints, e.g. `devex`, to which `--data DIR sql ...` is appended.
pub fn prefix() -> String {
    if let Some(given) = std::env::var("DEVEX_INVOCATION").ok().filter(|s| !s.trim().is_empty()) {
        return given.trim().to_string();
    }
    let Ok(exe) = std::env::current_exe() else { return "devex".into() };
    let name = format!("devex{}", std::env::consts::EXE_SUFFIX);
    let on_path = std::env::var_os("PATH").and_then(|paths| find_on_path(&paths, &name));
    prefix_for(&exe, on_path.as_deref())
}

/// The hint prefix for the binary at `exe`, given what `devex` on PATH resolves to.
fn prefix_for(exe: &Path, on_path: Option<&Path>) -> String {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if on_path.is_some_and(|p| same(p, exe)) {
        return "devex".into();
    }
    if let Some(profile) = cargo_profile(exe) {
        return match profile.as_str() {
            "debug" => "cargo run -p devex-cli --".into(),
            "release" => "cargo run --release -p devex-cli --".into(),
            other => format!("cargo run --profile {other} -p devex-cli --"),
        };
    }
    shell_quote(&exe.to_string_lossy())
}

/// The profile of a binary cargo built: `<target dir>/<profile>/devex`, where the
/// target dir is marked by cargo's `CACHEDIR.TAG`.
fn cargo_profile(exe: &Path) -> Option<String> {
    let profile_dir = exe.parent()?;
    let target = profile_dir.parent()?;
    // `<target>/<triple>/<profile>/devex` when built with --target.
    let marked = |d: &Path| d.join("CACHEDIR.TAG").is_file();
    if !marked(target) && !target.parent().is_some_and(marked) {
        return None;
    }
    profile_dir.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn find_on_path(paths: &std::ffi::OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(paths).map(|dir| dir.join(name)).find(|p| p.is_file())
}

pub use devex_model::shell::quote as shell_quote;

/// The prefix for a command printed on a public page: [`prefix`] when it names no path
/// (`devex`, `cargo run ...`), else `devex`: a full path can hold a person's name.
pub fn public_prefix() -> String {
    Some(prefix()).filter(|p| !p.contains('/') && !p.contains('\\')).unwrap_or_else(|| "devex".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_binary_is_devex_and_a_cargo_build_is_cargo_run() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let installed = bin.join("devex");
        std::fs::write(&installed, "").unwrap();
        assert_eq!(prefix_for(&installed, Some(&installed)), "devex");
        // Not the one on PATH: its full path.
        let other = dir.path().join("devex");
        std::fs::write(&other, "").unwrap();
        assert_eq!(prefix_for(&other, Some(&installed)), other.to_string_lossy());
        assert_eq!(prefix_for(&other, None), other.to_string_lossy());

        let target = dir.path().join("my target");
        for (profile, want) in [
            ("release", "cargo run --release -p devex-cli --"),
            ("debug", "cargo run -p devex-cli --"),
            ("dist", "cargo run --profile dist -p devex-cli --"),
        ] {
            std::fs::create_dir_all(target.join(profile)).unwrap();
            std::fs::write(target.join("CACHEDIR.TAG"), "").unwrap();
            let exe = target.join(profile).join("devex");
            std::fs::write(&exe, "").unwrap();
            assert_eq!(prefix_for(&exe, Some(&installed)), want);
        }
        // A directory named release that is not cargo's: the path, quoted for the shell.
        std::fs::remove_file(target.join("CACHEDIR.TAG")).unwrap();
        let exe = target.join("release").join("devex");
        assert_eq!(prefix_for(&exe, None), format!("'{}'", exe.display()));
    }
}
