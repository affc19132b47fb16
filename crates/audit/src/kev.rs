//! CISA's Known Exploited Vulnerabilities catalogue, with its vendor and product strings
//! normalised so that a device can be matched against it.
//!
//! KEV names one product many ways ("IOS Software", "IOS software", "IOS and IOS XE Software",
//! "IOS, XR, and XE Software", "Cisco IOS XE Web UI"): each entry's product string is split into
//! the products it lists, vendor names and filler words are dropped, and known aliases are
//! folded ("Application Delivery Controller (ADC)" is NetScaler ADC). An entry names either
//! specific products (`rv320`, `fortios`) or a family (`Multiple Routers`, `Vigor Routers`): a
//! family only says that the device *may* be affected.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde::{Deserialize, Serialize};

static BUNDLED: &[u8] = include_bytes!("../data/known_exploited_vulnerabilities.json.gz");

/// One catalogue entry, as CISA publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(rename = "cveID")]
    pub cve_id: String,
    pub vendor_project: String,
    pub product: String,
    pub vulnerability_name: String,
    pub date_added: String,
    #[serde(default)]
    pub short_description: String,
    #[serde(default)]
    pub required_action: String,
    #[serde(default)]
    pub due_date: String,
    /// `Known` or `Unknown`.
    #[serde(default)]
    pub known_ransomware_campaign_use: String,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    catalog_version: String,
    vulnerabilities: Vec<Entry>,
}

/// What an entry's product string names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Products {
    pub vendor: String,
    /// Specific products (`ios xe`, `rv320`, `fortios`).
    pub names: Vec<String>,
    /// A family the entry covers without naming models (`routers`, `vigor`): matches only as
    /// "may be affected".
    pub family: Option<String>,
}

/// Whether CISA says the product is past its end of life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndOfLife {
    /// "The impacted product is end-of-life": replace it.
    Is,
    /// "could be end-of-life", "if it is end-of-life": check.
    Maybe,
}

/// The catalogue, normalised.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub version: String,
    pub entries: Vec<Entry>,
    pub products: Vec<Products>,
}

impl Catalogue {
    /// The snapshot bundled with lasthop (CISA, CC0).
    pub fn bundled() -> Catalogue {
        let mut text = String::new();
        flate2::read::GzDecoder::new(BUNDLED)
            .read_to_string(&mut text)
            .expect("the bundled KEV catalogue is valid gzip");
        Catalogue::parse(&text).expect("the bundled KEV catalogue parses")
    }

    /// Parses the catalogue's JSON (a newer copy from `lasthop intel update`).
    pub fn parse(json: &str) -> Result<Catalogue, String> {
        let file: File =
            serde_json::from_str(json).map_err(|e| format!("not a KEV catalogue: {e}"))?;
        let products =
            file.vulnerabilities.iter().map(|e| normalise(&e.vendor_project, &e.product)).collect();
        Ok(Catalogue { version: file.catalog_version, entries: file.vulnerabilities, products })
    }

    /// Distinct raw (vendor, product) strings and the distinct products they name: how much
    /// the normalisation folds.
    pub fn normalisation_summary(&self) -> (usize, usize) {
        let raw: BTreeSet<(String, String)> = self
            .entries
            .iter()
            .map(|e| (e.vendor_project.trim().to_string(), e.product.trim().to_string()))
            .collect();
        let mut products: BTreeSet<(String, String)> = BTreeSet::new();
        for p in &self.products {
            for n in &p.names {
                products.insert((p.vendor.clone(), n.clone()));
            }
            if let Some(f) = &p.family {
                products.insert((p.vendor.clone(), format!("[family] {f}")));
            }
        }
        (raw.len(), products.len())
    }

