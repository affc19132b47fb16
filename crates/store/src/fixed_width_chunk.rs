//! Column chunks of fixed-width binary values (addresses), paged straight from Arrow's buffer.
//!
//! Parquet's Arrow writer (arrow-rs 59) copies a fixed-width column into a fresh buffer, cuts
//! it into one reference-counted `Bytes` slice per value, and its encoder copies every slice
//! again: on a generated 5 M-record conn.log the two 16-byte address columns took 40 % of all
//! encoding time. PLAIN-encoded fixed-width values are just the values back to back, which is
//! how Arrow already holds them, so here a page is a copy of part of that buffer and one
//! compression call. Only the simple case is taken (a top-level column, version 2 pages, PLAIN,
//! no dictionary or bloom filter, zstd or no compression); [`FixedWidthChunkWriter::plan`] says
//! when, and every other column keeps parquet's own writer.
//!
//! The chunk carries min/max statistics when its properties ask for any, and an offset index;
//! it writes no column index (page min/max of addresses spread over every page prune nothing).

use arrow_array::{Array, FixedSizeBinaryArray};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::FixedLenByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// How a column qualifying for [`FixedWidthChunkWriter`] is to be written.
#[derive(Clone, Debug)]
pub(crate) struct FixedWidthPlan {
    descr: ColumnDescPtr,
    width: usize,
    zstd_level: Option<i32>,
    statistics: bool,
    page_rows: usize,
}

/// One row group's chunk of a fixed-width column, built page by page in memory.
pub(crate) struct FixedWidthChunkWriter {
    plan: FixedWidthPlan,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    /// The page being filled: its values back to back, and (for an optional column) one
    /// definition level a row.
    values: Vec<u8>,
    levels: Vec<bool>,
    page_rows: usize,
    page_nulls: usize,
    chunk: TrackedWrite<Vec<u8>>,
    locations: Vec<PageLocation>,
    rows: u64,
    nulls: u64,
    uncompressed_size: usize,
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
}

/// A finished chunk: its pages and the metadata that places them in a row group.
pub(crate) struct FixedWidthChunk {
    pub(crate) pages: Bytes,
    pub(crate) close: ColumnCloseResult,
}

impl FixedWidthChunkWriter {
    /// The plan for leaf column `descr` if it is a top-level fixed-width column that the
    /// properties let this writer produce exactly as parquet's own would; `None` otherwise.
    pub(crate) fn plan(descr: &ColumnDescPtr, props: &WriterProperties) -> Option<FixedWidthPlan> {
        let path = descr.path();
        let width = usize::try_from(descr.type_length()).ok().filter(|w| *w > 0)?;
        let simple = descr.physical_type() == parquet::basic::Type::FIXED_LEN_BYTE_ARRAY
            && descr.max_rep_level() == 0
            && descr.max_def_level() <= 1
            && props.writer_version() == WriterVersion::PARQUET_2_0
            && !props.dictionary_enabled(path)
            && props.bloom_filter_properties(path).is_none()
            && matches!(props.encoding(path), None | Some(Encoding::PLAIN));
        let zstd_level = match props.compression(path) {
            Compression::UNCOMPRESSED => None,
            Compression::ZSTD(level) => Some(level.compression_level()),
            _ => return None,
        };
        let by_size = (props.data_page_size_limit() / width).max(1);
        simple.then(|| FixedWidthPlan {
            descr: descr.clone(),
            width,
            zstd_level,
            statistics: props.statistics_enabled(path) != EnabledStatistics::None,
            page_rows: props.data_page_row_count_limit().min(by_size).max(1),
        })
    }

    pub(crate) fn new(plan: FixedWidthPlan) -> Result<Self> {
        let compressor = match plan.zstd_level {
            Some(level) => Some(zstd::bulk::Compressor::new(level).map_err(external)?),
            None => None,
        };
        Ok(FixedWidthChunkWriter {
            values: Vec::with_capacity(plan.page_rows * plan.width),
            levels: Vec::new(),
            plan,
            compressor,
            page_rows: 0,
            page_nulls: 0,
            chunk: TrackedWrite::new(Vec::new()),
            locations: Vec::new(),
            rows: 0,
            nulls: 0,
            uncompressed_size: 0,
            min: None,
            max: None,
        })
    }

    pub(crate) fn write(&mut self, array: &dyn Array) -> Result<()> {
        let array = array
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .filter(|a| a.value_size() == self.plan.width)
            .ok_or_else(|| {
                ParquetError::General(format!(
                    "column {} expects {}-byte values, got {}",
                    self.plan.descr.path(),
                    self.plan.width,
                    array.data_type()
                ))
            })?;
        if array.null_count() > 0 && self.plan.descr.max_def_level() == 0 {
            return Err(ParquetError::General(format!(
                "column {} is required but has nulls",
                self.plan.descr.path()
            )));
        }
        let mut start = 0;
        while start < array.len() {
            let rows = (self.plan.page_rows - self.page_rows).min(array.len() - start);
            self.append(&array.slice(start, rows));
            start += rows;
            if self.page_rows == self.plan.page_rows {
                self.write_page()?;
            }
        }
        Ok(())
    }

