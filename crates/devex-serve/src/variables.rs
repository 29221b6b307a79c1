//! What a client may `SET`, `RESET` and `SHOW`, in its own session only.
//!
//! Every connection plans and runs in a session of its own, derived from the
//! server's template ([`crate::Served`]): a `SET` changes that session and
//! nothing else. Only settings that are harmless to the client itself and
//! invisible to every other client may be changed:
//!
//! - the PostgreSQL session variables clients send on connect:
//!   `statement_timeout` (never above the server's `[serve]
//!   statement_timeout_secs`), `TimeZone` (UTC only: the wire sends every
//!   timestamp in UTC), `DateStyle`, `IntervalStyle`, `bytea_output`,
//!   `extra_float_digits` (how values are written), `application_name`,
//!   `search_path` (which schema unqualified names resolve in) and
//!   `client_encoding` (UTF8 only);
//! - a short list of DataFusion settings that change only how this client's
//!   own statements are parsed or explained ([`DATAFUSION`]).
//!
//! Everything else is refused with SQLSTATE 42501 and a message naming the
//! setting, most of all `datafusion.runtime.*` (the memory pool and caches
//! every client shares) and `datafusion.catalog.*` (the catalog every client
//! reads). A statement is never answered `SET` unless it took effect.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{DFSchema, ParamValues};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    ContextModifier, Expr, ObjectName, Reset, Set, Statement, TransactionAccessMode, TransactionIsolationLevel,
    TransactionMode,
};
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire;
use pgwire::api::ClientInfo;
use pgwire::api::Type;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::NoticeResponse;
use pgwire::messages::startup::ParameterStatus;

/// The client metadata key datafusion-postgres reads the statement timeout from (milliseconds).
pub const TIMEOUT_KEY: &str = "statement_timeout_ms";

/// DataFusion settings a client may change, each only for its own session:
/// they change how its own statements are parsed, batched or explained, and
/// nothing another client sees or shares.
pub const DATAFUSION: &[&str] = &[
    "datafusion.execution.batch_size",
    "datafusion.explain.format",
    "datafusion.explain.logical_plan_only",
    "datafusion.explain.physical_plan_only",
    "datafusion.explain.show_schema",
    "datafusion.explain.show_sizes",
    "datafusion.explain.show_statistics",
    "datafusion.sql_parser.enable_ident_normalization",
    "datafusion.sql_parser.parse_float_as_decimal",
];

/// Largest `datafusion.execution.batch_size` a client may ask for: DataFusion's
/// default is 8192; far larger batches allocate outside the shared memory pool.
const MAX_BATCH_SIZE: usize = 65_536;

/// The PostgreSQL variables a client may set, with how `SHOW ALL` describes them.
const POSTGRES: &[(&str, &str)] = &[
    ("application_name", "Sets the application name to be reported in statistics and logs."),
    ("bytea_output", "Sets the output format for bytea (hex or escape)."),
    ("client_encoding", "Sets the client's character set encoding (UTF8 only)."),
    ("DateStyle", "Sets the display format for date and time values."),
    ("extra_float_digits", "Sets the number of digits displayed for floating-point values (-15 to 3)."),
    ("IntervalStyle", "Sets the display format for interval values."),
    ("search_path", "Sets the schema search order for names that are not schema-qualified."),
    ("statement_timeout", "Sets the maximum allowed duration of any statement (at most the server's)."),
    ("TimeZone", "Sets the time zone for displaying and interpreting time stamps (UTC only)."),
];

/// Read-only values `SHOW` answers, for clients that ask on connect.
const READ_ONLY: &[(&str, &str, &str)] = &[
    ("default_transaction_read_only", "on", "Every devex serve transaction is read-only."),
    ("integer_datetimes", "on", "Datetimes are integer based."),
    ("is_superuser", "off", "Whether the current user is a superuser."),
    ("server_encoding", "UTF8", "The server's character set encoding."),
    ("standard_conforming_strings", "on", "'...' strings treat backslashes literally."),
    ("transaction_isolation", "read committed", "Each statement reads the newest committed snapshot."),
    ("transaction_read_only", "on", "Every devex serve transaction is read-only."),
];

