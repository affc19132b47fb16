//! What a device is: vendor, product, operating system, version and class, from the
//! inventory's own fields, Recog fingerprints of what its services present (HTTP `Server`
//! header, page title, TLS certificate subject), nmap's service and OS detection and CPE names.
//! Every conclusion keeps the evidence it came from.

use lasthop_intel::fingerprints::FingerprintSet;
use serde::Serialize;

use crate::inventory::Device;
use crate::kev::vendor_key;

/// A device identified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Vendor key (`cisco`, `paloalto`, `draytek`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product keys the device answers to, most specific first: its model (`rv320`,
    /// `vigor2960`) and its operating system (`fortios`, `pan-os`, `routeros`, `ios xe`).
    pub products: Vec<String>,
    /// The family a model belongs to (`vigor`, `rv`), for KEV entries that name only families.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// router, firewall, vpn, nas, camera or other.
    pub class: String,
    /// CPE 2.3 names that could be formed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpes: Vec<String>,
    /// What each conclusion rests on.
    pub evidence: Vec<String>,
}

/// Operating systems a vendor's models run, by model prefix: a FortiGate runs FortiOS, a PA-
/// series firewall PAN-OS, so KEV's FortiOS entries apply to a FortiGate.
const RUNS: &[(&str, &str, &str)] = &[
    ("fortinet", "fortigate", "fortios"),
    ("fortinet", "fortiwifi", "fortios"),
    ("paloalto", "pa-", "pan-os"),
    ("paloalto", "pa ", "pan-os"),
    ("paloalto", "vm-", "pan-os"),
    ("mikrotik", "", "routeros"),
    // Only the lines that run IOS XE: older ISRs and Catalysts run IOS, ASR 9000s IOS XR.
    ("cisco", "isr 4", "ios xe"),
    ("cisco", "isr4", "ios xe"),
    ("cisco", "isr 1", "ios xe"),
    ("cisco", "asr 1", "ios xe"),
    ("cisco", "asr1", "ios xe"),
    ("cisco", "catalyst 9", "ios xe"),
    ("cisco", "c9", "ios xe"),
    ("cisco", "csr", "ios xe"),
    ("cisco", "c8", "ios xe"),
    ("cisco", "asa", "asa"),
    ("cisco", "firepower", "ftd"),
    // NetScaler Gateway runs the ADC firmware; Pulse Connect Secure is Connect Secure.
    ("citrix", "netscaler", "netscaler adc"),
    ("citrix", "adc", "netscaler adc"),
    ("citrix", "citrix adc", "netscaler adc"),
    ("citrix", "citrix gateway", "netscaler adc"),
    ("ivanti", "pulse connect secure", "connect secure"),
    ("ivanti", "ics", "connect secure"),
    ("ubiquiti", "edgerouter", "edgeos"),
    ("ubiquiti", "usg", "unifi"),
    ("ubiquiti", "udm", "unifi"),
    ("ubiquiti", "airmax", "airos"),
    ("ubiquiti", "nanostation", "airos"),
    ("ubiquiti", "litebeam", "airos"),
    ("ubiquiti", "powerbeam", "airos"),
    // USG FLEX, ATP and VPN run ZLD 5; the older ZyWALL/USG line has its own trains.
    ("zyxel", "usg flex", "zld"),
    ("zyxel", "atp", "zld"),
    ("zyxel", "vpn", "zld"),
    ("zyxel", "usg", "zywall/usg"),
    ("zyxel", "zywall", "zywall/usg"),
    ("sonicwall", "sma", "sma"),
    ("f5", "big-ip", "big-ip"),
    ("f5", "bigip", "big-ip"),
];

/// Model families, by model prefix.
const FAMILIES: &[(&str, &str, &str)] = &[
    ("draytek", "vigor", "vigor"),
    ("cisco", "rv", "rv"),
    ("netgear", "fvs", "prosafe"),
    ("netgear", "prosafe", "prosafe"),
    ("netgear", "dgn", "dgn"),
    ("netgear", "wnr", "wnr"),
    ("netgear", "r", "nighthawk"),
    ("tp-link", "archer", "archer"),
    ("d-link", "dir", "dir"),
    ("zyxel", "usg", "zld"),
];

