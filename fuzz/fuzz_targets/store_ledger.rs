//! Any bytes as the store's manifest (its table of contents and import ledger).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_store::fuzzing::read_manifest(data);
});