    /// Raw strings grouped by the product they fold into, for review.
    pub fn folds(&self) -> BTreeMap<(String, String), BTreeSet<String>> {
        let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (e, p) in self.entries.iter().zip(&self.products) {
            for n in &p.names {
                out.entry((p.vendor.clone(), n.clone())).or_default().insert(format!(
                    "{} | {}",
                    e.vendor_project.trim(),
                    e.product.trim()
                ));
            }
        }
        out
    }
}

impl Entry {
    pub fn ransomware(&self) -> bool {
        self.known_ransomware_campaign_use.eq_ignore_ascii_case("known")
    }

    /// What the required action says about end of life.
    pub fn end_of_life(&self) -> Option<EndOfLife> {
        let a = self.required_action.to_ascii_lowercase();
        let mentions =
            a.contains("end-of-life") || a.contains("end of life") || a.contains("(eol)");
        if !mentions {
            return None;
        }
        let definite = [
            "product is end-of-life",
            "product is end of life",
            "have reached their end-of-life",
            "has reached end-of-life",
            "is end-of-life (eol)",
        ];
        if definite.iter().any(|d| a.contains(d)) && !a.contains("could be") {
            Some(EndOfLife::Is)
        } else {
            Some(EndOfLife::Maybe)
        }
    }
}

