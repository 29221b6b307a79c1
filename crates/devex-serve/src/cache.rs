//! The results of the metric functions (`metrics(...)`, `trends(...)`,
//! `jcurve(...)`, `effect(...)`, `explain(...)`), kept in memory so that the
//! same call on the same snapshot (a dashboard refreshed by a room of viewers)
//! is computed once.
//!
//! An entry is keyed by the call (the function and its arguments), the
//! settings, and the snapshot it read: every table's Delta version and every
//! derived fact's. A commit makes a new snapshot, so a new key: no entry is
//! ever invalidated by hand, and no reader sees an older snapshot's rows than
//! it would compute. Entries of an older snapshot are dropped as soon as a
//! newer one is asked for. Concurrent identical calls wait for one
//! computation. The cache holds at most `[serve] cache_mb`; the least
//! recently used entries go first, and a result larger than the whole cache
//! is not kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use tokio::sync::OnceCell;

/// The default size, `[serve] cache_mb`.
pub const DEFAULT_CACHE_MB: usize = 256;

type Rows = Arc<Vec<RecordBatch>>;

/// One kept result, or its computation under way.
struct Entry {
    rows: Arc<OnceCell<Rows>>,
    bytes: usize,
    used: u64,
}

/// Results by call and snapshot, bounded in bytes.
pub struct ResultCache {
    capacity: AtomicUsize,
    clock: AtomicU64,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Inner {
    /// The snapshot of the entries held.
    snapshot: String,
    entries: HashMap<String, Entry>,
    bytes: usize,
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache").field("capacity", &self.capacity.load(Ordering::Relaxed)).finish()
    }
}

