//! Columnar evaluation of a table's rules over an Arrow batch.
//!
//! Each field slot is read once per batch. Its literal atoms (deduplicated across all rules) are
//! the patterns of one Aho-Corasick automaton — one for case-insensitive literals, one for cased
//! ones — so each value is scanned once however many rules test it; a match's position decides
//! `contains`, `startswith`, `endswith` and whole-value atoms together. Regular-expression atoms
//! of a slot form one `RegexSet`. Each atom yields a bitmap over the batch; each rule's condition
//! combines bitmaps with bitwise operations.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, FixedSizeBinaryArray, ListArray, RecordBatch, StringArray, UInt32Array,
};
use arrow_buffer::{BooleanBuffer, Buffer, OffsetBuffer, bit_util};
use arrow_schema::{DataType, Field};
use regex::RegexSet;

use crate::compile::{Expr, How, Op, Test};
use crate::decode::decode;
use crate::tables::{Kind, Source};
use crate::{RuleSet, TABLES};

/// How matching is done.
#[derive(Debug, Clone, Copy)]
pub struct MatchOptions {
    /// Text atoms also match the decoded form of a value.
    pub decode: bool,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions { decode: true }
    }
}

/// Literal atoms of one slot behind one automaton.
struct Literals {
    automaton: AhoCorasick,
    /// Per pattern: the atoms it serves, where the match must sit, and whether the decoded form
    /// may match.
    targets: Vec<Vec<(usize, How, bool)>>,
}

impl Literals {
    fn build(entries: Vec<(String, usize, How, bool)>, case_insensitive: bool) -> Option<Literals> {
        if entries.is_empty() {
            return None;
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<(usize, How, bool)>> = Vec::new();
        for (text, atom, how, decoded) in entries {
            let i = match patterns.iter().position(|p| *p == text) {
                Some(i) => i,
                None => {
                    patterns.push(text);
                    targets.push(Vec::new());
                    patterns.len() - 1
                }
            };
            targets[i].push((atom, how, decoded));
        }
        // A full DFA: a few hundred patterns make a small one, and overlapping search (which
        // every atom needs, `jndi` inside `${jndi:`) runs several times faster on it.
        let build = |kind| {
            AhoCorasick::builder()
                .ascii_case_insensitive(case_insensitive)
                .match_kind(MatchKind::Standard)
                .kind(kind)
                .build(&patterns)
        };
        // Too many patterns for a DFA (a large user rule set): the automaton's own choice.
        let automaton = build(Some(AhoCorasickKind::DFA)).or_else(|_| build(None)).ok()?;
        Some(Literals { automaton, targets })
    }

    fn scan(&self, value: &str, is_decoded: bool, row: usize, bits: &mut [Vec<u8>]) {
        for m in self.automaton.find_overlapping_iter(value) {
            for &(atom, how, decoded) in &self.targets[m.pattern().as_usize()] {
                if is_decoded && !decoded {
                    continue;
                }
                let hit = match how {
                    How::Contains => true,
                    How::StartsWith => m.start() == 0,
                    How::EndsWith => m.end() == value.len(),
                    How::Exact => m.start() == 0 && m.end() == value.len(),
                };
                if hit {
                    bit_util::set_bit(&mut bits[atom], row);
                }
            }
        }
    }
}

/// A field's regular expressions: one set, or each on its own when the set would exceed the
/// regex engine's size limit (many large user rules) — never silently none.
enum Regexes {
    Set(RegexSet),
    /// Indexed like the patterns: a pattern that will not compile stays a hole, so that the
    /// patterns after it keep their atoms.
    Each(Vec<Option<regex::Regex>>),
}

impl Regexes {
    fn build(patterns: &[&str], limit: usize) -> Regexes {
        match regex::RegexSetBuilder::new(patterns).size_limit(REGEX_SET_SIZE_LIMIT).build() {
            Ok(set) => Regexes::Set(set),
            // Each pattern compiled alone when its rule was accepted.
            Err(_) => Regexes::Each(
                patterns
                    .iter()
                    .map(|p| regex::RegexBuilder::new(p).size_limit(limit).build().ok())
                    .collect(),
            ),
        }
    }

