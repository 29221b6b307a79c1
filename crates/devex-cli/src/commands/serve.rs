//! `devex serve`: the lake over the PostgreSQL wire protocol.

use devex_query::QuerySettings;
use devex_serve::{ServeOptions, Served, serve};

use super::window;
use crate::cli::ServeArgs;
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: ServeArgs) -> anyhow::Result<Outcome> {
    let cfg = &settings.config.serve;
    let qs = QuerySettings::from_config(&settings.config)?;
    let window = window::resolve(&args.window, qs.timezone, chrono::Utc::now())?;
    let listen = match args.listen {
        Some(a) => a,
        None => cfg.listen.parse()?,
    };
    let password = std::env::var(&cfg.password_env).ok().filter(|p| !p.is_empty());
    let opts = ServeOptions {
        listen,
        user: cfg.user.clone(),
        password,
        max_connections: cfg.max_connections,
        max_startups: cfg.max_startups,
        startup_timeout: std::time::Duration::from_secs(cfg.startup_timeout_secs),
        statement_timeout: std::time::Duration::from_secs(cfg.statement_timeout_secs),
        max_statement_bytes: cfg.max_statement_bytes,
        tls: cfg.tls_cert.clone().zip(cfg.tls_key.clone()),
    };
    if let Err(e) = opts.check() {
        return Err(Failure::error(e.to_string(), "see `devex serve --help`"));
    }
    if let Some((cert, key)) = &opts.tls {
        // Fail before opening the lake: a bad certificate never means clear text.
        devex_serve::check_tls(cert, key)
            .map_err(|e| Failure::error(e.to_string(), "check [serve] tls_cert and tls_key"))?;
    }
    let as_of = window::as_of(&args.window, qs.timezone)?;
    let memory = cfg.memory_limit_mb * 1024 * 1024;
    let served =
        Served::open(settings.data.clone(), as_of, &qs, window, window::group_by(args.by), Some(memory), &cfg.user)
            .await?;
    served.set_cache_mb(cfg.cache_mb);
    let tls = if opts.tls.is_some() { ", TLS only" } else { "" };
    let auth = if opts.password.is_some() {
        format!("user {}, password from ${} (SCRAM-SHA-256)", opts.user, cfg.password_env)
    } else {
        format!("user {}, no password (loopback only; set ${} to require one)", opts.user, cfg.password_env)
    };
    serve(&served, &opts, |addr| {
        eprintln!("devex serve: listening on {addr} ({auth}{tls}); lake {}", settings.data);
        eprintln!("  psql \"host={} port={} user={} dbname=devex\"", addr.ip(), addr.port(), opts.user);
    })
    .await?;
    Ok(Outcome::Success)
}
