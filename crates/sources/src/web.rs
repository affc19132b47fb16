//! Web-server access logs into the `web` table, in the Sigma webserver taxonomy's fields.
//!
//! - **Combined / common** (Apache, Nginx): `%h %l %u %t "%r" %>s %b`, optionally followed by
//!   `"%{Referer}i" "%{User-Agent}i"`, optionally preceded by a virtual host (`%v` or `%v:%p`,
//!   Apache's `vhost_combined`), optionally followed by a request time: a number with a decimal
//!   point is seconds (Nginx `$request_time`), a whole number microseconds (Apache `%D`). Further
//!   quoted fields are kept as extras (`field_1`, …).
//! - **IIS W3C extended**: `#Fields:` names the columns of the lines after it, in any order, and a
//!   later `#Fields:` replaces it; `date` + `time` are UTC; `time-taken` is milliseconds; `+`
//!   in the user agent stands for a space; unknown fields are kept as extras.
//!
//! Every record keeps its raw line (`raw`) for Sigma keyword rules.

use std::borrow::Cow;

use lasthop_normalise::{LogType, columns, parse_ip};

use crate::batch::{Row, Value};
use crate::diagnostics::Reason;

/// What a malformed line is reported as.
pub type LineError = (Reason, String);

/// Whether a line is an Apache/Nginx combined or common log line: a bracketed time after three or
/// four space-separated tokens, then a quoted request.
pub fn looks_like_access_log(line: &str) -> bool {
    let Some(open) = line.find(" [") else { return false };
    let prefix_tokens = line[..open].split(' ').count();
    let Some(close) = line[open..].find("] \"") else { return false };
    (3..=4).contains(&prefix_tokens) && parse_clf_time(&line[open + 2..open + close]).is_some()
}

/// Whether a first line opens an IIS W3C extended log (as opposed to a Zeek TSV header).
pub fn looks_like_w3c(line: &str) -> bool {
    ["#Software:", "#Version:", "#Fields:", "#Date:", "#Start-Date:"]
        .iter()
        .any(|p| line.starts_with(p))
}

/// `10/Oct/2000:13:55:36 -0700` to microseconds since the epoch.
fn parse_clf_time(text: &str) -> Option<i64> {
    fast_clf_time(text).or_else(|| {
        chrono::DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z")
            .ok()
            .map(|t| t.timestamp_micros())
    })
}

/// The fixed-width form every server writes (`03/Jun/2024:10:00:00 +0000`), without chrono's
/// format interpreter, which was a tenth of parsing an access log.
fn fast_clf_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range]
            .iter()
            .try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + (d - b'0') as i64))
    };
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = MONTHS.iter().position(|m| m[..] == b[3..6])? as u32 + 1;
    let date = chrono::NaiveDate::from_ymd_opt(num(7..11)? as i32, month, num(0..2)? as u32)?;
    let time = date.and_hms_opt(num(12..14)? as u32, num(15..17)? as u32, num(18..20)? as u32)?;
    let offset = (num(22..24)? * 60 + num(24..26)?) * 60;
    let offset = match b[21] {
        b'+' => offset,
        b'-' => -offset,
        _ => return None,
    };
    Some((time.and_utc().timestamp() - offset) * 1_000_000)
}

/// The position of a web column (Sigma name, `c-ip`).
pub(crate) fn column_index(name: &str) -> usize {
    column(name)
}

fn column(name: &str) -> usize {
    columns(LogType::Web)
        .iter()
        .position(|c| c.zeek == name)
        .unwrap_or_else(|| panic!("the web schema has {name}"))
}

/// Column positions, looked up once.
struct Columns {
    ts: usize,
    c_ip: usize,
    username: usize,
    method: usize,
    stem: usize,
    query: usize,
    version: usize,
    status: usize,
    sc_bytes: usize,
    cs_bytes: usize,
    time_taken: usize,
    host: usize,
    s_ip: usize,
    s_port: usize,
    referer: usize,
    user_agent: usize,
    format: usize,
    raw: usize,
}

