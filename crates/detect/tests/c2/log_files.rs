//! Queries over the log files themselves agree with the same queries over their store, on every
//! real Zeek capture in `../shared/data/zeek/` and for projections from one column to all: the
//! reader's column skipping changes what is parsed, never what a query sees.

use std::sync::Arc;

use datafusion::prelude::SessionContext;
use lasthop_normalise::{LogType, schema};
use lasthop_query::{SessionOptions, open_log_files, open_store};
use lasthop_sources::{Diagnostics, ReadOptions, find_files};

use crate::common::{PathBuf, import, shared};

async fn count(ctx: &SessionContext, sql: &str) -> i64 {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let column = batches[0].column(0);
    datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(
        column,
    )
    .value(0)
}

/// For each folder of log files on its own (some captures come as TSV and JSON copies in sibling
/// folders), every log type's rows under several projections are the same both ways. The store
/// keeps a record that arrives twice once (Stratosphere folders hold `conn.log` and its labelled
/// copy), the files hold it twice: where they do, the store must hold each record from the first
/// file, in import order, that has it (a file's own repeats are its records and are kept). RITA's
/// `missing_host` is three days of the same sensor's hourly files: the first day stands for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_over_the_files_match_queries_over_their_store() {
    let Some(zeek) = shared("") else { return };
    let mut folders: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
    for file in find_files(&[zeek], &mut Diagnostics::default()) {
        let folder = file.parent().map(PathBuf::from).unwrap_or_default();
        folders.entry(folder).or_default().push(file);
    }
    folders.retain(|folder, _| {
        !folder.ends_with("missing_host/2024-04-20") && !folder.ends_with("missing_host/2024-04-21")
    });
    assert!(folders.len() >= 6, "only {} folders of logs", folders.len());
    let mut compared = 0;
    for (capture, files) in &folders {
        let store_dir = import(files);
        let store = lasthop_store::Store::open(store_dir.path()).unwrap();
        let options = SessionOptions { threads: 2, ..SessionOptions::default() };
        let stored = open_store(&store, &options).await.unwrap();
        let read = ReadOptions { threads: 2, chunk_bytes: 64 << 10, ..ReadOptions::default() };
        let (raw, _) = open_log_files(files, &read, &options).await.unwrap();
        for log_type in LogType::ALL {
            let table = log_type.name();
            let provider = raw.table_provider(table).await.unwrap();
            stored.register_table(format!("files_{table}"), Arc::clone(&provider)).unwrap();
            let total = count(&stored, &format!("SELECT count(*) FROM {table}")).await;
            let read = count(&stored, &format!("SELECT count(*) FROM files_{table}")).await;
            let files = if read == total {
                format!("files_{table}")
            } else {
                let first_copies = format!(
                    "(SELECT * FROM (SELECT *, min(_source) OVER (PARTITION BY _key) AS first FROM files_{table}) WHERE _source = first)"
                );
                let kept = count(&stored, &format!("SELECT count(*) FROM {first_copies}")).await;
                assert_eq!(kept, total, "{} {table}: records", capture.display());
                first_copies
            };
            if total == 0 {
                continue;
            }
            let names: Vec<String> = schema(log_type)
                .fields()
                .iter()
                .map(|f| format!("\"{}\"", f.name()))
                .filter(|n| n != "\"_extra\"")
                .collect();
            let typed = names.len() - 3;
            // Everything, one column, and two from either end of the line.
            let projections =
                [names.join(", "), names[1].clone(), format!("{}, {}", names[typed - 1], names[0])];
            for columns in &projections {
                // As many rows both ways, so one multiset holding the other makes them equal.
                let sql = format!(
                    "SELECT count(*) FROM (SELECT {columns} FROM {table} EXCEPT ALL SELECT {columns} FROM {files})"
                );
                assert_eq!(count(&stored, &sql).await, 0, "{}: {sql}", capture.display());
                compared += 1;
            }
        }
    }
    assert!(compared >= 20, "only {compared} projections compared");
}