    fn matching(&self, value: &str) -> Vec<usize> {
        match self {
            Regexes::Set(set) => set.matches(value).into_iter().collect(),
            Regexes::Each(each) => each
                .iter()
                .enumerate()
                .filter(|(_, r)| r.as_ref().is_some_and(|r| r.is_match(value)))
                .map(|(i, _)| i)
                .collect(),
        }
    }
}

/// Compiled size of one field's regex set before its patterns run one by one.
const REGEX_SET_SIZE_LIMIT: usize = 64 << 20;

/// Everything tested on one field slot.
struct SlotMatcher {
    source: Source,
    kind: Kind,
    uncased: Option<Literals>,
    cased: Option<Literals>,
    regexes: Option<(Regexes, Vec<(usize, bool)>)>,
    /// Atoms that are not text patterns.
    others: Vec<(usize, Test)>,
    wants_decoded: bool,
}

/// A table's rules, ready to evaluate batches of it.
pub struct TableMatcher {
    pub table: &'static str,
    slots: Vec<SlotMatcher>,
    atom_count: usize,
    /// Per atom: its slot, and whether its decoded view can differ from the raw one.
    atom_views: Vec<(usize, bool)>,
    /// (index into the rule set, condition).
    rules: Vec<(usize, Expr)>,
    options: MatchOptions,
}

impl std::fmt::Debug for TableMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableMatcher")
            .field("table", &self.table)
            .field("rules", &self.rules.len())
            .field("atoms", &self.atom_count)
            .finish()
    }
}

