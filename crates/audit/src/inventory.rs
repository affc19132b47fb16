//! Inventories of edge devices: nmap XML (service and version detection, OS detection, the
//! `ssl-cert`, `http-server-header` and `http-title` scripts) and CSV inventories a network team
//! keeps. Both become [`Device`]s; what a file could not say stays empty, never guessed.
//!
//! A bad row or host is reported with its file and line and skipped; the rest is kept.

use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

/// A service a device offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Service {
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// nmap's service name (`http`, `ssh`, `telnet`, `snmp`, …) or the inventory's.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
    /// Served over TLS.
    pub tls: bool,
    /// The HTTP `Server` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_server: Option<String>,
    /// The HTML title of the page served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_title: Option<String>,
    /// The TLS certificate's subject, as `CN=…, O=…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_subject: Option<String>,
    /// CPE names nmap gave the service.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpes: Vec<String>,
}

/// One device of an inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Name from the inventory, or host name, or address.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Model or product (`RV320`, `FortiGate 60F`, `Vigor 2960`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Operating system or firmware name where it differs from the model (`FortiOS`, `PAN-OS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Firmware or software version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// router, firewall, vpn, … as the inventory or the fingerprint says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Reachable from the internet: the inventory's say, or the scan's perspective.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed: Option<bool>,
    /// Management interfaces the inventory lists (`https`, `ssh`, `telnet:23`, `snmp`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub management: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// OS-detection guesses and their CPEs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub os_guesses: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpes: Vec<String>,
    /// Where the device was read: `file:line`.
    pub source: String,
}

/// A problem with one row, host or file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Devices read from files, and what could not be read.
#[derive(Debug, Default)]
pub struct Inventory {
    pub devices: Vec<Device>,
    pub problems: Vec<Problem>,
}

