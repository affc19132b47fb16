//! MISP warning lists: values known to be benign that indicator feeds nevertheless carry
//! (resolvers, top sites, private ranges, hashes of empty files). An indicator a list names is
//! set aside rather than matched, and `lasthop intel lookup` says which list named it.
//!
//! The list types are MISP's: `cidr` (addresses and prefixes containing the indicator's
//! address), `hostname` (the domain or a parent of it), `string` (the exact value) and
//! `substring`. `regex` lists are not applied (counted when loaded).

use std::path::Path;
use std::sync::OnceLock;

use lasthop_normalise::{Cidr, parse_ip};
use serde::Deserialize;

use crate::indicators::{Indicator, IndicatorKind};

#[derive(Debug, Clone, Deserialize)]
struct WarningListFile {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    list: Vec<String>,
}

#[derive(Debug, Clone)]
enum Entries {
    Cidr(Vec<Cidr>),
    Hostname(std::collections::HashSet<String>),
    Exact(std::collections::HashSet<String>),
    Substring(Vec<String>),
}

/// One warning list.
#[derive(Debug, Clone)]
pub struct WarningList {
    pub name: String,
    entries: Entries,
}

impl WarningList {
    /// Parses a list in MISP's JSON format; `None` for a type lasthop does not apply (regex).
    pub fn from_json(text: &str) -> Result<Option<WarningList>, serde_json::Error> {
        let file: WarningListFile = serde_json::from_str(text)?;
        let lower =
            || file.list.iter().map(|v| v.trim().trim_end_matches('.').to_ascii_lowercase());
        let entries = match file.kind.as_str() {
            "cidr" => Entries::Cidr(file.list.iter().filter_map(|v| Cidr::parse(v)).collect()),
            "hostname" => Entries::Hostname(lower().collect()),
            "string" => Entries::Exact(lower().collect()),
            "substring" => Entries::Substring(lower().filter(|v| !v.is_empty()).collect()),
            _ => return Ok(None),
        };
        Ok(Some(WarningList { name: file.name, entries }))
    }

    pub fn names(&self, indicator: &Indicator) -> bool {
        let value = indicator.value.as_str();
        let host = match indicator.kind {
            IndicatorKind::Url => value.split(['/', '?']).next().unwrap_or(""),
            _ => value,
        };
        match &self.entries {
            Entries::Cidr(prefixes) => {
                let addr = match indicator.kind {
                    IndicatorKind::Prefix => value.split('/').next().and_then(parse_ip),
                    _ => parse_ip(host),
                };
                addr.is_some_and(|a| prefixes.iter().any(|p| p.contains(&a)))
            }
            Entries::Hostname(names) => {
                matches!(indicator.kind, IndicatorKind::Domain | IndicatorKind::Url) && {
                    let mut rest = host;
                    loop {
                        if names.contains(rest) {
                            break true;
                        }
                        match rest.split_once('.') {
                            Some((_, parent)) => rest = parent,
                            None => break false,
                        }
                    }
                }
            }
            Entries::Exact(values) => values.contains(value) || values.contains(host),
            Entries::Substring(parts) => parts.iter().any(|p| value.contains(p.as_str())),
        }
    }
}

/// A set of warning lists.
#[derive(Debug, Clone, Default)]
pub struct WarningLists {
    pub lists: Vec<WarningList>,
}

macro_rules! bundled_list {
    ($file:literal) => {
        include_str!(concat!("../../data/warninglists/", $file))
    };
}

/// The MISP warning lists lasthop ships (BSD-3-Clause, MISP Project; see NOTICE). Lists that
/// would hide real threats are left out on purpose: the 62,000 "public DNS resolvers" include
/// many home routers (exactly what a SoHo botnet recruits), and sinkhole addresses are worth
/// seeing because a host that reaches one is infected.
const BUNDLED: &[&str] = &[
    bundled_list!("rfc1918.json"),
    bundled_list!("rfc5735.json"),
    bundled_list!("rfc6598.json"),
    bundled_list!("rfc3849.json"),
    bundled_list!("rfc6761.json"),
    bundled_list!("multicast.json"),
    bundled_list!("ipv6-linklocal.json"),
    bundled_list!("empty-hashes.json"),
    bundled_list!("common-ioc-false-positive.json"),
    bundled_list!("security-provider-blogpost.json"),
    bundled_list!("whats-my-ip.json"),
    bundled_list!("cisco_top1000.json"),
    bundled_list!("microsoft.json"),
    bundled_list!("google.json"),
];

impl WarningLists {
    pub fn bundled() -> &'static WarningLists {
        static LISTS: OnceLock<WarningLists> = OnceLock::new();
        LISTS.get_or_init(|| WarningLists {
            lists: BUNDLED
                .iter()
                .filter_map(|text| WarningList::from_json(text).ok().flatten())
                .collect(),
        })
    }

    /// Loads a user's MISP warning list file and adds it.
    pub fn add_file(&mut self, path: &Path) -> std::io::Result<()> {
        let text = std::fs::read_to_string(path)?;
        match WarningList::from_json(&text) {
            Ok(Some(list)) => {
                self.lists.push(list);
                Ok(())
            }
            Ok(None) => Err(std::io::Error::other(format!(
                "{}: regex warning lists are not supported",
                path.display()
            ))),
            Err(e) => Err(std::io::Error::other(format!(
                "{}:{}: not a MISP warning list: {e}",
                path.display(),
                e.line()
            ))),
        }
    }

    /// The names of the lists that name this indicator as known-benign.
    pub fn lists_naming(&self, indicator: &Indicator) -> Vec<&str> {
        self.lists.iter().filter(|l| l.names(indicator)).map(|l| l.name.as_str()).collect()
    }
}
