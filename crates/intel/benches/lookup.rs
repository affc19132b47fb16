//! Enrichment throughput: decoding the bundled ASN database, then looking up random IPv4 and
//! IPv6 addresses (one thread). Run with `cargo bench -p lasthop-intel`.

use std::hint::black_box;
use std::time::Instant;

use lasthop_intel::{AsnDb, Classifier};

fn main() {
    let started = Instant::now();
    let db = AsnDb::bundled();
    let decoded = started.elapsed();
    let (n4, n6) = db.ranges();
    println!("decode: {:.1} ms ({n4} IPv4, {n6} IPv6 ranges)", decoded.as_secs_f64() * 1e3);

    // A fixed xorshift sequence: the same addresses every run.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let v4: Vec<[u8; 16]> = (0..10_000_000)
        .map(|_| std::net::Ipv4Addr::from(next() as u32).to_ipv6_mapped().octets())
        .collect();
    // IPv6 draws inside 2000::/4 (where announced space is), else nearly all would miss.
    let v6: Vec<[u8; 16]> = (0..2_000_000)
        .map(|_| {
            let v = ((next() as u128) << 64 | next() as u128) >> 4 | (0x2u128 << 124);
            v.to_be_bytes()
        })
        .collect();
    for (family, addrs) in [("IPv4", &v4), ("IPv6", &v6)] {
        let started = Instant::now();
        let mut found = 0u64;
        for a in addrs.iter() {
            if let Some(info) = db.lookup_bytes(black_box(a)) {
                found += u64::from(info.asn > 0);
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{family}: {} lookups in {:.3} s = {:.1} M addresses/s ({:.1} % in an announced range)",
            addrs.len(),
            secs,
            addrs.len() as f64 / secs / 1e6,
            found as f64 * 100.0 / addrs.len() as f64
        );
    }
    // The whole per-address enrichment the `network_type()` function does: ASN lookup, then
    // classification (overrides, CGNAT, datacenter ranges, lists, name patterns).
    let started = Instant::now();
    let classifier = Classifier::bundled();
    println!("classifier load: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    let addrs = &v4[..2_000_000];
    // Random addresses touch nearly every ASN, so the first pass classifies most of them once;
    // the second is the steady state of a conn table that revisits the same networks.
    for pass in ["first pass", "second pass"] {
        let started = Instant::now();
        let mut residential = 0u64;
        for a in addrs {
            let info = db.lookup_bytes(black_box(a));
            let kind = classifier.kind_of(a, info.as_ref());
            residential += u64::from(kind == lasthop_intel::NetworkType::Residential);
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "IPv4 lookup + network type, {pass}: {} addresses in {:.3} s = {:.2} M addresses/s ({:.1} % residential)",
            addrs.len(),
            secs,
            addrs.len() as f64 / secs / 1e6,
            residential as f64 * 100.0 / addrs.len() as f64
        );
    }
}
