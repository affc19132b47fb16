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
    StringArray, StringViewArray,
};
use datafusion::arrow::datatypes::ToByteSlice;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Float64Type, TimestampMicrosecondType, UInt64Type,
};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_expr::expressions::col;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

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
pub async fn scan<T, F>(ctx: &SessionContext, sql: &str, cap: usize, score: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&Series) -> Option<T> + Send + Sync + 'static,
{
    let order_key = ScalarUDF::from(SeriesOrder::new())
        .call(["k1", "k2", "ts"].map(datafusion::prelude::col).to_vec());
    // The time is the key's low half: carrying it again through the sort would only cost memory.
    let mut frame =
        ctx.sql(sql).await?.with_column(ORDER_COLUMN, order_key)?.drop_columns(&["ts"])?;
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

/// Registers `_series_order` and `_series_address`, so that a plan holding them decodes by
/// name (a cluster's executors).
pub fn register_functions(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(SeriesOrder::new()));
    ctx.register_udf(ScalarUDF::from(WideAddress::new()));
}

/// An address as the store keeps it.
const ADDRESS: DataType = DataType::FixedSizeBinary(16);

/// `_series_address(addr)`: an address's 16 bytes as one 128-bit integer (its bytes in memory
/// unchanged), so that the sort moves addresses as primitive values: as fixed-size binary, its
/// merge copied them one at a time (measured: 5 % of the per-pair gap statistics of 10 M
/// connections). Only the scan reads it back, as bytes; the value is not a decimal number and
/// is never shown as one.
#[derive(Debug, PartialEq, Eq, Hash)]
struct WideAddress {
    signature: Signature,
}

impl WideAddress {
    fn new() -> WideAddress {
        WideAddress { signature: Signature::exact(vec![ADDRESS], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for WideAddress {
    fn name(&self) -> &str {
        "_series_address"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let array = args.args[0].clone().into_array(args.number_rows)?;
        let addresses = array.as_fixed_size_binary();
        let wide: Decimal128Array = (0..addresses.len())
            .map(|row| {
                addresses.is_valid(row).then(|| {
                    i128::from_le_bytes(addresses.value(row).try_into().expect("16 bytes"))
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(wide.with_precision_and_scale(38, 0)?)))
    }
}

/// `_series_order(k1, k2, ts)`: a 62-bit hash of the pair in the high 64 bits, the time (as an
/// unsigned offset, so that order is kept) in the low 64, as one Decimal128 (precision 38: the
/// hash is cut to 62 bits so that every value stays below 10^38).
#[derive(Debug, PartialEq, Eq, Hash)]
struct SeriesOrder {
    signature: Signature,
}

impl SeriesOrder {
    fn new() -> SeriesOrder {
        SeriesOrder { signature: Signature::any(3, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for SeriesOrder {
    fn name(&self) -> &str {
        "_series_order"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = args
            .args
            .iter()
            .map(|a| a.clone().into_array(args.number_rows))
            .collect::<Result<Vec<_>>>()?;
        let (k1, k2) = (Key::of(&arrays[0])?, Key::of(&arrays[1])?);
        let ts = datafusion::arrow::compute::cast(
            &arrays[2],
            &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
        )?;
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        let order: Decimal128Array = (0..args.number_rows)
            .map(|row| {
                let time = if ts.is_valid(row) { ts.value(row) } else { i64::MIN };
                Some(series_order(pair_hash(k1.bytes(row), k2.bytes(row)), time))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(order.with_precision_and_scale(38, 0)?)))
    }
}

/// The sort key of one contact: pair hash first, then time.
fn series_order(hash: u64, time: i64) -> i128 {
    (i128::from(hash >> 2) << 64) | i128::from((time as u64) ^ (1 << 63))
}

/// The time a sort key holds: the inverse of [`series_order`]'s low half.
fn series_time(order: i128) -> i64 {
    ((order as u64) ^ (1 << 63)) as i64
}

/// A fast, fixed-seed hash of a pair's two keys (collisions cost nothing but a longer run).
fn pair_hash(k1: &[u8], k2: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = 0x243f_6a88_85a3_08d3u64;
    for key in [k1, k2] {
        let mut words = key.chunks_exact(8);
        for word in &mut words {
            let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            h = (h ^ w).wrapping_mul(K).rotate_left(31);
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        h = (h ^ u64::from_le_bytes(tail) ^ ((key.len() as u64) << 56)).wrapping_mul(K);
        h = h.rotate_left(27);
    }
    // splitmix64's finaliser: every input bit reaches the top bits the sort looks at first.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A key column as bytes, whatever string or binary type the plan produced.
enum Key {
    Fixed(FixedSizeBinaryArray),
    /// An address made one integer by `_series_address`.
    Wide(Decimal128Array),
    Utf8(StringArray),
    View(StringViewArray),
}

impl Key {
    fn of(array: &ArrayRef) -> Result<Key> {
        Ok(match array.data_type() {
            DataType::FixedSizeBinary(_) => Key::Fixed(array.as_fixed_size_binary().clone()),
            DataType::Decimal128(..) => Key::Wide(array.as_primitive::<Decimal128Type>().clone()),
            DataType::Utf8 => Key::Utf8(array.as_string::<i32>().clone()),
            DataType::Utf8View => Key::View(array.as_string_view().clone()),
            other => return exec_err!("series key must be an address or text, not {other}"),
        })
    }

    fn bytes(&self, row: usize) -> &[u8] {
        match self {
            Key::Fixed(a) if a.is_valid(row) => a.value(row),
            // Little-endian in memory, as `_series_address` read them: the address's bytes.
            Key::Wide(a) if a.is_valid(row) => a.values()[row..=row].to_byte_slice(),
            Key::Utf8(a) if a.is_valid(row) => a.value(row).as_bytes(),
            Key::View(a) if a.is_valid(row) => a.value(row).as_bytes(),
            _ => &[],
        }
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

/// Per address pair in `conn`: the number of gaps between consecutive connections and their
/// quartiles and median absolute deviation (seconds, type-7 quantiles). The statistic every
/// beacon scorer starts from; `lasthop bench-gap-stats` writes it so that other engines' results
/// can be checked against it.
pub async fn gap_statistics(
    ctx: &SessionContext,
    cap: usize,
) -> Result<Vec<(String, String, usize, crate::scoring::stats::Spread)>> {
    // Only what the statistics use: every column carried costs its share of the sort.
    let sql = "SELECT src AS k1, dst AS k2, ts FROM conn WHERE src IS NOT NULL AND dst IS NOT NULL";
    scan(ctx, sql, cap, |s| {
        let gaps: Vec<f64> = s.ts.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e6).collect();
        let spread = crate::scoring::stats::Spread::of(&gaps)?;
        Some((
            lasthop_normalise::format_ip(&s.k1),
            lasthop_normalise::format_ip(&s.k2),
            gaps.len(),
            spread,
        ))
    })
    .await
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
        let mut next = crate::scoring::stats::xorshift(0x2545_f491_4f6c_dd1d);
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
        let got = scan(&ctx, "SELECT * FROM contacts", usize::MAX, |s| {
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
