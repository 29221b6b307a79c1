//! `devex serve`: a DataFusion session over the lake, spoken over the
//! PostgreSQL wire protocol with `datafusion-postgres` (pgwire), so psql,
//! Grafana, Metabase and DBeaver read the same tables and saved views as
//! `devex sql`.
//!
//! What it adds to `datafusion-postgres`:
//! - **authentication**: one user, its password checked with SCRAM-SHA-256
//!   (pgwire's SASL handler); without a password the server only listens on
//!   loopback ([`ServeOptions::check`] refuses anything else);
//! - **read-only**: [`ReadOnly`] refuses every statement that is not a query,
//!   EXPLAIN of a query, SHOW, or session bookkeeping clients send (SET,
//!   transactions, cursors) before DataFusion sees it: no DML, no DDL, no
//!   COPY, no CREATE EXTERNAL TABLE (a remote user must not read the server's
//!   files), no CREATE VIEW (it would change the session for everyone);
//! - **one session per connection**: each client plans and runs in a session
//!   of its own, derived from the server's; a `SET` touches only it, and only
//!   the settings [`variables`] lists may be set;
//! - **bounded**: each statement gets `statement_timeout` ([`bounded`]),
//!   every query shares one memory pool; a connection must authenticate
//!   within `startup_timeout`, handshakes under way have their own bound, and
//!   past `max_connections` authenticated sessions a client gets a clear
//!   error instead of a dropped socket ([`admission`]);
//! - **fresh data**: tables are [`live::LiveTable`]s, swapped to the newest
//!   Delta snapshot when a statement finds one committed;
//! - **metrics of any window** from SQL: `metrics(from, to [, by])`,
//!   `trends(quarters [, by])`, `jcurve([by])` ([`functions`]), each result
//!   kept per call and snapshot in a bounded [`cache`] (`[serve] cache_mb`);
//! - **TLS** from PEM files, a hard error if they fail to load;
//! - `pg_catalog`, for psql's meta-commands and BI tools' introspection.
//!
//! ```no_run
//! # async fn run(settings: devex_query::QuerySettings, window: devex_query::Window) -> Result<(), devex_serve::ServeError> {
//! use devex_serve::{ServeOptions, Served, serve};
//! let opts = ServeOptions { password: Some("s3cret".into()), ..ServeOptions::default() };
//! opts.check()?;
//! let served = Served::open(devex_model::location::Location::Local("lake".into()), devex_query::AsOf::Latest, &settings, window, devex_query::GroupBy::Org, None, "devex").await?;
//! serve(&served, &opts, |addr| println!("listening on {addr}")).await
//! # }
//! ```

pub mod admission;
mod auth;
pub mod bounded;
pub mod cache;
pub mod functions;
pub mod limits;
pub mod live;
mod planned;
mod read_only;
mod tls;
pub mod variables;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionContext;
use datafusion_postgres::DfSessionService;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::{PgCatalogContextProvider, Role};
use datafusion_postgres::datafusion_pg_catalog::setup_pg_catalog;
use datafusion_postgres::hooks::QueryHook;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::pgwire;
use devex_query::{AsOf, GroupBy, QueryError, QuerySettings, Window};
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ConnectionManager, PgWireServerHandlers};
use tokio::net::TcpListener;

use admission::{Admission, Gate};
use auth::{OneUser, Startup};
use bounded::Bounded;
use live::{Fresh, LiveLake};
pub use read_only::{ReadOnly, refusal};

/// Why the server cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A setting that would make the server unsafe or unusable.
    #[error("{0}")]
    Refused(String),
    /// Binding or accepting failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The lake could not be opened.
    #[error(transparent)]
    Lake(Box<QueryError>),
}

impl From<QueryError> for ServeError {
    fn from(e: QueryError) -> Self {
        ServeError::Lake(Box::new(e))
    }
}