impl Inventory {
    /// Reads a file, recognising nmap XML by content and anything else as CSV.
    pub fn read_file(&mut self, path: &Path) {
        let name = path.display().to_string();
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                self.problems.push(Problem { file: name, line: 0, message: e.to_string() });
                return;
            }
        };
        let head = text.trim_start_matches('\u{feff}').trim_start();
        if head.starts_with("<?xml")
            || head.starts_with("<nmaprun")
            || head.starts_with("<!DOCTYPE nmaprun")
        {
            self.read_nmap(&name, &text);
        } else {
            self.read_csv(&name, &text);
        }
    }

    /// Reads nmap's XML output (`-oX`). Only hosts that are up are kept, with their open ports.
    pub fn read_nmap(&mut self, file: &str, xml: &str) {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut host: Option<Device> = None;
        let mut service: Option<Service> = None;
        let mut port_open = false;
        let mut in_os = false;
        let mut up = true;
        // The ssl-cert script's structured subject (`<table key="subject"><elem key=…>`): its
        // text output leaves out OU and L, which Recog's certificate fingerprints need.
        let mut subject_table = false;
        let mut elem_key: Option<String> = None;
        let mut subject: Vec<(String, String)> = Vec::new();
        let mut in_cpe = false;
        // Line numbers by binary search over the line starts: a scan of 40,000 hosts must not
        // rescan the file for each.
        let newlines: Vec<usize> = memchr_lines(xml);
        let line_of = |pos: u64| newlines.partition_point(|&n| n < pos as usize) as u64 + 1;
        loop {
            let position = reader.buffer_position();
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    self.problems.push(Problem {
                        file: file.into(),
                        line: line_of(position),
                        message: format!(
                            "not valid nmap XML ({e}); hosts before this point are kept"
                        ),
                    });
                    break;
                }
            };
            let (element, empty) = match &event {
                Event::Start(e) => (Some(e.clone()), false),
                Event::Empty(e) => (Some(e.clone()), true),
                _ => (None, false),
            };
            if let Some(e) = element {
                let a = |key: &str| attribute(&e, key);
                match e.name().as_ref() {
                    b"host" => {
                        host = Some(Device {
                            source: format!("{file}:{}", line_of(position)),
                            ..Default::default()
                        });
                        up = true;
                    }
                    b"status" => up = a("state").as_deref() != Some("down"),
                    b"address" if host.is_some() => {
                        let h = host.as_mut().expect("checked");
                        match a("addrtype").as_deref() {
                            Some("ipv4") | Some("ipv6") => h.address = a("addr"),
                            Some("mac") if h.vendor.is_none() => {
                                // The MAC's vendor is the NIC's maker: a hint, kept apart.
                                if let Some(v) = a("vendor") {
                                    h.os_guesses.push(format!("MAC vendor {v}"));
                                }
                            }
                            _ => {}
                        }
                    }
                    b"hostname" if host.is_some() => {
                        let h = host.as_mut().expect("checked");
                        if h.name.is_empty() {
                            h.name = a("name").unwrap_or_default();
                        }
                    }
                    b"port" => {
                        service = Some(Service {
                            port: a("portid").and_then(|p| p.parse().ok()).unwrap_or(0),
                            protocol: a("protocol").unwrap_or_default(),
                            ..Default::default()
                        });
                        port_open = false;
                    }
                    b"state" if service.is_some() => {
                        port_open =
                            matches!(a("state").as_deref(), Some("open") | Some("open|filtered"));
                    }
                    b"service" if service.is_some() => {
                        let s = service.as_mut().expect("checked");
                        s.name = a("name").unwrap_or_default();
                        s.product = a("product");
                        s.version = a("version");
                        s.extra = a("extrainfo");
                        s.tls = a("tunnel").as_deref() == Some("ssl") || s.name == "https";
                        // An answer nmap could not name is kept in `servicefp`: its Server
                        // header and title still say what the device is.
                        if let Some(fp) = a("servicefp") {
                            let (server, title) = fingerprint_http(&fp);
                            s.http_server = s.http_server.take().or(server);
                            s.http_title = s.http_title.take().or(title);
                        }
                        if let (Some(h), Some(t)) = (host.as_mut(), a("devicetype"))
                            && h.role.is_none()
                        {
                            h.role = Some(t);
                        }
                    }
                    b"script" if service.is_some() => {
                        let s = service.as_mut().expect("checked");
                        let output = a("output").unwrap_or_default();
                        match a("id").as_deref() {
                            Some("http-server-header") => {
                                s.http_server = output
                                    .lines()
                                    .map(str::trim)
                                    .find(|l| !l.is_empty())
                                    .map(String::from)
                            }
                            Some("http-title") => {
                                s.http_title = output
                                    .lines()
                                    .next()
                                    .map(|l| l.trim().to_string())
                                    .filter(|l| !l.is_empty())
                            }
                            Some("ssl-cert") => {
                                s.certificate_subject = certificate_subject(&output);
                                subject.clear();
                            }
                            _ => {}
                        }
                    }
                    b"table" if service.is_some() => {
                        subject_table = a("key").as_deref() == Some("subject")
                    }
                    b"elem" if subject_table => elem_key = a("key"),
                    b"os" => in_os = true,
                    b"cpe" => in_cpe = !empty,
                    b"osmatch" if in_os => {
                        if let (Some(h), Some(name)) = (host.as_mut(), a("name")) {
                            let accuracy = a("accuracy").unwrap_or_default();
                            h.os_guesses.push(format!("{name} ({accuracy}%)"));
                        }
                    }
                    _ => {}
                }
                if empty {
                    self.end(e.name().as_ref(), &mut host, &mut service, port_open, up);
                }
                continue;
            }
            match event {
                Event::Text(t) if in_cpe => {
                    // `<cpe>` under a port's service, or under the OS match of the host.
                    let cpe = t.unescape().map(|c| c.trim().to_string()).unwrap_or_default();
                    if !cpe.is_empty() {
                        match (service.as_mut(), host.as_mut()) {
                            (Some(s), _) => push_unique(&mut s.cpes, cpe),
                            (None, Some(h)) if in_os => push_unique(&mut h.cpes, cpe),
                            _ => {}
                        }
                    }
                }
                Event::Text(t) => {
                    if let (true, Some(key)) = (subject_table, &elem_key)
                        && let Ok(value) = t.unescape()
                    {
                        subject.push((key.clone(), value.trim().to_string()));
                    }
                }
                Event::End(e) => {
                    match e.name().as_ref() {
                        b"os" => in_os = false,
                        b"cpe" => in_cpe = false,
                        b"elem" => elem_key = None,
                        b"table" => subject_table = false,
                        b"script" if !subject.is_empty() => {
                            if let Some(s) = service.as_mut() {
                                s.certificate_subject = canonical_subject(&subject);
                            }
                            subject.clear();
                        }
                        _ => {}
                    }
                    self.end(e.name().as_ref(), &mut host, &mut service, port_open, up);
                }
                Event::Eof => break,
                _ => {}
            }
        }
    }

    fn end(
        &mut self,
        name: &[u8],
        host: &mut Option<Device>,
        service: &mut Option<Service>,
        open: bool,
        up: bool,
    ) {
        match name {
            b"port" => {
                if let (Some(h), Some(s)) = (host.as_mut(), service.take())
                    && open
                {
                    h.services.push(s);
                }
            }
            b"host" => {
                if let Some(mut h) = host.take()
                    && up
                {
                    if h.name.is_empty() {
                        h.name = h.address.clone().unwrap_or_else(|| h.source.clone());
                    }
                    self.devices.push(h);
                }
            }
            _ => {}
        }
    }

    /// Reads a CSV inventory. The header names columns case-insensitively, with synonyms (see
    /// [`COLUMNS`]); a row without a name, vendor or model is reported and skipped.
    pub fn read_csv(&mut self, file: &str, text: &str) {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.to_string()).collect(),
            Err(e) => {
                self.problems.push(Problem {
                    file: file.into(),
                    line: 1,
                    message: format!("no CSV header: {e}"),
                });
                return;
            }
        };
        let mut columns: Vec<Option<Column>> = header.iter().map(|h| Column::of(h)).collect();
        // The first column of a kind wins; a second `version` column is not merged in.
        let mut seen = Vec::new();
        for c in columns.iter_mut() {
            if let Some(kind) = c {
                if seen.contains(kind) {
                    *c = None;
                } else {
                    seen.push(*kind);
                }
            }
        }
        if !seen.contains(&Column::Vendor) && !seen.contains(&Column::Model) {
            self.problems.push(Problem {
                file: file.into(),
                line: 1,
                message: format!(
                    "the header names no vendor or model column (got {:?}; see `lasthop audit --help`)",
                    header
                ),
            });
            return;
        }
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    self.problems.push(Problem {
                        file: file.into(),
                        line,
                        message: format!("unreadable row: {e}"),
                    });
                    continue;
                }
            };
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let mut d = Device { source: format!("{file}:{line}"), ..Default::default() };
            for (value, column) in record.iter().zip(&columns) {
                let value = value.trim();
                let (Some(column), false) = (column, value.is_empty()) else { continue };
                let text = Some(value.to_string());
                match column {
                    Column::Name => d.name = value.to_string(),
                    Column::Address => d.address = text,
                    Column::Vendor => d.vendor = text,
                    Column::Model => d.model = text,
                    Column::Os => d.os = text,
                    Column::Version => d.version = text,
                    Column::Role => d.role = text,
                    Column::Exposed => match yes_no(value) {
                        Some(b) => d.exposed = Some(b),
                        None => self.problems.push(Problem {
                            file: file.into(),
                            line,
                            message: format!(
                                "internet-exposed {value:?} is not yes or no; left unknown"
                            ),
                        }),
                    },
                    Column::Management => {
                        d.management = value
                            .split([';', ',', '|', ' '])
                            .map(|m| m.trim().to_ascii_lowercase())
                            .filter(|m| !m.is_empty())
                            .collect()
                    }
                }
            }
            if d.vendor.is_none() && d.model.is_none() {
                self.problems.push(Problem {
                    file: file.into(),
                    line,
                    message: "no vendor or model: nothing to check; skipped".into(),
                });
                continue;
            }
            if d.name.is_empty() {
                d.name = d.address.clone().unwrap_or_else(|| d.source.clone());
            }
            self.devices.push(d);
        }
    }
}

