//! Any bytes as an asset list (`--assets`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_sources::fuzzing::read_assets(data);
});