/// How the server listens, whom it lets in and how much it gives each statement.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (port 0: any free port, reported to `ready`).
    pub listen: SocketAddr,
    /// The one user.
    pub user: String,
    /// Its password; `None` serves without authentication (loopback only).
    pub password: Option<String>,
    /// Authenticated clients served at once; more are told to come back later.
    pub max_connections: usize,
    /// Connections still authenticating at once; more are closed at once.
    pub max_startups: usize,
    /// Longest a connection may take to finish TLS, startup and authentication.
    pub startup_timeout: Duration,
    /// Longest a statement may take, from arrival to its last row sent.
    pub statement_timeout: Duration,
    /// Longest statement text, in bytes.
    pub max_statement_bytes: usize,
    /// PEM certificate chain and private key: TLS, and clear text refused.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 5433)),
            user: "devex".into(),
            password: None,
            max_connections: 64,
            max_startups: 256,
            startup_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(60),
            max_statement_bytes: limits::DEFAULT_MAX_STATEMENT_BYTES,
            tls: None,
        }
    }
}

impl ServeOptions {
    /// Refuse settings that would expose the lake: no password beyond loopback.
    pub fn check(&self) -> Result<(), ServeError> {
        if self.password.is_none() && !self.listen.ip().is_loopback() {
            return Err(ServeError::Refused(format!(
                "refusing to listen on {} without a password: anyone who can reach it could read the lake; \
                 set the password variable ([serve] password_env, default DEVEX_SERVE_PASSWORD), or listen on 127.0.0.1",
                self.listen
            )));
        }
        if self.max_connections == 0 {
            return Err(ServeError::Refused("max_connections must be at least 1".into()));
        }
        if self.max_startups == 0 {
            return Err(ServeError::Refused("max_startups must be at least 1".into()));
        }
        if self.startup_timeout.is_zero() {
            return Err(ServeError::Refused("startup_timeout_secs must be at least 1".into()));
        }
        if self.max_statement_bytes == 0 {
            return Err(ServeError::Refused("max_statement_bytes must be at least 1".into()));
        }
        if self.statement_timeout.is_zero() {
            return Err(ServeError::Refused("statement_timeout_secs must be at least 1".into()));
        }
        Ok(())
    }
}

/// The session a server serves: the lake's tables (always the latest
/// snapshot), every saved view of `queries/` for one window, and the metric
/// table functions.
pub struct Served {
    ctx: Arc<SessionContext>,
    live: Arc<LiveLake>,
    cache: Arc<cache::ResultCache>,
}

impl Served {
    /// Open the lake at `root`. Saved views read `window` grouped `by`; every
    /// query shares a memory pool of `memory_limit` bytes (`None`: unbounded);
    /// `pg_roles` lists `user`.
    pub async fn open(
        root: devex_model::location::Location,
        as_of: AsOf,
        settings: &QuerySettings,
        window: Window,
        by: GroupBy,
        memory_limit: Option<usize>,
        user: &str,
    ) -> Result<Served, ServeError> {
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = memory_limit {
            runtime = runtime.with_memory_limit(bytes, 1.0);
        }
        let runtime = runtime.build_arc().map_err(QueryError::from)?;
        let live = Arc::new(LiveLake::open(root, as_of, runtime).await?);
        let ctx = live.served().metrics_context(settings, window, by).await?;
        setup_pg_catalog(&ctx, "datafusion", Roles(Arc::from(user))).map_err(|e| QueryError::from(*e))?;
        let cache = Arc::new(cache::ResultCache::new(cache::DEFAULT_CACHE_MB << 20));
        functions::register(&ctx, &live, settings, &cache).await?;
        Ok(Served { ctx: Arc::new(ctx), live, cache })
    }

    /// Keep at most `mb` MiB of metric function results (`[serve] cache_mb`; 0: none).
    pub fn set_cache_mb(&self, mb: usize) {
        self.cache.set_capacity(mb.saturating_mul(1 << 20));
    }