/// The columns a CSV inventory may have, and the header names each is recognised by
/// (case-insensitive; spaces, dashes and underscores ignored).
pub const COLUMNS: &[(&str, &[&str])] = &[
    ("name", &["name", "device", "devicename", "hostname", "host", "asset", "assetname"]),
    ("address", &["address", "ip", "ipaddress", "wanip", "publicip", "managementip", "mgmtip"]),
    ("vendor", &["vendor", "manufacturer", "make", "brand"]),
    ("model", &["model", "product", "hardware", "hardwaremodel", "platform", "devicemodel"]),
    ("os", &["os", "operatingsystem", "software", "firmwarename", "platformos"]),
    (
        "version",
        &[
            "version",
            "firmware",
            "firmwareversion",
            "osversion",
            "softwareversion",
            "fw",
            "release",
            "build",
        ],
    ),
    ("role", &["role", "type", "devicetype", "function", "class", "category"]),
    (
        "exposed",
        &[
            "exposed",
            "internetexposed",
            "internetfacing",
            "public",
            "external",
            "exposedtointernet",
            "wanfacing",
        ],
    ),
    (
        "management",
        &[
            "management",
            "managementinterfaces",
            "mgmt",
            "mgmtinterfaces",
            "adminaccess",
            "managementaccess",
        ],
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Address,
    Vendor,
    Model,
    Os,
    Version,
    Role,
    Exposed,
    Management,
}

impl Column {
    fn of(header: &str) -> Option<Column> {
        let key: String = header
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let kinds = [
            Column::Name,
            Column::Address,
            Column::Vendor,
            Column::Model,
            Column::Os,
            Column::Version,
            Column::Role,
            Column::Exposed,
            Column::Management,
        ];
        COLUMNS
            .iter()
            .zip(kinds)
            .find(|((_, names), _)| names.contains(&key.as_str()))
            .map(|(_, k)| k)
    }
}

fn yes_no(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "exposed" | "internet" | "public" => Some(true),
        "no" | "n" | "false" | "0" | "internal" | "private" => Some(false),
        _ => None,
    }
}

