//! The entry point of the `sigma_rule` fuzz target and its corpus-replay test: any bytes as a
//! rule file, compiled, then every table's matcher run over sample batches. Oversized and
//! unsupported regular expressions must be rejected with a reason, never a panic or a hang.

use arrow_array::{Array, RecordBatch};

use crate::{MatchOptions, RuleSet, TableMatcher};

/// Compiles `data` as Sigma YAML and evaluates the rules that compiled on `batches` (table name,
/// batch): every rule either compiles or is rejected with a reason, and every match result has
/// a row per record.
pub fn compile_and_match(data: &[u8], batches: &[(&str, RecordBatch)]) {
    let text = String::from_utf8_lossy(data);
    let mut set = RuleSet::default();
    set.add_yaml("fuzz/rule.yml", &text);
    for rejected in &set.rejected {
        assert!(!rejected.reason.is_empty());
    }
    for (table, batch) in batches {
        for decode in [true, false] {
            let Some(matcher) = TableMatcher::new(&set, table, MatchOptions { decode }) else {
                continue;
            };
            for (_, rows) in matcher.evaluate(batch) {
                assert_eq!(rows.len(), batch.num_rows());
            }
            assert_eq!(matcher.matching_rules(batch).len(), batch.num_rows());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_sources::fuzzing::{assert_replayed, replay, sample_batches};

    #[test]
    fn the_sigma_rule_corpus_replays() {
        let batches: Vec<(&str, RecordBatch)> =
            sample_batches().into_iter().map(|(t, b)| (t.name(), b)).collect();
        assert_replayed("sigma_rule", replay("sigma_rule", |d| compile_and_match(d, &batches)));
    }
}
