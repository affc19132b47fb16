//! Column chunks of dictionary-encoded text with few distinct values (protocols, services,
//! connection states, histories, source files).
//!
//! Parquet's Arrow writer looks every value up in its dictionary through a general hash table:
//! a keyed hash of the bytes, then a byte comparison with the entry found. On a generated
//! 5 M-record conn.log its dictionary columns cost more encoding time than the two address
//! columns. Here a value of up to 16 bytes is its own key (its bytes in one 128-bit number,
//! with its length), hashed with one multiplication and compared without touching the
//! dictionary's bytes; longer values (file paths) are compared with the previous row first,
//! which in a log is usually the same. The file is the same as parquet's: a PLAIN dictionary
//! page first, then version 2 data pages of bit-packed dictionary indices.
//!
//! When the dictionary outgrows its page size limit, the rest of the chunk is written in
//! PLAIN pages, as parquet's own writer falls back. Only columns without statistics are taken
//! ([`TextDictionaryChunkWriter::plan`]): the text columns of the store keep none.

use arrow_array::{Array, StringArray};
use arrow_schema::DataType;
use parquet::basic::Encoding;
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnDescPtr;

use crate::chunk_pages::{ChunkPages, OwnChunk, PageSettings, bit_pack};

/// How a column qualifying for [`TextDictionaryChunkWriter`] is to be written.
#[derive(Clone, Debug)]
pub(crate) struct TextDictionaryPlan {
    settings: PageSettings,
    page_rows: usize,
    page_bytes: usize,
    dictionary_bytes: usize,
}

/// One row group's chunk of a dictionary-encoded text column, built page by page in memory.
pub(crate) struct TextDictionaryChunkWriter {
    plan: TextDictionaryPlan,
    pages: ChunkPages,
    dictionary: Dictionary,
    /// Once the dictionary is full, pages hold the values themselves (PLAIN).
    fallen_back: bool,
    /// The page being filled: dictionary indices of its non-null values (or, fallen back,
    /// the values PLAIN-encoded), and (for an optional column) one definition level a row.
    indices: Vec<u32>,
    plain: Vec<u8>,
    levels: Vec<bool>,
    page_rows: usize,
}

/// Rows handed to the page at a time, between checks of the page's limits (parquet's
/// default write batch size).
const SLICE_ROWS: usize = 1024;

impl TextDictionaryChunkWriter {
    /// The plan for leaf column `descr`, of Arrow type `data_type`, if it is a text column the
    /// properties want dictionary-encoded, without statistics, and that this writer can
    /// produce as parquet's own would.
    pub(crate) fn plan(
        descr: &ColumnDescPtr,
        data_type: &DataType,
        props: &WriterProperties,
    ) -> Option<TextDictionaryPlan> {
        let path = descr.path();
        let simple = descr.physical_type() == parquet::basic::Type::BYTE_ARRAY
            && *data_type == DataType::Utf8
            && props.dictionary_enabled(path)
            && props.statistics_enabled(path) == EnabledStatistics::None
            && props.encoding(path) == Some(Encoding::PLAIN);
        let settings = PageSettings::for_column(descr, props).filter(|_| simple)?;
        Some(TextDictionaryPlan {
            settings,
            page_rows: props.data_page_row_count_limit().max(1),
            page_bytes: props.data_page_size_limit().max(1),
            dictionary_bytes: props.column_dictionary_page_size_limit(path),
        })
    }

    pub(crate) fn new(plan: TextDictionaryPlan) -> Result<Self> {
        Ok(TextDictionaryChunkWriter {
            pages: ChunkPages::new(plan.settings.clone())?,
            plan,
            dictionary: Dictionary::default(),
            fallen_back: false,
            indices: Vec::new(),
            plain: Vec::new(),
            levels: Vec::new(),
            page_rows: 0,
        })
    }

