//! One part's Parquet file, its columns encoded and compressed on several threads.
//!
//! Parsing already runs on every core, so with parquet's `ArrowWriter` the one thread that
//! encodes and compresses every column became the import's bottleneck: profiled on a 5 M-record
//! conn.log, it was busy for 5.0 of 6.2 s while the parsers waited on it. Columns are
//! independent until they are laid out in the file, so each batch's columns are shared out
//! among threads (largest first, so that no thread is left with the biggest at the end) and
//! only the finished column chunks are appended in order.
//!
//! The helper threads live for the whole import ([`EncodingThreads`]), so that one started per
//! batch does not cost a start and a fresh allocator heap each time.

use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::JoinHandle;

use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use crate::chunk_pages::OwnChunk;
use crate::delta_chunk::{DeltaChunkWriter, DeltaPlan};
use crate::dictionary_chunk::{DictionaryChunkWriter, DictionaryPlan};

pub(crate) struct ParallelParquetWriter {
    /// Closed row groups on their way to the file (see [`FileAppender`]).
    appender: FileAppender,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The open row group's column writers, one per Parquet leaf column (`None` only while
    /// the group is being closed).
    columns: Arc<Vec<Mutex<Option<LeafWriter>>>>,
    /// Per leaf column, how to write it without parquet's Arrow writer, if it can be.
    own_plans: Arc<Vec<Option<OwnPlan>>>,
    /// Per field of the schema, the index of its first leaf column; one more entry closes the
    /// last field's range.
    first_leaf: Arc<Vec<usize>>,
    rows_in_group: usize,
    row_group_rows: usize,
    row_groups: usize,
    threads: Arc<EncodingThreads>,
}

