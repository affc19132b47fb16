//! Any JSON handed to the STIX 2.1 bundle reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_intel::fuzzing::read_stix(data);
});
