//! Every statement bounded in time: planning, running and sending its rows
//! together get `[serve] statement_timeout_secs` (or the client's own
//! `statement_timeout`, when shorter), after which the client hears
//! PostgreSQL's own "canceling statement due to statement timeout" (57014)
//! and the work is dropped (DataFusion stops when its stream is dropped).
//! A statement whose client has gone (its socket closed, watched apart from
//! the protocol: see [`watch_hangup`]) is dropped the same way at once.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion_postgres::pgwire;
use futures::Sink;
use futures::SinkExt;
use pgwire::api::DEFAULT_NAME;
use pgwire::api::portal::Portal;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{DescribePortalResponse, DescribeStatementResponse, Response};
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{Execute, Parse, ParseComplete};
use pgwire::messages::simplequery::Query;
use tokio::sync::watch;

/// One connection's query handler: each statement gets at most `timeout`,
/// none outlives its client, and none longer than `max_bytes` is parsed.
pub struct Bounded<S> {
    pub inner: Arc<S>,
    pub timeout: Duration,
    /// Longest statement text ([`crate::limits::check_text`]).
    pub max_bytes: usize,
    /// Becomes `true` when the client's socket is closed.
    pub gone: watch::Receiver<bool>,
}

impl<S> Bounded<S> {
    /// The timeout of `client`'s next statement: the server's, or the
    /// client's `statement_timeout` when that is shorter.
    fn timeout_of(&self, client: &impl ClientInfo) -> Duration {
        let own = client.metadata().get(crate::variables::TIMEOUT_KEY).and_then(|ms| ms.parse::<u64>().ok());
        match own {
            Some(ms) if ms > 0 => self.timeout.min(Duration::from_millis(ms)),
            _ => self.timeout,
        }
    }

    /// Run `work` within `timeout`, dropping it if the client goes.
    async fn bounded<T>(&self, timeout: Duration, work: impl Future<Output = PgWireResult<T>>) -> PgWireResult<T> {
        let mut gone = self.gone.clone();
        tokio::select! {
            done = tokio::time::timeout(timeout, work) => done.unwrap_or_else(|_| Err(timed_out(timeout))),
            _ = gone.wait_for(|g| *g) => Err(PgWireError::IoError(std::io::ErrorKind::ConnectionAborted.into())),
        }
    }
}

/// Watch a client's socket (a second handle on it, never read) for the
/// client closing it; `gone` becomes `true` then. The protocol handler only
/// reads between statements, so without this a client killed mid-query
/// would leave its query running to the end.
pub async fn watch_hangup(socket: tokio::net::TcpStream, gone: watch::Sender<bool>) {
    use tokio::io::Interest;
    loop {
        match socket.ready(Interest::READABLE).await {
            Ok(r) if r.is_read_closed() || r.is_error() => break,
            // Data for the protocol handler: forget this readiness and wait for the next change.
            Ok(_) => {
                let _ = socket.try_io(Interest::READABLE, || Err::<(), _>(std::io::ErrorKind::WouldBlock.into()));
            }
            Err(_) => break,
        }
    }
    let _ = gone.send(true);
}

fn timed_out(timeout: Duration) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "57014".into(),
        format!(
            "canceling statement due to statement timeout ({} s: statement_timeout, at most [serve] statement_timeout_secs)",
            timeout.as_secs_f64()
        ),
    )))
}

#[async_trait]
impl<S: SimpleQueryHandler> SimpleQueryHandler for Bounded<S> {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        crate::limits::check_text(&query.query, self.max_bytes)?;
        let timeout = self.timeout_of(client);
        self.bounded(timeout, self.inner.on_query(client, query)).await
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.inner.do_query(client, query).await
    }
}

#[async_trait]
impl<S: ExtendedQueryHandler> ExtendedQueryHandler for Bounded<S> {
    type Statement = S::Statement;
    type QueryParser = S::QueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.inner.query_parser()
    }

    /// Parse (and, through the hooks, plan) under the same bounds as execution.
    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        crate::limits::check_text(&message.query, self.max_bytes)?;
        let timeout = self.timeout_of(client);
        let parser = self.query_parser();
        let stored = self.bounded(timeout, StoredStatement::parse(client, &message, parser)).await?;
        match stored {
            Some(stmt) => client.portal_store().put_statement(Arc::new(stmt)),
            None => client.portal_store().put_empty_statement(message.name.as_deref().unwrap_or(DEFAULT_NAME)),
        }
        client.send(PgWireBackendMessage::ParseComplete(ParseComplete::new())).await?;
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let timeout = self.timeout_of(client);
        self.bounded(timeout, self.inner.on_execute(client, message)).await
    }

    async fn do_describe_statement<C>(
        &self,
        client: &mut C,
        target: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.inner.do_describe_statement(client, target).await
    }

    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        target: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.inner.do_describe_portal(client, target).await
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.inner.do_query(client, portal, max_rows).await
    }
}
