//! Threat-intelligence feeds in the forms defenders receive them: STIX 2.1 bundles, MISP event
//! JSON, CSV exports, one-per-line lists and the free-text IOC sections of published reports.
//!
//! The format of a file is recognised by its content, so `lasthop intel import` takes a folder
//! of mixed feeds. A malformed entry is reported with the file and line (or object) and skipped;
//! the rest of the feed is kept. Indicators that a warning list names as known-benign (MISP
//! warning lists: resolvers, top sites, empty-file hashes) are set aside, not matched.

pub(crate) mod misp;
pub(crate) mod stix;
pub(crate) mod table;
pub(crate) mod text;
mod warninglist;

use std::io::Read;
use std::path::Path;

use lasthop_common::{Diagnostics, Reason};

use crate::indicators::{Indicator, IndicatorKind, IndicatorSet};

pub use text::read_text;
pub use warninglist::{WarningList, WarningLists};

/// What one feed file yielded.
#[derive(Debug, Default)]
pub struct FeedReport {
    pub indicators: IndicatorSet,
    pub diagnostics: Diagnostics,
    /// The format it was read as ("STIX 2.1 bundle", "MISP event", "CSV", "text").
    pub format: &'static str,
    /// Entries that are context rather than detection (MISP attributes without `to_ids`,
    /// revoked STIX indicators): neither matched nor counted as errors.
    pub context_only: u64,
}

/// Feeds larger than this are refused rather than read into memory whole.
pub const MAX_FEED_BYTES: u64 = 512 * 1024 * 1024;

/// Reads a feed file (plain, gzip or zstd), recognising its format by content.
pub fn load_feed(path: &Path) -> std::io::Result<FeedReport> {
    let mut bytes = Vec::new();
    lasthop_common::open_decompressed(path)?.take(MAX_FEED_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FEED_BYTES {
        return Err(std::io::Error::other(format!(
            "{}: larger than {} MiB once decompressed",
            path.display(),
            MAX_FEED_BYTES >> 20
        )));
    }
    let feed = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(read_feed(path, &feed, &String::from_utf8_lossy(&bytes)))
}

/// Reads a feed's text; `feed` names it in every indicator unless the feed names itself.
pub fn read_feed(path: &Path, feed: &str, text: &str) -> FeedReport {
    let mut report = FeedReport::default();
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match serde_json::from_str::<serde_json::Value>(trimmed) {
            Ok(json) if stix::is_bundle(&json) => {
                report.format = "STIX 2.1 bundle";
                stix::read(path, feed, trimmed, &json, &mut report);
            }
            Ok(json) if misp::is_misp(&json) => {
                report.format = "MISP event";
                misp::read(path, feed, trimmed, &json, &mut report);
            }
            Ok(_) => {
                report.format = "JSON";
                report.diagnostics.warn(
                    path,
                    0,
                    Reason::UnrecognisedFormat,
                    "JSON that is neither a STIX 2.1 bundle nor a MISP event".into(),
                );
            }
            Err(e) => {
                report.format = "JSON";
                report.diagnostics.warn(path, e.line() as u64, Reason::BadJson, e.to_string());
            }
        }
    } else if let Some(header) = table::header(trimmed) {
        report.format = "CSV";
        table::read(path, feed, text, header, &mut report);
    } else {
        report.format = "text";
        text::read_text(path, feed, text, &mut report);
    }
    report
}

