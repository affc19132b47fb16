use std::path::Path;

use lasthop_common::Reason;
use lasthop_normalise::parse_ip;

use super::*;
use crate::indicators::IndicatorKind as K;

fn day(date: &str) -> i64 {
    parse_time(date).unwrap()
}

fn read(name: &str, text: &str) -> FeedReport {
    read_feed(Path::new(name), name, text)
}

const STIX: &str = r#"{
  "type": "bundle",
  "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
  "objects": [
    {"type": "identity", "spec_version": "2.1", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
     "name": "Example CERT", "identity_class": "organization"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
     "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
     "name": "APT40 relay", "indicator_types": ["malicious-activity"],
     "pattern": "[ipv4-addr:value = '198.51.100.7'] OR [ipv4-addr:value = '203.0.113.0/24']",
     "pattern_type": "stix", "valid_from": "2024-07-01T00:00:00Z", "valid_until": "2024-09-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--1f0c7e36-5a0c-4f6e-9d0b-2a9b2c1e7e01",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
     "pattern": "[domain-name:value = 'relay.example' OR url:value = 'http://shell.example/x.aspx']",
     "pattern_type": "stix", "valid_from": "2024-07-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--2f0c7e36-5a0c-4f6e-9d0b-2a9b2c1e7e02",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
     "pattern": "[file:hashes.'SHA-256' = 'AEC3F0C1D7E2B1A8F6C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A3' ]",
     "pattern_type": "stix", "valid_from": "2024-07-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--3f0c7e36-5a0c-4f6e-9d0b-2a9b2c1e7e03",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
     "pattern": "[file:name = 'a.exe' AND file:size > 100]",
     "pattern_type": "stix", "valid_from": "2024-07-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--4f0c7e36-5a0c-4f6e-9d0b-2a9b2c1e7e04",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
     "pattern": "rule x { condition: true }", "pattern_type": "yara", "valid_from": "2024-07-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--5f0c7e36-5a0c-4f6e-9d0b-2a9b2c1e7e05",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
     "pattern": "[ipv4-addr:value = ", "pattern_type": "stix", "valid_from": "2024-07-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--6f0c7e36-5a0c-4f6e-9d0b-2a9b2c1e7e06",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z", "revoked": true,
     "pattern": "[ipv4-addr:value = '192.0.2.99']", "pattern_type": "stix", "valid_from": "2024-07-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--7f0c7e36-5a0c-4f6e-9d0b-2a9b2c1e7e07",
     "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
     "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix", "valid_from": "2024-07-01T00:00:00Z"}
  ]
}"#;

#[test]
fn stix_bundle_keeps_simple_patterns_and_reports_the_rest_by_line() {
    let r = read("bundle.json", STIX);
    assert_eq!(r.format, "STIX 2.1 bundle");
    let set = &r.indicators;
    let counts = set.counts();
    assert_eq!(counts[&K::Ip], 2, "{:#?}", set.iter().collect::<Vec<_>>());
    assert_eq!(counts[&K::Prefix], 1);
    assert_eq!(counts[&K::Domain], 1);
    assert_eq!(counts[&K::Url], 1);
    assert_eq!(counts[&K::FileHash], 1);

    let ip = parse_ip("198.51.100.7").unwrap();
    let m = set.match_ip(&ip, day("2024-08-01")).unwrap();
    assert_eq!(m.indicator.feed, "Example CERT (bundle.json)");
    assert_eq!(m.indicator.context.as_deref(), Some("APT40 relay; malicious-activity"));
    assert_eq!(
        m.indicator.reference.as_deref(),
        Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    );
    assert!(set.match_ip(&ip, day("2024-09-02")).is_none(), "valid_until is respected");
    assert!(set.match_ip(&ip, day("2024-06-30")).is_none(), "valid_from is respected");
    assert!(set.match_ip(&parse_ip("203.0.113.77").unwrap(), day("2024-08-01")).is_some());
    assert!(set.match_ip(&parse_ip("192.0.2.99").unwrap(), day("2024-08-01")).is_none(), "revoked");
    assert_eq!(r.context_only, 1);
    assert!(
        set.match_digest(
            K::FileHash,
            &"aec3f0c1d7e2b1a8f6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3".to_uppercase(),
            day("2024-08-01")
        )
        .is_some()
    );

    assert_eq!(r.diagnostics.total(Reason::UnsupportedIndicator), 2);
    assert_eq!(r.diagnostics.total(Reason::BadIndicator), 1);
    let bad = r.diagnostics.samples.iter().find(|w| w.reason == Reason::BadIndicator).unwrap();
    assert_eq!(bad.line, STIX.lines().position(|l| l.contains("5f0c7e36")).unwrap() as u64 + 1);
    let and = r.diagnostics.samples.iter().find(|w| w.detail.contains("3f0c7e36")).unwrap();
    assert!(and.detail.contains("AND"), "{}", and.detail);
    let yara = r.diagnostics.samples.iter().find(|w| w.detail.contains("4f0c7e36")).unwrap();
    assert!(yara.detail.contains("yara"), "{}", yara.detail);
}

