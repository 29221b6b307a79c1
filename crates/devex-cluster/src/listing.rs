//! The lake's tables as a cluster can be sent them. A delta-rs table
//! provider has no Ballista codec (delta-rs #4171, Ballista #1268), so each
//! table's snapshot is resolved here to its live Parquet files, and the table
//! becomes, per `month` partition, a `ListingTable` over exactly those files
//! with the partition's value as a literal column, all under one `UNION ALL`
//! view: plans the scheduler and executors decode with Ballista's own codec.
//! Files a commit removed, and files a writer left uncommitted, are not read.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use devex_lake::snapshot::{file_changing_feature, live_file_urls, live_files};
use devex_lake::table::{open_tables, table_name};
use devex_model::Table;
use devex_model::location::Location;
use devex_query::facts::Fact;
use devex_query::files::files_table;
use devex_query::{AsOf, QueryError, TableVersion};

use crate::ClusterError;

/// Every table of the lake at `root`, as of `as_of`, as providers Ballista
/// can ship, with the version each was read at.
pub async fn lake_tables(
    root: &Location,
    as_of: AsOf,
) -> Result<(Vec<(Table, Arc<dyn TableProvider>)>, Vec<TableVersion>), ClusterError> {
    let mut tables = Vec::new();
    let mut versions = Vec::new();
    for (table, delta) in open_tables(root, as_of).await? {
        let name = table_name(table, root);
        let (provider, version) = match delta {
            None => (Arc::new(EmptyTable::new(table.schema())) as Arc<dyn TableProvider>, None),
            Some(t) => {
                if let Some(feature) = file_changing_feature(&t, &name)? {
                    return Err(ClusterError::Unsupported { table: name, feature: feature.to_string() });
                }
                (files_table(table, live_files(&t, table, &name)?)?, t.version())
            }
        };
        tables.push((table, provider));
        versions.push(TableVersion { table, version });
    }
    Ok((tables, versions))
}

/// The lake's derived facts that carry a stamp, each a `ListingTable` over its
/// live files: a cluster session reads one in place of its view exactly when
/// a local session would (its stamp equals the snapshot's lineage).
pub async fn lake_facts(root: &Location) -> Result<Vec<Fact>, ClusterError> {
    let mut out = Vec::new();
    for name in devex_query::facts::FACTS {
        let Some(stored) = devex_lake::facts::open_fact(root, name).await? else { continue };
        let Some(stamp) = stored.stamp else { continue };
        let label = format!("{}/{name}", devex_lake::facts::FACTS_DIR);
        if let Some(feature) = file_changing_feature(&stored.table, &label)? {
            return Err(ClusterError::Unsupported { table: label, feature: feature.to_string() });
        }
        let schema = stored.table.table_provider().await.map_err(QueryError::from)?.schema();
        let files = live_file_urls(&stored.table, &label)?;
        let provider: Arc<dyn TableProvider> = if files.is_empty() {
            Arc::new(EmptyTable::new(schema))
        } else {
            let urls = files.iter().map(ListingTableUrl::parse).collect::<Result<Vec<_>, _>>()?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
            let config =
                ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
            Arc::new(ListingTable::try_new(config)?)
        };
        out.push(Fact { name: name.to_string(), stamp, provider, version: stored.table.version() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use datafusion::prelude::SessionContext;
    use devex_ingest::context::RunContext;
    use devex_ingest::import::ImportRequest;
    use devex_ingest::input::{InputFormat, InputSource};
    use devex_lake::lock::WriterLock;
    use devex_lake::writer::Lake;

    use super::*;

    /// Import deployments `(id, finished_at date)` in one commit.
    async fn import(lake: &Lake, lock: &WriterLock, rows: &[(&str, &str)]) {
        let mut csv = String::from("id,service,environment,status,finished_at\n");
        for (id, day) in rows {
            csv.push_str(&format!("{id},api,production,success,{day}\n"));
        }
        let req = ImportRequest {
            table: Table::Deployments,
            inputs: vec![InputSource::Memory {
                name: "d.csv".into(),
                format: InputFormat::Csv,
                bytes: csv.into_bytes(),
            }],
            run: RunContext::new("r", "file", chrono_tz::UTC),
        };
        devex_ingest::import::import(lake, lock, &req).await.unwrap();
    }

    async fn rows(provider: Arc<dyn TableProvider>, sql: &str) -> String {
        let ctx = SessionContext::new();
        ctx.register_table("d", provider).unwrap();
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
    }

    /// The tables a cluster is sent read what the Delta snapshot holds: each
    /// month's live files, with the partition's value in place, and not the
    /// files a later commit replaced.
    #[tokio::test]
    async fn a_listing_reads_the_snapshot_s_live_files_partition_by_partition() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
        import(&lake, &lock, &[("d1", "2026-03-04"), ("d2", "2026-03-05"), ("d3", "2026-04-01")]).await;
        // d1 again, moved to May: its March copy is in a file the MERGE replaced.
        import(&lake, &lock, &[("d1", "2026-05-02")]).await;

        let root = Location::Local(dir.path().into());
        let (tables, versions) = lake_tables(&root, AsOf::Latest).await.unwrap();
        let deployments_version = versions.iter().find(|v| v.table == Table::Deployments).unwrap().version;
        assert_eq!(deployments_version, lake.version(Table::Deployments).await.unwrap());
        let (_, provider) = tables.into_iter().find(|(t, _)| *t == Table::Deployments).unwrap();
        let text = rows(provider, "SELECT id, month FROM d ORDER BY id").await;
        assert_eq!(text.matches("| d").count(), 3, "{text}");
        assert!(text.contains("| d1 | 2026-05 |") && text.contains("| d3 | 2026-04 |"), "{text}");

        // As of the first version: the March copy of d1, and no May.
        let (tables, _) = lake_tables(&root, AsOf::Version(1)).await.unwrap();
        let (_, provider) = tables.into_iter().find(|(t, _)| *t == Table::Deployments).unwrap();
        let text = rows(provider, "SELECT id, month FROM d ORDER BY id").await;
        assert!(text.contains("| d1 | 2026-03 |") && !text.contains("2026-05"), "{text}");

        // A table never written is empty, with the contract's columns.
        let (tables, versions) = lake_tables(&root, AsOf::Latest).await.unwrap();
        assert_eq!(versions.iter().find(|v| v.table == Table::Incidents).unwrap().version, None);
        let (_, incidents) = tables.into_iter().find(|(t, _)| *t == Table::Incidents).unwrap();
        assert_eq!(incidents.schema().fields().len(), Table::Incidents.schema().fields().len());
    }
}
