//! Tables over the log files themselves, for a question asked once: no store is written, and
//! each query parses only the columns it reads.
//!
//! A store pays for itself when the same records are queried again (every detector of a hunt
//! reads `conn`) or kept; one query over a day of logs — an analyst's `lasthop sql --logs`,
//! the per-pair gap statistics of the beacon benchmark — would spend most of its time encoding
//! and compressing columns it never reads. Here a scan hands the query's projection to the
//! reader, which cuts every line but converts only the wanted fields, and streams the batches
//! into the plan through a small bounded channel, so memory stays flat whatever the files'
//! size. What the reader skipped (bad lines, unreadable files) is summed in a [`ReadReport`]
//! the caller prints once the query is done.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::prelude::SessionContext;
use futures::{SinkExt, StreamExt};
use lasthop_normalise::{LogType, schema};
use lasthop_sources::{Diagnostics, Projection, ReadOptions};

use crate::session::{SessionOptions, new_context, register_views};

/// Batches parsed ahead of the query: enough to keep the parser busy while the plan works.
const BATCHES_AHEAD: usize = 4;

/// What reading the files for a session's queries found, summed over every scan.
#[derive(Debug, Default)]
pub struct ReadReport {
    /// File reads (a file scanned by two queries counts twice).
    pub files: u64,
    pub records: u64,
    pub diagnostics: Diagnostics,
}

/// A session whose tables (`conn`, `dns`, … as over a store) read `files` directly. Each file
/// is read for the log types it holds (from its header or name), so a folder of mixed logs
/// works as it does for `import`; `history` and the window of `--since` are store features and
/// absent here.
pub async fn open_log_files(
    files: &[PathBuf],
    read: &ReadOptions,
    options: &SessionOptions,
) -> Result<(SessionContext, Arc<Mutex<ReadReport>>)> {
    let ctx = new_context(options);
    let report = Arc::new(Mutex::new(ReadReport::default()));
    let files: Arc<[PathBuf]> = files.into();
    for log_type in LogType::ALL {
        let table = LogFilesTable {
            log_type,
            files: files.clone(),
            read: read.clone(),
            report: report.clone(),
        };
        ctx.register_table(log_type.name(), Arc::new(table))?;
    }
    register_views(&ctx).await?;
    Ok((ctx, report))
}

/// One log type's records in a list of files.
#[derive(Debug)]
struct LogFilesTable {
    log_type: LogType,
    files: Arc<[PathBuf]>,
    read: ReadOptions,
    report: Arc<Mutex<ReadReport>>,
}

#[async_trait::async_trait]
impl TableProvider for LogFilesTable {
    fn schema(&self) -> SchemaRef {
        schema(self.log_type)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.schema();
        let mut wanted = vec![projection.is_none(); schema.fields().len()];
        for &field in projection.into_iter().flatten() {
            wanted[field] = true;
        }
        let indices: Vec<usize> = (0..wanted.len()).filter(|&i| wanted[i]).collect();
        let projected = Arc::new(schema.project(&indices)?);
        let mut read = self.read.clone();
        read.projection = Some(Projection { log_type: self.log_type, wanted: wanted.into() });
        // The reader's batches hold the projection's fields, in schema order; the plan then
        // puts them in the order the query asked for.
        let order: Vec<usize> = projection
            .map(|p| p.iter().map(|f| indices.binary_search(f).expect("projected")).collect())
            .unwrap_or_else(|| (0..indices.len()).collect());
        let partition = LogFilesStream {
            schema: projected.clone(),
            log_type: self.log_type,
            files: self.files.clone(),
            read,
            report: self.report.clone(),
        };
        let no_ordering: [datafusion::physical_expr::LexOrdering; 0] = [];
        Ok(Arc::new(StreamingTableExec::try_new(
            projected,
            vec![Arc::new(partition)],
            Some(&order),
            no_ordering,
            false,
            limit,
        )?))
    }
}

/// The scan of one table: one stream, parsed on the reader's own threads.
#[derive(Debug)]
struct LogFilesStream {
    schema: SchemaRef,
    log_type: LogType,
    files: Arc<[PathBuf]>,
    read: ReadOptions,
    report: Arc<Mutex<ReadReport>>,
}

