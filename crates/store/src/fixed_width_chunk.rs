//! Column chunks of fixed-width binary values (addresses), paged straight from Arrow's buffer.
//!
//! Parquet's Arrow writer (arrow-rs 59) copies a fixed-width column into a fresh buffer, cuts
//! it into one reference-counted `Bytes` slice per value, and its encoder copies every slice
//! again: on a generated 5 M-record conn.log the two 16-byte address columns took 40 % of all
//! encoding time. PLAIN-encoded fixed-width values are just the values back to back, which is
//! how Arrow already holds them, so here a page is a copy of part of that buffer and one
//! compression call. Only the simple case is taken (see [`PageSettings`]; PLAIN, no
//! dictionary); [`FixedWidthChunkWriter::plan`] says when, and every other column keeps
//! parquet's own writer.
//!
//! The chunk carries min/max statistics when its properties ask for any, and an offset index;
//! it writes no column index (page min/max of addresses spread over every page prune nothing).

use arrow_array::{Array, FixedSizeBinaryArray};
use arrow_schema::DataType;
use parquet::basic::Encoding;
use parquet::data_type::FixedLenByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::schema::types::ColumnDescPtr;

use crate::chunk_pages::{ChunkPages, OwnChunk, PageSettings};

/// How a column qualifying for [`FixedWidthChunkWriter`] is to be written.
#[derive(Clone, Debug)]
pub(crate) struct FixedWidthPlan {
    settings: PageSettings,
    width: usize,
    statistics: bool,
    page_rows: usize,
}

/// One row group's chunk of a fixed-width column, built page by page in memory.
pub(crate) struct FixedWidthChunkWriter {
    plan: FixedWidthPlan,
    pages: ChunkPages,
    /// The page being filled: its values back to back, and (for an optional column) one
    /// definition level a row.
    values: Vec<u8>,
    levels: Vec<bool>,
    page_rows: usize,
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
    nulls: u64,
}

impl FixedWidthChunkWriter {
    /// The plan for leaf column `descr`, of Arrow type `data_type`, if it is a fixed-width
    /// column that the properties let this writer produce as parquet's own would.
    pub(crate) fn plan(
        descr: &ColumnDescPtr,
        data_type: &DataType,
        props: &WriterProperties,
    ) -> Option<FixedWidthPlan> {
        let path = descr.path();
        let width = usize::try_from(descr.type_length()).ok().filter(|w| *w > 0)?;
        let simple = descr.physical_type() == parquet::basic::Type::FIXED_LEN_BYTE_ARRAY
            && *data_type == DataType::FixedSizeBinary(descr.type_length())
            && !props.dictionary_enabled(path)
            && props.encoding(path) == Some(Encoding::PLAIN);
        let settings = PageSettings::for_column(descr, props).filter(|_| simple)?;
        let by_size = (props.data_page_size_limit() / width).max(1);
        Some(FixedWidthPlan {
            settings,
            width,
            statistics: props.statistics_enabled(path) != EnabledStatistics::None,
            page_rows: props.data_page_row_count_limit().min(by_size).max(1),
        })
    }

    pub(crate) fn new(plan: FixedWidthPlan) -> Result<Self> {
        Ok(FixedWidthChunkWriter {
            pages: ChunkPages::new(plan.settings.clone())?,
            // Page limits may be set without bound: the page then grows as needed.
            values: Vec::with_capacity(plan.page_rows.saturating_mul(plan.width).min(1 << 20)),
            levels: Vec::new(),
            plan,
            page_rows: 0,
            min: None,
            max: None,
            nulls: 0,
        })
    }

    pub(crate) fn write(&mut self, array: &dyn Array) -> Result<()> {
        let descr = self.pages.descr();
        let array = array
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .filter(|a| a.value_size() == self.plan.width)
            .ok_or_else(|| {
                ParquetError::General(format!(
                    "column {} expects {}-byte values, got {}",
                    descr.path(),
                    self.plan.width,
                    array.data_type()
                ))
            })?;
        self.plan.settings.check_nulls(array)?;
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
                self.nulls += nulls.null_count() as u64;
            }
        }
        if self.plan.settings.optional() {
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
        self.pages.write_data_page(self.page_rows, &self.levels, &self.values, Encoding::PLAIN)?;
        self.values.clear();
        self.levels.clear();
        self.page_rows = 0;
        Ok(())
    }

    pub(crate) fn close(mut self) -> Result<OwnChunk> {
        self.write_page()?;
        let statistics = self.plan.statistics.then(|| {
            let flba = |v: Option<Vec<u8>>| v.map(FixedLenByteArray::from);
            let statistics =
                ValueStatistics::new(flba(self.min), flba(self.max), None, Some(self.nulls), false)
                    .with_backwards_compatible_min_max(self.pages.descr().sort_order().is_signed());
            Statistics::FixedLenByteArray(statistics)
        });
        self.pages.finish(None, statistics)
    }
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
    use parquet::arrow::arrow_reader::{
        ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
    };
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
    use parquet::file::properties::WriterVersion;
    use parquet::schema::types::ColumnPath;

    use super::*;
    use crate::chunk_pages::compared::write_both;

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
        let dir = tempfile::tempdir().unwrap();
        let (ours, theirs, written) = write_both(dir.path(), &schema, props, &input, 50);

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
                let sorted = |c: &parquet::file::metadata::ColumnChunkMetaData| {
                    let mut encodings: Vec<Encoding> = c.encodings().collect();
                    encodings.sort_by_key(|e| *e as i32);
                    encodings
                };
                assert_eq!(sorted(a), sorted(b), "{at}");
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
                .map(|i| {
                    let data_type = schema().field(i).data_type().clone();
                    FixedWidthChunkWriter::plan(&descr.column(i), &data_type, &props).is_some()
                })
                .collect()
        };
        // id, src, tag, hosts.list.item
        assert_eq!(planned(props()), [false, true, true, false]);
        let with = || {
            WriterProperties::builder()
                .set_writer_version(WriterVersion::PARQUET_2_0)
                .set_dictionary_enabled(false)
                .set_encoding(Encoding::PLAIN)
        };
        assert_eq!(planned(with().build()), [false, true, true, false]);
        // Version 2 pages naming no encoding get DELTA_BYTE_ARRAY from parquet's writer.
        let unnamed = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_dictionary_enabled(false);
        assert_eq!(planned(unnamed.build()), [false; 4]);
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
    fn nulls_in_a_required_column_or_another_width_are_errors() {
        let descr = parquet::arrow::ArrowSchemaConverter::new().convert(&schema()).unwrap();
        let plan = |i| {
            let data_type = schema().field(i).data_type().clone();
            FixedWidthChunkWriter::plan(&descr.column(i), &data_type, &props()).unwrap()
        };
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
