//! Google's credentials for the Forms API: a ready OAuth access token, or a
//! service-account key exchanged for one with an RS256-signed JWT grant at the
//! key's `token_uri` (signed by the `jsonwebtoken` crate). The key's private
//! half and the tokens are never printed, logged or put in an error.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_sources::http::HttpError> {
//! use devex_sources::surveys::google_auth::ServiceAccountKey;
//! let key = ServiceAccountKey::read("/etc/devex/forms-reader.json".as_ref())?;
//! let assertion = key.assertion(chrono::Utc::now())?; // what goes to key.token_uri
//! assert_eq!(assertion.split('.').count(), 3);
//! # Ok(()) }
//! ```

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use devex_model::config::GoogleFormsSource;
use serde_json::Value;

use crate::http::{Api, HttpClient, HttpError, RetryPolicy};
use devex_ingest::progress::Progress;

/// The scopes devex asks for: read responses, read the form's questions.
pub const SCOPES: &str =
    "https://www.googleapis.com/auth/forms.responses.readonly https://www.googleapis.com/auth/forms.body.readonly";

/// How long a grant's JWT is valid (Google allows at most an hour).
pub const ASSERTION_SECS: i64 = 3600;

/// A service-account key, as Google's console downloads it (JSON).
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// The account (`...@....iam.gserviceaccount.com`): the JWT's issuer.
    pub client_email: String,
    /// The key's id: the JWT's `kid`.
    pub private_key_id: Option<String>,
    /// Where grants are exchanged: the JWT's audience.
    pub token_uri: String,
    private_key: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Parse a key file's text; `file` names it in errors, which never quote it.
    pub fn from_json(text: &str, file: &str) -> Result<ServiceAccountKey, HttpError> {
        let bad = |what: &str| HttpError::Setup(format!("{file}: not a Google service-account key: {what}"));
        let v: Value = serde_json::from_str(text).map_err(|e| bad(&format!("not JSON (line {})", e.line())))?;
        let field = |name: &str| v.get(name).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        if let Some(kind) = field("type").filter(|t| *t != "service_account") {
            return Err(bad(&format!(
                "its `type` is `{kind}`, not `service_account` (devex needs a service account's key)"
            )));
        }
        let need = |name: &str| field(name).map(str::to_string).ok_or_else(|| bad(&format!("no `{name}`")));
        let key = ServiceAccountKey {
            client_email: need("client_email")?,
            private_key_id: field("private_key_id").map(str::to_string),
            token_uri: field("token_uri").unwrap_or("https://oauth2.googleapis.com/token").to_string(),
            private_key: need("private_key")?,
        };
        crate::endpoint::check_token_transport(&key.token_uri)
            .map_err(|e| HttpError::Setup(format!("{file}: token_uri: {e}")))?;
        Ok(key)
    }

    /// Read a key file.
    pub fn read(path: &Path) -> Result<ServiceAccountKey, HttpError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| HttpError::Setup(format!("reading the service-account key {}: {e}", path.display())))?;
        ServiceAccountKey::from_json(&text, &path.display().to_string())
    }

    /// The grant: an RS256-signed JWT (`iss` the account, `aud` the token
    /// endpoint, the Forms scopes, valid for [`ASSERTION_SECS`] from `now`).
    pub fn assertion(&self, now: DateTime<Utc>) -> Result<String, HttpError> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.private_key_id.clone();
        let iat = now.timestamp();
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPES,
            "aud": self.token_uri,
            "iat": iat,
            "exp": iat + ASSERTION_SECS,
        });
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(self.private_key.as_bytes()).map_err(|_| {
            HttpError::Setup(format!(
                "the service-account key of {} has a `private_key` that is not an RSA key in PEM",
                self.client_email
            ))
        })?;
        // jsonwebtoken's errors name what failed, never the key.
        jsonwebtoken::encode(&header, &claims, &key)
            .map_err(|e| HttpError::Setup(format!("signing the grant of {}: {e}", self.client_email)))
    }
}

/// What the source authenticates with.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ready access token (`token_env`): used as is, never renewed.
    Token(String),
    /// A service-account key (`credentials_env`): exchanged for tokens.
    Key(ServiceAccountKey),
}

