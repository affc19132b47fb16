//! The entry points the fuzz targets (`fuzz/`) and their corpus-replay tests share: nmap XML,
//! CSV inventories and the catalogues `intel update` fetches. Each panics only on a broken
//! invariant.

use std::sync::OnceLock;

use crate::inventory::Inventory;
use crate::{Knowledge, Options, audit, eol, kev, to_findings};

fn knowledge() -> &'static Knowledge {
    static KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
    KNOWLEDGE.get_or_init(Knowledge::bundled)
}

/// Any bytes as nmap's XML output, then the audit of whatever devices it yielded.
pub fn read_nmap(data: &[u8]) {
    let mut inventory = Inventory::default();
    inventory.read_nmap("fuzz/scan.xml", &String::from_utf8_lossy(data));
    audit_all(inventory);
}

/// Any bytes as a CSV inventory, then the audit of whatever devices it yielded.
pub fn read_inventory_csv(data: &[u8]) {
    let mut inventory = Inventory::default();
    inventory.read_csv("fuzz/inventory.csv", &String::from_utf8_lossy(data));
    audit_all(inventory);
}

/// Any bytes as CISA's KEV catalogue and as the end-of-life hardware table.
pub fn read_catalogues(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(catalogue) = kev::Catalogue::parse(&text) {
        let _ = catalogue.normalisation_summary();
        let _ = catalogue.folds();
    }
    if let Ok(hardware) = eol::parse_hardware(&text) {
        for h in &hardware {
            let _ = h.matches("fuzz", "fuzz");
            let _ = h.verdict("2026-01-01");
        }
    }
}

fn audit_all(inventory: Inventory) {
    for problem in &inventory.problems {
        assert!(problem.file.starts_with("fuzz/"), "{problem}");
    }
    let options = Options { internet_facing: true, today: "2026-01-01".into() };
    let reports = audit(&inventory.devices, knowledge(), &options);
    assert_eq!(reports.len(), inventory.devices.len());
    let findings = to_findings(&reports, 0);
    for f in &findings {
        serde_json::to_string(f).expect("findings serialise");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_sources::fuzzing::{assert_replayed, replay};

    #[test]
    fn every_inventory_reader_replays_its_corpus() {
        for (target, run) in [
            ("nmap_xml", read_nmap as fn(&[u8])),
            ("inventory_csv", read_inventory_csv),
            ("audit_catalogues", read_catalogues),
        ] {
            assert_replayed(target, replay(target, run));
        }
    }
}