impl ResultCache {
    /// A cache of at most `bytes` (0: nothing is kept).
    pub fn new(bytes: usize) -> ResultCache {
        ResultCache {
            capacity: AtomicUsize::new(bytes),
            clock: AtomicU64::new(0),
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Change the bound (entries over it go at the next insertion).
    pub fn set_capacity(&self, bytes: usize) {
        self.capacity.store(bytes, Ordering::Relaxed);
    }

    /// (calls answered from memory, calls computed) so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    /// The rows of `call` on `snapshot`: kept ones, or `compute`'s (kept if
    /// they fit); and whether they came from memory.
    pub async fn get_or_compute<E, F>(&self, snapshot: &str, call: &str, compute: F) -> Result<(Rows, bool), E>
    where
        F: Future<Output = Result<Vec<RecordBatch>, E>>,
    {
        if self.capacity.load(Ordering::Relaxed) == 0 {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return compute.await.map(|rows| (Arc::new(rows), false));
        }
        let cell = {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if inner.snapshot != snapshot {
                // A newer snapshot: nothing held can be asked for again.
                inner.entries.clear();
                inner.bytes = 0;
                inner.snapshot = snapshot.to_string();
            }
            let used = self.clock.fetch_add(1, Ordering::Relaxed);
            let entry = inner.entries.entry(call.to_string()).or_insert_with(|| Entry {
                rows: Arc::new(OnceCell::new()),
                bytes: 0,
                used,
            });
            entry.used = used;
            Arc::clone(&entry.rows)
        };
        if let Some(rows) = cell.get() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((Arc::clone(rows), true));
        }
        let mut computed = false;
        let rows = cell
            .get_or_try_init(|| async {
                computed = true;
                compute.await.map(Arc::new)
            })
            .await;
        let rows = match rows {
            Ok(rows) => Arc::clone(rows),
            Err(e) => {
                self.forget(snapshot, call, &cell);
                return Err(e);
            }
        };
        if computed {
            self.misses.fetch_add(1, Ordering::Relaxed);
            self.account(snapshot, call, &rows);
        } else {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        Ok((rows, !computed))
    }

    /// Drop a failed computation's entry, so the next call computes again.
    fn forget(&self, snapshot: &str, call: &str, cell: &Arc<OnceCell<Rows>>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.snapshot == snapshot && inner.entries.get(call).is_some_and(|e| Arc::ptr_eq(&e.rows, cell)) {
            inner.entries.remove(call);
        }
    }

    /// Count a new result's bytes, and evict the least recently used entries over the bound.
    fn account(&self, snapshot: &str, call: &str, rows: &Rows) {
        let bytes: usize = rows.iter().map(RecordBatch::get_array_memory_size).sum();
        let capacity = self.capacity.load(Ordering::Relaxed);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.snapshot != snapshot {
            return;
        }
        if bytes > capacity {
            inner.entries.remove(call);
            return;
        }
        if let Some(e) = inner.entries.get_mut(call) {
            e.bytes = bytes;
        }
        inner.bytes += bytes;
        while inner.bytes > capacity {
            let oldest = inner
                .entries
                .iter()
                .filter(|(k, e)| e.rows.initialized() && k.as_str() != call)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            let Some(oldest) = oldest else { break };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.bytes;
            }
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn rows(n: usize) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        vec![RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![7i64; n]))]).unwrap()]
    }

    async fn get(cache: &ResultCache, snapshot: &str, call: &str, n: usize) -> usize {
        cache.get_or_compute::<(), _>(snapshot, call, async { Ok(rows(n)) }).await.unwrap().0[0].num_rows()
    }

    #[tokio::test]
    async fn the_same_call_on_the_same_snapshot_is_computed_once() {
        let cache = ResultCache::new(1 << 20);
        assert_eq!(get(&cache, "v1", "metrics(a)", 10).await, 10);
        assert_eq!(get(&cache, "v1", "metrics(a)", 99).await, 10, "answered from memory");
        assert_eq!(cache.stats(), (1, 1));
        assert_eq!(get(&cache, "v1", "metrics(b)", 20).await, 20, "another call");
        assert_eq!(get(&cache, "v2", "metrics(a)", 30).await, 30, "a new snapshot computes again");
        assert_eq!(get(&cache, "v2", "metrics(b)", 40).await, 40, "and the old snapshot's entries are gone");
        assert_eq!(cache.stats(), (1, 4));
    }

    #[tokio::test]
    async fn concurrent_identical_calls_wait_for_one_computation() {
        let cache = Arc::new(ResultCache::new(1 << 20));
        let computed = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, computed) = (Arc::clone(&cache), Arc::clone(&computed));
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute::<(), _>("v1", "metrics(a)", async {
                        computed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok(rows(5))
                    })
                    .await
                    .unwrap()
                    .0[0]
                    .num_rows()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 5);
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_bound_and_failures_are_not_kept() {
        let one = rows(1000)[0].get_array_memory_size();
        let cache = ResultCache::new(one * 2 + one / 2);
        for call in ["a", "b", "c"] {
            get(&cache, "v1", call, 1000).await;
        }
        assert!(cache.bytes() <= one * 2 + one / 2, "{} > bound", cache.bytes());
        assert_eq!(get(&cache, "v1", "a", 1).await, 1, "the least recently used went first");
        assert_eq!(get(&cache, "v1", "c", 1).await, 1000, "the newest stayed");
        // Bigger than the whole cache: computed, never kept.
        assert_eq!(get(&cache, "v1", "huge", 100_000).await, 100_000);
        assert_eq!(get(&cache, "v1", "huge", 3).await, 3);
        // A failure is not kept: the next call computes.
        let failed = cache.get_or_compute::<&str, _>("v1", "bad", async { Err("boom") }).await;
        assert!(failed.is_err());
        assert_eq!(get(&cache, "v1", "bad", 2).await, 2);
        // Nothing kept at all with a zero bound.
        let off = ResultCache::new(0);
        get(&off, "v1", "a", 1).await;
        assert_eq!(get(&off, "v1", "a", 2).await, 2);
    }
}