/// Maps a feed's type label (MISP attribute types, CSV `type` columns, report tables) to the
/// kind lasthop matches; `Err` carries the label of a kind lasthop cannot match.
pub(crate) fn kind_from_label(label: &str) -> Result<Option<IndicatorKind>, String> {
    let l = label.trim().to_ascii_lowercase().replace([' ', '_'], "-");
    let kind = match l.as_str() {
        "" | "auto" | "ioc" | "indicator" => return Ok(None),
        "ip" | "ip-dst" | "ip-src" | "ipv4" | "ipv6" | "ipv4-addr" | "ipv6-addr" | "ip-address"
        | "ip-dst|port" | "ip-src|port" | "address" | "ipaddress" => IndicatorKind::Ip,
        "cidr" | "prefix" | "network" | "ip-range" => IndicatorKind::Prefix,
        "domain" | "hostname" | "domain-name" | "fqdn" | "host" | "tls-cert-domain"
        | "domain|ip" => IndicatorKind::Domain,
        "url" | "uri" | "link-url" => IndicatorKind::Url,
        "md5" | "sha1" | "sha256" | "sha-1" | "sha-256" | "hash" | "filehash" | "file-hash"
        | "filename|md5" | "filename|sha1" | "filename|sha256" => IndicatorKind::FileHash,
        "x509-fingerprint-sha1"
        | "x509-fingerprint-sha256"
        | "x509-fingerprint-md5"
        | "tls-fingerprint"
        | "cert-fingerprint"
        | "certificate-fingerprint" => IndicatorKind::CertFingerprint,
        "ja3"
        | "ja3s"
        | "ja4"
        | "ja4s"
        | "ja3-fingerprint-md5"
        | "ja3s-fingerprint-md5"
        | "ja4-fingerprint"
        | "ja4s-fingerprint"
        | "tls-client-fingerprint"
        | "tls-server-fingerprint" => IndicatorKind::TlsFingerprint,
        "hassh" | "hasshserver" | "hassh-md5" | "hasshserver-md5" | "ssh-fingerprint" => {
            IndicatorKind::SshFingerprint
        }
        other => return Err(other.to_string()),
    };
    Ok(Some(kind))
}

/// Builds an indicator from a value and an optional type label, reporting what cannot be used.
/// Composite MISP values (`domain|ip`, `filename|md5`, `ip-dst|port`) keep the matchable part.
pub(crate) fn typed_indicator(
    value: &str,
    label: &str,
    feed: &str,
    path: &Path,
    line: u64,
    diagnostics: &mut Diagnostics,
) -> Option<Indicator> {
    let kind = match kind_from_label(label) {
        Ok(kind) => kind,
        Err(other) => {
            diagnostics.warn(
                path,
                line,
                Reason::UnsupportedIndicator,
                format!("type {:?} is not matched against network logs", short(&other)),
            );
            return None;
        }
    };
    let l = label.trim().to_ascii_lowercase();
    let value = match (l.starts_with("filename|"), value.split_once('|')) {
        (true, Some((_, hash))) => hash,
        (false, Some((first, _))) if l.contains('|') => first,
        _ => value,
    };
    let parsed = match kind {
        Some(IndicatorKind::CertFingerprint) => {
            crate::indicators::normalise_hash(&value.replace(':', ""))
                .map(|v| (IndicatorKind::CertFingerprint, v))
        }
        Some(IndicatorKind::TlsFingerprint) => crate::indicators::normalise_tls_fingerprint(value)
            .map(|v| (IndicatorKind::TlsFingerprint, v)),
        // HASSH is an MD5, written as one.
        Some(IndicatorKind::SshFingerprint) => {
            let v = value.trim().to_ascii_lowercase();
            (v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
                .then_some((IndicatorKind::SshFingerprint, v))
        }
        _ => crate::indicators::classify(value),
    };
    let compatible = |found: IndicatorKind| match kind {
        None => true,
        Some(IndicatorKind::Ip) => matches!(found, IndicatorKind::Ip | IndicatorKind::Prefix),
        Some(IndicatorKind::Url) => matches!(found, IndicatorKind::Url | IndicatorKind::Domain),
        Some(k) => k == found,
    };
    match parsed {
        Some((found, v)) if compatible(found) => Some(Indicator::new(found, v, feed)),
        _ => {
            diagnostics.warn(
                path,
                line,
                Reason::BadIndicator,
                format!(
                    "{:?} is not a valid {}",
                    short(value),
                    kind.map_or("IP, prefix, domain, URL or hash", |k| k.name())
                ),
            );
            None
        }
    }
}

/// A value cut to a length that fits a message.
pub(crate) fn short(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Parses a date or timestamp as feeds write them (`2024-06-28`, RFC 3339, epoch seconds) to
/// microseconds since the epoch.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_micros());
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S") {
        return Some(dt.and_utc().timestamp_micros());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc().timestamp_micros());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) && (9..=11).contains(&t.len()) {
        return t.parse::<i64>().ok().map(|s| s * 1_000_000);
    }
    None
}

