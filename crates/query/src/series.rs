//! Per-pair time series without holding them all in memory.
//!
//! A query produces one row per contact: two key columns `k1`, `k2` (addresses or names), `ts`,
//! and whichever of the payload `bytes`, `duration`, `uid` it needs. DataFusion repartitions the rows by key hash and
//! sorts each partition by (key, time) — a sort that spills to disk under a memory limit — and
//! each partition's sorted stream is read once, in parallel, handing every completed pair to a
//! scoring function. Only one pair per partition is in memory at a time, and a pair's stored
//! contacts are capped (the strobe threshold): past the cap it is only counted.
//!
//! The sort key is one 128-bit integer, a hash of the pair above the time, rather than the three
//! columns themselves: DataFusion sorts and merges a single primitive column with its fast
//! paths, where three columns go through its row format, byte-wise comparisons of ~43-byte rows
//! (per-pair gap statistics over 10 M connections: see `docs/benchmarks.md`). Pairs whose
//! hashes collide come out interleaved in time order, and the scan separates them again, so the
//! result is exact.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, FixedSizeBinaryArray, RecordBatch,
};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, UInt64Type};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::ScalarUDF;
use datafusion::physical_expr::expressions::col;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::rows::Query;

use crate::functions::series::{ADDRESS, Key, SeriesOrder, WideAddress, series_time};

/// Uids kept per pair for evidence.
pub const UIDS_KEPT: usize = 20;
/// Distinct peers kept per pair.
pub const PEERS_KEPT: usize = 16;

/// One pair's contacts, in time order.
#[derive(Debug, Default, Clone)]
pub struct Series {
    pub k1: Vec<u8>,
    pub k2: Vec<u8>,
    /// Contact times (µs), at most the cap.
    pub ts: Vec<i64>,
    /// Bytes sent per contact, aligned with `ts`.
    pub bytes: Vec<u64>,
    /// Every contact, also those past the cap.
    pub count: u64,
    /// Contacts the responder sent data back on (where the query gives `answered`).
    pub answered: u64,
    /// Contacts that continue an existing session (where the query gives `continued`).
    pub continued: u64,
    pub total_bytes: u64,
    pub total_duration: f64,
    pub longest_duration: f64,
    pub first: i64,
    pub last: i64,
    /// The first few uids, end to end (one buffer reused from pair to pair rather than a
    /// string per contact: most pairs are scored and dropped), and where each one ends.
    uid_text: String,
    uid_ends: Vec<usize>,
    /// Most contacts in any 24 hours (counted up to the cap): the strobe test.
    pub busiest_day: u64,
    last_day: std::collections::VecDeque<i64>,
    /// Distinct values of the optional `peer` column (the addresses behind a name), first few.
    pub peers: Vec<[u8; 16]>,
}

impl Series {
    /// The capped series holds every contact.
    pub fn is_complete(&self) -> bool {
        self.count as usize == self.ts.len()
    }

    /// The first few uids of the series' contacts.
    pub fn uids(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.uid_ends.iter().copied());
        starts.zip(self.uid_ends.iter()).map(|(start, &end)| &self.uid_text[start..end])
    }

    fn reset(&mut self, k1: &[u8], k2: &[u8]) {
        self.k1.clear();
        self.k1.extend_from_slice(k1);
        self.k2.clear();
        self.k2.extend_from_slice(k2);
        self.ts.clear();
        self.bytes.clear();
        self.uid_text.clear();
        self.uid_ends.clear();
        self.count = 0;
        self.answered = 0;
        self.continued = 0;
        self.total_bytes = 0;
        self.total_duration = 0.0;
        self.longest_duration = 0.0;
        self.busiest_day = 0;
        self.last_day.clear();
        self.peers.clear();
    }
}

