//! Sigma rules compiled to DataFusion predicates: each rule becomes one SQL boolean expression over
//! the columns of the table its logsource routes to, which DataFusion evaluates a whole Arrow
//! batch at a time.
//!
//! Parsing is rsigma-parser's (0.22). Semantics follow the Sigma specification: strings match
//! case-insensitively and whole-value unless a modifier says otherwise; `*` and `?` are wildcards
//! (`\` escapes them); a list of values is OR, `|all` makes it AND; `contains`, `startswith`,
//! `endswith`, `re` (case-sensitive, Rust regex syntax), `cidr`, `cased`, `exists`, `gt`/`gte`/
//! `lt`/`lte` and `neq` are compiled; text matches its logged form or its decoded form
//! (`sigma_decode()`: percent-decoding twice, HTML entities, Log4Shell lookup obfuscation); field-less keywords search the raw record (`raw` in `web`,
//! the URI, Host and user agent in `proxy`). The condition grammar is compiled in full: `and`,
//! `or`, `not`, parentheses, `1 of`/`all of`/`N of` over `them` or wildcard selection names.
//! Modifiers not compiled yet (base64, base64offset, utf16*, wide, windash, expand, fieldref) and
//! fields the routed table does not have make a rule *unsupported*, reported with its id and the
//! reason, never dropped silently (`lasthop rules check DIR`).
//!
//! Routing and field mapping (Sigma name → SQL over the table):
//!
//! | logsource | table | fields |
//! |---|---|---|
//! | `category: webserver` | `web` | `c-ip`, `cs-method`, `cs-uri-stem`, `cs-uri-query`, `sc-status`, `cs-user-agent`, `cs-referer`, `cs-host`, `cs-username`, `cs-version`, `sc-bytes`, `cs-bytes`, `time-taken`, `s-ip`, `s-port` as the columns of the same name with `_`; `cs-uri` is stem + `?` + query |
//! | `category: proxy` | `http` (Zeek) | `c-uri` = `uri`, `c-uri-stem`/`cs-uri-stem` = path, `c-uri-query` = query, `c-uri-extension` = extension of the path, `c-useragent` = `user_agent`, `cs-host`/`r-dns` = `host`, `cs-method` = `method`, `sc-status` = `status_code`, `cs-referrer` = `referrer`, `c-ip` = `src`, `dst_ip` = `dst`, `cs-uri` = Host + URI |

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

use rsigma_parser::value::{SigmaString, SigmaValue, SpecialChar, StringPart};
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaRule,
};

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub id: String,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
    pub description: String,
    /// The table it runs on (`web` or `http`).
    pub table: &'static str,
    /// The SQL predicate.
    pub predicate: String,
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
    pub rules: Vec<CompiledRule>,
    pub rejected: Vec<Rejected>,
    /// Rules for log sources lasthop has no table for (Windows, Linux …): not errors, counted.
    pub other_logsources: usize,
}

/// The SigmaHQ webserver and proxy rules lasthop ships (`data/sigma/`, DRL 1.1), one rule per
/// document separated by `\n---\n`, each preceded by a `# origin:` comment.
const BUNDLED: &str = include_str!("../data/sigma/webserver_proxy_rules.yml");

impl RuleSet {
    pub fn bundled() -> RuleSet {
        let mut set = RuleSet::default();
        for doc in BUNDLED.split("\n---\n") {
            let origin = doc
                .lines()
                .find_map(|l| l.strip_prefix("# origin: "))
                .unwrap_or("bundled")
                .to_string();
            set.add_yaml(&origin, doc);
        }
        set
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

    /// Parses one file's text and compiles its rules.
    pub fn add_yaml(&mut self, origin: &str, text: &str) {
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
            match route(rule) {
                None => self.other_logsources += 1,
                Some(table) => match compile(rule, table) {
                    Ok(predicate) => self.rules.push(CompiledRule {
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
                        predicate,
                        origin: origin.to_string(),
                    }),
                    Err(reason) => self.reject(origin, Some(rule), reason),
                },
            }
        }
    }

