//! Intelligence kept in a store: `intel/<feed>.jsonl`, one normalised [`Indicator`] per line, so
//! that every later hunt of the store matches it and a re-import of a feed replaces its file.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::indicators::{Indicator, IndicatorSet};

/// The folder of a store that holds imported intelligence.
pub const INTEL_DIR: &str = "intel";

/// The file a feed is kept in: its name with anything but letters, digits, `-`, `_` and `.`
/// replaced, so a feed name can never point outside the folder.
pub fn feed_file(store: &Path, feed: &str) -> PathBuf {
    let safe: String = feed
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let safe = safe.trim_start_matches('.');
    store.join(INTEL_DIR).join(format!("{}.jsonl", if safe.is_empty() { "feed" } else { safe }))
}

/// Writes a feed's indicators, replacing an earlier import of the same feed atomically.
pub fn save(store: &Path, feed: &str, set: &IndicatorSet) -> std::io::Result<PathBuf> {
    let path = feed_file(store, feed);
    std::fs::create_dir_all(path.parent().unwrap_or(store))?;
    let tmp = path.with_extension("jsonl.partial");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    for i in set.iter() {
        serde_json::to_writer(&mut out, i)?;
        out.write_all(b"\n")?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Loads every feed kept in a store; a line that does not parse is reported and skipped.
pub fn load(store: &Path, problems: &mut Vec<String>) -> std::io::Result<IndicatorSet> {
    let mut set = IndicatorSet::default();
    let dir = store.join(INTEL_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(set) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let reader = std::io::BufReader::new(std::fs::File::open(&path)?);
        for (n, line) in reader.lines().enumerate() {
            let line = line?;
            match serde_json::from_str::<Indicator>(&line) {
                Ok(i) => set.add(i),
                Err(e) => problems.push(format!("{}:{}: {e}", path.display(), n + 1)),
            }
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_feeds_load_back_and_a_bad_line_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = IndicatorSet::default();
        set.add(Indicator::parse("198.51.100.1", "../../etc/passwd").unwrap());
        let path = save(dir.path(), "../../etc/passwd", &set).unwrap();
        assert!(path.starts_with(dir.path().join(INTEL_DIR)), "{}", path.display());
        std::fs::write(dir.path().join(INTEL_DIR).join("broken.jsonl"), "{not json\n").unwrap();
        let mut problems = Vec::new();
        let back = load(dir.path(), &mut problems).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("broken.jsonl:1"), "{problems:?}");
    }
}
