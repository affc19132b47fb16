//! Any bytes as a safelist (`--safelist`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_sources::fuzzing::read_safelist(data);
});
