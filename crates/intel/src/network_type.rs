//! What kind of network an address belongs to: hosting/cloud, VPN or residential proxy,
//! residential or mobile ISP, business, education, government — or unknown — with the reason.
//!
//! The decision, first match wins:
//! 1. the user's overrides, by prefix then by ASN (`--network-types FILE`);
//! 2. carrier-grade NAT space (100.64.0.0/10): a subscriber behind an ISP's NAT;
//! 3. list membership: X4BNet's VPN and datacenter ASN lists, brianhama's bad-ASN list (hosting
//!    providers), and a built-in list of well-known cloud and CDN ASNs;
//! 4. the organisation name (per announced range, so that an ISP's business and consumer
//!    ranges can differ): patterns for education, government, hosting, VPN, consumer ISPs and
//!    a few business sectors;
//! 5. otherwise unknown — the classifier abstains rather than guess.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use lasthop_normalise::Cidr;

use crate::asn::AsnInfo;

/// The kind of network behind an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NetworkType {
    Hosting,
    Vpn,
    Residential,
    Business,
    Education,
    Government,
    /// Carrier-grade NAT (100.64.0.0/10): behind an ISP's NAT, usually a home or mobile line.
    Cgnat,
    Unknown,
}

impl NetworkType {
    pub const ALL: [NetworkType; 8] = [
        NetworkType::Hosting,
        NetworkType::Vpn,
        NetworkType::Residential,
        NetworkType::Business,
        NetworkType::Education,
        NetworkType::Government,
        NetworkType::Cgnat,
        NetworkType::Unknown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NetworkType::Hosting => "hosting",
            NetworkType::Vpn => "vpn",
            NetworkType::Residential => "residential",
            NetworkType::Business => "business",
            NetworkType::Education => "education",
            NetworkType::Government => "government",
            NetworkType::Cgnat => "cgnat",
            NetworkType::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<NetworkType> {
        let text = text.trim().to_ascii_lowercase();
        NetworkType::ALL.into_iter().find(|t| t.name() == text).or(match text.as_str() {
            "cloud" | "datacenter" | "datacentre" => Some(NetworkType::Hosting),
            "mobile" | "isp" => Some(NetworkType::Residential),
            "proxy" => Some(NetworkType::Vpn),
            _ => None,
        })
    }
}

impl fmt::Display for NetworkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A network type and why it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub kind: NetworkType,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct OverrideError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// Lists bundled with lasthop (see NOTICE): ASN → (type, list name).
/// A per-ASN memo that a clone of the classifier starts afresh.
#[derive(Debug, Default)]
struct AsnMemo(std::sync::RwLock<HashMap<u32, Classification>>);

impl Clone for AsnMemo {
    fn clone(&self) -> Self {
        AsnMemo::default()
    }
}

static X4BNET_DATACENTER_V4: &[u8] = include_bytes!("../data/x4bnet-datacenter-ipv4.txt.gz");
static X4BNET_DATACENTER_V6: &[u8] = include_bytes!("../data/x4bnet-datacenter-ipv6.txt.gz");

/// The bundled datacenter/VPN CIDR lists as merged, sorted inclusive ranges.
fn hosting_ranges() -> Vec<(u128, u128)> {
    let mut ranges = Vec::new();
    for gz in [X4BNET_DATACENTER_V4, X4BNET_DATACENTER_V6] {
        let mut text = String::new();
        if std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).is_err()
        {
            continue;
        }
        for line in text.lines() {
            let Some((addr, len)) = line.trim().split_once('/') else { continue };
            let (Some(ip), Ok(len)) = (lasthop_normalise::parse_ip(addr), len.parse::<u32>())
            else {
                continue;
            };
            let bits = if addr.contains(':') { len } else { len + 96 };
            if bits > 128 {
                continue;
            }
            let host_bits = 128 - bits;
            let mask = if host_bits == 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
            let start = u128::from_be_bytes(ip) & !mask;
            ranges.push((start, start | mask));
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

static X4BNET_DATACENTER: &str = include_str!("../data/x4bnet-datacenter-ASN.txt");
static X4BNET_VPN: &str = include_str!("../data/x4bnet-vpn-ASN.txt");
static BAD_ASN: &str = include_str!("../data/brianhama-bad-asn-list.csv");

/// Cloud, CDN and large hosting networks every analyst knows, for when the lists miss them.
const WELL_KNOWN_CLOUD: &[(u32, &str)] = &[
    (16509, "Amazon AWS"),
    (14618, "Amazon AWS"),
    (8987, "Amazon AWS"),
    (15169, "Google"),
    (396982, "Google Cloud"),
    (19527, "Google"),
    (8075, "Microsoft Azure"),
    (8068, "Microsoft"),
    (13335, "Cloudflare"),
    (209242, "Cloudflare"),
    (20940, "Akamai"),
    (16625, "Akamai"),
    (63949, "Akamai Linode"),
    (54113, "Fastly"),
    (14061, "DigitalOcean"),
    (20473, "Vultr (The Constant Company)"),
    (16276, "OVH"),
    (24940, "Hetzner"),
    (213230, "Hetzner Cloud"),
    (45102, "Alibaba Cloud"),
    (37963, "Alibaba Cloud"),
    (132203, "Tencent Cloud"),
    (45090, "Tencent Cloud"),
    (31898, "Oracle Cloud"),
    (36351, "IBM Cloud (SoftLayer)"),
    (51167, "Contabo"),
    (12876, "Scaleway"),
    (60781, "Leaseweb"),
    (16265, "Leaseweb"),
    (8560, "IONOS"),
    (26496, "GoDaddy"),
    (19994, "Rackspace"),
    (135377, "UCloud"),
    (55990, "Huawei Cloud"),
    (136907, "Huawei Cloud"),
    (9009, "M247"),
    (62567, "DigitalOcean"),
    (393406, "DigitalOcean"),
];

/// Name patterns per type, matched on the lower-cased organisation name, in this order
/// (education and government before the broad ISP words, so "University Telecom" is a university).
const NAME_PATTERNS: &[(NetworkType, &[&str])] = &[
    (
        NetworkType::Education,
        &[
            "universit",
            "college",
            "school",
            "academ",
            "education",
            "hochschule",
            "polytechnic",
            "politecnico",
            "institute of technology",
            "research and education",
            "research & education",
            "research network",
            "école",
            "ecole ",
            "campus",
            "cernet",
            "renater",
            "surfnet",
            "janet",
            "internet2",
            "aarnet",
            "rnp",
        ],
    ),
    (
        NetworkType::Government,
        &[
            "government",
            "ministry",
            "ministerio",
            "ministere",
            "ministère",
            "department of",
            "dept of",
            "federal",
            "state of ",
            "county",
            "city of",
            "municipal",
            "bundes",
            "parliament",
            "police",
            "army",
            "navy",
            "air force",
            "military",
            "defense",
            "defence",
            "dod network",
            "national guard",
            "gouvernement",
            "govt",
            "prefecture",
            "commonwealth of",
            "public administration",
            "administración",
            "council",
        ],
    ),
    (
        NetworkType::Vpn,
        &[
            "vpn",
            "proxy",
            "nordvpn",
            "surfshark",
            "mullvad",
            "proton ag",
            "private internet access",
        ],
    ),
    (
        NetworkType::Hosting,
        &[
            "hosting",
            "host ",
            "hostin",
            "cloud",
            "data center",
            "datacenter",
            "data centre",
            "datacentre",
            "server",
            "vps",
            "colocation",
            "colo ",
            "dedicated",
            "cdn",
            "digitalocean",
            "linode",
            "ovh",
            "hetzner",
            "amazon",
            "akamai",
            "fastly",
            "leaseweb",
            "contabo",
            "vultr",
            "constant company",
            "choopa",
            "scaleway",
            "rackspace",
            "equinix",
            "godaddy",
            "ionos",
            "web services",
            "internet services llc",
        ],
    ),
    (
        NetworkType::Residential,
        &[
            "cable",
            "broadband",
            "mobile",
            "wireless",
            "cellular",
            "telekom",
            "telecom",
            "telecommunication",
            "telecomunica",
            "telefonica",
            "telefónica",
            "telephone",
            "dsl",
            "fibra",
            "fiber",
            "fibre",
            "internet service provider",
            "comcast",
            "charter comm",
            "spectrum",
            "cox comm",
            "verizon",
            "at&t",
            "t-mobile",
            "sprint",
            "rogers comm",
            "bell canada",
            "shaw comm",
            "telus",
            "british telecom",
            "virgin media",
            "sky uk",
            "free sas",
            "sfr",
            "bouygues",
            "orange",
            "vodafone",
            "kddi",
            "docomo",
            "softbank",
            "chinanet",
            "china telecom",
            "china unicom",
            "china mobile",
            "jio",
            "bharti",
            "airtel",
            "telstra",
            "optus",
            "claro",
            "movistar",
            "telmex",
            "tim s.a",
            "vivo",
            "mtn",
            "rostelecom",
            "megafon",
            "beeline",
            "kpn",
            "ziggo",
            "proximus",
            "swisscom",
            "telia",
            "telenor",
            "liberty global",
            "viettel",
            "vnpt",
            "pldt",
            "globe telecom",
            "singtel",
            "starhub",
            "pccw",
            "korea telecom",
            "sk broadband",
            "lg powercomm",
            "chunghwa",
            "telkom",
            "indosat",
            "ptcl",
            "etisalat",
            "ooredoo",
            "zain",
            "totalplay",
            "megacable",
            "cablevision",
            "net servicos",
            "internet ltda",
            "telecomunicacoes",
            "telecomunicações",
            "provedor",
            "isp",
            "communications inc",
            "telco",
            "gigabit",
            "wisp",
        ],
    ),
    (
        NetworkType::Business,
        &[
            "bank",
            "insurance",
            "financial",
            "motor",
            "airlines",
            "airways",
            "pharma",
            "hospital",
            "health",
            "medical",
            "energy",
            "petrol",
            "oil ",
            "retail",
            "foods",
            "automotive",
            "manufactur",
            "logistics",
            "railway",
            "stock exchange",
            "newspaper",
            "broadcasting",
            "enterprises",
            "holdings",
        ],
    ),
];

/// Classifies networks; holds the lists and the user's overrides.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    by_list: HashMap<u32, (NetworkType, String)>,
    /// Datacenter and VPN ranges (X4BNet's generated CIDR lists), merged and sorted: they
    /// classify a prefix where its ASN also serves homes or businesses.
    hosting_ranges: Vec<(u128, u128)>,
    /// Classifications by ASN already made: the name patterns cost microseconds, and a conn
    /// table repeats the same few thousand networks millions of times.
    by_asn: AsnMemo,
    asn_overrides: HashMap<u32, (NetworkType, String)>,
    prefix_overrides: Vec<(Cidr, NetworkType, String)>,
    /// The overrides file (as named, and its text), so that another process can rebuild the
    /// same classifier.
    overrides_source: Option<(String, String)>,
}

impl Classifier {
    /// The bundled lists, without overrides.
    pub fn bundled() -> &'static Classifier {
        static C: OnceLock<Classifier> = OnceLock::new();
        C.get_or_init(Classifier::from_bundled_lists)
    }

    fn from_bundled_lists() -> Classifier {
        let mut by_list = HashMap::new();
        for (asn, name) in WELL_KNOWN_CLOUD {
            by_list
                .insert(*asn, (NetworkType::Hosting, format!("well-known cloud or CDN: {name}")));
        }
        let list_asns = |text: &'static str| {
            text.lines().filter_map(|l| {
                let token = l.split(['#', ',']).next()?.trim();
                token.trim_start_matches("AS").trim_start_matches("as").parse::<u32>().ok()
            })
        };
        for asn in list_asns(BAD_ASN) {
            by_list.entry(asn).or_insert((
                NetworkType::Hosting,
                "on the bad-ASN list of hosting providers".into(),
            ));
        }
        for asn in list_asns(X4BNET_DATACENTER) {
            by_list
                .entry(asn)
                .or_insert((NetworkType::Hosting, "on X4BNet's datacenter ASN list".into()));
        }
        // VPN membership is the more specific fact: it wins over a datacenter listing.
        for asn in list_asns(X4BNET_VPN) {
            by_list.insert(asn, (NetworkType::Vpn, "on X4BNet's VPN ASN list".into()));
        }
        Classifier { by_list, hosting_ranges: hosting_ranges(), ..Classifier::default() }
    }

