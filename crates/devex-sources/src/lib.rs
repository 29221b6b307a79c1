//! devex's connectors: each reads one kind of tool into the contract's rows
//! and lands them through `devex_ingest` (validation, quarantine, one commit
//! per table), each behind the one trait `devex_ingest::source::Source`.
//!
//! - [`github`]: deployments, pull requests and incidents from GitHub (octocrab).
//! - [`gitlab`]: deployments, merge requests and incidents from GitLab.
//! - [`pagerduty`]: incidents from PagerDuty.
//! - [`surveys`]: survey responses from Typeform and Google Forms.
//! - [`files`]: export files dropped into an inbox, any table.
//!
//! They share [`http`] (retries, rate limits, where a token may go:
//! [`endpoint`]) and [`chain`] (which deployment shipped which commit).
//! [`from_config`] is the one list of source types: a new source is a config
//! struct, a module here and one line there.
//!
//! ```
//! use devex_model::Config;
//! let config = Config::from_toml_str(
//!     "[sources.exports]\ntype = \"files\"\ninbox = \"/var/lib/devex/inbox\"\n",
//! ).unwrap();
//! let sources = devex_sources::from_config(&config);
//! assert_eq!((sources[0].name(), sources[0].kind()), ("exports", "files"));
//! ```

pub mod chain;
pub mod endpoint;
pub mod files;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod pagerduty;
pub mod surveys;

use devex_ingest::source::Source;
use devex_model::Config;
use devex_model::config::SourceConfig;

/// The source a `[sources.<name>]` table configures: the one list of source types.
pub fn source(name: &str, config: &SourceConfig) -> Box<dyn Source> {
    let name = name.to_string();
    match config {
        SourceConfig::Github(cfg) => Box::new(github::Github { name, config: cfg.clone() }),
        SourceConfig::Gitlab(cfg) => Box::new(gitlab::Gitlab { name, config: cfg.clone() }),
        SourceConfig::Pagerduty(cfg) => Box::new(pagerduty::Pagerduty { name, config: cfg.clone() }),
        SourceConfig::Typeform(cfg) => Box::new(surveys::typeform::Typeform { name, config: cfg.clone() }),
        SourceConfig::GoogleForms(cfg) => Box::new(surveys::google_forms::GoogleForms { name, config: cfg.clone() }),
        SourceConfig::Files(cfg) => Box::new(files::Files { name, config: cfg.clone() }),
    }
}

/// Every source `config` configures, by name (the order they run in).
pub fn from_config(config: &Config) -> Vec<Box<dyn Source>> {
    config.sources.iter().map(|(name, c)| source(name, c)).collect()
}
