//! Any bytes as a CSV inventory of edge devices, then their audit.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_audit::fuzzing::read_inventory_csv(data);
});
