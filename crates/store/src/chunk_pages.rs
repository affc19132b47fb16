//! Pages of one column chunk written by our own column writers, and the metadata that places
//! the chunk in a row group.
//!
//! Our own column writers ([`crate::dictionary_chunk`], [`crate::delta_chunk`]) stand in for
//! parquet's Arrow writer on columns where its per-value work dominated an import; what they
//! share is here: version 2 data pages (levels uncompressed ahead of the compressed values), a
//! dictionary page put first, an offset index, and the [`ColumnCloseResult`] parquet's file
//! writer takes for an already-encoded chunk.

use std::cell::RefCell;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, LevelHistogram};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// A finished chunk: its pages and the metadata that places them in a row group.
pub(crate) struct OwnChunk {
    pub(crate) pages: Bytes,
    pub(crate) close: ColumnCloseResult,
}

/// The settings every own writer reads from the writer properties, for a column it may take:
/// one at the top level (no repetition, at most one definition level) of a file written with
/// version 2 pages, compressed with zstd or not at all, with no bloom filter.
#[derive(Clone, Debug)]
pub(crate) struct PageSettings {
    pub(crate) descr: ColumnDescPtr,
    zstd_level: Option<i32>,
}

impl PageSettings {
    pub(crate) fn for_column(descr: &ColumnDescPtr, props: &WriterProperties) -> Option<Self> {
        let path = descr.path();
        let simple = descr.max_rep_level() == 0
            && descr.max_def_level() <= 1
            && props.writer_version() == WriterVersion::PARQUET_2_0
            && props.bloom_filter_properties(path).is_none();
        let zstd_level = match props.compression(path) {
            Compression::UNCOMPRESSED => None,
            Compression::ZSTD(level) => Some(level.compression_level()),
            _ => return None,
        };
        simple.then(|| PageSettings { descr: descr.clone(), zstd_level })
    }

    pub(crate) fn optional(&self) -> bool {
        self.descr.max_def_level() == 1
    }

    /// An error if `array` has nulls that the column cannot hold.
    pub(crate) fn check_nulls(&self, array: &dyn arrow_array::Array) -> Result<()> {
        if array.null_count() > 0 && !self.optional() {
            return Err(ParquetError::General(format!(
                "column {} is required but has nulls",
                self.descr.path()
            )));
        }
        Ok(())
    }
}

/// What a chunk says of its values beyond the values themselves, as parquet's writer would
/// record it for the statistics the column is configured with.
#[derive(Default)]
pub(crate) struct ChunkStatistics {
    /// Min, max and null count over the chunk.
    pub(crate) chunk: Option<Statistics>,
    /// Per page min, max, null count and level histogram.
    pub(crate) column_index: Option<ColumnIndexMetaData>,
    /// Rows null and rows present over the chunk (optional columns with statistics).
    pub(crate) definition_levels: Option<LevelHistogram>,
}

/// The pages of one chunk, as they are written.
pub(crate) struct ChunkPages {
    settings: PageSettings,
    data_pages: TrackedWrite<Vec<u8>>,
    locations: Vec<PageLocation>,
    encodings: Vec<Encoding>,
    rows: u64,
    uncompressed_size: usize,
}

impl ChunkPages {
    pub(crate) fn new(settings: PageSettings) -> Result<Self> {
        // Parquet's own writer lists RLE (the levels' encoding) whether or not there are any.
        let encodings = vec![Encoding::RLE];
        Ok(ChunkPages {
            settings,
            data_pages: TrackedWrite::new(Vec::new()),
            locations: Vec::new(),
            encodings,
            rows: 0,
            uncompressed_size: 0,
        })
    }

    pub(crate) fn descr(&self) -> &ColumnDescPtr {
        &self.settings.descr
    }

    /// Rows in the pages written so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes a data page of `levels.len()` rows (or `rows` for a required column, which has
    /// no levels) whose non-null values are `values`, encoded as `encoding`.
    pub(crate) fn write_data_page(
        &mut self,
        rows: usize,
        levels: &[bool],
        values: &[u8],
        encoding: Encoding,
    ) -> Result<()> {
        if rows == 0 {
            return Ok(());
        }
        // Version 2 pages keep their levels uncompressed, ahead of the values.
        let mut buf = Vec::new();
        if self.settings.optional() {
            encode_levels(levels, &mut buf);
        }
        let levels_len = buf.len();
        self.compress(values, &mut buf)?;
        let nulls = levels.iter().filter(|present| !**present).count();
        let page = Page::DataPageV2 {
            buf: Bytes::from(buf),
            num_values: count(rows)?,
            encoding,
            num_nulls: count(nulls)?,
            num_rows: count(rows)?,
            def_levels_byte_len: count(levels_len)?,
            rep_levels_byte_len: 0,
            is_compressed: self.settings.zstd_level.is_some(),
            statistics: None,
        };
        let page = CompressedPage::new(page, levels_len + values.len());
        let spec = SerializedPageWriter::new(&mut self.data_pages).write_page(page)?;
        self.locations.push(PageLocation {
            offset: spec.offset as i64,
            compressed_page_size: count(spec.compressed_size)? as i32,
            first_row_index: self.rows as i64,
        });
        self.uncompressed_size += spec.uncompressed_size;
        self.rows += rows as u64;
        if !self.encodings.contains(&encoding) {
            self.encodings.push(encoding);
        }
        Ok(())
    }

