//! The canonical shapes of devex: the lake's tables (as Arrow schemas) and the
//! configuration. Every other crate speaks in these types, so a source, the
//! lake writer and the query layer cannot disagree on a column.
//!
//! ```
//! use devex_model::table::Table;
//! let t = Table::Deployments;
//! assert_eq!(t.name(), "deployments");
//! assert_eq!(t.event_time(), Some("finished_at"));
//! assert!(t.schema().field_with_name("month").is_ok());
//! ```

pub mod atomic;
pub mod config;
pub mod location;
pub mod plural;
pub mod row;
pub mod shell;
pub mod table;
pub mod timestamp;

pub use config::{Config, ConfigError};
pub use table::{Column, ColumnType, Table};