impl ParallelParquetWriter {
    pub(crate) fn try_new(
        file: File,
        schema: SchemaRef,
        props: WriterProperties,
        row_group_rows: usize,
        threads: Arc<EncodingThreads>,
    ) -> Result<Self> {
        // Going through `ArrowWriter` records the Arrow schema in the file's metadata, as a
        // reader expects (time zones, map types).
        let (file, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props.clone()))?
            .into_serialized_writer()?;
        // Parquet's own schema says which field each leaf column comes from.
        let descr = file.schema_descr();
        let roots: Vec<usize> =
            (0..descr.num_columns()).map(|i| descr.get_column_root_idx(i)).collect();
        let own_plans: Arc<Vec<_>> = Arc::new(
            (0..descr.num_columns())
                .map(|i| {
                    let data_type = schema.fields().get(roots[i])?.data_type();
                    OwnPlan::for_column(&descr.column(i), data_type, &props)
                })
                .collect(),
        );
        let columns = open_columns(&factory, 0, &own_plans)?;
        let first_leaf: Vec<usize> =
            (0..=schema.fields().len()).map(|f| roots.partition_point(|root| *root < f)).collect();
        if !roots.is_sorted() || roots.len() != columns.len() {
            return Err(ParquetError::General("schema and column writers disagree".into()));
        }
        Ok(ParallelParquetWriter {
            appender: FileAppender::start(file)?,
            factory,
            schema,
            columns,
            own_plans,
            first_leaf: Arc::new(first_leaf),
            rows_in_group: 0,
            row_group_rows: row_group_rows.max(1),
            row_groups: 0,
            threads,
        })
    }

    /// Rows written to the open row group.
    pub(crate) fn in_progress_rows(&self) -> usize {
        self.rows_in_group
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = (self.row_group_rows - self.rows_in_group).min(batch.num_rows() - offset);
            self.encode(&batch.slice(offset, len))?;
            self.rows_in_group += len;
            offset += len;
            if self.rows_in_group >= self.row_group_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn encode(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch_schema = batch.schema();
        let same_types = batch_schema.fields().len() == self.schema.fields().len()
            && batch_schema
                .fields()
                .iter()
                .zip(self.schema.fields())
                .all(|(a, b)| a.data_type() == b.data_type());
        if !same_types {
            return Err(ParquetError::General("batch does not match the part's schema".into()));
        }
        // Levels are worked out per field on the thread that encodes it: done here, one field
        // after another, they kept the other encoding threads waiting.
        let mut order: Vec<usize> = (0..batch.num_columns()).collect();
        order.sort_by_key(|f| std::cmp::Reverse(batch.column(*f).get_array_memory_size()));
        let fields = self.schema.fields().clone();
        let first_leaf = Arc::clone(&self.first_leaf);
        let columns = Arc::clone(&self.columns);
        let batch = batch.clone();
        self.threads.for_each(order, move |f| {
            let first = first_leaf[f];
            // An own writer takes its field's array as it is: such a field is one leaf.
            if first_leaf[f + 1] == first + 1 {
                let written = lock(&columns[first])
                    .as_mut()
                    .and_then(|writer| writer.write_array(batch.column(f).as_ref()));
                if let Some(written) = written {
                    return written;
                }
            }
            let leaves = compute_leaves(&fields[f], batch.column(f))?;
            if first + leaves.len() != first_leaf[f + 1] {
                return Err(ParquetError::General(
                    "batch has a different number of leaf columns".into(),
                ));
            }
            for (i, leaf) in leaves.iter().enumerate() {
                match lock(&columns[first + i]).as_mut() {
                    Some(LeafWriter::Arrow(writer)) => writer.write(leaf)?,
                    _ => return Err(lost()),
                }
            }
            Ok(())
        })
    }

    /// Closes the open row group, if it has rows, and writes it to the file.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.rows_in_group == 0 {
            return Ok(());
        }
        let next = open_columns(&self.factory, self.row_groups + 1, &self.own_plans)?;
        let writers = std::mem::replace(&mut self.columns, next);
        // Closing compresses each column's last page: worth sharing out too.
        let chunks: Arc<Vec<Mutex<Option<LeafChunk>>>> =
            Arc::new(writers.iter().map(|_| Mutex::new(None)).collect());
        let closed = Arc::clone(&chunks);
        self.threads.for_each((0..writers.len()).collect(), move |i| {
            let writer = lock(&writers[i]).take().ok_or_else(lost)?;
            *lock(&closed[i]) = Some(writer.close()?);
            Ok(())
        })?;
        // A helper may still hold its handle on `chunks` for a moment after its last item.
        let chunks = chunks.iter().map(|slot| lock(slot).take().ok_or_else(lost));
        self.appender.append(chunks.collect::<Result<_>>()?)?;
        self.row_groups += 1;
        self.rows_in_group = 0;
        Ok(())
    }

    /// Writes what is buffered and the footer, and hands back the file.
    pub(crate) fn into_inner(mut self) -> Result<File> {
        self.flush()?;
        self.appender.finish()?.into_inner()
    }
}

/// A thread that appends closed row groups to the file, in order.
///
/// Appending is a copy of every compressed page into the file, on one thread: done by the
/// importing thread, it stalled encoding and (their queue full) parsing for a few milliseconds
/// each row group, in which a core sat idle. At most one closed group waits here, so that
/// memory stays bounded when the disk is slower than the encoders.
struct FileAppender {
    groups: Option<mpsc::SyncSender<Vec<LeafChunk>>>,
    thread: Option<JoinHandle<Result<SerializedFileWriter<File>>>>,
}

impl FileAppender {
    fn start(mut file: SerializedFileWriter<File>) -> Result<FileAppender> {
        let (groups, arriving) = mpsc::sync_channel::<Vec<LeafChunk>>(1);
        let thread = std::thread::Builder::new()
            .name("lasthop-append".into())
            .spawn(move || {
                for chunks in arriving {
                    let mut row_group = file.next_row_group()?;
                    for chunk in chunks {
                        match chunk {
                            LeafChunk::Arrow(chunk) => chunk.append_to_row_group(&mut row_group)?,
                            LeafChunk::Own(OwnChunk { pages, close }) => {
                                row_group.append_column(&pages, close)?
                            }
                        }
                    }
                    row_group.close()?;
                    start_writeback(file.inner());
                }
                Ok(file)
            })
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(FileAppender { groups: Some(groups), thread: Some(thread) })
    }

    fn append(&mut self, chunks: Vec<LeafChunk>) -> Result<()> {
        let sent = self.groups.as_ref().map(|groups| groups.send(chunks).is_ok());
        match sent {
            Some(true) => Ok(()),
            // The thread stopped at an error: that error is the one to report.
            _ => self.finish().and(Err(lost())),
        }
    }