#[test]
fn private_and_documentation_addresses_are_set_aside_by_warning_lists() {
    let mut r = read("bundle.json", STIX);
    r.indicators.suppress(WarningLists::bundled());
    let list_of = |v: &str| {
        r.indicators.suppressed.iter().find(|s| s.indicator.value == v).map(|s| s.list.clone())
    };
    assert!(r.indicators.lookup(K::Ip, "10.0.0.1").is_empty());
    assert!(list_of("10.0.0.1").unwrap().contains("1918"));
    assert!(list_of("198.51.100.7").unwrap().contains("5735"), "TEST-NET-2 is documentation");
    assert!(list_of("203.0.113.0/24").unwrap().contains("5735"));
    assert_eq!(r.indicators.lookup(K::Domain, "relay.example").len(), 1);
    assert_eq!(
        r.indicators
            .lookup(K::FileHash, "aec3f0c1d7e2b1a8f6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3")
            .len(),
        1
    );
}

#[test]
fn top_sites_and_empty_file_hashes_are_set_aside() {
    let mut r = read(
        "list.txt",
        "www.google.com
d41d8cd98f00b204e9800998ecf8427e
relay.example
",
    );
    r.indicators.suppress(WarningLists::bundled());
    assert_eq!(r.indicators.len(), 1);
    assert_eq!(r.indicators.suppressed.len(), 2);
}

const MISP: &str = r#"{"response": [{"Event": {
  "uuid": "5f0c7e36-0000-4f6e-9d0b-2a9b2c1e7e00", "info": "SoHo relay campaign",
  "Orgc": {"name": "CIRCL"},
  "Attribute": [
    {"uuid": "a1", "type": "ip-dst", "value": "198.51.100.20", "to_ids": true, "category": "Network activity",
     "comment": "relay", "first_seen": "2024-05-01T00:00:00+00:00", "last_seen": "2024-06-01T00:00:00+00:00"},
    {"uuid": "a2", "type": "ip-dst|port", "value": "198.51.100.21|8443", "to_ids": true},
    {"uuid": "a3", "type": "filename|md5", "value": "shell.aspx|2E8D758B9BCE51D25EA500D7B4CE4774", "to_ids": "1"},
    {"uuid": "a4", "type": "domain", "value": "context.example", "to_ids": false},
    {"uuid": "a5", "type": "regkey", "value": "HKLM\\Software\\x", "to_ids": true},
    {"uuid": "a6", "type": "ip-src", "value": "not-an-ip", "to_ids": true},
    {"uuid": "a7", "type": "domain", "value": "gone.example", "to_ids": true, "deleted": true}
  ],
  "Object": [{"name": "domain-ip", "Attribute": [
    {"uuid": "o1", "type": "domain", "value": "relay.example", "to_ids": true}
  ]}]
}}]}"#;

#[test]
fn misp_event_reads_to_ids_attributes_objects_and_composites() {
    let r = read("event.json", MISP);
    assert_eq!(r.format, "MISP event");
    let set = &r.indicators;
    assert_eq!(set.len(), 4, "{:#?}", set.iter().collect::<Vec<_>>());
    let relay = set.lookup(K::Ip, "198.51.100.20")[0];
    assert_eq!(relay.feed, "CIRCL (event.json)");
    assert_eq!(relay.context.as_deref(), Some("SoHo relay campaign; Network activity; relay"));
    assert_eq!(relay.first_reported, Some(day("2024-05-01")));
    assert!(
        !set.match_ip(&parse_ip("198.51.100.20").unwrap(), day("2025-01-01"))
            .unwrap()
            .in_reported_window
    );
    assert_eq!(set.lookup(K::Ip, "198.51.100.21").len(), 1, "port dropped");
    assert_eq!(
        set.lookup(K::FileHash, "2e8d758b9bce51d25ea500d7b4ce4774").len(),
        1,
        "file name dropped"
    );
    assert_eq!(set.lookup(K::Domain, "relay.example").len(), 1, "object attribute");
    assert!(set.lookup(K::Domain, "gone.example").is_empty(), "deleted");
    assert_eq!(r.context_only, 1);
    assert_eq!(r.diagnostics.total(Reason::UnsupportedIndicator), 1);
    assert_eq!(r.diagnostics.total(Reason::BadIndicator), 1);
    let bad = r.diagnostics.samples.iter().find(|w| w.reason == Reason::BadIndicator).unwrap();
    assert_eq!(bad.line, MISP.lines().position(|l| l.contains("\"a6\"")).unwrap() as u64 + 1);
}

