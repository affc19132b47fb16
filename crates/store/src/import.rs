//! Importing source files into the store, one commit per source file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt64Type};
use arrow_array::{BooleanArray, RecordBatch};
use lasthop_normalise::{ColumnKind, KEY_COLUMN, LINE_COLUMN, LogType, SOURCE_COLUMN};
use lasthop_sources::{
    Diagnostics, FileStamp, ReadOptions, Reason, log_name_from_file_name, read_file,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Encoding;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use sha2::{Digest, Sha256};

use crate::manifest::{Commit, Manifest, Part, SourceRecord, sync_dir};
use crate::part_writer::{EncodingThreads, ParallelParquetWriter};
use crate::{StoreError, day_name};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Threads that encode columns, at most. Each keeps its own allocator pages (measured on a
/// 5 M-record import with 2 parser threads: peak RSS 337, 409 and 447 MiB with 1, 2 and 3
/// encoding threads), and past a few the parsers are the bottleneck again.
const MAX_ENCODING_THREADS: usize = 4;

/// How an import reads and writes.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub read: ReadOptions,
    pub compression: Compression,
    /// Rows per Parquet row group: smaller groups bound the writer's memory and make time
    /// pruning finer; larger ones compress better.
    pub row_group_rows: usize,
    /// Which writer encodes the parts.
    pub encoder: PartEncoder,
}

/// The writer of a store's Parquet parts. Both write the same schema, row groups, compression
/// and encodings' kinds; readers see the same rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartEncoder {
    /// lasthop's: columns encoded on several threads, with lasthop's own dictionary and delta
    /// chunk writers where they apply (`part_writer.rs`, `dictionary_chunk.rs`,
    /// `delta_chunk.rs`, `chunk_pages.rs`).
    #[default]
    Lasthop,
    /// parquet's `ArrowWriter`, one thread per part: the reference the others are tested
    /// against, and a way back if ours is ever in doubt.
    Arrow,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            read: ReadOptions::default(),
            compression: Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1 is valid")),
            row_group_rows: 128 * 1024,
            encoder: PartEncoder::default(),
        }
    }
}

/// Events for a progress display.
#[derive(Debug)]
pub enum Progress<'a> {
    File { path: &'a Path, index: usize, total: usize },
    Records(u64),
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub files_found: usize,
    pub files_imported: usize,
    /// Files the ledger already holds (same path, size and time, or same content).
    pub files_already_imported: usize,
    /// Files that changed while being read (live logs), left for a later run.
    pub files_left_for_later: usize,
    /// Files that yielded no records at all (unreadable, not a log, unsupported type).
    pub files_without_records: usize,
    pub records: u64,
    pub records_by_table: BTreeMap<String, u64>,
    pub duplicates: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
    pub diagnostics: Diagnostics,
    pub elapsed: Duration,
}

/// Imports `files` into the store at `root`, creating it if needed. Holds the store's lock for
/// the duration, so concurrent imports into one store wait for each other.
pub fn import(
    root: &Path,
    files: &[PathBuf],
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ImportReport, StoreError> {
    let started = Instant::now();
    for dir in [root.to_path_buf(), root.join("data"), root.join("tmp")] {
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
    }
    let lock = crate::lock(root)?;

    let mut manifest = Manifest::load(root)?;
    sweep_uncommitted(root, &manifest)?;
    let mut importer = Importer {
        root,
        options,
        manifest: &mut manifest,
        known_keys: HashMap::new(),
        batches: 0,
        encoding: Arc::new(EncodingThreads::new(options.read.threads.min(MAX_ENCODING_THREADS))),
    };
    let mut report = ImportReport { files_found: files.len(), ..ImportReport::default() };
    for (index, path) in files.iter().enumerate() {
        progress(Progress::File { path, index, total: files.len() });
        importer.import_file(path, &mut report, progress)?;
    }
    report.elapsed = started.elapsed();
    drop(lock);
    Ok(report)
}

/// What [`apply_retention`] dropped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    /// The first day kept (`YYYY-MM-DD`), when anything is stored.
    pub first_day_kept: Option<String>,
    pub parts_dropped: usize,
    pub rows_dropped: u64,
}

