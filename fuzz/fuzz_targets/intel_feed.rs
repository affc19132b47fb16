//! Any bytes as a threat-intelligence feed, its format sniffed as `--intel` does, and as a MISP
//! warning list.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_intel::fuzzing::read_any_feed(data);
});