    pub(crate) fn write(&mut self, array: &dyn Array) -> Result<()> {
        let descr = self.pages.descr();
        let Some(array) = array.as_any().downcast_ref::<StringArray>() else {
            return Err(ParquetError::General(format!(
                "column {} expects text, got {}",
                descr.path(),
                array.data_type()
            )));
        };
        self.plan.settings.check_nulls(array)?;
        let mut start = 0;
        while start < array.len() {
            let rows = (self.plan.page_rows - self.page_rows).min(array.len() - start);
            let rows = rows.min(SLICE_ROWS);
            self.append(array, start, rows);
            start += rows;
            if !self.fallen_back && self.dictionary.plain.len() > self.plan.dictionary_bytes {
                self.write_page()?;
                self.fallen_back = true;
            }
            // Indices take at most four bytes each.
            let page_bytes =
                if self.fallen_back { self.plain.len() } else { 4 * self.indices.len() };
            if self.page_rows == self.plan.page_rows || page_bytes >= self.plan.page_bytes {
                self.write_page()?;
            }
        }
        Ok(())
    }

    fn append(&mut self, array: &StringArray, start: usize, rows: usize) {
        let offsets = array.value_offsets();
        let data = array.value_data();
        let nulls = array.nulls().filter(|n| n.null_count() > 0);
        for row in start..start + rows {
            let present = nulls.is_none_or(|n| n.is_valid(row));
            if self.plan.settings.optional() {
                self.levels.push(present);
            }
            if !present {
                continue;
            }
            let value = &data[offsets[row] as usize..offsets[row + 1] as usize];
            if self.fallen_back {
                self.plain.extend_from_slice(&(value.len() as u32).to_le_bytes());
                self.plain.extend_from_slice(value);
            } else {
                let index = self.dictionary.intern(value, data, offsets[row] as usize);
                self.indices.push(index);
            }
        }
        self.page_rows += rows;
    }

    fn write_page(&mut self) -> Result<()> {
        // A page of nulls only has no values to encode, and may come before the dictionary
        // has any entry (which a dictionary page must have).
        if self.fallen_back || self.indices.is_empty() {
            self.pages.write_data_page(
                self.page_rows,
                &self.levels,
                &self.plain,
                Encoding::PLAIN,
            )?;
        } else {
            // The bit width, then the indices, at a width the dictionary so far needs (at
            // least one bit, which every reader takes).
            let largest = self.dictionary.len().saturating_sub(1) as u32;
            let width = (32 - largest.leading_zeros()).max(1) as u8;
            let mut encoded = vec![width];
            bit_pack(&self.indices, width, &mut encoded);
            let encoding = Encoding::RLE_DICTIONARY;
            self.pages.write_data_page(self.page_rows, &self.levels, &encoded, encoding)?;
        }
        self.indices.clear();
        self.plain.clear();
        self.levels.clear();
        self.page_rows = 0;
        Ok(())
    }

    pub(crate) fn close(mut self) -> Result<OwnChunk> {
        self.write_page()?;
        let entries = self.dictionary.len();
        let dictionary = (entries > 0).then_some((self.dictionary.plain.as_slice(), entries));
        self.pages.finish(dictionary, None)
    }
}

/// The dictionary: its entries PLAIN-encoded (as its page holds them), and a table to find
/// them by value.
#[derive(Default)]
struct Dictionary {
    /// Each entry as a 4-byte little-endian length and its bytes.
    plain: Vec<u8>,
    /// Per entry: where its bytes start in `plain`, its length, and its short key.
    entries: Vec<Entry>,
    /// Open addressing: entry number + 1, or 0 for a free slot; a power of two long.
    slots: Vec<u32>,
    /// The index of the last long value looked up.
    last: Option<u32>,
}

struct Entry {
    start: usize,
    len: usize,
    key: Option<u128>,
}

