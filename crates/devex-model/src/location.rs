//! Where the lake lives: a local directory, or a URL on object storage
//! (`s3://bucket/prefix`, `gs://…`, `az://…`, `abfss://…`). A URL is never
//! turned into a local path: `s3://lake/org` must not become `./s3:/lake/org`.
//!
//! ```
//! use devex_model::location::Location;
//! assert!(matches!(Location::parse("devex-data").unwrap(), Location::Local(_)));
//! assert!(matches!(Location::parse("./s3-backup").unwrap(), Location::Local(_)));
//! let s3 = Location::parse("s3://lake/org").unwrap();
//! assert_eq!(s3.to_string(), "s3://lake/org");
//! assert!(s3.is_remote());
//! assert!(Location::parse("ftp://host/lake").unwrap_err().to_string().contains("ftp"));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// Object-store schemes devex reads and writes.
pub const REMOTE_SCHEMES: &[&str] = &["s3", "s3a", "gs", "az", "azure", "abfs", "abfss"];

/// A lake's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory on this machine.
    Local(PathBuf),
    /// A URL on object storage, without a trailing slash.
    Remote(String),
}

/// A location that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LocationError(pub String);

impl Location {
    /// A path, a `file://` URL, or an object-store URL.
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Location::Local(PathBuf::from(text)));
        };
        let lower = scheme.to_ascii_lowercase();
        let is_scheme = !scheme.is_empty()
            && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !is_scheme {
            return Ok(Location::Local(PathBuf::from(text)));
        }
        if lower == "file" {
            return Ok(Location::Local(PathBuf::from(rest)));
        }
        if !REMOTE_SCHEMES.contains(&lower.as_str()) {
            return Err(LocationError(format!(
                "unknown scheme `{scheme}` in `{text}`: the lake is a directory or an s3://, gs://, az:// or abfss:// URL"
            )));
        }
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.starts_with('/') {
            return Err(LocationError(format!("`{text}` names no bucket or container: write {lower}://bucket/prefix")));
        }
        Ok(Location::Remote(format!("{lower}://{rest}")))
    }

    /// From a path given on the command line or in the environment (which
    /// may hold a URL).
    pub fn from_path(path: &Path) -> Result<Location, LocationError> {
        match path.to_str() {
            Some(s) => Location::parse(s),
            None => Ok(Location::Local(path.to_path_buf())),
        }
    }

    /// Whether the lake is on object storage.
    pub fn is_remote(&self) -> bool {
        matches!(self, Location::Remote(_))
    }

    /// The local directory, if it is one.
    pub fn local(&self) -> Option<&Path> {
        match self {
            Location::Local(p) => Some(p),
            Location::Remote(_) => None,
        }
    }

    /// A location inside this one (`table`, `_state/github`).
    pub fn join(&self, part: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(part)),
            Location::Remote(u) => Location::Remote(format!("{u}/{}", part.trim_matches('/'))),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Remote(u) => f.write_str(u),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_paths_and_urls_stay_urls() {
        assert_eq!(Location::parse("/var/lib/devex").unwrap(), Location::Local("/var/lib/devex".into()));
        assert_eq!(Location::parse("file:///var/lib/devex").unwrap(), Location::Local("/var/lib/devex".into()));
        assert_eq!(Location::parse("C:\\devex").unwrap(), Location::Local("C:\\devex".into()));
        assert_eq!(Location::parse("S3://Lake/org/").unwrap(), Location::Remote("s3://Lake/org".into()));
        assert_eq!(
            Location::parse("abfss://c@acct.dfs.core.windows.net/lake").unwrap().to_string(),
            "abfss://c@acct.dfs.core.windows.net/lake"
        );
        assert_eq!(Location::parse("gs://b").unwrap().join("deployments").to_string(), "gs://b/deployments");
        for bad in ["s3://", "s3:///x", "ftp://h/x", "http://h/x"] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }
}
