//! The small text conventions devex understands in GitHub's issues, labels
//! and commits (severity, service, root cause, deployment links, reverts).
//! The payloads themselves are typed in [`super::payload`].

use chrono::{DateTime, Utc};

use super::client::ApiError;

/// RFC 3339.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// RFC 3339 in UTC with `Z`, as the lake's import reads it.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format(devex_model::timestamp::RFC3339_UTC).to_string()
}

/// `sev1`, `SEV-2`, `sev_3`, `Sev 1` -> `sev1`.
pub fn severity(labels: &[String]) -> Option<String> {
    labels.iter().find_map(|l| {
        let lower = l.to_ascii_lowercase();
        let rest = lower.strip_prefix("sev")?.trim_start_matches(['-', '_', ' ', ':']);
        (rest.starts_with(|c: char| c.is_ascii_digit()) && rest.chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| format!("sev{rest}"))
    })
}

/// `service:<name>` (or `service: <name>`).
pub fn service_label(labels: &[String]) -> Option<String> {
    labels.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().eq_ignore_ascii_case("service") && !v.trim().is_empty()).then(|| v.trim().to_string())
    })
}

/// The sha of a `root cause: <sha>` line (case-insensitive; 7 to 40 hex digits).
pub fn root_cause_sha(body: &str) -> Option<String> {
    body.lines().find_map(|line| {
        let lower = line.to_ascii_lowercase();
        let i = lower.find("root cause")?;
        let rest = lower[i + "root cause".len()..].trim_start_matches([':', ' ', '\t', '*', '`']);
        let sha: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        (sha.len() >= 7 && sha.len() <= 40).then_some(sha)
    })
}

/// A deployment an issue body links to: `.../repos/<owner>/<repo>/deployments/<id>`,
/// `.../deployments/<id>` (this repository) or `caused by deployment <id>`.
/// Returns (`owner/repo` if named, deployment id).
pub fn deployment_link(body: &str) -> Option<(Option<String>, String)> {
    let lower = body.to_ascii_lowercase();
    if let Some(i) = lower.find("/deployments/") {
        let id: String = body[i + "/deployments/".len()..].chars().take_while(char::is_ascii_digit).collect();
        if !id.is_empty() {
            let before = &body[..i];
            let repo = before
                .rfind("/repos/")
                .map(|j| before[j + "/repos/".len()..].to_string())
                .filter(|r| r.split('/').count() == 2);
            return Some((repo, id));
        }
    }
    let i = lower.find("caused by deployment")?;
    let rest = body[i + "caused by deployment".len()..].trim_start_matches([':', ' ', '#']);
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some((None, id))
}

pub use crate::chain::is_revert;

pub fn malformed(url: &str, reason: String) -> ApiError {
    ApiError::Malformed { url: url.to_string(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_conventions() {
        let ls = vec!["incident".to_string(), "SEV-2".into(), "service: payments".into()];
        assert_eq!(severity(&ls).as_deref(), Some("sev2"));
        assert_eq!(service_label(&ls).as_deref(), Some("payments"));
        assert_eq!(severity(&["several".to_string()]), None);
        assert_eq!(root_cause_sha("Impact: x\nRoot cause: `abc1234def`\n").as_deref(), Some("abc1234def"));
        assert_eq!(root_cause_sha("root cause unknown"), None);
        assert_eq!(
            deployment_link("see https://api.github.com/repos/acme/api/deployments/42 for details"),
            Some((Some("acme/api".into()), "42".into()))
        );
        assert_eq!(deployment_link("Caused by deployment #17"), Some((None, "17".into())));
        assert_eq!(deployment_link("no link"), None);
        assert!(is_revert("Revert \"x\"\n\nThis reverts commit 0123456789abcdef."));
    }
}
