//! Any bytes as a Sigma rule file: compiled, then run over sample web and HTTP records.
#![no_main]

use std::sync::OnceLock;

use arrow_array::RecordBatch;

fn batches() -> &'static [(&'static str, RecordBatch)] {
    static BATCHES: OnceLock<Vec<(&'static str, RecordBatch)>> = OnceLock::new();
    BATCHES.get_or_init(|| {
        lasthop_sources::fuzzing::sample_batches().into_iter().map(|(t, b)| (t.name(), b)).collect()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_sigma::fuzzing::compile_and_match(data, batches());
});
