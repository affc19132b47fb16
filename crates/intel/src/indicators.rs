//! Threat-intelligence indicators, normalised from whatever feed they came in, and the index the
//! matching functions look them up in.
//!
//! Every indicator keeps the feed it came from and the context the feed gave (a
//! characterisation, a campaign, a tier) so that a match can say *why* an address is bad. A STIX
//! validity window (`valid_from`/`valid_until`) is a hard limit: outside it the indicator does not
//! match. A reported-activity window (Black Lotus Labs' "first seen"/"last seen") is softer: the
//! match stands but is flagged, because addresses of rented servers and home routers change hands.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use lasthop_normalise::{Cidr, format_ip, parse_ip};
use serde::{Deserialize, Serialize};

/// What an indicator's value is, and so which log fields it is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndicatorKind {
    /// An address: conn (either end), DNS answers.
    Ip,
    /// A prefix: as an address, by containment.
    Prefix,
    /// A domain: DNS queries, HTTP Host, TLS SNI, certificate names; also matches subdomains.
    Domain,
    /// A URL: HTTP Host plus URI (scheme, port and fragment ignored).
    Url,
    /// MD5, SHA-1 or SHA-256 of a file: Zeek files.log hashes.
    FileHash,
    /// SHA-1 or SHA-256 of a certificate: Zeek x509 `fingerprint` and ssl `cert_chain_fps`.
    CertFingerprint,
    /// A TLS client or server fingerprint (JA3, JA3S, JA4, JA4S): the ssl log's `ja3`, `ja3s`,
    /// `ja4`, `ja4s` columns, where the deployment logs them. Only from a typed feed entry: a bare
    /// 32-digit hex value is read as an MD5.
    TlsFingerprint,
    /// An SSH client or server fingerprint (HASSH, HASSHServer: the MD5 of the algorithms a side
    /// offers): the ssh log's `hassh` and `hassh_server` columns, where the HASSH package logs
    /// them. Only from a typed feed entry (MISP `hassh-md5`, `hasshserver-md5`).
    SshFingerprint,
}

impl IndicatorKind {
    pub fn name(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Prefix => "prefix",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::FileHash => "file-hash",
            IndicatorKind::CertFingerprint => "cert-fingerprint",
            IndicatorKind::TlsFingerprint => "tls-fingerprint",
            IndicatorKind::SshFingerprint => "ssh-fingerprint",
        }
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One indicator as lasthop stores it (`intel/*.jsonl` in a store holds these, one per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    pub kind: IndicatorKind,
    /// Normalised: addresses in canonical form, domains and hashes lower-case, URLs as
    /// `host/path?query` without scheme.
    pub value: String,
    /// The feed it came from (a file name, a STIX identity, "Black Lotus Labs: KV-botnet").
    pub feed: String,
    /// What the feed says about it: a characterisation, a name, labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Where to read more (a report URL, a STIX or MISP id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Validity window, microseconds since the epoch; outside it the indicator does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
    /// When the feed saw it active, microseconds since the epoch; a match outside is flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_reported: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reported: Option<i64>,
}

impl Indicator {
    pub fn new(kind: IndicatorKind, value: String, feed: &str) -> Indicator {
        Indicator {
            kind,
            value,
            feed: feed.to_string(),
            context: None,
            reference: None,
            valid_from: None,
            valid_until: None,
            first_reported: None,
            last_reported: None,
        }
    }

    /// Reads one value of any kind as a feed writes it: refanged, classified and normalised.
    /// `None` when it is none of the kinds lasthop matches.
    pub fn parse(text: &str, feed: &str) -> Option<Indicator> {
        let (kind, value) = classify(text)?;
        Some(Indicator::new(kind, value, feed))
    }

    /// Whether the indicator is in force at `ts` (microseconds).
    pub fn valid_at(&self, ts: i64) -> bool {
        self.valid_from.is_none_or(|from| ts >= from)
            && self.valid_until.is_none_or(|until| ts <= until)
    }