    /// Whether an address lies in a bundled datacenter/VPN range.
    pub fn in_hosting_range(&self, addr: &[u8; 16]) -> bool {
        let a = u128::from_be_bytes(*addr);
        let i = self.hosting_ranges.partition_point(|(start, _)| *start <= a);
        i > 0 && self.hosting_ranges[i - 1].1 >= a
    }

    /// The bundled lists plus a user's overrides: one per line, `AS64500 residential` or
    /// `203.0.113.0/24 hosting`, with `#` comments. Types: hosting (or cloud), vpn (or proxy),
    /// residential (or mobile, isp), business, education, government, unknown.
    pub fn with_overrides(path: &Path) -> Result<Classifier, OverrideError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| OverrideError {
            path: display.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        Classifier::with_override_text(&display, &text)
    }

    /// The overrides file this classifier was built with: its name and text.
    pub fn overrides_source(&self) -> Option<(&str, &str)> {
        self.overrides_source.as_ref().map(|(name, text)| (name.as_str(), text.as_str()))
    }

    /// The bundled lists plus overrides given as text (see [`Classifier::with_overrides`]);
    /// `display` names the file in errors.
    pub fn with_override_text(display: &str, text: &str) -> Result<Classifier, OverrideError> {
        let display = display.to_string();
        let mut c = Classifier::from_bundled_lists();
        c.overrides_source = Some((display.clone(), text.to_string()));
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad =
                |message: String| OverrideError { path: display.clone(), line: n + 1, message };
            let mut parts = line.split_whitespace();
            let (Some(key), Some(kind), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad(format!(
                    "expected `AS<number> <type>` or `<prefix> <type>`: {line:?}"
                )));
            };
            let kind =
                NetworkType::parse(kind).ok_or_else(|| bad(format!("unknown type {kind:?}")))?;
            let reason = format!("override in {display}:{}", n + 1);
            let asn = key.strip_prefix("AS").or_else(|| key.strip_prefix("as"));
            if let Some(asn) = asn.and_then(|a| a.parse::<u32>().ok()) {
                c.asn_overrides.insert(asn, (kind, reason));
            } else if let Some(cidr) = Cidr::parse(key) {
                c.prefix_overrides.push((cidr, kind, reason));
            } else {
                return Err(bad(format!("{key:?} is neither an ASN nor a prefix")));
            }
        }
        Ok(c)
    }

    /// Classifies an address given what the ASN database says of it.
    pub fn classify(&self, addr: &[u8; 16], network: Option<&AsnInfo<'_>>) -> Classification {
        if let Some((_, kind, reason)) =
            self.prefix_overrides.iter().find(|(c, _, _)| c.contains(addr))
        {
            return Classification { kind: *kind, reason: reason.clone() };
        }
        if addr[..10] == [0; 10]
            && addr[10..12] == [0xff, 0xff]
            && addr[12] == 100
            && addr[13] & 0xc0 == 64
        {
            return Classification {
                kind: NetworkType::Cgnat,
                reason: "carrier-grade NAT space (100.64.0.0/10)".into(),
            };
        }
        let by_user = network.and_then(|n| self.asn_overrides.get(&n.asn));
        if by_user.is_none() && self.in_hosting_range(addr) {
            let listed = network.and_then(|n| self.by_list.get(&n.asn));
            // The ASN's own listing says more (VPN rather than datacenter) when there is one.
            if let Some((kind, reason)) = listed {
                return Classification { kind: *kind, reason: reason.clone() };
            }
            return Classification {
                kind: NetworkType::Hosting,
                reason: "prefix on X4BNet's datacenter/VPN range list (its ASN is not)".into(),
            };
        }
        match network {
            Some(n) => self.classify_network(n.asn, n.organisation),
            None => {
                Classification { kind: NetworkType::Unknown, reason: "no announced range".into() }
            }
        }
    }

    /// The network type alone, without the reason: what a SQL function over millions of rows
    /// needs, with no allocation once the ASN has been seen.
    pub fn kind_of(&self, addr: &[u8; 16], network: Option<&AsnInfo<'_>>) -> NetworkType {
        if let Some(n) = network
            && self.prefix_overrides.is_empty()
            && !self.in_hosting_range(addr)
            && let Some(kind) =
                self.by_asn.0.read().ok().and_then(|m| m.get(&n.asn).map(|c| c.kind))
        {
            return kind;
        }
        self.classify(addr, network).kind
    }

    /// Classifies an autonomous system (or one of its ranges) by number and organisation name.
    pub fn classify_network(&self, asn: u32, organisation: &str) -> Classification {
        if let Some(known) = self.by_asn.0.read().ok().and_then(|m| m.get(&asn).cloned()) {
            return known;
        }
        let made = self.classify_network_uncached(asn, organisation);
        if let Ok(mut memo) = self.by_asn.0.write() {
            memo.insert(asn, made.clone());
        }
        made
    }

    fn classify_network_uncached(&self, asn: u32, organisation: &str) -> Classification {
        if let Some((kind, reason)) =
            self.asn_overrides.get(&asn).or_else(|| self.by_list.get(&asn))
        {
            return Classification { kind: *kind, reason: reason.clone() };
        }
        let name = organisation.to_lowercase();
        for (kind, patterns) in NAME_PATTERNS {
            if let Some(p) = patterns.iter().find(|p| contains_word_start(&name, p)) {
                return Classification {
                    kind: *kind,
                    reason: format!("organisation name contains {p:?}"),
                };
            }
        }
        Classification {
            kind: NetworkType::Unknown,
            reason: "no list or name pattern applies".into(),
        }
    }
}