/// The line of `text` on which `needle` first appears (1-based), for naming where a JSON object
/// is; 0 when it cannot be found.
pub(crate) fn line_of(text: &str, needle: &str) -> u64 {
    if needle.is_empty() {
        return 0;
    }
    text.find(needle).map_or(0, |at| text[..at].bytes().filter(|&b| b == b'\n').count() as u64 + 1)
}

/// One bundled feed: where it came from and its text.
pub struct BundledFeed {
    pub feed: &'static str,
    pub file: &'static str,
    pub source: &'static str,
    pub text: &'static str,
}

macro_rules! bundled {
    ($feed:expr, $dir:literal, $file:literal, $source:expr) => {
        BundledFeed {
            feed: $feed,
            file: $file,
            source: $source,
            text: include_str!(concat!("../../data/iocs/", $dir, "/", $file)),
        }
    };
}

const BLACK_LOTUS: &str = "https://github.com/blacklotuslabs/IOCs";
const PUDGYDRAGON: &str =
    "https://github.com/PudgyDragon/IOCs/tree/main/All/APT40 (from CISA AA24-190A, AA21-200A)";

/// The public indicators lasthop ships: Black Lotus Labs' SoHo-router botnet write-ups and the
/// APT40 advisory's domains and web-shell/tool hashes as collected by PudgyDragon.
pub const BUNDLED_FEEDS: &[BundledFeed] = &[
    bundled!(
        "Black Lotus Labs: KV-botnet (Volt Typhoon SoHo proxy network)",
        "blacklotuslabs",
        "KVbotnet_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: Raptor Train (Flax Typhoon SoHo/IoT botnet)",
        "blacklotuslabs",
        "Raptor_Train_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: ZuoRAT (SoHo router RAT)",
        "blacklotuslabs",
        "ZuoRAT_IoCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: HiatusRAT (DrayTek Vigor routers)",
        "blacklotuslabs",
        "Hiatus_IoCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: HiatusRAT, second campaign",
        "blacklotuslabs",
        "Hiatus_2_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: AVrecon (SoHo router proxy botnet)",
        "blacklotuslabs",
        "AVrecon_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: Cuttlefish (SoHo router credential sniffer)",
        "blacklotuslabs",
        "Cuttlefish_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: J-magic (Juniper router backdoor)",
        "blacklotuslabs",
        "Jmagic_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: TheMoon / Faceless (end-of-life SoHo routers as residential proxies)",
        "blacklotuslabs",
        "Moon_Faceless_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: NSOCKS residential proxy botnet",
        "blacklotuslabs",
        "NSOCKS_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "Black Lotus Labs: SOCKS proxy botnet",
        "blacklotuslabs",
        "socks_IOCs.txt",
        BLACK_LOTUS
    ),
    bundled!(
        "APT40 advisory (PudgyDragon collection): domains",
        "pudgydragon-apt40",
        "uri.txt",
        PUDGYDRAGON
    ),
    bundled!(
        "APT40 advisory (PudgyDragon collection): sample MD5s",
        "pudgydragon-apt40",
        "samples.md5",
        PUDGYDRAGON
    ),
    bundled!(
        "APT40 advisory (PudgyDragon collection): sample SHA-1s",
        "pudgydragon-apt40",
        "samples.sha1",
        PUDGYDRAGON
    ),
    bundled!(
        "APT40 advisory (PudgyDragon collection): sample SHA-256s",
        "pudgydragon-apt40",
        "samples.sha256",
        PUDGYDRAGON
    ),
];

/// The bundled indicators, warning lists applied, with what reading them reported.
pub fn bundled() -> FeedReport {
    let mut all = FeedReport { format: "bundled", ..Default::default() };
    for b in BUNDLED_FEEDS {
        let mut one = read_feed(Path::new(b.file), b.feed, b.text);
        for i in one.indicators.iter() {
            let mut i = i.clone();
            i.reference.get_or_insert_with(|| format!("{} ({})", b.source, b.file));
            all.indicators.add(i);
        }
        all.diagnostics.merge(std::mem::take(&mut one.diagnostics));
    }
    all.indicators.suppress(WarningLists::bundled());
    all
}

#[cfg(test)]
mod tests;
