//! Hostile values for the tests of every output: what an attacker can put in a User-Agent, a
//! URI, a host name or a certificate, aimed at whoever reads the report. Payloads that would
//! make a browser fetch something point at `canary` (a server a test runs on loopback), so a
//! test learns whether any of them fired.

use std::collections::BTreeMap;

use lasthop_findings::{
    Decision, Entities, Evidence, Finding, LocalHost, Recurrence, RemoteDevice, RemoteEnd,
    Severity, Status, Triage, finding_id,
};
use serde_json::json;

/// Length of the oversized User-Agent.
pub const LONG_VALUE: usize = 100_000;

/// Markup, script, style, URL, terminal and bidirectional payloads; `canary` is a base URL such
/// as `http://127.0.0.1:PORT`.
pub fn payloads(canary: &str) -> Vec<String> {
    let c = canary;
    vec![
        format!(r#"<script src="{c}/script.js"></script><script>fetch('{c}/inline')</script>"#),
        format!(r#""><img src="{c}/img.png" onerror="fetch('{c}/onerror')">"#),
        format!(r#"' onmouseover='fetch("{c}/attr")' x='"#),
        format!("javascript:fetch('{c}/js-url')"),
        format!(r#"<a href="{c}/link">click</a><a href="javascript:fetch('{c}/js-link')">x</a>"#),
        format!(
            r#"<iframe src="{c}/frame"></iframe><object data="{c}/object"></object><embed src="{c}/embed">"#
        ),
        format!(
            r#"<link rel="stylesheet" href="{c}/style.css"><style>@import url({c}/import.css); body{{background:url({c}/bg.png)}}</style>"#
        ),
        format!(
            r#"<svg><image href="{c}/svg-image.png"/><use href="{c}/use.svg#x"/><animate attributeName="href" to="{c}/anim"/></svg>"#
        ),
        format!(r#"<meta http-equiv="refresh" content="0;url={c}/refresh"><base href="{c}/">"#),
        format!(
            r#"<form action="{c}/form"><button>go</button></form><video poster="{c}/poster.png"></video>"#
        ),
        format!(r#"</textarea></pre></td></tr></table></svg><img src={c}/breakout.png>"#),
        format!(r#"<div style="background:url({c}/inline-style.png)">x</div>"#),
        "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\x1b[2J\r\x08".to_string(),
        "invoice\u{202e}fdp.exe \u{2066}isolate\u{2069} \u{200f}".to_string(),
        format!("Mozilla/5.0 {}<img src={c}/long.png>", "A".repeat(LONG_VALUE)),
        "=HYPERLINK(\"http://127.0.0.1/x\",\"click\")".to_string(),
        "\u{0}nul and invalid \u{fffd} bytes".to_string(),
    ]
}

/// A finding with a hostile value in every field a report shows. `index` picks which payloads go
/// where, so a set of findings covers each payload in each field.
pub fn finding(canary: &str, index: usize) -> Finding {
    let p = payloads(canary);
    let at = |k: usize| p[(index + k) % p.len()].clone();
    let entities = Entities {
        source: Some(at(0)),
        destination: Some(at(1)),
        domain: Some(at(2)),
        user: Some(at(3)),
        indicator: Some(at(4)),
        remote: Some(RemoteEnd {
            address: at(5),
            as_number: Some(64_500),
            as_organization: Some(at(6)),
            network_type: Some(at(7)),
            network_type_reason: Some(at(8)),
            device: Some(RemoteDevice {
                class: at(9),
                vendor: Some(at(10)),
                product: Some(at(11)),
                description: at(12),
                evidence: at(13),
            }),
            names: vec![at(14), at(15)],
        }),
        // DHCP host names are whatever the client sent.
        host: Some(LocalHost {
            id: format!("name:{}", at(17)),
            name: Some(at(18)),
            mac: Some(at(19)),
            address: at(0),
            via: "dhcp".into(),
        }),
    };
    let detector = at(16);
    let mut figures = BTreeMap::new();
    figures.insert(at(0), json!(at(1)));
    figures.insert("nested".into(), json!({ "user_agent": at(2), "list": [at(3), at(4)] }));
    let mut sample = serde_json::Map::new();
    for k in 0..p.len() {
        sample.insert(format!("{}{k}", at(k)), json!(at(k + 1)));
    }
    Finding {
        id: finding_id(&detector, &entities),
        detector,
        title: at(5),
        severity: Severity::ALL[index % Severity::ALL.len()],
        score: 0.5,
        techniques: vec!["T1071.001".into(), at(6)],
        entities,
        first_seen: 1_717_372_800_000_000,
        last_seen: 1_717_459_200_000_000,
        evidence: Evidence {
            figures,
            uids: vec![at(7), at(8)],
            community_ids: vec![at(9)],
            samples: vec![sample],
        },
        explanation: at(10),
        identity_key: String::new(),
        // An analyst's note can hold whatever they pasted from a log.
        status: Some(Status {
            recurrence: if index.is_multiple_of(2) {
                Recurrence::New
            } else {
                Recurrence::Recurring
            },
            first_reported: 1_717_459_200_000_000,
            runs: 1 + index as u32,
            triage: Some(Triage {
                decision: if index.is_multiple_of(2) {
                    Decision::Acknowledged
                } else {
                    Decision::Suppressed
                },
                note: at(11),
                at: 1_717_459_200_000_000,
                until: Some(at(12)),
                by: Some(at(13)),
            }),
        }),
    }
}

/// Enough findings that every payload lands in every field.
pub fn findings(canary: &str) -> Vec<Finding> {
    (0..payloads(canary).len()).map(|i| finding(canary, i)).collect()
}
