//! Exact percentiles that hold each value once.
//!
//! `percentile_cont` must keep every value of a group until the group is
//! complete. DataFusion's own accumulator keeps them in a growing `Vec` per
//! group (up to twice their size), and its plan aggregates twice: each input
//! partition collects its values, hands them on as a list, and a second
//! aggregate copies them again. Over the 19.4M changes of `docs/scale.md`,
//! `lead_time_summary`'s six percentiles peaked at three times their values.
//!
//! devex's sessions replace it with [`percentile_cont`] and [`SinglePass`]:
//! - the same function, with the same arithmetic (the same interpolation, the
//!   same order), whose values are kept in chunks that are never copied to
//!   grow;
//! - a plan rule that aggregates every grouped `percentile_cont` in one step
//!   over input hash-partitioned by group, so that no value is handed on.
//!
//! Neither changes a result: the percentile of a set of values does not depend
//! on the order they arrive in, and what else those aggregates compute is
//! counted or summed as integers.

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, ListArray, PrimitiveArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::functions_aggregate::percentile_cont::PercentileCont;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature,
};
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};

/// DataFusion's interpolation weight is quantised to this many steps
/// (`datafusion-functions-aggregate`'s `INTERPOLATION_PRECISION`).
const INTERPOLATION_PRECISION: f64 = 1_000_000.0;

/// The most values a chunk holds (32 KiB). A group's chunks start small and
/// double up to this, so a small group wastes little and a large one at most
/// one chunk.
const CHUNK: usize = 4096;

/// `percentile_cont` (and its alias `quantile_cont`), as DataFusion defines it,
/// with [`Chunks`] for the values of a grouped aggregate over `DOUBLE`.
/// Anything else (no groups, `DISTINCT`, other types) is DataFusion's own.
pub fn percentile_cont() -> AggregateUDF {
    AggregateUDF::new_from_impl(ChunkedPercentileCont { inner: PercentileCont::new() })
}

#[derive(PartialEq, Eq, Hash, Debug)]
struct ChunkedPercentileCont {
    inner: PercentileCont,
}

impl AggregateUDFImpl for ChunkedPercentileCont {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.accumulator(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        match (args.expr_fields[0].data_type(), percentile_of(&args)) {
            (DataType::Float64, Some(percentile)) if !args.is_distinct => Ok(Box::new(Chunks::new(percentile))),
            _ => self.inner.create_groups_accumulator(args),
        }
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        self.inner.simplify()
    }