/// Drops the parts of days older than the last `keep_days` days of the store, counted back from
/// its latest record (as `hunt --since` counts), so an archived capture is not emptied by the
/// wall clock. The ledger keeps its entries, so dropped source files are not imported again; the
/// manifest is rewritten atomically before any file is removed.
pub fn apply_retention(root: &Path, keep_days: u32) -> Result<RetentionReport, StoreError> {
    let lock = crate::lock(root)?;
    let mut manifest = Manifest::load(root)?;
    let Some(latest) = manifest.parts().map(|p| p.max_ts).max() else {
        return Ok(RetentionReport::default());
    };
    let latest_day = latest.div_euclid(MICROS_PER_DAY);
    let first_day_kept =
        lasthop_normalise::format_day(latest_day - i64::from(keep_days.max(1)) + 1);
    let mut report =
        RetentionReport { first_day_kept: Some(first_day_kept.clone()), ..Default::default() };
    let mut commits = manifest.commits.clone();
    for commit in &mut commits {
        commit.parts.retain(|p| {
            let keep = p.day >= first_day_kept;
            if !keep {
                report.parts_dropped += 1;
                report.rows_dropped += p.rows;
            }
            keep
        });
    }
    if report.parts_dropped > 0 {
        manifest.rewrite(root, commits)?;
        sweep_uncommitted(root, &manifest)?;
    }
    drop(lock);
    Ok(report)
}

/// Removes what a killed import left behind: anything in `tmp/`, and parts renamed into `data/`
/// whose commit never reached the manifest.
fn sweep_uncommitted(root: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let tmp = root.join("tmp");
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let referenced = manifest.referenced_files();
    let mut stack = vec![root.join("data")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root)
                && !referenced.contains(rel)
            {
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            }
        }
    }
    Ok(())
}

struct Importer<'a> {
    root: &'a Path,
    options: &'a ImportOptions,
    manifest: &'a mut Manifest,
    /// Identity keys of committed parts, by part file, loaded when a batch overlaps the part in
    /// time; dropped after each source file.
    known_keys: HashMap<String, KeySet>,
    /// Batches routed so far.
    batches: u64,
    encoding: Arc<EncodingThreads>,
}

/// A part being written for one partition of one source file.
struct PartWriter {
    tmp_path: PathBuf,
    writer: PartFile,
    rows: u64,
    min_ts: i64,
    max_ts: i64,
    /// The batch that last wrote to this part, to tell an idle part.
    last_batch: u64,
}

/// An open part, in the encoder's writer.
enum PartFile {
    Lasthop(ParallelParquetWriter),
    Arrow(Box<ArrowWriter<File>>),
}

impl PartFile {
    fn write(&mut self, batch: &RecordBatch) -> parquet::errors::Result<()> {
        match self {
            PartFile::Lasthop(w) => w.write(batch),
            PartFile::Arrow(w) => w.write(batch),
        }
    }

    fn flush(&mut self) -> parquet::errors::Result<()> {
        match self {
            PartFile::Lasthop(w) => w.flush(),
            PartFile::Arrow(w) => w.flush(),
        }
    }

    fn in_progress_rows(&self) -> usize {
        match self {
            PartFile::Lasthop(w) => w.in_progress_rows(),
            PartFile::Arrow(w) => w.in_progress_rows(),
        }
    }

    fn into_inner(self) -> parquet::errors::Result<File> {
        match self {
            PartFile::Lasthop(w) => w.into_inner(),
            PartFile::Arrow(w) => w.into_inner(),
        }
    }
}

/// Batches without rows for a day after which that day's open row group is written out. A
/// Zeek log runs roughly in time order, so a day that has gone quiet is over: flushing it frees
/// its buffers, and memory stays bounded by the days still receiving records rather than by
/// every day the file spans. Waiting a few batches tolerates records slightly out of order
/// around midnight without cutting row groups small.
const IDLE_BATCHES_BEFORE_FLUSH: u64 = 4;

