//! Findings as Elastic Common Schema documents, for SIEM pipelines (JSON Lines, CSV).
//!
//! The field names are a contract: a Logstash or Vector pipeline, an Elasticsearch mapping or a
//! Splunk extraction is written once against them, so they only ever gain fields. ECS names are
//! used where one fits (`source.ip`, `destination.as.number`, `threat.technique.id`, …);
//! what ECS has no name for lives under `lasthop.*`. `docs/output.md` lists every field.

use lasthop_findings::{Finding, Severity};
use lasthop_normalise::format_timestamp;
use serde_json::{Map, Value, json};

/// The ECS version the documents follow.
pub const ECS_VERSION: &str = "8.11.0";

/// Columns of the CSV form: paths into the document, arrays joined by spaces.
pub const CSV_COLUMNS: &[&str] = &[
    "@timestamp",
    "event.id",
    "lasthop.severity",
    "event.severity",
    "event.risk_score",
    "rule.name",
    "message",
    "source.address",
    "source.ip",
    "source.as.number",
    "source.as.organization.name",
    "destination.address",
    "destination.ip",
    "destination.domain",
    "destination.as.number",
    "destination.as.organization.name",
    "lasthop.remote.network_type",
    "lasthop.remote.device.description",
    "user.name",
    "host.name",
    "host.id",
    "threat.indicator.name",
    "threat.technique.id",
    "event.start",
    "event.end",
    "lasthop.uids",
    "network.community_id",
    "lasthop.explanation",
    "lasthop.status.label",
];

/// ECS `event.severity` is a number: 1 (info) to 5 (critical).
pub fn severity_number(s: Severity) -> u8 {
    s as u8 + 1
}

fn is_ip(text: &str) -> bool {
    text.parse::<std::net::IpAddr>().is_ok()
}

/// One endpoint (`source` or `destination`): `address` always, `ip` when it is an address, and
/// the autonomous system when it is the finding's external end.
fn endpoint(address: &str, finding: &Finding) -> Value {
    let mut o = Map::new();
    o.insert("address".into(), json!(address));
    if is_ip(address) {
        o.insert("ip".into(), json!(address));
    }
    if let Some(r) = finding.entities.remote.as_ref().filter(|r| r.address == address) {
        let mut asn = Map::new();
        if let Some(n) = r.as_number {
            asn.insert("number".into(), json!(n));
        }
        if let Some(org) = &r.as_organization {
            asn.insert("organization".into(), json!({ "name": org }));
        }
        if !asn.is_empty() {
            o.insert("as".into(), Value::Object(asn));
        }
    }
    Value::Object(o)
}