fn cols() -> &'static Columns {
    static C: std::sync::OnceLock<Columns> = std::sync::OnceLock::new();
    C.get_or_init(|| Columns {
        ts: column("ts"),
        c_ip: column("c-ip"),
        username: column("cs-username"),
        method: column("cs-method"),
        stem: column("cs-uri-stem"),
        query: column("cs-uri-query"),
        version: column("cs-version"),
        status: column("sc-status"),
        sc_bytes: column("sc-bytes"),
        cs_bytes: column("cs-bytes"),
        time_taken: column("time-taken"),
        host: column("cs-host"),
        s_ip: column("s-ip"),
        s_port: column("s-port"),
        referer: column("cs-referer"),
        user_agent: column("cs-user-agent"),
        format: column("log_format"),
        raw: column("raw"),
    })
}

fn text_or_null(v: &str) -> Value<'_> {
    if v.is_empty() || v == "-" { Value::Null } else { Value::Str(Cow::Borrowed(v)) }
}

fn count_or_null(v: &str, field: &'static str, bad: &mut Vec<&'static str>) -> Value<'static> {
    match v {
        "" | "-" => Value::Null,
        v => match v.parse::<u64>() {
            Ok(n) => Value::Count(n),
            Err(_) => {
                bad.push(field);
                Value::Null
            }
        },
    }
}

/// Splits a request line `GET /a/b?x=1 HTTP/1.1` into method, stem, query and version; a request
/// that is not three tokens (garbage, a TLS handshake on a plain port) is kept whole as the stem.
pub(crate) fn request_parts(request: &str) -> (Option<&str>, &str, Option<&str>, Option<&str>) {
    let mut parts = request.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(uri), version)
            if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            let (stem, query) = match uri.split_once('?') {
                Some((s, q)) => (s, Some(q)),
                None => (uri, None),
            };
            (Some(m), stem, query, version)
        }
        _ => (None, request, None, None),
    }
}

/// Reads the quoted field starting at `s` (which begins with `"`); returns its text (with `\"`
/// left as written) and the rest after the closing quote.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some((&body[..i], &body[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// The quoted request, which servers such as Tomcat log without escaping its quotes
/// (`"GET /a?x="><script> HTTP/1.1" 404 997`): it ends at the quote followed by a status and a
/// size, else at the first unescaped quote.
fn quoted_request(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('"')?;
    let followed_by_status = |after: &str| {
        let mut f = after.strip_prefix(' ').unwrap_or("x").splitn(3, ' ');
        let status = f.next().unwrap_or("");
        let size = f.next().unwrap_or("");
        (status == "-" || (status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit())))
            && (size == "-" || (!size.is_empty() && size.bytes().all(|b| b.is_ascii_digit())))
    };
    for (i, _) in body.match_indices('"') {
        if followed_by_status(&body[i + 1..]) {
            return Some((&body[..i], &body[i + 1..]));
        }
    }
    quoted(s)
}

