//! polars frames to arrow-rs record batches through the Arrow C Data
//! Interface: no copy through files, and no second arrow version in the tree
//! (polars carries its own `polars-arrow`; the lake speaks arrow-rs 59).

use datafusion::arrow::array::{ArrayRef, RecordBatch, make_array};
use datafusion::arrow::compute::cast;
use devex_model::Table;
use polars::prelude::{CompatLevel, DataFrame, Series};

use crate::error::IngestError;

/// Convert a validated frame to a batch with exactly `table`'s lake schema.
///
/// Timestamps travel as `Int64` microseconds and strings as `Utf8View`; both
/// are cast to the schema's types on the arrow side.
pub fn to_record_batch(table: Table, df: &DataFrame) -> Result<RecordBatch, IngestError> {
    let schema = table.schema();
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let column =
                df.column(field.name()).map_err(|e| IngestError::internal("finding a column for the lake", e))?;
            let array = series_to_arrow(column.as_materialized_series())?;
            cast(&array, field.data_type()).map_err(|e| IngestError::internal("casting a column for the lake", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns).map_err(|e| IngestError::internal("building a record batch", e))
}

/// One polars series as an arrow-rs array, handed over through the C Data Interface.
pub fn series_to_arrow(series: &Series) -> Result<ArrayRef, IngestError> {
    let series = series.rechunk();
    let array = series.to_arrow(0, CompatLevel::newest());
    let field = polars_arrow::datatypes::Field::new(series.name().clone(), array.dtype().clone(), true);
    let c_array = polars_arrow::ffi::export_array_to_c(array);
    let c_schema = polars_arrow::ffi::export_field_to_c(&field);
    // SAFETY: both structs are the Arrow C Data Interface's `ArrowArray` and
    // `ArrowSchema`, `#[repr(C)]` with the same layout in polars-arrow and
    // arrow-rs; ownership (and the release callbacks) moves to arrow-rs here.
    let (ffi_array, ffi_schema) = unsafe {
        (
            std::mem::transmute::<polars_arrow::ffi::ArrowArray, arrow::ffi::FFI_ArrowArray>(c_array),
            std::mem::transmute::<polars_arrow::ffi::ArrowSchema, arrow::ffi::FFI_ArrowSchema>(c_schema),
        )
    };
    // SAFETY: the array and schema were exported just above and describe each other.
    let data = unsafe { arrow::ffi::from_ffi(ffi_array, &ffi_schema) }
        .map_err(|e| IngestError::internal("importing a polars array", e))?;
    Ok(make_array(data))
}
