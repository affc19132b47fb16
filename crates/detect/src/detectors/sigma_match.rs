//! **Sigma rules** on web-server logs (`web`) and, as Sigma's proxy log source, Zeek's `http`.
//!
//! What it finds: records matching a compiled Sigma rule (the bundled SigmaHQ webserver and
//! proxy rules, and `--rules DIR`), one finding per rule and client address, with the matching
//! lines (file and line for web logs, uid for Zeek).
//!
//! Why it matters: the advisory's actors get in through public-facing applications (ATT&CK
//! T1190) within hours of a proof of concept and leave web shells (T1505.003); SigmaHQ's rules
//! describe those exploits' requests. The rule's own ATT&CK tags are carried over.
//!
//! Scoring: by the rule's level — informational 0.2, low 0.35, medium 0.55, high 0.75, critical
//! 0.9 — plus 0.05 when the client sent ten or more matching requests.

use std::sync::Arc;

use lasthop_findings::{Entities, Finding};
use serde_json::{Value, json};

use super::{Detector, DetectorFuture, HuntContext, query, rows};
use crate::sigma::{CompiledRule, RuleSet};

pub struct SigmaMatch;

pub const ID: &str = "sigma";

/// Matching lines kept per finding.
const LINES_PER_FINDING: usize = 5;

impl Detector for SigmaMatch {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "Sigma webserver and proxy rules over web-server logs and Zeek http"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            let rules = hunt.rules.clone().unwrap_or_else(|| Arc::new(RuleSet::bundled()));
            let mut findings = Vec::new();
            for rule in &rules.rules {
                if !hunt.ctx.table_exist(rule.table)? {
                    continue;
                }
                let sql = match rule.table {
                    "web" => format!(
                        "SELECT ip_text(c_ip) AS client, ip_text(s_ip) AS server, cs_host AS host,
                                count(*) OVER (PARTITION BY c_ip) AS hits,
                                CAST(min(ts) OVER (PARTITION BY c_ip) AS BIGINT) AS first_seen,
                                CAST(max(ts) OVER (PARTITION BY c_ip) AS BIGINT) AS last_seen,
                                raw AS line, concat(_source, ':', CAST(_line AS VARCHAR)) AS place, NULL AS uid,
                                row_number() OVER (PARTITION BY c_ip ORDER BY ts, _line) AS rn
                         FROM web WHERE {}",
                        rule.predicate
                    ),
                    _ => format!(
                        "SELECT ip_text(src) AS client, ip_text(dst) AS server, host,
                                count(*) OVER (PARTITION BY src) AS hits,
                                CAST(min(ts) OVER (PARTITION BY src) AS BIGINT) AS first_seen,
                                CAST(max(ts) OVER (PARTITION BY src) AS BIGINT) AS last_seen,
                                concat_ws(' ', method, concat(host, uri), user_agent) AS line,
                                concat(_source, ':', CAST(_line AS VARCHAR)) AS place, uid,
                                row_number() OVER (PARTITION BY src ORDER BY ts, uid) AS rn
                         FROM http WHERE {}",
                        rule.predicate
                    ),
                };
                let sql = format!(
                    "SELECT * FROM ({sql}) WHERE rn <= {LINES_PER_FINDING} ORDER BY client, rn"
                );
                let mut current: Option<Finding> = None;
                for r in rows(&query(&hunt.ctx, &sql).await?) {
                    let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    let client = text("client");
                    if current
                        .as_ref()
                        .is_none_or(|f| f.entities.source.as_deref() != Some(client.as_str()))
                    {
                        findings.extend(current.take());
                        current = Some(finding(rule, &r));
                    }
                    if let Some(f) = current.as_mut() {
                        f.evidence.samples.push(
                            [("line", text("line")), ("place", text("place"))]
                                .into_iter()
                                .map(|(k, v)| (k.to_string(), Value::String(v)))
                                .collect(),
                        );
                        if !text("uid").is_empty() {
                            f.evidence.uids.push(text("uid"));
                        }
                    }
                }
                findings.extend(current);
            }
            Ok(findings)
        })
    }
}

/// The score of a rule's level.
pub fn level_score(level: &str) -> f64 {
    match level {
        "critical" => 0.9,
        "high" => 0.75,
        "medium" => 0.55,
        "low" => 0.35,
        _ => 0.2,
    }
}

fn finding(rule: &CompiledRule, row: &serde_json::Map<String, Value>) -> Finding {
    let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let number = |k: &str| row.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let client = text("client");
    let server = Some(text("server")).filter(|s| !s.is_empty());
    let hits = number("hits") as u64;
    let entities = Entities {
        source: Some(client.clone()),
        destination: server,
        domain: Some(text("host")).filter(|h| !h.is_empty()),
        ..Default::default()
    };
    let mut score = level_score(&rule.level);
    if hits >= 10 {
        score += 0.05;
    }
    let mut f = Finding::new(ID, format!("Sigma: {} ({client})", rule.title), score, entities);
    f.techniques = rule
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack.t"))
        .map(|t| format!("T{}", t.to_uppercase()))
        .collect();
    if f.techniques.is_empty() {
        f.techniques.push("T1190".into());
    }
    f.first_seen = number("first_seen") as i64;
    f.last_seen = number("last_seen") as i64;
    for (k, v) in [
        ("rule_id", json!(rule.id)),
        ("rule_title", json!(rule.title)),
        ("rule_level", json!(rule.level)),
        ("rule_origin", json!(rule.origin)),
        ("rule_tags", json!(rule.tags)),
        ("matching_records", json!(hits)),
        ("table", json!(rule.table)),
    ] {
        f.evidence.figures.insert(k.into(), v);
    }
    f.explanation = format!(
        "{client} sent {hits} request(s) matching the Sigma rule \"{}\" ({}, level {}). {} \
         The matching lines are in the evidence: check whether the server answered with success \
         and what it did next.",
        rule.title,
        if rule.id.is_empty() { "no id" } else { rule.id.as_str() },
        rule.level,
        rule.description.trim()
    );
    f
}