    /// Whether `ts` lies inside the window the feed reported activity in (true when none given).
    /// A day of slack either side, since reports give dates, not times.
    pub fn reported_at(&self, ts: i64) -> bool {
        const DAY: i64 = 86_400_000_000;
        self.first_reported.is_none_or(|first| ts >= first - DAY)
            && self.last_reported.is_none_or(|last| ts <= last + DAY)
    }
}

/// Classifies and normalises a single value.
pub fn classify(text: &str) -> Option<(IndicatorKind, String)> {
    let token = refang(text.trim().trim_matches(['"', '\'', '<', '>', '(', ')', ',']));
    if token.is_empty() {
        return None;
    }
    if let Some(ip) = parse_ip(&token) {
        return Some((IndicatorKind::Ip, format_ip(&ip)));
    }
    if token.contains('/') && !token.contains("://") && Cidr::parse(&token).is_some() {
        return Some((IndicatorKind::Prefix, canonical_prefix(&token)));
    }
    if let Some(url) = normalise_url(&token) {
        return Some((IndicatorKind::Url, url));
    }
    // Lists often give a URL without its scheme (`host/path`).
    if let Some((host, _)) = token.split_once('/')
        && !token.contains("://")
        && (normalise_domain(host).is_some() || parse_ip(host).is_some())
        && let Some(url) = normalise_url(&format!("http://{token}"))
    {
        return Some((IndicatorKind::Url, url));
    }
    if let Some(hash) = normalise_hash(&token) {
        return Some((IndicatorKind::FileHash, hash));
    }
    normalise_domain(&token).map(|d| (IndicatorKind::Domain, d))
}

fn canonical_prefix(text: &str) -> String {
    match text.split_once('/') {
        Some((addr, len)) => match parse_ip(addr) {
            Some(ip) => format!("{}/{}", format_ip(&ip), len.trim()),
            None => text.to_string(),
        },
        None => text.to_string(),
    }
}

/// An address written as text (no brackets, no zone), as `std` parses it.
pub fn parse_ip_host(text: &str) -> Option<std::net::IpAddr> {
    text.parse().ok()
}

/// Undoes the defanging threat reports apply (`1.2.3[.]4`, `evil[.]com`, `hxxp://`).
pub fn refang(token: &str) -> String {
    let t = token
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("{.}", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace("[://]", "://");
    if t.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("hxxp")) {
        return format!("http{}", &t[4..]);
    }
    t
}

/// A lower-case domain without a trailing dot, or `None` when the text is not a host name.
pub fn normalise_domain(token: &str) -> Option<String> {
    let d = token.trim_end_matches('.').to_ascii_lowercase();
    let valid = d.contains('.')
        && d.len() <= 253
        && !d.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then_some(d)
}

/// A lower-case hex digest of MD5, SHA-1 or SHA-256 length.
pub fn normalise_hash(token: &str) -> Option<String> {
    let t = token.trim();
    (matches!(t.len(), 32 | 40 | 64) && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| t.to_ascii_lowercase())
}

/// A JA3/JA3S digest (32 hex digits) or a JA4/JA4S fingerprint (`t13d1516h2_8daaf6152771_…`),
/// lower-cased.
pub fn normalise_tls_fingerprint(token: &str) -> Option<String> {
    let t = token.trim().to_ascii_lowercase();
    if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(t);
    }
    let parts: Vec<&str> = t.split('_').collect();
    let ja4 = parts.len() == 3
        && (7..=12).contains(&parts[0].len())
        && parts[0].starts_with(['t', 'q', 'd'])
        && parts[0].bytes().all(|b| b.is_ascii_alphanumeric())
        && parts[1..]
            .iter()
            .all(|p| (4..=12).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit()));
    ja4.then_some(t)
}

/// `host/path?query` of an http(s) URL, lower-case host, default ports and fragment dropped.
pub fn normalise_url(token: &str) -> Option<String> {
    let lower = token.to_ascii_lowercase();
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|s| lower.starts_with(s).then(|| &token[s.len()..]))?;
    let rest = rest.split('#').next().unwrap_or("");
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.to_ascii_lowercase();
    if host.is_empty() || (normalise_domain(&host).is_none() && parse_ip(&host).is_none()) {
        return None;
    }
    let path = match path {
        "" | "/" => "",
        p if p.starts_with('?') => p,
        p => p,
    };
    Some(format!("{host}{path}"))
}

/// Why an indicator was set aside instead of matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppressed {
    pub indicator: Indicator,
    /// The warning list that names it (for example "List of known IPv4 public DNS resolvers").
    pub list: String,
}

/// The indicators of one or more feeds, indexed for matching.
#[derive(Debug, Default, Clone)]
pub struct IndicatorSet {
    indicators: Vec<Indicator>,
    by_value: HashMap<(IndicatorKind, String), Vec<u32>>,
    ips: HashMap<[u8; 16], Vec<u32>>,
    prefixes: Vec<(Cidr, u32)>,
    /// Set aside because a warning list names them as known-benign.
    pub suppressed: Vec<Suppressed>,
}

/// An indicator that matched, with what the feed says and whether the match falls in the time
/// the feed reported activity.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    pub indicator: &'a Indicator,
    pub in_reported_window: bool,
}

