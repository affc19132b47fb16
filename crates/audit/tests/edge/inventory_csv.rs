//! The hand-written inventory: 34 devices, ten vendors, the actions each must get — and must
//! not get — with the CVEs found fixed in their versions.

use lasthop_audit::DeviceReport;
use lasthop_audit::inventory::Inventory;

use crate::{actions_of, audit};

fn inventory() -> Inventory {
    let mut inv = Inventory::default();
    inv.read_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edge_inventory.csv"),
    );
    inv
}

/// (device, actions it must have, actions it must not have, CVEs fixed in its version)
type Expectation =
    (&'static str, &'static [&'static str], &'static [&'static str], &'static [&'static str]);

const EXPECTED: &[Expectation] = &[
    // Cisco RV: end of life (Cisco will not fix CVE-2023-20118), so replace and segment.
    (
        "branch-rv320",
        &["replace", "segment", "disable service", "restrict management"],
        &["upgrade"],
        &[],
    ),
    ("branch-rv325", &["replace", "segment", "restrict management"], &["disable service"], &[]),
    ("shop-rv340", &["check version CVE-2022-20699", "restrict management"], &["replace"], &[]),
    ("lab-rv110w", &["replace", "segment"], &["restrict management", "disable service"], &[]),
    (
        "hq-isr",
        &["upgrade", "check version CVE-2023-20198", "restrict management"],
        &["replace"],
        &[],
    ),
    // IOS, not IOS XE: the inventory says so, and telnet inside still goes.
    (
        "core-switch",
        &["check version CVE-2017-6742", "disable service"],
        &["check version CVE-2023-20198", "replace"],
        &[],
    ),
    // DrayTek: the 2960 is end of life; 1.5.1 fixes CVE-2020-8515 but not CVE-2020-15415.
    (
        "vigor-2960",
        &["replace", "patch CVE-2020-15415", "restrict management"],
        &["patch CVE-2020-8515"],
        &["CVE-2020-8515"],
    ),
    (
        "vigor-3900",
        &["patch CVE-2020-8515", "patch CVE-2020-15415", "enable MFA", "restrict management"],
        &[],
        &[],
    ),
    ("vigor-2927", &["check version"], &["replace", "restrict management"], &[]),
    // NETGEAR.
    ("netgear-fvs336g", &["enable MFA", "restrict management"], &["replace"], &[]),
    ("netgear-fvs318n", &["disable service"], &[], &[]),
    ("netgear-dgn2200", &["replace", "segment", "restrict management"], &[], &[]),
    // Fortinet: 7.0.12 fixes CVE-2022-40684 and CVE-2023-27997 but not CVE-2024-21762, and 7.0
    // left support on 2025-09-30; 7.4.4 is current; 6.0.4 is affected by CVE-2018-13379.
    (
        "hq-fgt60f",
        &["patch CVE-2024-21762", "upgrade", "enable MFA"],
        &["patch CVE-2023-27997"],
        &["CVE-2022-40684", "CVE-2023-27997"],
    ),
    (
        "dc-fgt100f",
        &["enable MFA", "restrict management"],
        &["upgrade", "patch CVE-2024-21762"],
        &["CVE-2024-21762", "CVE-2022-42475"],
    ),
    ("old-fgt30e", &["patch CVE-2018-13379", "patch CVE-2022-42475", "upgrade"], &[], &[]),
    // Ivanti: 22.3R1 is in no listed train (check); 22.7R2.5 fixes CVE-2025-0282; 9.1R8 is
    // older than every fix.
    ("vpn-ics1", &["check version CVE-2023-46805", "enable MFA"], &["patch CVE-2023-46805"], &[]),
    (
        "vpn-ics2",
        &["enable MFA"],
        &["patch CVE-2025-0282", "check version CVE-2025-0282"],
        &["CVE-2025-0282", "CVE-2023-46805"],
    ),
    ("vpn-pcs", &["patch CVE-2023-46805", "patch CVE-2024-21887", "enable MFA"], &[], &[]),
    // Citrix: 13.1-49.13 fixes CVE-2023-3519, not CVE-2023-4966.
    ("adc-1", &["patch CVE-2023-4966", "enable MFA"], &["patch CVE-2023-3519"], &["CVE-2023-3519"]),
    ("adc-2", &["enable MFA"], &["patch CVE-2023-4966"], &["CVE-2023-4966", "CVE-2023-3519"]),
    ("adc-old", &["patch CVE-2023-3519", "patch CVE-2023-4966"], &[], &[]),
    // Palo Alto: 10.2.9 needs -h1 for CVE-2024-3400; 11.1.2-h3 has it but not CVE-2024-0012's
    // fix; 9.1 is past support and never had CVE-2024-3400.
    ("pa-3220", &["patch CVE-2024-3400", "patch CVE-2024-0012", "enable MFA"], &[], &[]),
    (
        "pa-440",
        &["patch CVE-2024-0012", "enable MFA"],
        &["patch CVE-2024-3400"],
        &["CVE-2024-3400"],
    ),
    (
        "pa-vm",
        &["upgrade"],
        &["patch CVE-2024-3400", "enable MFA", "restrict management"],
        &["CVE-2024-3400"],
    ),
    // MikroTik: 6.40.5 is before the Winbox fix (6.40.8); 7.x and 6.49 came after it.
    ("mt-hex", &["patch CVE-2018-14847", "disable service", "restrict management"], &[], &[]),
    (
        "mt-ccr",
        &["restrict management"],
        &["patch CVE-2018-14847", "check version CVE-2018-14847"],
        &["CVE-2018-14847"],
    ),
    ("mt-cap", &[], &["restrict management", "patch CVE-2018-14847"], &["CVE-2018-14847"]),
    // Ubiquiti.
    ("ubnt-er", &["restrict management"], &["replace", "patch"], &[]),
    ("ubnt-nano", &["check version CVE-2010-5330", "restrict management"], &[], &[]),
    ("ubnt-udm", &[], &["restrict management", "replace", "patch"], &[]),
    ("office-ap", &[], &["restrict management", "replace", "disable service"], &[]),
    // Zyxel: ZLD 5.30 needs 5.36 for CVE-2023-28771 and has CVE-2022-30525's fix; 5.37 has
    // both; the P660HN-T1A is end of life and exposes TR-069.
    (
        "zyxel-usg",
        &["patch CVE-2023-28771", "patch CVE-2023-33009", "restrict management"],
        &[],
        &["CVE-2022-30525"],
    ),
    (
        "zyxel-atp",
        &["restrict management"],
        &["patch CVE-2023-28771"],
        &["CVE-2023-28771", "CVE-2023-33009"],
    ),
    ("zyxel-p660", &["replace", "segment", "disable service"], &[], &[]),
];

fn report<'a>(reports: &'a [DeviceReport], name: &str) -> &'a DeviceReport {
    reports.iter().find(|r| r.device.name == name).unwrap()
}

#[test]
fn every_device_of_the_inventory_gets_its_actions() {
    let inv = inventory();
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    assert_eq!(inv.devices.len(), 34);
    let vendors: std::collections::BTreeSet<&str> =
        inv.devices.iter().filter_map(|d| d.vendor.as_deref()).collect();
    assert_eq!(vendors.len(), 10, "{vendors:?}");
    let reports = audit(&inv.devices, false);
    assert_eq!(EXPECTED.len(), 34, "every device has its expectations");
    let mut failures = Vec::new();
    for (name, must, must_not, fixed) in EXPECTED {
        let actions = actions_of(&reports, name);
        for m in *must {
            if !actions.iter().any(|a| a == m || a.starts_with(&format!("{m} CVE-"))) {
                failures.push(format!("{name}: missing {m:?} in {actions:?}"));
            }
        }
        for m in *must_not {
            if actions.iter().any(|a| a == m || a.starts_with(&format!("{m} "))) {
                failures.push(format!("{name}: unexpected {m:?} in {actions:?}"));
            }
        }
        let r = report(&reports, name);
        for cve in *fixed {
            if !r.fixed.iter().any(|c| c == cve) {
                failures.push(format!(
                    "{name}: {cve} should be fixed in {:?} (fixed: {:?})",
                    r.identity.version, r.fixed
                ));
            }
        }
        // Actions are ranked, and each names its advisory mitigation.
        assert!(r.actions.windows(2).all(|w| w[0].priority >= w[1].priority), "{name}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Internet-facing end-of-life kit comes first.
    assert!(
        reports[0].exposed && reports[0].actions[0].priority >= 90,
        "{:?}",
        reports[0].device.name
    );
}

#[test]
fn an_identified_device_has_a_cpe() {
    let inv = inventory();
    let reports = audit(&inv.devices, false);
    let fgt = report(&reports, "hq-fgt60f");
    assert!(
        fgt.identity.cpes.iter().any(|c| c == "cpe:2.3:o:fortinet:fortios:7.0.12:*:*:*:*:*:*:*"),
        "{:?}",
        fgt.identity.cpes
    );
    let pa = report(&reports, "pa-3220");
    assert!(
        pa.identity.cpes.iter().any(|c| c.starts_with("cpe:2.3:o:paloalto:pan-os:10.2.9")),
        "{:?}",
        pa.identity.cpes
    );
}