impl Importer<'_> {
    fn import_file(
        &mut self,
        path: &Path,
        report: &mut ImportReport,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<(), StoreError> {
        self.known_keys.clear();
        let display = path.display().to_string();
        let stamp = match FileStamp::of(path) {
            Ok(s) => s,
            Err(e) => {
                report.diagnostics.warn(path, 0, Reason::ReadError, e.to_string());
                report.files_without_records += 1;
                return Ok(());
            }
        };
        let modified_ns = stamp.modified.and_then(|m| {
            m.duration_since(SystemTime::UNIX_EPOCH).ok().map(|d| d.as_nanos() as i128)
        });
        if self.manifest.find_source(&display, stamp.len, modified_ns).is_some() {
            report.files_already_imported += 1;
            return Ok(());
        }
        let fingerprint = match fingerprint(path, stamp.len) {
            Ok(f) => f,
            Err(e) => {
                report.diagnostics.warn(path, 0, Reason::ReadError, e.to_string());
                report.files_without_records += 1;
                return Ok(());
            }
        };
        if self.manifest.find_fingerprint(&fingerprint).is_some() {
            report.files_already_imported += 1;
            return Ok(());
        }

        let mut writers: BTreeMap<(LogType, i64), PartWriter> = BTreeMap::new();
        let mut duplicates = 0u64;
        let mut stored = 0u64;
        let mut stored_by_table: BTreeMap<String, u64> = BTreeMap::new();
        let outcome = read_file(path, &self.options.read, |log_type, batch| {
            let (kept, dups) = self.route(log_type, &batch, &fingerprint, &mut writers)?;
            duplicates += dups;
            stored += kept;
            *stored_by_table.entry(log_type.name().to_string()).or_insert(0) += kept;
            progress(Progress::Records(batch.num_rows() as u64));
            Ok::<(), StoreError>(())
        });
        let summary = match outcome {
            Ok(s) => s,
            Err(e) => {
                discard(writers);
                return Err(e);
            }
        };
        report.bytes += summary.bytes;
        let mut file_diagnostics = summary.diagnostics;
        if summary.changed_while_reading {
            discard(writers);
            report.files_left_for_later += 1;
            report.diagnostics.merge(file_diagnostics);
            return Ok(());
        }
        if duplicates > 0 {
            file_diagnostics.count(Reason::Duplicate, duplicates);
        }
        // A log file none of whose lines could be read is not recorded as imported: once the
        // file (or lasthop) is fixed, the next import reads it again.
        let unreadable = [
            Reason::NoHeader,
            Reason::BadHeader,
            Reason::WrongFieldCount,
            Reason::BadJson,
            Reason::BadTimestamp,
        ]
        .iter()
        .any(|r| file_diagnostics.total(*r) > 0);
        if stored == 0 && duplicates == 0 && unreadable {
            discard(writers);
            report.files_without_records += 1;
            report.diagnostics.merge(file_diagnostics);
            return Ok(());
        }
        let parts = self.publish(writers)?;
        let commit = Commit {
            source: SourceRecord { path: display, len: stamp.len, modified_ns, fingerprint },
            parts,
            records: stored,
            duplicates,
            skipped: file_diagnostics
                .counts
                .iter()
                .map(|(r, n)| (r.label().to_string(), *n))
                .collect(),
            imported_at: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        };
        self.manifest.append(self.root, commit)?;
        if summary.records == 0 {
            report.files_without_records += 1;
        } else {
            report.files_imported += 1;
        }
        report.records += stored;
        report.duplicates += duplicates;
        for (t, n) in stored_by_table {
            *report.records_by_table.entry(t).or_insert(0) += n;
        }
        report.diagnostics.merge(file_diagnostics);
        Ok(())
    }

    /// Splits a batch by day, drops records already stored in a committed part, and writes the
    /// rest to the day's part. Returns (kept, duplicates).
    fn route(
        &mut self,
        log_type: LogType,
        batch: &RecordBatch,
        fingerprint: &str,
        writers: &mut BTreeMap<(LogType, i64), PartWriter>,
    ) -> Result<(u64, u64), StoreError> {
        let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        let keys = batch
            .column_by_name(KEY_COLUMN)
            .expect("every schema has a key column")
            .as_primitive::<UInt64Type>();
        let row_days: Vec<i64> = ts.values().iter().map(|t| t.div_euclid(MICROS_PER_DAY)).collect();
        let mut days: Vec<i64> = Vec::new();
        for d in &row_days {
            if !days.contains(d) {
                days.push(*d);
            }
        }
        // Per row: the day it is stored under, or None for a duplicate. Only committed parts
        // whose time range overlaps this batch can hold its records again (a live log and its
        // rotated copy), so only their keys are consulted: rotated hourly files, which do not
        // overlap, cost no memory at all.
        let (min_ts, max_ts) =
            ts.values().iter().fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        let overlapping: Vec<String> = self
            .manifest
            .parts()
            .filter(|p| p.table == log_type.name() && p.min_ts <= max_ts && p.max_ts >= min_ts)
            .map(|p| p.file.clone())
            .collect();
        for file in &overlapping {
            if !self.known_keys.contains_key(file) {
                let loaded = self.load_keys(file)?;
                self.known_keys.insert(file.clone(), loaded);
            }
        }
        let known: Vec<&KeySet> = overlapping.iter().map(|f| &self.known_keys[f]).collect();
        let mut row_day: Vec<Option<i64>> = vec![None; batch.num_rows()];
        let mut duplicates = 0u64;
        for (row, day) in row_days.iter().enumerate() {
            let key = keys.value(row);
            if known.iter().any(|k| k.contains(&key)) {
                duplicates += 1;
            } else {
                row_day[row] = Some(*day);
            }
        }
        days.retain(|d| row_day.contains(&Some(*d)));
        let mut kept = 0u64;
        for day in days {
            let part = if row_day.iter().all(|d| *d == Some(day)) {
                batch.clone()
            } else {
                let mask: BooleanArray = row_day.iter().map(|d| Some(*d == Some(day))).collect();
                arrow_select::filter::filter_record_batch(batch, &mask)
                    .map_err(|e| StoreError::Other(e.to_string()))?
            };
            let writer = match writers.entry((log_type, day)) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(self.new_writer(log_type, day, fingerprint)?)
                }
            };
            let part_ts = part.column(0).as_primitive::<TimestampMicrosecondType>();
            for t in part_ts.values().iter() {
                writer.min_ts = writer.min_ts.min(*t);
                writer.max_ts = writer.max_ts.max(*t);
            }
            writer.rows += part.num_rows() as u64;
            writer.last_batch = self.batches;
            kept += part.num_rows() as u64;
            writer.writer.write(&part).map_err(|e| StoreError::Parquet {
                path: writer.tmp_path.clone(),
                message: e.to_string(),
            })?;
        }
        for writer in writers.values_mut() {
            let idle = self.batches.saturating_sub(writer.last_batch) >= IDLE_BATCHES_BEFORE_FLUSH;
            if idle && writer.writer.in_progress_rows() > 0 {
                writer.writer.flush().map_err(|e| StoreError::Parquet {
                    path: writer.tmp_path.clone(),
                    message: e.to_string(),
                })?;
            }
        }
        self.batches += 1;
        Ok((kept, duplicates))
    }

    fn new_writer(
        &self,
        log_type: LogType,
        day: i64,
        fingerprint: &str,
    ) -> Result<PartWriter, StoreError> {
        let tmp_path = self
            .root
            .join("tmp")
            .join(format!("{}.parquet.partial", part_id(fingerprint, log_type, day)));
        let file = File::create(&tmp_path).map_err(|e| StoreError::io(&tmp_path, e))?;
        let props = part_properties(log_type, self.options);
        let schema = lasthop_normalise::schema(log_type);
        let writer = match self.options.encoder {
            PartEncoder::Lasthop => ParallelParquetWriter::try_new(
                file,
                schema,
                props,
                self.options.row_group_rows,
                Arc::clone(&self.encoding),
            )
            .map(PartFile::Lasthop),
            PartEncoder::Arrow => ArrowWriter::try_new(file, schema, Some(props))
                .map(|w| PartFile::Arrow(Box::new(w))),
        }
        .map_err(|e| StoreError::Parquet { path: tmp_path.clone(), message: e.to_string() })?;
        Ok(PartWriter {
            tmp_path,
            writer,
            rows: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            last_batch: self.batches,
        })
    }

    /// Finishes, syncs and renames every part of a source file into `data/`.
    fn publish(
        &self,
        writers: BTreeMap<(LogType, i64), PartWriter>,
    ) -> Result<Vec<Part>, StoreError> {
        let mut parts = Vec::new();
        for ((log_type, day), w) in writers {
            let file = w.writer.into_inner().map_err(|e| StoreError::Parquet {
                path: w.tmp_path.clone(),
                message: e.to_string(),
            })?;
            file.sync_all().map_err(|e| StoreError::io(&w.tmp_path, e))?;
            let day_name = day_name(day);
            let rel_dir =
                PathBuf::from("data").join(log_type.name()).join(format!("day={day_name}"));
            let dir = self.root.join(&rel_dir);
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
            let name = w.tmp_path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let rel = rel_dir.join(name.trim_end_matches(".partial"));
            let target = self.root.join(&rel);
            std::fs::rename(&w.tmp_path, &target).map_err(|e| StoreError::io(&target, e))?;
            sync_dir(&dir);
            parts.push(Part {
                table: log_type.name().to_string(),
                day: day_name,
                file: rel.to_string_lossy().into_owned(),
                rows: w.rows,
                min_ts: w.min_ts,
                max_ts: w.max_ts,
            });
        }
        Ok(parts)
    }

    /// Reads the identity keys of the records in one committed part.
    fn load_keys(&self, file: &str) -> Result<KeySet, StoreError> {
        let mut keys = KeySet::default();
        let parts = [self.root.join(file)];
        for path in parts {
            let err = |e: parquet::errors::ParquetError| StoreError::Parquet {
                path: path.clone(),
                message: e.to_string(),
            };
            let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(err)?;
            let mask = ProjectionMask::columns(builder.parquet_schema(), [KEY_COLUMN]);
            for batch in builder.with_projection(mask).build().map_err(err)? {
                let batch = batch.map_err(|e| StoreError::Other(e.to_string()))?;
                keys.extend(batch.column(0).as_primitive::<UInt64Type>().values().iter().copied());
            }
        }
        Ok(keys)
    }
}

