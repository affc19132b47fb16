//! Where findings go once found: the chosen format on standard output (or a file), and the
//! files for people and tools — the HTML report with its charts, a STIX 2.1 bundle, an ATT&CK
//! Navigator layer — redacted for sharing when asked. The sinks write each; this decides which,
//! in what order, and from what.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use lasthop_findings::{Coverage, Finding};
use lasthop_sinks::stix::{StixOptions, Tlp};
use lasthop_sinks::{Format, TableStyle};

use crate::pipeline::Settings;

/// The files for people and tools, and how much of the network they may reveal.
#[derive(Debug, Clone, Default)]
pub struct Share {
    pub html: Option<PathBuf>,
    pub stix: Option<PathBuf>,
    pub attack_layer: Option<PathBuf>,
    pub tlp: Tlp,
    /// Replace internal addresses, host names and user names with tokens in every output.
    pub redact_internal: bool,
    /// Domains whose host names are internal, besides the private suffixes.
    pub internal_domains: Vec<String>,
}

/// Where and how findings are written.
pub struct Outputs<'a> {
    pub format: Format,
    /// A file for the findings instead of standard output.
    pub path: Option<&'a Path>,
    pub style: TableStyle,
    pub share: Share,
    /// The HTML report's title.
    pub title: &'static str,
    /// The findings come from hunting the store's logs: the report shows what was covered and
    /// draws charts from the records (not so for an edge-device audit).
    pub hunted: bool,
}

/// Writes `findings` (ranked; already filtered by severity) everywhere `outputs` asks, the
/// findings themselves to `stdout` unless a path is given. Returns a line per file written
/// (`HTML report: report.html`) for the caller to show.
pub async fn write(
    root: &Path,
    mut findings: Vec<Finding>,
    settings: &Settings,
    outputs: &Outputs<'_>,
    failures: &[String],
    stdout: &mut dyn Write,
) -> anyhow::Result<Vec<String>> {
    let share = &outputs.share;
    let tlp = share.tlp;
    let mut written = Vec::new();
    // Charts are drawn from the real records, before any redaction; they hold only numbers.
    let charts = match &share.html {
        Some(_) if outputs.hunted => crate::charts::for_report(root, &findings, settings).await?,
        _ => Default::default(),
    };
    if share.redact_internal {
        lasthop_sinks::redact::redact(
            &mut findings,
            settings.internal.clone(),
            &share.internal_domains,
        );
    }
    match outputs.path {
        Some(path) => write_file(path, |w| {
            lasthop_sinks::write_findings(w, &findings, outputs.format, outputs.style)
        })?,
        None => lasthop_sinks::write_findings(stdout, &findings, outputs.format, outputs.style)
            .context("writing the findings")?,
    }
    let now = chrono::Utc::now().timestamp_micros();
    if let Some(path) = &share.html {
        let coverage = if outputs.hunted { Some(coverage(root, failures)?) } else { None };
        let tlp_label = tlp.to_string();
        let report = lasthop_sinks::html::Report {
            title: outputs.title,
            generated_us: now,
            coverage: coverage.as_ref(),
            findings: &findings,
            charts: &charts,
            tlp: Some(&tlp_label),
            redacted: share.redact_internal,
        };
        write_file(path, |w| lasthop_sinks::html::write_html(w, &report))?;
        written.push(format!("HTML report: {}", path.display()));
    }
    if let Some(path) = &share.stix {
        let options = StixOptions { tlp, created_us: now, producer: "lasthop".into() };
        let bundle = lasthop_sinks::stix::bundle(&findings, &options);
        lasthop_sinks::stix::check(&bundle)
            .map_err(|e| anyhow!("the STIX bundle lasthop built does not parse back: {e}"))?;
        write_file(path, |w| {
            serde_json::to_writer_pretty(&mut *w, &bundle)?;
            writeln!(w)
        })?;
        written.push(format!("STIX 2.1 bundle ({tlp}): {}", path.display()));
    }
    if let Some(path) = &share.attack_layer {
        let layer = lasthop_sinks::attack_layer::layer(&findings, "lasthop findings");
        write_file(path, |w| {
            serde_json::to_writer_pretty(&mut *w, &layer)?;
            writeln!(w)
        })?;
        written.push(format!("ATT&CK Navigator layer: {}", path.display()));
    }
    Ok(written)
}

fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .with_context(|| format!("creating {}", path.display()))?;
    write(&mut file)
        .and_then(|_| file.flush())
        .with_context(|| format!("writing {}", path.display()))
}

/// What the store holds, from its manifest: the report's overview.
pub fn coverage(root: &Path, failures: &[String]) -> anyhow::Result<Coverage> {
    let manifest = lasthop_store::manifest::Manifest::load(root)?;
    let mut c = Coverage { failures: failures.to_vec(), ..Default::default() };
    for commit in &manifest.commits {
        c.files += 1;
        c.duplicates += commit.duplicates;
        for (reason, n) in &commit.skipped {
            *c.skipped.entry(reason.clone()).or_default() += n;
        }
        for part in &commit.parts {
            *c.records.entry(part.table.clone()).or_default() += part.rows;
            let (first, last) = c.span.unwrap_or((part.min_ts, part.max_ts));
            c.span = Some((first.min(part.min_ts), last.max(part.max_ts)));
        }
    }
    Ok(c)
}
