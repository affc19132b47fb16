//! Hostile values through every query that once pasted log text into SQL: quotes, backslashes,
//! `%` and `_` (LIKE's wildcards), a NUL byte, an injection attempt and a 100 kB string. Each
//! goes in as data (a parameter or a table row) and must come back unchanged, matching exactly
//! what it should and nothing else. The logs are Zeek and web-server JSON, which carry any text.

use datafusion::arrow::array::RecordBatch;
use lasthop_findings::{Entities, Finding, RemoteEnd};
use lasthop_normalise::LogType;
use lasthop_query::session::{SessionOptions, from_batches};
use serde_json::{Value, json};

use crate::detectors::{Detector, HuntContext, dns_tunnel::DnsTunnel, web_shell::WebShell};

pub(crate) fn hostile_values() -> Vec<String> {
    vec![
        "it's".to_string(),
        "back\\slash\\'".to_string(),
        "100%_off".to_string(),
        "nul\0byte".to_string(),
        "x') OR ('1'='1".to_string(),
        "a".repeat(100_000),
    ]
}

/// Batches of JSON log lines, parsed as lasthop parses a file named `name`.
fn parse(name: &str, lines: &[Value]) -> Vec<(LogType, Vec<RecordBatch>)> {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (batches, _) = lasthop_sources::read_bytes(name, text.into_bytes());
    batches.into_iter().map(|(t, b)| (t, vec![b])).collect()
}

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(future)
}

fn session(tables: Vec<(LogType, Vec<RecordBatch>)>) -> HuntContext {
    let options = SessionOptions { threads: 2, ..Default::default() };
    HuntContext::new(from_batches(tables, &options).unwrap())
}

const T0: f64 = 1_700_000_000.0;