/// How a part of `log_type` is laid out and compressed.
fn part_properties(log_type: LogType, options: &ImportOptions) -> WriterProperties {
    // Version 2 data pages compress the values alone, straight into the page: version 1
    // gathered levels and values into one buffer, compressed it into a second and trimmed that
    // into a third, and those copies (and the page faults of their fresh memory) were measured
    // at 8 % of a generated 5 M-record conn.log import's time, for 0.1 % more bytes. PLAIN stays
    // the encoding where no other is named, as with version 1 pages.
    let mut props = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_encoding(Encoding::PLAIN)
        .set_compression(options.compression)
        .set_max_row_group_row_count(Some(options.row_group_rows));
    for column in mostly_unique_columns(log_type) {
        props = props.set_column_dictionary_enabled(column, false);
    }
    // Identifiers are random text: zstd finds no repeats in them but the 4-byte length
    // PLAIN puts before each, and matching those was most of its time. With the lengths
    // delta-packed apart, it only entropy-codes the text (a generated conn.log import:
    // 8 % fewer instructions, 2 % more bytes).
    for column in identifier_columns(log_type) {
        props = props.set_column_encoding(column, Encoding::DELTA_LENGTH_BYTE_ARRAY);
    }
    for column in unprunable_columns(log_type) {
        props = props.set_column_statistics_enabled(column, EnabledStatistics::None);
    }
    // Line numbers climb by one and timestamps by little: deltas pack them into a few bits.
    // Counts (packets, bytes) are small numbers in 64-bit slots: bit-packed, they leave zstd
    // little to do (measured on a generated conn.log: 6.5 % fewer instructions for the
    // whole import, 4 % more bytes stored).
    // Packed like this they are as dense as zstd can make them (measured: compressed 1.00× the
    // size of the packed pages, for `ts` and every byte and packet count): zstd is skipped.
    for path in columns_where(log_type, [LINE_COLUMN, "ts"], |c| c.kind == ColumnKind::Count) {
        props = props
            .set_column_encoding(path.clone(), Encoding::DELTA_BINARY_PACKED)
            .set_column_compression(path, Compression::UNCOMPRESSED);
    }
    // A source port is ephemeral: nearly every value of a row group is in its dictionary,
    // which costs a hash a value. Hosts hand them out in sequence, so deltas pack them
    // tighter, and cheaper (measured: a generated conn.log import 1.1 % fewer instructions
    // and 0.8 % fewer bytes; the real Zeek samples 1.8 % fewer bytes).
    for path in columns_where(log_type, [], |c| c.zeek == "id.orig_p") {
        props = props
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
    }
    // An identity key is a hash: compressing it only burns time.
    props = props.set_column_compression(ColumnPath::from(KEY_COLUMN), Compression::UNCOMPRESSED);
    for column in address_set_columns(log_type) {
        props = props.set_column_dictionary_enabled(column, false);
    }
    props.build()
}

