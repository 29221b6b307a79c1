//! `devex init`: write the commented default configuration.

use std::path::PathBuf;

use anyhow::Context;
use devex_model::Config;

use crate::cli::{GlobalArgs, InitArgs};
use crate::exit::{Failure, Outcome};

pub fn run(global: &GlobalArgs, args: &InitArgs) -> anyhow::Result<Outcome> {
    let path = args.path.clone().or_else(|| global.config.clone()).unwrap_or_else(|| PathBuf::from("devex.toml"));
    if path.exists() && !args.force {
        return Err(Failure::error(
            format!("{} already exists", path.display()),
            "pass --force to overwrite it, or give another path",
        ));
    }
    std::fs::write(&path, Config::template()).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(Outcome::Success)
}
