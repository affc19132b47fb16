//! Any bytes as a CSV feed and as a plain indicator list or report text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_intel::fuzzing::read_list(data);
});
