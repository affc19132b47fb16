//! Zeek's ASCII (TSV) log format: `#`-headers that set the separators and name the fields, then
//! one record per line. A file may hold several header blocks (a restarted logger appends).

use std::borrow::Cow;

use lasthop_normalise::{ColumnKind, LogType, columns, parse_ip};

use crate::batch::{BatchBuilder, Extra, Scalar, Value, identity_columns, identity_key};
use crate::diagnostics::Reason;
use crate::values::{parse_time, unescape, unescape_header};

/// Where one `#fields` entry goes.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Column(usize, ColumnKind),
    /// A column outside the record's identity whose values have no heap part (text included,
    /// borrowed from the line): appended straight to its builder.
    Plain(usize, ColumnKind),
    Extra(String),
}

/// Identity columns of any log type: `ts` and at most four more.
const MAX_IDENTITY: usize = 5;

/// How the fields of a block's lines map onto its log type's schema.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    log_type: LogType,
    /// Where each field goes, in line order.
    targets: Vec<Target>,
    /// Schema columns no field fills: null in every record of the block.
    untargeted: Vec<usize>,
    /// Per schema column, its place among the identity columns (schema order).
    identity_slot: Vec<Option<usize>>,
    identity_len: usize,
    /// The field holding `ts`.
    ts_field: Option<usize>,
}

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
        let mut filled = vec![false; cols.len()];
        let targets: Vec<Target> = self
            .fields
            .iter()
            .map(|f| match cols.iter().position(|c| c.zeek == f) {
                // A field named twice fills its column once; the repeat is kept as an extra.
                Some(i) if !filled[i] => {
                    filled[i] = true;
                    Target::Column(i, cols[i].kind)
                }
                _ => Target::Extra(f.clone()),
            })
            .collect();
        let mut identity_slot = vec![None; cols.len()];
        let identity = identity_columns(log_type);
        for (slot, c) in identity.iter().enumerate() {
            identity_slot[*c] = Some(slot);
        }
        let targets: Vec<Target> = targets
            .into_iter()
            .map(|t| match t {
                Target::Column(c, kind)
                    if c != 0 && identity_slot[c].is_none() && is_plain(kind) =>
                {
                    Target::Plain(c, kind)
                }
                other => other,
            })
            .collect();
        assert!(identity.len() <= MAX_IDENTITY, "identity columns fit the fixed array");
        Ok(Layout {
            log_type,
            ts_field: targets.iter().position(|t| matches!(t, Target::Column(0, _))),
            untargeted: (0..cols.len()).filter(|c| !filled[*c]).collect(),
            targets,
            identity_slot,
            identity_len: identity.len(),
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

    /// Converts one data line straight into `builder` (which must be for this block's log
    /// type). Returns the fields that did not fit their type (stored as null, record kept) or
    /// the reason the whole line was rejected, in which case nothing was appended. `spans` is
    /// scratch space the caller keeps between lines.
    pub fn append_line<'a>(
        &'a self,
        line: &'a str,
        spans: &mut Vec<(usize, usize)>,
        builder: &mut BatchBuilder,
        source: &str,
        line_number: u64,
        bad_fields: &mut Vec<&'a str>,
    ) -> Result<(), (Reason, String)> {
        let Some(Ok(layout)) = &self.resolved else {
            return Err((Reason::NoHeader, String::new()));
        };
        // Whole-line checks come first, so that a rejected line leaves no partial row behind.
        self.split_fields(line, spans);
        let expected = layout.targets.len();
        // A separator at the end of the line (as in RITA's dnscat2 capture) adds no field.
        if spans.len() == expected + 1 && spans.last().is_some_and(|(s, e)| s == e) {
            spans.pop();
        }
        if spans.len() != expected {
            return Err((
                Reason::WrongFieldCount,
                format!("expected {expected} fields, found {}", spans.len()),
            ));
        }
        let field = |i: usize| &line[spans[i].0..spans[i].1];
        // Escapes are rare: one look at the whole line spares every text field its own.
        let escaped = memchr::memchr(b'\\', line.as_bytes()).is_some();
        let ts =
            match layout.ts_field.map(|i| (i, self.convert(field(i), ColumnKind::Time, escaped))) {
                Some((_, Some(ts @ Value::Time(_)))) => ts,
                Some((i, _)) => {
                    return Err((Reason::BadTimestamp, format!("ts is {:?}", short(field(i)))));
                }
                None => return Err((Reason::BadTimestamp, "no ts column".into())),
            };

        let mut identity: [Value<'a>; MAX_IDENTITY] = std::array::from_fn(|_| Value::Null);
        let mut extras: Vec<Extra<'a>> = Vec::new();
        for (i, target) in layout.targets.iter().enumerate() {
            let raw = field(i);
            match target {
                Target::Column(0, _) => {
                    builder.append_field(0, &ts);
                    identity[0] = ts.clone();
                }
                Target::Plain(c, kind) => {
                    let fits = if raw == self.unset_field {
                        builder.append_null_field(*c);
                        true
                    } else if *kind == ColumnKind::Str {
                        if raw == self.empty_field {
                            builder.append_str(*c, "");
                        } else {
                            builder.append_str(*c, &unescape_if(raw, escaped));
                        }
                        true
                    } else if let Some(value) = parse_scalar(raw, *kind, escaped) {
                        builder.append_scalar(*c, value);
                        true
                    } else {
                        builder.append_null_field(*c);
                        false
                    };
                    if !fits {
                        bad_fields.push(&self.fields[i]);
                    }
                }
                Target::Column(c, kind) => match self.convert(raw, *kind, escaped) {
                    Some(value) => {
                        builder.append_field(*c, &value);
                        if let Some(slot) = layout.identity_slot[*c] {
                            identity[slot] = value;
                        }
                    }
                    None => {
                        builder.append_null_field(*c);
                        bad_fields.push(&self.fields[i]);
                    }
                },
                Target::Extra(name) => {
                    let v = (raw != self.unset_field).then(|| unescape_if(raw, escaped));
                    extras.push((Cow::Borrowed(name.as_str()), v));
                }
            }
        }
        for c in &layout.untargeted {
            builder.append_null_field(*c);
        }
        let key = identity_key(layout.log_type, &identity[..layout.identity_len]);
        builder.end_row(&extras, source, line_number, key);
        Ok(())
    }

    /// Cuts a data line into field spans. Zeek's tab (any one ASCII byte) is found eight bytes
    /// at a time; a longer or non-ASCII separator falls back to a substring search.
    fn split_fields(&self, line: &str, spans: &mut Vec<(usize, usize)>) {
        match self.separator.as_bytes() {
            // An ASCII separator never falls inside a multi-byte character, so every span is
            // on character boundaries.
            [b] if b.is_ascii() => split_on_byte(line.as_bytes(), *b, spans),
            _ => {
                spans.clear();
                let mut start = 0;
                for (cut, sep) in line.match_indices(self.separator.as_str()) {
                    spans.push((start, cut));
                    start = cut + sep.len();
                }
                spans.push((start, line.len()));
            }
        }
    }

    /// Converts one field of a line (`escaped`: whether the line holds a backslash at all);
    /// `None` when the text does not fit the type.
    fn convert<'a>(&self, raw: &'a str, kind: ColumnKind, escaped: bool) -> Option<Value<'a>> {
        if raw == self.unset_field {
            return Some(Value::Null);
        }
        let is_empty = raw == self.empty_field;
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

/// The spans between occurrences of `separator` in `line`. Fields are short (a Zeek conn line
/// has 22 in 160 bytes), so a search call per field cost more than the search: a word-at-a-time
/// scan finds every separator in a word at once (measured: memchr was a sixth of the parse).
fn split_on_byte(line: &[u8], separator: u8, spans: &mut Vec<(usize, usize)>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pattern = u64::from_le_bytes([separator; 8]);
    spans.clear();
    let mut start = 0;
    let mut words = line.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("chunks of eight")) ^ pattern;
        // The high bit of each byte of `hits` is set exactly where `x` has a zero byte (the
        // form without carries between bytes, so that no match is reported twice or missed).
        let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
        while hits != 0 {
            let cut = base + (hits.trailing_zeros() / 8) as usize;
            spans.push((start, cut));
            start = cut + 1;
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, byte) in words.remainder().iter().enumerate() {
        if *byte == separator {
            spans.push((start, base + i));
            start = base + i + 1;
        }
    }
    spans.push((start, line.len()));
}

