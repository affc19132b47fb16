//! Column chunks of dictionary-encoded values with few distinct values: text (protocols,
//! services, connection states, histories, source files) and fixed-width binary of up to 16
//! bytes (addresses).
//!
//! Parquet's Arrow writer looks every value up in its dictionary through a general hash table:
//! a keyed hash of the bytes, then a byte comparison with the entry found. On a generated
//! 5 M-record conn.log its dictionary columns cost more encoding time than the two address
//! columns. Here a value of up to 16 bytes is its own key (its bytes in one 128-bit number,
//! with a text value's length), hashed with one multiplication and compared without touching
//! the dictionary's bytes; longer text values (file paths) are compared with the previous row
//! first, which in a log is usually the same. The file is the same as parquet's: a PLAIN
//! dictionary page first, then version 2 data pages of bit-packed dictionary indices.
//!
//! Addresses are dictionary-encoded for speed more than size: a row group of connections
//! names a few thousand hosts, and bit-packed indices leave zstd a tenth of the bytes it had
//! to search for matches in when every address was written out (see `import.rs`).
//!
//! When the dictionary outgrows its page size limit, the rest of the chunk is written in
//! PLAIN pages, as parquet's own writer falls back. Only columns without statistics are taken
//! ([`DictionaryChunkWriter::plan`]): the text and address columns of the store keep none.

use arrow_array::{Array, FixedSizeBinaryArray, StringArray};
use arrow_schema::DataType;
use parquet::basic::Encoding;
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnDescPtr;

use crate::chunk_pages::{ChunkPages, ChunkStatistics, OwnChunk, PageSettings, bit_pack};

/// How a column qualifying for [`DictionaryChunkWriter`] is to be written.
#[derive(Clone, Debug)]
pub(crate) struct DictionaryPlan {
    settings: PageSettings,
    values: ValueKind,
    page_rows: usize,
    page_bytes: usize,
    dictionary_bytes: usize,
}

/// What the column's values are, as Arrow holds them and as PLAIN writes them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ValueKind {
    /// `Utf8`; PLAIN puts a 4-byte length before each value.
    Text,
    /// `FixedSizeBinary` of this many bytes, at most 16; PLAIN writes them back to back.
    Fixed(usize),
}

/// The largest fixed width a value's key holds whole.
const MAX_FIXED_WIDTH: usize = 16;

