//! Any bytes as CISA's KEV catalogue and as a SoHo end-of-life table.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_audit::fuzzing::read_catalogues(data);
});
