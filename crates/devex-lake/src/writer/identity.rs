//! Row identities (a table's key columns) as bytes and as 64-bit hashes: the
//! hashes tell, in 8 bytes a row, whether an identity may already be in the
//! lake or earlier in the input; the bytes settle it exactly.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hasher};

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, Rows, SortField};
use devex_model::Table;

use crate::error::LakeError;

/// A hasher for values that are already hashes.
#[derive(Default)]
pub(super) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Identity hashes.
pub(super) type HashSet64 = HashSet<u64, BuildHasherDefault<Prehashed>>;

/// Which identities may be in a table: a Bloom filter over their hashes. A
/// "no" is certain; a "maybe" is checked exactly against the table before
/// the commit ([`super::staging`]). About 12 bits an identity (under 1 %
/// false "maybe"s) instead of the 16 bytes a hash set takes, and never more
/// than the bits it is given, whatever the table's size.
pub(super) struct Bloom {
    bits: Vec<u64>,
    hashes: u32,
}

impl Bloom {
    /// Bits for `identities`, at most `max_bytes` (a fuller filter answers "maybe" more often).
    pub(super) fn new(identities: u64, max_bytes: usize) -> Bloom {
        let want = identities.saturating_mul(12).max(1 << 16);
        let cap = (max_bytes as u64).saturating_mul(8).max(64);
        let words = want.min(cap).div_ceil(64) as usize;
        Bloom { bits: vec![0; words], hashes: 8 }
    }

    fn positions(&self, hash: u64) -> impl Iterator<Item = (usize, u64)> + use<> {
        let n = (self.bits.len() as u64) * 64;
        let (h1, h2) = (hash, hash.rotate_left(32) | 1);
        (0..u64::from(self.hashes)).map(move |i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % n;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    pub(super) fn insert(&mut self, hash: u64) {
        for (word, mask) in self.positions(hash) {
            self.bits[word] |= mask;
        }
    }

    /// `false`: certainly not inserted.
    pub(super) fn may_contain(&self, hash: u64) -> bool {
        self.positions(hash).all(|(word, mask)| self.bits[word] & mask != 0)
    }

    /// Bytes held.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.bits.len() * 8
    }
}

/// Turns a table's key columns into comparable bytes per row.
pub(super) struct Identities {
    key_columns: Vec<usize>,
    types: Vec<DataType>,
    converter: RowConverter,
}

impl Identities {
    /// For `table`'s key, in batches of its lake schema.
    pub(super) fn new(table: Table) -> Result<Identities, LakeError> {
        let schema = table.schema();
        let key_columns: Vec<usize> =
            table.key().iter().map(|k| schema.index_of(k).expect("key columns are in the schema")).collect();
        Self::with_columns(table, key_columns)
    }

    /// For batches that hold only the key columns, in key order.
    pub(super) fn keys_only(table: Table) -> Result<Identities, LakeError> {
        Self::with_columns(table, (0..table.key().len()).collect())
    }

    fn with_columns(table: Table, key_columns: Vec<usize>) -> Result<Identities, LakeError> {
        let schema = table.schema();
        let types: Vec<DataType> =
            table.key().iter().map(|k| schema.field_with_name(k).expect("key").data_type().clone()).collect();
        let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
        let converter = RowConverter::new(fields).map_err(|e| LakeError::internal("comparing identities", e))?;
        Ok(Identities { key_columns, types, converter })
    }

    /// Each row's identity as bytes.
    pub(super) fn rows(&self, batch: &RecordBatch) -> Result<Rows, LakeError> {
        let internal = |e| LakeError::internal("comparing identities", e);
        // Scans may hand strings over as views: compare them as the lake's type.
        let columns = self
            .key_columns
            .iter()
            .zip(&self.types)
            .map(|(&i, t)| match batch.column(i) {
                c if c.data_type() == t => Ok(c.clone()),
                c => cast(c, t).map_err(internal),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.converter.convert_columns(&columns).map_err(|e| LakeError::internal("comparing identities", e))
    }
}

/// The hash of one identity (stable within a process).
pub(super) fn hash(identity: &[u8]) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(identity)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray};

    use super::*;

    #[test]
    fn a_bloom_filter_never_forgets_and_rarely_says_maybe_wrongly() {
        let mut bloom = Bloom::new(100_000, usize::MAX);
        for i in 0..100_000u64 {
            bloom.insert(hash(&i.to_le_bytes()));
        }
        assert!((0..100_000u64).all(|i| bloom.may_contain(hash(&i.to_le_bytes()))));
        let wrong = (100_000..200_000u64).filter(|i| bloom.may_contain(hash(&i.to_le_bytes()))).count();
        assert!(wrong < 1_000, "{wrong} false maybes in 100000");
        assert!(bloom.bytes() <= 100_000 * 12 / 8 + 8, "{} bytes", bloom.bytes());
        // Bounded: a filter given 8 KiB stays 8 KiB, and still never forgets.
        let mut small = Bloom::new(100_000, 8 << 10);
        assert_eq!(Bloom::new(100_000, 8).bytes(), 8, "a filter of one word");
        (0..100_000u64).for_each(|i| small.insert(hash(&i.to_le_bytes())));
        assert_eq!(small.bytes(), 8 << 10);
        assert!((0..100_000u64).all(|i| small.may_contain(hash(&i.to_le_bytes()))));
    }

    #[test]
    fn composite_keys_do_not_collide_by_concatenation() {
        let ids = Identities::keys_only(Table::Changes).unwrap();
        let col = |v: [&str; 2]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
        let schema = Arc::new(arrow::datatypes::Schema::new(
            Table::Changes
                .key()
                .iter()
                .map(|k| Table::Changes.schema().field_with_name(k).unwrap().clone())
                .collect::<Vec<_>>(),
        ));
        let batch =
            RecordBatch::try_new(schema, vec![col(["git", "git"]), col(["ab", "a"]), col(["c", "bc"])]).unwrap();
        let rows = ids.rows(&batch).unwrap();
        assert_ne!(rows.row(0).as_ref(), rows.row(1).as_ref());
        assert_ne!(hash(rows.row(0).as_ref()), hash(rows.row(1).as_ref()));
    }
}
