//! Any bytes, as a threat-intelligence feed (STIX, MISP, CSV, list or report text) and as a MISP
//! warning list: the readers must not panic, and every indicator must survive storage.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lasthop_intel::feeds::fuzz_feed(data);
});
