//! Any JSON handed to the MISP event reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_intel::fuzzing::read_misp(data);
});
