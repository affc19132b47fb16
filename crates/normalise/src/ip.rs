//! IP addresses as 16 bytes: IPv6 as is, IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
//!
//! One fixed width for both families keeps a column homogeneous, sorts numerically byte by byte
//! and turns a CIDR test into a masked comparison of two 16-byte values, with no string parsing at
//! query time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Bytes per stored address.
pub const IP_WIDTH: i32 = 16;

/// Parses an address as Zeek writes it. IPv6 zone ids (`fe80::1%eth0`) are dropped: they name a
/// local interface, not a host, and cannot be compared across sensors.
pub fn parse_ip(text: &str) -> Option<[u8; 16]> {
    if let Some(v4) = parse_plain_ipv4(text.as_bytes()) {
        return Some(Ipv4Addr::from(v4).to_ipv6_mapped().octets());
    }
    let text = text.trim();
    let text = match text.find('%') {
        Some(zone) => &text[..zone],
        None => text,
    };
    let text = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.to_ipv6_mapped().octets()),
        IpAddr::V6(v6) => Some(v6.octets()),
    }
}

/// The dotted quad almost every Zeek address is, read without the general parser (which was a
/// twentieth of an import's time); anything else — spaces, a leading zero, a fifth part — is
/// left to it, so what is accepted and how does not change.
fn parse_plain_ipv4(text: &[u8]) -> Option<[u8; 4]> {
    if !(7..=15).contains(&text.len()) {
        return None;
    }
    let digit = |i: usize| text.get(i).map(|b| b.wrapping_sub(b'0')).filter(|d| *d <= 9);
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (part, octet) in octets.iter_mut().enumerate() {
        if part > 0 {
            if text[i] != b'.' {
                return None;
            }
            i += 1;
        }
        // One to three digits, no leading zero; a fourth digit is then where a dot or the end
        // must be, and is declined there.
        let first = digit(i)?;
        let mut value = u16::from(first);
        i += 1;
        if let Some(second) = digit(i) {
            if first == 0 {
                return None;
            }
            value = value * 10 + u16::from(second);
            i += 1;
            if let Some(third) = digit(i) {
                value = value * 10 + u16::from(third);
                i += 1;
            }
        }
        *octet = u8::try_from(value).ok()?;
        if i >= text.len() && part < 3 {
            return None;
        }
    }
    (i == text.len()).then_some(octets)
}

/// Converts stored bytes back to an address, showing IPv4-mapped addresses as IPv4.
pub fn to_ip_addr(bytes: &[u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(*bytes);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// Formats stored bytes as text; anything that is not 16 bytes long is shown as hex so that a
/// corrupt value is visible rather than silently wrong.
pub fn format_ip(bytes: &[u8]) -> String {
    match <[u8; 16]>::try_from(bytes) {
        Ok(b) => match to_ip_addr(&b) {
            IpAddr::V4(v4) => format_ipv4(v4.octets()),
            v6 => v6.to_string(),
        },
        Err(_) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// A dotted quad written digit by digit: output of a million pairs went through `fmt` twice a
/// pair.
fn format_ipv4(octets: [u8; 4]) -> String {
    let mut text = String::with_capacity(15);
    for (i, octet) in octets.into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// A network prefix in the 16-byte space, ready for masked comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: [u8; 16],
    mask: [u8; 16],
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128).
    pub fn parse(text: &str) -> Option<Cidr> {
        let text = text.trim();
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l.trim().parse::<u32>().ok()?)),
            None => (text, None),
        };
        let is_v4 = addr.parse::<Ipv4Addr>().is_ok();
        let bytes = parse_ip(addr)?;
        let max = if is_v4 { 32 } else { 128 };
        let len = len.unwrap_or(max);
        if len > max {
            return None;
        }
        let prefix_bits = if is_v4 { 96 + len } else { len };
        let mut mask = [0u8; 16];
        for (i, m) in mask.iter_mut().enumerate() {
            let bits = prefix_bits.saturating_sub(i as u32 * 8).min(8);
            *m = if bits == 0 { 0 } else { 0xffu8 << (8 - bits) };
        }
        let mut network = bytes;
        for (n, m) in network.iter_mut().zip(mask) {
            *n &= m;
        }
        Some(Cidr { network, mask })
    }

    /// True when `addr` (16 bytes) lies inside the prefix.
    #[inline]
    pub fn contains(&self, addr: &[u8]) -> bool {
        addr.len() == 16
            && addr
                .iter()
                .zip(self.mask.iter().zip(self.network.iter()))
                .all(|(a, (m, n))| a & m == *n)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits: u32 = self.mask.iter().map(|m| m.count_ones()).sum();
        match to_ip_addr(&self.network) {
            IpAddr::V4(v4) => write!(f, "{v4}/{}", bits.saturating_sub(96)),
            IpAddr::V6(v6) => write!(f, "{v6}/{bits}"),
        }
    }
}