    /// Waits for every group sent to be appended and hands back the file's writer.
    fn finish(&mut self) -> Result<SerializedFileWriter<File>> {
        self.groups = None;
        let thread = self.thread.take().ok_or_else(lost)?;
        thread.join().unwrap_or_else(|_| Err(ParquetError::General("appending panicked".into())))
    }
}

/// Asks the kernel to start writing the file's dirty pages now, without waiting for them, so
/// that the `fsync` that commits the part finds little left to do.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on a descriptor this writer owns; it reads no memory of ours.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File) {}

/// How to write a leaf column with one of our own writers, where one can stand in for
/// parquet's (see [`crate::chunk_pages`]).
#[derive(Clone, Debug)]
enum OwnPlan {
    Dictionary(DictionaryPlan),
    Delta(DeltaPlan),
}

impl OwnPlan {
    fn for_column(
        descr: &parquet::schema::types::ColumnDescPtr,
        data_type: &arrow_schema::DataType,
        props: &WriterProperties,
    ) -> Option<OwnPlan> {
        DictionaryChunkWriter::plan(descr, data_type, props)
            .map(OwnPlan::Dictionary)
            .or_else(|| DeltaChunkWriter::plan(descr, data_type, props).map(OwnPlan::Delta))
    }

    fn open(&self) -> Result<LeafWriter> {
        Ok(match self {
            OwnPlan::Dictionary(plan) => {
                LeafWriter::Dictionary(DictionaryChunkWriter::new(plan.clone())?)
            }
            OwnPlan::Delta(plan) => LeafWriter::Delta(DeltaChunkWriter::new(plan.clone())?),
        })
    }
}

/// Whether a part writer would write leaf `descr` (of Arrow type `data_type`) with one of our
/// own writers.
#[cfg(test)]
pub(crate) fn takes_own_writer(
    descr: &parquet::schema::types::ColumnDescPtr,
    data_type: &arrow_schema::DataType,
    props: &WriterProperties,
) -> bool {
    OwnPlan::for_column(descr, data_type, props).is_some()
}

/// A leaf column's writer: parquet's own, or one of ours where that can stand in.
// One of these per column per row group, each in its own lock: their size is no concern.
#[allow(clippy::large_enum_variant)]
enum LeafWriter {
    Arrow(ArrowColumnWriter),
    Dictionary(DictionaryChunkWriter),
    Delta(DeltaChunkWriter),
}

impl LeafWriter {
    /// Writes a field's whole array if this is one of our writers; `None` for parquet's,
    /// which takes the field's leaves instead.
    fn write_array(&mut self, array: &dyn Array) -> Option<Result<()>> {
        match self {
            LeafWriter::Arrow(_) => None,
            LeafWriter::Dictionary(writer) => Some(writer.write(array)),
            LeafWriter::Delta(writer) => Some(writer.write(array)),
        }
    }

    fn close(self) -> Result<LeafChunk> {
        Ok(match self {
            LeafWriter::Arrow(writer) => LeafChunk::Arrow(writer.close()?),
            LeafWriter::Dictionary(writer) => LeafChunk::Own(writer.close()?),
            LeafWriter::Delta(writer) => LeafChunk::Own(writer.close()?),
        })
    }
}

enum LeafChunk {
    Arrow(ArrowColumnChunk),
    Own(OwnChunk),
}

fn open_columns(
    factory: &ArrowRowGroupWriterFactory,
    row_group: usize,
    own_plans: &[Option<OwnPlan>],
) -> Result<Arc<Vec<Mutex<Option<LeafWriter>>>>> {
    let writers = factory.create_column_writers(row_group)?;
    let writers = writers.into_iter().zip(own_plans).map(|(writer, plan)| {
        let writer = match plan {
            Some(plan) => plan.open()?,
            None => LeafWriter::Arrow(writer),
        };
        Ok(Mutex::new(Some(writer)))
    });
    Ok(Arc::new(writers.collect::<Result<_>>()?))
}

