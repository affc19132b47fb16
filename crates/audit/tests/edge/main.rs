//! `lasthop audit` end to end: real nmap scans of services this test starts on loopback
//! (127.0.0.2–127.0.0.4, nothing else), and a hand-written CSV inventory of 34 devices across
//! ten vendors with the actions each must get.

mod inventory_csv;
mod kev_folding;
mod nmap_scan;

use lasthop_audit::{ActionKind, DeviceReport, Knowledge, Options};

/// The date the expectations are written for: end-of-life verdicts depend on it.
pub const TODAY: &str = "2026-11-27";

pub fn audit(
    devices: &[lasthop_audit::inventory::Device],
    internet_facing: bool,
) -> Vec<DeviceReport> {
    lasthop_audit::audit(
        devices,
        &Knowledge::bundled(),
        &Options { internet_facing, today: TODAY.into() },
    )
}

/// The actions of `name` as `kind` or `kind CVE`, for readable assertions.
pub fn actions_of(reports: &[DeviceReport], name: &str) -> Vec<String> {
    let r = reports
        .iter()
        .find(|r| r.device.name == name)
        .unwrap_or_else(|| panic!("no device {name}"));
    r.actions
        .iter()
        .flat_map(|a| {
            if a.cves.is_empty() {
                vec![a.kind.name().to_string()]
            } else {
                a.cves.iter().map(|c| format!("{} {c}", a.kind.name())).collect()
            }
        })
        .collect()
}

pub fn has(reports: &[DeviceReport], name: &str, kind: ActionKind) -> bool {
    reports
        .iter()
        .find(|r| r.device.name == name)
        .is_some_and(|r| r.actions.iter().any(|a| a.kind == kind))
}
