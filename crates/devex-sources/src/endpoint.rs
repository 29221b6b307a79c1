//! Rules every HTTP source follows for where it may send a token.
//!
//! A token travels only over TLS. Plain `http://` is accepted with a token for
//! loopback addresses alone (`127.0.0.0/8`, `::1`, `localhost`), where local
//! test servers and proxies live; anywhere else it would cross a network in
//! clear text.

use std::net::IpAddr;

/// `Ok` if a token may be sent to `base_url`; otherwise why not, with what to do.
///
/// ```
/// use devex_sources::endpoint::check_token_transport;
/// assert!(check_token_transport("https://api.github.com").is_ok());
/// assert!(check_token_transport("http://127.0.0.1:8080/api/v3").is_ok());
/// assert!(check_token_transport("http://[::1]:9000").is_ok());
/// assert!(check_token_transport("http://localhost:3000").is_ok());
/// assert!(check_token_transport("http://github.example.com/api/v3").is_err());
/// assert!(check_token_transport("http://10.0.0.5").is_err());
/// ```
pub fn check_token_transport(base_url: &str) -> Result<(), String> {
    let Some(rest) = base_url.strip_prefix("http://") else { return Ok(()) };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return Ok(());
    }
    Err(format!(
        "base_url `{base_url}` is plain http: the token would cross the network unencrypted; \
         use https:// (plain http is accepted only for loopback addresses such as 127.0.0.1)"
    ))
}
