//! Where a hunt's findings go: the chosen format on standard output (or `--output`), and the
//! files for people and tools — the HTML report, a STIX 2.1 bundle, an ATT&CK Navigator layer —
//! redacted for sharing when asked. `lasthop hunt` and `lasthop report` share all of it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use lasthop_findings::{Finding, Severity};
use lasthop_sinks::stix::Tlp;
use lasthop_sinks::{Format, TableStyle};

use crate::commands::{FINDINGS_FILE, parse_format, runtime, usage};
use crate::settings::{Settings, SettingsArgs};
use crate::{Exit, Failure, OrExit};

/// Files for people and tools, and how much of the network they may reveal.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Reports and sharing")]
pub struct ShareArgs {
    /// Write a self-contained HTML report (opens offline: no script, no external resource).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the findings as a STIX 2.1 bundle (indicators, observed data, sightings, ATT&CK
    /// patterns), for a threat-intelligence platform.
    #[arg(long, value_name = "FILE")]
    pub stix: Option<PathBuf>,
    /// Write an ATT&CK Navigator layer (format 4.5) of the techniques seen, scored by severity.
    #[arg(long, value_name = "FILE")]
    pub attack_layer: Option<PathBuf>,
    /// Traffic Light Protocol label of the STIX bundle and the HTML report: clear, green, amber,
    /// amber+strict or red.
    #[arg(long, default_value = "amber")]
    pub tlp: Tlp,
    /// Replace internal addresses, internal host names and user names with tokens
    /// (internal-host-1 …) in every output, for sharing outside the organisation. The store
    /// keeps the real values.
    #[arg(long)]
    pub redact_internal: bool,
    /// Domains whose host names are internal (for --redact-internal), besides .corp, .lan,
    /// .local, .internal, .home.arpa and similar private suffixes.
    #[arg(long, value_delimiter = ',', value_name = "DOMAIN")]
    pub internal_domain: Vec<String>,
}

/// The title of a hunt's HTML report.
pub const HUNT_REPORT: &str = "lasthop hunt report";

/// Where and how findings are shown.
pub struct Output<'a> {
    pub format: Format,
    pub path: Option<&'a Path>,
    pub min_severity: Severity,
    /// Keep them as the store's findings (a full hunt), or only show them (a retro-hunt).
    pub save: bool,
    pub share: ShareArgs,
    /// The HTML report's title.
    pub title: &'static str,
    /// The findings come from hunting the store's logs: the report shows what was covered and
    /// draws charts from the records (not so for an edge-device audit).
    pub hunted: bool,
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(120)
}

impl ShareArgs {
    fn share(&self) -> lasthop_hunt::outputs::Share {
        lasthop_hunt::outputs::Share {
            html: self.html.clone(),
            stix: self.stix.clone(),
            attack_layer: self.attack_layer.clone(),
            tlp: self.tlp,
            redact_internal: self.redact_internal,
            internal_domains: self.internal_domain.clone(),
        }
    }
}

/// Writes `findings` (ranked; already filtered by severity) everywhere the user asked.
pub fn write_outputs(
    root: &Path,
    findings: Vec<Finding>,
    settings: &Settings,
    output: &Output<'_>,
    failures: &[String],
) -> Result<(), Failure> {
    let style = TableStyle {
        color: output.path.is_none()
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        width: terminal_width(),
    };
    let outputs = lasthop_hunt::outputs::Outputs {
        format: output.format,
        path: output.path,
        style,
        share: output.share.share(),
        title: output.title,
        hunted: output.hunted,
    };
    let mut stdout = std::io::stdout().lock();
    let written = runtime()
        .block_on(lasthop_hunt::outputs::write(
            root,
            findings,
            settings,
            &outputs,
            failures,
            &mut stdout,
        ))
        .or_exit(Exit::StoreError)?;
    for line in written {
        eprintln!("{line}");
    }
    Ok(())
}

/// Reads the findings the last hunt of the store kept.
pub fn stored_findings(root: &Path) -> Result<Vec<Finding>, Failure> {
    let path = root.join(FINDINGS_FILE);
    if !path.exists() {
        return Err(Failure {
            exit: Exit::UnreadableInput,
            error: anyhow!("no findings in {} (run `lasthop hunt --store` first)", root.display()),
        });
    }
    lasthop_hunt::findings::load(root).or_exit(Exit::StoreError)
}

/// `lasthop report`: the outputs of a hunt, again, from the findings the store kept.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The store a hunt left its findings in.
    #[arg(long)]
    pub store: PathBuf,
    /// Output format on standard output: table, json, ndjson or csv.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Write findings to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Only report findings at or above this severity.
    #[arg(long, default_value = "info")]
    pub min_severity: String,
    #[command(flatten)]
    pub share: ShareArgs,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

pub fn report(args: ReportArgs) -> Result<Exit, Failure> {
    let format = parse_format(&args.format)?;
    let min_severity: Severity = args.min_severity.parse().map_err(usage)?;
    let settings = args.settings.resolve().map_err(|e| usage(format!("{e:#}")))?;
    let mut findings = stored_findings(&args.store)?;
    lasthop_hunt::triage::apply_decisions(&args.store, &mut findings)
        .context("reading the store's triage")
        .or_exit(Exit::StoreError)?;
    let findings = crate::triage::shown(findings, min_severity);
    let output = Output {
        format,
        path: args.output.as_deref(),
        min_severity,
        save: false,
        share: args.share,
        title: HUNT_REPORT,
        hunted: true,
    };
    write_outputs(&args.store, findings, &settings, &output, &[])?;
    Ok(Exit::Success)
}
