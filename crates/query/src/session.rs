//! A DataFusion session over a store: every table registered from the manifest's parts (never
//! from a directory listing), with lasthop's functions.

use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::TrackConsumersPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::optimizer::Analyzer;
use datafusion::prelude::{SessionConfig, SessionContext};
use lasthop_normalise::{LogType, Networks, schema};
use lasthop_store::Store;

use crate::functions::{self, ip::IpLiteralRule};

/// How a session runs.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Parallelism of query execution.
    pub threads: usize,
    /// What `is_internal` and the detectors call internal.
    pub internal: Networks,
    /// What `network_type()` answers with.
    pub network_types: Arc<lasthop_intel::Classifier>,
    /// Bytes the query engine may hold; past it, sorts and aggregations spill to disk instead
    /// of failing. `None`: no limit.
    pub memory_limit: Option<usize>,
    /// Where spills go (default: the OS's temporary directory).
    pub spill_dir: Option<std::path::PathBuf>,
    /// Hunt only the last this many microseconds of the store (`--since 7d`), counted back from
    /// its latest record, so a week-old capture and a live sensor read alike.
    pub window_us: Option<i64>,
    /// Whether operators may spill to disk at all (tests turn it off to show that a limit
    /// binds).
    pub allow_spill: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            internal: Networks::default(),
            network_types: Arc::new(lasthop_intel::Classifier::bundled().clone()),
            memory_limit: None,
            spill_dir: None,
            allow_spill: true,
            window_us: None,
        }
    }
}

/// What unspillable use leaves every spilling operator: enough for a sort to take its next
/// batch after spilling (twice the batch, 8,192 rows of up to ~200 bytes).
const SPILLER_FLOOR: usize = 4 << 20;

/// The largest sorted run of a one-column sort (see `new_context`).
const SORT_RUN_BYTES: usize = 32 << 20;

/// A session with lasthop's functions but no tables.
pub fn new_context(options: &SessionOptions) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_target_partitions(options.threads.max(1))
        .with_information_schema(true);
    // A sort of one key column (the per-pair series) merges sorted runs of this many bytes:
    // DataFusion's default, a megabyte, made ~300 runs of a 5 M-row partition, whose merge
    // cost more than sorting the runs (measured on the per-pair gap statistics of 10 M
    // connections, see `docs/benchmarks.md`). A run is concatenated before it is sorted, a
    // copy that stays well inside a memory limit.
    config.options_mut().execution.sort_in_place_threshold_bytes = options
        .memory_limit
        .map_or(SORT_RUN_BYTES, |limit| (limit / 16).clamp(1 << 20, SORT_RUN_BYTES));
    let pool = options.memory_limit.map(|limit| {
        // A fair share per spilling operator, so one large sort cannot starve the others; the
        // memory a sort keeps back for merging its spills must fit well inside the limit, and
        // stays out of the shares (see `memory_pool`).
        let merge_reserve = (limit / 8).clamp(1024 * 1024, 16 * 1024 * 1024);
        config.options_mut().execution.sort_spill_reservation_bytes = merge_reserve;
        let headroom = merge_reserve * options.threads.max(1);
        // Tracked, so that running out names the operators holding the memory.
        Arc::new(TrackConsumersPool::new(
            crate::memory_pool::HeadroomPool::new(limit, headroom, SPILLER_FLOOR),
            NonZeroUsize::new(5).expect("five"),
        ))
    });
    let mode = match (&options.spill_dir, options.allow_spill) {
        (_, false) => DiskManagerMode::Disabled,
        (Some(dir), true) => DiskManagerMode::Directories(vec![dir.clone()]),
        (None, true) => DiskManagerMode::OsTmpDirectory,
    };
    let build = |mode: DiskManagerMode| {
        let mut runtime = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(mode));
        if let Some(pool) = &pool {
            runtime = runtime.with_memory_pool(pool.clone());
        }
        runtime.build_arc()
    };
    // An unusable spill directory (the command line checks it first) falls back to the OS's
    // temporary directory, keeping the memory limit.
    let runtime = build(mode)
        .or_else(|_| build(DiskManagerMode::OsTmpDirectory))
        .unwrap_or_else(|_| Arc::new(RuntimeEnv::default()));
    let mut rules: Vec<Arc<dyn datafusion::optimizer::AnalyzerRule + Send + Sync>> =
        vec![Arc::new(IpLiteralRule)];
    rules.extend(Analyzer::new().rules);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_analyzer_rules(rules)
        .build();
    let ctx = SessionContext::new_with_state(state);
    functions::register_session(&ctx, &options.internal, &options.network_types);
    ctx
}

