//! STIX 2.1 bundles, through the `rstix` crate (its typed `Indicator` and pattern parser).
//!
//! Each `indicator` object is parsed on its own, so one malformed object is reported (with the
//! line its id is on) and the rest of the bundle kept. Supported patterns are single observations
//! whose comparisons are `=` or `IN` joined by `OR`, on:
//! `ipv4-addr:value`, `ipv6-addr:value` (addresses or CIDR), `domain-name:value`, `url:value`,
//! `file:hashes.*` (MD5, SHA-1, SHA-256), `x509-certificate:hashes.*`, and
//! `network-traffic:dst_ref.value`/`src_ref.value`. Every other pattern (several observations,
//! `AND`, `NOT`, `LIKE`/`MATCHES`, qualifiers, other object types, non-STIX pattern languages)
//! is reported as unsupported: lasthop does not pretend to evaluate what it cannot.
//!
//! `valid_from`/`valid_until` bound when an indicator matches; `revoked` indicators are skipped.
//! The feed is named after the `identity` that created the indicator when the bundle has it.

use std::collections::HashMap;
use std::path::Path;

use lasthop_common::Reason;
use rstix::model::sdo::Indicator as StixIndicator;
use rstix::model::sdo::IndicatorPattern;
use serde_json::Value;

use super::{FeedReport, line_of, parse_time, short};
use crate::indicators::{Indicator, IndicatorKind, classify, normalise_hash};

pub(crate) fn is_bundle(json: &Value) -> bool {
    json.get("type").and_then(Value::as_str) == Some("bundle")
}

pub(crate) fn read(path: &Path, feed: &str, text: &str, json: &Value, report: &mut FeedReport) {
    let Some(objects) = json.get("objects").and_then(Value::as_array) else {
        report.diagnostics.warn(path, 1, Reason::BadIndicator, "bundle without `objects`".into());
        return;
    };
    let identities: HashMap<&str, &str> = objects
        .iter()
        .filter(|o| o.get("type").and_then(Value::as_str) == Some("identity"))
        .filter_map(|o| Some((o.get("id")?.as_str()?, o.get("name")?.as_str()?)))
        .collect();
    for (index, object) in objects.iter().enumerate() {
        if object.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        let id = object.get("id").and_then(Value::as_str).unwrap_or("");
        let line = line_of(text, id);
        let at = if id.is_empty() { format!("object {index}") } else { id.to_string() };
        let parsed: StixIndicator = match serde_json::from_value(object.clone()) {
            Ok(i) => i,
            Err(e) => {
                report.diagnostics.warn(path, line, Reason::BadIndicator, format!("{at}: {e}"));
                continue;
            }
        };
        if parsed.common.revoked == Some(true) {
            report.context_only += 1;
            continue;
        }
        let values = match &parsed.pattern {
            IndicatorPattern::Stix { parsed: pattern, raw, .. } => {
                match simple_values(&pattern.canonical()) {
                    Ok(values) => values,
                    Err(why) => {
                        report.diagnostics.warn(
                            path,
                            line,
                            Reason::UnsupportedIndicator,
                            format!("{at}: pattern {:?}: {why}", short(raw)),
                        );
                        continue;
                    }
                }
            }
            IndicatorPattern::Other { pattern_type, .. } => {
                report.diagnostics.warn(
                    path,
                    line,
                    Reason::UnsupportedIndicator,
                    format!("{at}: {pattern_type} patterns are not matched against network logs"),
                );
                continue;
            }
        };
        let creator = parsed
            .common
            .created_by_ref
            .as_ref()
            .and_then(|r| identities.get(r.as_stix_id().as_str()).copied());
        let feed = match creator {
            Some(name) => format!("{name} ({feed})"),
            None => feed.to_string(),
        };
        let mut context: Vec<String> = Vec::new();
        context.extend(parsed.name.clone());
        if !parsed.indicator_types.is_empty() {
            context.push(parsed.indicator_types.join(", "));
        }
        if !parsed.common.labels.is_empty() {
            context.push(parsed.common.labels.join(", "));
        }
        for (kind, value) in values {
            let mut indicator = Indicator::new(kind, value, &feed);
            indicator.valid_from = parse_time(&parsed.valid_from.to_rfc3339());
            indicator.valid_until =
                parsed.valid_until.as_ref().and_then(|t| parse_time(&t.to_rfc3339()));
            indicator.context = (!context.is_empty()).then(|| short(&context.join("; ")));
            indicator.reference = Some(id.to_string());
            report.indicators.add(indicator);
        }
    }
}

