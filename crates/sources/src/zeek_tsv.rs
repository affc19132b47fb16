//! Zeek's ASCII (TSV) log format: `#`-headers that set the separators and name the fields, then
//! one record per line. A file may hold several header blocks (a restarted logger appends).

use std::borrow::Cow;

use lasthop_normalise::{ColumnKind, LogType, columns, parse_ip};

use arrow_array::ArrowPrimitiveType;
use arrow_array::builder::PrimitiveBuilder;

use crate::batch::{
    BatchBuilder, ColumnSink, Extra, IdentityHasher, Scalar, Value, identity_columns,
};
use crate::diagnostics::Reason;
use crate::values::{
    parse_count, parse_float, parse_int, parse_port, parse_time, unescape, unescape_header,
};

/// Where one `#fields` entry goes.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Column(usize),
    Extra(String),
}

/// How the fields of a block's lines map onto its log type's schema.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    log_type: LogType,
    /// Where each field goes, in line order.
    targets: Vec<Target>,
    /// Per schema column, the field that fills it (`None`: null in every record of the block).
    field_of_column: Vec<Option<usize>>,
    /// Per schema column, whether it is part of the record's identity.
    in_identity: Vec<bool>,
    /// The field holding `ts`.
    ts_field: Option<usize>,
    has_extras: bool,
}

/// Lines whose fields are cut and then converted column by column together: their fields
/// (16 bytes each, 22 a conn line) fit in a core's private cache.
const LINES_PER_BLOCK: usize = 256;

/// What [`TsvHeader::append_lines`] found wrong, a line at a time: (line, reason, detail).
pub type LineIssues = Vec<(u64, Reason, String)>;

/// The state the header lines of a block set up.
#[derive(Debug, Clone, PartialEq)]
pub struct TsvHeader {
    separator: String,
    set_separator: String,
    empty_field: String,
    unset_field: String,
    path: Option<String>,
    fields: Vec<String>,
    /// Resolved once `#fields` is known: the type and where each field goes. `Err` names a log
    /// type lasthop does not store.
    resolved: Option<Result<Layout, String>>,
}

impl Default for TsvHeader {
    fn default() -> Self {
        TsvHeader {
            separator: "\t".into(),
            set_separator: ",".into(),
            empty_field: "(empty)".into(),
            unset_field: "-".into(),
            path: None,
            fields: Vec::new(),
            resolved: None,
        }
    }
}

impl TsvHeader {
    /// Applies one `#` line. `file_type` is what the file name says, used when no `#path` does.
    pub fn apply(&mut self, line: &str, file_name_type: Option<&str>) -> Result<(), String> {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(value) = line.strip_prefix("#separator") {
            // The separator line always uses a space, since the separator is not yet known.
            let value = value.trim_start_matches([' ', '\t']);
            // Zeek writes `\x09`; hand-edited files (RITA's dnscat2 capture) say `\t`.
            let value = if value == "\\t" { "\t".into() } else { unescape_header(value) };
            if value.is_empty() {
                return Err("empty #separator".into());
            }
            *self = TsvHeader { separator: value.into_owned(), ..TsvHeader::default() };
            return Ok(());
        }
        let mut parts = line.splitn(2, self.separator.as_str());
        let key = parts.next().unwrap_or("");
        let value = parts.next().unwrap_or("");
        match key {
            "#set_separator" => self.set_separator = unescape_header(value).into_owned(),
            "#empty_field" => self.empty_field = unescape_header(value).into_owned(),
            "#unset_field" => self.unset_field = unescape_header(value).into_owned(),
            "#path" => {
                self.path = Some(value.to_string());
                self.resolved = None;
            }
            "#fields" => {
                self.fields = value.split(self.separator.as_str()).map(str::to_string).collect();
                self.resolved = Some(self.resolve(file_name_type));
            }
            // #open, #close, #types and comments carry nothing the reader needs: values are
            // typed by the fixed schema, and a disagreeing value is reported where it occurs.
            _ => {}
        }
        Ok(())
    }

