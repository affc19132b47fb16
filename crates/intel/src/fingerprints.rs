//! Devices recognised from what they present: Rapid7 Recog's fingerprint sets (BSD-2-Clause,
//! see NOTICE) matched against X.509 certificate subjects and HTTP `Server` values, yielding
//! vendor, product and device type — the routers, firewalls, VPN concentrators, NAS boxes and
//! cameras that the advisory's actors turn into relays.
//!
//! Recog writes Ruby regular expressions; the few that use constructs Rust's linear-time engine
//! lacks (look-around, atomic groups, back-references) are skipped and listed, never guessed.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use quick_xml::events::{BytesStart, Event};
use regex::Regex;

static X509_SUBJECTS: &str = include_str!("../data/recog/x509_subjects.xml");
static HTTP_SERVERS: &str = include_str!("../data/recog/http_servers.xml");
static HTML_TITLES: &str = include_str!("../data/recog/html_title.xml");

/// One Recog fingerprint.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    pub description: String,
    pub pattern: String,
    regex: Regex,
    /// (capture group or 0 for a fixed value, parameter name, fixed value)
    params: Vec<(usize, String, Option<String>)>,
    /// Recog's own test cases: the text and the parameters it must yield.
    pub examples: Vec<(String, BTreeMap<String, String>)>,
}

/// What a match says about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub description: String,
    pub vendor: Option<String>,
    pub product: Option<String>,
    /// Recog's device type as written (`Broadband Router`, `IP Camera` …).
    pub device: Option<String>,
    /// Every parameter the fingerprint yields (`hw.vendor`, `os.version`, `host.mac` …).
    pub params: BTreeMap<String, String>,
}

impl Device {
    /// The edge-device class the last-hop detectors care about, from Recog's device type and
    /// description: router, firewall, vpn, nas, camera, or other.
    pub fn class(&self) -> &'static str {
        let text =
            format!("{} {}", self.device.as_deref().unwrap_or(""), self.description).to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        if has(&["vpn"]) {
            "vpn"
        } else if has(&["firewall", "security appliance", "utm"]) {
            "firewall"
        } else if has(&["router", "gateway", "modem", "wap", "access point", "wireless"]) {
            "router"
        } else if has(&["nas", "storage"]) {
            "nas"
        } else if has(&["camera", "dvr", "nvr", "web cam", "video encoder"]) {
            "camera"
        } else {
            "other"
        }
    }
}

/// A fingerprint being read: everything but the compiled pattern.
struct Pending {
    pattern: String,
    flags: Option<String>,
    description: String,
    params: Vec<(usize, String, Option<String>)>,
    examples: Vec<(String, BTreeMap<String, String>)>,
}

/// A Recog fingerprint file: what it matches and its fingerprints.
#[derive(Debug, Clone, Default)]
pub struct FingerprintSet {
    /// What the set is matched against (`x509.subject`, `http_header.server`).
    pub matches: String,
    pub fingerprints: Vec<Fingerprint>,
    /// Patterns that could not be used, with the reason.
    pub skipped: Vec<(String, String)>,
}

