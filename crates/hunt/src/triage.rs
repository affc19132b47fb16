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
use std::path::Path;

use anyhow::Context;
use lasthop_findings::{Decision, Finding, Recurrence, Status, Triage};
use lasthop_store::files::{FINDING_RUNS_FILE as RUNS_FILE, TRIAGE_FILE};
use serde::{Deserialize, Serialize};

/// One line of `triage.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// `acknowledged`, `suppressed` or `reopened`.
    pub decision: String,
    pub note: String,
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Records a decision: one line appended to `triage.jsonl`, durably.
pub fn record(root: &Path, record: &Record) -> anyhow::Result<()> {
    let path = root.join(TRIAGE_FILE);
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    lasthop_store::files::append_durable(&path, &line)
        .with_context(|| format!("writing {}", path.display()))
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Runs {
    first_reported: i64,
    last_reported: i64,
    runs: u32,
}

pub fn now_us() -> i64 {
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
pub fn decisions(root: &Path) -> anyhow::Result<HashMap<String, Triage>> {
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

/// The findings to report, and how many suppressed ones were left out.
pub fn reported(findings: Vec<Finding>) -> (Vec<Finding>, usize) {
    let suppressed = |f: &Finding| {
        f.status
            .as_ref()
            .and_then(|s| s.triage.as_ref())
            .is_some_and(|t| t.decision == Decision::Suppressed)
    };
    let hidden = findings.iter().filter(|f| suppressed(f)).count();
    (findings.into_iter().filter(|f| !suppressed(f)).collect(), hidden)
}

/// Whether an analyst has acknowledged the finding (it no longer trips `--fail-on`).
pub fn acknowledged(f: &Finding) -> bool {
    f.status
        .as_ref()
        .and_then(|s| s.triage.as_ref())
        .is_some_and(|t| t.decision == Decision::Acknowledged)
}