/// Runs `sql` (columns `k1`, `k2`, `ts`, optionally `bytes`, `duration`, `uid`, an address
/// `peer` and booleans `answered` and `continued`), and calls `score` once per
/// distinct (k1, k2) with its series; returns what `score` kept.
pub async fn scan<T, F>(
    ctx: &SessionContext,
    query: Query,
    sql: &str,
    cap: usize,
    score: F,
) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&Series) -> Option<T> + Send + Sync + 'static,
{
    let order_key = ScalarUDF::from(SeriesOrder::new())
        .call(["k1", "k2", "ts"].map(datafusion::prelude::col).to_vec());
    // The time is the key's low half: carrying it again through the sort would only cost memory.
    let mut frame =
        query.frame(ctx, sql).await?.with_column(ORDER_COLUMN, order_key)?.drop_columns(&["ts"])?;
    for key in ["k1", "k2"] {
        if frame.schema().field_with_unqualified_name(key)?.data_type() == &ADDRESS {
            let wide =
                ScalarUDF::from(WideAddress::new()).call(vec![datafusion::prelude::col(key)]);
            frame = frame.with_column(key, wide)?;
        }
    }
    let plan = frame.create_physical_plan().await?;
    let schema = plan.schema();
    let partitions = ctx.copied_config().target_partitions().max(1);
    let keys = vec![col("k1", &schema)?, col("k2", &schema)?];
    let repartitioned: Arc<dyn ExecutionPlan> =
        Arc::new(RepartitionExec::try_new(plan, Partitioning::Hash(keys, partitions))?);
    let ordering = LexOrdering::new([PhysicalSortExpr::new_default(col(ORDER_COLUMN, &schema)?)])
        .expect("one sort key");
    let sorted = Arc::new(SortExec::new(ordering, repartitioned).with_preserve_partitioning(true));
    let score = Arc::new(score);
    let mut tasks = Vec::with_capacity(partitions);
    for partition in 0..partitions {
        let mut stream = sorted.execute(partition, ctx.task_ctx())?;
        let score = score.clone();
        tasks.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            let mut run = HashRun::default();
            while let Some(batch) = stream.next().await {
                run.feed(&batch?, cap, &*score, &mut kept)?;
            }
            run.finish(&*score, &mut kept);
            Ok::<_, DataFusionError>(kept)
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.extend(task.await.map_err(|e| DataFusionError::External(Box::new(e)))??);
    }
    Ok(out)
}

/// The sort key column `scan` adds to the query.
const ORDER_COLUMN: &str = "_series_order";

/// The rows of one pair hash, in time order: nearly always one pair's series, more when hashes
/// collide. Series are reused from run to run.
#[derive(Default)]
struct HashRun {
    hash: Option<i128>,
    series: Vec<Series>,
    open: usize,
}

impl HashRun {
    /// Takes a batch of the sorted stream, scoring every run it completes.
    fn feed<T>(
        &mut self,
        batch: &RecordBatch,
        cap: usize,
        score: &dyn Fn(&Series) -> Option<T>,
        kept: &mut Vec<T>,
    ) -> Result<()> {
        let columns = Columns::of(batch)?;
        for row in 0..batch.num_rows() {
            let hash = columns.order.value(row) >> 64;
            if self.hash != Some(hash) {
                self.finish(score, kept);
                self.hash = Some(hash);
            }
            let (k1, k2) = (columns.k1.bytes(row), columns.k2.bytes(row));
            columns.push(row, self.series_for(k1, k2), cap);
        }
        Ok(())
    }

    fn series_for(&mut self, k1: &[u8], k2: &[u8]) -> &mut Series {
        let found = self.series[..self.open].iter().position(|s| s.k1 == k1 && s.k2 == k2);
        let index = found.unwrap_or_else(|| {
            if self.open == self.series.len() {
                self.series.push(Series::default());
            }
            self.series[self.open].reset(k1, k2);
            self.open += 1;
            self.open - 1
        });
        &mut self.series[index]
    }

    fn finish<T>(&mut self, score: &dyn Fn(&Series) -> Option<T>, kept: &mut Vec<T>) {
        kept.extend(self.series[..self.open].iter().filter_map(score));
        self.open = 0;
        self.hash = None;
    }
}

struct Columns {
    order: Decimal128Array,
    k1: Key,
    k2: Key,
    bytes: Option<ArrayRef>,
    duration: Option<ArrayRef>,
    uid: Option<Key>,
    peer: Option<FixedSizeBinaryArray>,
    answered: Option<BooleanArray>,
    continued: Option<BooleanArray>,
}

