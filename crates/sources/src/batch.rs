//! Typed values of one record, and the Arrow builders that collect records into batches of a
//! log type's fixed schema.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, FixedSizeBinaryBuilder, Float64Builder, Int64Builder, ListBuilder, MapBuilder,
    StringBuilder, TimestampMicrosecondBuilder, UInt16Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use lasthop_normalise::{ColumnKind, IP_WIDTH, LogType, columns, schema};

/// One parsed field value. Strings borrow from the input line when no unescaping was needed.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    /// Microseconds since the epoch.
    Time(i64),
    Port(u16),
    Count(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Addr([u8; 16]),
    StrList(Vec<Cow<'a, str>>),
    AddrList(Vec<[u8; 16]>),
    FloatList(Vec<f64>),
}

/// A field value with no heap part, as most columns hold: readers append these without
/// building a [`Value`] (whose drop glue alone was a twentieth of a Zeek TSV import).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Time(i64),
    Port(u16),
    Count(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Addr([u8; 16]),
}

impl From<Scalar> for Value<'_> {
    fn from(scalar: Scalar) -> Self {
        match scalar {
            Scalar::Time(t) => Value::Time(t),
            Scalar::Port(p) => Value::Port(p),
            Scalar::Count(c) => Value::Count(c),
            Scalar::Int(i) => Value::Int(i),
            Scalar::Float(f) => Value::Float(f),
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Addr(a) => Value::Addr(a),
        }
    }
}

impl Value<'_> {
    fn scalar(&self) -> Option<Scalar> {
        Some(match self {
            Value::Time(t) => Scalar::Time(*t),
            Value::Port(p) => Scalar::Port(*p),
            Value::Count(c) => Scalar::Count(*c),
            Value::Int(i) => Scalar::Int(*i),
            Value::Float(f) => Scalar::Float(*f),
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Addr(a) => Scalar::Addr(*a),
            _ => return None,
        })
    }
}

/// A field beyond the fixed schema, as name and text (`None` when unset).
pub type Extra<'a> = (Cow<'a, str>, Option<Cow<'a, str>>);

/// A record being assembled: one slot per schema column plus the extra fields.
pub struct Row<'a> {
    pub values: Vec<Value<'a>>,
    pub extras: Vec<Extra<'a>>,
}

impl<'a> Row<'a> {
    pub fn new(log_type: LogType) -> Row<'a> {
        Row { values: vec![Value::Null; columns(log_type).len()], extras: Vec::new() }
    }

    pub fn clear(&mut self) {
        self.values.iter_mut().for_each(|v| *v = Value::Null);
        self.extras.clear();
    }

    /// The record's identity hash: `ts` plus the log type's identity fields, so that the same
    /// record read from TSV or JSON, from a live log or its rotated copy, hashes the same.
    pub fn identity_key(&self, log_type: LogType) -> u64 {
        identity_key(log_type, identity_columns(log_type).iter().map(|i| &self.values[*i]))
    }
}

/// Hashes the identity values of a record, given in schema order.
pub fn identity_key<'v, 'a: 'v>(
    log_type: LogType,
    values: impl IntoIterator<Item = &'v Value<'a>>,
) -> u64 {
    let mut h = IdentityHasher::new(log_type);
    for value in values {
        h.add(value);
    }
    h.finish()
}

/// A record's identity hash built value by value, for readers that see a record's identity
/// columns one at a time (a chunk filled column by column); the same hash as [`identity_key`].
#[derive(Clone)]
pub struct IdentityHasher(Fnv);

impl IdentityHasher {
    pub fn new(log_type: LogType) -> IdentityHasher {
        let mut h = Fnv::new();
        h.write(log_type.name().as_bytes());
        IdentityHasher(h)
    }

    /// Adds the next identity value, in schema order.
    pub fn add(&mut self, value: &Value<'_>) {
        let h = &mut self.0;
        h.write(&[0xff]);
        match value {
            Value::Null => h.write(b"\0null"),
            Value::Str(s) => h.write(s.as_bytes()),
            Value::Time(t) | Value::Int(t) => h.write(&t.to_le_bytes()),
            Value::Count(c) => h.write(&c.to_le_bytes()),
            Value::Port(p) => h.write(&p.to_le_bytes()),
            other => h.write(format!("{other:?}").as_bytes()),
        }
    }