impl Dictionary {
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// The index of `value` (found at `at` in `data`), added if new.
    fn intern(&mut self, value: &[u8], data: &[u8], at: usize) -> u32 {
        let key = short_key(value, data, at);
        if key.is_none() {
            // Long values (file paths) usually repeat the row before.
            if let Some(index) = self.last
                && self.bytes(&self.entries[index as usize]) == value
            {
                return index;
            }
        }
        if self.slots.len() < 2 * (self.entries.len() + 1) {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.home(value, key);
        let index = loop {
            match self.slots[slot] {
                0 => {
                    let index = self.entries.len() as u32;
                    self.plain.extend_from_slice(&(value.len() as u32).to_le_bytes());
                    self.entries.push(Entry { start: self.plain.len(), len: value.len(), key });
                    self.plain.extend_from_slice(value);
                    self.slots[slot] = index + 1;
                    break index;
                }
                occupied => {
                    let entry = &self.entries[occupied as usize - 1];
                    let same = match key {
                        Some(key) => entry.key == Some(key),
                        None => entry.key.is_none() && self.bytes(entry) == value,
                    };
                    if same {
                        break occupied - 1;
                    }
                    slot = (slot + 1) & mask;
                }
            }
        };
        if key.is_none() {
            self.last = Some(index);
        }
        index
    }

    /// Where `value` (with its short key) belongs in the table.
    fn home(&self, value: &[u8], key: Option<u128>) -> usize {
        (hash(value, key) >> (64 - self.slots.len().ilog2())) as usize
    }

    fn bytes(&self, entry: &Entry) -> &[u8] {
        &self.plain[entry.start..entry.start + entry.len]
    }

    /// Doubles the table and puts every entry back where [`Dictionary::home`] says.
    fn grow(&mut self) {
        self.slots = vec![0u32; (self.slots.len() * 2).max(64)];
        let mask = self.slots.len() - 1;
        for index in 0..self.entries.len() {
            let entry = &self.entries[index];
            let mut slot = self.home(self.bytes(entry), entry.key);
            while self.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = index as u32 + 1;
        }
    }
}

/// A value of at most 15 bytes as one number: its bytes, zero-padded, and its length in the
/// top byte, so that two values are equal exactly when their keys are.
fn short_key(value: &[u8], data: &[u8], at: usize) -> Option<u128> {
    if value.len() > 15 {
        return None;
    }
    let bytes = match data.get(at..at + 16) {
        Some(sixteen) => {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(sixteen);
            u128::from_le_bytes(bytes)
        }
        None => {
            let mut bytes = [0u8; 16];
            bytes[..value.len()].copy_from_slice(value);
            u128::from_le_bytes(bytes)
        }
    };
    let kept = if value.is_empty() { 0 } else { u128::MAX >> (128 - 8 * value.len()) };
    Some((bytes & kept) | ((value.len() as u128) << 120))
}

fn hash(value: &[u8], key: Option<u128>) -> u64 {
    const MIX: u64 = 0x9e37_79b9_7f4a_7c15;
    let folded = match key {
        Some(key) => (key as u64) ^ ((key >> 64) as u64).rotate_left(29),
        None => value.chunks(8).fold(value.len() as u64, |h, word| {
            let mut bytes = [0u8; 8];
            bytes[..word.len()].copy_from_slice(word);
            (h ^ u64::from_le_bytes(bytes)).wrapping_mul(MIX).rotate_left(23)
        }),
    };
    // Fibonacci hashing: the slot is the product's top bits, which every input bit reaches
    // (its low bits see only the input's low bits: "ShADadFf" and "ShADadfFr", alike but for
    // their seventh byte, collided when the table took those).
    folded.wrapping_mul(MIX)
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    use arrow_schema::{Field, Schema, SchemaRef};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::{Compression, PageType, ZstdLevel};
    use parquet::file::metadata::ParquetMetaData;
    use parquet::file::properties::WriterVersion;
    use parquet::file::reader::FileReader;
    use parquet::file::serialized_reader::SerializedFileReader;
    use parquet::schema::types::ColumnPath;

    use super::*;
    use crate::chunk_pages::compared::write_both;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("proto", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, true),
            Field::new("history", DataType::Utf8, true),
        ]))
    }

    /// Rows `from..from + rows`: `proto` of three values; `source` long paths that change
    /// rarely, null from row 30 to 59 (whole pages of nulls, one before any value at a group
    /// start); `history` short values, some empty, every seventh null, and from row 120 on
    /// many distinct ones, to outgrow a small dictionary.
    fn batch(schema: &SchemaRef, from: i64, rows: i64) -> RecordBatch {
        let range = from..from + rows;
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(range.clone()));
        let proto: ArrayRef = Arc::new(StringArray::from_iter_values(
            range.clone().map(|i| ["tcp", "udp", "icmp"][(i * 7 % 3) as usize]),
        ));
        let source: ArrayRef = Arc::new(StringArray::from_iter(range.clone().map(|i| {
            (!(30..60).contains(&i) && i >= 4)
                .then(|| format!("/var/log/zeek/2024-06-0{}/conn.{}.log.gz", i / 40, i / 25))
        })));
        let history: ArrayRef = Arc::new(StringArray::from_iter(range.map(|i| match i {
            _ if i % 7 == 0 => None,
            _ if i % 5 == 0 => Some(String::new()),
            _ if i >= 120 => Some(format!("ShADad{i}")),
            _ => Some(["S", "ShADadFf", "Dd", "ShADadfFr"][(i % 4) as usize].to_string()),
        })));
        RecordBatch::try_new(schema.clone(), vec![ids, proto, source, history]).unwrap()
    }

    fn props() -> WriterProperties {
        WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_encoding(Encoding::PLAIN)
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
            .set_statistics_enabled(EnabledStatistics::None)
            .set_data_page_row_count_limit(10)
            .set_column_dictionary_page_size_limit(ColumnPath::from("history"), 200)
            .build()
    }

    fn encodings(metadata: &ParquetMetaData, group: usize, column: usize) -> Vec<Encoding> {
        metadata.row_group(group).column(column).encodings().collect()
    }

    /// Dictionary-encoded text written here reads back as written, as parquet's own writer's
    /// does, with its dictionary page first, pages of the configured rows, pages of nulls only
    /// and a fallback to PLAIN once the dictionary is full.
    #[test]
    fn text_dictionary_columns_read_back_as_parquet_would_write_them() {
        let schema = schema();
        let input: Vec<RecordBatch> =
            [(0, 3), (3, 50), (53, 1), (54, 150)].map(|(f, n)| batch(&schema, f, n)).into();
        let dir = tempfile::tempdir().unwrap();
        let (ours, theirs, written) = write_both(dir.path(), &schema, props, &input, 100);

        let read = |path: &std::path::Path| {
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
            let metadata = reader.metadata().clone();
            let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
            (arrow_select::concat::concat_batches(&schema, &batches).unwrap(), metadata)
        };
        let (ours, our_metadata) = read(&ours);
        let (theirs, their_metadata) = read(&theirs);
        assert_eq!(ours, written);
        assert_eq!(theirs, written);

        assert_eq!(our_metadata.num_row_groups(), 3);
        for group in 0..3 {
            for column in 1..4 {
                let at = format!("group {group} column {column}");
                let chunk = our_metadata.row_group(group).column(column);
                let dictionary = chunk.dictionary_page_offset();
                assert!(dictionary.is_some_and(|d| d < chunk.data_page_offset()), "{at}");
                assert!(
                    encodings(&our_metadata, group, column).contains(&Encoding::RLE_DICTIONARY)
                );
                let theirs = their_metadata.row_group(group).column(column);
                assert_eq!(chunk.num_values(), theirs.num_values(), "{at}");
                let mut ours = encodings(&our_metadata, group, column);
                let mut theirs = encodings(&their_metadata, group, column);
                ours.sort_by_key(|e| *e as i32);
                theirs.sort_by_key(|e| *e as i32);
                assert_eq!(ours, theirs, "{at}");
            }
        }
        // `history` outgrows its 200-byte dictionary in the second group: its pages after
        // that hold the values themselves.
        let reader =
            SerializedFileReader::new(File::open(dir.path().join("ours.parquet")).unwrap())
                .unwrap();
        let pages = reader.get_row_group(1).unwrap().get_column_page_reader(3).unwrap();
        let history: Vec<_> = pages
            .map(|page| {
                let page = page.unwrap();
                (page.page_type(), page.encoding(), page.num_values())
            })
            .collect();
        assert_eq!(history[0].0, PageType::DICTIONARY_PAGE);
        let data: Vec<_> = history[1..].iter().map(|(_, e, n)| (*e, *n)).collect();
        assert_eq!(data.len(), 10, "{history:?}");
        assert!(data.iter().all(|(_, n)| *n == 10));
        assert_eq!(data[0].0, Encoding::RLE_DICTIONARY);
        assert_eq!(data.last().unwrap().0, Encoding::PLAIN, "fell back: {history:?}");
    }

    #[test]
    fn only_text_columns_without_statistics_wanting_a_dictionary_are_planned() {
        let descr = parquet::arrow::ArrowSchemaConverter::new().convert(&schema()).unwrap();
        let planned = |props: WriterProperties, data_type: DataType| -> bool {
            TextDictionaryChunkWriter::plan(&descr.column(1), &data_type, &props).is_some()
        };
        assert!(planned(props(), DataType::Utf8));
        assert!(!planned(props(), DataType::LargeUtf8));
        let with = || props().into_builder();
        assert!(!planned(
            with().set_statistics_enabled(EnabledStatistics::Chunk).build(),
            DataType::Utf8
        ));
        assert!(!planned(with().set_dictionary_enabled(false).build(), DataType::Utf8));
        assert!(!planned(with().set_compression(Compression::SNAPPY).build(), DataType::Utf8));
        assert!(!planned(
            with().set_writer_version(WriterVersion::PARQUET_1_0).build(),
            DataType::Utf8
        ));
    }

    /// Values that differ only in their later bytes (Zeek histories, states) spread over the
    /// table: on average an entry sits less than one slot from where its hash puts it.
    #[test]
    fn values_alike_but_for_their_last_bytes_do_not_pile_up() {
        let values: Vec<String> = (0..400u32)
            .map(|i| {
                format!("ShADad{}", ["Ff", "fF", "Fr", "r", "Tt"][i as usize % 5]) + &i.to_string()
            })
            .collect();
        let mut dictionary = Dictionary::default();
        for value in &values {
            dictionary.intern(value.as_bytes(), value.as_bytes(), 0);
        }
        let mask = dictionary.slots.len() - 1;
        let displacement: usize = (0..dictionary.slots.len())
            .filter(|slot| dictionary.slots[*slot] != 0)
            .map(|slot| {
                let entry = &dictionary.entries[dictionary.slots[slot] as usize - 1];
                let home = dictionary.home(dictionary.bytes(entry), entry.key);
                slot.wrapping_sub(home) & mask
            })
            .sum();
        let mean = displacement as f64 / values.len() as f64;
        assert!(mean < 1.0, "mean displacement {mean}");
    }

    #[test]
    fn a_value_is_found_again_whatever_its_length_and_distinct_values_stay_apart() {
        let values =
            ["", "a", "a\0", "tcp", "fifteen-bytes!!", "sixteen-bytes!!!", "/a/long/path/x"];
        let data: Vec<u8> = values.concat().into_bytes();
        let mut dictionary = Dictionary::default();
        let mut at = 0;
        let mut first = Vec::new();
        for value in values {
            first.push(dictionary.intern(value.as_bytes(), &data, at));
            at += value.len();
        }
        assert_eq!(first, (0..values.len() as u32).collect::<Vec<_>>());
        // Again, from another buffer, many times over (the table grows past its first size).
        for round in 0..100 {
            let other: Vec<u8> = values.concat().into_bytes();
            let mut at = 0;
            for (i, value) in values.iter().enumerate() {
                assert_eq!(dictionary.intern(value.as_bytes(), &other, at), i as u32, "{value}");
                at += value.len();
            }
            let fresh = format!("value-{round}");
            dictionary.intern(fresh.as_bytes(), fresh.as_bytes(), 0);
        }
        assert_eq!(dictionary.len(), values.len() + 100);
    }
}