/// Columns whose values rarely repeat within a row group (times, durations, counts, record ids,
/// the bookkeeping line and key). A dictionary for them is built only to be abandoned once it
/// outgrows its page; skipping it saves the hashing and the memory.
fn mostly_unique_columns(log_type: LogType) -> Vec<ColumnPath> {
    columns_where(log_type, [LINE_COLUMN, KEY_COLUMN], |c| {
        matches!(
            c.kind,
            ColumnKind::Time | ColumnKind::Interval | ColumnKind::Double | ColumnKind::Count
        ) || IDENTIFIERS.contains(&c.zeek)
    })
}

/// Zeek fields that name one record, file or certificate each: nearly every value differs.
const IDENTIFIERS: &[&str] =
    &["uid", "fuid", "id", "community_id", "fingerprint", "certificate.serial"];

/// The text columns among [`IDENTIFIERS`].
fn identifier_columns(log_type: LogType) -> Vec<ColumnPath> {
    columns_where(log_type, [], |c| c.kind == ColumnKind::Str && IDENTIFIERS.contains(&c.zeek))
}

/// Columns whose min/max statistics cannot prune a row group: text, addresses and lists
/// spread over their whole range in every group of records, so comparing every value to keep
/// those statistics is wasted work. Times and numbers keep theirs (`ts` prunes time windows).
fn unprunable_columns(log_type: LogType) -> Vec<ColumnPath> {
    columns_where(log_type, [SOURCE_COLUMN, LINE_COLUMN, KEY_COLUMN], |c| {
        matches!(
            c.kind,
            ColumnKind::Str | ColumnKind::Addr | ColumnKind::StrList | ColumnKind::AddrList
        )
    })
}

