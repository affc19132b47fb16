//! A Sigma rule's detection compiled to a boolean expression over *atoms*: single tests of one
//! field (`cs-uri-query contains "${jndi:"`). Atoms are interned per table, so that a test
//! written in ten rules is evaluated once, and literal atoms become patterns of one Aho-Corasick
//! automaton per field (see `matcher`).

use std::collections::HashMap;

use lasthop_normalise::ip::Cidr;
use rsigma_parser::value::{SigmaString, SigmaValue, SpecialChar, StringPart};
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaRule,
};

use crate::tables::{Kind, Source, Table};

/// Where in the value a literal must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum How {
    Contains,
    StartsWith,
    EndsWith,
    Exact,
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One test of one field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Test {
    /// A literal; lower-cased (and matched ASCII case-insensitively) unless `cased`.
    Literal { how: How, text: String, cased: bool },
    /// A regular expression, flags included (wildcard patterns that are not plain literals, `re`).
    Regex(String),
    /// No value (Sigma's `null`).
    Null,
    /// The empty string (Sigma's `''`), which is a value: a missing field is not empty.
    EmptyString,
    /// Not null (Sigma's `exists: true`).
    Exists,
    /// A number compared with the field's numeric value (`f64` bits, for hashing).
    Compare { op: Op, bits: u64 },
    /// An address inside a network.
    Cidr(Cidr),
}

/// A test of the field in one slot of the table. `decoded`: the decoded form of the value
/// (percent, HTML entities, Log4Shell lookups) may match too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Atom {
    pub slot: usize,
    pub test: Test,
    pub decoded: bool,
}

/// A rule's condition over atom results.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Const(bool),
    Atom(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// At least this many of the expressions hold (`2 of selection_*`).
    AtLeast(usize, Vec<Expr>),
}

/// The atoms and field slots of one table, shared by all its rules.
#[derive(Debug, Clone)]
pub struct Pool {
    pub table: Table,
    /// Distinct field sources the table's rules read.
    pub slots: Vec<(Source, Kind)>,
    pub atoms: Vec<Atom>,
    index: HashMap<Atom, usize>,
    /// Largest compiled program a rule's regular expression may have (bytes).
    pub regex_size_limit: usize,
    /// The largest limit any accepted rule compiled under: what the matcher allows.
    pub largest_regex_limit: usize,
}

impl Pool {
    pub fn new(table: Table) -> Pool {
        Pool {
            table,
            slots: Vec::new(),
            atoms: Vec::new(),
            index: HashMap::new(),
            regex_size_limit: REGEX_SIZE_LIMIT,
            largest_regex_limit: REGEX_SIZE_LIMIT,
        }
    }

    fn slot(&mut self, source: Source, kind: Kind) -> usize {
        match self.slots.iter().position(|s| *s == (source, kind)) {
            Some(i) => i,
            None => {
                self.slots.push((source, kind));
                self.slots.len() - 1
            }
        }
    }

    fn atom(&mut self, atom: Atom) -> Expr {
        let next = self.atoms.len();
        let id = *self.index.entry(atom.clone()).or_insert(next);
        if id == next {
            self.atoms.push(atom);
        }
        Expr::Atom(id)
    }

    /// Compiles a rule's detection, leaving the pool as it was when the rule cannot be compiled.
    pub fn compile(&mut self, rule: &SigmaRule) -> Result<Expr, String> {
        let (slots, atoms) = (self.slots.len(), self.atoms.len());
        let result = self.compile_rule(rule);
        if result.is_err() {
            for atom in self.atoms.drain(atoms..) {
                self.index.remove(&atom);
            }
            self.slots.truncate(slots);
        }
        result
    }

    fn compile_rule(&mut self, rule: &SigmaRule) -> Result<Expr, String> {
        if rule.detection.timeframe.is_some() {
            return Err("aggregation (timeframe) rules are not compiled".into());
        }
        let mut named = HashMap::new();
        for (name, d) in &rule.detection.named {
            named.insert(name.clone(), self.detection(d)?);
        }
        let conditions: Vec<Expr> = rule
            .detection
            .conditions
            .iter()
            .map(|c| condition(c, &named))
            .collect::<Result<_, _>>()?;
        if conditions.is_empty() {
            return Err("no condition".into());
        }
        Ok(or(conditions))
    }

