//! `lasthop audit`: an inventory of edge devices turned into a ranked list of actions, each tied
//! to the APT40 advisory's mitigation it carries out.
//!
//! The flow follows the rest of lasthop: inventories ([`inventory`]: nmap XML, CSV; the CLI adds
//! devices the store saw) → identification ([`identify`]: Recog, CPE) → knowledge ([`kev`],
//! [`fixes`], [`eol`]) → actions ([`audit_device`]) → findings for the sinks ([`to_findings`]).
//!
//! Ranking: what an attacker can reach and exploit now comes first. An internet-facing device
//! past its end of life (no fix will come) or affected by a known-exploited CVE scores highest;
//! exposed legacy and management services next; versions that need checking and KEV entries
//! naming only a product family last. Every action says why, and cites its source.

pub mod eol;
pub mod fixes;
pub mod fuzzing;
pub mod identify;
pub mod inventory;
pub mod kev;
pub mod version;

use std::net::IpAddr;

use lasthop_findings::{Entities, Finding, Severity};
use serde::Serialize;
use serde_json::json;

use identify::Identity;
use inventory::{Device, Service};

/// The advisory's mitigations (CISA AA24-190A, "Mitigations"), with the ATT&CK mitigation each
/// corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mitigation {
    PatchManagement,
    ReplaceEndOfLife,
    DisableUnusedServices,
    NetworkSegmentation,
    MultiFactorAuthentication,
    LeastPrivilege,
}

impl Mitigation {
    pub fn text(self) -> &'static str {
        match self {
            Mitigation::PatchManagement => {
                "Patch management: patch internet-facing devices and applications promptly"
            }
            Mitigation::ReplaceEndOfLife => "Replace end-of-life equipment",
            Mitigation::DisableUnusedServices => {
                "Disable unused or unnecessary network services, ports and protocols"
            }
            Mitigation::NetworkSegmentation => {
                "Network segmentation: limit what a compromised device can reach"
            }
            Mitigation::MultiFactorAuthentication => "Multi-factor authentication on remote access",
            Mitigation::LeastPrivilege => {
                "Least privilege: management interfaces only from administrators' networks"
            }
        }
    }

    /// ATT&CK's mitigation id.
    pub fn attack_id(self) -> &'static str {
        match self {
            Mitigation::PatchManagement => "M1051",
            Mitigation::ReplaceEndOfLife => "M1051",
            Mitigation::DisableUnusedServices => "M1042",
            Mitigation::NetworkSegmentation => "M1030",
            Mitigation::MultiFactorAuthentication => "M1032",
            Mitigation::LeastPrivilege => "M1035",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    Replace,
    Upgrade,
    Patch,
    CheckVersion,
    DisableService,
    RestrictManagement,
    EnableMfa,
    Segment,
}

impl ActionKind {
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Replace => "replace",
            ActionKind::Upgrade => "upgrade",
            ActionKind::Patch => "patch",
            ActionKind::CheckVersion => "check version",
            ActionKind::DisableService => "disable service",
            ActionKind::RestrictManagement => "restrict management",
            ActionKind::EnableMfa => "enable MFA",
            ActionKind::Segment => "segment",
        }
    }
}

/// KEV's facts about a CVE, shown with the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KevFacts {
    pub cve: String,
    pub name: String,
    pub date_added: String,
    pub due_date: String,
    pub ransomware: bool,
    pub required_action: String,
}

/// One thing to do about a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub kind: ActionKind,
    /// 0–100: higher first.
    pub priority: u8,
    pub title: String,
    /// Why, in a sentence or two.
    pub detail: String,
    pub mitigation: Mitigation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<KevFacts>,
    /// The CVEs the action covers (one, or several grouped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<String>,
    /// Where the verdict comes from (an advisory, endoflife.date, the SoHo table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A device and what to do about it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceReport {
    pub device: Device,
    pub identity: Identity,
    pub exposed: bool,
    /// Ranked, highest priority first.
    pub actions: Vec<Action>,
    /// CVEs checked and found fixed in the device's version, for the record.
    pub fixed: Vec<String>,
}

/// Everything an audit knows.
pub struct Knowledge {
    pub kev: kev::Catalogue,
    pub fixes: Vec<fixes::Fix>,
    pub products: Vec<eol::Product>,
    pub hardware: Vec<eol::Hardware>,
}