/// Parses one combined/common line into `row`; `bad` collects fields that did not fit their type.
pub fn parse_access_line<'a>(
    line: &'a str,
    row: &mut Row<'a>,
    bad: &mut Vec<&'static str>,
) -> Result<(), LineError> {
    let c = cols();
    let malformed = |what: &str| (Reason::BadValue, format!("not an access-log line: {what}"));
    let open = line.find(" [").ok_or_else(|| malformed("no [time]"))?;
    let close = open + line[open..].find(']').ok_or_else(|| malformed("unterminated [time]"))?;
    let ts = parse_clf_time(&line[open + 2..close])
        .ok_or_else(|| (Reason::BadTimestamp, format!("time {:?}", &line[open + 2..close])))?;
    let prefix: Vec<&str> = line[..open].split(' ').collect();
    let (vhost, client, user) = match prefix.as_slice() {
        [client, _ident, user] => (None, *client, *user),
        [vhost, client, _ident, user] => (Some(*vhost), *client, *user),
        _ => return Err(malformed("expected 3 or 4 fields before the time")),
    };
    row.values[c.ts] = Value::Time(ts);
    match parse_ip(client) {
        Some(ip) => row.values[c.c_ip] = Value::Addr(ip),
        None => {
            // A proxy in front may log a name; keep it rather than lose the line.
            bad.push("c-ip");
            row.extras.push((Cow::Borrowed("c-host"), Some(Cow::Borrowed(client))));
        }
    }
    row.values[c.username] = text_or_null(user);
    if let Some(vhost) = vhost {
        let (host, port) = match vhost.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, p.parse::<u16>().ok()),
            _ => (vhost, None),
        };
        row.values[c.host] = text_or_null(host);
        if let Some(p) = port {
            row.values[c.s_port] = Value::Port(p);
        }
    }
    let rest = line[close + 1..].trim_start();
    let (request, rest) = quoted_request(rest).ok_or_else(|| malformed("no quoted request"))?;
    let (method, stem, query, version) = request_parts(request);
    row.values[c.method] = method.map_or(Value::Null, |m| Value::Str(Cow::Borrowed(m)));
    row.values[c.stem] = text_or_null(stem);
    row.values[c.query] = query.map_or(Value::Null, |q| Value::Str(Cow::Borrowed(q)));
    row.values[c.version] = version.map_or(Value::Null, |v| Value::Str(Cow::Borrowed(v)));
    let mut fields = rest.trim_start().splitn(3, ' ');
    row.values[c.status] = count_or_null(fields.next().unwrap_or(""), "sc-status", bad);
    row.values[c.sc_bytes] = count_or_null(fields.next().unwrap_or(""), "sc-bytes", bad);
    let mut rest = fields.next().unwrap_or("").trim_start();
    let mut quoted_fields = 0;
    let mut format = "common";
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let (value, after) = quoted(rest).ok_or_else(|| malformed("unterminated quote"))?;
            match quoted_fields {
                0 => row.values[c.referer] = text_or_null(value),
                1 => {
                    row.values[c.user_agent] = text_or_null(value);
                    format = "combined";
                }
                n => row
                    .extras
                    .push((Cow::Owned(format!("field_{}", n - 1)), Some(Cow::Borrowed(value)))),
            }
            quoted_fields += 1;
            rest = after.trim_start();
        } else {
            let (token, after) = rest.split_once(' ').unwrap_or((rest, ""));
            let seconds = if token.contains('.') {
                token.parse::<f64>().ok()
            } else {
                token.parse::<u64>().ok().map(|us| us as f64 / 1e6)
            };
            match seconds {
                Some(s) if row.values[c.time_taken] == Value::Null => {
                    row.values[c.time_taken] = Value::Float(s)
                }
                _ => row.extras.push((
                    Cow::Owned(format!("field_{}", quoted_fields + 1)),
                    Some(Cow::Borrowed(token)),
                )),
            }
            rest = after.trim_start();
        }
    }
    let format = if vhost.is_some() { format!("{format}+vhost") } else { format.to_string() };
    row.values[c.format] = Value::Str(Cow::Owned(format));
    row.values[c.raw] = Value::Str(Cow::Borrowed(line));
    Ok(())
}

/// The columns of an IIS W3C log, from its last `#Fields:` line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct W3cHeader {
    fields: Vec<String>,
}