    fn reject(&mut self, origin: &str, rule: Option<&SigmaRule>, reason: String) {
        self.rejected.push(Rejected {
            id: rule.and_then(|r| r.id.clone()).unwrap_or_default(),
            title: rule.map(|r| r.title.clone()).unwrap_or_default(),
            origin: origin.to_string(),
            reason,
        });
    }
}

/// A table rules can run on, with its field mapping.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    /// Sigma field (lower-case) → SQL expression and whether it is text.
    fields: &'static [(&'static str, &'static str, Kind)],
    /// What field-less keywords search.
    keywords: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Address,
}

const WEB: Table = Table {
    name: "web",
    fields: &[
        ("c-ip", "c_ip", Kind::Address),
        ("s-ip", "s_ip", Kind::Address),
        ("cs-method", "cs_method", Kind::Text),
        ("cs-uri-stem", "cs_uri_stem", Kind::Text),
        ("cs-uri-query", "cs_uri_query", Kind::Text),
        (
            "cs-uri",
            "concat(cs_uri_stem, CASE WHEN cs_uri_query IS NULL THEN '' ELSE concat('?', cs_uri_query) END)",
            Kind::Text,
        ),
        ("sc-status", "sc_status", Kind::Number),
        ("sc-bytes", "sc_bytes", Kind::Number),
        ("cs-bytes", "cs_bytes", Kind::Number),
        ("time-taken", "time_taken", Kind::Number),
        ("cs-user-agent", "cs_user_agent", Kind::Text),
        ("cs-referer", "cs_referer", Kind::Text),
        ("cs-referrer", "cs_referer", Kind::Text),
        ("cs-host", "cs_host", Kind::Text),
        ("cs-username", "cs_username", Kind::Text),
        ("cs-version", "cs_version", Kind::Text),
        ("s-port", "s_port", Kind::Number),
    ],
    keywords: "raw",
};

const PROXY: Table = Table {
    name: "http",
    fields: &[
        ("c-ip", "src", Kind::Address),
        ("dst_ip", "dst", Kind::Address),
        ("c-uri", "uri", Kind::Text),
        ("cs-uri", "concat(host, uri)", Kind::Text),
        ("c-uri-stem", "split_part(uri, '?', 1)", Kind::Text),
        ("cs-uri-stem", "split_part(uri, '?', 1)", Kind::Text),
        ("c-uri-query", "split_part(uri, '?', 2)", Kind::Text),
        (
            "c-uri-extension",
            "regexp_replace(split_part(uri, '?', 1), '^.*?(\\.([^./]*))?$', '\\2')",
            Kind::Text,
        ),
        ("c-useragent", "user_agent", Kind::Text),
        ("cs-host", "host", Kind::Text),
        ("r-dns", "host", Kind::Text),
        ("cs-method", "method", Kind::Text),
        ("sc-status", "status_code", Kind::Number),
        ("cs-referrer", "referrer", Kind::Text),
        ("cs-referer", "referrer", Kind::Text),
    ],
    keywords: "concat_ws(' ', method, host, uri, user_agent, referrer)",
};