/// Zone names that mean UTC.
const UTC_NAMES: &[&str] = &[
    "utc",
    "etc/utc",
    "gmt",
    "etc/gmt",
    "z",
    "zulu",
    "universal",
    "etc/universal",
    "uct",
    "etc/uct",
    "0",
    "+00",
    "+00:00",
    "-00",
    "default",
    "local",
];

/// The hook answering `SET`, `RESET` and `SHOW` for one connection's session.
pub struct Variables {
    /// The server's statement timeout: no client may set a longer one.
    pub limit: Duration,
    /// The server's session, for the defaults `RESET` restores.
    pub template: Arc<SessionContext>,
}

/// One assignment: the variable as written, and its value (`None`: DEFAULT).
struct Assignment {
    name: String,
    value: Option<String>,
}

fn error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".into(), code.into(), message)))
}

fn settable() -> String {
    let mut names: Vec<&str> = POSTGRES.iter().map(|(n, _)| *n).collect();
    names.extend(DATAFUSION);
    names.join(", ")
}

/// Refusal of a setting no client may change.
fn forbidden(name: &str, why: &str) -> PgWireError {
    error(
        "42501",
        format!("permission denied to set parameter \"{name}\": {why}; a client may set only {}", settable()),
    )
}

fn invalid(name: &str, value: &str, expected: &str) -> PgWireError {
    error("22023", format!("invalid value for parameter \"{name}\": \"{value}\" ({expected})"))
}