/// The `Server` header and `<title>` inside nmap's service fingerprint, whose responses are
/// written with C-style escapes (`\x20`, `\r\n`).
fn fingerprint_http(servicefp: &str) -> (Option<String>, Option<String>) {
    let mut text = String::with_capacity(servicefp.len());
    let mut chars = servicefp.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                if let Ok(b) = u8::from_str_radix(&hex, 16) {
                    text.push(if b.is_ascii() { b as char } else { '\u{fffd}' });
                }
            }
            Some('r') => text.push('\r'),
            Some('n') => text.push('\n'),
            Some('t') => text.push('\t'),
            Some('0') => text.push('\0'),
            Some(other) => text.push(other),
            None => {}
        }
    }
    let server = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("server").then(|| value.trim().to_string())
    });
    let lower = text.to_ascii_lowercase();
    let title = lower.find("<title>").and_then(|start| {
        let from = start + "<title>".len();
        let end = lower[from..].find("</title>")? + from;
        Some(text[from..end].trim().to_string()).filter(|t| !t.is_empty())
    });
    (server.filter(|s| !s.is_empty()), title)
}

fn attribute(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
        .filter(|v| !v.is_empty())
}

/// Offsets of the line breaks of a text.
fn memchr_lines(text: &str) -> Vec<usize> {
    text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect()
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// `Subject: commonName=Vigor Router/organizationName=DrayTek Corp./countryName=TW` →
/// `CN=Vigor Router,O=DrayTek Corp.,C=TW`: the order and form Zeek writes and Recog's
/// certificate fingerprints match (CN, OU, O, L, ST, C), whatever order nmap printed.
fn certificate_subject(output: &str) -> Option<String> {
    let line = output.lines().find_map(|l| l.trim().strip_prefix("Subject:"))?;
    let fields: Vec<(String, String)> = line
        .trim()
        .split('/')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    canonical_subject(&fields)
}

/// Subject fields (`commonName`, `organizationalUnitName` …) in the order Zeek and Recog write
/// them.
fn canonical_subject(fields: &[(String, String)]) -> Option<String> {
    const ORDER: [(&str, &str); 7] = [
        ("commonName", "CN"),
        ("organizationalUnitName", "OU"),
        ("organizationName", "O"),
        ("localityName", "L"),
        ("stateOrProvinceName", "ST"),
        ("countryName", "C"),
        ("emailAddress", "emailAddress"),
    ];
    let mut parts: Vec<String> = Vec::new();
    for (long, short) in ORDER {
        parts.extend(fields.iter().filter(|(k, _)| k == long).map(|(_, v)| format!("{short}={v}")));
    }
    parts.extend(
        fields
            .iter()
            .filter(|(k, _)| !ORDER.iter().any(|(long, _)| long == k))
            .map(|(k, v)| format!("{k}={v}")),
    );
    (!parts.is_empty()).then(|| parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_headers_are_matched_with_synonyms_and_bad_rows_reported() {
        let mut inv = Inventory::default();
        inv.read_csv(
            "inv.csv",
            "Device Name,Manufacturer,Hardware Model,OS_Version,Internet-Facing,Mgmt Interfaces\n\
             branch-1,Cisco,RV320,1.4.2.15,yes,https;telnet\n\
             ,,,,,\n\
             hq-fw,Fortinet,FortiGate 60F,7.0.12,maybe,ssh\n",
        );
        assert_eq!(inv.devices.len(), 2, "{:?}", inv.problems);
        let d = &inv.devices[0];
        assert_eq!(
            (d.vendor.as_deref(), d.model.as_deref(), d.version.as_deref()),
            (Some("Cisco"), Some("RV320"), Some("1.4.2.15"))
        );
        assert_eq!(d.exposed, Some(true));
        assert_eq!(d.management, ["https", "telnet"]);
        assert_eq!(d.source, "inv.csv:2");
        assert_eq!(inv.devices[1].exposed, None);
        let messages: Vec<String> = inv.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            messages.iter().any(|m| m.starts_with("inv.csv:3:") && m.contains("no vendor")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.starts_with("inv.csv:4:") && m.contains("maybe")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_csv_without_vendor_or_model_is_refused_by_name() {
        let mut inv = Inventory::default();
        inv.read_csv("x.csv", "a,b\n1,2\n");
        assert!(inv.devices.is_empty());
        assert!(inv.problems[0].message.contains("no vendor or model column"));
    }

    #[test]
    fn nmap_hosts_ports_scripts_and_cpes_are_read() {
        let xml = r#"<?xml version="1.0"?>
<nmaprun scanner="nmap">
<host><status state="up"/><address addr="127.0.0.1" addrtype="ipv4"/>
<hostnames><hostname name="localhost" type="PTR"/></hostnames>
<ports>
<port protocol="tcp" portid="443"><state state="open"/><service name="http" product="DrayTek Vigor router http config" tunnel="ssl" devicetype="router"><cpe>cpe:/h:draytek:vigor</cpe></service>
<script id="http-server-header" output="DrayTek/Vigor2960 UPnP/1.0 miniupnpd/1.0"/>
<script id="ssl-cert" output="Subject: commonName=Vigor Router/organizationName=DrayTek Corp./countryName=TW&#xa;Issuer: commonName=Vigor Router"/>
</port>
<port protocol="tcp" portid="23"><state state="closed"/><service name="telnet"/></port>
</ports>
<os><osmatch name="DrayTek Vigor 2960 router" accuracy="96"/></os>
</host>
<host><status state="down"/><address addr="127.0.0.2" addrtype="ipv4"/></host>
</nmaprun>"#;
        let mut inv = Inventory::default();
        inv.read_nmap("scan.xml", xml);
        assert_eq!(inv.devices.len(), 1, "{:?}", inv.problems);
        let d = &inv.devices[0];
        assert_eq!(d.name, "localhost");
        assert_eq!(d.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(d.role.as_deref(), Some("router"));
        assert_eq!(d.services.len(), 1, "closed ports are left out");
        let s = &d.services[0];
        assert!(s.tls);
        assert_eq!(s.http_server.as_deref(), Some("DrayTek/Vigor2960 UPnP/1.0 miniupnpd/1.0"));
        assert_eq!(s.certificate_subject.as_deref(), Some("CN=Vigor Router,O=DrayTek Corp.,C=TW"));
        assert_eq!(s.cpes, ["cpe:/h:draytek:vigor"]);
        assert_eq!(d.os_guesses, ["DrayTek Vigor 2960 router (96%)"]);
    }

    #[test]
    fn a_service_nmap_could_not_name_still_gives_its_server_header() {
        let fp = r#"SF-Port41291-TCP:V=7.93%r(GenericLines,D0,"HTTP/1\.1\x20200\x20OK\r\nServer:\x20DrayTek/Vigor2960\x20UPnP/1\.0\x20miniupnpd/1\.0\r\n\r\n<html><head><title>Vigor\x20Login\x20Page</title>");"#;
        let (server, title) = fingerprint_http(fp);
        assert_eq!(server.as_deref(), Some("DrayTek/Vigor2960 UPnP/1.0 miniupnpd/1.0"));
        assert_eq!(title.as_deref(), Some("Vigor Login Page"));
    }

    #[test]
    fn cpes_stay_with_their_host_and_open_port() {
        let xml = r#"<nmaprun>
<host><status state="down"/><address addr="10.0.0.9" addrtype="ipv4"/></host>
<host><status state="up"/><address addr="10.0.0.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="22"><state state="closed"/><service name="ssh"><cpe>cpe:/o:zyxel:zld</cpe></service></port>
<port protocol="udp" portid="53"><state state="open"/><service name="domain"><cpe>cpe:/a:isc:bind</cpe></service></port>
<port protocol="tcp" portid="8291"><state state="open"/><service name="winbox"><cpe>cpe:/o:mikrotik:routeros</cpe></service></port>
</ports><os><osmatch name="MikroTik RouterOS 6" accuracy="95"><osclass type="router"><cpe>cpe:/o:mikrotik:routeros:6</cpe></osclass></osmatch></os></host>
<host><status state="up"/><address addr="10.0.0.2" addrtype="ipv4"/></host>
</nmaprun>"#;
        let mut inv = Inventory::default();
        inv.read_nmap("cpe.xml", xml);
        assert_eq!(inv.devices.len(), 2);
        let first = &inv.devices[0];
        assert_eq!(first.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(first.services.len(), 2, "the closed port is left out, with its CPE");
        assert_eq!(first.services[1].cpes, ["cpe:/o:mikrotik:routeros"]);
        assert_eq!(first.cpes, ["cpe:/o:mikrotik:routeros:6"]);
        assert!(inv.devices[1].cpes.is_empty() && inv.devices[1].services.is_empty());
    }

    #[test]
    fn truncated_nmap_xml_keeps_the_hosts_before_the_cut() {
        let xml = r#"<nmaprun><host><status state="up"/><address addr="10.0.0.1" addrtype="ipv4"/></host><host><status state="up"/><address addr="10.0.0.2" addrtype="ipv4"/><ports><port protocol="tcp" portid="22"><state state="open"/><service name="ssh" product="Dropbear sshd" version="2019.78"/></port></ports></host><host><status state="up"/><addr"#;
        let mut inv = Inventory::default();
        inv.read_nmap("cut.xml", xml);
        assert_eq!(inv.devices.len(), 2);
        assert_eq!(inv.problems.len(), 1, "{:?}", inv.problems);
    }
}
