//! Triage that lasts: which findings a store's runs have reported before, and what analysts
//! decided about them (`lasthop triage`).
//!
//! Two files in the store, beside the findings of the last hunt:
//! - `triage.jsonl`, append-only: one decision per line (acknowledged, suppressed, reopened),
//!   with its note, time, author and the day it holds until. The latest decision per id counts.
//! - `finding_runs.json`: per finding id, when a run first and last reported it and how many
//!   runs have. Replaced atomically after each hunt that keeps its findings.
//!
//! Finding ids are stable (derived from the detector and the entities), so a decision follows
//! its finding from run to run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use lasthop_findings::{Decision, Finding, Recurrence, Status, Triage};
use lasthop_sinks::terminal_safe;
use serde::{Deserialize, Serialize};

use crate::commands::usage;
use crate::report::stored_findings;
use crate::{Exit, Failure, OrExit};

use lasthop_store::files::{FINDING_RUNS_FILE as RUNS_FILE, TRIAGE_FILE};

/// One line of `triage.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    id: String,
    /// `acknowledged`, `suppressed` or `reopened`.
    decision: String,
    note: String,
    at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Runs {
    first_reported: i64,
    last_reported: i64,
    runs: u32,
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn today() -> String {
    lasthop_normalise::format_day(now_us().div_euclid(86_400_000_000))
}

/// The decisions in force today, by finding id: the latest per id, unless it was a reopening
/// or its `until` day has passed.
fn decisions(root: &Path) -> anyhow::Result<HashMap<String, Triage>> {
    let path = root.join(TRIAGE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let today = today();
    let mut latest: HashMap<String, Option<Triage>> = HashMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let r: Record = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        let decision = match r.decision.as_str() {
            "acknowledged" => Some(Decision::Acknowledged),
            "suppressed" => Some(Decision::Suppressed),
            _ => None,
        };
        let in_force = r.until.as_deref().is_none_or(|until| until >= today.as_str());
        let triage = decision.filter(|_| in_force).map(|decision| Triage {
            decision,
            note: r.note,
            at: r.at,
            until: r.until,
            by: r.by,
        });
        latest.insert(r.id, triage);
    }
    Ok(latest.into_iter().filter_map(|(id, t)| Some((id, t?))).collect())
}

/// Marks each finding new or recurring and attaches the decision in force; with `record`, counts
/// this run in the store's run history.
pub fn mark(root: &Path, findings: &mut [Finding], record: bool) -> anyhow::Result<()> {
    let path = root.join(RUNS_FILE);
    let mut runs: BTreeMap<String, Runs> = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} does not read", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let decisions = decisions(root)?;
    let now = now_us();
    for f in findings.iter_mut() {
        let before = runs.get(&f.id).copied();
        let this = Runs {
            first_reported: before.map_or(now, |r| r.first_reported),
            last_reported: now,
            runs: before.map_or(1, |r| r.runs + 1),
        };
        f.status = Some(Status {
            recurrence: if before.is_some() { Recurrence::Recurring } else { Recurrence::New },
            first_reported: this.first_reported,
            runs: this.runs,
            triage: decisions.get(&f.id).cloned(),
        });
        if record {
            runs.insert(f.id.clone(), this);
        }
    }
    if record {
        lasthop_store::files::write_atomic(&path, |file| Ok(serde_json::to_writer(file, &runs)?))?;
    }
    Ok(())
}

/// Attaches today's decisions to findings a hunt kept (for `lasthop report`, which may run after
/// a decision was made).
pub fn apply_decisions(root: &Path, findings: &mut [Finding]) -> anyhow::Result<()> {
    let decisions = decisions(root)?;
    for f in findings.iter_mut() {
        if let Some(status) = f.status.as_mut() {
            status.triage = decisions.get(&f.id).cloned();
        }
    }
    Ok(())
}

/// The findings to report: suppressed ones left out (and counted, on standard error).
pub fn reported(findings: Vec<Finding>) -> Vec<Finding> {
    let suppressed = |f: &Finding| {
        f.status
            .as_ref()
            .and_then(|s| s.triage.as_ref())
            .is_some_and(|t| t.decision == Decision::Suppressed)
    };
    let hidden = findings.iter().filter(|f| suppressed(f)).count();
    if hidden > 0 {
        eprintln!("{hidden} finding(s) suppressed by triage (`lasthop triage --list` shows them)");
    }
    findings.into_iter().filter(|f| !suppressed(f)).collect()
}

/// Whether an analyst has acknowledged the finding (it no longer trips `--fail-on`).
pub fn acknowledged(f: &Finding) -> bool {
    f.status
        .as_ref()
        .and_then(|s| s.triage.as_ref())
        .is_some_and(|t| t.decision == Decision::Acknowledged)
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
    let path = args.store.join(TRIAGE_FILE);
    let mut line = serde_json::to_vec(&record).or_exit(Exit::StoreError)?;
    line.push(b'\n');
    lasthop_store::files::append_durable(&path, &line)
        .with_context(|| format!("writing {}", path.display()))
        .or_exit(Exit::StoreError)?;
    eprintln!("{} {}: {}", decision, finding.id, terminal_safe(&finding.title));
    Ok(Exit::Success)
}
