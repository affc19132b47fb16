//! JSON access logs (nginx `log_format … escape=json`, Caddy, Traefik, Envoy, Elastic Common
//! Schema, Google Cloud `httpRequest` …) into the `web` table, through a field map: for each web
//! column, the JSON keys that may hold it, the first present winning. Keys are dotted paths into
//! nested objects (`request.headers.User-Agent`); a key naming a field with dots in its own name
//! is found too; a list value (Caddy's headers) gives its first element. A key may end in `:ns`,
//! `:us`, `:ms` or `:s` to give the unit of a duration (default seconds).
//!
//! The built-in map knows the common conventions; users add theirs (placed first) with
//! `--web-json-fields FILE`, a TOML table of column = [keys]:
//!
//! ```toml
//! c-ip = ["clientAddress"]
//! cs-uri = ["fullUrl"]          # path and query together, split at the first `?`
//! request = ["requestLine"]     # a whole request line, `GET /a?b HTTP/1.1`
//! time-taken = ["elapsed:ms"]
//! ```
//!
//! Columns: `ts`, `c-ip`, `cs-username`, `cs-method`, `cs-uri-stem`, `cs-uri-query`, `cs-uri`,
//! `request`, `cs-version`, `sc-status`, `sc-bytes`, `cs-bytes`, `time-taken`, `cs-host`, `s-ip`,
//! `s-port`, `cs-referer`, `cs-user-agent`. A record is a web record when it has no Zeek `_path`
//! and the map finds a request in it (`request`, `cs-uri` or `cs-uri-stem`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use lasthop_normalise::{LogType, parse_ip};
use serde_json::{Map, Value as Json};

use crate::batch::{Row, Value};
use crate::diagnostics::Reason;
use crate::values::parse_time;
use crate::web::{column_index, request_parts};

/// The columns a map can fill, besides the web table's own (`cs-uri`, `request`).
pub const MAP_COLUMNS: &[&str] = &[
    "ts",
    "c-ip",
    "cs-username",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "cs-uri",
    "request",
    "cs-version",
    "sc-status",
    "sc-bytes",
    "cs-bytes",
    "time-taken",
    "cs-host",
    "s-ip",
    "s-port",
    "cs-referer",
    "cs-user-agent",
];

const BUILT_IN: &[(&str, &[&str])] = &[
    (
        "ts",
        &[
            "@timestamp",
            "timestamp",
            "time",
            "ts",
            "time_iso8601",
            "time_local",
            "StartUTC",
            "start_time",
            "date",
        ],
    ),
    (
        "c-ip",
        &[
            "c-ip",
            "client_ip",
            "clientip",
            "remote_addr",
            "remote_ip",
            "ClientHost",
            "ClientAddr",
            "request.remote_ip",
            "request.client_ip",
            "source.ip",
            "client.ip",
            "client.address",
            "httpRequest.remoteIp",
            "downstream_remote_address",
        ],
    ),
    ("cs-username", &["cs-username", "remote_user", "user.name", "ClientUsername"]),
    (
        "cs-method",
        &[
            "cs-method",
            "request_method",
            "method",
            "RequestMethod",
            "request.method",
            "http.request.method",
            "httpRequest.requestMethod",
        ],
    ),
    ("cs-uri-stem", &["cs-uri-stem", "uri", "url.path", "request_path", "path"]),
    ("cs-uri-query", &["cs-uri-query", "args", "query_string", "url.query", "query"]),
    (
        "cs-uri",
        &[
            "request_uri",
            "request.uri",
            "RequestPath",
            "url.original",
            "httpRequest.requestUrl",
            "url",
        ],
    ),
    ("request", &["request"]),
    (
        "cs-version",
        &["cs-version", "server_protocol", "protocol", "request.proto", "RequestProtocol"],
    ),
    (
        "sc-status",
        &[
            "sc-status",
            "status",
            "status_code",
            "response_code",
            "DownstreamStatus",
            "http.response.status_code",
            "httpRequest.status",
        ],
    ),
    (
        "sc-bytes",
        &[
            "sc-bytes",
            "body_bytes_sent",
            "bytes_sent",
            "size",
            "DownstreamContentSize",
            "http.response.body.bytes",
            "httpRequest.responseSize",
            "bytes",
        ],
    ),
    ("cs-bytes", &["cs-bytes", "request_length", "RequestContentSize", "http.request.body.bytes"]),
    (
        "time-taken",
        &[
            "time-taken",
            "request_time",
            "duration",
            "Duration:ns",
            "event.duration:ns",
            "httpRequest.latency",
        ],
    ),
    (
        "cs-host",
        &[
            "cs-host",
            "host",
            "http_host",
            "server_name",
            "RequestHost",
            "request.host",
            "url.domain",
        ],
    ),
    ("s-ip", &["s-ip", "server_addr", "server_ip", "destination.ip"]),
    ("s-port", &["s-port", "server_port", "destination.port"]),
    (
        "cs-referer",
        &[
            "cs-referer",
            "http_referer",
            "referer",
            "referrer",
            "request_Referer",
            "http.request.referrer",
            "request.headers.Referer",
            "httpRequest.referer",
        ],
    ),
    (
        "cs-user-agent",
        &[
            "cs-user-agent",
            "http_user_agent",
            "user_agent",
            "useragent",
            "request_User-Agent",
            "user_agent.original",
            "request.headers.User-Agent",
            "httpRequest.userAgent",
        ],
    ),
];