/// The text of a value as PostgreSQL reads it: `'x'`, `x` and `"x"` are all `x`.
fn text(expr: &Expr) -> String {
    match expr {
        Expr::Value(v) => v.clone().into_string().unwrap_or_else(|| v.to_string()),
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn values_text(values: &[Expr]) -> Option<String> {
    if let [Expr::Identifier(i)] = values
        && i.quote_style.is_none()
        && i.value.eq_ignore_ascii_case("default")
    {
        return None;
    }
    Some(values.iter().map(text).collect::<Vec<_>>().join(", "))
}

fn name_of(name: &ObjectName) -> String {
    name.0.iter().map(|p| p.to_string().trim_matches('"').to_string()).collect::<Vec<_>>().join(".")
}

/// What a `SET` statement assigns, or why it is refused.
fn assignments(set: &Set) -> PgWireResult<Vec<Assignment>> {
    let scope = |s: &Option<ContextModifier>| match s {
        None | Some(ContextModifier::Session) => Ok(()),
        Some(other) => Err(error(
            "0A000",
            format!("SET {other} is not supported by devex serve: use SET (it lasts for the session)"),
        )),
    };
    match set {
        Set::SingleAssignment { scope: s, hivevar: false, variable, values } => {
            scope(s)?;
            Ok(vec![Assignment { name: name_of(variable), value: values_text(values) }])
        }
        Set::MultipleAssignments { assignments } => assignments
            .iter()
            .map(|a| {
                scope(&a.scope)?;
                Ok(Assignment { name: name_of(&a.name), value: values_text(std::slice::from_ref(&a.value)) })
            })
            .collect(),
        Set::SetTimeZone { local: false, value } => {
            Ok(vec![Assignment { name: "TimeZone".into(), value: values_text(std::slice::from_ref(value)) }])
        }
        Set::SetNames { charset_name, collation_name: None } => {
            Ok(vec![Assignment { name: "client_encoding".into(), value: Some(charset_name.value.clone()) }])
        }
        Set::SetTransaction { modes, snapshot: None, .. } => {
            for mode in modes {
                match mode {
                    TransactionMode::AccessMode(TransactionAccessMode::ReadOnly)
                    | TransactionMode::IsolationLevel(
                        TransactionIsolationLevel::ReadCommitted | TransactionIsolationLevel::ReadUncommitted,
                    ) => {}
                    TransactionMode::AccessMode(TransactionAccessMode::ReadWrite) => {
                        return Err(error("25006", "devex serve is read-only: READ WRITE is refused".into()));
                    }
                    other => {
                        return Err(error(
                            "0A000",
                            format!(
                                "devex serve reads each statement's newest snapshot (READ COMMITTED): {other} is not supported"
                            ),
                        ));
                    }
                }
            }
            // Read-only, read committed: what every devex serve transaction already is.
            Ok(Vec::new())
        }
        other => Err(error(
            "42501",
            format!("`{other}` is not supported by devex serve; a client may set only {}", settable()),
        )),
    }
}

/// A `statement_timeout` value in milliseconds: an integer is milliseconds,
/// or a number with a unit (`ms`, `s`, `min`, `h`, `d`).
fn parse_timeout(value: &str) -> Option<u64> {
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: u64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn show_timeout(ms: u64) -> String {
    if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// `DateStyle`: an output style and/or an order, as PostgreSQL takes them.
fn parse_date_style(value: &str) -> Option<String> {
    let (mut style, mut order) = (None, None);
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.to_ascii_lowercase().as_str() {
            "iso" => style = Some("ISO"),
            "sql" => style = Some("SQL"),
            "postgres" => style = Some("Postgres"),
            "german" => style = Some("German"),
            "mdy" | "us" | "noneuropean" => order = Some("MDY"),
            "dmy" | "euro" | "european" => order = Some("DMY"),
            "ymd" => order = Some("YMD"),
            _ => return None,
        }
    }
    if style.is_none() && order.is_none() {
        return None;
    }
    Some(format!("{}, {}", style.unwrap_or("ISO"), order.unwrap_or("MDY")))
}

impl Variables {
    /// The value `SHOW` answers for a variable, `None` when it is unknown.
    fn current(&self, ctx: &SessionContext, client: &(dyn ClientInfo + Send + Sync), name: &str) -> Option<String> {
        let meta = client.metadata();
        let lower = name.to_ascii_lowercase();
        let get = |key: &str| meta.get(key).cloned();
        let value = match lower.as_str() {
            "statement_timeout" => {
                let ms = get(TIMEOUT_KEY).and_then(|v| v.parse::<u64>().ok());
                show_timeout(ms.unwrap_or(self.limit.as_millis() as u64))
            }
            "timezone" => "UTC".into(),
            "datestyle" => get("datestyle").unwrap_or_else(|| "ISO, MDY".into()),
            "intervalstyle" => get("intervalstyle").unwrap_or_else(|| "postgres".into()),
            "bytea_output" => get("bytea_output").unwrap_or_else(|| "hex".into()),
            "extra_float_digits" => get("extra_float_digits").unwrap_or_else(|| "1".into()),
            "application_name" => get("application_name").unwrap_or_default(),
            "search_path" => get("search_path").unwrap_or_else(|| "public".into()),
            "client_encoding" => "UTF8".into(),
            "server_version" => format!("16.6 (devex serve {})", env!("CARGO_PKG_VERSION")),
            _ if DATAFUSION.contains(&lower.as_str()) => df_value(ctx, &lower).unwrap_or_default(),
            _ => READ_ONLY.iter().find(|(n, _, _)| *n == lower).map(|(_, v, _)| v.to_string())?,
        };
        Some(value)
    }

    /// Apply one assignment to this connection's session.
    async fn assign(&self, ctx: &SessionContext, client: &mut dyn HookClient, a: &Assignment) -> PgWireResult<()> {
        let lower = a.name.to_ascii_lowercase();
        let value = a.value.as_deref();
        let remember = |client: &mut dyn HookClient, key: &str, v: Option<String>| match v {
            Some(v) => {
                client.metadata_mut().insert(key.to_string(), v);
            }
            None => {
                client.metadata_mut().remove(key);
            }
        };
        match lower.as_str() {
            "statement_timeout" => {
                let limit = self.limit.as_millis() as u64;
                let ms = match value {
                    None => limit,
                    Some(v) => parse_timeout(v)
                        .ok_or_else(|| invalid(&a.name, v, "milliseconds, or a number with ms, s, min, h or d"))?,
                };
                // 0 means "no limit of the client's own": the server's still applies.
                let effective = if ms == 0 { limit } else { ms.min(limit) };
                if ms > limit {
                    notice(
                        client,
                        format!(
                            "statement_timeout is capped at the server's {} ([serve] statement_timeout_secs)",
                            show_timeout(limit)
                        ),
                    )
                    .await?;
                }
                remember(client, TIMEOUT_KEY, Some(effective.to_string()));
                return Ok(());
            }
            "timezone" | "time zone" => {
                if let Some(v) = value
                    && !UTC_NAMES.contains(&v.trim().to_ascii_lowercase().as_str())
                {
                    return Err(error(
                        "0A000",
                        format!(
                            "devex serve sends every timestamp in UTC, so TimeZone \"{v}\" would be ignored and is refused; \
                             convert in SQL instead: ts AT TIME ZONE '{v}'"
                        ),
                    ));
                }
                return status(client, "TimeZone", "UTC").await;
            }
            "client_encoding" => {
                if let Some(v) = value
                    && !matches!(v.trim().to_ascii_lowercase().replace('-', "").as_str(), "utf8" | "unicode")
                {
                    return Err(error(
                        "0A000",
                        format!("devex serve speaks UTF8 only: client_encoding \"{v}\" is refused"),
                    ));
                }
                return status(client, "client_encoding", "UTF8").await;
            }
            "datestyle" => {
                let v =
                    match value {
                        None => None,
                        Some(v) => Some(parse_date_style(v).ok_or_else(|| {
                            invalid(&a.name, v, "ISO, SQL, Postgres or German, and/or MDY, DMY or YMD")
                        })?),
                    };
                remember(client, "datestyle", v);
                let shown = self.current(ctx, &*client, "datestyle").unwrap_or_default();
                return status(client, "DateStyle", &shown).await;
            }
            "intervalstyle" => {
                let v = one_of(&a.name, value, &["postgres", "postgres_verbose", "sql_standard", "iso_8601"])?;
                remember(client, "intervalstyle", v);
                let shown = self.current(ctx, &*client, "intervalstyle").unwrap_or_default();
                return status(client, "IntervalStyle", &shown).await;
            }
            "bytea_output" => {
                let v = one_of(&a.name, value, &["hex", "escape"])?;
                remember(client, "bytea_output", v);
                return Ok(());
            }
            "extra_float_digits" => {
                let v = match value {
                    None => None,
                    Some(v) => match v.trim().parse::<i8>() {
                        Ok(n) if (-15..=3).contains(&n) => Some(n.to_string()),
                        _ => return Err(invalid(&a.name, v, "an integer from -15 to 3")),
                    },
                };
                remember(client, "extra_float_digits", v);
                return Ok(());
            }
            "application_name" => {
                // As PostgreSQL: printable ASCII, at most 63 bytes.
                let v = value.map(|v| {
                    v.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).take(63).collect()
                });
                remember(client, "application_name", v);
                let shown = self.current(ctx, &*client, "application_name").unwrap_or_default();
                return status(client, "application_name", &shown).await;
            }
            "search_path" => {
                let (schema, shown) = match value {
                    None => (default_schema(&self.template), "public".to_string()),
                    Some(v) => (search_path_schema(ctx, v)?, v.to_string()),
                };
                set_df(ctx, "datafusion.catalog.default_schema", &schema).map_err(|e| invalid(&a.name, &shown, &e))?;
                remember(client, "search_path", Some(shown));
                return Ok(());
            }
            _ => {}
        }
        if DATAFUSION.contains(&lower.as_str()) {
            let v = match value {
                Some(v) => v.to_string(),
                None => df_value(&self.template, &lower).unwrap_or_default(),
            };
            if lower == "datafusion.execution.batch_size"
                && !v.trim().parse::<usize>().is_ok_and(|n| (1..=MAX_BATCH_SIZE).contains(&n))
            {
                return Err(invalid(&a.name, &v, &format!("an integer from 1 to {MAX_BATCH_SIZE}")));
            }
            return set_df(ctx, &lower, &v).map_err(|e| invalid(&a.name, &v, &e));
        }
        Err(refusal(ctx, &a.name))
    }

    /// `SHOW name`: one row, or every variable for `SHOW ALL`.
    fn show(
        &self,
        ctx: &SessionContext,
        client: &(dyn ClientInfo + Send + Sync),
        name: &str,
    ) -> PgWireResult<Response> {
        if name.eq_ignore_ascii_case("all") {
            let rows = self.all(ctx, client);
            return Ok(Response::Query(rows_response(&["name", "setting", "description"], rows)?));
        }
        let value = self.current(ctx, client, name).ok_or_else(|| unrecognized(name))?;
        let column = name.to_ascii_lowercase();
        Ok(Response::Query(rows_response(&[column.as_str()], vec![vec![value]])?))
    }

    fn all(&self, ctx: &SessionContext, client: &(dyn ClientInfo + Send + Sync)) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = Vec::new();
        for (name, describe) in POSTGRES {
            rows.push(vec![
                name.to_string(),
                self.current(ctx, client, name).unwrap_or_default(),
                describe.to_string(),
            ]);
        }
        let entries = ctx.state().config().options().entries();
        for key in DATAFUSION {
            let describe = entries.iter().find(|e| e.key == *key).map(|e| e.description).unwrap_or_default();
            rows.push(vec![key.to_string(), df_value(ctx, key).unwrap_or_default(), describe.to_string()]);
        }
        for (name, value, describe) in READ_ONLY {
            rows.push(vec![name.to_string(), value.to_string(), describe.to_string()]);
        }
        rows.push(vec![
            "server_version".into(),
            self.current(ctx, client, "server_version").unwrap_or_default(),
            "The server's version.".into(),
        ]);
        rows.sort_by_key(|r| r[0].to_ascii_lowercase());
        rows
    }

    /// `RESET name` or `RESET ALL`.
    async fn reset(&self, ctx: &SessionContext, client: &mut dyn HookClient, which: &Reset) -> PgWireResult<()> {
        let names: Vec<String> = match which {
            Reset::ALL => {
                POSTGRES.iter().map(|(n, _)| n.to_string()).chain(DATAFUSION.iter().map(|n| n.to_string())).collect()
            }
            Reset::ConfigurationParameter(name) => vec![name_of(name)],
        };
        for name in names {
            self.assign(ctx, client, &Assignment { name, value: None }).await?;
        }
        Ok(())
    }
}

/// Why a setting outside the lists is refused.
fn refusal(ctx: &SessionContext, name: &str) -> PgWireError {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("datafusion.runtime.") {
        return forbidden(
            name,
            "the server's memory pool, spill files and caches are shared by every client ([serve] memory_limit_mb)",
        );
    }
    if lower.starts_with("datafusion.catalog.") {
        return forbidden(name, "the catalog is shared by every client");
    }
    if lower == "datafusion.execution.time_zone" {
        return forbidden(name, "it breaks to_timestamp() in this DataFusion; convert with AT TIME ZONE in SQL");
    }
    if lower.starts_with("datafusion.") {
        if df_value(ctx, &lower).is_none() && !ctx.state().config().options().entries().iter().any(|e| e.key == lower) {
            return unrecognized(name);
        }
        return forbidden(name, "it is the server's to choose");
    }
    forbidden(name, "devex serve does not let clients change it")
}

fn unrecognized(name: &str) -> PgWireError {
    error(
        "42704",
        format!("unrecognized configuration parameter \"{name}\"; SHOW ALL lists the ones devex serve knows"),
    )
}

fn one_of(name: &str, value: Option<&str>, allowed: &[&str]) -> PgWireResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) => {
            let lower = v.trim().to_ascii_lowercase();
            if allowed.contains(&lower.as_str()) {
                Ok(Some(lower))
            } else {
                Err(invalid(name, v, &format!("one of {}", allowed.join(", "))))
            }
        }
    }
}