impl TableMatcher {
    /// The matcher of `table`'s rules, or `None` when no rule runs on it.
    pub fn new(set: &RuleSet, table: &str, options: MatchOptions) -> Option<TableMatcher> {
        let pool = set.pools.iter().find(|p| p.table.name == table)?;
        let rules: Vec<(usize, Expr)> = set
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.table == table)
            .map(|(i, r)| (i, r.condition.clone()))
            .collect();
        if rules.is_empty() {
            return None;
        }
        let slots = pool
            .slots
            .iter()
            .enumerate()
            .map(|(slot, &(source, kind))| {
                let mut uncased = Vec::new();
                let mut cased = Vec::new();
                let mut regexes = Vec::new();
                let mut others = Vec::new();
                for (id, atom) in pool.atoms.iter().enumerate().filter(|(_, a)| a.slot == slot) {
                    match &atom.test {
                        Test::Literal { how, text, cased: true } => {
                            cased.push((text.clone(), id, *how, atom.decoded))
                        }
                        Test::Literal { how, text, cased: false } => {
                            uncased.push((text.clone(), id, *how, atom.decoded))
                        }
                        Test::Regex(re) => regexes.push((re.clone(), id, atom.decoded)),
                        other => others.push((id, other.clone())),
                    }
                }
                let wants_decoded =
                    options.decode && pool.atoms.iter().any(|a| a.slot == slot && a.decoded);
                let regexes = (!regexes.is_empty()).then(|| {
                    let patterns: Vec<&str> = regexes.iter().map(|(r, _, _)| r.as_str()).collect();
                    (
                        Regexes::build(&patterns, pool.largest_regex_limit),
                        regexes.iter().map(|&(_, id, d)| (id, d)).collect(),
                    )
                });
                SlotMatcher {
                    source,
                    kind,
                    uncased: Literals::build(uncased, true),
                    cased: Literals::build(cased, false),
                    regexes,
                    others,
                    wants_decoded,
                }
            })
            .collect();
        Some(TableMatcher {
            table: pool.table.name,
            slots,
            atom_count: pool.atoms.len(),
            atom_views: pool.atoms.iter().map(|a| (a.slot, a.decoded)).collect(),
            rules,
            options,
        })
    }

    /// The columns evaluation reads, each once.
    pub fn columns(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for s in &self.slots {
            for c in s.source.columns() {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// Per rule (its index in the rule set), the rows of `batch` it matches. Columns the batch
    /// lacks are null.
    ///
    /// A record matches when the rule holds of it as logged, or of its decoded view (every field
    /// that decodes replaced by its decoded form): two evaluations of each condition, so that a
    /// filter under `not` is never widened by decoding and the atoms of one selection see one
    /// view.
    pub fn evaluate(&self, batch: &RecordBatch) -> Vec<(usize, BooleanBuffer)> {
        let len = batch.num_rows();
        let empty = || vec![0u8; len.div_ceil(8)];
        let mut raw: Vec<Vec<u8>> = vec![empty(); self.atom_count];
        let mut decoded: Vec<Vec<u8>> = vec![empty(); self.atom_count];
        let decoded_rows: Vec<Option<BooleanBuffer>> = self
            .slots
            .iter()
            .map(|slot| slot.evaluate(batch, self.options, &mut raw, &mut decoded))
            .collect();
        let bitmap = |b: Vec<u8>| BooleanBuffer::new(Buffer::from_vec(b), 0, len);
        let raw: Vec<BooleanBuffer> = raw.into_iter().map(bitmap).collect();
        let raw_results = self.rules.iter().map(|(i, e)| (*i, eval(e, &raw, len)));
        if decoded_rows.iter().all(Option::is_none) {
            return raw_results.collect();
        }
        let decoded: Vec<BooleanBuffer> = decoded
            .into_iter()
            .map(bitmap)
            .zip(&raw)
            .zip(&self.atom_views)
            .map(|((dec, raw), &(slot, differs))| match (&decoded_rows[slot], differs) {
                (Some(rows), true) => &(&dec & rows) | &(raw & &!rows),
                _ => raw.clone(),
            })
            .collect();
        raw_results
            .zip(&self.rules)
            .map(|((i, on_raw), (_, e))| (i, &on_raw | &eval(e, &decoded, len)))
            .collect()
    }

    /// Per row of `batch`, the indexes of the rules it matches (usually none).
    pub fn matching_rules(&self, batch: &RecordBatch) -> ListArray {
        let len = batch.num_rows();
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (rule, rows) in self.evaluate(batch) {
            pairs.extend(rows.set_indices().map(|row| (row as u32, rule as u32)));
        }
        pairs.sort_unstable();
        let mut offsets = Vec::with_capacity(len + 1);
        offsets.push(0i32);
        let mut at = 0;
        for row in 0..len as u32 {
            while at < pairs.len() && pairs[at].0 == row {
                at += 1;
            }
            offsets.push(at as i32);
        }
        let values = UInt32Array::from_iter_values(pairs.into_iter().map(|(_, rule)| rule));
        ListArray::new(
            Arc::new(Field::new_list_field(DataType::UInt32, false)),
            OffsetBuffer::new(offsets.into()),
            Arc::new(values),
            None,
        )
    }
}

/// The return type of a per-row rule list.
pub fn matching_rules_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::UInt32, false)))
}

impl SlotMatcher {
    fn has_text_atoms(&self) -> bool {
        self.uncased.is_some() || self.cased.is_some() || self.regexes.is_some()
    }