/// One row group's chunk of a dictionary-encoded column, built page by page in memory.
pub(crate) struct DictionaryChunkWriter {
    plan: DictionaryPlan,
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

/// A column's values, as the writer reads them.
enum Values<'a> {
    Text(&'a StringArray),
    Fixed(&'a FixedSizeBinaryArray),
}

impl DictionaryChunkWriter {
    /// The plan for leaf column `descr`, of Arrow type `data_type`, if it is a text or short
    /// fixed-width column the properties want dictionary-encoded, without statistics, and
    /// that this writer can produce as parquet's own would.
    pub(crate) fn plan(
        descr: &ColumnDescPtr,
        data_type: &DataType,
        props: &WriterProperties,
    ) -> Option<DictionaryPlan> {
        let path = descr.path();
        let values = match (descr.physical_type(), data_type) {
            (parquet::basic::Type::BYTE_ARRAY, DataType::Utf8) => ValueKind::Text,
            (parquet::basic::Type::FIXED_LEN_BYTE_ARRAY, DataType::FixedSizeBinary(width))
                if *width == descr.type_length() =>
            {
                let width = usize::try_from(*width).ok()?;
                ValueKind::Fixed(width)
            }
            _ => return None,
        };
        if let ValueKind::Fixed(width) = values
            && !(1..=MAX_FIXED_WIDTH).contains(&width)
        {
            return None;
        }
        let simple = props.dictionary_enabled(path)
            && props.statistics_enabled(path) == EnabledStatistics::None
            && props.encoding(path) == Some(Encoding::PLAIN);
        let settings = PageSettings::for_column(descr, props).filter(|_| simple)?;
        Some(DictionaryPlan {
            settings,
            values,
            page_rows: props.data_page_row_count_limit().max(1),
            page_bytes: props.data_page_size_limit().max(1),
            dictionary_bytes: props.column_dictionary_page_size_limit(path),
        })
    }

    pub(crate) fn new(plan: DictionaryPlan) -> Result<Self> {
        Ok(DictionaryChunkWriter {
            pages: ChunkPages::new(plan.settings.clone())?,
            dictionary: Dictionary::new(plan.values),
            plan,
            fallen_back: false,
            indices: Vec::new(),
            plain: Vec::new(),
            levels: Vec::new(),
            page_rows: 0,
        })
    }

    pub(crate) fn write(&mut self, array: &dyn Array) -> Result<()> {
        let values = match self.plan.values {
            ValueKind::Text => array.as_any().downcast_ref::<StringArray>().map(Values::Text),
            ValueKind::Fixed(width) => array
                .as_any()
                .downcast_ref::<FixedSizeBinaryArray>()
                .filter(|a| a.value_size() == width)
                .map(Values::Fixed),
        };
        let Some(values) = values else {
            return Err(ParquetError::General(format!(
                "column {} expects {}, got {}",
                self.pages.descr().path(),
                match self.plan.values {
                    ValueKind::Text => "text".to_string(),
                    ValueKind::Fixed(width) => format!("{width}-byte values"),
                },
                array.data_type()
            )));
        };
        self.plan.settings.check_nulls(array)?;
        let mut start = 0;
        while start < array.len() {
            let rows = (self.plan.page_rows - self.page_rows).min(array.len() - start);
            let rows = rows.min(SLICE_ROWS);
            self.append(&values, array, start, rows);
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

    fn append(&mut self, values: &Values<'_>, array: &dyn Array, start: usize, rows: usize) {
        let nulls = array.nulls().filter(|n| n.null_count() > 0);
        for row in start..start + rows {
            let present = nulls.is_none_or(|n| n.is_valid(row));
            if self.plan.settings.optional() {
                self.levels.push(present);
            }
            if !present {
                continue;
            }
            let (value, key) = match values {
                Values::Text(array) => {
                    let offsets = array.value_offsets();
                    let (at, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                    let data = array.value_data();
                    (&data[at..end], short_key(&data[at..end], data, at))
                }
                Values::Fixed(array) => {
                    let value = array.value(row);
                    (value, Some(fixed_key(value)))
                }
            };
            if self.fallen_back {
                self.dictionary.values.write_plain(value, &mut self.plain);
            } else {
                let index = self.dictionary.intern(value, key);
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
        self.pages.finish(dictionary, ChunkStatistics::default())
    }
}

impl ValueKind {
    /// Appends `value` as a PLAIN page holds it.
    fn write_plain(self, value: &[u8], out: &mut Vec<u8>) {
        if self == ValueKind::Text {
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(value);
    }
}

/// The dictionary: its entries PLAIN-encoded (as its page holds them), and a table to find
/// them by value.
struct Dictionary {
    values: ValueKind,
    /// Each entry as PLAIN writes it.
    plain: Vec<u8>,
    /// Per entry: where its bytes start in `plain`, its length, and its short key.
    entries: Vec<Entry>,
    /// Open addressing: entry number + 1, or 0 for a free slot; a power of two long.
    slots: Vec<u32>,
    /// The index of the last long value looked up.
    last: Option<u32>,
    /// The last short value's key and index: in a log, a protocol, service or state usually
    /// repeats the row before, and then needs no hashing.
    last_short: Option<(u128, u32)>,
    /// The hash's secret seeds (see [`Dictionary::home`]).
    seeds: [u64; 2],
}

struct Entry {
    start: usize,
    len: usize,
    key: Option<u128>,
}

impl Dictionary {
    fn new(values: ValueKind) -> Self {
        Dictionary {
            values,
            plain: Vec::new(),
            entries: Vec::new(),
            slots: Vec::new(),
            last: None,
            last_short: None,
            seeds: random_seeds(),
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    /// The index of `value` (with its short key, if it has one), added if new.
    fn intern(&mut self, value: &[u8], key: Option<u128>) -> u32 {
        match key {
            Some(key) => {
                if let Some((last, index)) = self.last_short
                    && last == key
                {
                    return index;
                }
            }
            // Long values (file paths) usually repeat the row before.
            None => {
                if let Some(index) = self.last
                    && self.bytes(&self.entries[index as usize]) == value
                {
                    return index;
                }
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
                    self.values.write_plain(value, &mut self.plain);
                    let start = self.plain.len() - value.len();
                    self.entries.push(Entry { start, len: value.len(), key });
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
        match key {
            Some(key) => self.last_short = Some((key, index)),
            None => self.last = Some(index),
        }
        index
    }
    /// Where `value` (with its short key) belongs in the table: the top bits of a hash
    /// keyed with this dictionary's secret seeds. Addresses and text come from logs an
    /// attacker writes into; with a hash anyone could work out, values made to share one
    /// slot would make every lookup walk all of them.
    fn home(&self, value: &[u8], key: Option<u128>) -> usize {
        (self.hash(value, key) >> (64 - self.slots.len().ilog2())) as usize
    }

    fn hash(&self, value: &[u8], key: Option<u128>) -> u64 {
        let [low_seed, high_seed] = self.seeds;
        match key {
            Some(key) => folded_multiply((key as u64) ^ low_seed, ((key >> 64) as u64) ^ high_seed),
            None => value.chunks(8).fold(value.len() as u64 ^ low_seed, |h, word| {
                let mut bytes = [0u8; 8];
                bytes[..word.len()].copy_from_slice(word);
                folded_multiply(h ^ u64::from_le_bytes(bytes), high_seed)
            }),
        }
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

/// A fixed-width value (of one width throughout a column, at most 16 bytes) as one number.
fn fixed_key(value: &[u8]) -> u128 {
    let mut bytes = [0u8; MAX_FIXED_WIDTH];
    bytes[..value.len()].copy_from_slice(value);
    u128::from_le_bytes(bytes)
}

/// A text value of at most 15 bytes as one number: its bytes, zero-padded, and its length in the
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

/// The product of two numbers folded to 64 bits, as foldhash and ahash mix: with one operand
/// secret, inputs that collide cannot be chosen without knowing it.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Secret seeds for one dictionary's hash, from the standard library's random keys.
fn random_seeds() -> [u64; 2] {
    use std::hash::BuildHasher;
    let random = std::hash::RandomState::new();
    [random.hash_one(0u8) | 1, random.hash_one(1u8) | 1]
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, FixedSizeBinaryArray, Int64Array, RecordBatch};
    use arrow_schema::{Field, Schema, SchemaRef};
    use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
    use parquet::basic::{Compression, PageType, ZstdLevel};
    use parquet::file::properties::WriterVersion;
    use parquet::file::reader::FileReader;
    use parquet::file::serialized_reader::SerializedFileReader;
    use parquet::schema::types::ColumnPath;

    use super::*;
    use crate::chunk_pages::compared::{read_back, sorted_encodings, write_both};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("proto", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, true),
            Field::new("history", DataType::Utf8, true),
            Field::new("src", DataType::FixedSizeBinary(16), true),
            Field::new("tag", DataType::FixedSizeBinary(4), false),
        ]))
    }

    /// An IPv4 address as the store holds it (IPv4-mapped IPv6).
    fn address(i: i64) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[10..12].copy_from_slice(&[0xff, 0xff]);
        a[12..].copy_from_slice(&((i * 2_654_435_761) as u32).to_be_bytes());
        a
    }

    /// Rows `from..from + rows`: `proto` of three values; `source` long paths that change
    /// rarely, null from row 30 to 59 (whole pages of nulls, one before any value at a group
    /// start); `history` short values, some empty, every seventh null, and from row 120 on
    /// many distinct ones, to outgrow a small dictionary; `src` addresses of a few hosts, null
    /// from row 20 to 39 and every fifth, and from row 130 on each different (outgrowing its
    /// dictionary too); `tag` four bytes of seven values.
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
        let src: ArrayRef = Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                range.clone().map(|i| match i {
                    _ if (20..40).contains(&i) || i % 5 == 3 => None,
                    _ if i >= 130 => Some(address(1000 + i)),
                    _ => Some(address(i % 11)),
                }),
                16,
            )
            .unwrap(),
        );
        let tag: ArrayRef = Arc::new(
            FixedSizeBinaryArray::try_from_iter(
                range.clone().map(|i| (i as u32 % 7).to_be_bytes()),
            )
            .unwrap(),
        );
        let history: ArrayRef = Arc::new(StringArray::from_iter(range.map(|i| match i {
            _ if i % 7 == 0 => None,
            _ if i % 5 == 0 => Some(String::new()),
            _ if i >= 120 => Some(format!("ShADad{i}")),
            _ => Some(["S", "ShADadFf", "Dd", "ShADadfFr"][(i % 4) as usize].to_string()),
        })));
        RecordBatch::try_new(schema.clone(), vec![ids, proto, source, history, src, tag]).unwrap()
    }

    fn props() -> WriterProperties {
        WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_encoding(Encoding::PLAIN)
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
            .set_statistics_enabled(EnabledStatistics::None)
            .set_data_page_row_count_limit(10)
            .set_column_dictionary_page_size_limit(ColumnPath::from("history"), 200)
            .set_column_dictionary_page_size_limit(ColumnPath::from("src"), 16 * 40)
            .build()
    }

    /// Dictionary-encoded text and fixed-width values written here read back as written, as
    /// parquet's own writer's do, with their dictionary page first, pages of the configured
    /// rows, pages of nulls only, an offset index that lets a reader skip to a row, and a
    /// fallback to PLAIN once the dictionary is full.
    #[test]
    fn dictionary_columns_read_back_as_parquet_would_write_them() {
        let schema = schema();
        let input: Vec<RecordBatch> =
            [(0, 3), (3, 50), (53, 1), (54, 150)].map(|(f, n)| batch(&schema, f, n)).into();
        let dir = tempfile::tempdir().unwrap();
        let (our_path, theirs, written) = write_both(dir.path(), &schema, props, &input, 100);

        let (ours, our_metadata) = read_back(&our_path, &schema, None);
        let (theirs, their_metadata) = read_back(&theirs, &schema, None);
        assert_eq!(ours, written);
        assert_eq!(theirs, written);
        let skip = RowSelection::from(vec![RowSelector::skip(117), RowSelector::select(49)]);
        assert_eq!(read_back(&our_path, &schema, Some(skip)).0, written.slice(117, 49));

        assert_eq!(our_metadata.num_row_groups(), 3);
        for group in 0..3 {
            // Pages of 10 rows, located by the offset index, in every column of ours.
            let rows = our_metadata.row_group(group).num_rows();
            for pages in &our_metadata.offset_index().unwrap()[group][1..6] {
                let starts: Vec<i64> =
                    pages.page_locations.iter().map(|p| p.first_row_index).collect();
                assert_eq!(starts, (0..rows).step_by(10).collect::<Vec<_>>());
            }
            for column in 1..6 {
                let at = format!("group {group} column {column}");
                let chunk = our_metadata.row_group(group).column(column);
                let dictionary = chunk.dictionary_page_offset();
                assert!(dictionary.is_some_and(|d| d < chunk.data_page_offset()), "{at}");
                assert!(sorted_encodings(chunk).contains(&Encoding::RLE_DICTIONARY), "{at}");
                let theirs = their_metadata.row_group(group).column(column);
                assert_eq!(chunk.num_values(), theirs.num_values(), "{at}");
                assert_eq!(sorted_encodings(chunk), sorted_encodings(theirs), "{at}");
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
        // So does `src`, whose addresses all differ from row 130 on.
        let pages = reader.get_row_group(1).unwrap().get_column_page_reader(4).unwrap();
        let src: Vec<_> = pages.map(|page| page.unwrap().encoding()).collect();
        assert_eq!(src[1], Encoding::RLE_DICTIONARY);
        assert_eq!(*src.last().unwrap(), Encoding::PLAIN, "fell back: {src:?}");
    }

    #[test]
    fn only_columns_without_statistics_wanting_a_dictionary_are_planned() {
        let descr = parquet::arrow::ArrowSchemaConverter::new().convert(&schema()).unwrap();
        let planned = |props: WriterProperties, data_type: DataType| -> bool {
            DictionaryChunkWriter::plan(&descr.column(1), &data_type, &props).is_some()
        };
        assert!(planned(props(), DataType::Utf8));
        assert!(!planned(props(), DataType::LargeUtf8));
        for (column, width) in [(4, 16), (5, 4)] {
            let data_type = DataType::FixedSizeBinary(width);
            assert!(
                DictionaryChunkWriter::plan(&descr.column(column), &data_type, &props()).is_some()
            );
            let other = DataType::FixedSizeBinary(width + 1);
            assert!(DictionaryChunkWriter::plan(&descr.column(column), &other, &props()).is_none());
        }
        // Wider values than a key holds, and set items, keep parquet's writer.
        let wide = Schema::new(vec![
            Field::new("digest", DataType::FixedSizeBinary(20), false),
            Field::new(
                "hosts",
                DataType::List(Arc::new(Field::new("item", DataType::FixedSizeBinary(16), true))),
                true,
            ),
        ]);
        let wide_descr = parquet::arrow::ArrowSchemaConverter::new().convert(&wide).unwrap();
        let digest = DataType::FixedSizeBinary(20);
        assert!(DictionaryChunkWriter::plan(&wide_descr.column(0), &digest, &props()).is_none());
        let item = DataType::FixedSizeBinary(16);
        assert!(DictionaryChunkWriter::plan(&wide_descr.column(1), &item, &props()).is_none());
        let bloom = props().into_builder().set_column_bloom_filter_enabled("src".into(), true);
        let address = DataType::FixedSizeBinary(16);
        assert!(DictionaryChunkWriter::plan(&descr.column(4), &address, &bloom.build()).is_none());
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
        let mut dictionary = Dictionary::new(ValueKind::Text);
        for value in &values {
            dictionary.intern(value.as_bytes(), short_key(value.as_bytes(), value.as_bytes(), 0));
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

    /// The hash is keyed with seeds of each dictionary's own: values someone chose to share a
    /// slot under one dictionary's hash are spread under another's.
    #[test]
    fn each_dictionary_hashes_with_its_own_secret_seeds() {
        let (one, other) =
            (Dictionary::new(ValueKind::Fixed(16)), Dictionary::new(ValueKind::Fixed(16)));
        assert_ne!(one.seeds, other.seeds);
        let key = |i: u32| fixed_key(&[&[0u8; 10][..], &[0xff, 0xff], &i.to_be_bytes()].concat());
        let hashes =
            |d: &Dictionary| (0..64).map(|i| d.hash(&[], Some(key(i)))).collect::<Vec<_>>();
        assert_ne!(hashes(&one), hashes(&other));
    }

    #[test]
    fn a_value_is_found_again_whatever_its_length_and_distinct_values_stay_apart() {
        let values =
            ["", "a", "a\0", "tcp", "fifteen-bytes!!", "sixteen-bytes!!!", "/a/long/path/x"];
        let data: Vec<u8> = values.concat().into_bytes();
        let mut dictionary = Dictionary::new(ValueKind::Text);
        let mut at = 0;
        let mut first = Vec::new();
        for value in values {
            first.push(dictionary.intern(value.as_bytes(), short_key(value.as_bytes(), &data, at)));
            at += value.len();
        }
        assert_eq!(first, (0..values.len() as u32).collect::<Vec<_>>());
        // Again, from another buffer, many times over (the table grows past its first size).
        for round in 0..100 {
            let other: Vec<u8> = values.concat().into_bytes();
            let mut at = 0;
            for (i, value) in values.iter().enumerate() {
                let key = short_key(value.as_bytes(), &other, at);
                assert_eq!(dictionary.intern(value.as_bytes(), key), i as u32, "{value}");
                at += value.len();
            }
            let fresh = format!("value-{round}");
            dictionary.intern(fresh.as_bytes(), short_key(fresh.as_bytes(), fresh.as_bytes(), 0));
        }
        assert_eq!(dictionary.len(), values.len() + 100);
    }

    #[test]
    fn nulls_in_a_required_column_or_values_of_another_kind_are_errors() {
        let descr = parquet::arrow::ArrowSchemaConverter::new().convert(&schema()).unwrap();
        let plan = |i: usize| {
            let data_type = schema().field(i).data_type().clone();
            DictionaryChunkWriter::plan(&descr.column(i), &data_type, &props()).unwrap()
        };
        let with_null = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            [Some([1u8; 4]), None].into_iter(),
            4,
        )
        .unwrap();
        let mut tag = DictionaryChunkWriter::new(plan(5)).unwrap();
        assert!(tag.write(&with_null).unwrap_err().to_string().contains("required"));
        let mut src = DictionaryChunkWriter::new(plan(4)).unwrap();
        assert!(src.write(&with_null).unwrap_err().to_string().contains("16-byte"));
        let mut proto = DictionaryChunkWriter::new(plan(1)).unwrap();
        assert!(proto.write(&with_null).unwrap_err().to_string().contains("text"));
    }
}
