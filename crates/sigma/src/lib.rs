//! Sigma rules compiled to columnar evaluation over Arrow batches.
//!
//! Parsing is rsigma-parser's (0.22). Each rule's detection becomes a boolean expression over
//! *atoms* — single tests of one field — interned per table, so a test shared by many rules is
//! evaluated once; the literal atoms of a field are the patterns of one Aho-Corasick automaton,
//! scanned once per value, and each rule combines its atoms' bitmaps (`matcher`).
//!
//! Semantics follow the Sigma specification: strings match case-insensitively and whole-value
//! unless a modifier says otherwise; `*` and `?` are wildcards (`\` escapes them); a list of values
//! is OR, `|all` makes it AND; `contains`, `startswith`, `endswith`, `re` (Rust regex syntax,
//! case-sensitive unless `|i`; `|m` and `|s` flags), `cidr`, `cased`, `exists`, `gt`/`gte`/`lt`/
//! `lte` and `neq` are compiled; text matches as logged or in its decoded form (percent-decoding
//! twice, HTML entities, Log4Shell lookup obfuscation: `decode`); field-less keywords search the
//! raw record (`raw` in `web`; method, Host, URI, user agent and referrer in `proxy`). The
//! condition grammar is compiled in full: `and`, `or`, `not`, parentheses, `1 of`/`all of`/
//! `N of` over `them` or wildcard selection names. Modifiers not compiled yet (base64,
//! base64offset, utf16*, wide, windash, expand, fieldref, the time parts) and fields the routed
//! table does not have make a rule *unsupported*, reported with its id and the reason, never
//! dropped silently.
//!
//! Routing and field mapping (Sigma name → table columns):
//!
//! | logsource | table | fields |
//! |---|---|---|
//! | `category: webserver` | `web` | `c-ip`, `cs-method`, `cs-uri-stem`, `cs-uri-query`, `sc-status`, `cs-user-agent`, `cs-referer`, `cs-host`, `cs-username`, `cs-version`, `sc-bytes`, `cs-bytes`, `time-taken`, `s-ip`, `s-port` as the columns of the same name with `_`; `cs-uri` and `cs-uri-query` are stem + `?` + query (SigmaHQ's rules look for paths in `cs-uri-query`) |
//! | `category: proxy` | `http` (Zeek) | `c-uri` = `uri`, `c-uri-stem`/`cs-uri-stem` = path, `c-uri-query` = query, `c-uri-extension` = extension of the path, `c-useragent` = `user_agent`, `cs-host`/`r-dns` = `host`, `cs-method` = `method`, `sc-status` = `status_code`, `cs-referrer` = `referrer`, `c-ip` = `src`, `dst_ip` = `dst`, `cs-uri` = Host + URI |

mod compile;
pub mod decode;
pub mod fuzzing;
mod matcher;
mod tables;

use std::path::Path;

pub use compile::{Atom, Expr, How, Op, Pool, REGEX_SIZE_LIMIT, Test};
pub use matcher::{MatchOptions, TableMatcher, is_rule_table, matching_rules_type, slot_text};
pub use tables::{Field, Kind, PROXY, Source, TABLES, Table, WEB, route};

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
    pub description: String,
    /// The table it runs on (`web` or `http`).
    pub table: &'static str,
    /// Its detection over the atoms of its table's pool.
    pub condition: Expr,
    /// Where it came from (file name).
    pub origin: String,
}

/// A rule that could not be compiled, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: String,
    pub title: String,
    pub origin: String,
    pub reason: String,
}

/// Compiled rules and the ones that were not.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub rejected: Vec<Rejected>,
    /// Rules for log sources lasthop has no table for (Windows, Linux …): not errors, counted.
    pub other_logsources: usize,
    pools: Vec<Pool>,
    /// What the set was built from, in order, so that another process (a cluster executor) can
    /// build the identical set: rule indexes must agree on both sides.
    sources: Vec<RuleSource>,
    /// Set by [`RuleSet::set_regex_size_limit`]; `None`: [`REGEX_SIZE_LIMIT`].
    regex_size_limit: Option<usize>,
}

