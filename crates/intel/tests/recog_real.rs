//! Recog's certificate fingerprints on the real certificates in `../shared/data/zeek/`: every
//! subject and issuer logged there (public web sites, CDNs, CAs, a few self-signed) is matched,
//! and none is taken for a SoHo or edge device. Skips when the shared data is absent.

use std::io::Read;
use std::path::{Path, PathBuf};

use lasthop_intel::FingerprintSet;

fn x509_logs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            x509_logs(&path, out);
        } else if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("x509")) {
            out.push(path);
        }
    }
}

/// Subjects and issuers from a Zeek x509 log, TSV (by `#fields`) or JSON lines.
fn names(path: &Path) -> Vec<String> {
    let mut text = String::new();
    let file = std::fs::File::open(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(file).read_to_string(&mut text).unwrap();
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text).unwrap();
    }
    let json =
        regex::Regex::new(r#""certificate\.(?:subject|issuer)":"((?:[^"\\]|\\.)*)""#).unwrap();
    let mut columns = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(fields) = line.strip_prefix("#fields\t") {
            columns = fields
                .split('\t')
                .enumerate()
                .filter(|(_, f)| *f == "certificate.subject" || *f == "certificate.issuer")
                .map(|(i, _)| i)
                .collect();
        } else if line.starts_with('{') {
            out.extend(json.captures_iter(line).map(|c| c[1].replace("\\\\", "\\")));
        } else if !line.starts_with('#') {
            let fields: Vec<&str> = line.split('\t').collect();
            out.extend(columns.iter().filter_map(|i| fields.get(*i)).map(|s| s.to_string()));
        }
    }
    out
}

#[test]
fn no_real_web_certificate_is_taken_for_an_edge_device() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/zeek");
    if !root.exists() {
        eprintln!("SKIPPED: {} is absent; the real-data tests need ../shared/data", root.display());
        return;
    }
    let mut logs = Vec::new();
    x509_logs(&root, &mut logs);
    let mut all: Vec<String> = logs.iter().flat_map(|p| names(p)).collect();
    all.sort();
    all.dedup();
    assert!(all.len() > 100, "only {} distinct names read from {} logs", all.len(), logs.len());
    let set = FingerprintSet::x509_subjects();
    let matched: Vec<(String, String)> =
        all.iter().filter_map(|n| set.first_match(n).map(|d| (n.clone(), d.description))).collect();
    eprintln!(
        "{} distinct subjects and issuers from {} logs; matched: {matched:#?}",
        all.len(),
        logs.len()
    );
    let devices: Vec<&(String, String)> = matched
        .iter()
        .filter(|(n, _)| set.first_match(n).is_some_and(|d| d.class() != "other"))
        .collect();
    assert!(devices.is_empty(), "public certificates taken for edge devices: {devices:#?}");
}