    fn supports_within_group_clause(&self) -> bool {
        self.inner.supports_within_group_clause()
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// The percentile a `percentile_cont` computes, turned for a descending order;
/// `None` when it is not a literal in 0..=1 (DataFusion's own reports that).
fn percentile_of(args: &AccumulatorArgs) -> Option<f64> {
    let literal = args.exprs.get(1)?.downcast_ref::<Literal>()?;
    let percentile = match *literal.value() {
        ScalarValue::Float64(Some(p)) => p,
        ScalarValue::Float32(Some(p)) => f64::from(p),
        _ => return None,
    };
    if !(0.0..=1.0).contains(&percentile) {
        return None;
    }
    let descending = args.order_bys.first().is_some_and(|s| s.options.descending);
    Some(if descending { 1.0 - percentile } else { percentile })
}

/// Each group's values, in chunks that are filled and never moved.
#[derive(Debug)]
struct Chunks {
    groups: Vec<Vec<Vec<f64>>>,
    /// What the chunks of `groups` take, kept as they are added and taken:
    /// [`GroupsAccumulator::size`] is asked after every batch.
    bytes: usize,
    percentile: f64,
}

impl Chunks {
    fn new(percentile: f64) -> Chunks {
        Chunks { groups: Vec::new(), bytes: 0, percentile }
    }

    /// Add `value` to `chunks`; the bytes a new chunk took (0 if none was needed).
    fn push(chunks: &mut Vec<Vec<f64>>, value: f64) -> usize {
        match chunks.last_mut() {
            Some(last) if last.len() < last.capacity() => {
                last.push(value);
                0
            }
            last => {
                let capacity = last.map_or(8, |c| (c.capacity() * 2).min(CHUNK));
                let mut chunk = Vec::with_capacity(capacity);
                chunk.push(value);
                chunks.push(chunk);
                Chunks::bytes(capacity)
            }
        }
    }

    /// What a chunk of `capacity` values takes, with its place in its group's list.
    fn bytes(capacity: usize) -> usize {
        capacity * size_of::<f64>() + size_of::<Vec<f64>>()
    }

    /// Take the groups `emit_to` names, and forget what their chunks took.
    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<Vec<f64>>> {
        let groups = emit_to.take_needed(&mut self.groups);
        let taken: usize = groups.iter().flatten().map(|c| Chunks::bytes(c.capacity())).sum();
        self.bytes -= taken;
        groups
    }

    /// The values of `chunks` in one buffer, each chunk freed once copied.
    fn flatten(chunks: Vec<Vec<f64>>, into: &mut Vec<f64>) {
        for chunk in chunks {
            into.extend_from_slice(&chunk);
        }
    }
}

impl GroupsAccumulator for Chunks {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let values = values[0].as_primitive::<Float64Type>();
        self.groups.resize_with(total_num_groups, Vec::new);
        let taken = |i: usize| values.is_valid(i) && opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i));
        for (i, (&group, &value)) in group_indices.iter().zip(values.values().iter()).enumerate() {
            if taken(i) {
                self.bytes += Chunks::push(&mut self.groups[group], value);
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let lists = values[0].as_list::<i32>();
        self.groups.resize_with(total_num_groups, Vec::new);
        for (&group, list) in group_indices.iter().zip(lists.iter()) {
            if let Some(list) = list {
                for &value in list.as_primitive::<Float64Type>().values().iter() {
                    self.bytes += Chunks::push(&mut self.groups[group], value);
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = self.take(emit_to);
        let mut out = Vec::with_capacity(groups.len());
        for chunks in groups {
            let mut values = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
            Chunks::flatten(chunks, &mut values);
            out.push(calculate_percentile(&mut values, self.percentile));
        }
        Ok(Arc::new(Float64Array::from(out)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = self.take(emit_to);
        let lengths: Vec<usize> = groups.iter().map(|c| c.iter().map(Vec::len).sum()).collect();
        let mut values = Vec::with_capacity(lengths.iter().sum());
        for chunks in groups {
            Chunks::flatten(chunks, &mut values);
        }
        let list = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(PrimitiveArray::<Float64Type>::new(ScalarBuffer::from(values), None)),
            None,
        );
        Ok(vec![Arc::new(list)])
    }

    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        // Each row its own group: a list of its one value, or NULL when it is NULL or filtered out.
        let input = values[0].as_primitive::<Float64Type>();
        let nulls =
            (0..input.len()).map(|i| input.is_valid(i) && opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i)));
        let list = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            OffsetBuffer::from_lengths(std::iter::repeat_n(1, input.len())),
            Arc::new(PrimitiveArray::<Float64Type>::new(input.values().clone(), None)),
            Some(NullBuffer::from_iter(nulls)),
        );
        Ok(vec![Arc::new(list)])
    }

    fn size(&self) -> usize {
        self.groups.capacity() * size_of::<Vec<Vec<f64>>>() + self.bytes
    }
}

/// DataFusion's `calculate_percentile` for `f64`, step for step: the value at
/// `percentile * (n - 1)` in the total order of `f64`, interpolated linearly
/// with the weight quantised to [`INTERPOLATION_PRECISION`].
fn calculate_percentile(values: &mut [f64], percentile: f64) -> Option<f64> {
    let cmp = |x: &f64, y: &f64| x.total_cmp(y);
    let len = values.len();
    if len == 0 {
        None
    } else if len == 1 {
        Some(values[0])
    } else if percentile == 0.0 {
        values.iter().min_by(|a, b| cmp(a, b)).copied()
    } else if percentile == 1.0 {
        values.iter().max_by(|a, b| cmp(a, b)).copied()
    } else {
        let index = percentile * ((len - 1) as f64);
        let lower_index = index.floor() as usize;
        let upper_index = index.ceil() as usize;
        let (_, lower, _) = values.select_nth_unstable_by(lower_index, cmp);
        let lower = *lower;
        if lower_index == upper_index {
            return Some(lower);
        }
        let (_, upper, _) = values.select_nth_unstable_by(upper_index, cmp);
        let upper = *upper;
        let fraction = index - (lower_index as f64);
        let weight = ((fraction * INTERPOLATION_PRECISION) as usize) as f64 / INTERPOLATION_PRECISION;
        Some(lower + (upper - lower) * weight)
    }
}

/// A physical plan rule: a grouped aggregate that computes a `percentile_cont`
/// runs in one step over its input hash-partitioned by group
/// (`SinglePartitioned`), instead of a partial aggregate per input partition
/// whose values a final aggregate collects again. A partial aggregate shrinks
/// a sum to one number per group; it cannot shrink a percentile's values, so
/// the first step only copied them.
#[derive(Debug, Default)]
pub struct SinglePass;

impl PhysicalOptimizerRule for SinglePass {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| Ok(single_pass(&node).map_or(Transformed::no(node), Transformed::yes))).data()
    }

    fn name(&self) -> &str {
        "devex_percentile_single_pass"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `FinalPartitioned(Repartition(Hash)(Partial(input)))` computing a
/// `percentile_cont`, as `SinglePartitioned(Repartition(Hash)(input))`.
fn single_pass(node: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    let last = node.downcast_ref::<AggregateExec>()?;
    let reads_values = last.aggr_expr().iter().any(|a| a.fun().name() == "percentile_cont");
    if *last.mode() != AggregateMode::FinalPartitioned || !reads_values || last.limit_options().is_some() {
        return None;
    }
    let repartition = last.input().downcast_ref::<RepartitionExec>()?;
    let &Partitioning::Hash(_, partitions) = repartition.partitioning() else { return None };
    let first = repartition.input().downcast_ref::<AggregateExec>()?;
    if *first.mode() != AggregateMode::Partial || !first.group_expr().is_single() || first.group_expr().is_empty() {
        return None;
    }
    let keys = first.group_expr().expr().iter().map(|(e, _)| Arc::clone(e)).collect();
    let input = RepartitionExec::try_new(Arc::clone(first.input()), Partitioning::Hash(keys, partitions)).ok()?;
    let single = AggregateExec::try_new(
        AggregateMode::SinglePartitioned,
        first.group_expr().clone(),
        first.aggr_expr().to_vec(),
        first.filter_expr().to_vec(),
        Arc::new(input),
        first.input_schema(),
    )
    .ok()?;
    // The same columns out, in the same order, or nothing is changed.
    let same = single
        .schema()
        .fields()
        .iter()
        .zip(last.schema().fields().iter())
        .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type())
        && single.schema().fields().len() == last.schema().fields().len();
    same.then(|| Arc::new(single) as Arc<dyn ExecutionPlan>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[test]
    fn interpolates_between_the_two_nearest_values() {
        assert_eq!(calculate_percentile(&mut [], 0.5), None);
        assert_eq!(calculate_percentile(&mut [3.0], 0.9), Some(3.0));
        assert_eq!(calculate_percentile(&mut [4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        assert_eq!(calculate_percentile(&mut [4.0, 1.0, 3.0, 2.0], 0.0), Some(1.0));
        assert_eq!(calculate_percentile(&mut [4.0, 1.0, 3.0, 2.0], 1.0), Some(4.0));
    }

    #[test]
    fn chunks_grow_by_doubling_up_to_a_limit() {
        let mut chunks = Vec::new();
        let mut bytes = 0;
        for i in 0..20_000 {
            bytes += Chunks::push(&mut chunks, i as f64);
        }
        let sizes: Vec<usize> = chunks.iter().map(Vec::capacity).collect();
        assert_eq!(&sizes[..4], &[8, 16, 32, 64]);
        assert_eq!(
            bytes,
            sizes.iter().map(|&c| Chunks::bytes(c)).sum::<usize>(),
            "what push reports is what the chunks take"
        );
        assert!(sizes.iter().all(|&c| c <= CHUNK));
        let mut flat = Vec::new();
        Chunks::flatten(chunks, &mut flat);
        assert_eq!(flat, (0..20_000).map(|i| i as f64).collect::<Vec<_>>());
    }

    /// Over many groups, partitions and batches, with NULLs, a FILTER and a
    /// descending order, devex's percentile_cont and plan give DataFusion's
    /// results bit for bit.
    #[tokio::test]
    async fn gives_datafusions_results_bit_for_bit() {
        let sql = "SELECT g, count(*) AS n,
                          percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS p50,
                          percentile_cont(0.9) WITHIN GROUP (ORDER BY v) AS p90,
                          percentile_cont(0.37) WITHIN GROUP (ORDER BY v DESC) AS p37d,
                          percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FILTER (WHERE v > 0.3) AS f50,
                          percentile_cont(0.25) WITHIN GROUP (ORDER BY CAST(v * 7 AS INT)) AS int25,
                          percentile_cont(0.9) WITHIN GROUP (ORDER BY v) AS all90
                   FROM t GROUP BY g ORDER BY g";
        let config = || datafusion::prelude::SessionConfig::new().with_target_partitions(3).with_batch_size(97);
        let make = |ours: bool| {
            if ours {
                let state = datafusion::execution::SessionStateBuilder::new()
                    .with_config(config())
                    .with_default_features()
                    .with_physical_optimizer_rule(Arc::new(SinglePass))
                    .build();
                let ctx = SessionContext::new_with_state(state);
                ctx.register_udaf(percentile_cont());
                ctx
            } else {
                SessionContext::new_with_config(config())
            }
        };
        let mut rows = Vec::new();
        let mut x: u64 = 7;
        for i in 0..20_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v =
                if i % 13 == 0 { "NULL".to_string() } else { format!("{}", (x >> 11) as f64 / (1u64 << 53) as f64) };
            rows.push(format!("({}, {v})", (x >> 40) % 37));
        }
        let create = format!("CREATE TABLE t (g BIGINT, v DOUBLE) AS VALUES {}", rows.join(","));
        let mut outputs = Vec::new();
        for ours in [false, true] {
            let ctx = make(ours);
            ctx.sql(&create).await.unwrap().collect().await.unwrap();
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            let plan = ctx.sql(&format!("EXPLAIN {sql}")).await.unwrap().collect().await.unwrap();
            let plan = datafusion::arrow::util::pretty::pretty_format_batches(&plan).unwrap().to_string();
            assert_eq!(plan.contains("SinglePartitioned"), ours, "{plan}");
            outputs.push(datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string());
        }
        assert_eq!(outputs[0].lines().count(), 37 + 4);
        assert_eq!(outputs[0], outputs[1]);
    }
}
