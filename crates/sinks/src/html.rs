//! The HTML report: one self-contained file an analyst opens offline, reads on a laptop or
//! prints.
//!
//! Safe by construction, because every value in it may have been written by an attacker (a
//! User-Agent, a URI, a host name):
//! - every value passes through [`escape`], which also makes control characters and
//!   bidirectional overrides visible and cuts very long values;
//! - the page has no script, no external resource and no link out of the document (values are
//!   text, never `href`s), and its Content-Security-Policy forbids them anyway: `default-src
//!   'none'`, with the one stylesheet allowed by its hash;
//! - charts are inline SVG drawn here from numbers (see [`crate::svg`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

use lasthop_findings::{Chart, Coverage, Finding, RemoteEnd, Severity};
use lasthop_normalise::format_timestamp;
use sha2::{Digest, Sha256};

use crate::terminal_safe;

/// Characters of one value shown in full; the rest is counted, not shown (a 100 kB User-Agent
/// would otherwise bury the report).
pub const VALUE_SHOWN: usize = 2000;
/// Findings drawn in full; the rest are listed in a table.
pub const FINDINGS_IN_FULL: usize = 300;
/// Evidence samples shown per finding.
const SAMPLES_SHOWN: usize = 20;

const STYLE: &str = "\
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0}h3{font-size:14px;margin:16px 0 6px}
.meta{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid var(--line)}
th{font-weight:600;white-space:nowrap}
td,.value,pre{overflow-wrap:anywhere;word-break:break-word}
pre{white-space:pre-wrap;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;margin:0}
code{font:12px ui-monospace,Menlo,Consolas,monospace}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:90px}
.card b{display:block;font-size:20px}
.sev{display:inline-block;border-radius:4px;padding:0 6px;font-weight:600;font-size:12px;text-transform:uppercase}
.sev-critical{background:#7f1d1d;color:#fff}.sev-high{background:#dc2626;color:#fff}
.sev-medium{background:#f59e0b;color:#111}.sev-low{background:#bae6fd;color:#111}.sev-info{background:#e5e7eb;color:#111}
.tlp{display:inline-block;background:#000;padding:2px 8px;font-weight:700;margin-left:8px}
.tlp-clear{color:#fff}.tlp-green{color:#33ff00}.tlp-amber,.tlp-amber-strict{color:#ffc000}.tlp-red{color:#ff2b2b}
section.finding{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:16px 0;break-inside:avoid-page}
.explanation{margin:8px 0;white-space:pre-line}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
figure{margin:8px 0}figcaption{font-weight:600;margin-bottom:2px}
.cut{color:var(--muted);font-style:italic}
.records{overflow-x:auto}.records table{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
.records th{background:#f3f4f6;position:sticky;top:0}.records td{white-space:pre-wrap;min-width:4em}
@media print{body{padding:0;max-width:none}section.finding{border:none;border-top:2px solid #000;border-radius:0}a{color:inherit;text-decoration:none}}
";

/// Everything a report shows.
pub struct Report<'a> {
    pub title: &'a str,
    /// When the report was written (µs since the epoch).
    pub generated_us: i64,
    /// What the hunt covered; `None` for reports that hunted no logs (an edge-device audit).
    pub coverage: Option<&'a Coverage>,
    /// Ranked.
    pub findings: &'a [Finding],
    /// Charts by finding id.
    pub charts: &'a HashMap<String, Vec<Chart>>,
    /// The sharing label to print, when one was chosen.
    pub tlp: Option<&'a str>,
    /// Internal addresses and names were replaced (`--redact-internal`).
    pub redacted: bool,
}

/// Escapes text for HTML element content and quoted attribute values. Control characters and
/// bidirectional overrides become visible escapes first (a right-to-left override would
/// otherwise reorder what is around it), and text past [`VALUE_SHOWN`] characters is cut with
/// a count of what was left out.
pub fn escape(text: &str) -> String {
    let mut shown = text;
    let mut cut = 0;
    if let Some((i, _)) = text.char_indices().nth(VALUE_SHOWN) {
        shown = &text[..i];
        cut = text[i..].chars().count();
    }
    // Line breaks and tabs are harmless in HTML and keep explanations and records readable.
    let safe: String = shown
        .split_inclusive(['\n', '\t'])
        .map(|part| {
            let (body, end) = match part.strip_suffix(['\n', '\t']) {
                Some(body) => (body, &part[body.len()..]),
                None => (part, ""),
            };
            terminal_safe(body) + end
        })
        .collect();
    let mut out = String::with_capacity(safe.len() + 16);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if cut > 0 {
        let _ = write!(out, "<span class=\"cut\">… ({cut} more characters not shown)</span>");
    }
    out
}

/// The page's Content-Security-Policy: nothing may load or run; the stylesheet is allowed by
/// its hash, so an injected `<style>` (were escaping ever to fail) would not apply either.
pub fn content_security_policy() -> String {
    let digest = Sha256::digest(STYLE.as_bytes());
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src 'none'; font-src 'none'; connect-src 'none'; script-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'",
        base64(&digest)
    )
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn severity_badge(s: Severity) -> String {
    format!(r#"<span class="sev sev-{0}">{0}</span>"#, s.name())
}

/// `2024-06-03 00:02:09Z`: seconds are precise enough to read; JSON keeps the microseconds.
fn time(us: i64) -> String {
    let text = format_timestamp(us);
    let seconds = text.get(..19).unwrap_or(&text).replace('T', " ");
    escape(&format!("{seconds}Z"))
}

/// Uids shown per finding; the rest are counted.
const UIDS_SHOWN: usize = 8;

/// Writes the report.
pub fn write_html(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    let mut page = String::with_capacity(64 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>",
        content_security_policy(),
        escape(report.title)
    );
    header(&mut page, report);
    overview(&mut page, report);
    for f in report.findings.iter().take(FINDINGS_IN_FULL) {
        finding(&mut page, f, report.charts.get(&f.id).map(Vec::as_slice).unwrap_or(&[]));
    }
    if report.findings.len() > FINDINGS_IN_FULL {
        let rest = &report.findings[FINDINGS_IN_FULL..];
        let _ = write!(
            page,
            "<h2>{} more findings</h2><p class=\"meta\">Listed without detail; JSON Lines and \
             <code>lasthop show ID</code> have every field.</p>",
            rest.len()
        );
        findings_table(&mut page, rest, false);
    }
    page.push_str("<p class=\"meta\">Written by lasthop ");
    page.push_str(env!("CARGO_PKG_VERSION"));
    page.push_str(".</p></body></html>\n");
    // Escaping is the defence; this is the proof, on every report: one that fails it is a
    // lasthop bug, and is not written.
    let problems = unsafe_constructs(&page);
    if !problems.is_empty() {
        return Err(io::Error::other(format!(
            "the report failed lasthop's safety check and was not written: {}",
            problems.join("; ")
        )));
    }
    out.write_all(page.as_bytes())
}

fn header(page: &mut String, report: &Report<'_>) {
    let _ = write!(page, "<header><h1>{}", escape(report.title));
    if let Some(tlp) = report.tlp {
        let class: String =
            tlp.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let _ = write!(
            page,
            r#"<span class="tlp tlp-{}">TLP:{}</span>"#,
            escape(&class.to_ascii_lowercase()),
            escape(&tlp.to_ascii_uppercase())
        );
    }
    let _ = write!(page, "</h1><p class=\"meta\">Written {}", time(report.generated_us));
    if report.redacted {
        page.push_str(" · internal addresses and host names redacted");
    }
    page.push_str("</p></header>");
}

fn overview(page: &mut String, report: &Report<'_>) {
    page.push_str("<h2>Overview</h2><div class=\"cards\">");
    let _ = write!(page, "<div class=\"card\"><b>{}</b>findings</div>", report.findings.len());
    for s in Severity::ALL.iter().rev() {
        let n = report.findings.iter().filter(|f| f.severity == *s).count();
        let _ = write!(page, "<div class=\"card\"><b>{n}</b>{}</div>", severity_badge(*s));
    }
    page.push_str("</div>");

    page.push_str("<div class=\"grid\">");
    if let Some(c) = report.coverage {
        coverage(page, c);
    }
    page.push_str("<div><h3>Findings by detector</h3><table>");
    let mut by_detector: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for f in report.findings {
        by_detector.entry(&f.detector).or_default()[f.severity as usize] += 1;
    }
    page.push_str("<tr><th>detector</th>");
    for s in Severity::ALL.iter().rev() {
        let _ = write!(page, "<th>{}</th>", s.name());
    }
    page.push_str("</tr>");
    for (detector, counts) in &by_detector {
        let _ = write!(page, "<tr><td>{}</td>", escape(detector));
        for n in counts.iter().rev() {
            let _ = write!(page, "<td>{n}</td>");
        }
        page.push_str("</tr>");
    }
    page.push_str("</table></div></div>");
    if !report.findings.is_empty() {
        page.push_str("<h3>Top findings</h3>");
        findings_table(page, &report.findings[..report.findings.len().min(15)], true);
    }
}

/// What was hunted and what was skipped.
fn coverage(page: &mut String, c: &Coverage) {
    page.push_str("<div><h3>What was hunted</h3><table>");
    match c.span {
        Some((first, last)) => {
            let days = (last - first) as f64 / 86_400e6;
            let _ = write!(
                page,
                "<tr><th>Time span</th><td>{} to {} ({days:.1} days)</td></tr>",
                time(first),
                time(last)
            );
        }
        None => page.push_str("<tr><th>Time span</th><td>no records</td></tr>"),
    }
    let total: u64 = c.records.values().sum();
    let _ = write!(page, "<tr><th>Records</th><td>{total}</td></tr>");
    for (table, n) in &c.records {
        let _ = write!(page, "<tr><th>&nbsp;&nbsp;{}</th><td>{n}</td></tr>", escape(table));
    }
    let _ = write!(page, "<tr><th>Files imported</th><td>{}</td></tr>", c.files);
    if c.duplicates > 0 {
        let _ = write!(page, "<tr><th>Duplicates dropped</th><td>{}</td></tr>", c.duplicates);
    }
    page.push_str("</table></div><div><h3>What was skipped</h3>");
    if c.skipped.is_empty() && c.failures.is_empty() {
        page.push_str("<p>Nothing: every line was read.</p>");
    } else {
        page.push_str("<table>");
        for (reason, n) in &c.skipped {
            let _ = write!(page, "<tr><th>{}</th><td>{n}</td></tr>", escape(reason));
        }
        for failure in &c.failures {
            let _ = write!(page, "<tr><th>detector failed</th><td>{}</td></tr>", escape(failure));
        }
        page.push_str("</table>");
    }
    page.push_str("</div>");
}

fn findings_table(page: &mut String, findings: &[Finding], linked: bool) {
    page.push_str(
        "<table><tr><th>severity</th><th>score</th><th>detector</th><th>finding</th><th>id</th></tr>",
    );
    for f in findings {
        // The id is lasthop's own (`LH-` and hex), so it is a safe fragment; escaped anyway.
        let id = escape(&f.id);
        let title = if linked {
            format!(r##"<a href="#{id}">{}</a>"##, escape(&f.title))
        } else {
            escape(&f.title)
        };
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{title}</td><td><code>{id}</code></td></tr>",
            severity_badge(f.severity),
            f.score,
            escape(&f.detector)
        );
    }
    page.push_str("</table>");
}

fn row(page: &mut String, key: &str, value: &str) {
    let _ = write!(page, "<tr><th>{}</th><td>{}</td></tr>", escape(key), escape(value));
}

fn remote_rows(page: &mut String, r: &RemoteEnd) {
    let mut network = String::new();
    if let Some(n) = r.as_number {
        let _ = write!(network, "AS{n}");
    }
    if let Some(org) = &r.as_organization {
        let _ = write!(network, " {org}");
    }
    if !network.is_empty() {
        row(page, "network", network.trim());
    }
    if let Some(t) = &r.network_type {
        let why = r.network_type_reason.as_deref().map(|w| format!(" ({w})")).unwrap_or_default();
        row(page, "network type", &format!("{t}{why}"));
    }
    if let Some(d) = &r.device {
        let name = [d.vendor.as_deref(), d.product.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        row(page, "device", &format!("{} {name} — {} ({})", d.class, d.description, d.evidence));
    }
    if !r.names.is_empty() {
        row(page, "names", &r.names.join(", "));
    }
}

fn finding(page: &mut String, f: &Finding, charts: &[Chart]) {
    let _ = write!(
        page,
        "<section class=\"finding\" id=\"{}\"><h2>{} {}</h2><p class=\"meta\"><code>{}</code> · \
         {} · score {:.2} · {} to {}</p>",
        escape(&f.id),
        severity_badge(f.severity),
        escape(&f.title),
        escape(&f.id),
        escape(&f.detector),
        f.score,
        time(f.first_seen),
        time(f.last_seen)
    );
    if let Some(status) = &f.status {
        let _ = write!(page, "<p class=\"status\">Status: {}</p>", escape(&status.label()));
    }
    let _ = write!(page, "<p class=\"explanation\">{}</p>", escape(&f.explanation));
    page.push_str("<div class=\"grid\"><div><h3>Entities</h3><table>");
    let e = &f.entities;
    for (k, v) in e.labelled() {
        row(page, k, &v);
    }
    if let Some(r) = &e.remote {
        remote_rows(page, r);
    }
    if !f.techniques.is_empty() {
        row(page, "ATT&CK", &f.techniques.join(", "));
    }
    page.push_str("</table></div><div><h3>Evidence</h3><table>");
    // A list of like objects (a grouped finding's hosts) is a table of its own below.
    let mut tables = Vec::new();
    for (k, v) in &f.evidence.figures {
        if let Some(rows) = table_rows(v) {
            tables.push((k, rows));
            continue;
        }
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        row(page, k, &v);
    }
    for (name, ids) in [("uids", &f.evidence.uids), ("community ids", &f.evidence.community_ids)] {
        if ids.is_empty() {
            continue;
        }
        let mut shown = ids[..ids.len().min(UIDS_SHOWN)].join(" ");
        if ids.len() > UIDS_SHOWN {
            shown.push_str(&format!(" … and {} more", ids.len() - UIDS_SHOWN));
        }
        row(page, name, &shown);
    }
    page.push_str("</table></div></div>");
    for (name, rows) in tables {
        let _ = write!(page, "<h3>{}</h3>", escape(&name.replace('_', " ")));
        records_table(page, &rows);
    }
    for chart in charts {
        let _ = write!(
            page,
            "<figure><figcaption>{}</figcaption>{}</figure>",
            escape(&chart.title),
            crate::svg::render(chart)
        );
    }
    if !f.evidence.samples.is_empty() {
        page.push_str("<h3>Records</h3>");
        records_table(page, &f.evidence.samples[..f.evidence.samples.len().min(SAMPLES_SHOWN)]);
        if f.evidence.samples.len() > SAMPLES_SHOWN {
            let _ = write!(
                page,
                "<p class=\"meta\">{} more records: <code>lasthop show {}</code></p>",
                f.evidence.samples.len() - SAMPLES_SHOWN,
                escape(&f.id)
            );
        }
    }
    page.push_str("</section>");
}

/// A finding's records as one table: a row per record, a column per field of the log, in the
/// order the records first name them, so that an analyst scans down a column.
/// The rows of a figure that is a non-empty list of objects, else `None`.
fn table_rows(v: &serde_json::Value) -> Option<Vec<serde_json::Map<String, serde_json::Value>>> {
    let items = v.as_array().filter(|items| !items.is_empty())?;
    items.iter().map(|i| i.as_object().cloned()).collect()
}

fn records_table(page: &mut String, samples: &[serde_json::Map<String, serde_json::Value>]) {
    let mut columns: Vec<&str> = Vec::new();
    for sample in samples {
        for k in sample.keys() {
            if !columns.contains(&k.as_str()) {
                columns.push(k);
            }
        }
    }
    page.push_str("<div class=\"records\"><table><tr>");
    for c in &columns {
        let _ = write!(page, "<th>{}</th>", escape(c));
    }
    page.push_str("</tr>");
    for sample in samples {
        page.push_str("<tr>");
        for c in &columns {
            let v = match sample.get(*c) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            let _ = write!(page, "<td>{}</td>", escape(&v));
        }
        page.push_str("</tr>");
    }
    page.push_str("</table></div>");
}

/// Elements a report never contains: they run code, load something, embed another document,
/// submit data, or (SVG) rewrite attributes or pull in outside content.
const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "link",
    "base",
    "img",
    "picture",
    "source",
    "video",
    "audio",
    "track",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "portal",
    "noscript",
    "template",
    "foreignobject",
    "use",
    "image",
    "animate",
    "set",
    "animatemotion",
    "animatetransform",
    "feimage",
];

/// Attributes whose value is a URL the browser may fetch or navigate to.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "xlink:href",
    "src",
    "srcset",
    "action",
    "formaction",
    "poster",
    "background",
    "data",
    "ping",
    "cite",
    "longdesc",
    "usemap",
    "manifest",
    "codebase",
    "lowsrc",
    "dynsrc",
    "archive",
    "profile",
    "icon",
];

/// Parses a written report (with html5ever, as a browser would) and lists everything in it that
/// could run, load or leave the document: script or embedding elements, `on*` handlers, `style`
/// attributes, URL attributes other than `#fragment` links, a second stylesheet or one that
/// differs from lasthop's, a missing or different Content-Security-Policy, `meta` refreshes.
/// Empty means safe. `lasthop` runs it on every report it writes, and the tests run it on
/// reports built from hostile values.
pub fn unsafe_constructs(html: &str) -> Vec<String> {
    let document = scraper::Html::parse_document(html);
    let mut problems = Vec::new();
    let mut styles = 0;
    let mut policy_found = false;
    for node in document.tree.nodes() {
        let Some(element) = node.value().as_element() else {
            continue;
        };
        let name = element.name().to_ascii_lowercase();
        if FORBIDDEN_ELEMENTS.contains(&name.as_str()) {
            problems.push(format!("<{name}> element"));
        }
        if name == "style" {
            styles += 1;
            let text: String = node
                .children()
                .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
                .collect();
            if text != STYLE {
                problems.push("a stylesheet other than lasthop's".into());
            }
        }
        if name == "meta" {
            let equiv = element.attr("http-equiv").unwrap_or("").to_ascii_lowercase();
            match equiv.as_str() {
                "" => {}
                "content-security-policy"
                    if element.attr("content") == Some(content_security_policy().as_str()) =>
                {
                    policy_found = true
                }
                other => problems.push(format!("<meta http-equiv={other:?}>")),
            }
        }
        for (attribute, value) in element.attrs() {
            let attribute = attribute.to_ascii_lowercase();
            if attribute.starts_with("on") {
                problems.push(format!("<{name} {attribute}=…> event handler"));
            } else if attribute == "style" {
                problems.push(format!("<{name} style=…> attribute"));
            } else if URL_ATTRIBUTES.contains(&attribute.as_str())
                && !(name == "a" && attribute == "href" && value.starts_with('#'))
            {
                problems.push(format!("<{name} {attribute}={value:?}> leaves the document"));
            } else if attribute == "xmlns" && value != "http://www.w3.org/2000/svg" {
                problems.push(format!("<{name} xmlns={value:?}>"));
            }
        }
    }
    if styles != 1 {
        problems.push(format!("{styles} stylesheets (expected lasthop's one)"));
    }
    if !policy_found {
        problems.push("no Content-Security-Policy, or not lasthop's".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_controls_and_length() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{202e}b\x1b[2J"), "a\\u{202e}b\\u{1b}[2J");
        assert_eq!(escape("one\ntwo\r\n"), "one\ntwo\\u{d}\n");
        let long = "A".repeat(VALUE_SHOWN + 500);
        let e = escape(&long);
        assert!(e.contains("(500 more characters not shown)"));
        assert_eq!(e.matches('A').count(), VALUE_SHOWN);
    }

    #[test]
    fn a_list_of_objects_in_the_evidence_is_a_table_of_its_own() {
        let mut f = Finding::new("beacon", "Beacon: 2 hosts → x".into(), 0.9, Default::default());
        f.evidence.figures.insert("connections".into(), serde_json::json!(12));
        f.evidence.figures.insert(
            "per_host".into(),
            serde_json::json!([
                {"host": "10.0.0.1", "period_s": 300.0},
                {"host": "<b>10.0.0.2</b>", "period_s": 310.0, "score": 0.8},
            ]),
        );
        let mut page = String::new();
        finding(&mut page, &f, &[]);
        assert!(page.contains("<h3>per host</h3>"), "{page}");
        let table = &page[page.find("<h3>per host</h3>").unwrap()..];
        assert_eq!(table.matches("<tr>").count(), 3, "a header and a row per host: {table}");
        assert!(table.contains("<th>score</th>") && table.contains("<td>310.0</td>"));
        assert!(table.contains("&lt;b&gt;10.0.0.2&lt;/b&gt;") && !page.contains("<b>"));
        assert!(!page.contains("per_host"), "not also a JSON blob in the evidence");
    }

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn policy_allows_the_stylesheet_by_hash_and_nothing_else() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'"));
        assert!(!csp.contains("unsafe"));
        assert!(csp.contains(&format!("'sha256-{}'", base64(&Sha256::digest(STYLE.as_bytes())))));
    }
}