    fn detection(&mut self, d: &Detection) -> Result<Expr, String> {
        match d {
            Detection::AllOf(items) => {
                Ok(and(items.iter().map(|i| self.item(i)).collect::<Result<Vec<_>, _>>()?))
            }
            Detection::AnyOf(subs) => {
                Ok(or(subs.iter().map(|s| self.detection(s)).collect::<Result<Vec<_>, _>>()?))
            }
            Detection::Keywords(values) => self.item(&DetectionItem {
                field: rsigma_parser::FieldSpec::new(None, vec![]),
                values: values.clone(),
            }),
            other => Err(format!(
                "detection form {:?} is not compiled yet",
                std::mem::discriminant(other)
            )),
        }
    }

    /// One detection item (a field with modifiers and values).
    fn item(&mut self, item: &DetectionItem) -> Result<Expr, String> {
        let mods = &item.field.modifiers;
        for m in mods {
            if !matches!(
                m,
                Modifier::Contains
                    | Modifier::StartsWith
                    | Modifier::EndsWith
                    | Modifier::All
                    | Modifier::Re
                    | Modifier::IgnoreCase
                    | Modifier::Multiline
                    | Modifier::DotAll
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
        let has = |m: Modifier| mods.contains(&m);
        // One way of matching per item; the regex flags only mean something with `re`.
        let ways: Vec<&Modifier> = mods
            .iter()
            .filter(|m| {
                matches!(
                    m,
                    Modifier::Contains
                        | Modifier::StartsWith
                        | Modifier::EndsWith
                        | Modifier::Re
                        | Modifier::Cidr
                        | Modifier::Gt
                        | Modifier::Gte
                        | Modifier::Lt
                        | Modifier::Lte
                )
            })
            .collect();
        if ways.len() > 1 {
            return Err(format!("modifiers {:?} and {:?} conflict", ways[0], ways[1]));
        }
        if !has(Modifier::Re)
            && let Some(flag) = mods.iter().find(|m| {
                matches!(m, Modifier::IgnoreCase | Modifier::Multiline | Modifier::DotAll)
            })
        {
            return Err(format!("modifier {flag:?} needs `re`"));
        }
        let textual = has(Modifier::Contains)
            || has(Modifier::StartsWith)
            || has(Modifier::EndsWith)
            || has(Modifier::Re)
            || has(Modifier::Cidr);
        let table = self.table;
        let keyword = item.field.name.is_none();
        let (source, kind) = match &item.field.name {
            None => (table.keywords, Kind::Text),
            Some(name) => {
                let lower = name.to_ascii_lowercase();
                match table.fields.iter().find(|f| f.sigma == lower) {
                    Some(f) => (f.source, f.kind),
                    None => {
                        return Err(format!("field {name:?} has no column in `{}`", table.name));
                    }
                }
            }
        };
        let slot = self.slot(source, kind);
        let atom = |test: Test, decoded: bool| Atom { slot, test, decoded };
        if has(Modifier::Exists) {
            let want = matches!(item.values.first(), Some(SigmaValue::Bool(true)) | None);
            let exists = self.atom(atom(Test::Exists, false));
            return Ok(if want { exists } else { Expr::Not(Box::new(exists)) });
        }
        let mut parts = Vec::new();
        for value in &item.values {
            let test = match value {
                SigmaValue::Null => Test::Null,
                // A number is compared as a number unless a modifier makes it text
                // (`sc-status|startswith: 5`).
                SigmaValue::Integer(_) | SigmaValue::Float(_)
                    if (kind == Kind::Number && !textual) || comparison(mods).is_some() =>
                {
                    let n = match value {
                        SigmaValue::Integer(i) => *i as f64,
                        SigmaValue::Float(f) => *f,
                        _ => unreachable!(),
                    };
                    Test::Compare { op: comparison(mods).unwrap_or(Op::Eq), bits: n.to_bits() }
                }
                SigmaValue::Bool(b) => {
                    Test::Literal { how: How::Exact, text: b.to_string(), cased: false }
                }
                other => {
                    let s = match other {
                        SigmaValue::String(s) => s.clone(),
                        SigmaValue::Integer(i) => SigmaString::new(&i.to_string()),
                        SigmaValue::Float(f) => SigmaString::new(&f.to_string()),
                        _ => unreachable!(),
                    };
                    if let Some(op) = comparison(mods) {
                        let n: f64 = plain_text(&s)
                            .trim()
                            .parse()
                            .map_err(|_| format!("{:?} is not a number", s.original))?;
                        Test::Compare { op, bits: n.to_bits() }
                    } else if has(Modifier::Cidr) {
                        if kind != Kind::Address {
                            return Err(format!("cidr on a non-address field ({source:?})"));
                        }
                        let text = plain_text(&s);
                        Test::Cidr(Cidr::parse(&text).ok_or(format!("{text:?} is not a network"))?)
                    } else if has(Modifier::Re) {
                        regex_test(&s.original, mods, self.regex_size_limit)?
                    } else {
                        let how = if has(Modifier::Contains) || keyword {
                            How::Contains
                        } else if has(Modifier::StartsWith) {
                            How::StartsWith
                        } else if has(Modifier::EndsWith) {
                            How::EndsWith
                        } else {
                            How::Exact
                        };
                        let test = pattern_test(&s, how, has(Modifier::Cased));
                        if let Test::Regex(re) = &test {
                            // Wildcards become a regular expression: bounded like a written one.
                            fits(re, self.regex_size_limit).map_err(|e| {
                                format!("wildcard value {:?}: {e}", clip(&s.original))
                            })?;
                        }
                        test
                    }
                }
            };
            // Text is matched as logged and as decoded; a negated test must hold of what was
            // logged, so it is not widened by decoding.
            let decoded = kind == Kind::Text
                && !has(Modifier::Neq)
                && matches!(test, Test::Literal { .. } | Test::Regex(_));
            let expr = self.atom(atom(test, decoded));
            parts.push(if has(Modifier::Neq) {
                let exists = self.atom(atom(Test::Exists, false));
                and(vec![exists, Expr::Not(Box::new(expr))])
            } else {
                expr
            });
        }
        if parts.is_empty() {
            return Err("a detection item without values".into());
        }
        Ok(if has(Modifier::All) { and(parts) } else { or(parts) })
    }
}

fn comparison(mods: &[Modifier]) -> Option<Op> {
    mods.iter().find_map(|m| match m {
        Modifier::Gt => Some(Op::Gt),
        Modifier::Gte => Some(Op::Gte),
        Modifier::Lt => Some(Op::Lt),
        Modifier::Lte => Some(Op::Lte),
        _ => None,
    })
}

/// Largest compiled regular expression accepted from a rule by default (bytes of program;
/// `--max-regex-bytes` changes it).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Whether a regular expression compiles within `limit` bytes of program.
pub(crate) fn fits(pattern: &str, limit: usize) -> Result<(), String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(limit)
        .build()
        .map(|_| ())
        .map_err(|e| clip(&e.to_string()))
}

fn regex_test(pattern: &str, mods: &[Modifier], limit: usize) -> Result<Test, String> {
    let mut flags = String::new();
    for (m, f) in [(Modifier::IgnoreCase, 'i'), (Modifier::Multiline, 'm'), (Modifier::DotAll, 's')]
    {
        if mods.contains(&m) {
            flags.push(f);
        }
    }
    let full = if flags.is_empty() { pattern.to_string() } else { format!("(?{flags}){pattern}") };
    fits(&full, limit).map_err(|e| format!("regular expression {:?}: {e}", clip(pattern)))?;
    Ok(Test::Regex(full))
}

/// At most a few hundred characters of a pattern or of the regex engine's message (which quotes
/// the pattern), so that a rule's megabyte of regex does not become a megabyte of error.
fn clip(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
        None => text.to_string(),
    }
}

