//! Any bytes as a Zeek log (TSV or JSON, plain or compressed): the reader must not panic, hang
//! or lose count of lines.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_sources::fuzzing::read_bytes(data);
});
