//! The store's history: when each destination address, each (source, destination) pair and
//! each domain was first and last seen, over every import the store has had.
//!
//! A store keeps its records for `--retention` days; the history outlives them, so "first seen"
//! and "new this week" mean first seen by this sensor, not first seen in the records that are
//! left. It is one Parquet file, `history.parquet`, rebuilt after each import from the old file
//! and the new parts only (so an hourly import costs what the hour holds), and replaced
//! atomically. The `history` table shows it to SQL and the detectors:
//!
//! | column | |
//! |---|---|
//! | `kind` | `endpoint` (a destination address), `pair` (source and destination) or `domain` (a DNS query, HTTP `Host` or TLS SNI) |
//! | `src`, `dst` | addresses (null where the kind has none) |
//! | `name` | the domain, lower-case, without a trailing dot |
//! | `first_seen`, `last_seen` | UTC |
//! | `records` | records that mentioned it |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use lasthop_normalise::{IP_WIDTH, LogType};
use lasthop_store::{Store, files};
use std::io::Write;

use crate::session::{SessionOptions, new_context, register_table};

/// The history's file inside a store.
pub use lasthop_store::files::HISTORY_FILE;

pub fn schema() -> SchemaRef {
    let time = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("src", DataType::FixedSizeBinary(IP_WIDTH), true),
        Field::new("dst", DataType::FixedSizeBinary(IP_WIDTH), true),
        Field::new("name", DataType::Utf8, true),
        Field::new("first_seen", time.clone(), true),
        Field::new("last_seen", time, true),
        Field::new("records", DataType::Int64, true),
    ]))
}

/// Registers the store's history as `history` (empty when the store has none yet).
pub async fn register(ctx: &SessionContext, store_root: &Path) -> Result<()> {
    register_as(ctx, "history", &store_root.join(HISTORY_FILE)).await
}

async fn register_as(ctx: &SessionContext, name: &str, file: &Path) -> Result<()> {
    if file.exists() {
        let schema = schema();
        let options = ParquetReadOptions::default().schema(&schema);
        ctx.register_parquet(name, file.to_string_lossy(), options).await
    } else {
        ctx.register_table(name, Arc::new(MemTable::try_new(schema(), vec![vec![]])?))?;
        Ok(())
    }
}

/// What [`update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryUpdate {
    /// Entries in the history after the update.
    pub entries: u64,
    /// Entries seen for the first time in the parts just imported.
    pub new_entries: u64,
}

/// Beside the history: how many of the manifest's commits it has folded in. Commits are only
/// ever appended (retention empties their parts but keeps them), so the count names a prefix.
use lasthop_store::files::HISTORY_COVERS_FILE as COVERS_FILE;

/// Memory the history update may hold by default before its aggregations spill: the distinct
/// endpoints, pairs and domains grow with the data, so an unbounded update would make an
/// import's memory grow with its input.
pub const DEFAULT_MEMORY_LIMIT: usize = 256 << 20;