    fn resolve(&self, file_name_type: Option<&str>) -> Result<Layout, String> {
        let name = self.path.as_deref().or(file_name_type).unwrap_or("unknown");
        let log_type = LogType::from_path(name).ok_or_else(|| name.to_string())?;
        let cols = columns(log_type);
        let mut field_of_column = vec![None; cols.len()];
        let targets: Vec<Target> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| match cols.iter().position(|c| c.zeek == f) {
                // A field named twice fills its column once; the repeat is kept as an extra.
                Some(c) if field_of_column[c].is_none() => {
                    field_of_column[c] = Some(i);
                    Target::Column(c)
                }
                _ => Target::Extra(f.clone()),
            })
            .collect();
        let identity = identity_columns(log_type);
        Ok(Layout {
            log_type,
            ts_field: field_of_column[0],
            has_extras: targets.iter().any(|t| matches!(t, Target::Extra(_))),
            in_identity: (0..cols.len()).map(|c| identity.contains(&c)).collect(),
            field_of_column,
            targets,
        })
    }

    /// The log type of the current block: `None` before any `#fields`, `Some(Err(name))` for a
    /// type lasthop does not store.
    pub fn log_type(&self) -> Option<Result<LogType, &str>> {
        self.resolved.as_ref().map(|r| match r {
            Ok(layout) => Ok(layout.log_type),
            Err(name) => Err(name.as_str()),
        })
    }

    /// Converts data lines (line number, text) into `builder`, which must be for this block's
    /// log type. A line whose field count is wrong or whose `ts` is not a time is rejected and
    /// leaves nothing behind; a field that does not fit its type is stored as null and the
    /// record kept. Both are added to `issues`, in line order.
    ///
    /// The lines are cut into fields first, then each column is filled in one loop of its own
    /// type: per value, that spares the dispatch on the field's target and kind that a
    /// line-at-a-time reader pays (measured: as much as the conversions themselves). That is
    /// done a few hundred lines at a time, so that the fields cut from them stay in the cache
    /// until their columns are filled.
    pub fn append_lines(
        &self,
        lines: &[(u64, &str)],
        builder: &mut BatchBuilder,
        source: &str,
        issues: &mut LineIssues,
    ) {
        let Some(Ok(layout)) = &self.resolved else {
            issues.extend(lines.iter().map(|(n, _)| (*n, Reason::NoHeader, String::new())));
            return;
        };
        let Some(ts_field) = layout.ts_field else {
            let detail = || "no ts column".to_string();
            issues.extend(lines.iter().map(|(n, _)| (*n, Reason::BadTimestamp, detail())));
            return;
        };
        for block in lines.chunks(LINES_PER_BLOCK) {
            self.append_block(layout, ts_field, block, builder, source, issues);
        }
        issues.sort_by_key(|(line, _, _)| *line);
    }

    fn append_block(
        &self,
        layout: &Layout,
        ts_field: usize,
        lines: &[(u64, &str)],
        builder: &mut BatchBuilder,
        source: &str,
        issues: &mut LineIssues,
    ) {
        let expected = layout.targets.len();
        let hashed = builder.wants_key();
        // Column-major: the values of field `i` of every accepted line are `fields[i]`, for
        // the fields up to the last one anything reads.
        let cut = match layout.has_extras && builder.wants_extras() {
            true => expected,
            false => (0..layout.field_of_column.len())
                .filter(|&c| builder.wants(c) || (hashed && layout.in_identity[c]))
                .filter_map(|c| layout.field_of_column[c])
                .chain([ts_field])
                .max()
                .map_or(0, |last| last + 1),
        };
        let mut fields: Vec<Vec<&str>> =
            (0..cut).map(|_| Vec::with_capacity(lines.len())).collect();
        let mut accepted: Vec<(u64, bool)> = Vec::with_capacity(lines.len());
        let mut times: Vec<i64> = Vec::with_capacity(lines.len());
        for (number, line) in lines {
            let found = self.push_fields(line, &mut fields);
            // A separator at the end of the line (as in RITA's dnscat2 capture) adds no field.
            let trailing = found == expected + 1 && line.ends_with(self.separator.as_str());
            if found != expected && !trailing {
                fields.iter_mut().take(found).for_each(|column| _ = column.pop());
                let detail = format!("expected {expected} fields, found {found}");
                issues.push((*number, Reason::WrongFieldCount, detail));
                continue;
            }
            let ts = *fields[ts_field].last().expect("the line has every field");
            let Some(t) = (!is_marker(ts, &self.unset_field)).then(|| parse_time(ts)).flatten()
            else {
                fields.iter_mut().for_each(|column| _ = column.pop());
                issues.push((*number, Reason::BadTimestamp, format!("ts is {:?}", short(ts))));
                continue;
            };
            times.push(t);
            // Escapes are rare: one look at the whole line spares every text field its own.
            accepted.push((*number, memchr::memchr(b'\\', line.as_bytes()).is_some()));
        }

        let cols = columns(layout.log_type);
        let mut identity = vec![IdentityHasher::new(layout.log_type); accepted.len()];
        let mut bad: Vec<(usize, usize)> = Vec::new();
        for (c, column) in cols.iter().enumerate() {
            let in_identity = hashed && layout.in_identity[c];
            let is_ts = layout.field_of_column[c] == Some(ts_field);
            if !in_identity && !is_ts && !builder.wants(c) {
                // A column the query does not read: neither converted nor checked, and left
                // unfilled (the batch leaves it out).
                continue;
            }
            let Some(i) = layout.field_of_column[c] else {
                for hasher in identity.iter_mut().filter(|_| in_identity) {
                    hasher.add(&Value::Null);
                }
                builder.append_null_fields(c, accepted.len());
                continue;
            };
            if i == ts_field {
                // `ts` is a time column in every schema; were it not, nulls keep the rows aligned.
                if let ColumnSink::Time(b) = builder.column_sink(c) {
                    b.append_slice(&times);
                } else {
                    builder.append_null_fields(c, times.len());
                }
                for (hasher, t) in identity.iter_mut().zip(&times).filter(|_| in_identity) {
                    hasher.add(&Value::Time(*t));
                }
                continue;
            }
            let sink = builder.column_sink(c);
            let filled = match in_identity {
                true => self.fill_identity_text(sink, &fields[i], &accepted, &mut identity),
                false => self.fill(sink, &fields[i], &accepted, |row| bad.push((row, i))),
            };
            if !filled {
                // Sets, whose items the limits may cut, and identity values other than text,
                // which are hashed as well as stored, go value by value.
                for (row, raw) in fields[i].iter().enumerate() {
                    let (number, escaped) = accepted[row];
                    // Most sets are unset or empty (conn's `tunnel_parents` in nearly every
                    // row): those need no value built and dropped.
                    if !in_identity {
                        if is_marker(raw, &self.unset_field) {
                            builder.append_null_field(c);
                            continue;
                        }
                        if is_marker(raw, &self.empty_field) && builder.append_empty_set(c) {
                            continue;
                        }
                    }
                    let value = self.convert(raw, column.kind, escaped);
                    let value = value.unwrap_or_else(|| {
                        bad.push((row, i));
                        Value::Null
                    });
                    builder.append_field_of_line(c, &value, number);
                    if in_identity {
                        identity[row].add(&value);
                    }
                }
            }
        }

        if layout.has_extras && builder.wants_extras() {
            let mut extras: Vec<Extra<'_>> = Vec::new();
            for (row, (number, escaped)) in accepted.iter().enumerate() {
                extras.clear();
                for (i, target) in layout.targets.iter().enumerate() {
                    if let Target::Extra(name) = target {
                        let raw = fields[i][row];
                        let value = (!is_marker(raw, &self.unset_field))
                            .then(|| unescape_if(raw, *escaped));
                        extras.push((Cow::Borrowed(name.as_str()), value));
                    }
                }
                builder.end_row(&extras, source, *number, identity[row].finish());
            }
        } else {
            let numbers: Vec<u64> = accepted.iter().map(|(number, _)| *number).collect();
            let keys: Vec<u64> = identity.iter().map(IdentityHasher::finish).collect();
            builder.end_rows_without_extras(source, &numbers, &keys);
        }

        bad.sort_unstable();
        for (row, i) in bad {
            issues.push((accepted[row].0, Reason::BadValue, format!("field {}", self.fields[i])));
        }
    }

    /// Fills a column from its field in every line, in one loop of the column's type; `bad`
    /// hears of each row whose value does not fit (stored as null). Returns false, having
    /// appended nothing, for a set, which goes value by value.
    fn fill(
        &self,
        sink: ColumnSink<'_>,
        raw: &[&str],
        lines: &[(u64, bool)],
        mut bad: impl FnMut(usize),
    ) -> bool {
        let unset = self.unset_field.as_str();
        let rows = raw.iter().zip(lines).enumerate();
        match sink {
            ColumnSink::Str(b) => {
                for (raw, (_, escaped)) in raw.iter().zip(lines) {
                    b.append_option(self.text_of(raw, *escaped));
                }
            }
            ColumnSink::Addr(b) => {
                for (row, (raw, (_, escaped))) in rows {
                    if is_marker(raw, unset) {
                        b.append_null();
                    } else if let Some(addr) = parse_ip(&unescape_if(raw, *escaped)) {
                        b.append_value(addr).expect("addresses are 16 bytes");
                    } else {
                        b.append_null();
                        bad(row);
                    }
                }
            }
            ColumnSink::Bool(b) => {
                for (row, (raw, _)) in rows {
                    match *raw {
                        _ if is_marker(raw, unset) => b.append_null(),
                        "T" => b.append_value(true),
                        "F" => b.append_value(false),
                        _ => {
                            b.append_null();
                            bad(row);
                        }
                    }
                }
            }
            ColumnSink::Time(b) => fill_primitive(b, raw, unset, parse_time, bad),
            ColumnSink::Port(b) => fill_primitive(b, raw, unset, parse_port, bad),
            ColumnSink::Count(b) => fill_primitive(b, raw, unset, parse_count, bad),
            ColumnSink::Int(b) => fill_primitive(b, raw, unset, parse_int, bad),
            ColumnSink::Float(b) => fill_primitive(b, raw, unset, parse_float, bad),
            ColumnSink::List => return false,
        }
        true
    }

    /// Fills a text column of the record's identity as [`TsvHeader::fill`] does, hashing each
    /// value into its row's identity as the value-by-value path would (uids: one per record).
    /// Returns false, having appended nothing, for any other kind.
    fn fill_identity_text(
        &self,
        sink: ColumnSink<'_>,
        raw: &[&str],
        lines: &[(u64, bool)],
        identity: &mut [IdentityHasher],
    ) -> bool {
        let ColumnSink::Str(b) = sink else { return false };
        for ((raw, (_, escaped)), hasher) in raw.iter().zip(lines).zip(identity) {
            let text = self.text_of(raw, *escaped);
            b.append_option(text.as_deref());
            hasher.add(&text.map_or(Value::Null, Value::Str));
        }
        true
    }

    /// A text field as stored: `None` where unset, empty for the empty marker, else unescaped.
    #[inline]
    fn text_of<'a>(&self, raw: &'a str, escaped: bool) -> Option<Cow<'a, str>> {
        if is_marker(raw, &self.unset_field) {
            None
        } else if is_marker(raw, &self.empty_field) {
            Some(Cow::Borrowed(""))
        } else {
            Some(unescape_if(raw, escaped))
        }
    }

    /// Cuts a data line into fields and pushes each onto its column's values (none past the
    /// last column given: a query's projection may need only the first few); returns how many
    /// fields the line has. Zeek's tab (any one ASCII byte) is
    /// found eight bytes at a time; a longer or non-ASCII separator falls back to a substring
    /// search. Pushing straight into the columns, rather than listing spans first, spares a
    /// copy of every field's bounds.
    fn push_fields<'a>(&self, line: &'a str, columns: &mut [Vec<&'a str>]) -> usize {
        let keep = columns.len();
        let mut next = 0;
        let mut push = |start: usize, end: usize| {
            if let Some(column) = columns.get_mut(next) {
                debug_assert!(line.get(start..end).is_some());
                // SAFETY: the line is cut only where its separator starts or ends, and the
                // separator is ASCII (no UTF-8 continuation byte equals it) or a whole matched
                // `str`, so every field lies in the line on character boundaries. The checked
                // slice's two boundary tests were a fiftieth of an import.
                column.push(unsafe { line.get_unchecked(start..end) });
            }
            next += 1;
        };
        match self.separator.as_bytes() {
            [b] if b.is_ascii() => split_on_byte(line.as_bytes(), *b, keep, &mut push),
            _ => {
                let mut start = 0;
                let mut found = 1;
                for (cut, sep) in line.match_indices(self.separator.as_str()) {
                    push(start, cut);
                    start = cut + sep.len();
                    found += 1;
                }
                push(start, line.len());
                found
            }
        }
    }

    /// Converts one field of a line (`escaped`: whether the line holds a backslash at all);
    /// `None` when the text does not fit the type.
    fn convert<'a>(&self, raw: &'a str, kind: ColumnKind, escaped: bool) -> Option<Value<'a>> {
        if is_marker(raw, &self.unset_field) {
            return Some(Value::Null);
        }
        let is_empty = is_marker(raw, &self.empty_field);
        let unescape = |text: &'a str| unescape_if(text, escaped);
        Some(match kind {
            ColumnKind::Str => Value::Str(if is_empty { Cow::Borrowed("") } else { unescape(raw) }),
            ColumnKind::Time
            | ColumnKind::Addr
            | ColumnKind::Port
            | ColumnKind::Count
            | ColumnKind::Int
            | ColumnKind::Interval
            | ColumnKind::Double
            | ColumnKind::Bool => parse_scalar(raw, kind, escaped)?.into(),
            ColumnKind::StrList => Value::StrList(if is_empty {
                Vec::new()
            } else {
                raw.split(self.set_separator.as_str()).map(unescape).collect()
            }),
            ColumnKind::AddrList => Value::AddrList(if is_empty {
                Vec::new()
            } else {
                raw.split(self.set_separator.as_str())
                    .map(|a| parse_ip(&unescape(a)))
                    .collect::<Option<_>>()?
            }),
            ColumnKind::IntervalList => Value::FloatList(if is_empty {
                Vec::new()
            } else {
                raw.split(self.set_separator.as_str()).map(parse_float).collect::<Option<_>>()?
            }),
        })
    }
}