/// Which JSON keys hold each web column.
#[derive(Debug, Clone)]
pub struct WebJsonMap {
    keys: BTreeMap<&'static str, Vec<String>>,
}

impl Default for WebJsonMap {
    fn default() -> Self {
        WebJsonMap {
            keys: BUILT_IN
                .iter()
                .map(|(c, keys)| (*c, keys.iter().map(|k| k.to_string()).collect()))
                .collect(),
        }
    }
}

impl WebJsonMap {
    /// The built-in map with the user's keys placed first. An unknown column is an error naming
    /// it.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<WebJsonMap, String> {
        let mut map = WebJsonMap::default();
        for (column, keys) in overrides {
            let Some(column) = MAP_COLUMNS.iter().find(|c| **c == column.as_str()) else {
                return Err(format!(
                    "unknown web column {column:?} (known: {})",
                    MAP_COLUMNS.join(", ")
                ));
            };
            let entry = map.keys.entry(column).or_default();
            for (i, k) in keys.iter().enumerate() {
                entry.insert(i, k.clone());
            }
        }
        Ok(map)
    }

    /// The first value the map finds for `column`, with the unit its key gives; an object (ECS
    /// `user_agent` holding `original`) is a parent, not a value.
    fn find<'a>(&self, object: &'a Map<String, Json>, column: &str) -> Option<(&'a Json, f64)> {
        for key in self.keys.get(column)? {
            let (path, scale) = match key.rsplit_once(':') {
                Some((p, "ns")) => (p, 1e-9),
                Some((p, "us")) => (p, 1e-6),
                Some((p, "ms")) => (p, 1e-3),
                Some((p, "s")) => (p, 1.0),
                _ => (key.as_str(), 1.0),
            };
            if let Some(v) = lookup(object, path).filter(|v| !v.is_null() && !v.is_object()) {
                return Some((v, scale));
            }
        }
        None
    }

    /// The web record in a JSON object, or `None` when it is not one (no request found).
    pub fn parse(
        &self,
        object: &Map<String, Json>,
        line: &str,
        bad: &mut Vec<String>,
    ) -> Option<Result<Row<'static>, (Reason, String)>> {
        let text = |column: &str| -> Option<String> {
            self.find(object, column).and_then(|(v, _)| match v {
                Json::String(s) if s.is_empty() || s == "-" => None,
                Json::String(s) => Some(s.clone()),
                Json::Number(n) => Some(n.to_string()),
                Json::Bool(b) => Some(b.to_string()),
                _ => None,
            })
        };
        let request = text("request");
        let uri = text("cs-uri");
        let stem = text("cs-uri-stem");
        // A request, and something only an access log has beside it: a method or a status.
        let has_method_or_status = request.as_deref().is_some_and(|r| r.contains(' '))
            || text("cs-method").is_some()
            || text("sc-status").is_some();
        if (request.is_none() && uri.is_none() && stem.is_none()) || !has_method_or_status {
            return None;
        }
        let mut row = Row::new(LogType::Web);
        let set = |row: &mut Row<'static>, column: &str, value: Value<'static>| {
            row.values[column_index(column)] = value;
        };
        let owned = |s: &str| Value::Str(Cow::Owned(s.to_string()));
        let ts = match self.find(object, "ts") {
            Some((Json::Number(n), _)) => n.as_f64().and_then(epoch_micros),
            Some((Json::String(s), _)) => parse_time(s).or_else(|| parse_clf_time(s)),
            _ => None,
        };
        let Some(ts) = ts else {
            return Some(Err((Reason::BadTimestamp, "no time the field map recognises".into())));
        };
        set(&mut row, "ts", Value::Time(ts));
        if let Some(client) = text("c-ip") {
            // `1.2.3.4:5678` (Caddy, Envoy) carries the client's port.
            let address = match parse_ip(&client) {
                Some(ip) => Some(ip),
                None => client.rsplit_once(':').and_then(|(a, _)| parse_ip(a)),
            };
            match address {
                Some(ip) => set(&mut row, "c-ip", Value::Addr(ip)),
                None => bad.push("c-ip".into()),
            }
        }
        let (mut method, mut version) = (text("cs-method"), text("cs-version"));
        let (mut stem, mut query) = (stem, text("cs-uri-query"));
        let mut host = text("cs-host");
        // What the client sent wins over a server's normalised path (nginx's `$uri` is decoded
        // and rewritten): the request line, then a full URI, then the stem key.
        let sent = request
            .as_deref()
            .map(|r| {
                let (m, s, q, v) = request_parts(r);
                method = method.take().or(m.map(str::to_string));
                version = version.take().or(v.map(str::to_string));
                (s.to_string(), q.map(str::to_string))
            })
            .or_else(|| {
                uri.as_deref().map(|u| {
                    // An absolute URL (GCP, ECS `url.original`) names the host too.
                    let u = match u.split_once("://") {
                        Some((_, rest)) => {
                            let path_at = rest.find('/').unwrap_or(rest.len());
                            host = host.take().or(Some(rest[..path_at].to_string()));
                            &rest[path_at..]
                        }
                        None => u,
                    };
                    match u.split_once('?') {
                        Some((s, q)) => (s.to_string(), Some(q.to_string())),
                        None => (u.to_string(), None),
                    }
                })
            });
        if let Some((s, q)) = sent {
            stem = Some(s).filter(|s| !s.is_empty()).or(stem);
            query = q.or(query);
        }
        for (column, value) in [
            ("cs-method", method),
            ("cs-version", version),
            ("cs-uri-stem", stem),
            ("cs-uri-query", query),
            ("cs-username", text("cs-username")),
            ("cs-host", host),
            ("cs-referer", text("cs-referer")),
            ("cs-user-agent", text("cs-user-agent")),
        ] {
            if let Some(v) = value {
                set(&mut row, column, owned(&v));
            }
        }
        for column in ["sc-status", "sc-bytes", "cs-bytes"] {
            if let Some(v) = text(column) {
                // `200.0` from a logger that writes every number as a float.
                let whole = v.strip_suffix(".0").unwrap_or(&v);
                match whole.parse::<u64>() {
                    Ok(n) => set(&mut row, column, Value::Count(n)),
                    Err(_) => bad.push(column.into()),
                }
            }
        }
        if let Some(p) = text("s-port") {
            match p.parse::<u16>() {
                Ok(p) => set(&mut row, "s-port", Value::Port(p)),
                Err(_) => bad.push("s-port".into()),
            }
        }
        if let Some(ip) = text("s-ip") {
            match parse_ip(&ip) {
                Some(ip) => set(&mut row, "s-ip", Value::Addr(ip)),
                None => bad.push("s-ip".into()),
            }
        }
        if let Some((v, scale)) = self.find(object, "time-taken") {
            let seconds = match v {
                Json::Number(n) => n.as_f64().map(|n| n * scale),
                Json::String(s) if s.is_empty() || s == "-" => Some(f64::NAN),
                Json::String(s) => duration_seconds(s, scale),
                _ => None,
            };
            match seconds {
                Some(s) if s.is_nan() => {}
                Some(s) if s.is_finite() => set(&mut row, "time-taken", Value::Float(s)),
                _ => bad.push("time-taken".into()),
            }
        }
        set(&mut row, "log_format", Value::Str(Cow::Borrowed("json")));
        set(&mut row, "raw", owned(line));
        Some(Ok(row))
    }
}

