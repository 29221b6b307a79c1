//! `devex sql`: ad-hoc SQL over the lake.

use std::io::Write;

use anyhow::Context;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use devex_query::{LakeSession, QuerySettings};

use super::window;

use crate::cli::{SqlArgs, SqlFormat};
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: SqlArgs) -> anyhow::Result<Outcome> {
    let query = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
        (None, None) => unreachable!("clap requires one"),
    };
    let qs = QuerySettings::from_config(&settings.config)?;
    let window = window::resolve(&args.window, qs.timezone, chrono::Utc::now())?;
    let lake = LakeSession::open_as_of(&settings.data_dir, window::as_of(&args.window, qs.timezone)?).await?;
    let ctx = lake.metrics_context(&qs, window, window::group_by(args.by)).await?;
    let batches = match ctx.sql(&query).await {
        Ok(df) => df.collect().await.map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    let batches = match batches {
        Ok(b) => b,
        Err(e) => return Err(Failure::error(format!("{}", e.root_cause()), tables_hint())),
    };
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            write(&batches, args.format, std::io::BufWriter::new(file))
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} rows to {}", batches.iter().map(RecordBatch::num_rows).sum::<usize>(), path.display());
        }
        None if args.format == SqlFormat::Parquet => {
            return Err(Failure::error("parquet output needs a file", "add --output FILE.parquet"));
        }
        None => write(&batches, args.format, std::io::stdout())?,
    }
    Ok(Outcome::Success)
}

fn tables_hint() -> String {
    let tables: Vec<String> = devex_model::Table::ALL
        .iter()
        .map(|t| {
            let cols: Vec<String> = t.schema().fields().iter().map(|f| f.name().clone()).collect();
            format!("{}({})", t.name(), cols.join(", "))
        })
        .collect();
    let views: Vec<&str> = devex_query::queries::FILES.iter().map(|(f, _)| *f).collect();
    format!("tables: {}; saved views: see queries/ ({})", tables.join("; "), views.join(", "))
}

fn write(batches: &[RecordBatch], format: SqlFormat, mut out: impl Write + Send) -> anyhow::Result<()> {
    match format {
        SqlFormat::Table => writeln!(out, "{}", pretty_format_batches(batches)?)?,
        SqlFormat::Csv => {
            let mut w = datafusion::arrow::csv::Writer::new(&mut out);
            for b in batches {
                w.write(b)?;
            }
        }
        SqlFormat::Json => {
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        SqlFormat::Parquet => {
            let Some(schema) = batches.first().map(RecordBatch::schema) else {
                return Err(Failure::error("the query returned no batches to write", "check the query"));
            };
            let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(out, schema, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
            return Ok(());
        }
    }
    out.flush()?;
    Ok(())
}