/// Sets of addresses (DNS answers, certificate names) are written by parquet's own writer,
/// whose dictionary hashes every 16-byte value through its general interner: plain, zstd
/// packs an IPv4 address's twelve constant bytes away for less. Single addresses keep a
/// dictionary, which our own writer builds cheaply ([`crate::dictionary_chunk`]).
fn address_set_columns(log_type: LogType) -> Vec<ColumnPath> {
    columns_where(log_type, [], |c| c.kind == ColumnKind::AddrList)
}

/// The Parquet leaf columns of a log type's columns that `keep` selects, then of the
/// bookkeeping columns given. A set's values are the leaf `<name>.list.item`: a setting given
/// for `<name>` alone would match no column and be silently ignored.
fn columns_where<const N: usize>(
    log_type: LogType,
    bookkeeping: [&str; N],
    keep: impl Fn(&lasthop_normalise::ColumnSpec) -> bool,
) -> Vec<ColumnPath> {
    let columns = lasthop_normalise::columns(log_type).iter();
    let leaf = |c: &lasthop_normalise::ColumnSpec| match c.kind.data_type().is_nested() {
        true => ColumnPath::new(vec![c.name.clone(), "list".into(), "item".into()]),
        false => ColumnPath::from(c.name.as_str()),
    };
    let mut paths: Vec<ColumnPath> = columns.filter(|c| keep(c)).map(leaf).collect();
    paths.extend(bookkeeping.map(ColumnPath::from));
    paths
}

/// Identity keys are already well-mixed 64-bit hashes: hashing them again would only cost time.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | *b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeySet = HashSet<u64, std::hash::BuildHasherDefault<KeyHasher>>;

fn discard(writers: BTreeMap<(LogType, i64), PartWriter>) {
    for (_, w) in writers {
        let path = w.tmp_path.clone();
        drop(w);
        let _ = std::fs::remove_file(path);
    }
}

