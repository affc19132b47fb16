//! Every file in a store directory, and the one way they are written.
//!
//! | path | what | owner | written by |
//! |---|---|---|---|
//! | `data/<table>/day=YYYY-MM-DD/*.parquet` | the records, one part per import and day | import | parts are written in `tmp/` then renamed in, fsynced with their folder |
//! | `tmp/` | parts being written; emptied when an import starts | import | |
//! | `manifest.jsonl` | one commit per imported file: its parts, their spans, the file's identity | import | [`append_durable`] (a commit), [`write_atomic`] (compaction) |
//! | `lock` | held while the store is written | [`crate::Store`] | |
//! | `history.parquet` | first and last seen of every address, pair and domain, over every import | history update | [`replace_with`] |
//! | `history.covers` | how many commits the history has folded in | history update | [`write_atomic`] |
//! | `intel/<feed>.jsonl` | imported intelligence, one indicator per line | `lasthop intel import` | [`write_atomic`] |
//! | `findings.jsonl` | the last hunt's findings, ranked | hunt | [`write_atomic`] |
//! | `finding_runs.json` | per finding id: first reported, runs seen | hunt | [`write_atomic`] |
//! | `triage.jsonl` | analysts' decisions, one per line | `lasthop triage` | [`append_durable`] |
//!
//! Nothing else writes into a store. A crash at any point leaves each file whole: either as it
//! was or as it was to become.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub const MANIFEST_FILE: &str = "manifest.jsonl";
pub const LOCK_FILE: &str = "lock";
pub const DATA_DIR: &str = "data";
pub const TMP_DIR: &str = "tmp";
pub const HISTORY_FILE: &str = "history.parquet";
pub const HISTORY_COVERS_FILE: &str = "history.covers";
pub const INTEL_DIR: &str = "intel";
pub const FINDINGS_FILE: &str = "findings.jsonl";
pub const FINDING_RUNS_FILE: &str = "finding_runs.json";
pub const TRIAGE_FILE: &str = "triage.jsonl";

/// Writes `path` atomically: `write` fills a temporary file beside it, which is fsynced and
/// renamed over `path`, and the folder is fsynced so that the rename lasts. The temporary name is
/// this write's own, so two processes writing one file (two hunts of a store) never rename each
/// other's half-written file into place; a failed write removes it.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    replace_with(path, |tmp| {
        let mut out = BufWriter::new(File::create(tmp)?);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })
}

/// Replaces `path` with the file `make` writes at the temporary path it is given (for writers
/// that take a path), then as [`write_atomic`]: fsync, rename, folder fsync.
pub fn replace_with<E: From<io::Error>>(
    path: &Path,
    make: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let tmp = own_partial_path(path);
    let result = make(&tmp).and_then(|()| {
        File::open(&tmp).and_then(|f| f.sync_all())?;
        std::fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")));
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A temporary name beside `path` that no other write uses: `<name>.<pid>-<n>.partial`.
fn own_partial_path(path: &Path) -> PathBuf {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}-{n}.partial", std::process::id()));
    path.with_file_name(name)
}

/// Puts the file written at [`partial_path`] in place of `path`: fsync, rename, folder fsync.
/// For writers that are async (the history's, which holds the store lock while it writes).
pub fn commit_partial(path: &Path) -> io::Result<()> {
    let tmp = partial_path(path);
    File::open(&tmp).and_then(|f| f.sync_all())?;
    std::fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// Appends `bytes` (whole lines) to `path` and fsyncs it; a new file's folder is fsynced too.
pub fn append_durable(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let existed = path.exists();
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    if !existed {
        sync_dir(path.parent().unwrap_or(Path::new(".")));
    }
    Ok(())
}

/// The temporary name a file is written under before it replaces `path` (`<name>.partial`).
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Makes a rename or a new file in `dir` durable. Best effort: some filesystems refuse to open
/// directories, and the data itself is already synced.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The file a feed is kept in: `intel/<feed>.jsonl`, its name with anything but letters, digits,
/// `-`, `_` and `.` replaced, so a feed name can never point outside the folder.
pub fn feed_file(root: &Path, feed: &str) -> PathBuf {
    let safe: String = feed
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let safe = safe.trim_start_matches('.');
    root.join(INTEL_DIR).join(format!("{}.jsonl", if safe.is_empty() { "feed" } else { safe }))
}

/// Every feed file kept in a store, sorted.
pub fn feed_files(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join(INTEL_DIR)) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FINDINGS_FILE);
        write_atomic(&path, |w| w.write_all(b"one\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        let failed = write_atomic(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n", "the old file stays");
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "the failed write's temporary file is gone: {names:?}");
        write_atomic(&path, |w| w.write_all(b"two\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        append_durable(&dir.path().join(TRIAGE_FILE), b"a\n").unwrap();
        append_durable(&dir.path().join(TRIAGE_FILE), b"b\n").unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join(TRIAGE_FILE)).unwrap(), "a\nb\n");
    }

    #[test]
    fn feed_names_stay_inside_the_intel_folder() {
        let root = Path::new("/store");
        assert_eq!(feed_file(root, "../../etc/passwd"), root.join("intel/_.._etc_passwd.jsonl"));
        assert_eq!(feed_file(root, "..."), root.join("intel/feed.jsonl"));
        assert_eq!(feed_file(root, "abuse.ch"), root.join("intel/abuse.ch.jsonl"));
    }
}