/// One step in building a [`RuleSet`]: replaying the steps in order gives the same rules with
/// the same indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// The rules lasthop ships.
    Bundled,
    /// One rule file's text.
    Yaml { origin: String, text: String },
    /// The regular-expression size limit for the rules added after it (bytes).
    RegexSizeLimit(usize),
}

/// The SigmaHQ webserver and proxy rules lasthop ships (`data/`, DRL 1.1), one rule per document
/// separated by `\n---\n`, each preceded by a `# origin:` comment.
pub const BUNDLED_SIGMAHQ: &str = include_str!("../data/webserver_proxy_rules.yml");

/// lasthop's own rules (Apache-2.0), same layout: exploits of public-facing applications that
/// SigmaHQ's rules miss, and the APT40 advisory's CVEs.
pub const BUNDLED_LASTHOP: [&str; 2] =
    [include_str!("../data/lasthop_rules.yml"), include_str!("../data/lasthop_advisory_rules.yml")];

impl RuleSet {
    /// The rules lasthop ships.
    pub fn bundled() -> RuleSet {
        let mut set = RuleSet::default();
        set.add_bundled();
        set
    }

    fn add_bundled(&mut self) {
        self.sources.push(RuleSource::Bundled);
        self.compile_bundle(BUNDLED_SIGMAHQ);
        for bundle in BUNDLED_LASTHOP {
            self.compile_bundle(bundle);
        }
    }

    /// The steps this set was built from (see [`RuleSet::from_sources`]).
    pub fn sources(&self) -> &[RuleSource] {
        &self.sources
    }

    /// Replays the steps another set was built from.
    pub fn from_sources(sources: &[RuleSource]) -> RuleSet {
        let mut set = RuleSet::default();
        for source in sources {
            match source {
                RuleSource::Bundled => set.add_bundled(),
                RuleSource::Yaml { origin, text } => set.add_yaml(origin, text),
                RuleSource::RegexSizeLimit(bytes) => set.set_regex_size_limit(*bytes),
            }
        }
        set
    }

    /// Compiles the rules of a bundle file (documents separated by `\n---\n`, `# origin:` lines).
    fn compile_bundle(&mut self, bundle: &str) {
        for doc in bundle.split("\n---\n") {
            let origin = doc
                .lines()
                .find_map(|l| l.strip_prefix("# origin: "))
                .unwrap_or("bundled")
                .to_string();
            self.compile_yaml(&origin, doc);
        }
    }

