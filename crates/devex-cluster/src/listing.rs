//! The lake's tables as a cluster can be sent them. A delta-rs table
//! provider has no Ballista codec (delta-rs #4171, Ballista #1268), so each
//! table's snapshot is resolved here to its live Parquet files, and the table
//! becomes, per `month` partition, a `ListingTable` over exactly those files
//! with the partition's value as a literal column, all under one `UNION ALL`
//! view: plans the scheduler and executors decode with Ballista's own codec.
//! Files a commit removed, and files a writer left uncommitted, are not read.

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
use devex_model::location::Location;
use devex_query::{AsOf, TableVersion};

use crate::ClusterError;

/// Every table of the lake at `root`, as of `as_of`, as providers Ballista
/// can ship, with the version each was read at.
pub async fn lake_tables(
    root: &Location,
    as_of: AsOf,
) -> Result<(Vec<(Table, Arc<dyn TableProvider>)>, Vec<TableVersion>), ClusterError> {
    let mut tables = Vec::new();
    let mut versions = Vec::new();
    for (table, delta) in devex_query::session::open_tables(root, as_of).await? {
        let name = devex_query::session::table_name(table, root);
        let (provider, version) = match delta {
            None => (Arc::new(EmptyTable::new(table.schema())) as Arc<dyn TableProvider>, None),
            Some(t) => {
                refuse_unsupported(&t, &name)?;
                let snapshot = t.snapshot().map_err(|e| ClusterError::lake(&name, e))?;
                let mut files: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
                for file in snapshot.log_data().iter() {
                    let partition = table
                        .partition_columns()
                        .first()
                        .and_then(|c| file.partition_values_map().get(*c).cloned().flatten());
                    let path = deltalake::Path::from_url_path(file.path().as_ref())
                        .map_err(|e| ClusterError::Plan(format!("{name}: {e}")))?;
                    files.entry(partition).or_default().push(t.log_store().to_uri(&path));
                }
                (listing(table, files)?, t.version())
            }
        };
        tables.push((table, provider));
        versions.push(TableVersion { table, version });
    }
    Ok((tables, versions))
}

/// Deletion vectors and column mapping change what a file's rows mean; a
/// plain Parquet scan would read them wrong.
fn refuse_unsupported(t: &deltalake::DeltaTable, name: &str) -> Result<(), ClusterError> {
    let snapshot = t.snapshot().map_err(|e| ClusterError::lake(name, e))?;
    let protocol = serde_json::to_value(snapshot.protocol()).unwrap_or_default();
    let features: Vec<String> = protocol["readerFeatures"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let config = snapshot.metadata().configuration();
    let mapping = config.get("delta.columnMapping.mode").is_some_and(|m| m != "none");
    let vectors = config.get("delta.enableDeletionVectors").is_some_and(|v| v == "true");
    for (feature, on) in [("deletionVectors", vectors), ("columnMapping", mapping)] {
        if on || features.iter().any(|f| f == feature) {
            return Err(ClusterError::Unsupported { table: name.to_string(), feature: feature.to_string() });
        }
    }
    Ok(())
}

/// One table over its live files, grouped by partition value.
fn listing(table: Table, files: BTreeMap<Option<String>, Vec<String>>) -> Result<Arc<dyn TableProvider>, ClusterError> {
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