    /// The server's session: the template every connection's session is derived from.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// A session of its own for one connection: the same catalog, live
    /// tables, functions and memory pool, and its own settings, so that one
    /// client's `SET` changes nothing another client sees.
    pub fn session(&self) -> SessionContext {
        SessionContext::new_with_state(self.ctx.state())
    }
}

/// The roles `pg_catalog.pg_roles` lists: the one user, who may log in and
/// nothing more. (datafusion-postgres' own `Arc<AuthManager>` provider
/// recursed into itself on `roles()` and overflowed the stack.)
#[derive(Debug, Clone)]
struct Roles(Arc<str>);

#[async_trait::async_trait]
impl PgCatalogContextProvider for Roles {
    async fn roles(&self) -> Vec<String> {
        vec![self.0.to_string()]
    }

    async fn role(&self, name: &str) -> Option<Role> {
        (name == &*self.0).then(|| Role {
            name: name.to_string(),
            is_superuser: false,
            can_login: true,
            can_create_db: false,
            can_create_role: false,
            can_create_user: false,
            can_replication: false,
            grants: Vec::new(),
            inherited_roles: Vec::new(),
        })
    }
}

/// Load the TLS certificate and key as `serve` will: an error is why they cannot serve.
pub fn check_tls(cert: &std::path::Path, key: &std::path::Path) -> Result<(), ServeError> {
    tls::acceptor(cert, key).map(drop)
}

/// Serve until the task is dropped. `ready` hears the bound address once listening.
pub async fn serve(served: &Served, opts: &ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    opts.check()?;
    let tls = match &opts.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let listener = TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Io { context: format!("listening on {}", opts.listen), source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServeError::Io { context: "reading the bound address".into(), source })?;
    let handlers = Arc::new(Handlers::new(served, opts));
    let admission = Arc::new(Admission::new(opts.max_connections, opts.max_startups, opts.startup_timeout));
    ready(addr);
    let mut backoff = Backoff::default();
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(s) => {
                backoff.reset();
                s
            }
            // A client that vanished between SYN and accept, or a full descriptor table
            // (EMFILE): wait before accepting again instead of spinning.
            Err(e) => {
                backoff.wait(&e).await;
                continue;
            }
        };
        let Some(starting) = admission.start() else {
            tracing::info!(%peer, "connection refused: [serve] max_startups connections are still authenticating");
            drop(socket);
            continue;
        };
        let handlers = Arc::clone(&handlers);
        let admission = Arc::clone(&admission);
        let tls = tls.clone();
        tokio::spawn(async move {
            let Ok((socket, watched)) = split(socket) else { return };
            let (gone_tx, gone) = tokio::sync::watch::channel(false);
            let watcher = tokio::spawn(bounded::watch_hangup(watched, gone_tx));
            let (gate, mut admitted) = Gate::new(Arc::clone(&admission), peer);
            let connection = Arc::new(Connection::new(handlers, gone, gate));
            let work = pgwire::tokio::process_socket(socket, tls, connection);
            tokio::pin!(work);
            // Until it is authenticated, a connection holds a startup place and has a deadline.
            let authenticated = tokio::select! {
                _ = &mut work => false,
                seen = admitted.wait_for(|a| *a) => seen.is_ok(),
                _ = tokio::time::sleep(admission.startup_timeout) => {
                    tracing::info!(
                        %peer,
                        "connection closed: not authenticated within {} s ([serve] startup_timeout_secs)",
                        admission.startup_timeout.as_secs_f64()
                    );
                    false
                }
            };
            drop(starting);
            if authenticated {
                let _ = work.await;
            }
            watcher.abort();
        });
    }
}

/// How long the accept loop waits after a failed accept: from 10 ms,
/// doubling to 1 s. A run of failures is logged once a minute at most (under
/// descriptor exhaustion accepts fail and succeed by turns).
#[derive(Debug)]
struct Backoff {
    wait: Duration,
    logged: Option<std::time::Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { wait: Duration::from_millis(10), logged: None }
    }
}

