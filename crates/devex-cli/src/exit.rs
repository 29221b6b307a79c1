//! Exit codes and how failures are printed: an `error:` line with the whole
//! cause chain, then a `hint:` line when there is an obvious next step.

use std::process::ExitCode;

use devex_ingest::IngestError;
use devex_lake::LakeError;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything landed.
    Success,
    /// Some rows were quarantined; the rest landed.
    Partial,
    /// Nothing changed: bad invocation, unreadable input, lock timeout, I/O.
    Failed,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        match o {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Partial => ExitCode::from(3),
            Outcome::Failed => ExitCode::from(2),
        }
    }
}

/// Print a failure and give its exit code. A closed standard output
/// (`devex sql ... | head`) is not a failure: the reader had what it wanted.
pub fn report(err: &anyhow::Error) -> Outcome {
    if is_broken_pipe(err) {
        return Outcome::Success;
    }
    eprintln!("error: {err:#}");
    let hint = err
        .chain()
        .find_map(|e| e.downcast_ref::<IngestError>().and_then(IngestError::hint))
        .or_else(|| err.chain().find_map(|e| e.downcast_ref::<LakeError>().and_then(LakeError::hint)))
        .or_else(|| err.chain().find_map(|e| e.downcast_ref::<devex_cluster::ClusterError>().and_then(|c| c.hint())))
        .or_else(|| err.chain().find_map(|e| e.downcast_ref::<Failure>().map(|f| f.hint.clone())));
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    Outcome::Failed
}

/// Whether the error is a write to a closed pipe (some writers, such as arrow's
/// CSV writer, keep only the OS error's text).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.to_string().contains("Broken pipe (os error 32)")
    })
}

/// A failure the CLI itself detected, with its hint.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// The obvious next step.
    pub hint: String,
}

impl Failure {
    /// An `anyhow::Error` carrying a message and a hint.
    pub fn error(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Failure { message: message.into(), hint: hint.into() })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// delta-rs logs routine internals (merge metrics, probing a new table) at
/// warn and error, and the AWS SDK warns as it walks its credential chain
/// (no instance metadata here, say); only real failures, which reach us as
/// errors, matter.
const DEFAULT_LOG_FILTER: &str = "warn,devex_serve=info,deltalake_core=off,buoyant_kernel=off,aws_config=error";

/// Logs to stderr; `RUST_LOG` sets the level (default: warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .try_init();
}
