//! Words for a POSIX shell, so that a command devex prints runs as shown.
//!
//! ```
//! assert_eq!(devex_model::shell::quote("payments"), "payments");
//! assert_eq!(devex_model::shell::quote("it's"), r"'it'\''s'");
//! ```

/// Single-quoted for a POSIX shell when it holds anything but plain path characters.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