    /// Sets the raw bits of the slot's atoms, and the decoded bits of rows whose value decodes;
    /// returns those rows (none: `None`).
    fn evaluate(
        &self,
        batch: &RecordBatch,
        options: MatchOptions,
        bits: &mut [Vec<u8>],
        decoded_bits: &mut [Vec<u8>],
    ) -> Option<BooleanBuffer> {
        let len = batch.num_rows();
        let mut decoded_rows: Option<Vec<u8>> = None;
        let text = (self.has_text_atoms()
            || self.others.iter().any(|(_, t)| matches!(t, Test::Null | Test::EmptyString)))
        .then(|| slot_text(batch, self.source, self.kind));
        if let Some(text) = text.as_ref().filter(|_| self.has_text_atoms()) {
            for row in 0..len {
                if text.is_null(row) {
                    continue;
                }
                let value = text.value(row);
                self.scan(value, false, row, bits);
                if let Some(decoded) =
                    (self.wants_decoded && options.decode).then(|| decode(value)).flatten()
                {
                    self.scan(&decoded, true, row, decoded_bits);
                    let rows = decoded_rows.get_or_insert_with(|| vec![0u8; len.div_ceil(8)]);
                    bit_util::set_bit(rows, row);
                }
            }
        }
        for (atom, test) in &self.others {
            let set = &mut bits[*atom];
            match test {
                Test::Null | Test::EmptyString => {
                    if let Some(text) = &text {
                        let null = matches!(test, Test::Null);
                        for row in 0..len {
                            let hit = if text.is_null(row) {
                                null
                            } else {
                                !null && text.value(row).is_empty()
                            };
                            if hit {
                                bit_util::set_bit(set, row);
                            }
                        }
                    }
                }
                Test::Exists => {
                    let column = slot_column(batch, self.source);
                    for row in 0..len {
                        if column.as_ref().is_some_and(|c| c.is_valid(row)) {
                            bit_util::set_bit(set, row);
                        }
                    }
                }
                Test::Compare { op, bits: b } => {
                    let want = f64::from_bits(*b);
                    let Some(column) = slot_column(batch, self.source) else { continue };
                    let Ok(numbers) = arrow_cast::cast(&column, &DataType::Float64) else {
                        continue;
                    };
                    let numbers = numbers.as_primitive::<Float64Type>();
                    for row in 0..len {
                        if numbers.is_null(row) {
                            continue;
                        }
                        let v = numbers.value(row);
                        let hit = match op {
                            Op::Eq => v == want,
                            Op::Gt => v > want,
                            Op::Gte => v >= want,
                            Op::Lt => v < want,
                            Op::Lte => v <= want,
                        };
                        if hit {
                            bit_util::set_bit(set, row);
                        }
                    }
                }
                Test::Cidr(network) => {
                    let Some(column) = slot_column(batch, self.source) else { continue };
                    let Some(addresses) = column.as_any().downcast_ref::<FixedSizeBinaryArray>()
                    else {
                        continue;
                    };
                    for row in 0..len {
                        if addresses.is_valid(row) && network.contains(addresses.value(row)) {
                            bit_util::set_bit(set, row);
                        }
                    }
                }
                Test::Literal { .. } | Test::Regex(_) => {}
            }
        }
        decoded_rows.map(|rows| BooleanBuffer::new(Buffer::from_vec(rows), 0, len))
    }

    fn scan(&self, value: &str, is_decoded: bool, row: usize, bits: &mut [Vec<u8>]) {
        if let Some(l) = &self.uncased {
            l.scan(value, is_decoded, row, bits);
        }
        if let Some(l) = &self.cased {
            l.scan(value, is_decoded, row, bits);
        }
        if let Some((set, atoms)) = &self.regexes {
            for i in set.matching(value) {
                let (atom, decoded) = atoms[i];
                if !is_decoded || decoded {
                    bit_util::set_bit(&mut bits[atom], row);
                }
            }
        }
    }
}

/// A column of the batch by name.
fn column(batch: &RecordBatch, name: &str) -> Option<ArrayRef> {
    batch.column_by_name(name).cloned()
}

/// The slot's single column, for tests that read values rather than text.
fn slot_column(batch: &RecordBatch, source: Source) -> Option<ArrayRef> {
    match source {
        Source::Column(c) => column(batch, c),
        Source::Scaled(c, factor) => scaled(batch, c, factor).map(|a| Arc::new(a) as ArrayRef),
        _ => Some(Arc::new(slot_text(batch, source, Kind::Text))),
    }
}

/// A number column times `factor`.
fn scaled(batch: &RecordBatch, name: &str, factor: u32) -> Option<arrow_array::Float64Array> {
    let numbers = arrow_cast::cast(&column(batch, name)?, &DataType::Float64).ok()?;
    Some(numbers.as_primitive::<Float64Type>().unary(|v| v * factor as f64))
}