/// Folds the commits the history has not yet seen (those of the imports since the last update)
/// into the store's history, holding at most `memory_limit` bytes in its aggregations (past it
/// they spill to `spill_dir`, or the OS's temporary directory).
pub async fn update(
    store: &Store,
    memory_limit: usize,
    spill_dir: Option<&Path>,
) -> Result<HistoryUpdate> {
    // Concurrent hunts (and an import's retention) must not write the history at once.
    let _lock = lasthop_store::lock(store.root())
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
    let store = &Store::open(store.root())
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
    let covers = store.root().join(COVERS_FILE);
    let first_commit: usize =
        std::fs::read_to_string(&covers).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
    let commits = store.manifest().commits.len();
    let file = store.root().join(HISTORY_FILE);
    if first_commit >= commits && file.exists() {
        let ctx = SessionContext::new();
        register_as(&ctx, "history", &file).await?;
        let entries = count(&ctx, "SELECT count(*) FROM history").await?;
        return Ok(HistoryUpdate { entries: entries as u64, new_entries: 0 });
    }
    let ctx = new_context(&SessionOptions {
        threads: 2,
        memory_limit: Some(memory_limit),
        spill_dir: spill_dir.map(Path::to_path_buf),
        ..Default::default()
    });
    let new_parts = |log_type: LogType| -> Vec<PathBuf> {
        store.manifest().commits[first_commit.min(store.manifest().commits.len())..]
            .iter()
            .flat_map(|c| &c.parts)
            .filter(|p| p.table == log_type.name())
            .map(|p| store.root().join(&p.file))
            .collect()
    };
    for log_type in [LogType::Conn, LogType::Dns, LogType::Http, LogType::Ssl] {
        register_table(&ctx, log_type.name(), new_parts(log_type), log_type)?;
    }
    register_as(&ctx, "before", &file).await?;
    let domain = |column: &str| format!("lower(rtrim({column}, '.'))");
    let no_ip = "arrow_cast(NULL, 'FixedSizeBinary(16)')";
    let sql = format!(
        "SELECT kind, src, dst, name, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
                CAST(sum(records) AS BIGINT) AS records
         FROM (
           SELECT 'endpoint' AS kind, {no_ip} AS src, dst, CAST(NULL AS VARCHAR) AS name,
                  min(ts) AS first_seen, max(ts) AS last_seen, count(*) AS records
             FROM conn WHERE dst IS NOT NULL GROUP BY dst
           UNION ALL
           SELECT 'pair', src, dst, NULL, min(ts), max(ts), count(*)
             FROM conn WHERE src IS NOT NULL AND dst IS NOT NULL GROUP BY src, dst
           UNION ALL
           SELECT 'domain', {no_ip}, {no_ip}, name, min(ts), max(ts), count(*) FROM (
             SELECT {dns} AS name, ts FROM dns
             UNION ALL SELECT {http} AS name, ts FROM http
             UNION ALL SELECT {ssl} AS name, ts FROM ssl
           ) WHERE name IS NOT NULL AND name <> '' GROUP BY name
           UNION ALL
           SELECT kind, src, dst, name, first_seen, last_seen, records FROM before
         )
         GROUP BY kind, src, dst, name",
        dns = domain("query"),
        http = domain("host"),
        ssl = domain("server_name"),
    );
    // The Parquet writer holds a whole row group before writing it (a million rows by default,
    // with its columns encoded in parallel): smaller groups keep that part of the memory small
    // and independent of the history's size.
    for setting in [
        "SET datafusion.execution.parquet.max_row_group_size = 65536",
        "SET datafusion.execution.parquet.allow_single_file_parallelism = false",
    ] {
        ctx.sql(setting).await?.collect().await?;
    }
    let before: i64 = count(&ctx, "SELECT count(*) FROM before").await?;
    // DataFusion's writer is async and takes a path: it writes the temporary file, which then
    // replaces the history.
    let tmp = files::partial_path(&file);
    let _ = std::fs::remove_file(&tmp);
    ctx.sql(&sql)
        .await?
        .write_parquet(
            &tmp.to_string_lossy(),
            DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await?;
    files::commit_partial(&file)?;
    // Written after the history: a crash in between folds the same commits again, which leaves
    // first and last seen as they are and only overcounts `records`.
    files::write_atomic(&covers, |w| w.write_all(commits.to_string().as_bytes()))?;
    let after_ctx = SessionContext::new();
    register_as(&after_ctx, "history", &file).await?;
    let entries: i64 = count(&after_ctx, "SELECT count(*) FROM history").await?;
    Ok(HistoryUpdate { entries: entries as u64, new_entries: (entries - before).max(0) as u64 })
}

async fn count(ctx: &SessionContext, sql: &str) -> Result<i64> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .map(|a| a.value(0))
        })
        .unwrap_or(0))
}