    /// Appends `values` to `buf`, compressed as the column's settings say.
    fn compress(&mut self, values: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        let Some(level) = self.settings.zstd_level else {
            buf.extend_from_slice(values);
            return Ok(());
        };
        let start = buf.len();
        buf.reserve(zstd::zstd_safe::compress_bound(values.len()));
        with_compressor(level, |zstd| {
            // zstd fills a `Vec` from its start, so behind levels it gets a slice to fill.
            if start == 0 {
                zstd.compress_to_buffer(values, buf)?;
            } else {
                buf.resize(start + zstd::zstd_safe::compress_bound(values.len()), 0);
                let written = zstd.compress_to_buffer(values, &mut buf[start..])?;
                buf.truncate(start + written);
            }
            Ok(())
        })
    }

    /// The chunk: `dictionary` (PLAIN-encoded entries, and how many) first if there is one,
    /// then the data pages.
    pub(crate) fn finish(
        mut self,
        dictionary: Option<(&[u8], usize)>,
        statistics: ChunkStatistics,
    ) -> Result<OwnChunk> {
        let mut chunk = TrackedWrite::new(Vec::new());
        if let Some((entries, count_of_entries)) = dictionary {
            let mut buf = Vec::new();
            self.compress(entries, &mut buf)?;
            let page = Page::DictionaryPage {
                buf: Bytes::from(buf),
                num_values: count(count_of_entries)?,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            let page = CompressedPage::new(page, entries.len());
            let spec = SerializedPageWriter::new(&mut chunk).write_page(page)?;
            self.uncompressed_size += spec.uncompressed_size;
            if !self.encodings.contains(&Encoding::PLAIN) {
                self.encodings.push(Encoding::PLAIN);
            }
        }
        let data_page_offset = chunk.bytes_written();
        let mut pages = chunk.into_inner()?;
        pages.extend_from_slice(&self.data_pages.into_inner()?);
        for location in &mut self.locations {
            location.offset += data_page_offset as i64;
        }
        let settings = self.settings;
        let mut metadata = ColumnChunkMetaData::builder(settings.descr.clone())
            .set_compression(match settings.zstd_level {
                Some(level) => Compression::ZSTD(ZstdLevel::try_new(level)?),
                None => Compression::UNCOMPRESSED,
            })
            .set_encodings_mask(EncodingMask::new_from_encodings(self.encodings.iter()))
            .set_total_compressed_size(pages.len() as i64)
            .set_total_uncompressed_size(self.uncompressed_size as i64)
            .set_num_values(self.rows as i64)
            .set_data_page_offset(data_page_offset as i64)
            .set_dictionary_page_offset(dictionary.map(|_| 0));
        if let Some(chunk) = statistics.chunk {
            metadata = metadata.set_statistics(chunk);
        }
        metadata = metadata.set_definition_level_histogram(statistics.definition_levels);
        let pages = Bytes::from(pages);
        let close = ColumnCloseResult {
            bytes_written: pages.len() as u64,
            rows_written: self.rows,
            metadata: metadata.build()?,
            bloom_filter: None,
            column_index: statistics.column_index,
            offset_index: Some(OffsetIndexMetaData {
                page_locations: self.locations,
                unencoded_byte_array_data_bytes: None,
            }),
        };
        Ok(OwnChunk { pages, close })
    }
}

/// Definition levels (0 null, 1 present) in Parquet's RLE/bit-packing hybrid at bit width 1,
/// without the length prefix version 1 pages put before it: one run when every level is the
/// same (the usual case, a page without nulls), else one bit-packed run of all of them.
pub(crate) fn encode_levels(levels: &[bool], out: &mut Vec<u8>) {
    let Some(first) = levels.first() else { return };
    if levels.iter().all(|level| level == first) {
        write_uleb128(out, (levels.len() as u64) << 1);
        out.push(u8::from(*first));
        return;
    }
    let groups = levels.len().div_ceil(8);
    write_uleb128(out, ((groups as u64) << 1) | 1);
    for group in levels.chunks(8) {
        out.push(group.iter().rev().fold(0, |byte, level| (byte << 1) | u8::from(*level)));
    }
}

/// `values` as one bit-packed run of the RLE/bit-packing hybrid, `width` bits each (at most
/// 32), padded with zeros to a whole group of eight.
pub(crate) fn bit_pack(values: &[u32], width: u8, out: &mut Vec<u8>) {
    let groups = values.len().div_ceil(8);
    write_uleb128(out, ((groups as u64) << 1) | 1);
    let padding = groups * 8 - values.len();
    let mut bits: u64 = 0;
    let mut filled = 0;
    for value in values.iter().copied().chain(std::iter::repeat_n(0, padding)) {
        bits |= u64::from(value) << filled;
        filled += u32::from(width);
        while filled >= 8 {
            out.push(bits as u8);
            bits >>= 8;
            filled -= 8;
        }
    }
}

fn write_uleb128(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn count(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| ParquetError::General(format!("page size {n} out of range")))
}

fn external(e: std::io::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

thread_local! {
    /// The zstd context of this thread, and its level. A context holds a few hundred kilobytes
    /// of tables: made afresh for every chunk (a column of a row group), the context was
    /// allocated, zeroed and faulted in over and over.
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// Runs `compress` with this thread's zstd context at `level`.
fn with_compressor(
    level: i32,
    compress: impl FnOnce(&mut zstd::bulk::Compressor<'static>) -> std::io::Result<()>,
) -> Result<()> {
    COMPRESSOR.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|(made_for, _)| *made_for != level) {
            *slot = Some((level, zstd::bulk::Compressor::new(level).map_err(external)?));
        }
        let (_, zstd) = slot.as_mut().expect("made above");
        compress(zstd).map_err(external)
    })
}

/// Writes the same batches with our writers and with parquet's, for tests that compare them.
#[cfg(test)]
pub(crate) mod compared {
    use std::fs::File;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use arrow_array::RecordBatch;
    use arrow_schema::SchemaRef;
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::{
        ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    };
    use parquet::basic::Encoding;
    use parquet::file::metadata::{ColumnChunkMetaData, PageIndexPolicy, ParquetMetaData};
    use parquet::file::properties::WriterProperties;