impl Backoff {
    fn reset(&mut self) {
        self.wait = Duration::from_millis(10);
    }

    async fn wait(&mut self, e: &std::io::Error) {
        if self.logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            tracing::warn!(
                "accepting connections failed ({e}); retrying with backoff up to 1 s \
                 (too many open files? raise the limit, `ulimit -n`, or lower [serve] max_startups)"
            );
            self.logged = Some(std::time::Instant::now());
        }
        tokio::time::sleep(self.wait).await;
        self.wait = (self.wait * 2).min(Duration::from_secs(1));
    }
}

/// Two handles on one client socket: one for the protocol, one watched for hang-up.
fn split(socket: tokio::net::TcpStream) -> std::io::Result<(tokio::net::TcpStream, tokio::net::TcpStream)> {
    let socket = socket.into_std()?;
    let watched = socket.try_clone()?;
    Ok((tokio::net::TcpStream::from_std(socket)?, tokio::net::TcpStream::from_std(watched)?))
}

/// What every connection shares.
struct Handlers {
    template: Arc<Served>,
    hooks: Vec<Arc<dyn QueryHook>>,
    timeout: Duration,
    max_statement_bytes: usize,
    user: Option<Arc<OneUser>>,
    require_tls: bool,
    connections: Arc<ConnectionManager>,
    cancel: Arc<DefaultCancelHandler>,
}

impl Handlers {
    fn new(served: &Served, opts: &ServeOptions) -> Handlers {
        let hooks: Vec<Arc<dyn QueryHook>> = vec![
            Arc::new(ReadOnly),
            Arc::new(Fresh(Arc::clone(&served.live))),
            Arc::new(CursorStatementHook),
            Arc::new(variables::Variables { limit: opts.statement_timeout, template: Arc::clone(&served.ctx) }),
            Arc::new(TransactionStatementHook),
            Arc::new(planned::Planned),
        ];
        let connections = Arc::new(ConnectionManager::new());
        Handlers {
            template: Arc::new(Served {
                ctx: Arc::clone(&served.ctx),
                live: Arc::clone(&served.live),
                cache: Arc::clone(&served.cache),
            }),
            hooks,
            timeout: opts.statement_timeout,
            max_statement_bytes: opts.max_statement_bytes,
            user: opts.password.as_deref().map(|p| Arc::new(OneUser::new(&opts.user, p))),
            require_tls: opts.tls.is_some(),
            cancel: Arc::new(DefaultCancelHandler::new(Arc::clone(&connections))),
            connections,
        }
    }
}

/// One connection's handlers (pgwire asks for each once per connection),
/// over a session of its own.
struct Connection {
    shared: Arc<Handlers>,
    service: Arc<DfSessionService>,
    gone: tokio::sync::watch::Receiver<bool>,
    gate: Arc<Gate>,
}

impl Connection {
    fn new(shared: Arc<Handlers>, gone: tokio::sync::watch::Receiver<bool>, gate: Gate) -> Connection {
        let session = Arc::new(shared.template.session());
        let service = Arc::new(DfSessionService::new_with_hooks(session, shared.hooks.clone()));
        Connection { shared, service, gone, gate: Arc::new(gate) }
    }

    fn bounded(&self) -> Arc<Bounded<DfSessionService>> {
        Arc::new(Bounded {
            inner: Arc::clone(&self.service),
            timeout: self.shared.timeout,
            max_bytes: self.shared.max_statement_bytes,
            gone: self.gone.clone(),
        })
    }
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.bounded()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.bounded()
    }

    /// Each connection gets its own SASL exchange.
    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        let h = &self.shared;
        Arc::new(Startup::new(h.user.as_ref(), &h.connections, h.require_tls, Arc::clone(&self.gate)))
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        Arc::clone(&self.shared.cancel)
    }
}