/// A thread that panicked leaves its lock poisoned; the value is still usable, and the panic
/// itself is reported as an error (see [`EncodingThreads`]).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn lost() -> ParquetError {
    ParquetError::General("a column writer was lost by a failed encoding thread".into())
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads that help the importing thread encode columns, kept for a whole import.
pub(crate) struct EncodingThreads {
    jobs: Option<mpsc::Sender<Job>>,
    helpers: Vec<JoinHandle<()>>,
}

impl EncodingThreads {
    /// `threads` in all, counting the caller's: `threads - 1` helpers.
    pub(crate) fn new(threads: usize) -> EncodingThreads {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let helpers = (1..threads.max(1))
            .map(|n| {
                let queue = Arc::clone(&queue);
                std::thread::Builder::new()
                    .name(format!("lasthop-encode-{n}"))
                    .spawn(move || {
                        loop {
                            let job = match lock(&queue).recv() {
                                Ok(job) => job,
                                Err(_) => break,
                            };
                            job();
                        }
                    })
                    .expect("spawning an encoding thread")
            })
            .collect();
        EncodingThreads { jobs: Some(jobs), helpers }
    }

    /// Runs `work` on every item, on the caller's thread and every helper, each taking the next
    /// item when it is free; returns when all are done, with the first error. A panic in
    /// `work` is returned as an error, so that no thread is lost and no caller waits forever.
    fn for_each(
        &self,
        items: Vec<usize>,
        work: impl Fn(usize) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        struct Shared<W> {
            items: Vec<usize>,
            next: AtomicUsize,
            work: W,
            first_error: Mutex<Option<ParquetError>>,
            helpers_running: Mutex<usize>,
            helpers_done: Condvar,
        }
        fn run<W: Fn(usize) -> Result<()>>(shared: &Shared<W>) {
            loop {
                let i = shared.next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = shared.items.get(i) else { break };
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (shared.work)(*item)))
                    .unwrap_or_else(|_| {
                        Err(ParquetError::General("encoding a column panicked".into()))
                    });
                if let Err(e) = outcome {
                    lock(&shared.first_error).get_or_insert(e);
                    // Skip what is left: the part is discarded anyway.
                    shared.next.store(shared.items.len(), Ordering::Relaxed);
                    break;
                }
            }
        }
        let helpers = self.helpers.len().min(items.len().saturating_sub(1));
        let shared = Arc::new(Shared {
            items,
            next: AtomicUsize::new(0),
            work,
            first_error: Mutex::new(None),
            helpers_running: Mutex::new(helpers),
            helpers_done: Condvar::new(),
        });
        let jobs = self.jobs.as_ref().expect("the queue lives as long as the threads");
        for _ in 0..helpers {
            let helper = Arc::clone(&shared);
            let job: Job = Box::new(move || {
                run(&helper);
                *lock(&helper.helpers_running) -= 1;
                helper.helpers_done.notify_all();
            });
            if jobs.send(job).is_err() {
                // No helper is left to take it: count it as done and do the work here.
                *lock(&shared.helpers_running) -= 1;
            }
        }
        run(&shared);
        let mut running = lock(&shared.helpers_running);
        while *running > 0 {
            running = shared.helpers_done.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        drop(running);
        lock(&shared.first_error).take().map_or(Ok(()), Err)
    }
}

