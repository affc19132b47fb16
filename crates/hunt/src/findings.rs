//! The store's findings file, `findings.jsonl`: the last full hunt's findings, ranked, one JSON
//! object per line.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use lasthop_findings::Finding;
use lasthop_store::files::{FINDINGS_FILE, write_atomic};

/// Replaces the store's findings with `findings`, atomically.
pub fn save(root: &Path, findings: &[Finding]) -> std::io::Result<()> {
    write_atomic(&root.join(FINDINGS_FILE), |file| {
        for f in findings {
            serde_json::to_writer(&mut *file, f)?;
            file.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// The findings the last hunt of the store kept; a line that does not parse is an error naming
/// the file and line.
pub fn load(root: &Path) -> anyhow::Result<Vec<Finding>> {
    let path = root.join(FINDINGS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (has the store been hunted?)", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{} line {}", path.display(), i + 1))
        })
        .collect()
}