impl FingerprintSet {
    /// Certificate subject fingerprints, bundled.
    pub fn x509_subjects() -> &'static FingerprintSet {
        static SET: OnceLock<FingerprintSet> = OnceLock::new();
        SET.get_or_init(|| FingerprintSet::parse(X509_SUBJECTS).expect("bundled Recog XML parses"))
    }

    /// HTTP `Server` header fingerprints, bundled.
    pub fn http_servers() -> &'static FingerprintSet {
        static SET: OnceLock<FingerprintSet> = OnceLock::new();
        SET.get_or_init(|| FingerprintSet::parse(HTTP_SERVERS).expect("bundled Recog XML parses"))
    }

    /// HTML `<title>` fingerprints (admin pages of routers, firewalls, VPN portals), bundled.
    pub fn html_titles() -> &'static FingerprintSet {
        static SET: OnceLock<FingerprintSet> = OnceLock::new();
        SET.get_or_init(|| FingerprintSet::parse(HTML_TITLES).expect("bundled Recog XML parses"))
    }

    /// Parses a Recog XML file. Malformed XML is an error with its position; a pattern the
    /// regex engine cannot take is skipped and listed in `skipped`.
    pub fn parse(xml: &str) -> Result<FingerprintSet, String> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut set = FingerprintSet::default();
        let mut current: Option<Pending> = None;
        let mut in_text: Option<&'static str> = None;
        let mut example_params: BTreeMap<String, String> = BTreeMap::new();
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
            match event {
                Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"fingerprints" => {
                    set.matches = attribute(&e, "matches")?.unwrap_or_default();
                }
                Event::Start(e) if e.name().as_ref() == b"fingerprint" => {
                    current = Some(Pending {
                        pattern: attribute(&e, "pattern")?.unwrap_or_default(),
                        flags: attribute(&e, "flags")?,
                        description: String::new(),
                        params: Vec::new(),
                        examples: Vec::new(),
                    });
                }
                Event::Start(e) if e.name().as_ref() == b"description" => in_text = Some("d"),
                Event::Start(e) if e.name().as_ref() == b"example" => {
                    in_text = Some("e");
                    example_params = e
                        .attributes()
                        .flatten()
                        .filter(|a| a.key.as_ref() != b"_encoding")
                        .filter_map(|a| {
                            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                            Some((key, a.unescape_value().ok()?.into_owned()))
                        })
                        .collect();
                }
                Event::Text(t) => {
                    if let (Some(kind), Some(f)) = (in_text, current.as_mut()) {
                        let text = t.unescape().map_err(|e| e.to_string())?.trim().to_string();
                        match kind {
                            "d" => f.description = text,
                            _ => f.examples.push((text, std::mem::take(&mut example_params))),
                        }
                    }
                }
                Event::End(e) if matches!(e.name().as_ref(), b"description" | b"example") => {
                    in_text = None;
                }
                Event::Empty(e) if e.name().as_ref() == b"param" => {
                    if let Some(f) = current.as_mut() {
                        let pos = attribute(&e, "pos")?.and_then(|p| p.parse().ok()).unwrap_or(0);
                        let name = attribute(&e, "name")?.unwrap_or_default();
                        f.params.push((pos, name, attribute(&e, "value")?));
                    }
                }
                Event::End(e) if e.name().as_ref() == b"fingerprint" => {
                    if let Some(p) = current.take() {
                        match compile(&p.pattern, p.flags.as_deref()) {
                            Ok(regex) => set.fingerprints.push(Fingerprint {
                                description: p.description,
                                pattern: p.pattern,
                                regex,
                                params: p.params,
                                examples: p.examples,
                            }),
                            Err(why) => set.skipped.push((p.pattern, why)),
                        }
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        Ok(set)
    }

    /// The first fingerprint that matches `text`, as Recog applies them (file order).
    pub fn first_match(&self, text: &str) -> Option<Device> {
        self.fingerprints.iter().find_map(|f| f.apply(text))
    }
}

impl Fingerprint {
    /// The device this fingerprint describes, if it matches `text`.
    pub fn apply(&self, text: &str) -> Option<Device> {
        let caps = self.regex.captures(text)?;
        let mut params = BTreeMap::new();
        for (pos, name, value) in &self.params {
            let v = match (pos, value) {
                (0, Some(v)) => Some(v.clone()),
                (n, _) if *n > 0 => caps.get(*n).map(|m| m.as_str().to_string()),
                _ => None,
            };
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                params.insert(name.clone(), v);
            }
        }
        // Fixed values may name other parameters (`cpe:/a:vendor:product:{service.version}`).
        let snapshot = params.clone();
        for value in params.values_mut() {
            if value.contains('{') {
                for (k, v) in &snapshot {
                    *value = value.replace(&format!("{{{k}}}"), v);
                }
            }
        }
        let first = |keys: &[&str]| keys.iter().find_map(|k| params.get(*k).cloned());
        Some(Device {
            description: self.description.clone(),
            vendor: first(&["hw.vendor", "os.vendor", "service.vendor"]),
            product: first(&["hw.product", "os.product", "service.product"]),
            device: first(&["hw.device", "os.device", "service.device"]),
            params,
        })
    }
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        if a.key.as_ref() == name.as_bytes() {
            return Ok(Some(a.unescape_value().map_err(|e| e.to_string())?.into_owned()));
        }
    }
    Ok(None)
}

