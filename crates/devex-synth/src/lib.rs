//! A seeded generator of a realistic organisation: teams, services, their
//! deployments, commits, incidents, survey waves and platform adoption over a
//! number of quarters, with services moving onto the platform at different
//! times and a J-curve around each move (delivery dips for a quarter or two,
//! then improves beyond the baseline).
//!
//! The same options always produce the same bytes, so `sample-data/` is
//! reproducible (`just sample`) and checked by a test.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("devex-synth-doc-{}", std::process::id()));
//! let stats = devex_synth::generate(&devex_synth::Options { quarters: 2, ..Default::default() }, &dir).unwrap();
//! assert!(stats.deployments > 0 && stats.changes > stats.deployments);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod history;
mod org;
mod rng;
mod write;

pub use history::generate;
pub use org::{Options, Stats};