    pub fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// The columns a record's identity is hashed from, in schema order: `ts` and the type's
/// identity fields.
pub fn identity_columns(log_type: LogType) -> Vec<usize> {
    columns(log_type)
        .iter()
        .enumerate()
        .filter(|(_, c)| c.zeek == "ts" || log_type.identity_fields().contains(&c.zeek))
        .map(|(i, _)| i)
        .collect()
}

/// FNV-1a with a final avalanche: stable across releases and platforms, which a stored key must be.
#[derive(Clone)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

enum ColumnBuilder {
    Time(TimestampMicrosecondBuilder),
    Str(StringBuilder),
    Addr(FixedSizeBinaryBuilder),
    Port(UInt16Builder),
    Count(UInt64Builder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    StrList(ListBuilder<StringBuilder>),
    AddrList(ListBuilder<FixedSizeBinaryBuilder>),
    FloatList(ListBuilder<Float64Builder>),
}

impl ColumnBuilder {
    /// `text_bytes`: room for a text column's characters (see [`TextSizes`]).
    fn new(kind: ColumnKind, capacity: usize, text_bytes: usize) -> ColumnBuilder {
        match kind {
            ColumnKind::Time => ColumnBuilder::Time(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
            ColumnKind::Str => {
                ColumnBuilder::Str(StringBuilder::with_capacity(capacity, text_bytes))
            }
            ColumnKind::Addr => {
                ColumnBuilder::Addr(FixedSizeBinaryBuilder::with_capacity(capacity, IP_WIDTH))
            }
            ColumnKind::Port => ColumnBuilder::Port(UInt16Builder::with_capacity(capacity)),
            ColumnKind::Count => ColumnBuilder::Count(UInt64Builder::with_capacity(capacity)),
            ColumnKind::Int => ColumnBuilder::Int(Int64Builder::with_capacity(capacity)),
            ColumnKind::Interval | ColumnKind::Double => {
                ColumnBuilder::Float(Float64Builder::with_capacity(capacity))
            }
            ColumnKind::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            ColumnKind::StrList => ColumnBuilder::StrList(ListBuilder::new(StringBuilder::new())),
            ColumnKind::AddrList => {
                ColumnBuilder::AddrList(ListBuilder::new(FixedSizeBinaryBuilder::new(IP_WIDTH)))
            }
            ColumnKind::IntervalList => {
                ColumnBuilder::FloatList(ListBuilder::new(Float64Builder::new()))
            }
        }
    }

    /// Appends a value, a set or vector cut to `max_items`; the parsers only produce values of
    /// the column's kind, so a mismatch is a bug and is stored as null rather than trusted.
    fn append(&mut self, value: &Value<'_>, max_items: usize) {
        if let Some(scalar) = value.scalar() {
            return self.append_scalar(scalar);
        }
        match (self, value) {
            (ColumnBuilder::Str(b), Value::Str(s)) => b.append_value(s),
            (ColumnBuilder::StrList(b), Value::StrList(items)) => {
                for item in items.iter().take(max_items) {
                    b.values().append_value(item);
                }
                b.append(true);
            }
            (ColumnBuilder::AddrList(b), Value::AddrList(items)) => {
                for item in items.iter().take(max_items) {
                    b.values().append_value(item).expect("addresses are 16 bytes");
                }
                b.append(true);
            }
            (ColumnBuilder::FloatList(b), Value::FloatList(items)) => {
                for item in items.iter().take(max_items) {
                    b.values().append_value(*item);
                }
                b.append(true);
            }
            (builder, _) => builder.append_null(),
        }
    }

    #[inline]
    fn append_scalar(&mut self, value: Scalar) {
        match (self, value) {
            (ColumnBuilder::Time(b), Scalar::Time(t)) => b.append_value(t),
            (ColumnBuilder::Addr(b), Scalar::Addr(a)) => {
                b.append_value(a).expect("addresses are 16 bytes")
            }
            (ColumnBuilder::Port(b), Scalar::Port(p)) => b.append_value(p),
            (ColumnBuilder::Count(b), Scalar::Count(c)) => b.append_value(c),
            (ColumnBuilder::Int(b), Scalar::Int(i)) => b.append_value(i),
            (ColumnBuilder::Float(b), Scalar::Float(f)) => b.append_value(f),
            (ColumnBuilder::Bool(b), Scalar::Bool(v)) => b.append_value(v),
            (builder, _) => builder.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Time(b) => b.append_null(),
            ColumnBuilder::Str(b) => b.append_null(),
            ColumnBuilder::Addr(b) => b.append_null(),
            ColumnBuilder::Port(b) => b.append_null(),
            ColumnBuilder::Count(b) => b.append_null(),
            ColumnBuilder::Int(b) => b.append_null(),
            ColumnBuilder::Float(b) => b.append_null(),
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::StrList(b) => b.append(false),
            ColumnBuilder::AddrList(b) => b.append(false),
            ColumnBuilder::FloatList(b) => b.append(false),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Time(b) => Arc::new(b.finish()),
            ColumnBuilder::Str(b) => Arc::new(b.finish()),
            ColumnBuilder::Addr(b) => Arc::new(b.finish()),
            ColumnBuilder::Port(b) => Arc::new(b.finish()),
            ColumnBuilder::Count(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::StrList(b) => Arc::new(b.finish()),
            ColumnBuilder::AddrList(b) => Arc::new(b.finish()),
            ColumnBuilder::FloatList(b) => Arc::new(b.finish()),
        }
    }
}

/// One column's Arrow builder (see [`BatchBuilder::column_sink`]).
pub enum ColumnSink<'b> {
    Time(&'b mut TimestampMicrosecondBuilder),
    Str(&'b mut StringBuilder),
    Addr(&'b mut FixedSizeBinaryBuilder),
    Port(&'b mut UInt16Builder),
    Count(&'b mut UInt64Builder),
    Int(&'b mut Int64Builder),
    Float(&'b mut Float64Builder),
    Bool(&'b mut BooleanBuilder),
    /// Sets and vectors, whose items the limits may cut: appended value by value with
    /// [`BatchBuilder::append_field_of_line`].
    List,
}

/// Bounds on one record, so that a crafted line within the line-length limit cannot make one
/// record enormous: what is over them is dropped and the record kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLimits {
    /// Fields beyond the log type's schema (kept in the `extra` map).
    pub max_extra_fields: usize,
    /// Items of one set or vector field.
    pub max_set_items: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        RecordLimits { max_extra_fields: 1024, max_set_items: 10_000 }
    }
}

/// Characters per row of each text field (indexed as the schema: the log type's, `_extra`,
/// `_source`) in the last batch
/// this thread built of a log type, so that the next one's builders start with room for them.
///
/// Text builders start with a fixed guess and double when it is outgrown, copying what they
/// hold each time; with row identifiers three times the guess and a file path on every row,
/// those copies were 1.6 % of a generated 5 M-record conn.log import.
#[derive(Clone, Default)]
struct TextSizes(Vec<usize>);

thread_local! {
    static TEXT_SIZES: std::cell::RefCell<Vec<(LogType, TextSizes)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl TextSizes {
    /// A first guess, for a column not seen yet, of characters a row.
    const GUESS: usize = 8;

    fn learned(log_type: LogType) -> TextSizes {
        TEXT_SIZES.with_borrow(|known| {
            known.iter().find(|(t, _)| *t == log_type).map(|(_, s)| s.clone()).unwrap_or_default()
        })
    }

    /// Most room reserved for one column: a batch with a few rows and one huge value (a
    /// multi-megabyte field) must not make the next batch ask for gigabytes. A chunk of the
    /// reader is 4 MiB, so no column of a batch holds more text than this but `_source`, which
    /// grows as before when it needs to.
    const MOST: usize = 8 << 20;

    /// Bytes to reserve for text `field` of a batch of `rows` rows.
    fn reserve(&self, rows: usize, field: usize) -> usize {
        let per_row = self.0.get(field).copied().filter(|n| *n > 0).unwrap_or(Self::GUESS);
        rows.saturating_mul(per_row).min(Self::MOST)
    }

    /// Learns from `arrays` (a batch's fields, in schema order) of `rows` rows. A little room
    /// is added, so that a batch slightly wordier than the last one still fits.
    fn learn(log_type: LogType, arrays: &[ArrayRef], rows: usize) {
        if rows == 0 {
            return;
        }
        let sizes = arrays
            .iter()
            .map(|a| match a.as_any().downcast_ref::<arrow_array::StringArray>() {
                Some(text) => (text.values().len() * 9 / 8).div_ceil(rows),
                None => 0,
            })
            .collect();
        TEXT_SIZES.with_borrow_mut(|known| match known.iter_mut().find(|(t, _)| *t == log_type) {
            Some((_, learned)) => learned.0 = sizes,
            None => known.push((log_type, TextSizes(sizes))),
        });
    }
}

/// Collects rows of one log type into a [`RecordBatch`] of its fixed schema.
pub struct BatchBuilder {
    log_type: LogType,
    limits: RecordLimits,
    /// What the row being built lost to the limits, and then (line, detail) per such row.
    row_trimmed: Option<String>,
    trimmed: Vec<(u64, String)>,
    columns: Vec<ColumnBuilder>,
    extra: MapBuilder<StringBuilder, StringBuilder>,
    source: StringBuilder,
    line: UInt64Builder,
    key: UInt64Builder,
    identity: Vec<usize>,
    rows: usize,
    /// Per schema field (the log type's columns, then `_extra`, `_source`, `_line`, `_key`),
    /// whether a reader must fill it; `None`: all. See [`BatchBuilder::with_projection`].
    wanted: Option<Arc<[bool]>>,
}

impl BatchBuilder {
    pub fn new(log_type: LogType, capacity: usize) -> BatchBuilder {
        BatchBuilder::with_limits(log_type, capacity, RecordLimits::default())
    }

    pub fn with_limits(log_type: LogType, capacity: usize, limits: RecordLimits) -> BatchBuilder {
        let text = TextSizes::learned(log_type);
        let text_bytes = |field: usize| text.reserve(capacity, field);
        BatchBuilder {
            log_type,
            limits,
            row_trimmed: None,
            trimmed: Vec::new(),
            columns: columns(log_type)
                .iter()
                .enumerate()
                .map(|(i, c)| ColumnBuilder::new(c.kind, capacity, text_bytes(i)))
                .collect(),
            extra: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
            // `_source` follows the log type's fields and `_extra`.
            source: StringBuilder::with_capacity(capacity, text_bytes(columns(log_type).len() + 1)),
            line: UInt64Builder::with_capacity(capacity),
            key: UInt64Builder::with_capacity(capacity),
            identity: identity_columns(log_type),
            rows: 0,
            wanted: None,
        }
    }

    /// Fills only the schema fields `wanted` marks (indexed as the log type's schema), for a
    /// query that reads a few columns straight from the logs: readers that convert column by
    /// column then skip the conversions, the identity hash and the source name nobody will
    /// look at, and may leave those columns unfilled. The batch holds the wanted fields only,
    /// in schema order.
    pub fn with_projection(mut self, wanted: Option<Arc<[bool]>>) -> BatchBuilder {
        self.wanted = wanted;
        self
    }

    /// Whether schema field `field` is to be filled (see [`BatchBuilder::with_projection`]).
    pub fn wants(&self, field: usize) -> bool {
        self.wanted.as_ref().is_none_or(|w| w.get(field).copied().unwrap_or(true))
    }

    /// Whether the identity key (`_key`) is to be computed.
    pub fn wants_key(&self) -> bool {
        self.wants(self.columns.len() + 3)
    }

    /// Whether the extra fields (`_extra`) are to be kept.
    pub fn wants_extras(&self) -> bool {
        self.wants(self.columns.len())
    }

    pub fn log_type(&self) -> LogType {
        self.log_type
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn append(&mut self, row: &Row<'_>, source: &str, line: u64) {
        for column in 0..self.columns.len() {
            self.append_field(column, &row.values[column]);
        }
        let key = identity_key(self.log_type, self.identity.iter().map(|i| &row.values[*i]));
        self.end_row(&row.extras, source, line, key);
    }

    /// Appends one value of the row being built, column by column (in any order, each column
    /// once), for readers that convert straight into the builders. [`BatchBuilder::end_row`]
    /// completes the row.
    pub fn append_field(&mut self, column: usize, value: &Value<'_>) {
        let items = match value {
            Value::StrList(items) => items.len(),
            Value::AddrList(items) => items.len(),
            Value::FloatList(items) => items.len(),
            _ => 0,
        };
        let max = self.limits.max_set_items;
        if items > max {
            self.row_trimmed = Some(format!(
                "{}: {items} set items, kept {max}",
                columns(self.log_type)[column].zeek
            ));
        }
        self.columns[column].append(value, max);
    }

    /// Appends a value of the record on `line` whose other columns may not be appended yet
    /// (a chunk filled column by column): a set cut to the limit is reported against `line`
    /// rather than the row being built.
    pub fn append_field_of_line(&mut self, column: usize, value: &Value<'_>, line: u64) {
        self.append_field(column, value);
        if let Some(detail) = self.row_trimmed.take() {
            self.trimmed.push((line, detail));
        }
    }

    /// The Arrow builder of one column, for readers that fill a chunk column by column with
    /// one typed loop each; every column must then reach the same length before the rows are
    /// completed with [`BatchBuilder::end_row`].
    pub fn column_sink(&mut self, column: usize) -> ColumnSink<'_> {
        match &mut self.columns[column] {
            ColumnBuilder::Time(b) => ColumnSink::Time(b),
            ColumnBuilder::Str(b) => ColumnSink::Str(b),
            ColumnBuilder::Addr(b) => ColumnSink::Addr(b),
            ColumnBuilder::Port(b) => ColumnSink::Port(b),
            ColumnBuilder::Count(b) => ColumnSink::Count(b),
            ColumnBuilder::Int(b) => ColumnSink::Int(b),
            ColumnBuilder::Float(b) => ColumnSink::Float(b),
            ColumnBuilder::Bool(b) => ColumnSink::Bool(b),
            ColumnBuilder::StrList(_)
            | ColumnBuilder::AddrList(_)
            | ColumnBuilder::FloatList(_) => ColumnSink::List,
        }
    }

    /// The rows that lost something to the limits since the last call: (line, what).
    pub fn take_trimmed(&mut self) -> Vec<(u64, String)> {
        std::mem::take(&mut self.trimmed)
    }

    pub fn append_null_field(&mut self, column: usize) {
        self.columns[column].append_null();
    }

    /// Appends an empty set to a set column; `false` (and nothing appended) for a column of
    /// another kind.
    pub fn append_empty_set(&mut self, column: usize) -> bool {
        match &mut self.columns[column] {
            ColumnBuilder::StrList(b) => b.append(true),
            ColumnBuilder::AddrList(b) => b.append(true),
            ColumnBuilder::FloatList(b) => b.append(true),
            _ => return false,
        }
        true
    }

    /// Appends `n` nulls to one column (see [`BatchBuilder::column_sink`]).
    pub fn append_null_fields(&mut self, column: usize, n: usize) {
        match &mut self.columns[column] {
            ColumnBuilder::Time(b) => b.append_nulls(n),
            ColumnBuilder::Str(b) => b.append_nulls(n),
            ColumnBuilder::Addr(b) => b.append_nulls(n),
            ColumnBuilder::Port(b) => b.append_nulls(n),
            ColumnBuilder::Count(b) => b.append_nulls(n),
            ColumnBuilder::Int(b) => b.append_nulls(n),
            ColumnBuilder::Float(b) => b.append_nulls(n),
            ColumnBuilder::Bool(b) => b.append_nulls(n),
            ColumnBuilder::StrList(b) => b.append_nulls(n),
            ColumnBuilder::AddrList(b) => b.append_nulls(n),
            ColumnBuilder::FloatList(b) => b.append_nulls(n),
        }
    }

    /// Completes rows that have no extra fields, one per (line, identity key), whose every
    /// column has had its values appended (see [`BatchBuilder::end_row`]).
    pub fn end_rows_without_extras(&mut self, source: &str, lines: &[u64], keys: &[u64]) {
        self.extra.append_nulls(lines.len()).expect("map builder keys and values stay aligned");
        // Left unfilled when unwanted (`finish` drops it).
        if self.wants(self.columns.len() + 1) {
            for _ in lines {
                self.source.append_value(source);
            }
        }
        self.line.append_slice(lines);
        self.key.append_slice(keys);
        self.rows += lines.len();
    }

    /// Completes a row whose every column has had one value appended.
    pub fn end_row(&mut self, extras: &[Extra<'_>], source: &str, line: u64, key: u64) {
        let max = self.limits.max_extra_fields;
        if extras.len() > max {
            self.row_trimmed = Some(format!("{} extra fields, kept {max}", extras.len()));
        }
        if let Some(detail) = self.row_trimmed.take() {
            self.trimmed.push((line, detail));
        }
        let extras = &extras[..extras.len().min(max)];
        if extras.is_empty() {
            self.extra.append(false).expect("map builder keys and values stay aligned");
        } else {
            for (k, v) in extras {
                self.extra.keys().append_value(k);
                self.extra.values().append_option(v.as_deref());
            }
            self.extra.append(true).expect("map builder keys and values stay aligned");
        }
        self.source.append_value(source);
        self.line.append_value(line);
        self.key.append_value(key);
        self.rows += 1;
    }

    pub fn finish(&mut self) -> RecordBatch {
        let schema = schema(self.log_type);
        let mut arrays: Vec<ArrayRef> =
            self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        let extra: ArrayRef = Arc::new(self.extra.finish());
        arrays.push(extra);
        arrays.push(Arc::new(self.source.finish()));
        TextSizes::learn(self.log_type, &arrays, self.rows);
        arrays.push(Arc::new(self.line.finish()));
        arrays.push(Arc::new(self.key.finish()));
        let rows = std::mem::take(&mut self.rows);
        let Some(wanted) = &self.wanted else {
            return RecordBatch::try_new(schema, arrays).expect("builders follow the schema");
        };
        // Unwanted columns may have been left unfilled: only the wanted ones are kept.
        let kept: Vec<usize> = (0..arrays.len()).filter(|&i| wanted[i]).collect();
        let schema = Arc::new(schema.project(&kept).expect("kept fields are in the schema"));
        let arrays = kept.iter().map(|&i| arrays[i].clone()).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(schema, arrays, &options)
            .expect("builders follow the schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch whose one row held a huge value does not make the next reserve gigabytes.
    #[test]
    fn text_room_follows_the_last_batch_within_a_bound() {
        let sizes = TextSizes(vec![20, 0, 10 << 20]);
        assert_eq!(sizes.reserve(1000, 0), 20_000);
        assert_eq!(sizes.reserve(1000, 1), 1000 * TextSizes::GUESS);
        assert_eq!(sizes.reserve(65_536, 2), TextSizes::MOST);
        assert_eq!(sizes.reserve(usize::MAX, 0), TextSizes::MOST);
    }

    #[test]
    fn builds_a_batch_of_the_fixed_schema() {
        let mut b = BatchBuilder::new(LogType::Conn, 4);
        let mut row = Row::new(LogType::Conn);
        row.values[0] = Value::Time(1_700_000_000_000_000);
        row.values[1] = Value::Str("C1".into());
        row.extras.push(("_node_name".into(), Some("worker-1".into())));
        b.append(&row, "conn.log", 9);
        row.clear();
        row.values[0] = Value::Time(1_700_000_001_000_000);
        b.append(&row, "conn.log", 10);
        let batch = b.finish();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), schema(LogType::Conn));
        assert!(b.is_empty());
    }

    #[test]
    fn identity_key_depends_on_identity_fields_only() {
        let mut a = Row::new(LogType::Conn);
        a.values[0] = Value::Time(5);
        a.values[1] = Value::Str("C1".into());
        let mut b = Row::new(LogType::Conn);
        b.values[0] = Value::Time(5);
        b.values[1] = Value::Str("C1".into());
        b.values[6] = Value::Str("tcp".into());
        b.extras.push(("_node_name".into(), None));
        assert_eq!(a.identity_key(LogType::Conn), b.identity_key(LogType::Conn));
        b.values[1] = Value::Str("C2".into());
        assert_ne!(a.identity_key(LogType::Conn), b.identity_key(LogType::Conn));
    }
}
