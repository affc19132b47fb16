//! Any bytes as ASN range CSV files and as a stored ASN database.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_intel::fuzzing::read_asn(data);
});