impl PartitionStream for LogFilesStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (mut sender, receiver) = futures::channel::mpsc::channel(BATCHES_AHEAD);
        let (log_type, files, read, report) =
            (self.log_type, self.files.clone(), self.read.clone(), self.report.clone());
        // The parser blocks on a full channel, so it runs on a thread of its own rather than
        // on one of the runtime's workers.
        std::thread::spawn(move || {
            for file in files.iter() {
                let read_one = std::panic::AssertUnwindSafe(|| {
                    lasthop_sources::read_file(file, &read, |batch_type, batch| {
                        if batch_type != log_type {
                            return Ok(());
                        }
                        // The query was dropped (a LIMIT met, an error): stop reading.
                        futures::executor::block_on(sender.send(Ok(batch))).map_err(|_| ())
                    })
                });
                let summary = match std::panic::catch_unwind(read_one) {
                    Ok(Ok(summary)) => summary,
                    Ok(Err(())) => return,
                    // A reader's failure must fail the query, not end its input early.
                    Err(panic) => {
                        let what = panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("a parser failed");
                        let error = DataFusionError::Execution(format!(
                            "reading {}: {what}",
                            file.display()
                        ));
                        let _ = futures::executor::block_on(sender.send(Err(error)));
                        return;
                    }
                };
                let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
                report.files += 1;
                report.records += summary.records;
                report.diagnostics.merge(summary.diagnostics);
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), receiver.map(|b| b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const CONN_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n\
        #unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\t\
        id.resp_p\tproto\tduration\torig_bytes\n#types\ttime\tstring\taddr\tport\taddr\tport\t\
        enum\tinterval\tcount\n";

    async fn query(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
    }

    /// A query over the files gives what a query over their store gives, reads only its
    /// columns (a bad value in another column goes unnoticed, one in its own is reported),
    /// and skips other log types' files.
    #[tokio::test]
    async fn queries_read_the_files_and_only_the_columns_they_need() {
        let dir = tempfile::tempdir().unwrap();
        let conn = write(
            dir.path(),
            "conn.log",
            &format!(
                "{CONN_HEADER}1700000000.5\tC1\t10.0.0.1\t5000\t1.2.3.4\t443\ttcp\t1.5\t100\n\
                 1700000060.5\tC2\t10.0.0.1\t5001\t1.2.3.4\t443\ttcp\tnot-a-number\t200\n\
                 1700000120.5\tC3\t10.0.0.2\t5002\t1.2.3.5\t80\ttcp\t0.5\tbad\n"
            ),
        );
        let dns = write(
            dir.path(),
            "dns.log",
            "#separator \\x09\n#path\tdns\n#fields\tts\tuid\tquery\n#types\ttime\tstring\tstring\n\
             1700000000\tD1\texample.com\n",
        );
        let options = SessionOptions { threads: 2, ..SessionOptions::default() };
        let read = ReadOptions { threads: 2, ..ReadOptions::default() };
        let (ctx, report) = open_log_files(&[conn, dns], &read, &options).await.unwrap();

        let by_pair = query(
            &ctx,
            "SELECT ip_text(src) AS src, count(*) AS n, sum(orig_bytes) AS bytes FROM conn \
             GROUP BY src ORDER BY src",
        )
        .await;
        assert_eq!(
            by_pair,
            "+----------+---+-------+\n\
             | src      | n | bytes |\n\
             +----------+---+-------+\n\
             | 10.0.0.1 | 2 | 300   |\n\
             | 10.0.0.2 | 1 |       |\n\
             +----------+---+-------+"
        );
        let skipped = |report: &Arc<Mutex<ReadReport>>| {
            report.lock().unwrap().diagnostics.total(lasthop_sources::Reason::BadValue)
        };
        assert_eq!(skipped(&report), 1, "only the read column's bad value is seen");
        assert_eq!(report.lock().unwrap().records, 3, "the dns file gave conn nothing");

        let durations = query(&ctx, "SELECT count(duration) AS n FROM conn").await;
        assert!(durations.contains("| 2 |"), "{durations}");
        assert_eq!(skipped(&report), 2, "now the duration is read and its bad value reported");
        let counted = query(&ctx, "SELECT count(*) AS n FROM conn").await;
        assert!(counted.contains("| 3 |"), "no column read, every record counted: {counted}");
        let names = query(&ctx, "SELECT query FROM dns").await;
        assert!(names.contains("example.com"), "{names}");
        let limited = query(&ctx, "SELECT uid FROM conn LIMIT 1").await;
        assert_eq!(limited.lines().count(), 5, "{limited}");
    }
}
