//! A lake table read from a given set of its Parquet files rather than
//! through delta-rs: the form a cluster can be sent (a delta-rs provider has
//! no Ballista codec), and the form a fact's incremental refresh reads the
//! rows a commit appended in.
//!
//! ```
//! use std::collections::BTreeMap;
//! use devex_model::Table;
//! // No file: an empty table with the contract's columns.
//! let provider = devex_query::files::files_table(Table::Changes, BTreeMap::new()).unwrap();
//! assert_eq!(provider.schema().fields().len(), Table::Changes.schema().fields().len());
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, col, lit};
use devex_model::Table;

use crate::error::QueryError;

/// `table` over exactly `files` (URLs, grouped by the value of the table's
/// partition column, as `devex_lake::snapshot::live_files` gives them): per
/// partition a `ListingTable` with the partition's value as a literal
/// column, all under one `UNION ALL`, the contract's columns in order.
pub fn files_table(
    table: Table,
    files: BTreeMap<Option<String>, Vec<String>>,
) -> Result<Arc<dyn TableProvider>, QueryError> {
    let schema = table.schema();
    if files.is_empty() {
        return Ok(Arc::new(EmptyTable::new(schema)));
    }
    let partition = table.partition_columns().first().copied();
    let file_schema = Arc::new(datafusion::arrow::datatypes::Schema::new(
        schema.fields().iter().filter(|f| Some(f.name().as_str()) != partition).cloned().collect::<Vec<_>>(),
    ));
    let mut union: Option<LogicalPlanBuilder> = None;
    for (value, paths) in files {
        let urls = paths.iter().map(ListingTableUrl::parse).collect::<Result<Vec<_>, _>>()?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(Arc::clone(&file_schema));
        let scan = Arc::new(ListingTable::try_new(config)?);
        // The contract's columns in order, the partition's value in its place.
        let columns: Vec<Expr> = schema
            .fields()
            .iter()
            .map(|f| match partition {
                Some(p) if f.name() == p => lit(datafusion::common::ScalarValue::Utf8(value.clone())).alias(p),
                _ => col(format!("\"{}\"", f.name())),
            })
            .collect();
        let plan = LogicalPlanBuilder::scan(table.name(), provider_as_source(scan), None)?.project(columns)?;
        union = Some(match union {
            None => plan,
            Some(u) => u.union(plan.build()?)?,
        });
    }
    let plan = union.expect("at least one partition").build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}
