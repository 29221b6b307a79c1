//! Settings in two steps: the config file chosen and parsed (what the user
//! wrote), then resolved against flags and environment into paths and values
//! the commands use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use devex_lake::writer::Lake;
use devex_model::Config;
use devex_model::location::Location;

use crate::exit::Failure;

use crate::cli::GlobalArgs;

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration in force.
    pub config: Config,
    /// Where the lake is (`--data`): a directory, or a URL on object storage.
    pub data: Location,
    /// How long to wait for the writer lock.
    pub lock_timeout: Duration,
    /// The Ballista scheduler queries run on (`--cluster`), if any.
    pub cluster: Option<String>,
}

/// `--config FILE`, else `$DEVEX_CONFIG`, else `./devex.toml` if present.
pub fn config_path(global: &GlobalArgs) -> Option<PathBuf> {
    global
        .config
        .clone()
        .or_else(|| std::env::var_os("DEVEX_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("devex.toml")).filter(|p| p.is_file()))
}

impl Settings {
    /// Read the config and resolve the data dir and lock timeout.
    pub fn resolve(global: &GlobalArgs) -> anyhow::Result<Settings> {
        let config_path = config_path(global);
        let config = match &config_path {
            Some(p) => load(p)?,
            None => Config::default(),
        };
        let data = global
            .data
            .clone()
            .or_else(|| std::env::var_os("DEVEX_DATA").filter(|v| !v.is_empty()).map(PathBuf::from))
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("devex-data"));
        let data = Location::from_path(&data)
            .map_err(|e| Failure::error(format!("--data: {e}"), "give a directory, or s3://bucket/prefix"))?;
        let lock_timeout = Duration::from_secs(global.lock_timeout.unwrap_or(config.lake.lock_timeout_secs));
        let cluster = global.cluster.clone().filter(|c| !c.trim().is_empty());
        if let Some(url) = &cluster {
            devex_cluster::scheduler_address(url)?;
        }
        Ok(Settings { config, data, lock_timeout, cluster })
    }

    /// The lake's local directory, for the commands that need one (`demo`).
    /// A lake on object storage is refused here, before anything is created:
    /// a URL never becomes a local path.
    pub fn data_dir(&self) -> anyhow::Result<&Path> {
        match &self.data {
            Location::Local(p) => Ok(p),
            Location::Remote(url) => Err(Failure::error(
                format!("the lake at {url} is on object storage, which this command cannot use"),
                "give --data a local directory here; every other command takes an s3://, gs:// or az:// URL",
            )),
        }
    }

    /// The lake, for reading: a directory or object storage, its queries run
    /// here or, with `--cluster`, on the cluster.
    pub async fn open_lake(&self, as_of: devex_query::AsOf) -> anyhow::Result<devex_query::LakeSession> {
        match &self.cluster {
            Some(url) => Ok(devex_cluster::lake_session(url, &self.data, as_of).await?),
            None => Ok(devex_query::LakeSession::open_at(&self.data, as_of, None).await?),
        }
    }

    /// The lake writer for `--data` (a directory or object storage), keeping
    /// `lake.retention_days` of history.
    pub fn lake(&self) -> anyhow::Result<Lake> {
        Ok(Lake::at(self.data.clone())
            .with_retention_days(self.config.lake.retention_days)
            .with_import_memory_mb(self.config.lake.import_memory_mb))
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
    Config::from_toml_str(&text).with_context(|| format!("config {}", path.display()))
}