impl Columns {
    fn of(batch: &RecordBatch) -> Result<Columns> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| DataFusionError::Plan(format!("series query lacks `{name}`")))
        };
        let cast = |name: &str, to: &DataType| -> Result<Option<ArrayRef>> {
            let Some(array) = batch.column_by_name(name) else { return Ok(None) };
            Ok(Some(datafusion::arrow::compute::cast(array, to)?))
        };
        Ok(Columns {
            order: column(ORDER_COLUMN)?.as_primitive::<Decimal128Type>().clone(),
            k1: Key::of(&column("k1")?)?,
            k2: Key::of(&column("k2")?)?,
            bytes: cast("bytes", &DataType::UInt64)?,
            duration: cast("duration", &DataType::Float64)?,
            uid: batch.column_by_name("uid").map(Key::of).transpose()?,
            peer: batch.column_by_name("peer").and_then(|p| p.as_fixed_size_binary_opt().cloned()),
            answered: batch.column_by_name("answered").and_then(|a| a.as_boolean_opt().cloned()),
            continued: batch.column_by_name("continued").and_then(|a| a.as_boolean_opt().cloned()),
        })
    }

    fn push(&self, row: usize, series: &mut Series, cap: usize) {
        let ts = series_time(self.order.value(row));
        let bytes = self.bytes.as_ref().map(|b| b.as_primitive::<UInt64Type>());
        let bytes = bytes.filter(|b| b.is_valid(row)).map_or(0, |b| b.value(row));
        let duration = self.duration.as_ref().map(|d| d.as_primitive::<Float64Type>());
        let duration = duration.filter(|d| d.is_valid(row)).map_or(0.0, |d| d.value(row));
        if series.count == 0 {
            series.first = ts;
        }
        series.last = ts;
        series.count += 1;
        let flag = |column: &Option<BooleanArray>| {
            column.as_ref().is_some_and(|c| c.is_valid(row) && c.value(row))
        };
        series.answered += u64::from(flag(&self.answered));
        series.continued += u64::from(flag(&self.continued));
        series.total_bytes = series.total_bytes.saturating_add(bytes);
        series.total_duration += duration;
        series.longest_duration = series.longest_duration.max(duration);
        while series.last_day.front().is_some_and(|t| *t <= ts - 86_400_000_000) {
            series.last_day.pop_front();
        }
        if series.last_day.len() <= cap {
            series.last_day.push_back(ts);
        }
        series.busiest_day = series.busiest_day.max(series.last_day.len() as u64);
        if let Some(peers) = &self.peer
            && peers.is_valid(row)
            && series.peers.len() < PEERS_KEPT
            && let Ok(peer) = <[u8; 16]>::try_from(peers.value(row))
            && !series.peers.contains(&peer)
        {
            series.peers.push(peer);
        }
        if series.ts.len() < cap {
            series.ts.push(ts);
            series.bytes.push(bytes);
        }
        if series.uid_ends.len() < UIDS_KEPT
            && let Some(uid) = &self.uid
        {
            let uid = uid.bytes(row);
            if !uid.is_empty() {
                series.uid_text.push_str(&String::from_utf8_lossy(uid));
                series.uid_ends.push(series.uid_text.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use datafusion::arrow::array::{
        FixedSizeBinaryArray, Float64Array, StringArray, TimestampMicrosecondArray, UInt64Array,
    };
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    use datafusion::datasource::MemTable;

    use super::*;
    use crate::functions::series::series_order;

    /// A seeded xorshift generator: many varied samples, repeatably.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    fn address(n: u32) -> [u8; 16] {
        lasthop_normalise::parse_ip(&std::net::Ipv4Addr::from(n).to_string()).unwrap()
    }

    /// Order key, k1, k2, time.
    type Contact = (i128, [u8; 16], [u8; 16], i64);

    /// A batch of the shape `scan` sorts, with the order column given rather than computed.
    fn batch(rows: &[Contact]) -> RecordBatch {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
        let schema = Schema::new(vec![
            Field::new(ORDER_COLUMN, DataType::Decimal128(38, 0), false),
            Field::new("k1", DataType::FixedSizeBinary(16), false),
            Field::new("k2", DataType::FixedSizeBinary(16), false),
            Field::new("ts", ts, false),
            Field::new("bytes", DataType::UInt64, false),
            Field::new("duration", DataType::Float64, false),
            Field::new("uid", DataType::Utf8, false),
        ]);
        let order: Decimal128Array = rows.iter().map(|r| Some(r.0)).collect();
        let key = |f: fn(&Contact) -> [u8; 16]| {
            FixedSizeBinaryArray::try_from_iter(rows.iter().map(f)).unwrap()
        };
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(order.with_precision_and_scale(38, 0).unwrap()),
                Arc::new(key(|r| r.1)),
                Arc::new(key(|r| r.2)),
                Arc::new(TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.3))),
                Arc::new(UInt64Array::from_iter_values(rows.iter().map(|_| 1))),
                Arc::new(Float64Array::from_iter_values(rows.iter().map(|_| 0.5))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| format!("C{}", r.3)))),
            ],
        )
        .unwrap()
    }

    #[test]
    fn the_order_key_sorts_by_pair_hash_then_time_keeps_the_time_and_fits_its_precision() {
        let times = [i64::MIN, -86_400_000_000, -1, 0, 1, 1_700_000_000_000_000, i64::MAX];
        let hashes = [0, 4, 8, u64::MAX / 2, u64::MAX - 4, u64::MAX];
        let mut keys = Vec::new();
        for hash in hashes {
            for time in times {
                keys.push(series_order(hash, time));
                assert_eq!(series_time(series_order(hash, time)), time, "the time comes back");
            }
        }
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "hash-major, then time order");
        assert!(keys.iter().all(|k| k.unsigned_abs() < 10u128.pow(38)), "Decimal128(38, 0)");
    }

    /// Two pairs whose hashes collide arrive interleaved; each still gets its own series, in
    /// time order, and a batch boundary inside a run changes nothing.
    #[test]
    fn colliding_pairs_are_told_apart() {
        let (a, b, c, d) = (address(1), address(2), address(3), address(4));
        let same = series_order(42, 0) >> 64 << 64;
        let row =
            |hash: i128, k1, k2, t: i64| (hash | i128::from((t as u64) ^ (1 << 63)), k1, k2, t);
        let rows = [
            row(same, a, b, 10),
            row(same, c, d, 11),
            row(same, a, b, 20),
            row(same, c, d, 25),
            row(same, a, b, 30),
            row(same + (1 << 64), a, d, 5),
        ];
        let score = |s: &Series| {
            Some((
                s.k1.clone(),
                s.k2.clone(),
                s.ts.clone(),
                s.uids().map(String::from).collect::<Vec<_>>(),
            ))
        };
        let mut kept = Vec::new();
        let mut run = HashRun::default();
        run.feed(&batch(&rows[..3]), 100, &score, &mut kept).unwrap();
        run.feed(&batch(&rows[3..]), 100, &score, &mut kept).unwrap();
        run.finish(&score, &mut kept);
        let uids = |ts: &[i64]| ts.iter().map(|t| format!("C{t}")).collect::<Vec<_>>();
        assert_eq!(
            kept,
            vec![
                (a.to_vec(), b.to_vec(), vec![10, 20, 30], uids(&[10, 20, 30])),
                (c.to_vec(), d.to_vec(), vec![11, 25], uids(&[11, 25])),
                (a.to_vec(), d.to_vec(), vec![5], uids(&[5])),
            ]
        );
    }

    /// `scan` over a shuffled table hands every pair its whole series in time order, once,
    /// across partitions and batches, with small batches so that pairs straddle them.
    #[tokio::test]
    async fn every_pair_arrives_whole_and_in_time_order() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let mut expected: BTreeMap<(Vec<u8>, Vec<u8>), Vec<i64>> = BTreeMap::new();
        let mut rows = Vec::new();
        for _ in 0..20_000 {
            let (src, dst) = (address(next() as u32 % 40), address(next() as u32 % 50));
            let t = (next() % 1_000_000) as i64 - 500_000;
            expected.entry((src.to_vec(), dst.to_vec())).or_default().push(t);
            rows.push((0, src, dst, t));
        }
        expected.values_mut().for_each(|ts| ts.sort_unstable());
        let batches: Vec<RecordBatch> = rows
            .chunks(777)
            .map(|chunk| {
                let b = batch(chunk);
                b.project(&[1, 2, 3, 4, 5, 6]).unwrap()
            })
            .collect();
        let table = MemTable::try_new(batches[0].schema(), vec![batches]).unwrap();
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new()
                .with_target_partitions(3)
                .with_batch_size(500),
        );
        ctx.register_table("contacts", Arc::new(table)).unwrap();
        let got = scan(&ctx, Query::new("contacts"), "SELECT * FROM contacts", usize::MAX, |s| {
            Some(((s.k1.clone(), s.k2.clone()), (s.ts.clone(), s.count)))
        })
        .await
        .unwrap();
        assert_eq!(got.len(), expected.len(), "one series per pair");
        let got: BTreeMap<_, _> = got.into_iter().collect();
        for (pair, ts) in &expected {
            assert_eq!(got[pair], (ts.clone(), ts.len() as u64), "{pair:?}");
        }
    }
}