fn df_value(ctx: &SessionContext, key: &str) -> Option<String> {
    let state = ctx.state_ref();
    let state = state.read();
    state.config().options().entries().into_iter().find(|e| e.key == key).map(|e| e.value.unwrap_or_default())
}

fn set_df(ctx: &SessionContext, key: &str, value: &str) -> Result<(), String> {
    let state = ctx.state_ref();
    let mut state = state.write();
    state.config_mut().options_mut().set(key, value).map_err(|e| e.to_string())
}

fn default_schema(ctx: &SessionContext) -> String {
    ctx.state().config().options().catalog.default_schema.clone()
}

/// The schema a `search_path` resolves unqualified names in: its first entry
/// that exists (`"$user"` never does); none existing is an error.
fn search_path_schema(ctx: &SessionContext, path: &str) -> PgWireResult<String> {
    let options = ctx.state().config().options().catalog.clone();
    let mut schemas = ctx.catalog(&options.default_catalog).map(|c| c.schema_names()).unwrap_or_default();
    // DataFusion provides it beside the catalog's own schemas.
    if options.information_schema {
        schemas.push("information_schema".into());
    }
    for entry in path.split(',').map(|s| s.trim().trim_matches('"').trim_matches('\'')) {
        if let Some(found) = schemas.iter().find(|s| s.eq_ignore_ascii_case(entry)) {
            return Ok(found.clone());
        }
    }
    let mut known = schemas;
    known.sort();
    Err(error("3F000", format!("no schema of search_path \"{path}\" exists; the schemas are {}", known.join(", "))))
}