/// A Sigma string (with `*`/`?` wildcards) placed by `how`: a literal when no wildcard is left
/// inside it once the ends are trimmed, else an anchored regular expression.
fn pattern_test(s: &SigmaString, how: How, cased: bool) -> Test {
    let mut parts: Vec<&StringPart> = s.parts.iter().collect();
    let (mut anchored_start, mut anchored_end) = match how {
        How::Contains => (false, false),
        How::StartsWith => (true, false),
        How::EndsWith => (false, true),
        How::Exact => (true, true),
    };
    while let Some(StringPart::Special(SpecialChar::WildcardMulti)) = parts.first() {
        parts.remove(0);
        anchored_start = false;
    }
    while let Some(StringPart::Special(SpecialChar::WildcardMulti)) = parts.last() {
        parts.pop();
        anchored_end = false;
    }
    let plain = parts.iter().all(|p| matches!(p, StringPart::Plain(_)));
    // Non-ASCII letters need Unicode case folding, which the regex engine does.
    let text: String = parts
        .iter()
        .map(|p| match p {
            StringPart::Plain(t) => t.as_str(),
            _ => "",
        })
        .collect();
    if plain && (cased || text.is_ascii()) {
        if text.is_empty() {
            return if anchored_start && anchored_end { Test::EmptyString } else { Test::Exists };
        }
        let how = match (anchored_start, anchored_end) {
            (true, true) => How::Exact,
            (true, false) => How::StartsWith,
            (false, true) => How::EndsWith,
            (false, false) => How::Contains,
        };
        let text = if cased { text } else { text.to_ascii_lowercase() };
        return Test::Literal { how, text, cased };
    }
    let mut re = String::from(if cased { "(?s)" } else { "(?si)" });
    if anchored_start {
        re.push('^');
    }
    for p in parts {
        match p {
            StringPart::Plain(t) => re.push_str(&regex::escape(t)),
            StringPart::Special(SpecialChar::WildcardMulti) => re.push_str(".*"),
            StringPart::Special(SpecialChar::WildcardSingle) => re.push('.'),
        }
    }
    if anchored_end {
        re.push('$');
    }
    Test::Regex(re)
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

fn and(mut parts: Vec<Expr>) -> Expr {
    match parts.len() {
        0 => Expr::Const(true),
        1 => parts.pop().unwrap_or(Expr::Const(true)),
        _ => Expr::And(parts),
    }
}

fn or(mut parts: Vec<Expr>) -> Expr {
    match parts.len() {
        0 => Expr::Const(false),
        1 => parts.pop().unwrap_or(Expr::Const(false)),
        _ => Expr::Or(parts),
    }
}

/// Sigma's selection-name wildcards (`selection_*`, `sel*_web_*`).
fn name_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else { return rest.is_empty() };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn condition(c: &ConditionExpr, named: &HashMap<String, Expr>) -> Result<Expr, String> {
    let all = |parts: &[ConditionExpr]| -> Result<Vec<Expr>, String> {
        parts.iter().map(|p| condition(p, named)).collect()
    };
    Ok(match c {
        ConditionExpr::And(parts) => and(all(parts)?),
        ConditionExpr::Or(parts) => or(all(parts)?),
        ConditionExpr::Not(inner) => Expr::Not(Box::new(condition(inner, named)?)),
        ConditionExpr::Identifier(name) => named
            .get(name)
            .cloned()
            .ok_or_else(|| format!("condition names {name:?}, which is not a detection"))?,
        ConditionExpr::Selector { quantifier, pattern } => {
            let mut chosen: Vec<(&String, &Expr)> = named
                .iter()
                .filter(|(n, _)| match pattern {
                    SelectorPattern::Them => !n.starts_with('_'),
                    SelectorPattern::Pattern(p) => name_matches(p, n),
                })
                .collect();
            chosen.sort_by(|a, b| a.0.cmp(b.0));
            if chosen.is_empty() {
                return Err(format!("`{quantifier} of {pattern}` selects no detection"));
            }
            let exprs: Vec<Expr> = chosen.into_iter().map(|(_, e)| e.clone()).collect();
            match quantifier {
                Quantifier::Any => or(exprs),
                Quantifier::All => and(exprs),
                Quantifier::Count(n) => Expr::AtLeast(*n as usize, exprs),
            }
        }
    })
}