/// The table a rule's logsource names, if lasthop has it.
fn route(rule: &SigmaRule) -> Option<Table> {
    match rule.logsource.category.as_deref() {
        Some("webserver") => Some(WEB),
        Some("proxy") => Some(PROXY),
        _ => None,
    }
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A Sigma string as a SQL LIKE pattern (escape `\`), with `*`/`?` as `%`/`_`.
fn like_pattern(s: &SigmaString, lower: bool) -> String {
    let mut out = String::new();
    for part in &s.parts {
        match part {
            StringPart::Plain(p) => {
                let p = if lower { p.to_lowercase() } else { p.clone() };
                for ch in p.chars() {
                    if matches!(ch, '%' | '_' | '\\') {
                        out.push('\\');
                    }
                    out.push(ch);
                }
            }
            StringPart::Special(SpecialChar::WildcardMulti) => out.push('%'),
            StringPart::Special(SpecialChar::WildcardSingle) => out.push('_'),
        }
    }
    out
}

fn plain_text(s: &SigmaString) -> String {
    s.parts
        .iter()
        .map(|p| match p {
            StringPart::Plain(t) => t.clone(),
            StringPart::Special(SpecialChar::WildcardMulti) => "*".into(),
            StringPart::Special(SpecialChar::WildcardSingle) => "?".into(),
        })
        .collect()
}

/// One detection item (a field with modifiers and values) as SQL.
fn item_sql(item: &DetectionItem, table: Table) -> Result<String, String> {
    let mods = &item.field.modifiers;
    for m in mods {
        if !matches!(
            m,
            Modifier::Contains
                | Modifier::StartsWith
                | Modifier::EndsWith
                | Modifier::All
                | Modifier::Re
                | Modifier::Cidr
                | Modifier::Cased
                | Modifier::Exists
                | Modifier::Gt
                | Modifier::Gte
                | Modifier::Lt
                | Modifier::Lte
                | Modifier::Neq
        ) {
            return Err(format!("modifier {m:?} is not compiled yet"));
        }
    }
    let (expr, kind) = match &item.field.name {
        None => (table.keywords.to_string(), Kind::Text),
        Some(name) => {
            let lower = name.to_ascii_lowercase();
            match table.fields.iter().find(|(f, _, _)| *f == lower) {
                Some((_, e, k)) => (e.to_string(), *k),
                None => return Err(format!("field {name:?} has no column in `{}`", table.name)),
            }
        }
    };
    let has = |m: Modifier| mods.contains(&m);
    if has(Modifier::Exists) {
        let want = matches!(item.values.first(), Some(SigmaValue::Bool(true)) | None);
        return Ok(format!("({expr} IS {}NULL)", if want { "NOT " } else { "" }));
    }
    let keyword = item.field.name.is_none();
    let mut parts = Vec::new();
    for value in &item.values {
        let sql = match value {
            SigmaValue::Null => format!("({expr} IS NULL OR CAST({expr} AS VARCHAR) = '')"),
            SigmaValue::Integer(_) | SigmaValue::Float(_) if kind == Kind::Number => {
                let n = match value {
                    SigmaValue::Integer(i) => i.to_string(),
                    SigmaValue::Float(f) => f.to_string(),
                    _ => unreachable!(),
                };
                let op = if has(Modifier::Gt) {
                    ">"
                } else if has(Modifier::Gte) {
                    ">="
                } else if has(Modifier::Lt) {
                    "<"
                } else if has(Modifier::Lte) {
                    "<="
                } else if has(Modifier::Neq) {
                    "<>"
                } else {
                    "="
                };
                format!("({expr} {op} {n})")
            }
            SigmaValue::Bool(b) => format!("(lower(CAST({expr} AS VARCHAR)) = '{b}')"),
            other => {
                let s = match other {
                    SigmaValue::String(s) => s.clone(),
                    SigmaValue::Integer(i) => SigmaString::new(&i.to_string()),
                    SigmaValue::Float(f) => SigmaString::new(&f.to_string()),
                    _ => unreachable!(),
                };
                if has(Modifier::Cidr) {
                    if kind != Kind::Address {
                        return Err(format!("cidr on a non-address field ({expr})"));
                    }
                    format!("cidr_contains({}, {expr})", sql_string(&plain_text(&s)))
                } else if matches!(kind, Kind::Address) {
                    format!("(ip_text({expr}) LIKE {})", sql_string(&like_pattern(&s, false)))
                } else {
                    // Text is matched as logged and as decoded (percent, HTML entities, Log4Shell
                    // lookups): either form matching is a match.
                    let raw = format!("CAST({expr} AS VARCHAR)");
                    let mut targets = vec![raw.clone()];
                    if kind == Kind::Text && !has(Modifier::Neq) {
                        targets.push(format!("sigma_decode({raw})"));
                    }
                    let one = |target: &str| -> Result<String, String> {
                        if has(Modifier::Re) {
                            let pattern = s.original.clone();
                            regex::Regex::new(&pattern)
                                .map_err(|e| format!("regular expression {pattern:?}: {e}"))?;
                            return Ok(format!("regexp_like({target}, {})", sql_string(&pattern)));
                        }
                        let cased = has(Modifier::Cased);
                        let mut p = like_pattern(&s, !cased);
                        // Keywords are found anywhere in the record.
                        if has(Modifier::Contains) || keyword {
                            p = format!("%{p}%");
                        } else if has(Modifier::StartsWith) {
                            p.push('%');
                        } else if has(Modifier::EndsWith) {
                            p.insert(0, '%');
                        }
                        let target =
                            if cased { target.to_string() } else { format!("lower({target})") };
                        let op = if has(Modifier::Neq) { "NOT LIKE" } else { "LIKE" };
                        Ok(format!("({target} {op} {})", sql_string(&p)))
                    };
                    let forms: Vec<String> =
                        targets.iter().map(|t| one(t)).collect::<Result<_, _>>()?;
                    format!("({})", forms.join(" OR "))
                }
            }
        };
        parts.push(sql);
    }
    if parts.is_empty() {
        return Err("a detection item without values".into());
    }
    let joiner = if has(Modifier::All) { " AND " } else { " OR " };
    Ok(format!("({})", parts.join(joiner)))
}

fn detection_sql(d: &Detection, table: Table) -> Result<String, String> {
    match d {
        Detection::AllOf(items) => {
            let parts: Vec<String> =
                items.iter().map(|i| item_sql(i, table)).collect::<Result<_, _>>()?;
            Ok(if parts.is_empty() { "TRUE".into() } else { format!("({})", parts.join(" AND ")) })
        }
        Detection::AnyOf(subs) => {
            let parts: Vec<String> =
                subs.iter().map(|s| detection_sql(s, table)).collect::<Result<_, _>>()?;
            Ok(if parts.is_empty() { "FALSE".into() } else { format!("({})", parts.join(" OR ")) })
        }
        Detection::Keywords(values) => {
            let item = DetectionItem {
                field: rsigma_parser::FieldSpec::new(None, vec![]),
                values: values.clone(),
            };
            item_sql(&item, table)
        }
        other => {
            Err(format!("detection form {:?} is not compiled yet", std::mem::discriminant(other)))
        }
    }
}

/// Sigma's `selection_*` name wildcards.
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, suffix)) => {
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
        }
    }
}

fn condition_sql(c: &ConditionExpr, named: &HashMap<String, String>) -> Result<String, String> {
    Ok(match c {
        ConditionExpr::And(parts) => format!(
            "({})",
            parts
                .iter()
                .map(|p| condition_sql(p, named))
                .collect::<Result<Vec<_>, _>>()?
                .join(" AND ")
        ),
        ConditionExpr::Or(parts) => format!(
            "({})",
            parts
                .iter()
                .map(|p| condition_sql(p, named))
                .collect::<Result<Vec<_>, _>>()?
                .join(" OR ")
        ),
        ConditionExpr::Not(inner) => {
            format!("(NOT COALESCE({}, FALSE))", condition_sql(inner, named)?)
        }
        ConditionExpr::Identifier(name) => named
            .get(name)
            .cloned()
            .ok_or_else(|| format!("condition names {name:?}, which is not a detection"))?,
        ConditionExpr::Selector { quantifier, pattern } => {
            let mut chosen: Vec<(&String, &String)> = named
                .iter()
                .filter(|(n, _)| match pattern {
                    SelectorPattern::Them => !n.starts_with('_'),
                    SelectorPattern::Pattern(p) => name_matches(p, n),
                })
                .collect();
            chosen.sort();
            if chosen.is_empty() {
                return Err(format!("`{quantifier} of {pattern}` selects no detection"));
            }
            let exprs: Vec<String> =
                chosen.into_iter().map(|(_, e)| format!("COALESCE({e}, FALSE)")).collect();
            match quantifier {
                Quantifier::Any => format!("({})", exprs.join(" OR ")),
                Quantifier::All => format!("({})", exprs.join(" AND ")),
                Quantifier::Count(n) => {
                    let sum: Vec<String> =
                        exprs.iter().map(|e| format!("CASE WHEN {e} THEN 1 ELSE 0 END")).collect();
                    format!("(({}) >= {n})", sum.join(" + "))
                }
            }
        }
    })
}

/// The rule's detection as one SQL predicate over `table`.
pub fn compile(rule: &SigmaRule, table: Table) -> Result<String, String> {
    if rule.detection.timeframe.is_some() {
        return Err("aggregation (timeframe) rules are not compiled".into());
    }
    let mut named = HashMap::new();
    for (name, d) in &rule.detection.named {
        named.insert(name.clone(), detection_sql(d, table)?);
    }
    let conditions: Vec<String> = rule
        .detection
        .conditions
        .iter()
        .map(|c| condition_sql(c, &named))
        .collect::<Result<_, _>>()?;
    if conditions.is_empty() {
        return Err("no condition".into());
    }
    let mut out = String::new();
    let _ = write!(out, "COALESCE(({}), FALSE)", conditions.join(") OR ("));
    Ok(out)
}

/// Compiles a rule text for tests: the predicate over the table its logsource names.
pub fn compile_yaml(text: &str) -> Result<(String, &'static str), String> {
    let c = rsigma_parser::parse_sigma_yaml(text).map_err(|e| e.to_string())?;
    let rule = c.rules.first().ok_or_else(|| format!("no rule: {:?}", c.errors))?;
    let table = route(rule).ok_or("no table for this logsource")?;
    compile(rule, table).map(|p| (p, table.name))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use lasthop_normalise::LogType;

    use super::*;
    use crate::session::{SessionOptions, from_batches};

    const LOG: &str = r#"203.0.113.7 - - [03/Jun/2024:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "Mozilla/5.0"
203.0.113.8 - - [03/Jun/2024:10:00:01 +0000] "GET /a?x=${jndi:ldap://evil/a} HTTP/1.1" 404 12 "-" "curl/8.1"
10.9.8.7 - - [03/Jun/2024:10:00:02 +0000] "POST /uploads/cmd.JSP?c=whoami HTTP/1.1" 200 44 "-" "python-requests/2.31"
203.0.113.9 - - [03/Jun/2024:10:00:03 +0000] "GET /autodiscover/autodiscover.json?@x.com/mapi/nspi HTTP/1.1" 200 99 "-" "Mozilla/5.0 zgrab"
203.0.113.10 - - [03/Jun/2024:10:00:04 +0000] "GET /100%_done?a_b HTTP/1.1" 200 1 "-" "Mozilla/5.0"
203.0.113.11 - - [03/Jun/2024:10:00:05 +0000] "GET /s?q=%24%7Bjndi%3Aldap%3A%2F%2Fx%7D HTTP/1.1" 404 1 "-" "-"
203.0.113.12 - - [03/Jun/2024:10:00:06 +0000] "GET /s?q=${${lower:j}${::-n}di:ldap://x} HTTP/1.1" 404 1 "-" "-"
"#;

    async fn matches(rule: &str) -> Vec<String> {
        let (predicate, table) = compile_yaml(rule).unwrap();
        assert_eq!(table, "web");
        let mut batches = Vec::new();
        lasthop_sources::read_stream(
            Path::new("access.log"),
            Box::new(std::io::Cursor::new(LOG.as_bytes().to_vec())),
            &Default::default(),
            |_, b| {
                batches.push(b);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        let ctx = from_batches(
            vec![(LogType::Web, batches)],
            &SessionOptions { threads: 1, ..Default::default() },
        )
        .unwrap();
        let sql = format!("SELECT ip_text(c_ip) AS ip FROM web WHERE {predicate} ORDER BY ts");
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        crate::detectors::rows(&batches)
            .iter()
            .map(|r| r["ip"].as_str().unwrap().to_string())
            .collect()
    }

    fn rule(detection: &str) -> String {
        format!(
            "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  category: webserver\ndetection:\n{detection}\nlevel: high\n"
        )
    }

    #[tokio::test]
    async fn modifiers_match_as_sigma_says() {
        // contains is case-insensitive; a list is OR.
        let r = rule(
            "  sel:\n    cs-uri-stem|contains:\n      - '.jsp'\n      - autodiscover\n  condition: sel",
        );
        assert_eq!(matches(&r).await, ["10.9.8.7", "203.0.113.9"]);
        // |all makes the list AND.
        let r = rule(
            "  sel:\n    cs-uri-query|contains|all:\n      - 'autodiscover.json'\n      - '/mapi/'\n  condition: sel",
        );
        assert_eq!(matches(&r).await, Vec::<String>::new(), "the path is the stem, not the query");
        let r = rule(
            "  sel:\n    cs-uri|contains|all:\n      - 'autodiscover.json'\n      - '/mapi/'\n  condition: sel",
        );
        assert_eq!(matches(&r).await, ["203.0.113.9"]);
        // startswith / endswith, and a whole-value match with wildcards.
        assert_eq!(
            matches(&rule("  sel:\n    cs-user-agent|startswith: 'python-'\n  condition: sel"))
                .await,
            ["10.9.8.7"]
        );
        assert_eq!(
            matches(&rule("  sel:\n    cs-user-agent|endswith: 'ZGRAB'\n  condition: sel")).await,
            ["203.0.113.9"]
        );
        assert_eq!(
            matches(&rule("  sel:\n    cs-user-agent: 'curl/*'\n  condition: sel")).await,
            ["203.0.113.8"]
        );
        assert_eq!(
            matches(&rule("  sel:\n    cs-user-agent: 'curl/?.?'\n  condition: sel")).await,
            ["203.0.113.8"]
        );
        // An escaped wildcard is literal, and SQL's own % and _ are literal too.
        assert_eq!(
            matches(&rule("  sel:\n    cs-uri-stem|contains: '100%_'\n  condition: sel")).await,
            ["203.0.113.10"]
        );
        assert_eq!(
            matches(&rule("  sel:\n    cs-uri-stem|contains: 'index\\*'\n  condition: sel")).await,
            Vec::<String>::new()
        );
        // cased is case-sensitive.
        assert_eq!(
            matches(&rule("  sel:\n    cs-uri-stem|contains|cased: '.jsp'\n  condition: sel"))
                .await,
            Vec::<String>::new()
        );
        // re is a regular expression (case-sensitive unless it says otherwise).
        assert_eq!(
            matches(&rule(
                "  sel:\n    cs-uri-query|re: '\\$\\{jndi:(ldap|rmi)'\n  condition: sel"
            ))
            .await,
            ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
        );
        // cidr on the client address; numbers compare as numbers.
        assert_eq!(
            matches(&rule("  sel:\n    c-ip|cidr: '10.0.0.0/8'\n  condition: sel")).await,
            ["10.9.8.7"]
        );
        assert_eq!(
            matches(&rule("  sel:\n    sc-status: 404\n  condition: sel")).await,
            ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
        );
        assert_eq!(
            matches(&rule("  sel:\n    sc-bytes|gt: 90\n  condition: sel")).await,
            ["203.0.113.7", "203.0.113.9"]
        );
        // Keywords search the raw line.
        assert_eq!(
            matches(&rule("  keywords:\n    - '${jndi:'\n  condition: keywords")).await,
            ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
        );
        // The decoded form matches too: percent-encoded and obfuscated Log4Shell.
        assert_eq!(
            matches(&rule("  sel:\n    cs-uri-query|contains: '${jndi:ldap'\n  condition: sel"))
                .await,
            ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
        );
    }

    #[tokio::test]
    async fn conditions_compile_in_full() {
        let d = "  sel_a:\n    cs-method: POST\n  sel_b:\n    cs-user-agent|contains: python\n  filter:\n    c-ip|cidr: '10.0.0.0/8'\n";
        assert_eq!(matches(&rule(&format!("{d}  condition: sel_a and sel_b"))).await, ["10.9.8.7"]);
        assert_eq!(
            matches(&rule(&format!("{d}  condition: sel_a and not filter"))).await,
            Vec::<String>::new()
        );
        assert_eq!(matches(&rule(&format!("{d}  condition: all of sel_*"))).await, ["10.9.8.7"]);
        assert_eq!(
            matches(&rule(&format!("{d}  condition: 1 of sel_* or sel_a"))).await,
            ["10.9.8.7"]
        );
        let d2 = "  sel_a:\n    sc-status: 200\n  sel_b:\n    cs-user-agent|contains: mozilla\n";
        assert_eq!(matches(&rule(&format!("{d2}  condition: 1 of them"))).await.len(), 4);
        assert_eq!(
            matches(&rule(&format!("{d2}  condition: all of them"))).await,
            ["203.0.113.7", "203.0.113.9", "203.0.113.10"]
        );
        assert_eq!(
            matches(&rule(&format!("{d2}  condition: not (sel_a or sel_b)"))).await,
            ["203.0.113.8", "203.0.113.11", "203.0.113.12"]
        );
        // A list of mappings is OR.
        let r = rule("  sel:\n    - cs-method: POST\n    - sc-status: 404\n  condition: sel");
        assert_eq!(matches(&r).await, ["203.0.113.8", "10.9.8.7", "203.0.113.11", "203.0.113.12"]);
    }

    #[test]
    fn what_cannot_be_compiled_says_why() {
        let err = |d: &str| compile_yaml(&rule(d)).unwrap_err();
        assert!(
            err("  sel:\n    cs-uri-query|base64offset|contains: 'x'\n  condition: sel")
                .contains("Base64Offset")
        );
        assert!(err("  sel:\n    cs-cookie: 'x'\n  condition: sel").contains("cs-cookie"));
        assert!(
            err("  sel:\n    cs-uri-query|re: '(?<=a)b'\n  condition: sel")
                .contains("regular expression")
        );
        assert!(err("  sel:\n    cs-method: GET\n  condition: nothere").contains("nothere"));
    }

    #[tokio::test]
    async fn every_shipped_rule_compiles_or_is_reported_and_compiled_ones_plan() {
        let set = RuleSet::bundled();
        eprintln!(
            "shipped webserver/proxy rules: {} compiled, {} reported unsupported",
            set.rules.len(),
            set.rejected.len()
        );
        for r in &set.rejected {
            eprintln!("  {} {}: {}", r.origin, r.id, r.reason);
        }
        assert_eq!(set.rules.len() + set.rejected.len(), BUNDLED.split("\n---\n").count());
        assert!(set.rejected.iter().all(|r| !r.id.is_empty() && !r.reason.is_empty()));
        // Every compiled predicate is valid SQL over its table's schema.
        let ctx =
            from_batches(vec![], &SessionOptions { threads: 1, ..Default::default() }).unwrap();
        for r in &set.rules {
            let sql = format!("SELECT count(*) FROM {} WHERE {}", r.table, r.predicate);
            ctx.sql(&sql)
                .await
                .unwrap_or_else(|e| panic!("{} ({}): {e}\n{sql}", r.title, r.origin));
        }
    }
}