async fn status(client: &mut dyn HookClient, name: &str, value: &str) -> PgWireResult<()> {
    client.send_message(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name.into(), value.into()))).await
}

async fn notice(client: &mut dyn HookClient, message: String) -> PgWireResult<()> {
    let info = ErrorInfo::new("NOTICE".into(), "01000".into(), message);
    client.send_message(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(info))).await
}

/// A result of text columns.
fn rows_response(columns: &[&str], rows: Vec<Vec<String>>) -> PgWireResult<QueryResponse> {
    let fields: Arc<Vec<FieldInfo>> = Arc::new(
        columns.iter().map(|c| FieldInfo::new(c.to_string(), None, None, Type::TEXT, FieldFormat::Text)).collect(),
    );
    let mut encoded = Vec::with_capacity(rows.len());
    for row in rows {
        let mut encoder = DataRowEncoder::new(Arc::clone(&fields));
        for value in row {
            encoder.encode_field(&Some(value))?;
        }
        encoded.push(Ok(encoder.take_row()));
    }
    Ok(QueryResponse::new(fields, Box::pin(futures::stream::iter(encoded))))
}

/// The schema `SHOW name` describes in the extended protocol.
fn show_plan(name: &str) -> PgWireResult<LogicalPlan> {
    let fields: Vec<Field> = if name.eq_ignore_ascii_case("all") {
        ["name", "setting", "description"].iter().map(|c| Field::new(*c, DataType::Utf8, false)).collect()
    } else {
        vec![Field::new(name.to_ascii_lowercase(), DataType::Utf8, false)]
    };
    let schema = DFSchema::try_from(Schema::new(fields)).map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    Ok(LogicalPlan::EmptyRelation(EmptyRelation { produce_one_row: true, schema: Arc::new(schema) }))
}