/// The ECS document of one finding.
pub fn document(f: &Finding) -> Value {
    let e = &f.entities;
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), json!(format_timestamp(f.last_seen)));
    doc.insert("ecs".into(), json!({ "version": ECS_VERSION }));
    doc.insert(
        "event".into(),
        json!({
            "kind": "alert",
            "category": ["network", "intrusion_detection"],
            "type": ["indicator"],
            "module": "lasthop",
            "dataset": "lasthop.findings",
            "id": f.id,
            "severity": severity_number(f.severity),
            "risk_score": (f.score * 1000.0).round() / 10.0,
            "start": format_timestamp(f.first_seen),
            "end": format_timestamp(f.last_seen),
        }),
    );
    doc.insert("message".into(), json!(f.title));
    doc.insert(
        "rule".into(),
        json!({ "id": f.detector, "name": f.detector, "ruleset": "lasthop" }),
    );
    if let Some(s) = &e.source {
        doc.insert("source".into(), endpoint(s, f));
    }
    let mut destination = match &e.destination {
        Some(d) => endpoint(d, f),
        None => json!({}),
    };
    if let Some(domain) = &e.domain {
        destination["domain"] = json!(domain);
    }
    if destination.as_object().is_some_and(|o| !o.is_empty()) {
        doc.insert("destination".into(), destination);
    }
    if let Some(u) = &e.user {
        doc.insert("user".into(), json!({ "name": u }));
    }
    if let Some(h) = &e.host {
        let mut host = json!({ "id": h.id, "ip": [h.address] });
        if let Some(name) = &h.name {
            host["name"] = json!(name);
        }
        if let Some(mac) = &h.mac {
            host["mac"] = json!([mac]);
        }
        doc.insert("host".into(), host);
    }
    // Every address the finding names, the hosts of a grouped finding included, so that a SIEM
    // search for one address finds it.
    let mut related: Vec<&str> = [&e.source, &e.destination]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(e.remote.iter().map(|r| r.address.as_str()))
        .chain(
            f.evidence
                .figures
                .get("hosts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        )
        .filter(|a| is_ip(a))
        .collect();
    related.sort_unstable();
    related.dedup();
    if !related.is_empty() {
        doc.insert("related".into(), json!({ "ip": related }));
    }
    let mut threat = json!({ "framework": "MITRE ATT&CK" });
    if !f.techniques.is_empty() {
        threat["technique"] = json!({ "id": f.techniques });
    }
    if let Some(i) = &e.indicator {
        threat["indicator"] = json!({ "name": i });
    }
    doc.insert("threat".into(), threat);
    if !f.evidence.community_ids.is_empty() {
        doc.insert("network".into(), json!({ "community_id": f.evidence.community_ids }));
    }
    let mut lasthop = json!({
        "severity": f.severity.name(),
        "score": f.score,
        "explanation": f.explanation,
        "figures": f.evidence.figures,
        "uids": f.evidence.uids,
    });
    if let Some(r) = &e.remote {
        lasthop["remote"] = serde_json::to_value(r).unwrap_or(Value::Null);
    }
    if let Some(status) = &f.status {
        lasthop["status"] = serde_json::to_value(status).unwrap_or(Value::Null);
        lasthop["status"]["label"] = json!(status.label());
    }
    doc.insert("lasthop".into(), lasthop);
    Value::Object(doc)
}

/// The value at a dotted path of a document, as CSV text: arrays joined by spaces, objects as
/// JSON, missing as empty.
pub fn flat_value(doc: &Value, path: &str) -> String {
    // `@timestamp` and the top-level keys hold no dots; nested keys are walked.
    let mut v = doc;
    for key in path.split('.') {
        match v.get(key) {
            Some(next) => v = next,
            None => return String::new(),
        }
    }
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_findings::{Entities, RemoteEnd};

    #[test]
    fn the_external_end_carries_its_autonomous_system() {
        let mut f = Finding::new(
            "beacon",
            "t".into(),
            0.8,
            Entities {
                source: Some("10.0.0.5".into()),
                destination: Some("203.0.113.9".into()),
                remote: Some(RemoteEnd {
                    address: "203.0.113.9".into(),
                    as_number: Some(64500),
                    as_organization: Some("Example Broadband".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        f.techniques = vec!["T1071.001".into()];
        let doc = document(&f);
        assert_eq!(doc["destination"]["as"]["number"], 64500);
        assert_eq!(flat_value(&doc, "destination.as.organization.name"), "Example Broadband");
        assert_eq!(flat_value(&doc, "source.ip"), "10.0.0.5");
        assert!(doc["source"].get("as").is_none());
        assert_eq!(flat_value(&doc, "threat.technique.id"), "T1071.001");
        assert_eq!(doc["event"]["severity"], 4);
        assert_eq!(flat_value(&doc, "related.ip"), "10.0.0.5 203.0.113.9");
        f.evidence.figures.insert("hosts".into(), json!(["10.0.0.7", "10.0.0.5", "pc-9"]));
        assert_eq!(
            flat_value(&document(&f), "related.ip"),
            "10.0.0.5 10.0.0.7 203.0.113.9",
            "a grouped finding's hosts, addresses only"
        );
        assert_eq!(flat_value(&doc, "user.name"), "");
    }

    #[test]
    fn redaction_tokens_are_addresses_not_ips() {
        let f = Finding::new(
            "d",
            "t".into(),
            0.1,
            Entities { source: Some("internal-host-1".into()), ..Default::default() },
        );
        let doc = document(&f);
        assert_eq!(doc["source"]["address"], "internal-host-1");
        assert!(doc["source"].get("ip").is_none());
    }
}
