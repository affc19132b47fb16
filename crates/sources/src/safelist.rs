//! The safelist: what a site knows to be fine and wants left out of beacon, long-connection and
//! DNS findings. One entry per line, `#` starts a comment:
//!
//! ```text
//! 10.0.0.0/8                 # an address or prefix: excluded as either end
//! windowsupdate.com          # exactly this name
//! *.office365.com            # this name and every name under it
//! 10.1.2.3 -> 52.1.2.3       # a pair (source -> destination; addresses, prefixes or names)
//! ```

use std::path::Path;

use lasthop_normalise::Cidr;

use crate::diagnostics::{Diagnostics, Reason};

/// One side of a safelist entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    Prefix(Cidr),
    /// A name; `subdomains` for `*.name`, which also matches the name itself.
    Name {
        name: String,
        subdomains: bool,
    },
}

impl Endpoint {
    fn parse(token: &str) -> Option<Endpoint> {
        if let Some(cidr) = Cidr::parse(token) {
            return Some(Endpoint::Prefix(cidr));
        }
        let (rest, subdomains) = match token.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (token, false),
        };
        normalise_domain(rest).map(|name| Endpoint::Name { name, subdomains })
    }

    fn matches_addr(&self, addr: &[u8]) -> bool {
        matches!(self, Endpoint::Prefix(c) if c.contains(addr))
    }

    fn matches_name(&self, candidate: &str) -> bool {
        let Endpoint::Name { name, subdomains } = self else { return false };
        let candidate = candidate.trim_end_matches('.');
        if candidate.eq_ignore_ascii_case(name) {
            return true;
        }
        *subdomains
            && candidate.len() > name.len() + 1
            && candidate.as_bytes()[candidate.len() - name.len() - 1] == b'.'
            && candidate[candidate.len() - name.len()..].eq_ignore_ascii_case(name)
    }
}

/// Something a finding is about, to test against the safelist.
#[derive(Debug, Clone, Copy)]
pub enum Peer<'a> {
    Addr(&'a [u8]),
    Name(&'a str),
}

impl Peer<'_> {
    fn matched_by(&self, e: &Endpoint) -> bool {
        match self {
            Peer::Addr(a) => e.matches_addr(a),
            Peer::Name(n) => e.matches_name(n),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Safelist {
    endpoints: Vec<Endpoint>,
    pairs: Vec<(Endpoint, Endpoint)>,
}

impl Safelist {
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty() && self.pairs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.endpoints.len() + self.pairs.len()
    }

    /// Adds another list's entries.
    pub fn extend(&mut self, other: Safelist) {
        self.endpoints.extend(other.endpoints);
        self.pairs.extend(other.pairs);
    }

    pub fn load(path: &Path, diagnostics: &mut Diagnostics) -> std::io::Result<Safelist> {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut crate::reader::open_decompressed(path)?, &mut bytes)?;
        let mut list = Safelist::default();
        list.add_text(path, &String::from_utf8_lossy(&bytes), diagnostics);
        Ok(list)
    }

    pub fn add_text(&mut self, path: &Path, text: &str, diagnostics: &mut Diagnostics) {
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let tokens: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty() && *t != "->")
                .collect();
            let parsed: Vec<Option<Endpoint>> = tokens.iter().map(|t| Endpoint::parse(t)).collect();
            match parsed.as_slice() {
                [Some(e)] => self.endpoints.push(e.clone()),
                [Some(a), Some(b)] => self.pairs.push((a.clone(), b.clone())),
                _ => diagnostics.warn(
                    path,
                    i as u64 + 1,
                    Reason::BadValue,
                    format!(
                        "safelist entry is not an address, prefix, name or pair: {:?}",
                        crate::zeek_tsv::short(line)
                    ),
                ),
            }
        }
    }

    /// Whether either end alone, or the pair, is safelisted.
    pub fn excludes(&self, source: Peer<'_>, destination: Peer<'_>) -> bool {
        self.endpoints.iter().any(|e| source.matched_by(e) || destination.matched_by(e))
            || self.pairs.iter().any(|(a, b)| source.matched_by(a) && destination.matched_by(b))
    }

    /// Whether one endpoint is safelisted on its own.
    pub fn excludes_one(&self, peer: Peer<'_>) -> bool {
        self.endpoints.iter().any(|e| peer.matched_by(e))
    }
}

/// A lower-case domain without a trailing dot, or `None` when the text is not a host name.
fn normalise_domain(token: &str) -> Option<String> {
    let d = token.trim_end_matches('.').to_ascii_lowercase();
    let valid = d.contains('.')
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_normalise::parse_ip;

    fn list(text: &str) -> (Safelist, Diagnostics) {
        let mut d = Diagnostics::default();
        let mut s = Safelist::default();
        s.add_text(Path::new("safe.txt"), text, &mut d);
        (s, d)
    }

    #[test]
    fn entries_of_every_kind() {
        let (s, d) = list(
            "# site safelist\n10.9.0.0/16\nupdates.example.com\n*.office365.com  # wildcard\n\
             10.1.2.3 -> 52.1.2.3\n10.1.2.4 cdn.example.net\nnot a valid entry at all\n",
        );
        assert_eq!(s.len(), 5);
        assert_eq!(d.samples.len(), 1);
        assert!(d.samples[0].to_string().contains("safe.txt:7"), "{:?}", d.samples);
        let ip = |t| parse_ip(t).unwrap();
        let (a, b) = (ip("10.1.2.3"), ip("52.1.2.3"));
        assert!(s.excludes(Peer::Addr(&a), Peer::Addr(&b)));
        assert!(!s.excludes(Peer::Addr(&b), Peer::Addr(&a)), "pairs have a direction");
        assert!(s.excludes(Peer::Addr(&ip("10.9.3.3")), Peer::Addr(&b)));
        assert!(s.excludes_one(Peer::Name("office365.com")));
        assert!(s.excludes_one(Peer::Name("outlook.OFFICE365.com.")));
        assert!(!s.excludes_one(Peer::Name("evil-office365.com")));
        assert!(s.excludes_one(Peer::Name("updates.example.com")));
        assert!(!s.excludes_one(Peer::Name("x.updates.example.com")), "no wildcard, no subdomains");
        assert!(s.excludes(Peer::Addr(&ip("10.1.2.4")), Peer::Name("cdn.example.net")));
    }
}
