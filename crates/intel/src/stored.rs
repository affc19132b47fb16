//! Intelligence kept in a store: one normalised [`Indicator`] per line, so that every later hunt
//! of the store matches it and a re-import of a feed replaces its file. Where the files are and
//! how they are written is the store's business (`lasthop_store::files`); their content is this
//! module's.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use crate::indicators::{Indicator, IndicatorSet};

/// Writes a feed's indicators, one JSON object per line.
pub fn write(out: &mut impl Write, set: &IndicatorSet) -> std::io::Result<()> {
    for i in set.iter() {
        serde_json::to_writer(&mut *out, i)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads feed files into one set; a line that does not parse is reported and skipped.
pub fn read(files: &[PathBuf], problems: &mut Vec<String>) -> std::io::Result<IndicatorSet> {
    let mut set = IndicatorSet::default();
    for path in files {
        let reader = std::io::BufReader::new(std::fs::File::open(path)?);
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
        let (good, broken) = (dir.path().join("a.jsonl"), dir.path().join("broken.jsonl"));
        let mut text = Vec::new();
        write(&mut text, &set).unwrap();
        std::fs::write(&good, text).unwrap();
        std::fs::write(&broken, "{not json\n").unwrap();
        let mut problems = Vec::new();
        let back = read(&[good, broken], &mut problems).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("broken.jsonl:1"), "{problems:?}");
    }
}
