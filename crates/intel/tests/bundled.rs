//! The bundled database answers as its sources say (spot checks from the data's PROVENANCE).

use lasthop_intel::AsnDb;

fn asn(text: &str) -> Option<(u32, String)> {
    AsnDb::bundled().lookup(text.parse().unwrap()).map(|i| (i.asn, i.organisation.to_string()))
}

#[test]
fn well_known_addresses_map_to_their_networks() {
    assert_eq!(asn("8.8.8.8").unwrap().0, 15169);
    assert_eq!(asn("1.1.1.1"), Some((13335, "Cloudflare, Inc.".to_string())));
    assert_eq!(asn("73.54.23.243").unwrap().0, 7922, "Comcast: RITA's residential attacker");
    assert_eq!(asn("64.225.56.201").unwrap().0, 14061, "DigitalOcean");
    assert_eq!(asn("45.32.174.131").unwrap().0, 20473, "Vultr: KV-botnet router-proxy C2");
    assert_eq!(asn("147.32.80.37").unwrap().0, 2852, "CESNET");
    assert_eq!(asn("2001:4860:4860::8888").unwrap().0, 15169);
    assert_eq!(asn("::ffff:8.8.8.8").unwrap().0, 15169);
}

#[test]
fn private_carrier_grade_and_reserved_space_has_no_network() {
    for text in ["192.168.1.1", "10.0.0.1", "100.64.0.1", "127.0.0.1", "fe80::1", "fd00::1"] {
        assert_eq!(asn(text), None, "{text}");
    }
}

#[test]
fn the_overlap_in_the_source_is_resolved_to_the_more_specific_range() {
    assert_eq!(asn("215.0.0.1").unwrap().0, 721);
    assert_eq!(asn("214.255.255.255").unwrap().0, 749);
}