fn key(text: &str) -> String {
    text.trim().to_ascii_lowercase().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A model as a product key: lower case, the vendor's name and marketing words dropped
/// (`Cisco Small Business RV320` → `rv320`, `Vigor 2960` → `vigor2960`).
pub fn model_key(vendor: &str, model: &str) -> String {
    let mut m = key(model);
    for prefix in
        [vendor.to_string(), format!("{vendor} "), "small business ".into(), "prosafe ".into()]
    {
        if let Some(rest) = m.strip_prefix(&prefix) {
            m = rest.trim().to_string();
        }
    }
    // "vigor 2960" and "vigor2960", "archer ax21": a family word followed by a number joins.
    let words: Vec<&str> = m.split_whitespace().collect();
    if words.len() == 2
        && words[1].chars().next().is_some_and(|c| c.is_ascii_digit())
        && vendor == "draytek"
    {
        return format!("{}{}", words[0], words[1]);
    }
    m
}

fn os_key(vendor: &str, os: &str) -> String {
    let o = key(os);
    let o = o.strip_prefix(&format!("{vendor} ")).unwrap_or(&o).to_string();
    match o.as_str() {
        "ios-xe" | "iosxe" | "ios xe software" => "ios xe".into(),
        "panos" | "pan os" => "pan-os".into(),
        "fortigate" | "fortios firmware" => "fortios".into(),
        "netscaler" | "citrix adc" | "adc" | "netscaler gateway" => "netscaler adc".into(),
        "pulse connect secure" | "ics" | "ivanti connect secure" => "connect secure".into(),
        "router os" => "routeros".into(),
        "exchange" => "exchange server".into(),
        "confluence" => "confluence server".into(),
        _ => o,
    }
}

fn push(list: &mut Vec<String>, value: String) {
    if !value.is_empty() && !list.contains(&value) {
        list.push(value);
    }
}

/// A CPE 2.3 component: lower case, spaces as underscores, CPE's special characters escaped.
fn cpe_part(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_ascii_lowercase().chars() {
        match c {
            ' ' => out.push('_'),
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out
}

/// Parses `cpe:/o:mikrotik:routeros:6.40` and `cpe:2.3:o:…` into (part, vendor, product,
/// version).
fn parse_cpe(cpe: &str) -> Option<(String, String, String, Option<String>)> {
    let rest = cpe.strip_prefix("cpe:2.3:").or_else(|| cpe.strip_prefix("cpe:/"))?;
    let mut it = rest.split(':');
    let part = it.next()?.to_string();
    let vendor = it.next()?.replace('_', " ");
    let product = it.next()?.replace('_', " ");
    let version = it.next().filter(|v| !v.is_empty() && *v != "*" && *v != "-").map(String::from);
    Some((part, vendor, product, version))
}

/// Identifies a device.
pub fn identify(d: &Device) -> Identity {
    let mut id = Identity::default();
    let recog = [
        (FingerprintSet::http_servers(), "HTTP Server"),
        (FingerprintSet::x509_subjects(), "certificate subject"),
        (FingerprintSet::html_titles(), "page title"),
    ];
    let mut recog_class = None;
    // What the services present.
    for s in &d.services {
        let texts = [&s.http_server, &s.certificate_subject, &s.http_title];
        for ((set, what), text) in recog.iter().zip(texts) {
            let Some(text) = text else { continue };
            let Some(found) = set.first_match(text) else { continue };
            id.evidence
                .push(format!("{what} {text:?} on port {}: Recog {}", s.port, found.description));
            if id.vendor.is_none() {
                id.vendor = found.vendor.as_deref().map(vendor_key);
            }
            let vendor = id.vendor.clone().unwrap_or_default();
            if let Some(p) = found.product.as_deref() {
                // `Vigor` with hw.model `2960` is the Vigor 2960.
                match found.params.get("hw.model") {
                    Some(m) => push(&mut id.products, model_key(&vendor, &format!("{p} {m}"))),
                    None => push(&mut id.products, model_key(&vendor, p)),
                }
            }
            if let Some(os) = found.params.get("os.product") {
                push(&mut id.products, os_key(&vendor, os));
            }
            if let Some(v) =
                found.params.get("os.version").or_else(|| found.params.get("hw.version"))
                && id.version.is_none()
            {
                id.version = Some(v.clone());
            }
            recog_class.get_or_insert(found.class());
        }
        for cpe in &s.cpes {
            // An application's CPE (`a:openssl:openssl`) names the software, not the device.
            if let Some((part, vendor, product, version)) = parse_cpe(cpe)
                && (part == "o" || part == "h")
                && vendor != "linux"
            {
                id.evidence.push(format!("nmap CPE {cpe} on port {}", s.port));
                id.vendor.get_or_insert(vendor_key(&vendor));
                push(&mut id.products, os_key(&vendor_key(&vendor), &product));
                if part == "o" && id.version.is_none() {
                    id.version = version;
                }
            }
        }
        if let Some(p) = &s.product {
            id.evidence.push(format!(
                "nmap service on {}/{}: {p}{}",
                s.port,
                s.protocol,
                s.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default()
            ));
        }
    }
    for cpe in &d.cpes {
        if let Some((part, vendor, product, version)) = parse_cpe(cpe)
            && (part == "o" || part == "h")
            && vendor != "linux"
        {
            // An OS-detection guess's version (`routeros:6`) is a family, not the firmware.
            let _ = version;
            id.evidence.push(format!("nmap OS CPE {cpe}"));
            id.vendor.get_or_insert(vendor_key(&vendor));
            push(&mut id.products, os_key(&vendor_key(&vendor), &product));
        }
    }
    // The inventory's own word wins over what was inferred.
    if let Some(v) = &d.vendor {
        id.vendor = Some(vendor_key(v));
        id.evidence.insert(0, format!("inventory {}", d.source));
    }
    let vendor = id.vendor.clone().unwrap_or_default();
    let mut products = Vec::new();
    if let Some(m) = &d.model {
        push(&mut products, model_key(&vendor, m));
    }
    if let Some(o) = &d.os {
        push(&mut products, os_key(&vendor, o));
    }
    for p in std::mem::take(&mut id.products) {
        push(&mut products, p);
    }
    let model = products.first().cloned().unwrap_or_default();
    // What a model runs, unless the inventory says (a Catalyst 2960 runs IOS, a 9300 IOS XE).
    // The most specific rule first: a USG FLEX runs ZLD, an older USG ZyWALL/USG firmware.
    if let Some((_, _, os)) = RUNS
        .iter()
        .filter(|_| d.os.is_none())
        .find(|(v, prefix, _)| *v == vendor && model.starts_with(prefix))
    {
        push(&mut products, os.to_string());
    }
    id.products = products;
    id.family = FAMILIES
        .iter()
        .find(|(v, prefix, _)| *v == vendor && id.products.iter().any(|p| p.starts_with(prefix)))
        .map(|(_, _, f)| f.to_string());
    if let Some(v) = &d.version {
        id.version = Some(v.trim().to_string());
    }
    id.class = d
        .role
        .as_deref()
        .map(class_of)
        .or(recog_class.map(String::from))
        .unwrap_or_else(|| class_of(&format!("{model} {}", id.products.join(" "))));
    if !vendor.is_empty() {
        let version = id.version.as_deref().map(cpe_part).unwrap_or_else(|| "*".into());
        for (i, p) in id.products.iter().enumerate() {
            let os_like = RUNS.iter().any(|(_, _, os)| os == p)
                || d.os.as_deref().map(|o| os_key(&vendor, o)) == Some(p.clone());
            let (part, v) = if os_like {
                ("o", version.as_str())
            } else if i == 0 {
                ("h", "-")
            } else {
                continue;
            };
            id.cpes.push(format!(
                "cpe:2.3:{part}:{}:{}:{v}:*:*:*:*:*:*:*",
                cpe_part(&vendor),
                cpe_part(p)
            ));
        }
    }
    id
}

/// A role or product text → router, firewall, vpn, nas, camera or other, by whole words (a
/// "server" is not a router because it contains "rv").
pub fn class_of(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let spaced = format!(" {} ", words.join(" "));
    let has = |terms: &[&str]| terms.iter().any(|t| spaced.contains(&format!(" {t} ")));
    // Model numbers: RV320, PA-3220, TZ400.
    let model = |prefix: &str| {
        words.iter().any(|w| {
            w.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
    };
    if has(&[
        "vpn",
        "connect secure",
        "policy secure",
        "globalprotect",
        "netscaler",
        "remote access",
        "sma",
        "ssl-vpn",
        "sslvpn",
    ]) {
        "vpn"
    } else if has(&[
        "firewall",
        "fortigate",
        "pan-os",
        "asa",
        "utm",
        "usg",
        "zywall",
        "zld",
        "security appliance",
        "ngfw",
    ]) || model("pa-")
        || model("tz")
    {
        "firewall"
    } else if has(&[
        "router",
        "routers",
        "vigor",
        "routeros",
        "edgerouter",
        "archer",
        "dgn",
        "wnr",
        "modem",
        "cpe",
        "wap",
        "access point",
        "broadband",
        "gateway",
    ]) || model("rv")
        || model("vigor")
        || model("dir-")
    {
        "router"
    } else if has(&["nas", "storage"]) {
        "nas"
    } else if has(&["camera", "dvr", "nvr", "webcam", "ip camera"]) {
        "camera"
    } else {
        "other"
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Service;

    #[test]
    fn inventory_fields_give_products_family_and_cpe() {
        let d = Device {
            name: "hq".into(),
            vendor: Some("Fortinet".into()),
            model: Some("FortiGate 60F".into()),
            version: Some("7.0.12".into()),
            source: "inv.csv:2".into(),
            ..Default::default()
        };
        let id = identify(&d);
        assert_eq!(id.vendor.as_deref(), Some("fortinet"));
        assert_eq!(id.products, ["fortigate 60f", "fortios"]);
        assert_eq!(id.class, "firewall");
        assert!(
            id.cpes.contains(&"cpe:2.3:o:fortinet:fortios:7.0.12:*:*:*:*:*:*:*".to_string()),
            "{:?}",
            id.cpes
        );
        assert!(
            id.cpes.contains(&"cpe:2.3:h:fortinet:fortigate_60f:-:*:*:*:*:*:*:*".to_string()),
            "{:?}",
            id.cpes
        );
        let vigor = identify(&Device {
            vendor: Some("DrayTek".into()),
            model: Some("Vigor 2960".into()),
            ..Default::default()
        });
        assert_eq!(vigor.products, ["vigor2960"]);
        assert_eq!(vigor.family.as_deref(), Some("vigor"));
        assert_eq!(vigor.class, "router");
    }

    #[test]
    fn classes_are_read_from_whole_words() {
        assert_eq!(class_of("web server"), "other");
        assert_eq!(class_of("smart switch"), "other");
        assert_eq!(class_of("RV340"), "router");
        assert_eq!(class_of("PA-3220 pan-os"), "firewall");
        assert_eq!(class_of("Connect Secure"), "vpn");
        assert_eq!(class_of("broadband gateway"), "router");
    }

    #[test]
    fn a_server_header_and_certificate_identify_a_device_with_no_inventory() {
        let d = Device {
            services: vec![Service {
                port: 443,
                protocol: "tcp".into(),
                name: "https".into(),
                http_server: Some("DrayTek/Vigor2960 UPnP/1.0 miniupnpd/1.0".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let id = identify(&d);
        assert_eq!(id.vendor.as_deref(), Some("draytek"), "{id:?}");
        assert!(id.evidence.iter().any(|e| e.contains("HTTP Server")), "{id:?}");
        assert_eq!(id.products, ["vigor2960"]);
        assert_eq!((id.family.as_deref(), id.class.as_str()), (Some("vigor"), "router"));
    }
}