impl IndicatorSet {
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators.iter()
    }

    /// Counts per kind, for reporting what a feed held.
    pub fn counts(&self) -> std::collections::BTreeMap<IndicatorKind, usize> {
        let mut out = std::collections::BTreeMap::new();
        for i in &self.indicators {
            *out.entry(i.kind).or_insert(0) += 1;
        }
        out
    }

    /// Adds an indicator; an identical one (same value, feed and windows) is not added twice.
    pub fn add(&mut self, indicator: Indicator) {
        let key = (indicator.kind, indicator.value.clone());
        if let Some(existing) = self.by_value.get(&key)
            && existing.iter().any(|&i| self.indicators[i as usize] == indicator)
        {
            return;
        }
        let index = self.indicators.len() as u32;
        match indicator.kind {
            IndicatorKind::Ip => {
                if let Some(ip) = parse_ip(&indicator.value) {
                    self.ips.entry(ip).or_default().push(index);
                }
            }
            IndicatorKind::Prefix => {
                if let Some(cidr) = Cidr::parse(&indicator.value) {
                    self.prefixes.push((cidr, index));
                }
            }
            _ => {}
        }
        self.by_value.entry(key).or_default().push(index);
        self.indicators.push(indicator);
    }

    pub fn extend(&mut self, other: IndicatorSet) {
        for i in other.indicators {
            self.add(i);
        }
        self.suppressed.extend(other.suppressed);
    }

    /// Drops indicators that a warning list names as known-benign, keeping them in `suppressed`.
    pub fn suppress(&mut self, lists: &crate::feeds::WarningLists) {
        let all = std::mem::take(&mut self.indicators);
        let suppressed = std::mem::take(&mut self.suppressed);
        *self = IndicatorSet { suppressed, ..Default::default() };
        for indicator in all {
            match lists.lists_naming(&indicator).first() {
                Some(list) => {
                    self.suppressed.push(Suppressed { indicator, list: list.to_string() })
                }
                None => self.add(indicator),
            }
        }
    }

    /// Every indicator with this kind and normalised value (any validity).
    pub fn lookup(&self, kind: IndicatorKind, value: &str) -> Vec<&Indicator> {
        self.by_value
            .get(&(kind, value.to_string()))
            .map(|ids| ids.iter().map(|&i| &self.indicators[i as usize]).collect())
            .unwrap_or_default()
    }

    fn first_valid<'a>(&'a self, ids: impl IntoIterator<Item = u32>, ts: i64) -> Option<Match<'a>> {
        let mut fallback = None;
        for i in ids {
            let indicator = &self.indicators[i as usize];
            if !indicator.valid_at(ts) {
                continue;
            }
            let m = Match { indicator, in_reported_window: indicator.reported_at(ts) };
            if m.in_reported_window {
                return Some(m);
            }
            fallback.get_or_insert(m);
        }
        fallback
    }

    /// The indicator an address (16 bytes) matches at `ts`: exact addresses first, then prefixes.
    pub fn match_ip(&self, addr: &[u8], ts: i64) -> Option<Match<'_>> {
        if let Ok(a) = <[u8; 16]>::try_from(addr)
            && let Some(ids) = self.ips.get(&a)
            && let Some(m) = self.first_valid(ids.iter().copied(), ts)
        {
            return Some(m);
        }
        if self.prefixes.is_empty() {
            return None;
        }
        self.first_valid(
            self.prefixes.iter().filter(|(c, _)| c.contains(addr)).map(|(_, i)| *i),
            ts,
        )
    }

    /// The domain indicator a name equals or lies under, at `ts`.
    pub fn match_domain(&self, name: &str, ts: i64) -> Option<Match<'_>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = name.as_str();
        loop {
            if let Some(ids) = self.by_value.get(&(IndicatorKind::Domain, rest.to_string()))
                && let Some(m) = self.first_valid(ids.iter().copied(), ts)
            {
                return Some(m);
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => return None,
            }
        }
    }

    /// A URL indicator matching an HTTP request's Host and URI at `ts`: the whole URL, or the
    /// path without its query string when the indicator gives none.
    pub fn match_url(&self, host: &str, uri: &str, ts: i64) -> Option<Match<'_>> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host = match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
            _ => host.as_str(),
        };
        let uri = if uri == "/" { "" } else { uri };
        let path = uri.split('?').next().unwrap_or("");
        for candidate in [format!("{host}{uri}"), format!("{host}{path}")] {
            if let Some(ids) = self.by_value.get(&(IndicatorKind::Url, candidate))
                && let Some(m) = self.first_valid(ids.iter().copied(), ts)
            {
                return Some(m);
            }
        }
        None
    }

    /// A file-hash or certificate-fingerprint indicator equal to `digest` (any case) at `ts`.
    pub fn match_digest(&self, kind: IndicatorKind, digest: &str, ts: i64) -> Option<Match<'_>> {
        let ids = self.by_value.get(&(kind, digest.to_ascii_lowercase()))?;
        self.first_valid(ids.iter().copied(), ts)
    }
}

