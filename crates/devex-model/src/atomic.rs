//! Writing a file so that a reader sees the old content or the new, never a
//! half-written one: the bytes go to a temporary file beside it, which is then
//! renamed over it (a rename within a directory is atomic).

use std::path::Path;

/// Replace `path` with `bytes` atomically.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("state.json");
/// devex_model::atomic::write_atomic(&p, b"{}").unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"{}");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
