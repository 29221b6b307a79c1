//! What this binary is: its version, the commit it was built from and when
//! (set by `build.rs`), for `devex --version` and `devex status`.

/// The release, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The short git commit, or `unknown` when built outside a git checkout.
pub const COMMIT: &str = env!("DEVEX_GIT_COMMIT");
/// The UTC build date, `YYYY-MM-DD` (from `SOURCE_DATE_EPOCH` when set).
pub const BUILD_DATE: &str = env!("DEVEX_BUILD_DATE");

/// `0.1.0 (commit 1a2b3c4d5e6f, built 2026-11-24)`: what `devex --version` prints after the name.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DEVEX_GIT_COMMIT"),
    ", built ",
    env!("DEVEX_BUILD_DATE"),
    ")"
);

/// The same as JSON, for `devex status --format json`.
pub fn json() -> serde_json::Value {
    serde_json::json!({ "version": VERSION, "commit": COMMIT, "built": BUILD_DATE })
}