    fn append(&mut self, part: &FixedSizeBinaryArray) {
        let width = self.plan.width;
        let first = self.values.len();
        match part.nulls().filter(|n| n.null_count() > 0) {
            None => self.values.extend_from_slice(part.value_data()),
            Some(nulls) => {
                for row in nulls.valid_indices() {
                    self.values.extend_from_slice(&part.value_data()[row * width..][..width]);
                }
                self.page_nulls += nulls.null_count();
            }
        }
        if self.plan.descr.max_def_level() == 1 {
            match part.nulls() {
                Some(nulls) => self.levels.extend(nulls.iter()),
                None => self.levels.extend(std::iter::repeat_n(true, part.len())),
            }
        }
        if self.plan.statistics {
            for value in self.values[first..].chunks_exact(width) {
                if self.min.as_deref().is_none_or(|min| value < min) {
                    self.min = Some(value.to_vec());
                }
                if self.max.as_deref().is_none_or(|max| value > max) {
                    self.max = Some(value.to_vec());
                }
            }
        }
        self.page_rows += part.len();
    }

    fn write_page(&mut self) -> Result<()> {
        if self.page_rows == 0 {
            return Ok(());
        }
        // Version 2 pages keep their levels uncompressed, ahead of the values.
        let mut buf = Vec::new();
        if self.plan.descr.max_def_level() == 1 {
            encode_levels(&self.levels, &mut buf);
        }
        let levels_len = buf.len();
        match &mut self.compressor {
            // zstd fills a `Vec` from its start, so behind levels it gets a slice to fill.
            Some(zstd) if levels_len == 0 => {
                buf.reserve(zstd::zstd_safe::compress_bound(self.values.len()));
                zstd.compress_to_buffer(&self.values, &mut buf).map_err(external)?;
            }
            Some(zstd) => {
                buf.resize(levels_len + zstd::zstd_safe::compress_bound(self.values.len()), 0);
                let written = zstd
                    .compress_to_buffer(&self.values, &mut buf[levels_len..])
                    .map_err(external)?;
                buf.truncate(levels_len + written);
            }
            None => buf.extend_from_slice(&self.values),
        }
        let page = Page::DataPageV2 {
            buf: Bytes::from(buf),
            num_values: count(self.page_rows)?,
            encoding: Encoding::PLAIN,
            num_nulls: count(self.page_nulls)?,
            num_rows: count(self.page_rows)?,
            def_levels_byte_len: count(levels_len)?,
            rep_levels_byte_len: 0,
            is_compressed: self.compressor.is_some(),
            statistics: None,
        };
        let page = CompressedPage::new(page, levels_len + self.values.len());
        let spec = SerializedPageWriter::new(&mut self.chunk).write_page(page)?;
        self.locations.push(PageLocation {
            offset: spec.offset as i64,
            compressed_page_size: count(spec.compressed_size)? as i32,
            first_row_index: self.rows as i64,
        });
        self.uncompressed_size += spec.uncompressed_size;
        self.rows += self.page_rows as u64;
        self.nulls += self.page_nulls as u64;
        self.values.clear();
        self.levels.clear();
        self.page_rows = 0;
        self.page_nulls = 0;
        Ok(())
    }

    pub(crate) fn close(mut self) -> Result<FixedWidthChunk> {
        self.write_page()?;
        let pages = Bytes::from(self.chunk.into_inner()?);
        let plan = self.plan;
        let mut encodings = vec![Encoding::PLAIN];
        if plan.descr.max_def_level() == 1 {
            encodings.push(Encoding::RLE);
        }
        let mut metadata = ColumnChunkMetaData::builder(plan.descr.clone())
            .set_compression(match plan.zstd_level {
                Some(level) => Compression::ZSTD(parquet::basic::ZstdLevel::try_new(level)?),
                None => Compression::UNCOMPRESSED,
            })
            .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
            .set_total_compressed_size(pages.len() as i64)
            .set_total_uncompressed_size(self.uncompressed_size as i64)
            .set_num_values(self.rows as i64)
            .set_data_page_offset(0);
        if plan.statistics {
            let flba = |v: Option<Vec<u8>>| v.map(FixedLenByteArray::from);
            let statistics =
                ValueStatistics::new(flba(self.min), flba(self.max), None, Some(self.nulls), false)
                    .with_backwards_compatible_min_max(plan.descr.sort_order().is_signed());
            metadata = metadata.set_statistics(Statistics::FixedLenByteArray(statistics));
        }
        let close = ColumnCloseResult {
            bytes_written: pages.len() as u64,
            rows_written: self.rows,
            metadata: metadata.build()?,
            bloom_filter: None,
            column_index: None,
            offset_index: Some(OffsetIndexMetaData {
                page_locations: self.locations,
                unencoded_byte_array_data_bytes: None,
            }),
        };
        Ok(FixedWidthChunk { pages, close })
    }
}