/// The values of a pattern made of `=`/`IN` comparisons joined by `OR`, or why it is not one.
///
/// rstix parses and type-checks the pattern; its comparison tree is not public, so the values
/// are read back from its canonical printing, a form with one space between tokens and strings
/// always single-quoted.
fn simple_values(canonical: &str) -> Result<Vec<(IndicatorKind, String)>, String> {
    let tokens = tokenise(canonical)?;
    let mut out = Vec::new();
    let mut i = 0;
    let next = |i: &mut usize| {
        let t = tokens.get(*i).cloned();
        *i += 1;
        t
    };
    loop {
        match next(&mut i) {
            Some(Token::Open('[')) => {}
            Some(t) => return Err(format!("{} outside an observation", t.describe())),
            None => return Err("empty pattern".into()),
        }
        loop {
            let path = match next(&mut i) {
                Some(Token::Word(w)) => w,
                Some(t) => {
                    return Err(format!("{} where an object path was expected", t.describe()));
                }
                None => return Err("unterminated observation".into()),
            };
            let kind = path_kind(&path)?;
            let constants = match (next(&mut i), next(&mut i)) {
                (Some(Token::Word(op)), Some(Token::Str(v))) if op == "=" => vec![v],
                (Some(Token::Word(op)), Some(Token::Open('('))) if op == "IN" => {
                    let mut items = Vec::new();
                    loop {
                        match next(&mut i) {
                            Some(Token::Str(v)) => items.push(v),
                            Some(Token::Word(w)) if w == "," => {}
                            Some(Token::Close(')')) => break items,
                            _ => return Err("malformed IN list".into()),
                        }
                    }
                }
                (Some(Token::Word(op)), _) => return Err(format!("operator {op}")),
                _ => return Err("comparison without an operator".into()),
            };
            for text in constants {
                let value = match kind {
                    IndicatorKind::FileHash | IndicatorKind::CertFingerprint => {
                        normalise_hash(&text).map(|h| (kind, h))
                    }
                    _ => classify(&text).filter(|(found, _)| {
                        *found == kind
                            || (kind == IndicatorKind::Ip && *found == IndicatorKind::Prefix)
                    }),
                };
                out.push(value.ok_or_else(|| format!("{:?} is not a valid {kind}", short(&text)))?);
            }
            match next(&mut i) {
                Some(Token::Close(']')) => break,
                Some(Token::Word(w)) if w == "OR" => {}
                Some(t) => return Err(format!("{} inside an observation", t.describe())),
                None => return Err("unterminated observation".into()),
            }
        }
        match next(&mut i) {
            None => return Ok(out),
            Some(Token::Word(w)) if w == "OR" => {}
            Some(t) => return Err(format!("{} between observations", t.describe())),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open(char),
    Close(char),
    /// A quoted string or a hex/base64 literal, unescaped (hex as lower-case hex text).
    Str(String),
    /// An operator, keyword or object path (which may contain a quoted dictionary key).
    Word(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Open(c) | Token::Close(c) => format!("{c:?}"),
            Token::Str(s) => format!("{:?}", short(s)),
            Token::Word(w) => w.clone(),
        }
    }
}

fn tokenise(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let quoted = |i: &mut usize| -> Result<String, String> {
        let mut s = String::new();
        *i += 1;
        while *i < chars.len() {
            match chars[*i] {
                '\\' if *i + 1 < chars.len() => {
                    s.push(chars[*i + 1]);
                    *i += 2;
                }
                '\'' => {
                    *i += 1;
                    return Ok(s);
                }
                c => {
                    s.push(c);
                    *i += 1;
                }
            }
        }
        Err("unterminated string".into())
    };
    while i < chars.len() {
        match chars[i] {
            c if c.is_whitespace() => i += 1,
            c @ ('[' | '(') => {
                out.push(Token::Open(c));
                i += 1;
            }
            c @ (']' | ')') => {
                out.push(Token::Close(c));
                i += 1;
            }
            ',' => {
                out.push(Token::Word(",".into()));
                i += 1;
            }
            '\'' => out.push(Token::Str(quoted(&mut i)?)),
            'h' | 'b' if chars.get(i + 1) == Some(&'\'') => {
                let binary = chars[i] == 'b';
                i += 1;
                let body = quoted(&mut i)?;
                if binary {
                    return Err("binary constants are not matched".into());
                }
                out.push(Token::Str(body.to_ascii_lowercase()));
            }
            _ => {
                let mut word = String::new();
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '[' | ']' | '(' | ')' | ',')
                {
                    if chars[i] == '\'' {
                        word.push('\'');
                        word.push_str(&quoted(&mut i)?);
                        word.push('\'');
                    } else {
                        word.push(chars[i]);
                        i += 1;
                    }
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

/// The kind an object path's values are, for the paths lasthop matches.
fn path_kind(path: &str) -> Result<IndicatorKind, String> {
    let unsupported = || Err(format!("object path {path} is not matched"));
    let Some((object, property)) = path.split_once(':') else { return unsupported() };
    let property = property.replace('\'', "").to_ascii_lowercase();
    let is_hash = |p: &str| {
        p.strip_prefix("hashes.")
            .is_some_and(|a| matches!(a, "md5" | "sha-1" | "sha1" | "sha-256" | "sha256"))
    };
    Ok(match (object, property.as_str()) {
        ("ipv4-addr" | "ipv6-addr", "value") => IndicatorKind::Ip,
        ("domain-name", "value") => IndicatorKind::Domain,
        ("url", "value") => IndicatorKind::Url,
        ("network-traffic", "dst_ref.value" | "src_ref.value") => IndicatorKind::Ip,
        ("file", p) if is_hash(p) => IndicatorKind::FileHash,
        ("x509-certificate", p) if is_hash(p) => IndicatorKind::CertFingerprint,
        _ => return unsupported(),
    })
}
