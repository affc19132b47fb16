//! CSV feeds with a header row. Columns are found by name, case-insensitively, with the
//! synonyms exporters use:
//!
//! | role | header names |
//! |---|---|
//! | value (required) | `indicator`, `value`, `ioc`, `observable`, `ioc_value` |
//! | type | `type`, `indicator_type`, `ioc_type`, `kind` |
//! | context | `description`, `comment`, `context`, `threat`, `malware`, `tags`, `category` |
//! | reference | `reference`, `link`, `source`, `report` |
//! | validity | `valid_from`, `valid_until` (`expires`, `expiration`) |
//! | reported activity | `first_seen`, `last_seen` |
//!
//! Without a type column each value is classified by its form. Dates are `YYYY-MM-DD`,
//! RFC 3339 or epoch seconds.

use std::path::Path;

use lasthop_common::Reason;

use super::{FeedReport, parse_time, short, typed_indicator};

const VALUE: &[&str] = &["indicator", "value", "ioc", "observable", "ioc_value"];
const TYPE: &[&str] = &["type", "indicator_type", "ioc_type", "kind"];
const CONTEXT: &[&str] =
    &["description", "comment", "context", "threat", "malware", "tags", "category"];
const REFERENCE: &[&str] = &["reference", "link", "source", "report"];
const VALID_FROM: &[&str] = &["valid_from", "validfrom"];
const VALID_UNTIL: &[&str] = &["valid_until", "validuntil", "expires", "expiration"];
const FIRST_SEEN: &[&str] = &["first_seen", "firstseen", "first seen"];
const LAST_SEEN: &[&str] = &["last_seen", "lastseen", "last seen"];

/// Column positions of a recognised header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    line: usize,
    value: usize,
    kind: Option<usize>,
    context: Option<usize>,
    reference: Option<usize>,
    valid_from: Option<usize>,
    valid_until: Option<usize>,
    first_seen: Option<usize>,
    last_seen: Option<usize>,
}

/// The header of a CSV feed: the first non-comment line, if it names a value column.
pub(crate) fn header(text: &str) -> Option<Header> {
    let (line, first) = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    if !first.contains(',') {
        return None;
    }
    let names: Vec<String> = first
        .split(',')
        .map(|n| n.trim().trim_matches('"').to_ascii_lowercase().replace('-', "_"))
        .collect();
    let find = |set: &[&str]| names.iter().position(|n| set.contains(&n.as_str()));
    Some(Header {
        line,
        value: find(VALUE)?,
        kind: find(TYPE),
        context: find(CONTEXT),
        reference: find(REFERENCE),
        valid_from: find(VALID_FROM),
        valid_until: find(VALID_UNTIL),
        first_seen: find(FIRST_SEEN),
        last_seen: find(LAST_SEEN),
    })
}

pub(crate) fn read(path: &Path, feed: &str, text: &str, header: Header, report: &mut FeedReport) {
    let body: String = text.lines().skip(header.line + 1).collect::<Vec<_>>().join("\n");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(body.as_bytes());
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line()) + header.line as u64 + 1;
                report.diagnostics.warn(path, line, Reason::BadIndicator, e.to_string());
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line()) + header.line as u64 + 1;
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
        let value = field(Some(header.value));
        if value.is_empty() {
            report.diagnostics.warn(path, line, Reason::BadIndicator, "empty value".into());
            continue;
        }
        let Some(mut indicator) =
            typed_indicator(value, field(header.kind), feed, path, line, &mut report.diagnostics)
        else {
            continue;
        };
        let time = |i: Option<usize>, report: &mut FeedReport| {
            let text = field(i);
            let t = parse_time(text);
            if t.is_none() && !text.is_empty() {
                report.diagnostics.warn(
                    path,
                    line,
                    Reason::BadValue,
                    format!("not a date: {:?} (ignored)", short(text)),
                );
            }
            t
        };
        indicator.valid_from = time(header.valid_from, report);
        indicator.valid_until = time(header.valid_until, report);
        indicator.first_reported = time(header.first_seen, report);
        indicator.last_reported = time(header.last_seen, report);
        indicator.context = Some(field(header.context)).filter(|c| !c.is_empty()).map(short);
        indicator.reference = Some(field(header.reference)).filter(|c| !c.is_empty()).map(short);
        report.indicators.add(indicator);
    }
}