/// Vendor names as KEV writes them → one key.
pub fn vendor_key(vendor: &str) -> String {
    let v = vendor.trim().to_ascii_lowercase();
    let v = v
        .trim_end_matches('.')
        .trim_end_matches(", inc")
        .trim_end_matches(" inc")
        .trim_end_matches(" corporation")
        .trim_end_matches(" corp")
        .trim_end_matches(" ltd")
        .to_string();
    match v.as_str() {
        "palo alto networks" | "paloalto" | "palo alto" | "pan" | "paloaltonetworks" => {
            "paloalto".into()
        }
        "array networks" => "array".into(),
        "barracuda networks" => "barracuda".into(),
        "qnap systems" => "qnap".into(),
        "ivanti" | "pulse secure" | "pulsesecure" => "ivanti".into(),
        "citrix" | "citrix systems" | "netscaler" | "cloud software group" => "citrix".into(),
        "netgear" => "netgear".into(),
        "mikrotik" | "mikrotik sia" | "routerboard" => "mikrotik".into(),
        "ubiquiti" | "ubiquiti networks" | "ubnt" => "ubiquiti".into(),
        "tp-link"
        | "tplink"
        | "tp link"
        | "tp-link technologies co., ltd"
        | "tp-link technologies" => "tp-link".into(),
        "d-link" | "dlink" => "d-link".into(),
        "draytek" | "dray tek" => "draytek".into(),
        "zyxel" | "zyxel communications" | "zyxel networks" => "zyxel".into(),
        "f5" | "f5 networks" => "f5".into(),
        "juniper" | "juniper networks" => "juniper".into(),
        "sonicwall" | "sonic wall" => "sonicwall".into(),
        "cisco" | "cisco systems" => "cisco".into(),
        "fortinet" | "fortigate" => "fortinet".into(),
        "microsoft" => "microsoft".into(),
        "atlassian" => "atlassian".into(),
        "apache" | "apache software foundation" => "apache".into(),
        _ => v.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Words that say nothing about which product: dropped from product names.
const FILLER: &[&str] = &[
    "software",
    "devices",
    "device",
    "series",
    "appliance",
    "appliances",
    "products",
    "product",
    "firmware",
    "server",
    "servers",
    "system",
    "systems",
    "small",
    "business",
    "dual",
    "gigabit",
    "wan",
    "vpn",
    "web",
    "ui",
    "ssl-vpn",
    "sslvpn",
    "management",
    "interface",
    "multiple",
    "routers",
    "router",
    "switches",
    "switch",
    "firewalls",
    "firewall",
    "gateways",
];

/// Folded names per vendor: what KEV writes → the product key an inventory would give.
const ALIASES: &[(&str, &str, &str)] = &[
    ("citrix", "application delivery controller (adc)", "netscaler adc"),
    ("citrix", "application delivery controller", "netscaler adc"),
    ("citrix", "adc", "netscaler adc"),
    ("citrix", "netscaler", "netscaler adc"),
    ("citrix", "gateway", "netscaler gateway"),
    ("cisco", "xr", "ios xr"),
    ("cisco", "xe", "ios xe"),
    ("cisco", "adaptive security appliance (asa)", "asa"),
    ("cisco", "adaptive security appliance", "asa"),
    ("cisco", "firepower threat defense (ftd)", "ftd"),
    ("cisco", "firepower threat defense", "ftd"),
    ("ivanti", "pulse connect secure", "connect secure"),
    ("ivanti", "pulse secure", "connect secure"),
    ("ivanti", "pulse policy secure", "policy secure"),
    ("f5", "big-ip configuration utility", "big-ip"),
    ("paloalto", "globalprotect", "pan-os"),
    ("microsoft", "exchange", "exchange server"),
    ("atlassian", "confluence", "confluence server"),
    ("atlassian", "confluence data center", "confluence server"),
];

fn alias(vendor: &str, name: &str) -> Option<String> {
    ALIASES
        .iter()
        .find(|(v, from, _)| *v == vendor && *from == name)
        .map(|(_, _, to)| to.to_string())
}

/// Families named without models, with the word that marks them.
const FAMILIES: &[(&str, &str)] = &[
    // Most specific first: "Multiple NAS Devices" is the NAS family, not every device.
    ("vigor", "vigor"),
    ("nas", "nas"),
    ("cameras", "cameras"),
    ("firewalls", "firewalls"),
    ("routers", "routers"),
    ("router", "routers"),
    ("devices", "devices"),
];

/// Splits and folds one entry's product string.
pub fn normalise(vendor: &str, product: &str) -> Products {
    let vendor_key = vendor_key(vendor);
    let mut text = product.trim().to_ascii_lowercase();
    // The vendor's own name in front of a product ("Cisco IOS XE", "Citrix NetScaler") adds
    // nothing; "Cisco IOS Software and Cisco IOS XE Software" becomes two products.
    for name in [vendor.trim().to_ascii_lowercase(), vendor_key.clone()] {
        if !name.is_empty() {
            text = text.replace(&format!("{name} "), "");
        }
    }
    let generic = text.starts_with("multiple ") || text.contains("multiple products");
    let mut names = Vec::new();
    for part in text.split([',', '/']).flat_map(|p| p.split(" and ")).flat_map(|p| p.split(" & ")) {
        let part = part.trim().trim_start_matches("and ").trim();
        if part.is_empty() {
            continue;
        }
        if let Some(to) = alias(&vendor_key, part) {
            names.push(to);
            continue;
        }
        let words: Vec<&str> = part.split_whitespace().filter(|w| !FILLER.contains(w)).collect();
        let name = words.join(" ");
        let name = alias(&vendor_key, &name).unwrap_or(name);
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    let family = if generic
        || names.is_empty()
        || names.iter().all(|n| FAMILIES.iter().any(|(w, _)| n == w))
    {
        let lower = product.to_ascii_lowercase();
        FAMILIES
            .iter()
            .find(|(w, _)| lower.contains(w))
            .map(|(_, f)| f.to_string())
            .or(Some("products".into()))
    } else {
        None
    };
    // "RV Series Routers", "Multiple Archer Devices": a one-word line is a family, not a model.
    let lower = product.to_ascii_lowercase();
    let family = match (&family, names.as_slice()) {
        (_, [one])
            if (generic || lower.contains(" series"))
                && !one.contains(' ')
                && !FAMILIES.iter().any(|(w, _)| one == w) =>
        {
            let line = one.clone();
            names.clear();
            Some(line)
        }
        _ => family,
    };
    if family.is_some() {
        // "Vigor Routers" keeps `vigor` as the family's name, not as a product.
        names.retain(|n| !FAMILIES.iter().any(|(w, _)| n == w) && n != "products");
    }
    Products { vendor: vendor_key, names, family }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(vendor: &str, product: &str) -> Vec<String> {
        normalise(vendor, product).names
    }

    #[test]
    fn cisco_ios_spellings_fold_into_products() {
        assert_eq!(names("Cisco", "IOS Software"), ["ios"]);
        assert_eq!(names("Cisco", "IOS software"), ["ios"]);
        assert_eq!(names("Cisco", "IOS and IOS XE Software"), ["ios", "ios xe"]);
        assert_eq!(names("Cisco", "IOS, XR, and XE Software"), ["ios", "ios xr", "ios xe"]);
        assert_eq!(names("Cisco", "IOS Software and Cisco IOS XE Software"), ["ios", "ios xe"]);
        assert_eq!(names("Cisco", "Cisco IOS XE Web UI"), ["ios xe"]);
        assert_eq!(
            names("Cisco", "Small Business RV320 and RV325 Dual Gigabit WAN VPN Routers"),
            ["rv320", "rv325"]
        );
        assert_eq!(
            names("Cisco", "Adaptive Security Appliance (ASA) and Firepower Threat Defense (FTD)"),
            ["asa", "ftd"]
        );
    }

    #[test]
    fn other_vendors_fold_too() {
        assert_eq!(
            names("Citrix", "Application Delivery Controller (ADC) and Gateway"),
            ["netscaler adc", "netscaler gateway"]
        );
        assert_eq!(
            names("Citrix", "NetScaler ADC and NetScaler Gateway"),
            ["netscaler adc", "netscaler gateway"]
        );
        assert_eq!(names("Fortinet", "FortiOS and FortiProxy SSL-VPN"), ["fortios", "fortiproxy"]);
        assert_eq!(
            names("Ivanti", "Connect Secure, Policy Secure, and ZTA Gateways"),
            ["connect secure", "policy secure", "zta"]
        );
        assert_eq!(vendor_key("Palo Alto Networks"), "paloalto");
        let vigor = normalise("DrayTek", "Multiple Vigor Routers");
        assert_eq!((vigor.names.len(), vigor.family.as_deref()), (0, Some("vigor")));
        let netgear = normalise("NETGEAR", "Multiple Devices");
        assert_eq!(netgear.family.as_deref(), Some("devices"));
        assert_eq!(normalise("Cisco", "RV Series Routers").family.as_deref(), Some("rv"));
        assert_eq!(
            normalise("TP-Link", "Multiple Archer Devices").family.as_deref(),
            Some("archer")
        );
        assert_eq!(normalise("D-Link", "Multiple NAS Devices").family.as_deref(), Some("nas"));
        assert_eq!(vendor_key("paloaltonetworks"), "paloalto");
        assert_eq!(names("TP-Link", "Archer AX21"), ["archer ax21"]);
    }

    #[test]
    fn end_of_life_is_read_from_the_required_action() {
        let mut e = Catalogue::bundled().entries[0].clone();
        e.required_action = "The impacted product is end-of-life (EoL) and/or end-of-service (EoS). Users should discontinue utilization of the product.".into();
        assert_eq!(e.end_of_life(), Some(EndOfLife::Is));
        e.required_action =
            "The impacted product could be end-of-life (EoL) and/or end-of-service (EoS).".into();
        assert_eq!(e.end_of_life(), Some(EndOfLife::Maybe));
        e.required_action = "Apply updates per vendor instructions.".into();
        assert_eq!(e.end_of_life(), None);
    }

    #[test]
    fn the_bundled_catalogue_loads_and_folds() {
        let c = Catalogue::bundled();
        assert_eq!(c.entries.len(), 1404);
        let (raw, products) = c.normalisation_summary();
        let merged = c.folds().values().filter(|spellings| spellings.len() > 1).count();
        assert!(
            raw > 500 && products > 500 && merged > 40,
            "{raw} strings, {products} products, {merged} merged"
        );
    }
}