/// A part's file name: the same source file always yields the same names, so a re-run after a
/// crash overwrites its own leftovers rather than adding new ones.
fn part_id(fingerprint: &str, log_type: LogType, day: i64) -> String {
    let mut h = Sha256::new();
    h.update(fingerprint.as_bytes());
    h.update(log_type.name().as_bytes());
    h.update(day.to_le_bytes());
    let digest = hex::encode(h.finalize());
    format!("{}-{}", log_type.name(), &digest[..20])
}

/// SHA-256 over the log name the file name carries, the length, the first MiB and the last MiB.
/// The name counts because files without a header (JSON lines) take their log type from it: a
/// `dns.log` must not pass for an already-imported copy of itself named `ORIGINALdns.log`.
fn fingerprint(path: &Path, len: u64) -> std::io::Result<String> {
    const SPAN: u64 = 1 << 20;
    let mut file = File::open(path)?;
    let mut h = Sha256::new();
    h.update(log_name_from_file_name(path).unwrap_or_default().as_bytes());
    h.update([0]);
    h.update(len.to_le_bytes());
    let mut buf = Vec::with_capacity(SPAN as usize);
    (&mut file).take(SPAN).read_to_end(&mut buf)?;
    h.update(&buf);
    if len > SPAN {
        buf.clear();
        file.seek(SeekFrom::Start(len.saturating_sub(SPAN).max(SPAN)))?;
        file.take(SPAN).read_to_end(&mut buf)?;
        h.update(&buf);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::ArrowSchemaConverter;

    /// The store's own settings hand conn's addresses, few-valued text, times, counts, line
    /// numbers and source ports to our column writers (an import's speed depends on it), and
    /// its identifiers, durations and destination ports to parquet's.
    #[test]
    fn conn_parts_use_our_writers_where_they_were_built_for() {
        let schema = lasthop_normalise::schema(LogType::Conn);
        let parquet = ArrowSchemaConverter::new().convert(&schema).expect("conn converts");
        let props = part_properties(LogType::Conn, &ImportOptions::default());
        let own: Vec<String> = (0..parquet.num_columns())
            .filter(|&i| {
                let field = schema.field(parquet.get_column_root_idx(i));
                crate::part_writer::takes_own_writer(&parquet.column(i), field.data_type(), &props)
            })
            .map(|i| parquet.column(i).path().string())
            .collect();
        let ours = ["src", "dst", "proto", "service", "conn_state", "history", SOURCE_COLUMN];
        let deltas = ["ts", "orig_bytes", "resp_pkts", "src_port", LINE_COLUMN];
        for column in ours.iter().chain(&deltas) {
            assert!(own.iter().any(|c| c == column), "{column} not in {own:?}");
        }
        for column in ["uid", "community_id", "duration", "dst_port", KEY_COLUMN] {
            assert!(!own.iter().any(|c| c == column), "{column} in {own:?}");
        }
    }

    /// A setting for a path that is not a leaf column of the part is ignored without a word:
    /// every path the part's properties name must be one of its leaves.
    #[test]
    fn every_configured_column_is_a_leaf_of_the_part() {
        for log_type in LogType::ALL {
            let parquet = ArrowSchemaConverter::new()
                .convert(&lasthop_normalise::schema(log_type))
                .expect("every schema converts");
            let leaves: Vec<ColumnPath> =
                parquet.columns().iter().map(|c| c.path().clone()).collect();
            let configured = [
                mostly_unique_columns(log_type),
                identifier_columns(log_type),
                unprunable_columns(log_type),
                address_set_columns(log_type),
                columns_where(log_type, [LINE_COLUMN, "ts", KEY_COLUMN], |c| {
                    c.kind == ColumnKind::Count || c.zeek == "id.orig_p"
                }),
            ];
            for path in configured.iter().flatten() {
                assert!(leaves.contains(path), "{}: {path} is not a leaf", log_type.name());
            }
            if log_type == LogType::X509 {
                let san_ip = ColumnPath::new(vec!["san_ip".into(), "list".into(), "item".into()]);
                assert!(address_set_columns(log_type).contains(&san_ip), "a set's leaf is named");
            }
        }
    }
}
