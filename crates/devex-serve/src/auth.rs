//! Who may connect: one user whose password is checked with SCRAM-SHA-256
//! (pgwire's SASL handler), or nobody checked at all when serving loopback
//! without a password; with TLS configured, clear-text clients are turned away.
//!
//! An unknown user name goes through the same exchange as the known one, with
//! a salt derived from the name and a key nobody knows, and fails at the same
//! step in the same time: the answer never tells which names exist. Each
//! failure is logged with the peer address and counted by the [`Throttle`].

use std::fmt::Debug;
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::admission::{Gate, Throttle};

use async_trait::async_trait;
use datafusion_postgres::pgwire;
use futures::Sink;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{ScramAuth, gen_salted_password, random_nonce};
use pgwire::api::auth::{AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler};
use pgwire::api::{ClientInfo, ConnectionManager, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

/// SCRAM iterations (PostgreSQL's default).
const ITERATIONS: usize = 4096;

/// One user and its password, salted once at startup.
#[derive(Debug)]
pub struct OneUser {
    user: String,
    salt: Vec<u8>,
    salted: Vec<u8>,
    /// What an unknown name is checked against: matches no password.
    decoy: Vec<u8>,
    /// Keys the decoy salts (random per server).
    salts: std::collections::hash_map::RandomState,
}

impl OneUser {
    pub fn new(user: &str, password: &str) -> OneUser {
        let salt = random_nonce().into_bytes();
        let salted = gen_salted_password(password, &salt, ITERATIONS);
        let decoy = gen_salted_password(&random_nonce(), &salt, ITERATIONS);
        OneUser { user: user.to_string(), salt, salted, decoy, salts: Default::default() }
    }

    /// The salt shown for an unknown name: the same for the same name, as
    /// long as the real one, from the same alphabet.
    fn decoy_salt(&self, name: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..self.salt.len()).map(|i| ALPHABET[(self.salts.hash_one((name, i)) % 64) as usize]).collect()
    }
}

#[async_trait]
impl AuthSource for OneUser {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let name = login.user().unwrap_or_default();
        if name != self.user {
            return Ok(Password::new(Some(self.decoy_salt(name)), self.decoy.clone()));
        }
        Ok(Password::new(Some(self.salt.clone()), self.salted.clone()))
    }
}

/// Without a password (loopback only): no authentication.
struct Open {
    connections: Arc<ConnectionManager>,
}

impl NoopStartupHandler for Open {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(Arc::clone(&self.connections))
    }
}

/// The startup of one connection. A SASL exchange has state, so each
/// connection gets its own (one shared handler lets one client's failed
/// exchange break the next client's).
pub struct Startup {
    how: How,
    require_tls: bool,
    gate: Arc<Gate>,
}

enum How {
    Scram(SASLAuthStartupHandler<DefaultServerParameterProvider>),
    Open(Open),
}

impl Startup {
    /// A fresh startup for one connection.
    pub fn new(
        user: Option<&Arc<OneUser>>,
        connections: &Arc<ConnectionManager>,
        require_tls: bool,
        gate: Arc<Gate>,
    ) -> Startup {
        let how = match user {
            Some(user) => {
                let mut scram = ScramAuth::new(Arc::clone(user) as Arc<dyn AuthSource>);
                scram.set_iterations(ITERATIONS);
                How::Scram(
                    SASLAuthStartupHandler::new(Arc::new(DefaultServerParameterProvider::default()))
                        .with_scram(scram)
                        .with_connection_manager(Arc::clone(connections)),
                )
            }
            None => How::Open(Open { connections: Arc::clone(connections) }),
        };
        Startup { how, require_tls, gate }
    }

    fn throttle(&self) -> &Throttle {
        self.gate.throttle()
    }
}

/// Startup parameters a client could send to set what only `SET` may set,
/// with its checks: they are dropped.
const UNCHECKED_STARTUP_KEYS: &[&str] = &[crate::variables::TIMEOUT_KEY, "search_path", "timezone"];

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if self.require_tls && !client.is_secure() {
            return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "FATAL".into(),
                "28000".into(),
                "devex serve accepts only TLS connections here: connect with sslmode=require".into(),
            ))));
        }
        let peer = self.gate.peer;
        let is_startup = matches!(message, PgWireFrontendMessage::Startup(_));
        let is_password = matches!(message, PgWireFrontendMessage::PasswordMessageFamily(_));
        if is_startup {
            if !self.gate.has_room() {
                tracing::info!(%peer, "connection refused: max_connections sessions are open");
                return Err(too_many());
            }
            // An address that sent wrong passwords waits its turn before trying again.
            let wait = self.throttle().turn(peer.ip());
            if !wait.is_zero() {
                tracing::info!(%peer, wait_ms = wait.as_millis() as u64, "slowing down an address after wrong passwords");
                tokio::time::sleep(wait).await;
            }
        }
        // The message that may complete authentication needs a session slot.
        let finishing = is_password || (is_startup && matches!(self.how, How::Open(_)));
        let permit = match finishing {
            false => None,
            true => match self.gate.reserve() {
                Some(p) => Some(p),
                None => {
                    tracing::info!(%peer, "connection refused: max_connections sessions are open");
                    return Err(too_many());
                }
            },
        };
        let result = match &self.how {
            How::Scram(h) => h.on_startup(client, message).await,
            How::Open(h) => h.on_startup(client, message).await,
        };
        if is_startup {
            let meta = client.metadata_mut();
            for key in UNCHECKED_STARTUP_KEYS {
                meta.remove(*key);
            }
        }
        if let Err(PgWireError::InvalidPassword(_)) = &result {
            let failures = self.throttle().failed(peer.ip());
            // The name from the startup message (SCRAM's own is empty for libpq clients).
            let user = client.metadata().get("user").cloned().unwrap_or_default();
            tracing::warn!(%peer, user = ?user, failures, "password authentication failed");
        }
        if let Some(permit) = permit
            && matches!(client.state(), PgWireConnectionState::ReadyForQuery)
        {
            self.gate.admit(permit);
        }
        result
    }
}

fn too_many() -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        "53300".into(),
        "sorry, too many clients already (devex serve [serve] max_connections)".into(),
    )))
}
