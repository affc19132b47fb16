//! `lasthop triage`: record a decision about a finding, or list the decisions in force. What a
//! decision means to later hunts is `lasthop_hunt::triage`.

use std::path::PathBuf;

use clap::Args;
use lasthop_findings::Finding;
use lasthop_hunt::triage::{Record, decisions, now_us};
use lasthop_sinks::terminal_safe;

use crate::commands::usage;
use crate::report::stored_findings;
use crate::{Exit, Failure, OrExit};

/// The findings to show: those at or above `min_severity`, the suppressed ones left out (and
/// counted on standard error).
pub fn shown(findings: Vec<Finding>, min_severity: lasthop_findings::Severity) -> Vec<Finding> {
    let (kept, hidden) = lasthop_hunt::triage::reported(findings);
    if hidden > 0 {
        eprintln!("{hidden} finding(s) suppressed by triage (`lasthop triage --list` shows them)");
    }
    kept.into_iter().filter(|f| f.severity >= min_severity).collect()
}

/// `lasthop triage`: record a decision about a finding, or list the decisions.
#[derive(Args, Debug)]
pub struct TriageArgs {
    /// The finding's id (or a prefix of it that names one finding of the last hunt).
    #[arg(required_unless_present = "list")]
    id: Option<String>,
    /// The store the finding was reported from.
    #[arg(long)]
    store: PathBuf,
    /// Seen and being handled: still reported, marked `ack`, and no longer counted by
    /// `hunt --fail-on`.
    #[arg(long, conflicts_with_all = ["suppress", "reopen", "list"])]
    ack: bool,
    /// Not to be reported by later runs (until --until, if given).
    #[arg(long, conflicts_with_all = ["reopen", "list"])]
    suppress: bool,
    /// Withdraw the decision: the finding is reported as before.
    #[arg(long, conflicts_with = "list")]
    reopen: bool,
    /// The last day (YYYY-MM-DD, UTC) the decision holds.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Why: kept with the decision and shown in every output.
    #[arg(long, default_value = "")]
    note: String,
    /// List the decisions in force.
    #[arg(long)]
    list: bool,
}

fn valid_day(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && matches!(parts[1].parse::<u32>(), Ok(1..=12))
        && matches!(parts[2].parse::<u32>(), Ok(1..=31))
}

pub fn triage(args: TriageArgs) -> Result<Exit, Failure> {
    if args.list {
        let decisions = decisions(&args.store).or_exit(Exit::StoreError)?;
        let mut rows: Vec<Vec<String>> = decisions
            .iter()
            .map(|(id, t)| {
                vec![
                    id.clone(),
                    format!("{:?}", t.decision).to_lowercase(),
                    t.until.clone().unwrap_or_default(),
                    t.by.clone().unwrap_or_default(),
                    t.note.clone(),
                ]
            })
            .collect();
        rows.sort();
        let mut out = std::io::stdout().lock();
        lasthop_sinks::write_table(&mut out, &["id", "decision", "until", "by", "note"], &rows, 60)
            .or_exit(Exit::StoreError)?;
        return Ok(Exit::Success);
    }
    let decision = match (args.ack, args.suppress, args.reopen) {
        (true, false, false) => "acknowledged",
        (false, true, false) => "suppressed",
        (false, false, true) => "reopened",
        _ => return Err(usage("give one of --ack, --suppress or --reopen".into())),
    };
    if let Some(until) = &args.until
        && !valid_day(until)
    {
        return Err(usage(format!("--until {until:?}: expected a day as YYYY-MM-DD")));
    }
    let wanted = args.id.unwrap_or_default().to_ascii_lowercase();
    let findings = stored_findings(&args.store)?;
    let matching: Vec<&Finding> =
        findings.iter().filter(|f| f.id.to_ascii_lowercase().starts_with(&wanted)).collect();
    let finding = match matching.as_slice() {
        [one] => *one,
        [] => {
            return Err(usage(format!(
                "no finding {} in the last hunt of {}",
                terminal_safe(&wanted),
                args.store.display()
            )));
        }
        many => {
            return Err(usage(format!(
                "{} findings start with {}: give more of the id",
                many.len(),
                terminal_safe(&wanted)
            )));
        }
    };
    let record = Record {
        id: finding.id.clone(),
        decision: decision.to_string(),
        note: args.note,
        at: now_us(),
        until: args.until,
        by: std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok(),
    };
    lasthop_hunt::triage::record(&args.store, &record).or_exit(Exit::StoreError)?;
    eprintln!("{} {}: {}", decision, finding.id, terminal_safe(&finding.title));
    Ok(Exit::Success)
}
