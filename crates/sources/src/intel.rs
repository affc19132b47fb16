//! Plain indicator lists: one IP address, CIDR prefix or domain per line. `#` and `;` start
//! comments (whole-line or trailing), blank lines are ignored, and the first column of a CSV line
//! is taken so that exported feeds with extra columns still load. Defanged forms (`1.2.3[.]4`,
//! `evil[.]com`, `hxxp://…`) are refanged, since threat reports publish them that way.

use std::collections::HashSet;
use std::path::Path;

use lasthop_normalise::{Cidr, parse_ip};

use crate::diagnostics::{Diagnostics, Reason};

/// Indicators ready for matching.
#[derive(Debug, Default, Clone)]
pub struct IocList {
    pub ips: HashSet<[u8; 16]>,
    pub prefixes: Vec<(Cidr, String)>,
    /// Lower-case domains without a trailing dot; a listed domain also matches its subdomains.
    pub domains: HashSet<String>,
}

impl IocList {
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.prefixes.is_empty() && self.domains.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ips.len() + self.prefixes.len() + self.domains.len()
    }

    /// Adds the indicators of a list's text; problems are reported against `path`.
    pub fn add_text(&mut self, path: &Path, text: &str, diagnostics: &mut Diagnostics) {
        for (i, line) in text.lines().enumerate() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let token = line.split([',', '\t', ' ']).find(|t| !t.trim().is_empty()).unwrap_or("");
            let token = refang(token.trim().trim_matches('"'));
            if token.is_empty() {
                continue;
            }
            if let Some(ip) = parse_ip(&token) {
                self.ips.insert(ip);
            } else if token.contains('/')
                && let Some(cidr) = Cidr::parse(&token)
            {
                self.prefixes.push((cidr, token));
            } else if let Some(domain) = normalise_domain(&token) {
                self.domains.insert(domain);
            } else {
                diagnostics.warn(
                    path,
                    i as u64 + 1,
                    Reason::BadValue,
                    format!("not an IP, prefix or domain: {:?}", crate::zeek_tsv::short(&token)),
                );
            }
        }
    }

    /// Loads a list file (plain or compressed).
    pub fn load(path: &Path, diagnostics: &mut Diagnostics) -> std::io::Result<IocList> {
        let mut text = String::new();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut crate::reader::open_decompressed(path)?, &mut bytes)?;
        text.push_str(&String::from_utf8_lossy(&bytes));
        let mut list = IocList::default();
        list.add_text(path, &text, diagnostics);
        Ok(list)
    }

    /// The indicator an address matches, as written in the list.
    pub fn match_ip(&self, addr: &[u8]) -> Option<String> {
        if let Ok(a) = <[u8; 16]>::try_from(addr)
            && self.ips.contains(&a)
        {
            return Some(lasthop_normalise::format_ip(addr));
        }
        self.prefixes.iter().find(|(c, _)| c.contains(addr)).map(|(_, text)| text.clone())
    }

    /// The listed domain a name equals or lies under.
    pub fn match_domain(&self, name: &str) -> Option<String> {
        if self.domains.is_empty() {
            return None;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = name.as_str();
        loop {
            if self.domains.contains(rest) {
                return Some(rest.to_string());
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') || self.domains.contains(parent) => {
                    rest = parent
                }
                _ => return None,
            }
        }
    }
}

fn refang(token: &str) -> String {
    let t = token.replace("[.]", ".").replace("(.)", ".").replace("[:]", ":");
    let lower = t.to_ascii_lowercase();
    for scheme in ["hxxps://", "hxxp://", "https://", "http://"] {
        if lower.starts_with(scheme) {
            // A URL indicator is matched by its host.
            let authority = t[scheme.len()..].split(['/', '?']).next().unwrap_or("");
            return match authority.rsplit_once(':') {
                Some((host, port))
                    if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    host.to_string()
                }
                _ => authority.to_string(),
            };
        }
    }
    t
}

pub(crate) fn normalise_domain(token: &str) -> Option<String> {
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

    #[test]
    fn parses_ips_prefixes_domains_comments_and_defanged_forms() {
        let mut d = Diagnostics::default();
        let mut l = IocList::default();
        let text = "# feed\n165.227.88.15\nr-1x.com  # dns c2\n10.9.0.0/16,extra,cols\n\
                    evil[.]example\nhxxp://bad.example/path\n2001:db8::1\n\n!!!\n";
        l.add_text(Path::new("f.txt"), text, &mut d);
        assert_eq!(l.ips.len(), 2);
        assert_eq!(l.prefixes.len(), 1);
        assert_eq!(l.domains.len(), 3, "{:?}", l.domains);
        assert_eq!(d.total(Reason::BadValue), 1);
        assert_eq!(d.samples[0].line, 9);
        assert_eq!(l.match_ip(&parse_ip("10.9.3.3").unwrap()).as_deref(), Some("10.9.0.0/16"));
        assert_eq!(
            l.match_ip(&parse_ip("165.227.88.15").unwrap()).as_deref(),
            Some("165.227.88.15")
        );
        assert_eq!(l.match_ip(&parse_ip("8.8.8.8").unwrap()), None);
        assert_eq!(l.match_domain("abc.dnsc.R-1X.com.").as_deref(), Some("r-1x.com"));
        assert_eq!(l.match_domain("r-1x.com").as_deref(), Some("r-1x.com"));
        assert_eq!(l.match_domain("notr-1x.com"), None);
        assert_eq!(l.match_domain("com"), None);
    }
}