#[test]
fn csv_finds_columns_by_synonym_and_reports_bad_rows_by_line() {
    let text = "# exported 2024-07-10\n\
                Type,IOC,Description,First_Seen,Last-Seen,valid_until\n\
                ip,198.51.100.30,proxy node,2024-01-01,2024-02-01,\n\
                domain,\"relay.example\",\"C2, tier 2\",,,2024-12-31\n\
                sha256,zz-not-hex,,,,\n\
                url,hxxp://203.0.113.5/upload.php,dropper,,,\n\
                email,someone@example.com,,,,\n\
                ,198.51.100.31,untyped,,,\n";
    let r = read("feed.csv", text);
    assert_eq!(r.format, "CSV");
    let set = &r.indicators;
    assert_eq!(set.len(), 4, "{:#?}", set.iter().collect::<Vec<_>>());
    let proxy = set.lookup(K::Ip, "198.51.100.30")[0];
    assert_eq!(proxy.context.as_deref(), Some("proxy node"));
    assert_eq!(
        (proxy.first_reported, proxy.last_reported),
        (Some(day("2024-01-01")), Some(day("2024-02-01")))
    );
    let relay = set.lookup(K::Domain, "relay.example")[0];
    assert_eq!(relay.context.as_deref(), Some("C2, tier 2"));
    assert_eq!(relay.valid_until, Some(day("2024-12-31")));
    assert_eq!(set.lookup(K::Url, "203.0.113.5/upload.php").len(), 1);
    assert_eq!(set.lookup(K::Ip, "198.51.100.31").len(), 1);
    let bad = r.diagnostics.samples.iter().find(|w| w.reason == Reason::BadIndicator).unwrap();
    assert_eq!(bad.line, 5);
    let unsupported =
        r.diagnostics.samples.iter().find(|w| w.reason == Reason::UnsupportedIndicator).unwrap();
    assert_eq!(unsupported.line, 7);
}

#[test]
fn plain_list_reports_lines_that_are_not_indicators() {
    let r = read(
        "list.txt",
        "# feed\n165.227.88.15\nr-1x.com  # dns c2\n10.9.0.0/16,extra\nevil[.]example\n\n!!!\n",
    );
    assert_eq!(r.format, "text");
    assert_eq!(r.indicators.len(), 4);
    assert_eq!(r.diagnostics.total(Reason::BadIndicator), 1);
    assert_eq!(r.diagnostics.samples[0].line, 7);
}

#[test]
fn report_text_extracts_defanged_values_with_their_headings_and_skips_prose() {
    let text = "Indicators of Compromise\n\
                IP address\t      Timeframe\t                Characterization\n\
                152.32.138[.]247\tDec 5, 2023 - Jan 3, 2024\tCallback Server\n\
                \n\
                # Loader C2s\n\
                79.141.162[.]154\n\
                Files\n\
                Kv-all.sh (Cisco)\n\
                7043ffd9ce3fe48c9fb948ae958a2e9966d29afe380d6b61d5efb826b70334f5\n\
                Payload Server:\n\
                hxxp://209.141.49[.]178/dajfdsfadsfa/arm\n\
                prekudinish[.]com\n\
                hyddh.com\tTLS Cert Domain\t2024-09-03\t2024-09-04\tTier 2\n\
                rule Nosedive {\n  strings:\n    $a = \"x.evil[.]com\"\n}\n";
    let r = read("report.txt", text);
    let set = &r.indicators;
    let callback = set.lookup(K::Ip, "152.32.138.247")[0];
    assert_eq!(
        callback.context.as_deref(),
        Some("Indicators of Compromise: Dec 5, 2023 Jan 3, 2024 Callback Server")
    );
    assert_eq!(set.lookup(K::Ip, "79.141.162.154")[0].context.as_deref(), Some("Loader C2s"));
    assert!(set.lookup(K::Domain, "kv-all.sh").is_empty(), "a file name is not a domain");
    assert_eq!(
        set.lookup(K::FileHash, "7043ffd9ce3fe48c9fb948ae958a2e9966d29afe380d6b61d5efb826b70334f5")
            [0]
        .context
        .as_deref(),
        Some("Kv-all.sh (Cisco)")
    );
    assert_eq!(set.lookup(K::Url, "209.141.49.178/dajfdsfadsfa/arm").len(), 1);
    assert_eq!(set.lookup(K::Ip, "209.141.49.178").len(), 1, "the payload server itself");
    assert_eq!(set.lookup(K::Domain, "prekudinish.com").len(), 1);
    let tier2 = set.lookup(K::Domain, "hyddh.com")[0];
    assert_eq!(tier2.context.as_deref(), Some("Payload Server: Tier 2"));
    assert_eq!(
        (tier2.first_reported, tier2.last_reported),
        (Some(day("2024-09-03")), Some(day("2024-09-04")))
    );
    assert!(set.lookup(K::Domain, "x.evil.com").is_empty(), "YARA strings are not indicators");
    assert_eq!(r.diagnostics.counts.values().sum::<u64>(), 0, "{:?}", r.diagnostics.samples);
}

