//! Any bytes as nmap XML, then the audit of the devices read.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_audit::fuzzing::read_nmap(data);
});