/// Whether `pattern` occurs in `name` at the start of a word, so that "isp" matches "ISP Ltd"
/// but not "Crisp", and "tim s.a" does not match "Optimum S.A".
fn contains_word_start(name: &str, pattern: &str) -> bool {
    name.match_indices(pattern)
        .any(|(i, _)| name[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memoised_kind_agrees_with_the_full_classification() {
        let db = crate::AsnDb::bundled();
        let c = Classifier::bundled();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let a = std::net::Ipv4Addr::from(state as u32).to_ipv6_mapped().octets();
            let info = db.lookup_bytes(&a);
            let full = c.classify(&a, info.as_ref()).kind;
            assert_eq!(c.kind_of(&a, info.as_ref()), full);
            assert_eq!(c.kind_of(&a, info.as_ref()), full, "warm");
        }
    }

    #[test]
    fn a_datacenter_prefix_inside_a_mixed_asn_is_hosting_and_its_neighbours_are_not() {
        let c = Classifier::bundled();
        // 94.185.128.0/24 is on X4BNet's datacenter range list; its ASN (GTT) is classed by
        // name, as residential.
        let inside = lasthop_normalise::parse_ip("94.185.128.7").unwrap();
        let gtt = AsnInfo {
            asn: 3257,
            organisation: "GTT Communications Inc.",
            range: ("94.185.128.0".parse().unwrap(), "94.185.128.255".parse().unwrap()),
        };
        let k = c.classify(&inside, Some(&gtt));
        assert_eq!(k.kind, NetworkType::Hosting, "{}", k.reason);
        assert!(k.reason.contains("prefix"), "{}", k.reason);
        let outside = lasthop_normalise::parse_ip("73.54.23.243").unwrap();
        assert!(!c.in_hosting_range(&outside), "a Comcast home line");
        assert!(c.hosting_ranges.len() > 10_000, "{}", c.hosting_ranges.len());
        let first = c.hosting_ranges[0];
        assert!(
            c.in_hosting_range(&first.0.to_be_bytes())
                && c.in_hosting_range(&first.1.to_be_bytes())
        );
    }

    fn kind(asn: u32, org: &str) -> NetworkType {
        Classifier::bundled().classify_network(asn, org).kind
    }

    #[test]
    fn lists_then_names_then_abstention() {
        assert_eq!(kind(14061, "DigitalOcean, LLC"), NetworkType::Hosting);
        assert_eq!(kind(209854, "whatever"), NetworkType::Vpn, "X4BNet VPN list");
        assert_eq!(kind(64500, "Example Cable Communications"), NetworkType::Residential);
        assert_eq!(kind(64501, "University of Somewhere"), NetworkType::Education);
        assert_eq!(kind(64502, "Ministry of Finance"), NetworkType::Government);
        assert_eq!(kind(64503, "Crispy Snacks"), NetworkType::Unknown, "isp inside a word");
        assert_eq!(kind(64504, "Acme Widgets"), NetworkType::Unknown);
    }

    #[test]
    fn cgnat_and_overrides_by_prefix_and_asn() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("types.txt");
        std::fs::write(&file, "# ours\nAS14061 business\n203.0.113.0/24 residential # lab\n")
            .unwrap();
        let c = Classifier::with_overrides(&file).unwrap();
        assert_eq!(c.classify_network(14061, "DigitalOcean").kind, NetworkType::Business);
        let addr = lasthop_normalise::parse_ip("203.0.113.9").unwrap();
        let got = c.classify(&addr, None);
        assert_eq!(got.kind, NetworkType::Residential);
        assert!(got.reason.ends_with("types.txt:3"), "{}", got.reason);
        let cgnat = lasthop_normalise::parse_ip("100.72.1.2").unwrap();
        assert_eq!(c.classify(&cgnat, None).kind, NetworkType::Cgnat);
        std::fs::write(&file, "AS1 residential\nAS2 sofa\n").unwrap();
        let err = Classifier::with_overrides(&file).unwrap_err().to_string();
        assert!(err.ends_with("types.txt:2: unknown type \"sofa\""), "{err}");
    }
}
