//! Per-pair time series without holding them all in memory.
//!
//! A query produces one row per contact: two key columns `k1`, `k2` (addresses or names), `ts`,
//! and the payload `bytes`, `duration`, `uid`. DataFusion repartitions the rows by key hash and
//! sorts each partition by (key, time) — a sort that spills to disk under a memory limit — and
//! each partition's sorted stream is read once, in parallel, handing every completed pair to a
//! scoring function. Only one pair per partition is in memory at a time, and a pair's stored
//! contacts are capped (the strobe threshold): past the cap it is only counted.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, FixedSizeBinaryArray, RecordBatch, StringArray,
    StringViewArray,
};
use datafusion::arrow::datatypes::{DataType, Float64Type, TimestampMicrosecondType, UInt64Type};
use datafusion::common::{DataFusionError, Result, exec_err};
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
    /// The first few uids.
    pub uids: Vec<String>,
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

    fn reset(&mut self, k1: &[u8], k2: &[u8]) {
        self.k1.clear();
        self.k1.extend_from_slice(k1);
        self.k2.clear();
        self.k2.extend_from_slice(k2);
        self.ts.clear();
        self.bytes.clear();
        self.uids.clear();
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

/// Runs `sql` (columns `k1`, `k2`, `ts`, `bytes`, `duration`, `uid`, optionally an address
/// `peer` and booleans `answered` and `continued`), and calls `score` once per
/// distinct (k1, k2) with its series; returns what `score` kept.
pub async fn scan<T, F>(ctx: &SessionContext, sql: &str, cap: usize, score: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&Series) -> Option<T> + Send + Sync + 'static,
{
    let plan = ctx.sql(sql).await?.create_physical_plan().await?;
    let schema = plan.schema();
    let partitions = ctx.copied_config().target_partitions().max(1);
    let keys = vec![col("k1", &schema)?, col("k2", &schema)?];
    let repartitioned: Arc<dyn ExecutionPlan> =
        Arc::new(RepartitionExec::try_new(plan, Partitioning::Hash(keys, partitions))?);
    let order = ["k1", "k2", "ts"]
        .iter()
        .map(|c| Ok(PhysicalSortExpr::new_default(col(c, &schema)?)))
        .collect::<Result<Vec<_>>>()?;
    let ordering = LexOrdering::new(order).expect("three sort keys");
    let sorted = Arc::new(SortExec::new(ordering, repartitioned).with_preserve_partitioning(true));
    let score = Arc::new(score);
    let mut tasks = Vec::with_capacity(partitions);
    for partition in 0..partitions {
        let mut stream = sorted.execute(partition, ctx.task_ctx())?;
        let score = score.clone();
        tasks.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            let mut series = Series::default();
            let mut open = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                let columns = Columns::of(&batch)?;
                for row in 0..batch.num_rows() {
                    let (k1, k2) = (columns.k1.bytes(row), columns.k2.bytes(row));
                    if !open || series.k1 != k1 || series.k2 != k2 {
                        if open && let Some(t) = score(&series) {
                            kept.push(t);
                        }
                        series.reset(k1, k2);
                        open = true;
                    }
                    columns.push(row, &mut series, cap);
                }
            }
            if open && let Some(t) = score(&series) {
                kept.push(t);
            }
            Ok::<_, DataFusionError>(kept)
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.extend(task.await.map_err(|e| DataFusionError::External(Box::new(e)))??);
    }
    Ok(out)
}

/// A key column as bytes, whatever string or binary type the plan produced.
enum Key {
    Fixed(FixedSizeBinaryArray),
    Utf8(StringArray),
    View(StringViewArray),
}

impl Key {
    fn of(array: &ArrayRef) -> Result<Key> {
        Ok(match array.data_type() {
            DataType::FixedSizeBinary(_) => Key::Fixed(array.as_fixed_size_binary().clone()),
            DataType::Utf8 => Key::Utf8(array.as_string::<i32>().clone()),
            DataType::Utf8View => Key::View(array.as_string_view().clone()),
            other => return exec_err!("series key must be an address or text, not {other}"),
        })
    }

    fn bytes(&self, row: usize) -> &[u8] {
        match self {
            Key::Fixed(a) if a.is_valid(row) => a.value(row),
            Key::Utf8(a) if a.is_valid(row) => a.value(row).as_bytes(),
            Key::View(a) if a.is_valid(row) => a.value(row).as_bytes(),
            _ => &[],
        }
    }
}

struct Columns {
    k1: Key,
    k2: Key,
    ts: ArrayRef,
    bytes: ArrayRef,
    duration: ArrayRef,
    uid: Key,
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
        let cast = |name: &str, to: &DataType| -> Result<ArrayRef> {
            Ok(datafusion::arrow::compute::cast(&column(name)?, to)?)
        };
        Ok(Columns {
            k1: Key::of(&column("k1")?)?,
            k2: Key::of(&column("k2")?)?,
            ts: column("ts")?,
            bytes: cast("bytes", &DataType::UInt64)?,
            duration: cast("duration", &DataType::Float64)?,
            uid: Key::of(&column("uid")?)?,
            peer: batch.column_by_name("peer").and_then(|p| p.as_fixed_size_binary_opt().cloned()),
            answered: batch.column_by_name("answered").and_then(|a| a.as_boolean_opt().cloned()),
            continued: batch.column_by_name("continued").and_then(|a| a.as_boolean_opt().cloned()),
        })
    }

    fn push(&self, row: usize, series: &mut Series, cap: usize) {
        let ts = self.ts.as_primitive::<TimestampMicrosecondType>().value(row);
        let bytes = self.bytes.as_primitive::<UInt64Type>();
        let bytes = if bytes.is_valid(row) { bytes.value(row) } else { 0 };
        let duration = self.duration.as_primitive::<Float64Type>();
        let duration = if duration.is_valid(row) { duration.value(row) } else { 0.0 };
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
        if series.uids.len() < UIDS_KEPT {
            let uid = self.uid.bytes(row);
            if !uid.is_empty() {
                series.uids.push(String::from_utf8_lossy(uid).into_owned());
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
    let sql = "SELECT src AS k1, dst AS k2, ts, 0 AS bytes, 0.0 AS duration, uid FROM conn
               WHERE src IS NOT NULL AND dst IS NOT NULL";
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