/// The address ranges a site calls internal. Defaults: RFC 1918, CGNAT (100.64.0.0/10),
/// link-local, unique-local IPv6 and loopback; `--internal` adds to them (RITA's
/// `internal_subnets_add`), and a sensor on a public address is made internal that way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Networks {
    cidrs: Vec<Cidr>,
}

pub const DEFAULT_INTERNAL: [&str; 9] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
];

impl Default for Networks {
    fn default() -> Self {
        Networks { cidrs: DEFAULT_INTERNAL.iter().filter_map(|c| Cidr::parse(c)).collect() }
    }
}

impl Networks {
    /// No ranges at all (for `--no-default-internal`).
    pub fn empty() -> Networks {
        Networks { cidrs: Vec::new() }
    }

    /// Adds comma- or space-separated prefixes; the error names the one that does not parse.
    pub fn add(&mut self, list: &str) -> Result<(), String> {
        for item in list.split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
            self.cidrs
                .push(Cidr::parse(item).ok_or_else(|| format!("{item:?} is not a CIDR prefix"))?);
        }
        Ok(())
    }

    #[inline]
    pub fn contains(&self, addr: &[u8]) -> bool {
        self.cidrs.iter().any(|c| c.contains(addr))
    }

    /// The prefixes, in the order they were given.
    pub fn prefixes(&self) -> &[Cidr] {
        &self.cidrs
    }

    /// Exactly these prefixes.
    pub fn from_prefixes(cidrs: Vec<Cidr>) -> Networks {
        Networks { cidrs }
    }
}

/// Multicast, broadcast and unspecified addresses: no host to talk to.
pub fn is_special(addr: &[u8]) -> bool {
    let Ok(bytes) = <[u8; 16]>::try_from(addr) else {
        return true;
    };
    match to_ip_addr(&bytes) {
        IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_multicast() || v6.is_unspecified(),
    }
}