/// Translates a Recog (Ruby) pattern for Rust's engine, or says why it cannot.
fn compile(pattern: &str, flags: Option<&str>) -> Result<Regex, String> {
    for (construct, name) in [
        ("(?=", "look-ahead"),
        ("(?!", "negative look-ahead"),
        ("(?<=", "look-behind"),
        ("(?<!", "negative look-behind"),
        ("(?>", "atomic group"),
    ] {
        if pattern.contains(construct) {
            return Err(format!("uses a {name}, which Rust's regex engine does not support"));
        }
    }
    // Ruby's \h is a hex digit; \Z is "end, before a final newline".
    let translated = pattern.replace("\\h", "[0-9a-fA-F]").replace("\\Z", "\\n?\\z");
    let mut prefix = String::new();
    for flag in flags.unwrap_or("").split(',').map(str::trim) {
        match flag {
            "REG_ICASE" => prefix.push_str("(?i)"),
            "REG_MULTILINE" | "REG_DOT_NEWLINE" => prefix.push_str("(?s)"),
            _ => {}
        }
    }
    regex::RegexBuilder::new(&format!("{prefix}{translated}"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| e.to_string().lines().last().unwrap_or("invalid").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recog_example_matches_its_fingerprint_with_the_stated_parameters() {
        for set in [
            FingerprintSet::x509_subjects(),
            FingerprintSet::http_servers(),
            FingerprintSet::html_titles(),
        ] {
            assert!(set.fingerprints.len() > 100, "{}", set.matches);
            let mut checked = 0;
            for f in &set.fingerprints {
                for (text, expected) in &f.examples {
                    let device = f
                        .apply(text)
                        .unwrap_or_else(|| panic!("{:?} does not match {text:?}", f.pattern));
                    for (k, v) in expected {
                        assert_eq!(device.params.get(k), Some(v), "{k} of {text:?}");
                    }
                    checked += 1;
                }
            }
            eprintln!(
                "{}: {} fingerprints, {checked} examples checked, {} skipped",
                set.matches,
                set.fingerprints.len(),
                set.skipped.len()
            );
            assert!(checked > 100, "{checked} examples in {}", set.matches);
            assert!(set.skipped.len() < 5, "{:?}", set.skipped);
        }
    }

    #[test]
    fn soho_routers_firewalls_and_vpns_are_classed() {
        let subject = "CN=00:22:6b:ef:1e:d0,OU=RV042,O=Cisco-Linksys\\, LLC,L=Irvine,C=US";
        let d = FingerprintSet::x509_subjects().first_match(subject).unwrap();
        assert_eq!((d.vendor.as_deref(), d.product.as_deref()), (Some("Cisco"), Some("RV042")));
        assert_eq!(d.class(), "router");
        assert!(FingerprintSet::x509_subjects().first_match("CN=www.example.com").is_none());
    }

    #[test]
    fn unsupported_patterns_are_skipped_with_a_reason_and_bad_xml_is_an_error() {
        let xml = r#"<fingerprints matches="x509.subject">
            <fingerprint pattern="^(?=a)b"><description>d</description></fingerprint>
            <fingerprint pattern="^OK (\h+)$"><description>ok</description>
              <param pos="1" name="hw.product"/></fingerprint></fingerprints>"#;
        let set = FingerprintSet::parse(xml).unwrap();
        assert_eq!(set.fingerprints.len(), 1);
        assert!(set.skipped[0].1.contains("look-ahead"));
        assert_eq!(set.first_match("OK 0aF").unwrap().product.as_deref(), Some("0aF"));
        assert!(FingerprintSet::parse("<fingerprints><fingerprint pattern=\"x\"></oops>").is_err());
    }
}