/// `0.25`, `250ms`, `1.5s`, `300us`/`300µs`, `12ns` in seconds; a bare number in `scale`.
fn duration_seconds(text: &str, scale: f64) -> Option<f64> {
    let text = text.trim();
    for (suffix, unit) in [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1.0)] {
        if let Some(n) = text.strip_suffix(suffix) {
            return n.trim().parse::<f64>().ok().map(|n| n * unit);
        }
    }
    text.parse::<f64>().ok().map(|n| n * scale)
}

/// A value by dotted path; a key that itself contains dots is tried whole first.
fn lookup<'a>(object: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    if let Some(v) = object.get(path) {
        return Some(first_of_list(v));
    }
    let (head, rest) = path.split_once('.')?;
    match object.get(head)? {
        Json::Object(inner) => lookup(inner, rest),
        _ => None,
    }
}

fn first_of_list(v: &Json) -> &Json {
    match v {
        Json::Array(items) => items.first().unwrap_or(v),
        _ => v,
    }
}

/// Epoch seconds, milliseconds, microseconds or nanoseconds (by magnitude) to microseconds.
fn epoch_micros(n: f64) -> Option<i64> {
    let micros = match n.abs() {
        a if a >= 1e17 => n / 1e3,
        a if a >= 1e14 => n,
        a if a >= 1e11 => n * 1e3,
        _ => n * 1e6,
    };
    micros.is_finite().then_some(micros as i64)
}