impl Credentials {
    /// From the config: `token_env` when it is named, else the key file whose
    /// path `credentials_env` holds.
    pub fn from_config(cfg: &GoogleFormsSource) -> Result<Credentials, HttpError> {
        if let Some(env) = cfg.token_env.as_deref().filter(|e| !e.trim().is_empty()) {
            return std::env::var(env).ok().filter(|t| !t.trim().is_empty()).map(Credentials::Token).ok_or_else(|| {
                HttpError::Setup(format!(
                    "${env} is not set: token_env names an OAuth access token with the \
                         forms.responses.readonly and forms.body.readonly scopes"
                ))
            });
        }
        let path = std::env::var_os(&cfg.credentials_env).filter(|p| !p.is_empty()).ok_or_else(|| {
            HttpError::Setup(format!(
                "${} is not set: Google Forms needs the path of a service-account key (JSON) there, \
                 or token_env naming an access token",
                cfg.credentials_env
            ))
        })?;
        ServiceAccountKey::read(Path::new(&path)).map(Credentials::Key)
    }
}

/// An access token and when to stop using it.
#[derive(Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub token: String,
    /// A minute before it expires (none: a ready token, used until refused).
    pub renew_at: Option<tokio::time::Instant>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken").field("renew_at", &self.renew_at).finish_non_exhaustive()
    }
}

/// Exchange a grant for an access token at the key's `token_uri`. Returns the
/// token and the requests the exchange took.
pub async fn exchange(
    key: &ServiceAccountKey,
    timeout: Duration,
    retry: RetryPolicy,
    notify: Progress,
) -> Result<(AccessToken, u64), HttpError> {
    let client = HttpClient::new(Api::GoogleOauth, &key.token_uri, None, timeout, retry, notify)?;
    let assertion = key.assertion(Utc::now())?;
    let page = client
        .post_form(
            &key.token_uri,
            &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())],
        )
        .await?;
    let bad =
        |what: &str| HttpError::Malformed { method: "POST", url: key.token_uri.clone(), reason: what.to_string() };
    let token = page
        .body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("no `access_token`"))?
        .to_string();
    let expires_in = page.body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
    let renew_at = tokio::time::Instant::now() + Duration::from_secs(expires_in.saturating_sub(60));
    Ok((AccessToken { token, renew_at: Some(renew_at) }, client.requests()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_that_is_wrong_is_named_and_never_quoted() {
        let err =
            ServiceAccountKey::from_json("{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nSECRETBYTES\"", "k.json")
                .unwrap_err()
                .to_string();
        assert!(err.contains("k.json") && err.contains("not JSON") && !err.contains("SECRETBYTES"), "{err}");
        let err =
            ServiceAccountKey::from_json(r#"{"type": "authorized_user", "client_secret": "SECRETBYTES"}"#, "k.json")
                .unwrap_err()
                .to_string();
        assert!(err.contains("`authorized_user`") && !err.contains("SECRETBYTES"), "{err}");
        let err =
            ServiceAccountKey::from_json(r#"{"type": "service_account", "private_key": "SECRETBYTES"}"#, "k.json")
                .unwrap_err()
                .to_string();
        assert!(err.contains("no `client_email`") && !err.contains("SECRETBYTES"), "{err}");
        let key = ServiceAccountKey::from_json(
            r#"{"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "private_key": "SECRETBYTES",
                "token_uri": "http://example.com/token"}"#,
            "k.json",
        );
        assert!(key.unwrap_err().to_string().contains("token_uri"), "plain http off loopback is refused");
        let key = ServiceAccountKey::from_json(
            r#"{"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "private_key": "SECRETBYTES"}"#,
            "k.json",
        )
        .unwrap();
        assert_eq!(key.token_uri, "https://oauth2.googleapis.com/token");
        assert!(!format!("{key:?}").contains("SECRETBYTES"));
        let err = key.assertion(Utc::now()).unwrap_err().to_string();
        assert!(err.contains("not an RSA key") && !err.contains("SECRETBYTES"), "{err}");
    }
}