#[test]
fn web_shell_paths_and_their_lines_come_back_unchanged() {
    for value in hostile_values() {
        let path = format!("/up/{value}.php");
        let mut lines = Vec::new();
        // Ordinary visitors over ten hours, linked from the site.
        for i in 0..40 {
            lines.push(json!({"ts": T0 + i as f64 * 900.0, "c-ip": format!("198.51.100.{}", i % 20 + 1),
                "cs-method": "GET", "cs-uri-stem": "/index.html", "sc-status": 200, "sc-bytes": 5120,
                "cs-referer": "https://example.org/", "s-ip": "10.0.0.80"}));
        }
        // The shell's owner: a page first, then POSTs to the new file, six hours in.
        let owner = "203.0.113.9";
        lines.push(json!({"ts": T0 + 21_500.0, "c-ip": owner, "cs-method": "GET",
            "cs-uri-stem": "/login", "sc-status": 200, "sc-bytes": 900, "s-ip": "10.0.0.80"}));
        for i in 0..4 {
            lines.push(
                json!({"ts": T0 + 21_600.0 + i as f64 * 60.0, "c-ip": owner, "cs-method": "POST",
                "cs-uri-stem": path, "sc-status": 200, "sc-bytes": 123, "s-ip": "10.0.0.80"}),
            );
        }
        let raw: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let hunt = session(parse("access.json", &lines));
        let findings = run(WebShell.run(&hunt)).unwrap();
        let [f] = findings.as_slice() else { panic!("{value:.40?}: {findings:#?}") };
        assert_eq!(f.evidence.figures["path"], json!(path), "{value:.40?}");
        let lines_of = |part: &str| -> Vec<&str> {
            let samples = f.evidence.samples.iter().filter(|s| s["part"] == part);
            samples.map(|s| s["line"].as_str().unwrap()).collect()
        };
        assert_eq!(lines_of("shell"), raw[41..45].iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(lines_of("before"), [raw[40].as_str()], "the owner's request before the shell");
    }
}

#[test]
fn a_tunnel_domain_is_looked_up_as_given() {
    for value in hostile_values() {
        // Names are compared lower-cased, as DNS compares them.
        let domain = format!("{value}.com").to_lowercase();
        assert_eq!(
            lasthop_query::functions::text::registered_domain(&format!("x.{domain}")),
            Some(domain.as_str()),
            "{value:.40?} is a registered domain"
        );
        let mut dns = Vec::new();
        for i in 0..200u64 {
            let label = format!("{:040x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) as u128 * 7919);
            dns.push(json!({"_path": "dns", "ts": T0 + i as f64, "uid": format!("D{i}"),
                "id.orig_h": "10.0.0.5", "id.orig_p": 5353, "id.resp_h": "10.0.0.53", "id.resp_p": 53,
                "proto": "udp", "query": format!("{label}.{domain}"), "qtype_name": "TXT",
                "answers": ["198.51.100.7"]}));
        }
        // A host connects to what the domain resolved to: the lookup must find that.
        let conn = vec![json!({"_path": "conn", "ts": T0, "uid": "C1", "id.orig_h": "10.0.0.5",
            "id.orig_p": 40000, "id.resp_h": "198.51.100.7", "id.resp_p": 443, "proto": "tcp"})];
        let mut tables = parse("dns.log", &dns);
        tables.extend(parse("conn.log", &conn));
        let findings = run(DnsTunnel.run(&session(tables))).unwrap();
        let [f] = findings.as_slice() else { panic!("{value:.40?}: {findings:#?}") };
        assert_eq!(f.entities.domain.as_deref(), Some(domain.as_str()));
        let adjustments = f.evidence.figures["adjustments"].to_string();
        assert!(!adjustments.contains("no host connected"), "{value:.40?}: {adjustments}");
    }
}

#[test]
fn context_and_remote_names_match_hostile_names_exactly() {
    for value in hostile_values() {
        // Host headers are compared lower-cased, as hosts are.
        let name = format!("{value}.example").to_lowercase();
        // Ten internal hosts; six of them send requests with this Host header: a shared service.
        let mut conn = Vec::new();
        let mut http = Vec::new();
        for h in 1..=10 {
            conn.push(json!({"_path": "conn", "ts": T0 + h as f64, "uid": format!("C{h}"),
                "id.orig_h": format!("10.0.0.{h}"), "id.orig_p": 40000, "id.resp_h": "198.51.100.7",
                "id.resp_p": 80, "proto": "tcp"}));
            if h <= 6 {
                http.push(json!({"_path": "http", "ts": T0 + h as f64, "uid": format!("C{h}"),
                    "id.orig_h": format!("10.0.0.{h}"), "id.orig_p": 40000,
                    "id.resp_h": "198.51.100.7", "id.resp_p": 80, "method": "GET",
                    "host": name, "uri": "/"}));
            }
        }
        // Passive DNS: a name answered with the hostile text itself (answers are free text).
        let dns = vec![json!({"_path": "dns", "ts": T0, "uid": "D1", "id.orig_h": "10.0.0.1",
            "id.orig_p": 5353, "id.resp_h": "10.0.0.53", "id.resp_p": 53, "proto": "udp",
            "query": "relay.example", "answers": [value]})];
        let mut tables = parse("conn.log", &conn);
        tables.extend(parse("http.log", &http));
        tables.extend(parse("dns.log", &dns));
        let hunt = session(tables);

        let entities = Entities {
            source: Some("10.0.0.1".into()),
            domain: Some(name.clone()),
            ..Default::default()
        };
        let mut findings = vec![Finding::new("beacon", "test".into(), 0.8, entities)];
        run(crate::detectors::context::adjust(&hunt, &mut findings, 0)).unwrap();
        let adjustments = findings[0].evidence.figures["adjustments"].to_string();
        let expected =
            serde_json::to_string(&format!("6 of 10 internal hosts talk to {name}")).unwrap();
        let expected = expected.trim_matches('"');
        assert!(adjustments.contains(expected), "{value:.40?}: {adjustments:.300}");

        let remote = RemoteEnd {
            address: value.clone(),
            as_number: None,
            as_organization: None,
            network_type: None,
            network_type_reason: None,
            device: None,
            names: Vec::new(),
        };
        let mut findings = vec![Finding::new(
            "beacon",
            "test".into(),
            0.8,
            Entities { remote: Some(remote), ..Default::default() },
        )];
        run(crate::enrich::remote_devices(&hunt, &mut findings)).unwrap();
        let names = &findings[0].entities.remote.as_ref().unwrap().names;
        assert_eq!(names, &["relay.example".to_string()], "{value:.40?}");
    }
}