/// nginx's `$time_local`: `10/Oct/2000:13:55:36 -0700`.
fn parse_clf_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z")
        .ok()
        .map(|t| t.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Option<Row<'static>> {
        let Json::Object(object) = serde_json::from_str(line).unwrap() else { panic!() };
        let mut bad = Vec::new();
        let row = WebJsonMap::default().parse(&object, line, &mut bad).map(|r| r.unwrap());
        assert!(bad.is_empty(), "{bad:?}");
        row
    }

    fn get<'a>(row: &'a Row<'static>, column: &str) -> &'a Value<'static> {
        &row.values[column_index(column)]
    }

    fn text(s: &str) -> Value<'static> {
        Value::Str(Cow::Owned(s.to_string()))
    }

    #[test]
    fn nginx_caddy_traefik_and_ecs_conventions() {
        let nginx = parse(
            r#"{"time_local":"03/Jun/2024:10:00:00 +0000","remote_addr":"203.0.113.7","request":"GET /a?x=${jndi:ldap://e/a} HTTP/1.1","status":"404","body_bytes_sent":"12","http_referer":"","http_user_agent":"curl/8.1","request_time":"0.003"}"#,
        )
        .unwrap();
        assert_eq!(get(&nginx, "cs-method"), &text("GET"));
        assert_eq!(get(&nginx, "cs-uri-stem"), &text("/a"));
        assert_eq!(get(&nginx, "cs-uri-query"), &text("x=${jndi:ldap://e/a}"));
        assert_eq!(get(&nginx, "sc-status"), &Value::Count(404));
        assert_eq!(get(&nginx, "cs-referer"), &Value::Null);
        assert_eq!(get(&nginx, "time-taken"), &Value::Float(0.003));
        assert_eq!(get(&nginx, "ts"), &Value::Time(1_717_408_800_000_000));

        let caddy = parse(
            r#"{"level":"info","ts":1717408800.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"198.51.100.9","remote_port":"5555","proto":"HTTP/2.0","method":"POST","host":"wiki.example","uri":"/pages/doenterpagevariables.action?queryString=x","headers":{"User-Agent":["python-requests/2.31"]}},"duration":0.25,"size":99,"status":200}"#,
        )
        .unwrap();
        assert_eq!(get(&caddy, "cs-method"), &text("POST"));
        assert_eq!(get(&caddy, "cs-host"), &text("wiki.example"));
        assert_eq!(get(&caddy, "cs-uri-stem"), &text("/pages/doenterpagevariables.action"));
        assert_eq!(get(&caddy, "cs-uri-query"), &text("queryString=x"));
        assert_eq!(get(&caddy, "cs-user-agent"), &text("python-requests/2.31"));
        assert_eq!(get(&caddy, "cs-version"), &text("HTTP/2.0"));
        assert_eq!(get(&caddy, "sc-bytes"), &Value::Count(99));
        assert_eq!(get(&caddy, "ts"), &Value::Time(1_717_408_800_500_000));

        let traefik = parse(
            r#"{"ClientHost":"192.0.2.4","RequestMethod":"GET","RequestPath":"/owa/auth.owa","RequestHost":"mail.example","DownstreamStatus":302,"Duration":2500000,"StartUTC":"2024-06-03T10:00:00.000Z","request_User-Agent":"Mozilla/5.0"}"#,
        )
        .unwrap();
        assert_eq!(get(&traefik, "time-taken"), &Value::Float(0.0025));
        assert_eq!(get(&traefik, "sc-status"), &Value::Count(302));
        assert_eq!(get(&traefik, "cs-uri-stem"), &text("/owa/auth.owa"));

        let ecs = parse(
            r#"{"@timestamp":"2024-06-03T10:00:00Z","source":{"ip":"2001:db8::7"},"http":{"request":{"method":"GET"},"response":{"status_code":200}},"url":{"path":"/autodiscover/autodiscover.json","query":"@x.com/mapi/nspi"},"user_agent":{"original":"Mozilla/5.0 zgrab"}}"#,
        )
        .unwrap();
        assert_eq!(get(&ecs, "cs-uri-query"), &text("@x.com/mapi/nspi"));
        assert_eq!(get(&ecs, "cs-user-agent"), &text("Mozilla/5.0 zgrab"));
        assert!(matches!(get(&ecs, "c-ip"), Value::Addr(_)));
    }

    #[test]
    fn not_a_request_is_not_a_web_record_and_a_user_map_comes_first() {
        assert!(parse(r#"{"ts":1717408800,"msg":"started"}"#).is_none());
        assert!(parse(r#"{"ts":1717408800,"path":"/var/log","msg":"rotated"}"#).is_none());
        // The request line wins over nginx's normalised `$uri`, and keeps its query.
        let row = parse(
            r#"{"time_iso8601":"2024-06-03T10:00:00Z","remote_addr":"192.0.2.1","request":"GET /a/..%2f..%2fetc/passwd?x=1 HTTP/1.1","uri":"/etc/passwd","status":"404.0","request_time":"-"}"#,
        )
        .unwrap();
        assert_eq!(get(&row, "cs-uri-stem"), &text("/a/..%2f..%2fetc/passwd"));
        assert_eq!(get(&row, "cs-uri-query"), &text("x=1"));
        assert_eq!(get(&row, "sc-status"), &Value::Count(404));
        assert_eq!(get(&row, "time-taken"), &Value::Null);
        // An absolute URL gives the host and a path; durations with units.
        let row = parse(
            r#"{"timestamp":"2024-06-03T10:00:00Z","httpRequest":{"requestMethod":"GET","requestUrl":"https://mail.example/owa/?a=b","status":200,"remoteIp":"192.0.2.1","latency":"0.25s"}}"#,
        )
        .unwrap();
        assert_eq!(get(&row, "cs-uri-stem"), &text("/owa/"));
        assert_eq!(get(&row, "cs-host"), &text("mail.example"));
        assert_eq!(duration_seconds("250ms", 1.0), Some(0.25));
        let mut overrides = BTreeMap::new();
        overrides.insert("cs-uri".to_string(), vec!["fullUrl".to_string()]);
        overrides.insert("time-taken".to_string(), vec!["elapsed:ms".to_string()]);
        let map = WebJsonMap::with_overrides(&overrides).unwrap();
        let line = r#"{"ts":1717408800,"fullUrl":"/x.jsp?cmd=id","uri":"/other","method":"GET","elapsed":250}"#;
        let Json::Object(object) = serde_json::from_str(line).unwrap() else { panic!() };
        let row = map.parse(&object, line, &mut Vec::new()).unwrap().unwrap();
        assert_eq!(get(&row, "cs-uri-stem"), &text("/x.jsp"));
        assert_eq!(get(&row, "time-taken"), &Value::Float(0.25));
        let mut wrong = BTreeMap::new();
        wrong.insert("c_ip".to_string(), vec![]);
        assert!(WebJsonMap::with_overrides(&wrong).unwrap_err().contains("c_ip"));
    }
}