/// Whether a column's values can take the [`Target::Plain`] path.
fn is_plain(kind: ColumnKind) -> bool {
    !matches!(kind, ColumnKind::StrList | ColumnKind::AddrList | ColumnKind::IntervalList)
}

/// Converts a field of a scalar kind (not text, not a set); `None` when it does not fit.
fn parse_scalar(raw: &str, kind: ColumnKind, escaped: bool) -> Option<Scalar> {
    Some(match kind {
        ColumnKind::Time => Scalar::Time(parse_time(raw)?),
        ColumnKind::Addr => Scalar::Addr(parse_ip(&unescape_if(raw, escaped))?),
        ColumnKind::Port => Scalar::Port(raw.parse().ok()?),
        ColumnKind::Count => Scalar::Count(raw.parse().ok()?),
        ColumnKind::Int => Scalar::Int(raw.parse().ok()?),
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

fn parse_float(raw: &str) -> Option<f64> {
    raw.parse::<f64>().ok().filter(|f| f.is_finite())
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
                    super::split_on_byte(&line, sep, &mut spans);
                    assert_eq!(spans, naive(&line, sep), "{line:?}");
                }
            }
        }
    }

    #[test]
    fn every_log_types_identity_fits_the_fixed_array() {
        for t in LogType::ALL {
            assert!(identity_columns(t).len() <= MAX_IDENTITY, "{t}: raise MAX_IDENTITY");
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
        let mut bad = Vec::new();
        let outcome = h.append_line(line, &mut Vec::new(), &mut builder, "t.log", 1, &mut bad);
        let bad = bad.into_iter().map(String::from).collect();
        let batch = builder.finish();
        match outcome {
            Ok(()) => Ok((batch, bad)),
            Err((reason, _)) => {
                assert_eq!(batch.num_rows(), 0, "a rejected line leaves nothing behind");
                Err(reason)
            }
        }
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
