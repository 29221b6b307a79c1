//! Who may connect: one user whose password is checked with SCRAM-SHA-256
//! (pgwire's SASL handler), or nobody checked at all when serving loopback
//! without a password; with TLS configured, clear-text clients are turned away.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion_postgres::pgwire;
use futures::Sink;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{ScramAuth, gen_salted_password, random_nonce};
use pgwire::api::auth::{AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler};
use pgwire::api::{ClientInfo, ConnectionManager};
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
}

impl OneUser {
    pub fn new(user: &str, password: &str) -> OneUser {
        let salt = random_nonce().into_bytes();
        let salted = gen_salted_password(password, &salt, ITERATIONS);
        OneUser { user: user.to_string(), salt, salted }
    }
}

#[async_trait]
impl AuthSource for OneUser {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        if login.user() != Some(self.user.as_str()) {
            return Err(PgWireError::InvalidPassword(login.user().unwrap_or_default().to_string()));
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
}

enum How {
    Scram(SASLAuthStartupHandler<DefaultServerParameterProvider>),
    Open(Open),
}

impl Startup {
    /// A fresh startup for one connection.
    pub fn new(user: Option<&Arc<OneUser>>, connections: &Arc<ConnectionManager>, require_tls: bool) -> Startup {
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
        Startup { how, require_tls }
    }
}

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
        match &self.how {
            How::Scram(h) => h.on_startup(client, message).await,
            How::Open(h) => h.on_startup(client, message).await,
        }
    }
}

/// Past `max_connections`: every startup is answered with PostgreSQL's
/// "too many connections" error (53300), so the client says why.
pub struct TooMany;

#[async_trait]
impl StartupHandler for TooMany {
    async fn on_startup<C>(&self, _client: &mut C, _message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "FATAL".into(),
            "53300".into(),
            "sorry, too many clients already (devex serve [serve] max_connections)".into(),
        ))))
    }
}

impl pgwire::api::PgWireServerHandlers for TooMany {
    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::new(TooMany)
    }
}