/// A session over a store: one table per log type (`conn`, `dns`, `http`, `ssl`, `x509`,
/// `files`, `ssh`, `dhcp`, `web`, `open_conn`, `open_http`, `open_ssl`), empty where the store
/// holds none.
pub async fn open_store(store: &Store, options: &SessionOptions) -> Result<SessionContext> {
    let ctx = new_context(options);
    let cutoff = options.window_us.and_then(|w| store.time_span().map(|(_, last)| last - w));
    for log_type in LogType::ALL {
        // A lease granted before the window still says who holds an address inside it.
        let window = cutoff.filter(|_| log_type != LogType::Dhcp);
        match window {
            None => register_table(&ctx, log_type.name(), store.part_paths(log_type), log_type)?,
            Some(cutoff) => {
                // The parts that can hold the window, behind a view that keeps its records.
                let all = format!("{}_in_store", log_type.name());
                register_table(&ctx, &all, store.part_paths_since(log_type, cutoff), log_type)?;
                ctx.sql(&format!(
                    "CREATE VIEW {} AS SELECT * FROM {all} WHERE CAST(ts AS BIGINT) >= {cutoff}",
                    log_type.name()
                ))
                .await?;
            }
        }
    }
    crate::history::register(&ctx, store.root()).await?;
    register_views(&ctx).await?;
    Ok(ctx)
}

/// Views over the tables that hunters ask for again and again.
///
/// `user_agents`: per source and user agent, the destinations and names it was sent to, the
/// requests, and how many sources send it at all — RITA's rare-signature table, where a user
/// agent only one host sends stands out.
pub async fn register_views(ctx: &SessionContext) -> Result<()> {
    ctx.sql(
        "CREATE OR REPLACE VIEW user_agents AS
         WITH usage AS (SELECT user_agent, count(DISTINCT src) AS senders FROM http GROUP BY user_agent)
         SELECT h.src, h.user_agent, count(DISTINCT h.dst) AS destinations,
                count(DISTINCT h.host) AS names, count(*) AS requests, u.senders
         FROM http h JOIN usage u ON h.user_agent IS NOT DISTINCT FROM u.user_agent
         GROUP BY h.src, h.user_agent, u.senders",
    )
    .await?;
    Ok(())
}

pub(crate) fn register_table(
    ctx: &SessionContext,
    name: &str,
    paths: Vec<std::path::PathBuf>,
    log_type: LogType,
) -> Result<()> {
    let schema = schema(log_type);
    if paths.is_empty() {
        let empty = MemTable::try_new(schema, vec![vec![]])?;
        ctx.register_table(name, Arc::new(empty))?;
        return Ok(());
    }
    let urls = paths
        .iter()
        .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
        .collect::<Result<Vec<_>>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

/// A session over in-memory batches, for detector tests: every log type is registered, empty
/// where `tables` gives none.
pub fn from_batches(
    tables: Vec<(LogType, Vec<datafusion::arrow::array::RecordBatch>)>,
    options: &SessionOptions,
) -> Result<SessionContext> {
    let ctx = new_context(options);
    for log_type in LogType::ALL {
        let batches: Vec<_> = tables
            .iter()
            .filter(|(t, _)| *t == log_type)
            .flat_map(|(_, b)| b.iter().cloned())
            .collect();
        let table = MemTable::try_new(schema(log_type), vec![batches])?;
        ctx.register_table(log_type.name(), Arc::new(table))?;
    }
    Ok(ctx)
}
