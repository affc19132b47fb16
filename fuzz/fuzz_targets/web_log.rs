//! Any bytes as a web server access log (combined, W3C, JSON lines; plain or compressed).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_sources::fuzzing::read_web(data);
});