/// A column as text: strings as they are, addresses formatted, numbers printed.
fn column_text(batch: &RecordBatch, name: &str, kind: Kind) -> StringArray {
    let len = batch.num_rows();
    let Some(array) = column(batch, name) else {
        return StringArray::new_null(len);
    };
    if let Some(addresses) =
        array.as_any().downcast_ref::<FixedSizeBinaryArray>().filter(|_| kind == Kind::Address)
    {
        return addresses.iter().map(|a| a.map(lasthop_normalise::ip::format_ip)).collect();
    }
    match arrow_cast::cast(&array, &DataType::Utf8) {
        Ok(text) => text.as_string::<i32>().clone(),
        Err(_) => StringArray::new_null(len),
    }
}

/// The text of a field over the batch, as the rules see it (also for tests and tools that want
/// to show or export the same values).
pub fn slot_text(batch: &RecordBatch, source: Source, kind: Kind) -> StringArray {
    let len = batch.num_rows();
    let derive = |name: &str, f: &dyn Fn(&str) -> String| -> StringArray {
        let base = column_text(batch, name, Kind::Text);
        base.iter().map(|v| v.map(f)).collect()
    };
    match source {
        Source::Column(c) => column_text(batch, c, kind),
        Source::Scaled(c, factor) => match scaled(batch, c, factor) {
            Some(numbers) => numbers.iter().map(|n| n.map(|n| n.to_string())).collect(),
            None => StringArray::new_null(len),
        },
        Source::UriStem(c) => derive(c, &|u| u.split('?').next().unwrap_or("").to_string()),
        Source::UriQuery(c) => {
            derive(c, &|u| u.split_once('?').map(|(_, q)| q).unwrap_or("").to_string())
        }
        Source::UriExtension(c) => derive(c, &|u| {
            let path = u.split('?').next().unwrap_or("");
            let last = path.rsplit('/').next().unwrap_or("");
            last.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("").to_string()
        }),
        Source::StemAndQuery(stem, query) => {
            let stems = column_text(batch, stem, Kind::Text);
            let queries = column_text(batch, query, Kind::Text);
            (0..len)
                .map(|i| {
                    stems.is_valid(i).then(|| {
                        if queries.is_valid(i) {
                            format!("{}?{}", stems.value(i), queries.value(i))
                        } else {
                            stems.value(i).to_string()
                        }
                    })
                })
                .collect()
        }
        Source::Joined(columns, separator) => {
            let parts: Vec<StringArray> =
                columns.iter().map(|c| column_text(batch, c, Kind::Text)).collect();
            (0..len)
                .map(|i| {
                    let present: Vec<&str> =
                        parts.iter().filter(|p| p.is_valid(i)).map(|p| p.value(i)).collect();
                    (!present.is_empty()).then(|| present.join(separator))
                })
                .collect()
        }
    }
}

/// A condition over the atoms' bitmaps.
fn eval(e: &Expr, atoms: &[BooleanBuffer], len: usize) -> BooleanBuffer {
    match e {
        Expr::Const(true) => BooleanBuffer::new_set(len),
        Expr::Const(false) => BooleanBuffer::new_unset(len),
        Expr::Atom(i) => atoms[*i].clone(),
        Expr::Not(inner) => !&eval(inner, atoms, len),
        Expr::And(parts) => parts
            .iter()
            .map(|p| eval(p, atoms, len))
            .reduce(|a, b| &a & &b)
            .unwrap_or_else(|| BooleanBuffer::new_set(len)),
        Expr::Or(parts) => parts
            .iter()
            .map(|p| eval(p, atoms, len))
            .reduce(|a, b| &a | &b)
            .unwrap_or_else(|| BooleanBuffer::new_unset(len)),
        Expr::AtLeast(n, parts) => {
            let mut counts = vec![0usize; len];
            for p in parts {
                for row in eval(p, atoms, len).set_indices() {
                    counts[row] += 1;
                }
            }
            BooleanBuffer::collect_bool(len, |row| counts[row] >= *n)
        }
    }
}

/// Whether a table name is one rules can run on.
pub fn is_rule_table(name: &str) -> bool {
    TABLES.iter().any(|t| t.name == name)
}