/// Calls `field` with the bounds of each of the first `keep` spans between `separator`s in
/// `line`, and returns how many spans the line has (the rest are only counted, a word at a
/// time: a query that reads the first few fields of a line still learns its field count, which
/// tells a good line from a bad one). Fields are short
/// (a Zeek conn line has 22 in 160 bytes), so a search call per field cost more than the
/// search: a word-at-a-time scan finds every separator in a word at once (measured: memchr was
/// a sixth of the parse).
fn split_on_byte(
    line: &[u8],
    separator: u8,
    keep: usize,
    mut field: impl FnMut(usize, usize),
) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pattern = u64::from_le_bytes([separator; 8]);
    let mut start = 0;
    let mut found = 0;
    let mut words = line.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("chunks of eight")) ^ pattern;
        // The high bit of each byte of `hits` is set exactly where `x` has a zero byte (the
        // form without carries between bytes, so that no match is reported twice or missed).
        let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
        if found >= keep {
            found += hits.count_ones() as usize;
            base += 8;
            continue;
        }
        while hits != 0 {
            let cut = base + (hits.trailing_zeros() / 8) as usize;
            if found < keep {
                field(start, cut);
            }
            found += 1;
            start = cut + 1;
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, byte) in words.remainder().iter().enumerate() {
        if *byte == separator {
            if found < keep {
                field(start, base + i);
            }
            found += 1;
            start = base + i + 1;
        }
    }
    if found < keep {
        field(start, line.len());
    }
    found + 1
}