#[test]
fn unrecognised_and_broken_json_are_reported_not_panicked_on() {
    let r = read("x.json", "{\"hello\": 1}");
    assert_eq!(r.diagnostics.total(Reason::UnrecognisedFormat), 1);
    let r = read("y.json", "{\"type\": \"bundle\",\n \"objects\": [");
    assert_eq!(r.diagnostics.total(Reason::BadJson), 1);
    assert_eq!(r.diagnostics.samples[0].line, 2);
    assert!(r.indicators.is_empty());
}

#[test]
fn indicators_survive_a_json_lines_round_trip() {
    let r = read("event.json", MISP);
    let lines: Vec<String> =
        r.indicators.iter().map(|i| serde_json::to_string(i).unwrap()).collect();
    let back: Vec<Indicator> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(back, r.indicators.iter().cloned().collect::<Vec<_>>());
}

#[test]
fn bundled_feeds_hold_the_soho_botnets_and_the_apt40_hashes_with_sources() {
    let b = bundled();
    let set = &b.indicators;
    let kv = set.lookup(K::Ip, "152.32.138.247");
    assert_eq!(kv.len(), 1);
    assert!(kv[0].feed.contains("KV-botnet"));
    assert!(kv[0].context.as_deref().unwrap().contains("Callback Server"));
    assert!(kv[0].reference.as_deref().unwrap().contains("github.com/blacklotuslabs/IOCs"));
    let raptor = set.lookup(K::Ip, "114.255.70.20");
    assert!(raptor[0].feed.contains("Raptor Train"));
    assert_eq!(raptor[0].first_reported, Some(day("2023-10-04")));
    assert_eq!(raptor[0].last_reported, Some(day("2024-06-28")));
    assert_eq!(set.lookup(K::CertFingerprint, "").len(), 0);
    let counts = set.counts();
    // PudgyDragon: 518 MD5 + 10 SHA-1 + 10 SHA-256 web-shell and tool samples, less any
    // warning-listed hash; Black Lotus Labs adds its own file hashes.
    assert!(counts[&K::FileHash] >= 530, "{counts:?}");
    assert!(counts[&K::Domain] >= 70 + 51 + 56 - 5, "{counts:?}");
    assert!(counts[&K::Ip] >= 102, "{counts:?}");
    assert!(counts[&K::CertFingerprint] >= 1, "{counts:?}");
    assert!(set.lookup(K::Domain, "kv-all.sh").is_empty());
    // "Sha256:…" glued to its label, and digests under an X.509 heading are certificates.
    let file = "36c63d0c2a78497ccf555e84f0233a514943faeff38281d99d00baf5df23f184";
    assert_eq!(set.lookup(K::FileHash, file).len(), 1);
    for cert in [
        "cdffba0ebda39b3b58f59815be3829ca9c1cde957b46a6ad5ce4b31e405455bb",
        "c7cf51499973908cbc4c746f689b6ed245b26b1a9eae62fe9329f3a1036e82f4",
        "2aa12e5989065951be84ce932b65bd197dd6be3fa987838bad48536c0c74d145",
    ] {
        assert_eq!(set.lookup(K::CertFingerprint, cert).len(), 1, "{cert}");
    }
    for i in set.iter() {
        assert!(i.reference.is_some() && !i.feed.is_empty(), "{i:?}");
    }
    assert_eq!(b.diagnostics.counts.values().sum::<u64>(), 0, "{:?}", b.diagnostics.samples);
}