/// Definition levels (0 null, 1 present) in Parquet's RLE/bit-packing hybrid at bit width 1,
/// without the length prefix version 1 pages put before it: one run when every level is the
/// same (the usual case, a page without nulls), else one bit-packed run of all of them.
fn encode_levels(levels: &[bool], out: &mut Vec<u8>) {
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

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, FixedSizeBinaryArray, Int64Array, ListArray, RecordBatch,
        builder::{FixedSizeBinaryBuilder, ListBuilder},
    };
    use arrow_schema::{DataType, Field, Schema, SchemaRef};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::{
        ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
    };
    use parquet::basic::ZstdLevel;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
    use parquet::schema::types::ColumnPath;

    use super::*;
    use crate::part_writer::{EncodingThreads, ParallelParquetWriter};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("src", DataType::FixedSizeBinary(16), true),
            Field::new("tag", DataType::FixedSizeBinary(4), false),
            Field::new(
                "hosts",
                DataType::List(Arc::new(Field::new("item", DataType::FixedSizeBinary(16), true))),
                true,
            ),
        ]))
    }

    fn address(i: i64) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[10..12].copy_from_slice(&[0xff, 0xff]);
        a[12..].copy_from_slice(&((i * 2_654_435_761) as u32).to_be_bytes());
        a
    }

    /// Rows `from..from + rows`: `src` null in runs (every row from 20 to 39, and every
    /// fifth), so that pages have no nulls, some nulls, and only nulls.
    fn batch(schema: &SchemaRef, from: i64, rows: i64) -> RecordBatch {
        let range = from..from + rows;
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(range.clone()));
        let src: ArrayRef = Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                range.clone().map(|i| (!(20..40).contains(&i) && i % 5 != 3).then(|| address(i))),
                16,
            )
            .unwrap(),
        );
        let tag: ArrayRef = Arc::new(
            FixedSizeBinaryArray::try_from_iter(
                range.clone().map(|i| (i as u32 % 97).to_be_bytes()),
            )
            .unwrap(),
        );
        let item = Arc::new(Field::new("item", DataType::FixedSizeBinary(16), true));
        let mut hosts = ListBuilder::new(FixedSizeBinaryBuilder::new(16)).with_field(item);
        for i in range {
            for j in 0..i % 3 {
                hosts.values().append_value(address(i + j)).unwrap();
            }
            hosts.append(i % 4 != 0);
        }
        let hosts: ListArray = hosts.finish();
        RecordBatch::try_new(schema.clone(), vec![ids, src, tag, Arc::new(hosts)]).unwrap()
    }

    fn props() -> WriterProperties {
        WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_encoding(Encoding::PLAIN)
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
            .set_dictionary_enabled(false)
            .set_data_page_row_count_limit(7)
            .set_column_statistics_enabled(ColumnPath::from("src"), EnabledStatistics::None)
            .set_column_statistics_enabled(ColumnPath::from("tag"), EnabledStatistics::Chunk)
            .build()
    }

    fn metadata(path: &std::path::Path) -> Arc<ParquetMetaData> {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(
            File::open(path).unwrap(),
            options,
        )
        .unwrap();
        reader.metadata().clone()
    }

    /// Fixed-width columns written here read back as written, with the statistics parquet's
    /// own writer gives them, pages of the configured size and an offset index that lets a
    /// reader skip to a row; a list of fixed-width values keeps parquet's writer.
    #[test]
    fn fixed_width_columns_read_back_as_parquet_would_write_them() {
        let schema = schema();
        let input: Vec<RecordBatch> =
            [(0, 13), (13, 30), (43, 1), (44, 60)].map(|(f, n)| batch(&schema, f, n)).into();
        let written = arrow_select::concat::concat_batches(&schema, &input).unwrap();
        let dir = tempfile::tempdir().unwrap();

        let ours = dir.path().join("ours.parquet");
        let mut writer = ParallelParquetWriter::try_new(
            File::create(&ours).unwrap(),
            schema.clone(),
            props(),
            50,
            Arc::new(EncodingThreads::new(2)),
        )
        .unwrap();
        for b in &input {
            writer.write(b).unwrap();
        }
        writer.into_inner().unwrap().sync_all().unwrap();

        let theirs = dir.path().join("theirs.parquet");
        let mut reference =
            ArrowWriter::try_new(File::create(&theirs).unwrap(), schema.clone(), Some(props()))
                .unwrap();
        for group in 0..3 {
            let rows = (written.num_rows() - group * 50).min(50);
            reference.write(&written.slice(group * 50, rows)).unwrap();
            reference.flush().unwrap();
        }
        reference.close().unwrap();

        let read = |path: &std::path::Path, selection: Option<RowSelection>| {
            let options =
                ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
            let mut builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
                File::open(path).unwrap(),
                options,
            )
            .unwrap();
            if let Some(selection) = selection {
                builder = builder.with_row_selection(selection);
            }
            let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
            arrow_select::concat::concat_batches(&schema, &batches).unwrap()
        };
        assert_eq!(read(&ours, None), written);
        assert_eq!(read(&theirs, None), written);
        let skip = RowSelection::from(vec![RowSelector::skip(17), RowSelector::select(9)]);
        assert_eq!(read(&ours, Some(skip)), written.slice(17, 9));

        let (ours, theirs) = (metadata(&ours), metadata(&theirs));
        assert_eq!(ours.num_row_groups(), 3);
        for (group, (a, b)) in ours.row_groups().iter().zip(theirs.row_groups()).enumerate() {
            assert_eq!(a.num_rows(), b.num_rows());
            for (column, (a, b)) in a.columns().iter().zip(b.columns()).enumerate() {
                let at = format!("group {group} column {column}");
                assert_eq!(a.statistics(), b.statistics(), "{at}");
                assert_eq!(a.num_values(), b.num_values(), "{at}");
                assert_eq!(a.compression(), b.compression(), "{at}");
            }
            // `src` and `tag`: pages of at most 7 rows, located by the offset index.
            let offsets = &ours.offset_index().unwrap()[group];
            for column in [1, 2] {
                let pages = &offsets[column].page_locations;
                assert_eq!(pages.len(), (a.num_rows() as usize).div_ceil(7), "group {group}");
                assert!(pages.windows(2).all(|p| p[1].first_row_index - p[0].first_row_index == 7));
            }
        }
        let tag = ours.row_group(0).column(2).statistics().unwrap();
        assert_eq!(tag.min_bytes_opt(), Some(&0u32.to_be_bytes()[..]));
        assert_eq!(tag.max_bytes_opt(), Some(&49u32.to_be_bytes()[..]));
    }

    #[test]
    fn only_columns_it_can_write_as_parquet_would_are_planned() {
        let descr = parquet::arrow::ArrowSchemaConverter::new().convert(&schema()).unwrap();
        let planned = |props: WriterProperties| -> Vec<bool> {
            (0..descr.num_columns())
                .map(|i| FixedWidthChunkWriter::plan(&descr.column(i), &props).is_some())
                .collect()
        };
        // id, src, tag, hosts.list.item
        assert_eq!(planned(props()), [false, true, true, false]);
        let with = || {
            WriterProperties::builder()
                .set_writer_version(WriterVersion::PARQUET_2_0)
                .set_dictionary_enabled(false)
        };
        assert_eq!(planned(with().build()), [false, true, true, false]);
        assert_eq!(planned(with().set_dictionary_enabled(true).build()), [false; 4]);
        assert_eq!(planned(with().set_compression(Compression::SNAPPY).build()), [false; 4]);
        let v1 = with().set_writer_version(WriterVersion::PARQUET_1_0).build();
        assert_eq!(planned(v1), [false; 4]);
        let split =
            with().set_column_encoding(ColumnPath::from("tag"), Encoding::BYTE_STREAM_SPLIT);
        assert_eq!(planned(split.build()), [false, true, false, false]);
        let bloom = with().set_column_bloom_filter_enabled(ColumnPath::from("src"), true);
        assert_eq!(planned(bloom.build()), [false, false, true, false]);
    }

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
    fn nulls_in_a_required_column_or_another_width_are_errors() {
        let descr = parquet::arrow::ArrowSchemaConverter::new().convert(&schema()).unwrap();
        let plan = |i| FixedWidthChunkWriter::plan(&descr.column(i), &props()).unwrap();
        let mut tag = FixedWidthChunkWriter::new(plan(2)).unwrap();
        let with_null = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            [Some([1u8; 4]), None].into_iter(),
            4,
        )
        .unwrap();
        assert!(tag.write(&with_null).unwrap_err().to_string().contains("required"));
        let mut src = FixedWidthChunkWriter::new(plan(1)).unwrap();
        assert!(src.write(&with_null).unwrap_err().to_string().contains("16-byte"));
    }
}
