//! Finding the log files under the paths a user gives: single files, folders, and trees of rotated
//! hourly files, with the log type guessed from the file name for when the content does not say.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use lasthop_normalise::LogType;

use crate::diagnostics::{Diagnostics, Reason};

/// Lists the regular files under `paths`, sorted, each once. Symbolic links to files are
/// followed; links to directories are followed once (a loop is reported, not walked forever).
/// Unreadable directories are reported and skipped.
pub fn find_files(paths: &[PathBuf], diagnostics: &mut Diagnostics) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut visited_dirs = HashSet::new();
    for path in paths {
        walk(path, &mut found, &mut visited_dirs, diagnostics, true);
    }
    found.sort();
    found.dedup();
    found
}

fn walk(
    path: &Path,
    found: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    diagnostics: &mut Diagnostics,
    given: bool,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            diagnostics.warn(path, 0, Reason::ReadError, e.to_string());
            return;
        }
    };
    if meta.is_file() {
        if given || !is_ignored_name(path) {
            found.push(path.to_path_buf());
        }
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if !visited.insert(canonical) {
        diagnostics.warn(
            path,
            0,
            Reason::ReadError,
            "directory visited twice (symlink loop?)".into(),
        );
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) => {
            diagnostics.warn(path, 0, Reason::ReadError, e.to_string());
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        walk(&child, found, visited, diagnostics, false);
    }
}

/// Files that are clearly not logs, skipped quietly inside folders (hidden files, documentation,
/// licences). Anything else is opened and recognised by its content.
fn is_ignored_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || [
            ".md", ".txt", ".pdf", ".html", ".config", ".yaml", ".yml", ".pcap", ".pcapng",
            ".parquet",
        ]
        .iter()
        .any(|ext| lower.ends_with(ext))
        || lower.starts_with("license")
        || lower.starts_with("readme")
}

/// The Zeek log name a file name carries, such as `conn` for `conn.log`, `conn.log.gz`,
/// `conn.00:00:00-01:00:00.log.gz` (Zeek and Security Onion rotation), `conn_20240101_00:00:00.log`
/// (Corelight) or `conn.log.labeled`; `None` when the name does not start with a log name.
pub fn log_name_from_file_name(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    let end = name
        .char_indices()
        .find(|&(i, c)| {
            c == '.' || (c == '_' && name[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        })
        .map(|(i, _)| i)
        .unwrap_or(name.len());
    let stem = &name[..end];
    (!stem.is_empty()).then_some(stem)
}

/// The stored log type a file name suggests.
pub fn log_type_from_file_name(path: &Path) -> Option<LogType> {
    log_name_from_file_name(path).and_then(LogType::from_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_type_from_rotated_and_vendor_names() {
        let cases = [
            ("conn.log", Some(LogType::Conn)),
            ("conn.log.gz", Some(LogType::Conn)),
            ("conn.00:00:00-01:00:00.log.gz", Some(LogType::Conn)),
            ("open_conn.12:00:00-13:00:00.log.gz", Some(LogType::OpenConn)),
            ("conn_20240101_00:00:00-01:00:00-0000.log.gz", Some(LogType::Conn)),
            ("conn.log.labeled", Some(LogType::Conn)),
            ("conn-summary.00:00:00-01:00:00.log.gz", None),
            ("x509.log", Some(LogType::X509)),
            ("capture_loss.log", None),
            ("weird.log", None),
        ];
        for (name, expected) in cases {
            assert_eq!(log_type_from_file_name(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn walks_trees_sorted_and_skips_documentation() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("2024-01-02")).unwrap();
        std::fs::create_dir_all(dir.path().join("2024-01-01")).unwrap();
        for f in ["2024-01-02/conn.log", "2024-01-01/dns.log", "README.md", ".hidden"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let mut d = Diagnostics::default();
        let files = find_files(&[dir.path().to_path_buf()], &mut d);
        let names: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["2024-01-01/dns.log", "2024-01-02/conn.log"]);
        assert!(d.is_clean());
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_reported_not_followed_forever() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/conn.log"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("a/loop")).unwrap();
        let mut d = Diagnostics::default();
        let files = find_files(&[dir.path().to_path_buf()], &mut d);
        assert_eq!(files.len(), 1);
        assert_eq!(d.total(Reason::ReadError), 1);
    }
}