    /// Adds every `.yml`/`.yaml` file under `dir`.
    pub fn add_dir(&mut self, dir: &Path) -> std::io::Result<()> {
        let mut stack = vec![dir.to_path_buf()];
        let mut files = Vec::new();
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                for e in std::fs::read_dir(&p)?.flatten() {
                    stack.push(e.path());
                }
            } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                files.push(p);
            }
        }
        files.sort();
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(text) => self.add_yaml(&f.display().to_string(), &text),
                Err(e) => self.rejected.push(Rejected {
                    id: String::new(),
                    title: String::new(),
                    origin: f.display().to_string(),
                    reason: format!("unreadable: {e}"),
                }),
            }
        }
        Ok(())
    }

    /// Sets the largest compiled program (bytes) a regular expression of the rules added from
    /// now on may have; larger ones are rejected with the reason.
    pub fn set_regex_size_limit(&mut self, bytes: usize) {
        self.sources.push(RuleSource::RegexSizeLimit(bytes));
        self.regex_size_limit = Some(bytes);
    }

    /// Parses one file's text and compiles its rules.
    pub fn add_yaml(&mut self, origin: &str, text: &str) {
        self.sources.push(RuleSource::Yaml { origin: origin.to_string(), text: text.to_string() });
        self.compile_yaml(origin, text);
    }

    fn compile_yaml(&mut self, origin: &str, text: &str) {
        let collection = match rsigma_parser::parse_sigma_yaml(text) {
            Ok(c) => c,
            Err(e) => {
                self.reject(origin, None, format!("does not parse: {e}"));
                return;
            }
        };
        for e in &collection.errors {
            self.reject(origin, None, format!("does not parse: {e}"));
        }
        for rule in &collection.rules {
            let Some(table) = route(&rule.logsource) else {
                self.other_logsources += 1;
                continue;
            };
            let pool = match self.pools.iter().position(|p| p.table.name == table.name) {
                Some(i) => &mut self.pools[i],
                None => {
                    self.pools.push(Pool::new(table));
                    self.pools.last_mut().expect("just pushed")
                }
            };
            let limit = self.regex_size_limit.unwrap_or(REGEX_SIZE_LIMIT);
            pool.regex_size_limit = limit;
            let compiled = pool.compile(rule);
            if compiled.is_ok() {
                pool.largest_regex_limit = pool.largest_regex_limit.max(limit);
            }
            match compiled {
                Ok(condition) => self.rules.push(Rule {
                    id: rule.id.clone().unwrap_or_default(),
                    title: rule.title.clone(),
                    level: rule
                        .level
                        .as_ref()
                        .map(|l| format!("{l:?}").to_lowercase())
                        .unwrap_or_else(|| "medium".into()),
                    tags: rule.tags.clone(),
                    description: rule.description.clone().unwrap_or_default(),
                    table: table.name,
                    condition,
                    origin: origin.to_string(),
                }),
                Err(reason) => self.reject(origin, Some(rule), reason),
            }
        }
    }

    fn reject(&mut self, origin: &str, rule: Option<&rsigma_parser::SigmaRule>, reason: String) {
        self.rejected.push(Rejected {
            id: rule.and_then(|r| r.id.clone()).unwrap_or_default(),
            title: rule.map(|r| r.title.clone()).unwrap_or_default(),
            origin: origin.to_string(),
            reason,
        });
    }

    /// The atoms of a table (distinct tests across its rules).
    pub fn atoms(&self, table: &str) -> &[Atom] {
        self.pools.iter().find(|p| p.table.name == table).map(|p| p.atoms.as_slice()).unwrap_or(&[])
    }
}

/// A batch's rows as JSON events with the Sigma field names of `table` (and `keywords`, the record
/// its keywords search), holding exactly the values lasthop's rules see — for other Sigma engines
/// to evaluate the same events (the differential test, the benchmark against rsigma).
pub fn json_events(table: Table, batch: &arrow_array::RecordBatch) -> Vec<serde_json::Value> {
    use arrow_array::Array;
    use serde_json::{Map, Value};
    let mut events = vec![Map::new(); batch.num_rows()];
    let fields = table.fields.iter().map(|f| (f.sigma, f.source, f.kind)).chain([(
        "keywords",
        table.keywords,
        Kind::Text,
    )]);
    for (name, source, kind) in fields {
        let values = slot_text(batch, source, kind);
        for (row, event) in events.iter_mut().enumerate() {
            if values.is_null(row) {
                continue;
            }
            let value = values.value(row);
            let json = match kind {
                Kind::Number => value
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| value.parse::<f64>().map(Value::from))
                    .unwrap_or_else(|_| Value::String(value.to_string())),
                _ => Value::String(value.to_string()),
            };
            event.insert(name.to_string(), json);
        }
    }
    events.into_iter().map(Value::Object).collect()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod source_tests {
    use super::*;

    #[test]
    fn replaying_the_sources_gives_the_same_rules_at_the_same_indexes() {
        let mut set = RuleSet::bundled();
        set.add_yaml(
            "mine.yml",
            "title: Probe\nid: 0b1c\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-query|contains: probe\n  condition: sel\nlevel: high\n",
        );
        let replayed = RuleSet::from_sources(set.sources());
        assert_eq!(set.sources().len(), 2);
        assert!(set.rules.len() > 150);
        let ids = |s: &RuleSet| s.rules.iter().map(|r| (r.id.clone(), r.table)).collect::<Vec<_>>();
        assert_eq!(ids(&replayed), ids(&set));
        assert_eq!(replayed.rules.last().map(|r| r.title.as_str()), Some("Probe"));
    }
}