fn no_rows() -> LogicalPlan {
    LogicalPlan::EmptyRelation(EmptyRelation { produce_one_row: false, schema: Arc::new(DFSchema::empty()) })
}

/// The variable `SHOW` names: `SHOW datafusion.execution.batch_size` arrives
/// as three words, `SHOW TIME ZONE` as two.
fn shown_name(words: &[datafusion::sql::sqlparser::ast::Ident]) -> String {
    let words: Vec<&str> = words.iter().map(|w| w.value.as_str()).collect();
    match words.as_slice() {
        [first, ..] if first.eq_ignore_ascii_case("datafusion") => words.join("."),
        [t, z] if t.eq_ignore_ascii_case("time") && z.eq_ignore_ascii_case("zone") => "TimeZone".into(),
        [t, i, l]
            if t.eq_ignore_ascii_case("transaction")
                && i.eq_ignore_ascii_case("isolation")
                && l.eq_ignore_ascii_case("level") =>
        {
            "transaction_isolation".into()
        }
        _ => words.join(" "),
    }
}

impl Variables {
    async fn run(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match statement {
            Statement::Set(set) => Some(self.run_set(set, ctx, client).await),
            Statement::Reset(r) => {
                Some(self.reset(ctx, client, &r.reset).await.map(|()| Response::Execution(Tag::new("RESET"))))
            }
            Statement::ShowVariable { variable } => Some(self.show(ctx, &*client, &shown_name(variable))),
            _ => None,
        }
    }

