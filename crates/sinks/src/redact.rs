//! `--redact-internal`: findings made fit to share outside the organisation.
//!
//! A report sent to a CERT or a sharing community must not map the sender's network. Every
//! internal address (the site's `--internal` ranges) and every host name under an internal
//! domain (built-in private suffixes such as `.corp`, `.lan`, `.home.arpa`, plus the site's
//! own) is replaced by a token, `internal-host-1`, `internal-name-2`, wherever it appears: the
//! entities, the title, the explanation, the evidence figures and the sample records. The same
//! value gets the same token everywhere in one run, so the shared report still shows that two
//! findings concern one host. User names are replaced too. External addresses and names, the
//! point of sharing, stay as they are.

use std::collections::HashMap;

use lasthop_findings::Finding;
use lasthop_normalise::{Networks, parse_ip};
use serde_json::Value;

/// Suffixes no public name ends in (RFC 6761, 6762, 8375 and common private choices): names
/// under them only mean something inside one network.
pub const PRIVATE_SUFFIXES: &[&str] = &[
    "local",
    "lan",
    "internal",
    "intranet",
    "corp",
    "home",
    "home.arpa",
    "localdomain",
    "private",
    "localhost",
    "invalid",
];

/// Whether `name` is under one of the [`PRIVATE_SUFFIXES`] or one of `extra` (lower case, no
/// trailing dot).
pub fn is_private_name(name: &str, extra: &[String]) -> bool {
    let under = |suffix: &str| {
        name == suffix
            || (name.len() > suffix.len()
                && name.ends_with(suffix)
                && name.as_bytes()[name.len() - suffix.len() - 1] == b'.')
    };
    PRIVATE_SUFFIXES.iter().any(|s| under(s)) || extra.iter().any(|s| under(s))
}

/// Replaces internal addresses, names and users in findings with stable tokens.
pub struct Redactor {
    internal: Networks,
    domains: Vec<String>,
    tokens: HashMap<String, String>,
    counts: [usize; 3],
}

enum Kind {
    Host,
    Name,
    User,
}