/// Whether a field is the block's unset or empty marker. Nearly every field is compared with
/// one, so Zeek's one-byte `-` is compared as a byte rather than through a call to `memcmp`.
#[inline]
fn is_marker(raw: &str, marker: &str) -> bool {
    match marker.as_bytes() {
        [byte] => raw.len() == 1 && raw.as_bytes()[0] == *byte,
        _ => raw == marker,
    }
}

/// Appends one parsed value per row to a primitive column: null where the field is unset or
/// does not parse (then `bad` hears of the row).
fn fill_primitive<T: ArrowPrimitiveType>(
    b: &mut PrimitiveBuilder<T>,
    raw: &[&str],
    unset: &str,
    parse: impl Fn(&str) -> Option<T::Native>,
    mut bad: impl FnMut(usize),
) {
    for (row, raw) in raw.iter().enumerate() {
        if is_marker(raw, unset) {
            b.append_null();
        } else if let Some(value) = parse(raw) {
            b.append_value(value);
        } else {
            b.append_null();
            bad(row);
        }
    }
}

/// Converts a field of a scalar kind (not text, not a set); `None` when it does not fit.
fn parse_scalar(raw: &str, kind: ColumnKind, escaped: bool) -> Option<Scalar> {
    Some(match kind {
        ColumnKind::Time => Scalar::Time(parse_time(raw)?),
        ColumnKind::Addr => Scalar::Addr(parse_ip(&unescape_if(raw, escaped))?),
        ColumnKind::Port => Scalar::Port(parse_port(raw)?),
        ColumnKind::Count => Scalar::Count(parse_count(raw)?),
        ColumnKind::Int => Scalar::Int(parse_int(raw)?),
        ColumnKind::Interval | ColumnKind::Double => Scalar::Float(parse_float(raw)?),
        ColumnKind::Bool => Scalar::Bool(match raw {
            "T" => true,
            "F" => false,
            _ => return None,
        }),
        ColumnKind::Str | ColumnKind::StrList | ColumnKind::AddrList | ColumnKind::IntervalList => {
            return None;
        }
    })
}

