//! Zeek's JSON-lines format (`LogAscii::use_json`, Corelight, Security Onion): one object per
//! line, field names as in TSV, `ts` as epoch seconds or ISO 8601, `_path` naming the log.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use lasthop_normalise::{ColumnKind, LogType, columns, parse_ip};
use serde_json::Value as Json;

use crate::batch::{Row, Value};
use crate::diagnostics::Reason;
use crate::values::{parse_time, time_from_seconds};
use crate::web_json::WebJsonMap;

/// Finds each log type's columns by Zeek field name.
/// JSON lines that are not Zeek's are tried as web access logs through `web`.
#[derive(Default)]
pub struct JsonFields {
    by_type: HashMap<LogType, HashMap<&'static str, (usize, ColumnKind)>>,
    web: Arc<WebJsonMap>,
}

/// A parsed JSON line: its log type (or the unsupported name) and its fields.
pub enum JsonRecord {
    Parsed(LogType, Row<'static>),
    Unsupported(String),
}

impl JsonFields {
    pub fn new(web: Arc<WebJsonMap>) -> JsonFields {
        JsonFields { by_type: HashMap::new(), web }
    }

    fn lookup(&mut self, log_type: LogType, name: &str) -> Option<(usize, ColumnKind)> {
        self.by_type
            .entry(log_type)
            .or_insert_with(|| {
                columns(log_type).iter().enumerate().map(|(i, c)| (c.zeek, (i, c.kind))).collect()
            })
            .get(name)
            .copied()
    }

    /// Parses one line. `bad_fields` collects fields whose values did not fit their type (the
    /// record is kept with those fields null).
    pub fn parse_line(
        &mut self,
        line: &str,
        file_name_type: Option<&str>,
        bad_fields: &mut Vec<String>,
    ) -> Result<JsonRecord, (Reason, String)> {
        let object = match serde_json::from_str::<Json>(line) {
            Ok(Json::Object(map)) => map,
            Ok(_) => return Err((Reason::BadJson, "not a JSON object".into())),
            Err(e) => return Err((Reason::BadJson, e.to_string())),
        };
        let zeek_path = object.get("_path").and_then(Json::as_str);
        if zeek_path.is_none()
            && matches!(file_name_type.and_then(LogType::from_path), None | Some(LogType::Web))
            && let Some(parsed) = self.web.parse(&object, line, bad_fields)
        {
            return parsed.map(|row| JsonRecord::Parsed(LogType::Web, row));
        }
        let path = zeek_path.or(file_name_type).unwrap_or("unknown");
        let Some(log_type) = LogType::from_path(path) else {
            return Ok(JsonRecord::Unsupported(path.to_string()));
        };
        let mut row = Row::new(log_type);
        for (name, value) in object {
            if name == "_path" {
                continue;
            }
            match self.lookup(log_type, &name) {
                Some((i, kind)) => match convert(value, kind) {
                    Some(v) => row.values[i] = v,
                    None => bad_fields.push(name),
                },
                None => {
                    let text = match value {
                        Json::Null => None,
                        Json::String(s) => Some(Cow::Owned(s)),
                        other => Some(Cow::Owned(other.to_string())),
                    };
                    row.extras.push((Cow::Owned(name), text));
                }
            }
        }
        if !matches!(row.values[0], Value::Time(_)) {
            return Err((Reason::BadTimestamp, "missing or invalid ts".into()));
        }
        Ok(JsonRecord::Parsed(log_type, row))
    }
}

fn convert(value: Json, kind: ColumnKind) -> Option<Value<'static>> {
    if value.is_null() {
        return Some(Value::Null);
    }
    Some(match kind {
        ColumnKind::Str => Value::Str(Cow::Owned(match value {
            Json::String(s) => s,
            other => other.to_string(),
        })),
        ColumnKind::Time => Value::Time(match &value {
            Json::Number(n) => time_from_seconds(n.as_f64()?)?,
            Json::String(s) => parse_time(s)?,
            _ => return None,
        }),
        ColumnKind::Addr => Value::Addr(parse_ip(value.as_str()?)?),
        ColumnKind::Port => Value::Port(u16::try_from(value.as_u64()?).ok()?),
        ColumnKind::Count => Value::Count(value.as_u64()?),
        ColumnKind::Int => Value::Int(value.as_i64()?),
        ColumnKind::Interval | ColumnKind::Double => {
            Value::Float(value.as_f64().filter(|f| f.is_finite())?)
        }
        ColumnKind::Bool => Value::Bool(value.as_bool()?),
        ColumnKind::StrList => Value::StrList(
            as_array(value)?
                .into_iter()
                .map(|v| match v {
                    Json::String(s) => Cow::Owned(s),
                    other => Cow::Owned(other.to_string()),
                })
                .collect(),
        ),
        ColumnKind::AddrList => Value::AddrList(
            as_array(value)?
                .iter()
                .map(|v| v.as_str().and_then(parse_ip))
                .collect::<Option<_>>()?,
        ),
        ColumnKind::IntervalList => {
            Value::FloatList(as_array(value)?.iter().map(|v| v.as_f64()).collect::<Option<_>>()?)
        }
    })
}

fn as_array(value: Json) -> Option<Vec<Json>> {
    match value {
        Json::Array(items) => Some(items),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_path_iso_time_sets_and_extras() {
        let mut f = JsonFields::default();
        let mut bad = Vec::new();
        let line = r#"{"_path":"ssl","_write_ts":"2018-03-24T17:15:20.629574Z","ts":"2018-03-24T17:15:20.615923Z","uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":39611,"id.resp_h":"10.47.3.200","id.resp_p":443,"resumed":false,"cert_chain_fps":["ab","cd"]}"#;
        let JsonRecord::Parsed(t, row) = f.parse_line(line, None, &mut bad).unwrap() else {
            panic!("ssl is supported")
        };
        assert_eq!(t, LogType::Ssl);
        assert!(bad.is_empty());
        assert_eq!(row.values[0], Value::Time(1_521_911_720_615_923));
        assert_eq!(row.values[5], Value::Port(443));
        assert_eq!(row.values[15], Value::StrList(vec!["ab".into(), "cd".into()]));
        assert_eq!(row.extras.len(), 1);
        assert_eq!(row.extras[0].0, "_write_ts");
    }

    #[test]
    fn file_name_type_bad_values_and_errors() {
        let mut f = JsonFields::default();
        let mut bad = Vec::new();
        let line = r#"{"ts":95.039877,"uid":"C1","id.orig_p":70000,"proto":"udp"}"#;
        let JsonRecord::Parsed(t, row) = f.parse_line(line, Some("conn"), &mut bad).unwrap() else {
            panic!()
        };
        assert_eq!(t, LogType::Conn);
        assert_eq!(row.values[0], Value::Time(95_039_877));
        assert_eq!(bad, ["id.orig_p"]);
        assert!(matches!(
            f.parse_line(r#"{"_path":"weird","ts":1}"#, None, &mut bad),
            Ok(JsonRecord::Unsupported(p)) if p == "weird"
        ));
        assert_eq!(f.parse_line("[1]", None, &mut bad).err().unwrap().0, Reason::BadJson);
        assert_eq!(f.parse_line("{\"ts\":", None, &mut bad).err().unwrap().0, Reason::BadJson);
        assert_eq!(
            f.parse_line(r#"{"uid":"x"}"#, Some("conn"), &mut bad).err().unwrap().0,
            Reason::BadTimestamp
        );
    }
}