/// Private, loopback, link-local, CGNAT and other non-routable ranges: addresses that are "ours"
/// or nobody's, as opposed to a host on the Internet.
pub fn is_internal(addr: &[u8]) -> bool {
    let Ok(bytes) = <[u8; 16]>::try_from(addr) else {
        return false;
    };
    match to_ip_addr(&bytes) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every octet value in every position is written as the standard library writes it.
    #[test]
    fn dotted_quads_are_written_as_the_standard_library_writes_them() {
        for value in 0..=255u8 {
            for position in 0..4 {
                let mut octets = [10, 0, 200, 7];
                octets[position] = value;
                let address = std::net::Ipv4Addr::from(octets);
                let bytes = address.to_ipv6_mapped().octets();
                assert_eq!(super::format_ip(&bytes), address.to_string());
            }
        }
        let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(super::format_ip(&v6.octets()), "2001:db8::1");
    }

    /// The quick dotted-quad reader agrees with the general parser on every string it accepts,
    /// and declines the ones the general parser must judge.
    #[test]
    fn plain_ipv4_reader_agrees_with_the_standard_parser() {
        let mut cases: Vec<String> = vec![
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1.2.3.-4",
            "1.2.3.4%eth0",
            "999.1.1.1",
            "1.2.3.",
            ".1.2.3",
            "10.0.0.00",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        // Dotted strings of octet-like parts, valid and not, pseudo-randomly.
        let parts = [
            "0", "00", "01", "1", "9", "10", "25", "99", "199", "255", "256", "1000", "", "a", " 1",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let count = [4, 4, 4, 4, 3, 5][(state % 6) as usize];
            let case: Vec<&str> =
                (0..count).map(|i| parts[(state >> (i * 4 + 8)) as usize % parts.len()]).collect();
            cases.push(case.join("."));
        }
        let mut accepted = 0;
        for case in &cases {
            let general = case.parse::<Ipv4Addr>().ok().map(|a| a.octets());
            match parse_plain_ipv4(case.as_bytes()) {
                Some(quick) => {
                    assert_eq!(Some(quick), general, "{case:?}");
                    accepted += 1;
                }
                None => assert!(
                    general.is_none() || case.trim() != case,
                    "{case:?} is an address the quick reader declined"
                ),
            }
        }
        assert!(accepted > 1_000, "only {accepted} addresses among the cases");
    }

    #[test]
    fn cidrs_display_as_parsed() {
        for text in ["10.0.0.0/8", "64.225.56.201/32", "2001:db8::/32"] {
            assert_eq!(super::Cidr::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn networks_default_and_added() {
        let mut n = super::Networks::default();
        let ip = |t| super::parse_ip(t).unwrap();
        assert!(
            n.contains(&ip("10.1.2.3"))
                && n.contains(&ip("100.64.0.1"))
                && n.contains(&ip("fd00::1"))
        );
        assert!(!n.contains(&ip("64.225.56.201")));
        n.add("64.225.56.201/32, 2001:db8::/32").unwrap();
        assert!(n.contains(&ip("64.225.56.201")) && n.contains(&ip("2001:db8::5")));
        assert!(n.add("10.0.0.0/33").unwrap_err().contains("10.0.0.0/33"));
        assert!(super::is_special(&ip("224.0.0.251")) && super::is_special(&ip("255.255.255.255")));
        assert!(!super::is_special(&ip("8.8.8.8")));
    }

    use super::*;

    #[test]
    fn ipv4_round_trips_through_mapped_form() {
        let b = parse_ip("10.1.2.3").unwrap();
        assert_eq!(&b[..12], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
        assert_eq!(format_ip(&b), "10.1.2.3");
    }

    #[test]
    fn ipv6_zone_ids_and_brackets_are_dropped() {
        assert_eq!(format_ip(&parse_ip("fe80::1%eth0").unwrap()), "fe80::1");
        assert_eq!(format_ip(&parse_ip("[2001:db8::1]").unwrap()), "2001:db8::1");
        assert!(parse_ip("not-an-ip").is_none());
        assert!(parse_ip("").is_none());
    }

    #[test]
    fn cidr_matches_only_its_prefix() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(&parse_ip("10.255.0.1").unwrap()));
        assert!(!net.contains(&parse_ip("11.0.0.1").unwrap()));
        assert!(!net.contains(&parse_ip("::a00:1").unwrap()), "IPv4 prefix must not match IPv6");
        let odd = Cidr::parse("192.168.1.128/25").unwrap();
        assert!(odd.contains(&parse_ip("192.168.1.200").unwrap()));
        assert!(!odd.contains(&parse_ip("192.168.1.100").unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(&parse_ip("2001:db8:ffff::1").unwrap()));
        assert!(!v6.contains(&parse_ip("2001:db9::1").unwrap()));
        let host = Cidr::parse("8.8.8.8").unwrap();
        assert!(host.contains(&parse_ip("8.8.8.8").unwrap()));
        assert!(!host.contains(&parse_ip("8.8.8.9").unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(&parse_ip("1.2.3.4").unwrap()));
    }

    #[test]
    fn internal_ranges() {
        for a in [
            "10.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "100.64.0.1",
            "127.0.0.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_internal(&parse_ip(a).unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "73.54.23.243", "100.128.0.1", "2001:4860::8888"] {
            assert!(!is_internal(&parse_ip(a).unwrap()), "{a}");
        }
    }
}