fn unescape_if(text: &str, escaped: bool) -> Cow<'_, str> {
    if escaped { unescape(text) } else { Cow::Borrowed(text) }
}

/// The start of a line, for messages: enough to recognise it, never enough to flood a terminal.
pub fn short(line: &str) -> String {
    let mut s: String = line.chars().take(60).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    /// The word-at-a-time split agrees with a plain one: separators at every offset within and
    /// across words, runs of them, lines shorter than a word, and bytes that differ from the
    /// separator only in their high bit or by one.
    #[test]
    fn split_on_byte_finds_every_separator() {
        fn naive(line: &[u8], sep: u8) -> Vec<(usize, usize)> {
            let mut spans = Vec::new();
            let mut start = 0;
            for (i, b) in line.iter().enumerate() {
                if *b == sep {
                    spans.push((start, i));
                    start = i + 1;
                }
            }
            spans.push((start, line.len()));
            spans
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut spans = Vec::new();
        for sep in [b'\t', b',', 0x00, 0x7f] {
            let alphabet = [sep, sep ^ 0x80, sep.wrapping_add(1), sep.wrapping_sub(1), b'a', 0xff];
            for len in 0..40 {
                for _ in 0..200 {
                    let line: Vec<u8> = (0..len)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            alphabet[(state % alphabet.len() as u64) as usize]
                        })
                        .collect();
                    let all = naive(&line, sep);
                    for keep in [usize::MAX, 0, 1, 2, 5] {
                        spans.clear();
                        let found = super::split_on_byte(&line, sep, keep, |start, end| {
                            spans.push((start, end))
                        });
                        assert_eq!(found, all.len(), "{line:?}");
                        assert_eq!(spans, all[..keep.min(all.len())], "{line:?}, keep {keep}");
                    }
                }
            }
        }
    }

    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{TimestampMicrosecondType, UInt16Type, UInt64Type};
    use arrow_array::{Array, RecordBatch};

    fn header(lines: &[&str]) -> TsvHeader {
        let mut h = TsvHeader::default();
        for l in lines {
            h.apply(l, None).unwrap();
        }
        h
    }

    const CONN_HEADER: &[&str] = &[
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\ttunnel_parents\t_node_name",
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tset[string]\tstring",
    ];

    /// Reads one line into a one-row batch: the batch and the fields that did not fit, or the
    /// reason the line was rejected (then the builder must have no partial row).
    fn parse(h: &TsvHeader, line: &str) -> Result<(RecordBatch, Vec<String>), Reason> {
        let mut builder = BatchBuilder::new(h.log_type().unwrap().unwrap(), 1);
        let mut issues = Vec::new();
        h.append_lines(&[(1, line)], &mut builder, "t.log", &mut issues);
        let batch = builder.finish();
        let mut bad = Vec::new();
        for (number, reason, detail) in issues {
            assert_eq!(number, 1);
            match reason {
                Reason::BadValue => bad.push(detail.trim_start_matches("field ").to_string()),
                rejected => {
                    assert_eq!(batch.num_rows(), 0, "a rejected line leaves nothing behind");
                    return Err(rejected);
                }
            }
        }
        Ok((batch, bad))
    }

    #[test]
    fn parses_typed_fields_nulls_sets_and_extras() {
        let h = header(CONN_HEADER);
        assert_eq!(h.log_type(), Some(Ok(LogType::Conn)));
        let line =
            "1713484795.943239\tCx\t10.0.0.1\t5000\t8.8.8.8\t53\tudp\t-\t(empty)\tworker\\x091";
        let (batch, bad) = parse(&h, line).unwrap();
        assert!(bad.is_empty());
        let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), 1_713_484_795_943_239);
        assert_eq!(batch.column(2).as_fixed_size_binary().value(0), parse_ip("10.0.0.1").unwrap());
        assert_eq!(batch.column(3).as_primitive::<UInt16Type>().value(0), 5000);
        assert!(batch.column(8).is_null(0), "duration `-` is null");
        let tunnel_parents = batch.column(20).as_list::<i32>();
        assert!(tunnel_parents.is_valid(0) && tunnel_parents.value(0).is_empty(), "(empty) set");
        let extra = batch.column_by_name("_extra").unwrap().as_map();
        assert_eq!(extra.keys().as_string::<i32>().value(0), "_node_name");
        assert_eq!(extra.values().as_string::<i32>().value(0), "worker\\x091");
    }

    #[test]
    fn wrong_field_counts_and_bad_values() {
        let h = header(CONN_HEADER);
        assert_eq!(parse(&h, "1.0\tCx\t10.0.0.1").unwrap_err(), Reason::WrongFieldCount);
        let (batch, bad) =
            parse(&h, "1.0\tCx\tnot-ip\t99999\t8.8.8.8\t53\tudp\t0.5\t-\tw").unwrap();
        assert_eq!(bad, ["id.orig_h", "id.orig_p"]);
        assert!(batch.column(2).is_null(0));
        let line = "yesterday\tCx\t10.0.0.1\t1\t8.8.8.8\t53\tudp\t0.5\t-\tw";
        assert_eq!(parse(&h, line).unwrap_err(), Reason::BadTimestamp);
    }

    #[test]
    fn identity_matches_the_row_path_and_a_repeated_field_is_kept_as_an_extra() {
        let h = header(&["#path\tconn", "#fields\tuid\tts\tuid"]);
        let (batch, _) = parse(&h, "C1\t5.0\tC2").unwrap();
        let mut row = crate::batch::Row::new(LogType::Conn);
        row.values[0] = Value::Time(5_000_000);
        row.values[1] = Value::Str("C1".into());
        let key = batch.column_by_name("_key").unwrap().as_primitive::<UInt64Type>().value(0);
        assert_eq!(key, row.identity_key(LogType::Conn), "TSV and JSON records hash alike");
        let extra = batch.column_by_name("_extra").unwrap().as_map();
        assert_eq!(extra.values().as_string::<i32>().value(0), "C2");
    }

    /// A chunk converted column by column keeps every value in its record's row when lines
    /// around it are rejected, reports issues in line order, hashes each record's identity as
    /// the row-at-a-time path does, and cuts an oversized set against the right line.
    #[test]
    fn lines_converted_together_stay_aligned_with_their_records() {
        let h = header(CONN_HEADER);
        let lines = [
            (10, "1.0\tC1\t10.0.0.1\t1\t8.8.8.8\t53\tudp\t0.5\t-\tw1"),
            (11, "1.0\tC-short\t10.0.0.1"),
            (12, "2.0\tC\\x412\tnot-ip\t2\t8.8.8.8\t53\ttcp\t-\ta,b,c\t-"),
            (13, "-\tC-no-ts\t10.0.0.1\t1\t8.8.8.8\t53\tudp\t0.5\t-\tw"),
            (14, "3.0\t-\t10.0.0.3\t99999\t::1\t443\ttcp\tlong\t(empty)\tw3"),
        ];
        let limits = crate::RecordLimits { max_set_items: 2, ..Default::default() };
        let mut builder = BatchBuilder::with_limits(LogType::Conn, 4, limits);
        let mut issues = Vec::new();
        h.append_lines(&lines, &mut builder, "t.log", &mut issues);
        let trimmed = builder.take_trimmed();
        let batch = builder.finish();

        let reasons: Vec<(u64, Reason)> = issues.iter().map(|(n, r, _)| (*n, *r)).collect();
        assert_eq!(
            reasons,
            [
                (11, Reason::WrongFieldCount),
                (12, Reason::BadValue),
                (13, Reason::BadTimestamp),
                (14, Reason::BadValue),
                (14, Reason::BadValue),
            ]
        );
        assert_eq!(issues[3].2, "field id.orig_p");
        assert_eq!(issues[4].2, "field duration");
        assert_eq!(trimmed, [(12, "tunnel_parents: 3 set items, kept 2".to_string())]);

        assert_eq!(batch.num_rows(), 3);
        let uid = batch.column(1).as_string::<i32>();
        assert_eq!([uid.value(0), uid.value(1)], ["C1", "CA2"], "unescaped where escaped");
        assert!(uid.is_null(2));
        let orig = batch.column(2).as_fixed_size_binary();
        assert!(orig.is_valid(0) && orig.is_null(1) && orig.is_valid(2));
        assert_eq!(orig.value(2), parse_ip("10.0.0.3").unwrap());
        let port = batch.column(3).as_primitive::<UInt16Type>();
        assert_eq!((port.value(0), port.value(1), port.is_null(2)), (1, 2, true));
        assert_eq!(batch.column(6).as_string::<i32>().value(1), "tcp");
        // Sets: unset is null, `(empty)` an empty set, items cut to the limit.
        let sets = batch.column_by_name("tunnel_parents").unwrap().as_list::<i32>();
        assert!(sets.is_null(0));
        assert_eq!(
            sets.value(1).as_string::<i32>().iter().collect::<Vec<_>>(),
            [Some("a"), Some("b")]
        );
        assert!(sets.is_valid(2) && sets.value(2).is_empty());
        let lines_stored = batch.column_by_name("_line").unwrap().as_primitive::<UInt64Type>();
        assert_eq!(lines_stored.values().to_vec(), [10, 12, 14]);
        let extra = batch.column_by_name("_extra").unwrap().as_map();
        let node: Vec<Option<&str>> = extra.values().as_string::<i32>().iter().collect();
        assert_eq!(node, [Some("w1"), None, Some("w3")]);

        let keys = batch.column_by_name("_key").unwrap().as_primitive::<UInt64Type>();
        for (row, (ts, uid)) in
            [(1_000_000, Some("C1")), (2_000_000, Some("CA2")), (3_000_000, None)]
                .into_iter()
                .enumerate()
        {
            let mut reference = crate::batch::Row::new(LogType::Conn);
            reference.values[0] = Value::Time(ts);
            reference.values[1] = uid.map_or(Value::Null, |u| Value::Str(u.into()));
            assert_eq!(keys.value(row), reference.identity_key(LogType::Conn), "row {row}");
        }
    }

    /// Across the blocks a chunk is converted in, every record keeps its own values and the
    /// issues stay in line order.
    #[test]
    fn rows_stay_aligned_across_blocks() {
        let h = header(CONN_HEADER);
        let text: Vec<(u64, String)> = (0..3 * LINES_PER_BLOCK as u64 + 7)
            .map(|n| {
                let line = match n {
                    _ if n % 7 == 3 => format!("{n}.0\tshort"),
                    _ if n % 5 == 1 => {
                        format!("{n}.0\tC{n}\t10.0.0.1\tbad\t8.8.8.8\t53\tudp\t-\t-\tw")
                    }
                    _ => format!("{n}.0\tC{n}\t10.0.0.1\t{n}\t8.8.8.8\t53\tudp\t-\t-\tw"),
                };
                (n, line)
            })
            .collect();
        let lines: Vec<(u64, &str)> = text.iter().map(|(n, l)| (*n, l.as_str())).collect();
        let mut builder = BatchBuilder::new(LogType::Conn, lines.len());
        let mut issues = Vec::new();
        h.append_lines(&lines, &mut builder, "t.log", &mut issues);
        let batch = builder.finish();

        let kept: Vec<u64> = (0..lines.len() as u64).filter(|n| n % 7 != 3).collect();
        let stored = batch.column_by_name("_line").unwrap().as_primitive::<UInt64Type>();
        assert_eq!(stored.values().to_vec(), kept);
        let uid = batch.column(1).as_string::<i32>();
        let port = batch.column(3).as_primitive::<UInt16Type>();
        for (row, n) in kept.iter().enumerate() {
            assert_eq!(uid.value(row), format!("C{n}"));
            assert_eq!(port.is_null(row), n % 5 == 1, "line {n}");
            if n % 5 != 1 {
                assert_eq!(u64::from(port.value(row)), *n);
            }
        }
        let numbers: Vec<u64> = issues.iter().map(|(n, _, _)| *n).collect();
        let expected: Vec<u64> =
            (0..lines.len() as u64).filter(|n| n % 7 == 3 || n % 5 == 1).collect();
        assert_eq!(numbers, expected);
    }

    #[test]
    fn a_c_style_tab_separator_is_a_tab() {
        let h = header(&["#separator \\t", "#set_separator\t,", "#path\thttp", "#fields\tts\tuid"]);
        assert_eq!(h.separator, "\t");
        assert_eq!(h.fields, ["ts", "uid"]);
    }

    #[test]
    fn one_trailing_separator_adds_no_field_but_a_real_extra_field_is_wrong() {
        let h = header(CONN_HEADER);
        assert!(parse(&h, "1.0\tCx\t10.0.0.1\t1\t8.8.8.8\t53\tudp\t0.5\t-\tw\t").is_ok());
        let line = "1.0\tCx\t10.0.0.1\t1\t8.8.8.8\t53\tudp\t0.5\t-\tw\tmore";
        assert_eq!(parse(&h, line).unwrap_err(), Reason::WrongFieldCount);
    }

    #[test]
    fn custom_separators_and_unsupported_types() {
        let h = header(&["#separator ,", "#set_separator,|", "#path,weird", "#fields,ts,a"]);
        assert_eq!(h.log_type(), Some(Err("weird")));
        let mut h = TsvHeader::default();
        h.apply("#separator |", None).unwrap();
        h.apply("#set_separator|;", None).unwrap();
        h.apply("#fields|ts|uid|tunnel_parents", Some("conn")).unwrap();
        let (batch, _) = parse(&h, "2.5|C1|a;b").unwrap();
        let list = batch.column(20).as_list::<i32>().value(0);
        let items: Vec<&str> = list.as_string::<i32>().iter().flatten().collect();
        assert_eq!(items, ["a", "b"]);
    }
}