impl Drop for EncodingThreads {
    fn drop(&mut self) {
        self.jobs = None;
        for helper in self.helpers.drain(..) {
            let _ = helper.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, Int32Array, Int64Array, ListArray, StringArray, StructArray, types::Int32Type,
    };
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::{Compression, ZstdLevel};

    use super::*;

    fn batch(schema: &SchemaRef, from: i64, rows: i64) -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(from..from + rows));
        let names: ArrayRef = Arc::new(StringArray::from_iter(
            (from..from + rows).map(|i| (i % 7 != 0).then(|| format!("host-{}", i % 13))),
        ));
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
            (from..from + rows)
                .map(|i| (i % 5 != 0).then(|| vec![Some(i as i32); (i % 3) as usize])),
        ));
        // Two leaves in one field, ahead of others: each field's leaves go to its own writers.
        let pairs: ArrayRef = Arc::new(StructArray::from(vec![
            (
                Arc::new(Field::new("port", DataType::Int32, false)),
                Arc::new(Int32Array::from_iter_values((from..from + rows).map(|i| i as i32 % 100)))
                    as ArrayRef,
            ),
            (
                Arc::new(Field::new("proto", DataType::Utf8, false)),
                Arc::new(StringArray::from_iter_values(
                    (from..from + rows).map(|i| ["tcp", "udp"][i as usize % 2]),
                )) as ArrayRef,
            ),
        ]));
        RecordBatch::try_new(schema.clone(), vec![ids, pairs, names, lists]).unwrap()
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "pair",
                DataType::Struct(
                    vec![
                        Field::new("port", DataType::Int32, false),
                        Field::new("proto", DataType::Utf8, false),
                    ]
                    .into(),
                ),
                false,
            ),
            Field::new("name", DataType::Utf8, true),
            Field::new(
                "list",
                DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
                true,
            ),
        ]))
    }

    /// What the parallel writer writes reads back exactly as `ArrowWriter` would have written
    /// it, whatever the thread count, with row groups cut at the configured size across
    /// batch boundaries.
    #[test]
    fn parallel_columns_read_back_as_written() {
        let schema = schema();
        let input: Vec<RecordBatch> = [(0, 1000), (1000, 2500), (3500, 1), (3501, 4000)]
            .map(|(f, n)| batch(&schema, f, n))
            .into();
        for threads in [1, 2, 5] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("part.parquet");
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
                .build();
            let mut writer = ParallelParquetWriter::try_new(
                File::create(&path).unwrap(),
                schema.clone(),
                props,
                3000,
                Arc::new(EncodingThreads::new(threads)),
            )
            .unwrap();
            for b in &input {
                writer.write(b).unwrap();
            }
            assert_eq!(writer.in_progress_rows(), 7501 - 6000);
            writer.into_inner().unwrap().sync_all().unwrap();

            let reader =
                ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
            let groups: Vec<i64> =
                reader.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
            assert_eq!(groups, [3000, 3000, 1501], "threads {threads}");
            let read: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
            let read = arrow_select::concat::concat_batches(&schema, &read).unwrap();
            let written = arrow_select::concat::concat_batches(&schema, &input).unwrap();
            assert_eq!(read, written, "threads {threads}");
        }
    }

    /// A panic while encoding comes back as an error, and the threads keep working.
    #[test]
    fn a_panicking_column_is_an_error_and_the_threads_survive() {
        let threads = EncodingThreads::new(3);
        let outcome = threads.for_each((0..50).collect(), |i| {
            if i == 7 {
                panic!("column 7");
            }
            Ok(())
        });
        assert!(outcome.unwrap_err().to_string().contains("panicked"));
        let done = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&done);
        threads
            .for_each((0..50).collect(), move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
                Ok(())
            })
            .unwrap();
        assert_eq!(done.load(Ordering::Relaxed), 50);
    }

    #[test]
    fn a_batch_of_another_schema_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ParallelParquetWriter::try_new(
            File::create(dir.path().join("p.parquet")).unwrap(),
            schema(),
            WriterProperties::default(),
            100,
            Arc::new(EncodingThreads::new(2)),
        )
        .unwrap();
        let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let bad =
            RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1, 2]))]).unwrap();
        assert!(writer.write(&bad).is_err());
    }

    /// A file that cannot be written fails the part with the file's error, whether the
    /// appending thread meets it while more row groups arrive or at the end.
    #[test]
    fn a_file_that_cannot_be_written_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        File::create(&path).unwrap();
        let read_only = File::open(&path).unwrap();
        let schema = schema();
        let mut writer = ParallelParquetWriter::try_new(
            read_only,
            schema.clone(),
            WriterProperties::default(),
            100,
            Arc::new(EncodingThreads::new(2)),
        )
        .unwrap();
        let mut error = None;
        for from in (0..5000).step_by(500) {
            if let Err(e) = writer.write(&batch(&schema, from, 500)) {
                error = Some(e);
                break;
            }
        }
        let error = match error {
            Some(e) => e,
            None => writer.into_inner().expect_err("a read-only file cannot be written"),
        };
        // The file's own error, not a stand-in for it.
        assert!(error.to_string().contains("os error"), "{error}");
    }
}
