//! The manifest: an append-only log of commits, one JSON line per imported source file, naming
//! the Parquet parts that file produced. It is the store's only table of contents — readers
//! never list directories — so a part that was written but not committed does not exist.
//!
//! The manifest doubles as the import ledger: a source already recorded is not imported again.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The file name of the manifest inside a store.
pub use crate::files::{MANIFEST_FILE, sync_dir};

/// One Parquet file of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub table: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Relative to the store root.
    pub file: String,
    pub rows: u64,
    /// Microseconds since the epoch.
    pub min_ts: i64,
    pub max_ts: i64,
}

/// The identity of an imported source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub path: String,
    pub len: u64,
    pub modified_ns: Option<i128>,
    /// SHA-256 of the length and the first and last MiB: recognises the same file under another
    /// name without reading all of it.
    pub fingerprint: String,
}

/// One committed import of one source file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub source: SourceRecord,
    pub parts: Vec<Part>,
    pub records: u64,
    pub duplicates: u64,
    /// Lines skipped or repaired, by reason label.
    #[serde(default)]
    pub skipped: std::collections::BTreeMap<String, u64>,
    pub imported_at: i64,
}

/// The parsed manifest.
#[derive(Debug, Default, Clone)]
pub struct Manifest {
    pub commits: Vec<Commit>,
    /// Lines that could not be parsed (1-based line numbers), other than a torn last line.
    pub corrupt_lines: Vec<u64>,
    /// Bytes of valid content; anything after it is a torn write to cut off before appending.
    valid_len: u64,
}

impl Manifest {
    pub fn load(root: &Path) -> Result<Manifest, StoreError> {
        let path = root.join(MANIFEST_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        Manifest::read(BufReader::new(file)).map_err(|e| StoreError::io(&path, e))
    }

    /// Reads a manifest's lines. A torn last line is cut off; a line that is not a commit, or
    /// names a part outside the store (an absolute path or `..`), is counted corrupt and
    /// ignored, so a damaged manifest never points a reader elsewhere.
    pub fn read(mut reader: impl BufRead) -> std::io::Result<Manifest> {
        let mut manifest = Manifest::default();
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            number += 1;
            if !line.ends_with(b"\n") {
                // A commit torn by a crash: it never happened.
                break;
            }
            match serde_json::from_slice::<Commit>(&line) {
                Ok(c) if c.parts.iter().all(|p| inside_store(&p.file)) => manifest.commits.push(c),
                _ => manifest.corrupt_lines.push(number),
            }
            manifest.valid_len += n as u64;
        }
        Ok(manifest)
    }

    /// Appends a commit durably: the line is written and fsynced before this returns, and a torn
    /// tail from an earlier crash is cut off first.
    pub fn append(&mut self, root: &Path, commit: Commit) -> Result<(), StoreError> {
        let path = root.join(MANIFEST_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        if len != self.valid_len {
            file.set_len(self.valid_len).map_err(|e| StoreError::io(&path, e))?;
        }
        let mut line = serde_json::to_vec(&commit).expect("commits serialise");
        line.push(b'\n');
        file.write_all(&line)
            .and_then(|_| file.sync_all())
            .map_err(|e| StoreError::io(&path, e))?;
        if len == 0 {
            sync_dir(root);
        }
        self.valid_len += line.len() as u64;
        self.commits.push(commit);
        Ok(())
    }

    pub fn parts(&self) -> impl Iterator<Item = &Part> {
        self.commits.iter().flat_map(|c| c.parts.iter())
    }

    pub fn find_source(&self, path: &str, len: u64, modified_ns: Option<i128>) -> Option<&Commit> {
        self.commits.iter().rev().find(|c| {
            c.source.path == path && c.source.len == len && c.source.modified_ns == modified_ns
        })
    }

    pub fn find_fingerprint(&self, fingerprint: &str) -> Option<&Commit> {
        self.commits.iter().rev().find(|c| c.source.fingerprint == fingerprint)
    }

    /// Replaces the manifest with `commits`, atomically: the new manifest is written beside the
    /// old one, fsynced and renamed over it, so a crash leaves one or the other, whole.
    pub fn rewrite(&mut self, root: &Path, commits: Vec<Commit>) -> Result<(), StoreError> {
        let path = root.join(MANIFEST_FILE);
        let mut text = Vec::new();
        for c in &commits {
            serde_json::to_writer(&mut text, c).expect("commits serialise");
            text.push(b'\n');
        }
        crate::files::write_atomic(&path, |w| w.write_all(&text))
            .map_err(|e| StoreError::io(&path, e))?;
        self.valid_len = text.len() as u64;
        self.commits = commits;
        self.corrupt_lines.clear();
        Ok(())
    }

    /// Every file the manifest references, relative to the root.
    pub fn referenced_files(&self) -> std::collections::HashSet<PathBuf> {
        self.parts().map(|p| PathBuf::from(&p.file)).collect()
    }
}

/// Whether a part's path stays inside the store: relative, and never through `..`.
pub fn inside_store(file: &str) -> bool {
    let path = Path::new(file);
    !file.is_empty() && path.components().all(|c| matches!(c, std::path::Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(path: &str) -> Commit {
        Commit {
            source: SourceRecord {
                path: path.into(),
                len: 1,
                modified_ns: Some(2),
                fingerprint: path.into(),
            },
            parts: vec![],
            records: 0,
            duplicates: 0,
            skipped: Default::default(),
            imported_at: 0,
        }
    }

    #[test]
    fn torn_last_line_is_ignored_and_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::load(dir.path()).unwrap();
        m.append(dir.path(), commit("a")).unwrap();
        let mut f = OpenOptions::new().append(true).open(dir.path().join(MANIFEST_FILE)).unwrap();
        f.write_all(b"{\"source\":{\"pa").unwrap();
        drop(f);
        let mut m = Manifest::load(dir.path()).unwrap();
        assert_eq!(m.commits.len(), 1);
        assert!(m.corrupt_lines.is_empty());
        m.append(dir.path(), commit("b")).unwrap();
        let m = Manifest::load(dir.path()).unwrap();
        assert_eq!(
            m.commits.iter().map(|c| c.source.path.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(m.find_source("b", 1, Some(2)).is_some());
        assert!(m.find_source("b", 2, Some(2)).is_none());
    }
}