    use crate::part_writer::{EncodingThreads, ParallelParquetWriter};

    /// `input` written to `ours.parquet` by the part writer (with our column writers where
    /// they apply) and to `theirs.parquet` by parquet's `ArrowWriter`, both in row groups of
    /// `group_rows`; also returns the input as one batch.
    pub(crate) fn write_both(
        dir: &Path,
        schema: &SchemaRef,
        props: impl Fn() -> WriterProperties,
        input: &[RecordBatch],
        group_rows: usize,
    ) -> (PathBuf, PathBuf, RecordBatch) {
        let written = arrow_select::concat::concat_batches(schema, input).unwrap();
        let ours = dir.join("ours.parquet");
        let mut writer = ParallelParquetWriter::try_new(
            File::create(&ours).unwrap(),
            schema.clone(),
            props(),
            group_rows,
            Arc::new(EncodingThreads::new(2)),
        )
        .unwrap();
        for batch in input {
            writer.write(batch).unwrap();
        }
        writer.into_inner().unwrap().sync_all().unwrap();
        let theirs = dir.join("theirs.parquet");
        let mut reference =
            ArrowWriter::try_new(File::create(&theirs).unwrap(), schema.clone(), Some(props()))
                .unwrap();
        for start in (0..written.num_rows()).step_by(group_rows) {
            let rows = (written.num_rows() - start).min(group_rows);
            reference.write(&written.slice(start, rows)).unwrap();
            reference.flush().unwrap();
        }
        reference.close().unwrap();
        (ours, theirs, written)
    }

    /// The rows of the file at `path` (those `selection` picks, found through the page index,
    /// which must be there), as one batch, and the file's metadata with its page index.
    pub(crate) fn read_back(
        path: &Path,
        schema: &SchemaRef,
        selection: Option<RowSelection>,
    ) -> (RecordBatch, Arc<ParquetMetaData>) {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let mut reader = ParquetRecordBatchReaderBuilder::try_new_with_options(
            File::open(path).unwrap(),
            options,
        )
        .unwrap();
        if let Some(selection) = selection {
            reader = reader.with_row_selection(selection);
        }
        let metadata = reader.metadata().clone();
        let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
        (arrow_select::concat::concat_batches(schema, &batches).unwrap(), metadata)
    }

    /// A chunk's encodings, in a stable order (writers list them in the order they used them).
    pub(crate) fn sorted_encodings(chunk: &ColumnChunkMetaData) -> Vec<Encoding> {
        let mut encodings: Vec<Encoding> = chunk.encodings().collect();
        encodings.sort_by_key(|e| *e as i32);
        encodings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_one_run_when_all_alike_else_bit_packed() {
        let mut out = Vec::new();
        encode_levels(&[true; 300], &mut out);
        assert_eq!(out, [0xd8, 0x04, 1]);
        out.clear();
        let levels = [true, false, true, true, false, false, false, true, true];
        encode_levels(&levels, &mut out);
        assert_eq!(out, [(2 << 1) | 1, 0b1000_1101, 0b0000_0001]);
    }

    #[test]
    fn values_are_bit_packed_low_bits_first_in_whole_groups() {
        let mut out = Vec::new();
        bit_pack(&[1, 2, 3, 4, 5, 6, 7, 0, 5], 3, &mut out);
        // 3 bits each, first value lowest: 001 010 011 100 101 110 111 000, then 101 and zeros.
        assert_eq!(out, [(2 << 1) | 1, 0b1101_0001, 0b0101_1000, 0b0001_1111, 0b101, 0, 0]);
    }
}
