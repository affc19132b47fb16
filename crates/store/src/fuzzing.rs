//! The entry point of the `store_ledger` fuzz target and its corpus-replay test: any bytes as
//! the store's manifest (its table of contents and import ledger).

use crate::manifest::{Commit, Manifest, inside_store};

/// Reads `data` as a manifest: every complete line is a commit or counted corrupt, no part
/// points outside the store, and what was kept reads back the same once rewritten.
pub fn read_manifest(data: &[u8]) {
    let manifest = Manifest::read(data).expect("reading memory cannot fail");
    let complete_lines = data.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(manifest.commits.len() + manifest.corrupt_lines.len(), complete_lines);
    assert!(manifest.parts().all(|p| inside_store(&p.file)));
    let mut rewritten = Vec::new();
    for c in &manifest.commits {
        serde_json::to_writer(&mut rewritten, c).expect("commits serialise");
        rewritten.push(b'\n');
    }
    let again = Manifest::read(&rewritten[..]).expect("reading memory cannot fail");
    assert!(again.corrupt_lines.is_empty());
    let same = |a: &[Commit], b: &[Commit]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| x.source == y.source && x.parts == y.parts)
    };
    assert!(same(&manifest.commits, &again.commits));
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_sources::fuzzing::{assert_replayed, replay};

    #[test]
    fn the_ledger_corpus_replays() {
        assert_replayed("store_ledger", replay("store_ledger", read_manifest));
    }

    #[test]
    fn a_part_outside_the_store_makes_its_line_corrupt() {
        let line = |file: &str| {
            format!(
                "{{\"source\":{{\"path\":\"a\",\"len\":1,\"modified_ns\":null,\"fingerprint\":\"f\"}},\"parts\":[{{\"table\":\"conn\",\"day\":\"2024-01-01\",\"file\":{file:?},\"rows\":1,\"min_ts\":0,\"max_ts\":0}}],\"records\":1,\"duplicates\":0,\"imported_at\":0}}\n"
            )
        };
        let text =
            [line("conn/2024-01-01/p.parquet"), line("../../etc/passwd"), line("/etc/x")].concat();
        let manifest = Manifest::read(text.as_bytes()).unwrap();
        assert_eq!(manifest.commits.len(), 1);
        assert_eq!(manifest.corrupt_lines, [2, 3]);
    }
}