/// A shared, immutable set, as the detectors hold it.
pub type SharedIndicators = Arc<IndicatorSet>;

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(day: i64) -> i64 {
        day * 86_400_000_000
    }

    #[test]
    fn classifies_every_kind_and_refangs() {
        let c = |t: &str| classify(t).map(|(k, v)| (k.name(), v));
        assert_eq!(c("152.32.138[.]247"), Some(("ip", "152.32.138.247".into())));
        assert_eq!(c("2001:DB8::1"), Some(("ip", "2001:db8::1".into())));
        assert_eq!(c("10.9.0.0/16"), Some(("prefix", "10.9.0.0/16".into())));
        assert_eq!(c("Evil[.]Example."), Some(("domain", "evil.example".into())));
        assert_eq!(
            c("hxxps://Bad.example:443/a/b.php?x=1#frag"),
            Some(("url", "bad.example/a/b.php?x=1".into()))
        );
        assert_eq!(c("http://bad.example/"), Some(("url", "bad.example".into())));
        assert_eq!(
            c("2E8D758B9BCE51D25EA500D7B4CE4774"),
            Some(("file-hash", "2e8d758b9bce51d25ea500d7b4ce4774".into()))
        );
        assert_eq!(c("www.host.example/a/"), Some(("url", "www.host.example/a/".into())));
        assert_eq!(c("1.2.3"), None, "dotted digits are not a domain");
        assert_eq!(c("not a value"), None);
        assert_eq!(c("http://"), None);
    }

    #[test]
    fn tls_fingerprints_are_ja3_digests_or_ja4_strings() {
        let n = normalise_tls_fingerprint;
        assert_eq!(
            n("AE4EDC6FAF64D08308082AD26BE60767").as_deref(),
            Some("ae4edc6faf64d08308082ad26be60767")
        );
        assert_eq!(
            n("t13d1516h2_8daaf6152771_02713d6af862").as_deref(),
            Some("t13d1516h2_8daaf6152771_02713d6af862")
        );
        assert_eq!(n("t130200_1301_a56c5b993250").as_deref(), Some("t130200_1301_a56c5b993250"));
        assert_eq!(n("not_a_fingerprint"), None);
        assert_eq!(n("abc"), None);
    }

    #[test]
    fn validity_windows_are_hard_and_reported_windows_soft() {
        let mut set = IndicatorSet::default();
        let mut expired = Indicator::parse("203.0.113.9", "feed-a").unwrap();
        expired.valid_from = Some(ts(10));
        expired.valid_until = Some(ts(20));
        set.add(expired);
        let mut reported = Indicator::parse("203.0.113.0/24", "feed-b").unwrap();
        reported.first_reported = Some(ts(100));
        reported.last_reported = Some(ts(110));
        set.add(reported);
        let ip = parse_ip("203.0.113.9").unwrap();

        let m = set.match_ip(&ip, ts(15)).unwrap();
        assert_eq!(m.indicator.feed, "feed-a");
        // Outside feed-a's validity the prefix of feed-b still matches, flagged as outside the
        // time feed-b reported.
        let m = set.match_ip(&ip, ts(50)).unwrap();
        assert_eq!(m.indicator.feed, "feed-b");
        assert!(!m.in_reported_window);
        assert!(set.match_ip(&ip, ts(105)).unwrap().in_reported_window);
        assert!(set.match_ip(&parse_ip("203.0.114.1").unwrap(), ts(105)).is_none());
    }

    #[test]
    fn domains_match_subdomains_urls_match_with_and_without_query() {
        let mut set = IndicatorSet::default();
        for v in ["r-1x.com", "http://shell.example/upload/cmd.aspx", "https://q.example/a?id=7"] {
            set.add(Indicator::parse(v, "f").unwrap());
        }
        assert!(set.match_domain("abc.dnsc.R-1X.com.", 0).is_some());
        assert!(set.match_domain("notr-1x.com", 0).is_none());
        assert!(set.match_domain("com", 0).is_none());
        assert!(set.match_url("Shell.example:8080", "/upload/cmd.aspx?c=whoami", 0).is_some());
        assert!(set.match_url("shell.example", "/upload/other.aspx", 0).is_none());
        assert!(set.match_url("q.example", "/a?id=7", 0).is_some());
        assert!(set.match_url("q.example", "/a?id=8", 0).is_none());
    }

    #[test]
    fn the_same_indicator_twice_is_kept_once_but_two_feeds_are_both_kept() {
        let mut set = IndicatorSet::default();
        set.add(Indicator::parse("evil.example", "a").unwrap());
        set.add(Indicator::parse("evil.example", "a").unwrap());
        set.add(Indicator::parse("EVIL.example", "b").unwrap());
        assert_eq!(set.len(), 2);
        assert_eq!(set.lookup(IndicatorKind::Domain, "evil.example").len(), 2);
    }
}