impl W3cHeader {
    /// Applies a `#` directive; only `#Fields:` matters.
    pub fn apply(&mut self, line: &str) {
        if let Some(fields) = line.strip_prefix("#Fields:") {
            self.fields = fields.split_whitespace().map(str::to_string).collect();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Parses one W3C data line into `row`.
    pub fn parse_line<'a>(
        &'a self,
        line: &'a str,
        row: &mut Row<'a>,
        bad: &mut Vec<&'static str>,
    ) -> Result<(), LineError> {
        let c = cols();
        let values: Vec<&str> = line.split(' ').collect();
        if values.len() != self.fields.len() {
            return Err((
                Reason::WrongFieldCount,
                format!("expected {} fields, found {}", self.fields.len(), values.len()),
            ));
        }
        let (mut date, mut time) = (None, None);
        for (name, value) in self.fields.iter().zip(values) {
            let target = match name.to_ascii_lowercase().as_str() {
                "date" => {
                    date = Some(value);
                    continue;
                }
                "time" => {
                    time = Some(value);
                    continue;
                }
                "c-ip" => {
                    match parse_ip(value) {
                        Some(ip) => row.values[c.c_ip] = Value::Addr(ip),
                        None if value == "-" => {}
                        None => bad.push("c-ip"),
                    }
                    continue;
                }
                "s-ip" => {
                    match parse_ip(value) {
                        Some(ip) => row.values[c.s_ip] = Value::Addr(ip),
                        None if value == "-" => {}
                        None => bad.push("s-ip"),
                    }
                    continue;
                }
                "s-port" => {
                    match value.parse::<u16>() {
                        Ok(p) => row.values[c.s_port] = Value::Port(p),
                        Err(_) if value == "-" => {}
                        Err(_) => bad.push("s-port"),
                    }
                    continue;
                }
                "sc-status" => {
                    row.values[c.status] = count_or_null(value, "sc-status", bad);
                    continue;
                }
                "sc-bytes" => {
                    row.values[c.sc_bytes] = count_or_null(value, "sc-bytes", bad);
                    continue;
                }
                "cs-bytes" => {
                    row.values[c.cs_bytes] = count_or_null(value, "cs-bytes", bad);
                    continue;
                }
                "time-taken" => {
                    if let Value::Count(ms) = count_or_null(value, "time-taken", bad) {
                        row.values[c.time_taken] = Value::Float(ms as f64 / 1000.0);
                    }
                    continue;
                }
                "cs-method" => c.method,
                "cs-uri-stem" => c.stem,
                "cs-uri-query" => c.query,
                "cs-username" => c.username,
                "cs-version" => c.version,
                "cs-host" | "cs(host)" => c.host,
                "cs(referer)" | "cs(referrer)" => c.referer,
                "cs(user-agent)" => c.user_agent,
                _ => {
                    row.extras.push((
                        Cow::Borrowed(name.as_str()),
                        (value != "-").then_some(Cow::Borrowed(value)),
                    ));
                    continue;
                }
            };
            row.values[target] = if target == c.user_agent && value.contains('+') {
                Value::Str(Cow::Owned(value.replace('+', " ")))
            } else {
                text_or_null(value)
            };
        }
        let ts = match (date, time) {
            (Some(d), Some(t)) => {
                chrono::NaiveDateTime::parse_from_str(&format!("{d} {t}"), "%Y-%m-%d %H:%M:%S%.f")
                    .ok()
                    .map(|dt| dt.and_utc().timestamp_micros())
            }
            _ => None,
        };
        let Some(ts) = ts else {
            return Err((Reason::BadTimestamp, format!("date/time {:?} {:?}", date, time)));
        };
        row.values[c.ts] = Value::Time(ts);
        row.values[c.format] = Value::Str(Cow::Borrowed("iis-w3c"));
        row.values[c.raw] = Value::Str(Cow::Borrowed(line));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(row: &'a Row<'_>, name: &str) -> &'a Value<'a> {
        &row.values[column(name)]
    }

    #[test]
    fn clf_times_with_offsets_agree_with_chrono() {
        for t in [
            "03/Jun/2024:10:00:00 +0000",
            "11/Jul/2018:14:03:09 +0300",
            "31/Dec/1999:23:59:59 -0930",
        ] {
            let slow = chrono::DateTime::parse_from_str(t, "%d/%b/%Y:%H:%M:%S %z").unwrap();
            assert_eq!(fast_clf_time(t), Some(slow.timestamp_micros()), "{t}");
        }
        assert_eq!(fast_clf_time("32/Jun/2024:10:00:00 +0000"), None);
        assert_eq!(fast_clf_time("03/Jux/2024:10:00:00 +0000"), None);
        // Anything unusual goes to chrono.
        assert!(parse_clf_time("3/Jun/2024:10:00:00 +0000").is_some());
    }

    #[test]
    fn combined_with_vhost_and_request_time() {
        let line = r#"www.example.com:443 203.0.113.7 - alice [10/Oct/2024:13:55:36 -0700] "POST /uploads/help.aspx?cmd=whoami HTTP/1.1" 200 2326 "https://www.example.com/" "Mozilla/5.0 (x) \"q\"" 0.005"#;
        assert!(looks_like_access_log(line));
        let mut row = Row::new(LogType::Web);
        let mut bad = Vec::new();
        parse_access_line(line, &mut row, &mut bad).unwrap();
        assert!(bad.is_empty());
        assert_eq!(value(&row, "ts"), &Value::Time(1_728_593_736_000_000));
        assert_eq!(value(&row, "c-ip"), &Value::Addr(parse_ip("203.0.113.7").unwrap()));
        assert_eq!(value(&row, "cs-username"), &Value::Str("alice".into()));
        assert_eq!(value(&row, "cs-host"), &Value::Str("www.example.com".into()));
        assert_eq!(value(&row, "s-port"), &Value::Port(443));
        assert_eq!(value(&row, "cs-method"), &Value::Str("POST".into()));
        assert_eq!(value(&row, "cs-uri-stem"), &Value::Str("/uploads/help.aspx".into()));
        assert_eq!(value(&row, "cs-uri-query"), &Value::Str("cmd=whoami".into()));
        assert_eq!(value(&row, "sc-status"), &Value::Count(200));
        assert_eq!(value(&row, "sc-bytes"), &Value::Count(2326));
        assert_eq!(value(&row, "cs-user-agent"), &Value::Str(r#"Mozilla/5.0 (x) \"q\""#.into()));
        assert_eq!(value(&row, "time-taken"), &Value::Float(0.005));
        assert_eq!(value(&row, "log_format"), &Value::Str("combined+vhost".into()));
        assert_eq!(value(&row, "raw"), &Value::Str(line.into()));
    }

    #[test]
    fn common_format_garbage_requests_and_bad_lines() {
        let line = r#"::1 - - [01/Jan/2024:00:00:00 +0000] "\x16\x03\x01" 400 - "#;
        let mut row = Row::new(LogType::Web);
        let mut bad = Vec::new();
        parse_access_line(line.trim_end(), &mut row, &mut bad).unwrap();
        assert_eq!(value(&row, "cs-method"), &Value::Null);
        assert_eq!(value(&row, "cs-uri-stem"), &Value::Str(r"\x16\x03\x01".into()));
        assert_eq!(value(&row, "sc-bytes"), &Value::Null);
        assert_eq!(value(&row, "log_format"), &Value::Str("common".into()));
        let mut row = Row::new(LogType::Web);
        assert_eq!(
            parse_access_line(
                r#"1.2.3.4 - - [99/Foo/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
                &mut row,
                &mut bad
            )
            .unwrap_err()
            .0,
            Reason::BadTimestamp
        );
        let tomcat = r#"192.168.105.64 - - [11/Jul/2018:10:30:59 +0300] "GET /WebID/IISWebAgentIF.dll?postdata="><script>foo</script> HTTP/1.1" 404 997"#;
        let mut row = Row::new(LogType::Web);
        let mut bad = Vec::new();
        parse_access_line(tomcat, &mut row, &mut bad).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(
            value(&row, "cs-uri-query"),
            &Value::Str(r#"postdata="><script>foo</script>"#.into())
        );
        assert_eq!(value(&row, "sc-status"), &Value::Count(404));
        assert!(!looks_like_access_log("#fields\tts\tuid"));
        assert!(!looks_like_access_log(r#"{"ts": 1}"#));
    }

    #[test]
    fn iis_fields_in_any_order_with_a_second_header() {
        let mut header = W3cHeader::default();
        assert!(looks_like_w3c("#Software: Microsoft Internet Information Services 10.0"));
        header.apply("#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken");
        let line = "2024-03-01 10:00:01 10.0.0.5 POST /conn.aspx proxy 443 - 198.51.100.9 python-requests/2.31.0+(x) - 200 0 0 15";
        let mut row = Row::new(LogType::Web);
        let mut bad = Vec::new();
        header.parse_line(line, &mut row, &mut bad).unwrap();
        assert_eq!(value(&row, "ts"), &Value::Time(1_709_287_201_000_000));
        assert_eq!(value(&row, "cs-uri-query"), &Value::Str("proxy".into()));
        assert_eq!(value(&row, "cs-user-agent"), &Value::Str("python-requests/2.31.0 (x)".into()));
        assert_eq!(value(&row, "time-taken"), &Value::Float(0.015));
        assert_eq!(value(&row, "s-ip"), &Value::Addr(parse_ip("10.0.0.5").unwrap()));
        assert_eq!(row.extras.len(), 2, "sc-substatus and sc-win32-status kept: {:?}", row.extras);
        header.apply("#Fields: c-ip date time cs-uri-stem sc-status");
        let mut row = Row::new(LogType::Web);
        header.parse_line("192.0.2.1 2024-03-01 10:00:02 /owa/ 302", &mut row, &mut bad).unwrap();
        assert_eq!(value(&row, "sc-status"), &Value::Count(302));
        let mut row = Row::new(LogType::Web);
        assert_eq!(
            header.parse_line("192.0.2.1 2024-03-01", &mut row, &mut bad).unwrap_err().0,
            Reason::WrongFieldCount
        );
    }
}
