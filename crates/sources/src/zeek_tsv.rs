//! Zeek's ASCII (TSV) log format: `#`-headers that set the separators and name the fields, then
//! one record per line. A file may hold several header blocks (a restarted logger appends).

use std::borrow::Cow;

use lasthop_normalise::{ColumnKind, LogType, columns, parse_ip};

use crate::batch::{Row, Value};
use crate::diagnostics::Reason;
use crate::values::{parse_time, unescape, unescape_header};

/// Where one `#fields` entry goes.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Column(usize, ColumnKind),
    Extra(String),
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
    resolved: Option<Result<(LogType, Vec<Target>), String>>,
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

    fn resolve(&self, file_name_type: Option<&str>) -> Result<(LogType, Vec<Target>), String> {
        let name = self.path.as_deref().or(file_name_type).unwrap_or("unknown");
        let log_type = LogType::from_path(name).ok_or_else(|| name.to_string())?;
        let cols = columns(log_type);
        let targets = self
            .fields
            .iter()
            .map(|f| match cols.iter().position(|c| c.zeek == f) {
                Some(i) => Target::Column(i, cols[i].kind),
                None => Target::Extra(f.clone()),
            })
            .collect();
        Ok((log_type, targets))
    }

    /// The log type of the current block: `None` before any `#fields`, `Some(Err(name))` for a
    /// type lasthop does not store.
    pub fn log_type(&self) -> Option<Result<LogType, &str>> {
        self.resolved.as_ref().map(|r| match r {
            Ok((t, _)) => Ok(*t),
            Err(name) => Err(name.as_str()),
        })
    }

    /// Parses one data line into `row`. Returns the field problems (record kept) or the reason
    /// the line was rejected.
    pub fn parse_line<'a>(
        &'a self,
        line: &'a str,
        row: &mut Row<'a>,
        bad_fields: &mut Vec<&'a str>,
    ) -> Result<(), (Reason, String)> {
        let Some(Ok((_, targets))) = &self.resolved else {
            return Err((Reason::NoHeader, String::new()));
        };
        // A separator at the end of the line (as in RITA's dnscat2 capture) adds no field.
        let line = match line.strip_suffix(self.separator.as_str()) {
            Some(trimmed) if line.split(self.separator.as_str()).count() == targets.len() + 1 => {
                trimmed
            }
            _ => line,
        };
        let mut n = 0;
        for (i, raw) in line.split(self.separator.as_str()).enumerate() {
            n += 1;
            let Some(target) = targets.get(i) else { continue };
            match target {
                Target::Column(c, kind) => match self.convert(raw, *kind) {
                    Some(v) => row.values[*c] = v,
                    None => bad_fields.push(&self.fields[i]),
                },
                Target::Extra(name) => {
                    let v = (raw != self.unset_field).then(|| unescape(raw));
                    row.extras.push((Cow::Borrowed(name.as_str()), v));
                }
            }
        }
        if n != targets.len() {
            return Err((
                Reason::WrongFieldCount,
                format!("expected {} fields, found {}", targets.len(), n),
            ));
        }
        if !matches!(row.values[0], Value::Time(_)) {
            return Err((Reason::BadTimestamp, format!("ts is {:?}", short(line))));
        }
        Ok(())
    }

    /// Converts one field; `None` when the text does not fit the type.
    fn convert<'a>(&self, raw: &'a str, kind: ColumnKind) -> Option<Value<'a>> {
        if raw == self.unset_field {
            return Some(Value::Null);
        }
        let is_empty = raw == self.empty_field;
        Some(match kind {
            ColumnKind::Str => Value::Str(if is_empty { Cow::Borrowed("") } else { unescape(raw) }),
            ColumnKind::Time => Value::Time(parse_time(raw)?),
            ColumnKind::Addr => Value::Addr(parse_ip(&unescape(raw))?),
            ColumnKind::Port => Value::Port(raw.parse().ok()?),
            ColumnKind::Count => Value::Count(raw.parse().ok()?),
            ColumnKind::Int => Value::Int(raw.parse().ok()?),
            ColumnKind::Interval | ColumnKind::Double => Value::Float(parse_float(raw)?),
            ColumnKind::Bool => Value::Bool(match raw {
                "T" => true,
                "F" => false,
                _ => return None,
            }),
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
    use super::*;

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

    #[test]
    fn parses_typed_fields_nulls_sets_and_extras() {
        let h = header(CONN_HEADER);
        assert_eq!(h.log_type(), Some(Ok(LogType::Conn)));
        let mut row = Row::new(LogType::Conn);
        let mut bad = Vec::new();
        let line =
            "1713484795.943239\tCx\t10.0.0.1\t5000\t8.8.8.8\t53\tudp\t-\t(empty)\tworker\\x091";
        h.parse_line(line, &mut row, &mut bad).unwrap();
        assert!(bad.is_empty());
        assert_eq!(row.values[0], Value::Time(1_713_484_795_943_239));
        assert_eq!(row.values[2], Value::Addr(parse_ip("10.0.0.1").unwrap()));
        assert_eq!(row.values[3], Value::Port(5000));
        assert_eq!(row.values[8], Value::Null, "duration `-` is null");
        assert_eq!(row.values[20], Value::StrList(vec![]), "(empty) is an empty set");
        assert_eq!(
            row.extras,
            vec![(Cow::Borrowed("_node_name"), Some(Cow::Borrowed("worker\\x091")))]
        );
    }

    #[test]
    fn wrong_field_counts_and_bad_values() {
        let h = header(CONN_HEADER);
        let mut row = Row::new(LogType::Conn);
        let mut bad = Vec::new();
        let err = h.parse_line("1.0\tCx\t10.0.0.1", &mut row, &mut bad).unwrap_err();
        assert_eq!(err.0, Reason::WrongFieldCount);
        row.clear();
        let line = "1.0\tCx\tnot-ip\t99999\t8.8.8.8\t53\tudp\t0.5\t-\tw";
        h.parse_line(line, &mut row, &mut bad).unwrap();
        assert_eq!(bad, ["id.orig_h", "id.orig_p"]);
        assert_eq!(row.values[2], Value::Null);
        row.clear();
        let line = "yesterday\tCx\t10.0.0.1\t1\t8.8.8.8\t53\tudp\t0.5\t-\tw";
        assert_eq!(
            h.parse_line(line, &mut row, &mut Vec::new()).unwrap_err().0,
            Reason::BadTimestamp
        );
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
        let mut row = Row::new(LogType::Conn);
        let line = "1.0\tCx\t10.0.0.1\t1\t8.8.8.8\t53\tudp\t0.5\t-\tw\t";
        h.parse_line(line, &mut row, &mut Vec::new()).unwrap();
        row.clear();
        let line = "1.0\tCx\t10.0.0.1\t1\t8.8.8.8\t53\tudp\t0.5\t-\tw\tmore";
        assert_eq!(
            h.parse_line(line, &mut row, &mut Vec::new()).unwrap_err().0,
            Reason::WrongFieldCount
        );
    }

    #[test]
    fn custom_separators_and_unsupported_types() {
        let h = header(&["#separator ,", "#set_separator,|", "#path,weird", "#fields,ts,a"]);
        assert_eq!(h.log_type(), Some(Err("weird")));
        let mut h = TsvHeader::default();
        h.apply("#separator |", None).unwrap();
        h.apply("#set_separator|;", None).unwrap();
        h.apply("#fields|ts|uid|tunnel_parents", Some("conn")).unwrap();
        let mut row = Row::new(LogType::Conn);
        h.parse_line("2.5|C1|a;b", &mut row, &mut Vec::new()).unwrap();
        assert_eq!(row.values[20], Value::StrList(vec!["a".into(), "b".into()]));
    }
}
