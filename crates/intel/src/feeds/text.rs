//! Plain lists and the IOC sections of published reports.
//!
//! Two shapes are told apart by content. A *list* has one value per line (`#`/`;` comments,
//! CSV-style extra columns ignored): every line must be an indicator, and one that is not is
//! reported. A *report* is prose with indicators in it (Black Lotus Labs' write-ups: headings,
//! tables, defanged `[.]` values, YARA rules at the end): addresses, hashes, URLs and defanged
//! domains are extracted, a plain `word.word` is not (it is too often a file name such as
//! `Kv-all.sh`), and the heading and the rest of the row become the indicator's context. A row
//! whose second column names a type (`IP`, `Domain`, `TLS Fingerprint`) is read by that type,
//! and ISO dates on it are the window the report saw the indicator active in.

use std::path::Path;

use lasthop_common::Reason;

use super::{FeedReport, kind_from_label, parse_time, short, typed_indicator};
use crate::indicators::{Indicator, IndicatorKind, classify, parse_ip_host};

/// Share of value lines that must be a single indicator for a file to be read as a list.
const LIST_SHARE: f64 = 0.8;

/// Reads a list or a report (see the module documentation).
pub fn read_text(path: &Path, feed: &str, text: &str, report: &mut FeedReport) {
    if looks_like_list(text) {
        read_list(path, feed, text, report);
    } else {
        read_report(path, feed, text, report);
    }
}

fn list_value(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') || line.starts_with("//") {
        return None;
    }
    let line = line.split(" #").next().unwrap_or(line);
    line.split([',', '\t', ' ']).map(|t| t.trim().trim_matches('"')).find(|t| !t.is_empty())
}

fn looks_like_list(text: &str) -> bool {
    let (mut values, mut indicators) = (0usize, 0usize);
    for line in text.lines() {
        if let Some(v) = list_value(line) {
            values += 1;
            let whole = line.split(" #").next().unwrap_or("").trim();
            let single = !whole.contains(char::is_whitespace) || whole.contains([',', '\t']);
            if single && classify(v).is_some() {
                indicators += 1;
            }
        }
    }
    values > 0 && indicators as f64 >= LIST_SHARE * values as f64
}

fn read_list(path: &Path, feed: &str, text: &str, report: &mut FeedReport) {
    for (i, line) in text.lines().enumerate() {
        let Some(value) = list_value(line) else { continue };
        match Indicator::parse(value, feed) {
            Some(indicator) => report.indicators.add(indicator),
            None => report.diagnostics.warn(
                path,
                i as u64 + 1,
                Reason::BadIndicator,
                format!("not an IP, prefix, domain, URL or hash: {:?}", short(value)),
            ),
        }
    }
}

fn is_defanged(token: &str) -> bool {
    let lower = token.to_ascii_lowercase();
    ["[.]", "(.)", "{.}", "[dot]", "hxxp"].iter().any(|d| lower.contains(d))
}

/// Indicators a report line's free text carries, as (kind, value, token).
fn extract(line: &str) -> Vec<(IndicatorKind, String, String)> {
    let mut out = Vec::new();
    for raw in line.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '|' | '"' | '\''))
    {
        let token =
            raw.trim_matches(|c: char| matches!(c, '(' | ')' | '<' | '>' | ':' | '.' | '*'));
        // `Sha256:36c6…`, `md5:…`: a label glued to a digest.
        let token = match token.split_once(':') {
            Some((label, digest))
                if label.len() <= 8
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && crate::indicators::normalise_hash(digest).is_some() =>
            {
                digest
            }
            _ => token,
        };
        if token.len() < 7 {
            continue;
        }
        let Some((kind, value)) = classify(token) else { continue };
        let keep = match kind {
            IndicatorKind::Ip => {
                parse_ip_host(&value).is_some_and(|ip| !ip.is_unspecified() && !ip.is_loopback())
            }
            IndicatorKind::Domain => is_defanged(token),
            _ => true,
        };
        if keep {
            out.push((kind, value, token.to_string()));
        }
    }
    out
}

/// The context a row gives beyond its value: the rest of the row, collapsed, dates removed.
fn row_context(line: &str, tokens: &[&str]) -> String {
    let mut rest = line.to_string();
    for t in tokens {
        rest = rest.replacen(t, " ", 1);
    }
    let words: Vec<&str> = rest
        .split_whitespace()
        .filter(|w| parse_time(w).is_none() && !matches!(*w, "-" | "–" | ":"))
        .collect();
    words.join(" ")
}

fn with_heading(heading: &str, row: &str) -> Option<String> {
    let joined = match (heading.is_empty(), row.is_empty()) {
        (true, true) => return None,
        (false, true) => heading.to_string(),
        (true, false) => row.to_string(),
        (false, false) => format!("{heading}: {row}"),
    };
    Some(short(&joined))
}

fn read_report(path: &Path, feed: &str, text: &str, report: &mut FeedReport) {
    let mut heading = String::new();
    let mut in_yara = false;
    for (i, line) in text.lines().enumerate() {
        let number = i as u64 + 1;
        let trimmed = line.trim();
        if in_yara {
            in_yara = trimmed != "}";
            continue;
        }
        if trimmed.starts_with("rule ") {
            in_yara = !trimmed.ends_with('}');
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        let columns: Vec<&str> =
            line.split('\t').map(str::trim).filter(|c| !c.is_empty()).collect();
        let dates: Vec<i64> = columns.iter().filter_map(|c| parse_time(c)).collect();
        let typed = columns.len() >= 2 && matches!(kind_from_label(columns[1]), Ok(Some(_)));
        let mut found: Vec<Indicator> = Vec::new();
        let mut tokens: Vec<&str> = Vec::new();
        if typed {
            found.extend(typed_indicator(
                columns[0],
                columns[1],
                feed,
                path,
                number,
                &mut report.diagnostics,
            ));
            tokens.extend([columns[0], columns[1]]);
        } else {
            for (kind, value, token) in extract(line) {
                if kind == IndicatorKind::Url
                    && let Some(host) = value.split(['/', '?']).next()
                    && parse_ip_host(host).is_some()
                {
                    // A payload URL on a bare address names a server worth matching by itself.
                    found.push(Indicator::new(IndicatorKind::Ip, host.to_string(), feed));
                }
                found.push(Indicator::new(kind, value, feed));
                tokens.push(line.split_whitespace().find(|w| w.contains(&token)).unwrap_or(""));
            }
        }
        if found.is_empty() {
            let candidate = trimmed.trim_start_matches('#').trim().trim_end_matches(':');
            // A table's column header is not a heading: the section title above it still is.
            let table_header = columns.len() >= 2;
            if !candidate.is_empty()
                && candidate.chars().count() <= 80
                && !candidate.contains('{')
                && !table_header
            {
                heading = candidate.to_string();
            }
            continue;
        }
        let context = with_heading(&heading, &row_context(line, &tokens));
        let lower_heading = heading.to_ascii_lowercase();
        let certificates = ["x.509", "x509", "certificate", "tls fingerprint"]
            .iter()
            .any(|w| lower_heading.contains(w));
        for mut indicator in found {
            if certificates && indicator.kind == IndicatorKind::FileHash {
                // A digest under a certificate heading is a certificate's fingerprint.
                indicator.kind = IndicatorKind::CertFingerprint;
            }
            indicator.context = context.clone();
            if let [first, last, ..] = dates[..] {
                indicator.first_reported = Some(first.min(last));
                indicator.last_reported = Some(first.max(last));
            }
            report.indicators.add(indicator);
        }
    }
}