impl Redactor {
    /// `internal_domains` adds the site's own domains (`corp.example.com`) to the private
    /// suffixes.
    pub fn new(internal: Networks, internal_domains: &[String]) -> Redactor {
        let domains: Vec<String> = internal_domains
            .iter()
            .map(|d| d.trim().trim_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        Redactor { internal, domains, tokens: HashMap::new(), counts: [0; 3] }
    }

    fn token(&mut self, value: &str, kind: Kind) -> String {
        if let Some(t) = self.tokens.get(value) {
            return t.clone();
        }
        let (i, prefix) = match kind {
            Kind::Host => (0, "internal-host"),
            Kind::Name => (1, "internal-name"),
            Kind::User => (2, "internal-user"),
        };
        self.counts[i] += 1;
        let t = format!("{prefix}-{}", self.counts[i]);
        self.tokens.insert(value.to_string(), t.clone());
        t
    }

    fn is_internal_address(&self, text: &str) -> bool {
        parse_ip(text).is_some_and(|a| self.internal.contains(&a))
    }

    fn is_internal_name(&self, text: &str) -> bool {
        let name = text.trim_end_matches('.').to_ascii_lowercase();
        name.contains(|c: char| c.is_ascii_alphabetic()) && is_private_name(&name, &self.domains)
    }

    /// The replacement for one whole value, if it is internal.
    fn replace_word(&mut self, word: &str) -> Option<String> {
        if self.is_internal_address(word) {
            return Some(self.token(word, Kind::Host));
        }
        // `10.0.0.5:443` and `[fd00::1]:443`.
        if let Some((host, port)) = word.rsplit_once(':')
            && port.bytes().all(|b| b.is_ascii_digit())
            && !port.is_empty()
        {
            let address = host.trim_start_matches('[').trim_end_matches(']');
            if self.is_internal_address(address) {
                let token = self.token(address, Kind::Host);
                return Some(format!("{}:{port}", host.replacen(address, &token, 1)));
            }
        }
        if self.is_internal_name(word) {
            return Some(self.token(&word.to_ascii_lowercase(), Kind::Name));
        }
        self.tokens.get(word).cloned()
    }

    /// Redacts free text: every word made of address and host-name characters is checked.
    pub fn text(&mut self, text: &str) -> String {
        let is_word =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '_' | '[' | ']');
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(is_word) {
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            let end = after.find(|c: char| !is_word(c)).unwrap_or(after.len());
            let word = &after[..end];
            // Sentence punctuation is not part of a name: `host.corp.` ends a sentence.
            let core = word.trim_end_matches(['.', ':', ']']).trim_start_matches('[');
            let lead = &word[..word.len() - word.trim_start_matches('[').len()];
            let tail = &word[lead.len() + core.len()..];
            match self.replace_word(core) {
                Some(r) => {
                    out.push_str(lead);
                    out.push_str(&r);
                    out.push_str(tail);
                }
                None => out.push_str(word),
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    fn value(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.value(i)),
            Value::Object(map) => map.values_mut().for_each(|i| self.value(i)),
            _ => {}
        }
    }

    /// Redacts one finding in place. Its id is kept: it is a hash, and the analyst who shared
    /// the report needs it to find the finding again.
    pub fn finding(&mut self, f: &mut Finding) {
        if let Some(user) = &f.entities.user {
            let token = self.token(user, Kind::User);
            f.entities.user = Some(token);
        }
        let e = &mut f.entities;
        for v in [&mut e.source, &mut e.destination, &mut e.domain, &mut e.indicator]
            .into_iter()
            .flatten()
        {
            *v = self.text(v);
        }
        if let Some(r) = &mut e.remote {
            r.names = r.names.iter().map(|n| self.text(n)).collect();
        }
        if let Some(h) = &mut e.host {
            // A machine's name and MAC identify it as surely as its address.
            h.address = self.text(&h.address);
            for v in [&mut h.name, &mut h.mac].into_iter().flatten() {
                let token = self.token(v, Kind::Host);
                *v = token;
            }
            h.id = self.token(&h.id, Kind::Host);
        }
        f.title = self.text(&f.title);
        f.explanation = self.text(&f.explanation);
        for v in f.evidence.figures.values_mut() {
            self.value(v);
        }
        for sample in &mut f.evidence.samples {
            for v in sample.values_mut() {
                self.value(v);
            }
        }
    }
}

/// Redacts findings for sharing (see the module documentation).
pub fn redact(findings: &mut [Finding], internal: Networks, internal_domains: &[String]) {
    let mut r = Redactor::new(internal, internal_domains);
    // Users first, so that their names are known when free text mentions them.
    for f in findings.iter() {
        if let Some(user) = &f.entities.user {
            r.token(user, Kind::User);
        }
    }
    for f in findings.iter_mut() {
        r.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_findings::Entities;
    use serde_json::json;

    #[test]
    fn internal_addresses_and_names_become_stable_tokens() {
        let mut r = Redactor::new(Networks::default(), &["corp.example.com".into()]);
        assert_eq!(
            r.text("10.1.2.3 talked to 203.0.113.9 via fs01.corp.example.com."),
            "internal-host-1 talked to 203.0.113.9 via internal-name-1."
        );
        assert_eq!(
            r.text("again 10.1.2.3:8443 and [fd00::1]:53"),
            "again internal-host-1:8443 and [internal-host-2]:53"
        );
        assert_eq!(r.text("dc1.ad.lan, printer.home.arpa"), "internal-name-2, internal-name-3");
        // Public names and names that merely contain a private word are kept.
        assert_eq!(
            r.text("evil.example.net corp.example.org localhost"),
            "evil.example.net corp.example.org internal-name-4"
        );
        assert_eq!(r.text("version 1.2.3 build"), "version 1.2.3 build");
    }

    #[test]
    fn every_field_of_a_finding_is_redacted_and_the_external_end_kept() {
        let mut f = Finding::new(
            "beacon",
            "10.0.0.7 beacons to 198.51.100.4".into(),
            0.8,
            Entities {
                source: Some("10.0.0.7".into()),
                destination: Some("198.51.100.4".into()),
                user: Some("alice".into()),
                ..Default::default()
            },
        );
        f.explanation = "Host 10.0.0.7 (ws7.corp) logged on as alice".into();
        f.evidence.figures.insert("hosts".into(), json!(["10.0.0.7", "10.0.0.8"]));
        let mut sample = serde_json::Map::new();
        sample.insert("id.orig_h".into(), json!("10.0.0.7"));
        f.evidence.samples.push(sample);
        let id = f.id.clone();
        let mut findings = [f];
        redact(&mut findings, Networks::default(), &[]);
        let f = &findings[0];
        let text = serde_json::to_string(f).unwrap();
        assert!(!text.contains("10.0.0.") && !text.contains("ws7.corp"), "{text}");
        assert!(!text.contains("alice"), "{text}");
        assert_eq!(f.entities.destination.as_deref(), Some("198.51.100.4"));
        assert_eq!(f.entities.source.as_deref(), Some("internal-host-1"));
        assert_eq!(f.title, "internal-host-1 beacons to 198.51.100.4");
        assert_eq!(f.id, id);
    }
}
