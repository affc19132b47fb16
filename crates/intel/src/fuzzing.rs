//! The entry points the fuzz targets (`fuzz/`) and their corpus-replay tests share: every
//! reader of intelligence that comes from outside. Each panics only on a broken invariant.

use std::path::Path;

use crate::asn::AsnDb;
use crate::feeds::{FeedReport, WarningList, WarningLists, misp, read_feed, stix, table, text};
use crate::indicators::Indicator;

const PATH: &str = "fuzz/feed";

/// Any bytes as a feed file, its format sniffed as `--intel FILE` does, and as a MISP warning
/// list.
pub fn read_any_feed(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check(read_feed(Path::new(PATH), "fuzz", &text));
    let _ = WarningList::from_json(&text);
}

/// Any bytes as JSON handed to the STIX 2.1 bundle reader, bundle or not.
pub fn read_stix(data: &[u8]) {
    read_json(data, stix::read);
}

/// Any bytes as JSON handed to the MISP event reader, event or not.
pub fn read_misp(data: &[u8]) {
    read_json(data, misp::read);
}

type JsonReader = fn(&Path, &str, &str, &serde_json::Value, &mut FeedReport);

fn read_json(data: &[u8], read: JsonReader) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else { return };
    let mut report = FeedReport::default();
    read(Path::new(PATH), "fuzz", text, &json, &mut report);
    check(report);
}

/// Any bytes as a CSV feed (when its first line can be a header) and as a plain list or report
/// text.
pub fn read_list(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(header) = table::header(&text) {
        let mut report = FeedReport::default();
        table::read(Path::new(PATH), "fuzz", &text, header, &mut report);
        check(report);
    }
    let mut report = FeedReport::default();
    text::read_text(Path::new(PATH), "fuzz", &text, &mut report);
    check(report);
}

/// Any bytes as the two ASN CSV files (split at the first NUL) and as a stored ASN database;
/// whatever loads answers lookups.
pub fn read_asn(data: &[u8]) {
    let (v4, v6) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let csv = AsnDb::from_csv_readers(v4, v6, "fuzz");
    // The stored form is zstd-compressed: compressing the input reaches the decoder behind it.
    let stored = zstd::encode_all(data, 1).expect("compressing to memory cannot fail");
    let decoded = [AsnDb::decode(data).ok(), AsnDb::decode(&stored).ok()];
    for db in std::iter::once(csv.ok()).chain(decoded).flatten() {
        let (v4_ranges, _) = db.ranges();
        assert!(db.v4_ranges().count() == v4_ranges);
        for probe in ["0.0.0.0", "10.1.2.3", "255.255.255.255", "::1", "2001:db8::1"] {
            let _ = db.lookup(probe.parse().expect("a literal address"));
        }
    }
}

/// Invariants of any feed's result: suppression loses nothing it does not account for, and
/// every indicator survives the store's JSON round trip.
fn check(mut report: FeedReport) {
    let before = report.indicators.len();
    report.indicators.suppress(WarningLists::bundled());
    assert_eq!(report.indicators.len() + report.indicators.suppressed.len(), before);
    for i in report.indicators.iter() {
        let line = serde_json::to_string(i).expect("indicators serialise");
        assert_eq!(&serde_json::from_str::<Indicator>(&line).expect("and read back"), i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_sources::fuzzing::{assert_replayed, replay};

    #[test]
    fn every_intelligence_reader_replays_its_corpus() {
        for (target, run) in [
            ("intel_feed", read_any_feed as fn(&[u8])),
            ("stix_bundle", read_stix),
            ("misp_event", read_misp),
            ("intel_list", read_list),
            ("asn_data", read_asn),
        ] {
            assert_replayed(target, replay(target, run));
        }
    }

    #[test]
    fn the_stored_database_seeds_decode_so_the_fuzzer_starts_inside_the_decoder() {
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/seed/asn_data");
        let mut decoded = 0;
        for entry in std::fs::read_dir(seeds).unwrap().flatten() {
            let data = std::fs::read(entry.path()).unwrap();
            if data.starts_with(b"LHASN") {
                let db = AsnDb::decode(&zstd::encode_all(&data[..], 1).unwrap()).unwrap();
                assert!(db.lookup("10.0.0.1".parse().unwrap()).is_some());
                decoded += 1;
            }
        }
        assert!(decoded >= 2, "{decoded}");
    }
}