impl Knowledge {
    /// What lasthop bundles.
    pub fn bundled() -> Knowledge {
        Knowledge {
            kev: kev::Catalogue::bundled(),
            fixes: fixes::bundled(),
            products: eol::products(),
            hardware: eol::bundled_hardware(),
        }
    }
}

/// How the inventory relates to the internet.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The devices face the internet (the scan was made from outside), whatever their address.
    pub internet_facing: bool,
    /// Today, `YYYY-MM-DD`: end-of-life dates are compared with it.
    pub today: String,
}

fn is_public(address: &str) -> bool {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

/// Audits every device, ranked: the device with the most urgent action first.
pub fn audit(devices: &[Device], knowledge: &Knowledge, options: &Options) -> Vec<DeviceReport> {
    let mut reports: Vec<DeviceReport> =
        devices.iter().map(|d| audit_device(d, knowledge, options)).collect();
    reports.sort_by(|a, b| {
        let top = |r: &DeviceReport| r.actions.first().map(|a| a.priority).unwrap_or(0);
        top(b).cmp(&top(a)).then_with(|| a.device.name.cmp(&b.device.name))
    });
    reports
}

/// The actions for one device.
pub fn audit_device(d: &Device, knowledge: &Knowledge, options: &Options) -> DeviceReport {
    let identity = identify::identify(d);
    let exposed =
        d.exposed.unwrap_or(options.internet_facing || d.address.as_deref().is_some_and(is_public));
    let mut actions = Vec::new();
    let mut fixed = Vec::new();
    let what = describe(d, &identity);
    end_of_life(d, &identity, knowledge, options, exposed, &what, &mut actions);
    known_exploited(&identity, knowledge, exposed, &what, &mut actions, &mut fixed);
    exposure(d, &identity, exposed, &mut actions);
    actions.sort_by(|a, b| {
        b.priority.cmp(&a.priority).then(a.kind.cmp(&b.kind)).then(a.title.cmp(&b.title))
    });
    // One replacement is enough: the most urgent stays, with the others' CVEs and reasons.
    let replacements: Vec<Action> =
        actions.iter().filter(|a| a.kind == ActionKind::Replace).cloned().collect();
    let mut replace_seen = false;
    actions
        .retain(|a| a.kind != ActionKind::Replace || !std::mem::replace(&mut replace_seen, true));
    if let Some(first) = actions.iter_mut().find(|a| a.kind == ActionKind::Replace) {
        for other in replacements.iter().skip(1) {
            for cve in &other.cves {
                if !first.cves.contains(cve) {
                    first.cves.push(cve.clone());
                }
            }
            if !first.detail.contains(&other.detail) {
                first.detail = format!("{} Also: {}", first.detail, other.detail);
            }
        }
    }
    DeviceReport { device: d.clone(), identity, exposed, actions, fixed }
}

/// `Cisco RV320 1.4.2.15` as the inventory and identification describe it.
fn describe(d: &Device, id: &Identity) -> String {
    let vendor = d.vendor.clone().or(id.vendor.clone()).unwrap_or_default();
    let model = d.model.clone().or(id.products.first().cloned()).unwrap_or_default();
    let version = id.version.clone().map(|v| format!(" {v}")).unwrap_or_default();
    format!("{vendor} {model}{version}").trim().to_string()
}

fn end_of_life(
    d: &Device,
    id: &Identity,
    k: &Knowledge,
    o: &Options,
    exposed: bool,
    what: &str,
    out: &mut Vec<Action>,
) {
    let vendor = id.vendor.clone().unwrap_or_default();
    let mut verdicts = Vec::new();
    let model = d.model.clone().or(id.products.first().cloned()).unwrap_or_default();
    // The most specific row wins: TZ300P has its own row beside TZ300's.
    let hardware =
        k.hardware.iter().filter(|h| h.matches(&vendor, &model)).max_by_key(|h| h.model.len());
    if let Some(h) = hardware {
        verdicts.push((
            h.verdict(&o.today),
            format!("{} {}", h.vendor, h.model),
            h.note.clone(),
            true,
        ));
    }
    if let Some(version) = &id.version {
        for p in k
            .products
            .iter()
            .filter(|p| p.vendor == vendor && id.products.iter().any(|x| x == p.product))
        {
            if let Some(v) = p.verdict(version, &o.today) {
                verdicts.push((v, format!("{} {version}", p.product), String::new(), false));
            }
        }
    }
    for (v, subject, note, hardware) in verdicts {
        let when = v.date.as_deref().map(|d| format!(" on {d}")).unwrap_or_default();
        if v.ended && !hardware {
            // A release past support on supported hardware: upgrade, not replace.
            out.push(Action {
                kind: ActionKind::Upgrade,
                priority: if exposed { 88 } else { 72 },
                title: format!("Upgrade {what}: the release is past end of support"),
                detail: format!("{subject} reached end of support{when}: it gets no security fixes. Move to a supported release."),
                mitigation: Mitigation::PatchManagement,
                kev: None,
                cves: Vec::new(),
                source: Some(v.source.clone()),
            });
        } else if v.ended {
            out.push(Action {
                kind: ActionKind::Replace,
                priority: if exposed { 95 } else { 80 },
                title: format!("Replace {what}: past end of life"),
                detail: format!(
                    "{subject} reached end of support{when}: no security fixes will come, and end-of-life edge devices are what the advisory's actors and the SoHo botnets take over as relays.{}",
                    if note.is_empty() { String::new() } else { format!(" {note}") }
                ),
                mitigation: Mitigation::ReplaceEndOfLife,
                kev: None,
                cves: Vec::new(),
                source: Some(v.source.clone()),
            });
            out.push(Action {
                kind: ActionKind::Segment,
                priority: if exposed { 60 } else { 50 },
                title: format!("Segment {what} until it is replaced"),
                detail: "An unpatchable device must not reach the internal network: put it in its own segment, allow only the flows it needs, and log them.".into(),
                mitigation: Mitigation::NetworkSegmentation,
                kev: None,
                cves: Vec::new(),
                source: Some(v.source),
            });
        } else if let Some(date) = &v.date
            && date.as_str() <= add_days(&o.today, 180).as_str()
        {
            out.push(Action {
                kind: if hardware { ActionKind::Replace } else { ActionKind::Upgrade },
                priority: 40,
                title: format!(
                    "Plan the {} of {what}: support ends {date}",
                    if hardware { "replacement" } else { "upgrade" }
                ),
                detail: format!("{subject} stops receiving security fixes on {date}."),
                mitigation: Mitigation::ReplaceEndOfLife,
                kev: None,
                cves: Vec::new(),
                source: Some(v.source),
            });
        }
    }
}

/// `YYYY-MM-DD` plus days, by calendar arithmetic on the civil date.
fn add_days(date: &str, days: i64) -> String {
    let parts: Vec<i64> = date.split('-').filter_map(|p| p.parse().ok()).collect();
    let [y, m, d] = parts[..] else { return date.to_string() };
    // Days from civil (Howard Hinnant's algorithm) and back.
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let z = era * 146_097 + doe + days;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn facts(e: &kev::Entry) -> KevFacts {
    KevFacts {
        cve: e.cve_id.clone(),
        name: e.vulnerability_name.clone(),
        date_added: e.date_added.clone(),
        due_date: e.due_date.clone(),
        ransomware: e.ransomware(),
        required_action: e.required_action.clone(),
    }
}

fn known_exploited(
    id: &Identity,
    k: &Knowledge,
    exposed: bool,
    what: &str,
    out: &mut Vec<Action>,
    fixed: &mut Vec<String>,
) {
    let Some(vendor) = &id.vendor else { return };
    let mut family_matches = Vec::new();
    for (entry, products) in k.kev.entries.iter().zip(&k.kev.products) {
        if &products.vendor != vendor {
            continue;
        }
        // A product the entry names, or one the fixed-version table lists for this CVE (KEV
        // may say "Multiple Firewalls" where the vendor's advisory names ZLD).
        let named =
            products.names.iter().find(|n| id.products.iter().any(|p| p == *n)).or_else(|| {
                k.fixes
                    .iter()
                    .find(|f| {
                        f.cve == entry.cve_id
                            && &f.vendor == vendor
                            && id.products.contains(&f.product)
                    })
                    .map(|f| &f.product)
            });
        // An entry naming a family may still name the model in its text ("DGN2200").
        let model_in_text = id.products.first().is_some_and(|m| {
            m.len() >= 4
                && format!("{} {}", entry.vulnerability_name, entry.short_description)
                    .to_ascii_lowercase()
                    .contains(m.as_str())
        });
        let Some(product) =
            named.cloned().or_else(|| model_in_text.then(|| id.products[0].clone()))
        else {
            let family = products.family.as_deref();
            let fits = match family {
                Some("products") | Some("devices") => {
                    !products.names.iter().any(|n| !id.products.contains(n))
                        || products.names.is_empty()
                }
                Some("routers") => id.class == "router",
                Some("firewalls") => id.class == "firewall",
                Some("cameras") => id.class == "camera",
                Some("nas") => id.class == "nas",
                Some(f) => id.family.as_deref() == Some(f),
                None => false,
            };
            if fits && products.names.is_empty() {
                family_matches.push(entry);
            }
            continue;
        };
        let rows: Vec<&fixes::Fix> =
            k.fixes.iter().filter(|f| f.cve == entry.cve_id && &f.vendor == vendor).collect();
        // Only a row for this very product: FortiProxy is not judged by FortiOS's fixes.
        let row = rows.iter().find(|f| id.products.contains(&f.product));
        let ransom = if entry.ransomware() { 5 } else { 0 };
        let status = match (row, &id.version) {
            (Some(r), Some(v)) => Some((r.status(v), r)),
            _ => None,
        };
        let due = format!(
            "KEV due date {}{}",
            entry.due_date,
            if entry.ransomware() { ", used in ransomware campaigns" } else { "" }
        );
        let (kind, priority, title, detail, source) = match status {
            Some((fixes::Status::Fixed, _)) => {
                fixed.push(entry.cve_id.clone());
                continue;
            }
            Some((fixes::Status::Affected { fixed_in }, r)) => (
                ActionKind::Patch,
                (if exposed { 90 } else { 75 }) + ransom,
                format!("Patch {} on {what}", entry.cve_id),
                format!(
                    "{} is known to be exploited ({}). Version {} is affected{}. {due}.",
                    entry.cve_id,
                    entry.vulnerability_name,
                    id.version.clone().unwrap_or_default(),
                    fixed_in.map(|f| format!("; fixed in {f}")).unwrap_or_default()
                ),
                Some(format!("{} {}", r.source_title, r.source).trim().to_string()),
            ),
            Some((fixes::Status::NoFix, r)) => (
                ActionKind::Replace,
                (if exposed { 95 } else { 80 }),
                format!("Replace {what}: {} will not be fixed", entry.cve_id),
                format!(
                    "{} is known to be exploited ({}) and the vendor ships no fix. {due}.",
                    entry.cve_id, entry.vulnerability_name
                ),
                Some(format!("{} {}", r.source_title, r.source).trim().to_string()),
            ),
            Some((fixes::Status::Unknown, _)) | None => {
                let eol = entry.end_of_life() == Some(kev::EndOfLife::Is);
                let (kind, priority, title) = if eol {
                    (
                        ActionKind::Replace,
                        if exposed { 95 } else { 80 },
                        format!("Replace {what}: {} on an end-of-life product", entry.cve_id),
                    )
                } else {
                    (
                        ActionKind::CheckVersion,
                        (if exposed { 70 } else { 55 }) + ransom,
                        format!("Check {what} for {}", entry.cve_id),
                    )
                };
                let version = match &id.version {
                    Some(v) => format!(
                        "lasthop has no fixed-version data for version {v}: check it against the vendor's advisory"
                    ),
                    None => {
                        "the inventory gives no version: check it against the vendor's advisory"
                            .into()
                    }
                };
                (
                    kind,
                    priority,
                    title,
                    format!(
                        "{} is known to be exploited in {} ({}); {version}. {due}.",
                        entry.cve_id, product, entry.vulnerability_name
                    ),
                    Some(format!("CISA KEV {}", entry.cve_id)),
                )
            }
        };
        out.push(Action {
            kind,
            priority: priority.min(100),
            title,
            detail,
            mitigation: if kind == ActionKind::Replace {
                Mitigation::ReplaceEndOfLife
            } else {
                Mitigation::PatchManagement
            },
            cves: vec![entry.cve_id.clone()],
            kev: Some(facts(entry)),
            source,
        });
    }
    group_checks(what, out);
    if !family_matches.is_empty() {
        let cves: Vec<&str> = family_matches.iter().map(|e| e.cve_id.as_str()).collect();
        let shown = cves.iter().take(8).copied().collect::<Vec<_>>().join(", ");
        let more =
            if cves.len() > 8 { format!(" and {} more", cves.len() - 8) } else { String::new() };
        out.push(Action {
            kind: ActionKind::CheckVersion,
            priority: if exposed { 45 } else { 35 },
            title: format!("Check {what} against {} KEV entr{} naming {vendor} products without models", cves.len(), if cves.len() == 1 { "y" } else { "ies" }),
            detail: format!("KEV lists {shown}{more} for {vendor} devices without saying which models: read each advisory and confirm this model is not among them."),
            mitigation: Mitigation::PatchManagement,
            kev: None,
            cves: Vec::new(),
            source: Some("CISA KEV".into()),
        });
    }
}

/// Several KEV entries with no fixed-version data for one device read better as one action
/// listing them than as a screenful.
fn group_checks(what: &str, out: &mut Vec<Action>) {
    const GROUP_FROM: usize = 4;
    let checks: Vec<Action> = out
        .iter()
        .filter(|a| a.kind == ActionKind::CheckVersion && a.kev.is_some())
        .cloned()
        .collect();
    if checks.len() < GROUP_FROM {
        return;
    }
    out.retain(|a| !(a.kind == ActionKind::CheckVersion && a.kev.is_some()));
    let cves: Vec<String> = checks.iter().flat_map(|a| a.cves.clone()).collect();
    let ransomware: Vec<&str> = checks
        .iter()
        .filter_map(|a| a.kev.as_ref())
        .filter(|k| k.ransomware)
        .map(|k| k.cve.as_str())
        .collect();
    let latest_due = checks
        .iter()
        .filter_map(|a| a.kev.as_ref())
        .map(|k| k.due_date.as_str())
        .max()
        .unwrap_or("");
    let shown = cves.iter().take(12).cloned().collect::<Vec<_>>().join(", ");
    let more =
        if cves.len() > 12 { format!(" and {} more", cves.len() - 12) } else { String::new() };
    out.push(Action {
        kind: ActionKind::CheckVersion,
        priority: checks.iter().map(|a| a.priority).max().unwrap_or(0),
        title: format!("Check {what} against {} known-exploited CVEs", cves.len()),
        detail: format!(
            "KEV lists {shown}{more} for this product, and lasthop has no fixed-version data for this version: check each vendor advisory.{} Latest KEV due date {latest_due}.",
            if ransomware.is_empty() { String::new() } else { format!(" Used in ransomware campaigns: {}.", ransomware.join(", ")) }
        ),
        mitigation: Mitigation::PatchManagement,
        kev: None,
        cves,
        source: Some("CISA KEV".into()),
    });
}

/// A risky service: what it is and what to do.
struct Risk {
    kind: ActionKind,
    exposed: u8,
    internal: u8,
    why: &'static str,
    mitigation: Mitigation,
}

fn risk_of(s: &Service, class: &str) -> Option<(&'static str, Risk)> {
    let name = s.name.to_ascii_lowercase();
    let udp = s.protocol == "udp";
    let risk = |kind, exposed, internal, why, mitigation| Risk {
        kind,
        exposed,
        internal,
        why,
        mitigation,
    };
    use ActionKind::*;
    // A service that answered HTTP on an edge device is its web administration, whatever
    // nmap named it (a router's web UI whose Server header mentions UPnP is called `upnp`).
    let answers_http = s.http_server.is_some() || s.http_title.is_some();
    if answers_http && is_edge(class) && !matches!(s.port, 1900 | 5000) {
        return Some((
            "web management",
            risk(
                RestrictManagement,
                70,
                0,
                "a device's web administration on the internet is how most edge-device exploits arrive",
                Mitigation::LeastPrivilege,
            ),
        ));
    }
    Some(match (s.port, name.as_str()) {
        (23, _) | (_, "telnet") => (
            "telnet",
            risk(
                DisableService,
                85,
                50,
                "Telnet sends passwords in clear text and is the first thing router botnets try",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (161, _) if udp => (
            "SNMP",
            risk(
                DisableService,
                75,
                0,
                "SNMP on the internet leaks the configuration and, with a guessed community, changes it",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (_, "snmp") => (
            "SNMP",
            risk(
                DisableService,
                75,
                0,
                "SNMP on the internet leaks the configuration and, with a guessed community, changes it",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (445, _) | (139, _) | (_, "microsoft-ds") | (_, "netbios-ssn") | (_, "smb") => (
            "SMB",
            risk(
                DisableService,
                85,
                0,
                "SMB must never face the internet",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (3389, _) | (_, "ms-wbt-server") | (_, "rdp") => (
            "RDP",
            risk(
                DisableService,
                85,
                0,
                "RDP on the internet is brute-forced and exploited; put it behind a VPN with MFA",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (1900, _) | (_, "upnp") => (
            "UPnP",
            risk(
                DisableService,
                75,
                0,
                "UPnP lets anything open ports in the router; on the WAN side it is a known relay vector",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (7547, _) | (_, "cwmp") | (_, "tr-069") => (
            "TR-069",
            risk(
                DisableService,
                75,
                0,
                "TR-069 management exposed to the internet was how Mirai-family botnets took over routers",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (9998, _) | (9999, _) => (
            "port 9998/9999",
            risk(
                DisableService,
                70,
                45,
                "the advisory saw the actors open ports 9998 and 9999 on compromised devices: find what listens here",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (21, _) | (_, "ftp") => (
            "FTP",
            risk(
                DisableService,
                60,
                0,
                "FTP sends credentials in clear text",
                Mitigation::DisableUnusedServices,
            ),
        ),
        (8291, _) | (_, "winbox") => (
            "Winbox",
            risk(
                RestrictManagement,
                80,
                0,
                "MikroTik's Winbox management on the internet was exploited en masse (CVE-2018-14847)",
                Mitigation::LeastPrivilege,
            ),
        ),
        (22, _) | (_, "ssh") if is_edge(class) => (
            "SSH management",
            risk(
                RestrictManagement,
                55,
                0,
                "management on the internet should be reachable only from administrators' addresses",
                Mitigation::LeastPrivilege,
            ),
        ),
        (_, n)
            if is_edge(class)
                && (n.starts_with("http")
                    || n == "ssl/http"
                    || matches!(s.port, 80 | 443 | 8080 | 8443 | 4443 | 10443)) =>
        {
            (
                "web management",
                risk(
                    RestrictManagement,
                    70,
                    0,
                    "a device's web administration on the internet is how most edge-device exploits arrive",
                    Mitigation::LeastPrivilege,
                ),
            )
        }
        _ => return None,
    })
}

fn is_edge(class: &str) -> bool {
    matches!(class, "router" | "firewall" | "vpn")
}

/// Remote-access portals that must have MFA in front of them.
const PORTALS: &[&str] = &[
    "connect secure",
    "policy secure",
    "netscaler adc",
    "netscaler gateway",
    "globalprotect",
    "pan-os",
    "fortios",
    "asa",
    "ftd",
    "sma",
    "big-ip",
];

fn exposure(d: &Device, id: &Identity, exposed: bool, out: &mut Vec<Action>) {
    // The inventory's management interfaces, as services.
    let mut services = d.services.clone();
    for m in &d.management {
        let (name, port) = match m.split_once(':') {
            Some((n, p)) => (n.to_string(), p.parse().unwrap_or(0)),
            None => (m.clone(), 0),
        };
        let port = if port > 0 {
            port
        } else {
            match name.as_str() {
                "telnet" => 23,
                "ssh" => 22,
                "http" => 80,
                "https" => 443,
                "snmp" => 161,
                "winbox" => 8291,
                "tr-069" | "cwmp" => 7547,
                _ => 0,
            }
        };
        let protocol = if name == "snmp" { "udp" } else { "tcp" };
        if !services.iter().any(|s| s.port == port && port != 0) {
            services.push(Service { port, protocol: protocol.into(), name, ..Default::default() });
        }
    }
    let mut seen = Vec::new();
    for s in &services {
        let Some((label, r)) = risk_of(s, &id.class) else { continue };
        let priority = if exposed { r.exposed } else { r.internal };
        if priority == 0 || seen.contains(&label) {
            continue;
        }
        seen.push(label);
        let port = if s.port > 0 { format!(" ({}/{})", s.port, s.protocol) } else { String::new() };
        let (verb, place) = match r.kind {
            ActionKind::RestrictManagement => ("Restrict", "to administrators' networks"),
            _ => ("Disable", if exposed { "or block it at the edge" } else { "if unused" }),
        };
        out.push(Action {
            kind: r.kind,
            priority,
            title: format!("{verb} {label}{port} on {} {place}", d.name),
            detail: format!(
                "{}{}.",
                r.why,
                if exposed { ", and this device faces the internet" } else { "" }
            ),
            mitigation: r.mitigation,
            kev: None,
            cves: Vec::new(),
            source: Some(format!(
                "{} {}",
                if d.services.contains(s) { "scan" } else { "inventory" },
                d.source
            )),
        });
    }
    let portal = id.class == "vpn" || id.products.iter().any(|p| PORTALS.contains(&p.as_str()));
    if exposed && portal {
        out.push(Action {
            kind: ActionKind::EnableMfa,
            priority: 70,
            title: format!("Require MFA on the remote-access portal of {}", d.name),
            detail: "The advisory's actors log in with valid, stolen credentials: remote access must ask for a second factor, and its logs must be kept.".into(),
            mitigation: Mitigation::MultiFactorAuthentication,
            kev: None,
            cves: Vec::new(),
            source: None,
        });
    }
}

/// Severity of an action's priority.
pub fn severity(priority: u8) -> Severity {
    match priority {
        90.. => Severity::Critical,
        75..=89 => Severity::High,
        55..=74 => Severity::Medium,
        35..=54 => Severity::Low,
        _ => Severity::Info,
    }
}

/// The detector name audit findings carry.
pub const DETECTOR: &str = "edge-audit";

/// One finding per action, for the sinks (JSON Lines, CSV, HTML, STIX, layer), dated `now_us`
/// (when the audit ran).
pub fn to_findings(reports: &[DeviceReport], now_us: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in reports {
        let d = &r.device;
        for a in &r.actions {
            let entities = Entities {
                destination: Some(d.address.clone().unwrap_or_else(|| d.name.clone())),
                indicator: a
                    .kev
                    .as_ref()
                    .map(|k| k.cve.clone())
                    .or_else(|| (a.cves.len() == 1).then(|| a.cves[0].clone())),
                ..Default::default()
            };
            let key = format!("{}\u{1f}{}\u{1f}{}", d.name, a.kind.name(), a.title);
            let mut f = Finding::keyed(
                DETECTOR,
                &key,
                a.title.clone(),
                f64::from(a.priority) / 100.0,
                entities,
            );
            f.severity = severity(a.priority);
            f.first_seen = now_us;
            f.last_seen = now_us;
            f.techniques = match a.kind {
                ActionKind::Replace
                | ActionKind::Upgrade
                | ActionKind::Patch
                | ActionKind::CheckVersion => {
                    vec!["T1190".into(), "T1584.008".into()]
                }
                ActionKind::EnableMfa => vec!["T1133".into(), "T1078".into()],
                ActionKind::DisableService | ActionKind::RestrictManagement => vec!["T1133".into()],
                ActionKind::Segment => vec!["T1090.003".into()],
            };
            f.explanation = format!(
                "{} Mitigation: {} ({}).",
                a.detail,
                a.mitigation.text(),
                a.mitigation.attack_id()
            );
            let figures = &mut f.evidence.figures;
            figures.insert("device".into(), json!(d.name));
            figures.insert("action".into(), json!(a.kind.name()));
            figures.insert("priority".into(), json!(a.priority));
            figures.insert("exposed".into(), json!(r.exposed));
            figures.insert("mitigation".into(), json!(a.mitigation.text()));
            figures
                .insert("identity".into(), serde_json::to_value(&r.identity).unwrap_or_default());
            if let Some(k) = &a.kev {
                figures.insert("kev".into(), serde_json::to_value(k).unwrap_or_default());
            }
            if !a.cves.is_empty() {
                figures.insert("cves".into(), json!(a.cves));
            }
            if let Some(s) = &a.source {
                figures.insert("source".into(), json!(s));
            }
            figures.insert("inventory".into(), json!(d.source));
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_add_days_across_months_and_years() {
        assert_eq!(add_days("2026-11-27", 180), "2027-05-26");
        assert_eq!(add_days("2024-02-28", 1), "2024-02-29");
        assert_eq!(add_days("2023-12-31", 1), "2024-01-01");
    }

    #[test]
    fn public_addresses_are_exposed() {
        assert!(is_public("203.0.113.5"));
        assert!(!is_public("10.1.2.3") || !is_public("127.0.0.1"));
        assert!(!is_public("100.64.1.1"));
        assert!(!is_public("fd00::1"));
    }
}