    async fn run_set(&self, set: &Set, ctx: &SessionContext, client: &mut dyn HookClient) -> PgWireResult<Response> {
        let all = assignments(set)?;
        // Check every assignment first: a refused one leaves the session as it was.
        for a in &all {
            self.check(ctx, a)?;
        }
        for a in &all {
            self.assign(ctx, client, a).await?;
        }
        Ok(Response::Execution(Tag::new("SET")))
    }

    /// Whether an assignment names a variable a client may set (values are checked when applied).
    fn check(&self, ctx: &SessionContext, a: &Assignment) -> PgWireResult<()> {
        let lower = a.name.to_ascii_lowercase();
        if lower == "time zone"
            || POSTGRES.iter().any(|(n, _)| n.eq_ignore_ascii_case(&lower))
            || DATAFUSION.contains(&lower.as_str())
        {
            return Ok(());
        }
        Err(refusal(ctx, &a.name))
    }
}

#[async_trait]
impl QueryHook for Variables {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.run(statement, ctx, client).await
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match statement {
            Statement::Set(set) => Some(assignments(set).and_then(|all| {
                all.iter().try_for_each(|a| self.check(ctx, a))?;
                Ok(no_rows())
            })),
            Statement::Reset(_) => Some(Ok(no_rows())),
            Statement::ShowVariable { variable } => Some(show_plan(&shown_name(variable))),
            _ => None,
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.run(statement, ctx, client).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_postgresql_reads_them() {
        assert_eq!(parse_timeout("5000"), Some(5000));
        assert_eq!(parse_timeout("5s"), Some(5000));
        assert_eq!(parse_timeout("250ms"), Some(250));
        assert_eq!(parse_timeout("2min"), Some(120_000));
        assert_eq!(parse_timeout("0"), Some(0));
        assert_eq!(parse_timeout("soon"), None);
        assert_eq!(parse_timeout("5 weeks"), None);
        assert_eq!(show_timeout(60_000), "60s");
        assert_eq!(show_timeout(1500), "1500ms");
    }

    #[test]
    fn date_styles_are_normalised_or_refused() {
        assert_eq!(parse_date_style("ISO, DMY").as_deref(), Some("ISO, DMY"));
        assert_eq!(parse_date_style("german").as_deref(), Some("German, MDY"));
        assert_eq!(parse_date_style("European").as_deref(), Some("ISO, DMY"));
        assert_eq!(parse_date_style("ISO, nonsense"), None);
        assert_eq!(parse_date_style(""), None);
    }

    #[test]
    fn show_names_join_as_written() {
        use datafusion::sql::sqlparser::ast::Ident;
        let words = |s: &str| s.split(' ').map(Ident::new).collect::<Vec<_>>();
        assert_eq!(shown_name(&words("datafusion execution batch_size")), "datafusion.execution.batch_size");
        assert_eq!(shown_name(&words("time zone")), "TimeZone");
        assert_eq!(shown_name(&words("transaction isolation level")), "transaction_isolation");
        assert_eq!(shown_name(&words("search_path")), "search_path");
    }
}
