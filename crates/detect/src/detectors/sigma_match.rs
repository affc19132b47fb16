//! **Sigma rules** on web-server logs (`web`) and, as Sigma's proxy log source, Zeek's `http`
//! requests of internal clients: what a proxy sees. SigmaHQ's proxy rules describe clients going
//! out (a framework's user agent, a download cradle); an Internet visitor of the site's own
//! servers is no such client, and Googlebot's user agent is one of theirs.
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
//! 0.9 — plus 0.05 when the client sent ten or more matching requests. Each finding counts the
//! matching requests that may have worked (`possible_successes`: answered 1xx–3xx, unanswered,
//! or with an error page unlike the site's usual one or one the site has no usual page for
//! (fewer than three clients had it)): a client whose every attempt failed, with
//! no other finding, is folded into its site's scanning campaign ([`crate::campaigns`]).

use std::sync::Arc;

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use lasthop_sigma::{MatchOptions, Rule, RuleSet};
use serde_json::{Value, json};

use super::{Detector, DetectorFuture, HuntContext, Row, rows};

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
            for table in ["web", "http"] {
                if !hunt.ctx.table_exist(table)? {
                    continue;
                }
                let Some(call) = lasthop_query::functions::sigma::register_matcher(
                    &hunt.ctx,
                    &rules,
                    table,
                    MatchOptions::default(),
                ) else {
                    continue;
                };
                // One scan of the table evaluates every rule; only matching rows come out, once
                // per rule they match.
                let sql = match table {
                    "web" => format!(
                        "WITH matched AS (SELECT unnest({call}) AS rule, c_ip, s_ip, cs_host, ts, raw,
                                                 cs_uri_stem, sc_status, sc_bytes, _source, _line
                                          FROM web),
                              {usual}
                         SELECT rule, ip_text(c_ip) AS client, ip_text(s_ip) AS server, cs_host AS host,
                                count(*) OVER (PARTITION BY rule, c_ip) AS hits,
                                sum({may_have_worked}) OVER (PARTITION BY rule, c_ip) AS possible_successes,
                                CAST(min(ts) OVER (PARTITION BY rule, c_ip) AS BIGINT) AS first_seen,
                                CAST(max(ts) OVER (PARTITION BY rule, c_ip) AS BIGINT) AS last_seen,
                                raw AS line, concat(_source, ':', CAST(_line AS VARCHAR)) AS place,
                                NULL AS uid, cs_uri_stem AS path,
                                row_number() OVER (PARTITION BY rule, c_ip ORDER BY ts, _line) AS rn
                         FROM matched m LEFT JOIN usual u
                           ON u.site = {web_site} AND u.status = m.sc_status",
                        usual = usual_failures("web", WEB_SITE, "c_ip", "sc_status", "sc_bytes"),
                        may_have_worked = may_have_worked("m.sc_status", "m.sc_bytes"),
                        web_site = WEB_SITE.replace("s_ip", "m.s_ip").replace("cs_host", "m.cs_host"),
                    ),
                    _ => format!(
                        "WITH matched AS (SELECT unnest({call}) AS rule, src, dst, host, ts, method, uri,
                                                 user_agent, uid, status_code, response_body_len,
                                                 _source, _line FROM http WHERE is_internal(src)),
                              {usual}
                         SELECT rule, ip_text(src) AS client, ip_text(dst) AS server, host,
                                count(*) OVER (PARTITION BY rule, src) AS hits,
                                sum({may_have_worked}) OVER (PARTITION BY rule, src) AS possible_successes,
                                CAST(min(ts) OVER (PARTITION BY rule, src) AS BIGINT) AS first_seen,
                                CAST(max(ts) OVER (PARTITION BY rule, src) AS BIGINT) AS last_seen,
                                concat_ws(' ', method, concat(host, uri), user_agent) AS line,
                                concat(_source, ':', CAST(_line AS VARCHAR)) AS place, uid,
                                split_part(uri, '?', 1) AS path,
                                row_number() OVER (PARTITION BY rule, src ORDER BY ts, uid) AS rn
                         FROM matched m LEFT JOIN usual u
                           ON u.site = ip_text(m.dst) AND u.status = m.status_code",
                        usual = usual_failures("http", "ip_text(dst)", "src", "status_code", "response_body_len"),
                        may_have_worked = may_have_worked("m.status_code", "m.response_body_len"),
                    ),
                };
                let sql = format!(
                    "SELECT *, sigma_decode(line) AS decoded FROM ({sql})
                     WHERE rn <= {LINES_PER_FINDING} ORDER BY rule, client, rn"
                );
                let mut current: Option<(u64, Finding)> = None;
                for r in rows(&hunt.ctx, "sigma matches", &sql).await?.iter() {
                    let text = |k: &str| r.text(k);
                    let index = r.u64("rule")?.unwrap_or(u64::MAX);
                    let Some(rule) = rules.rules.get(index as usize) else { continue };
                    let client = text("client")?;
                    if current.as_ref().is_none_or(|(i, f)| {
                        *i != index || f.entities.source.as_deref() != Some(client.as_str())
                    }) {
                        findings.extend(current.take().map(|(_, f)| f));
                        current = Some((index, finding(rule, r)?));
                    }
                    if let Some((_, f)) = current.as_mut() {
                        let mut sample: serde_json::Map<String, Value> = [
                            ("line", text("line")?),
                            ("place", text("place")?),
                            ("path", text("path")?),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), Value::String(v)))
                        .collect();
                        // The decoded form is what the rule may have matched: show both.
                        let decoded = text("decoded")?;
                        if !decoded.is_empty() {
                            sample.insert("decoded".into(), Value::String(decoded));
                        }
                        f.evidence.samples.push(sample);
                        let uid = text("uid")?;
                        if !uid.is_empty() {
                            f.evidence.uids.push(uid);
                        }
                    }
                }
                findings.extend(current.map(|(_, f)| f));
            }
            Ok(findings)
        })
    }
}

/// The site a web-server log line belongs to: the server's address where the log has it, else
/// the Host asked for.
const WEB_SITE: &str = "COALESCE(ip_text(s_ip), lower(cs_host), '')";

/// `usual AS (…)`: per site and error status, the median size of the responses when at least
/// [`USUAL_CLIENTS`] clients got that status: the site's own not-found (or forbidden, or error)
/// page. Fewer clients do not make a usual page, and an attacker's own answers must not be the
/// yardstick they are measured against.
fn usual_failures(table: &str, site: &str, client: &str, status: &str, size: &str) -> String {
    format!(
        "usual AS (SELECT {site} AS site, {status} AS status,
                          approx_median(CAST({size} AS DOUBLE)) AS bytes
                   FROM {table} WHERE {status} >= 400 GROUP BY 1, 2
                   HAVING count(DISTINCT {client}) >= {USUAL_CLIENTS})"
    )
}

/// Clients that must have had an error status from a site before its page for that status is
/// its usual one.
const USUAL_CLIENTS: u32 = 3;

/// 1 for a matching request that may have worked: answered with success or a redirect, with no
/// status at all, with an error page unlike the site's usual one for that status (more than
/// half its size and 512 bytes away: a stack trace, a command's output), or with an error the
/// site has no usual page for.
fn may_have_worked(status: &str, size: &str) -> String {
    format!(
        "CASE WHEN {status} IS NULL OR {status} < 400 THEN 1
              WHEN u.bytes IS NULL THEN 1
              WHEN {size} IS NOT NULL
                   AND abs(CAST({size} AS DOUBLE) - u.bytes) > greatest(512.0, 0.5 * u.bytes) THEN 1
              ELSE 0 END"
    )
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

fn finding(rule: &Rule, row: Row<'_>) -> Result<Finding> {
    let client = row.text("client")?;
    let server = Some(row.text("server")?).filter(|s| !s.is_empty());
    let hits = row.u64("hits")?.unwrap_or_default();
    let possible_successes = row.u64("possible_successes")?.unwrap_or_default();
    let entities = Entities {
        source: Some(client.clone()),
        destination: server,
        domain: Some(row.text("host")?).filter(|h| !h.is_empty()),
        ..Default::default()
    };
    let mut score = level_score(&rule.level);
    if hits >= 10 {
        score += 0.05;
    }
    // A rule without an id is told apart by its title.
    let key = if rule.id.is_empty() { &rule.title } else { &rule.id };
    let mut f =
        Finding::keyed(ID, key, format!("Sigma: {} ({client})", rule.title), score, entities);
    f.techniques = rule
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack.t"))
        .map(|t| format!("T{}", t.to_uppercase()))
        .collect();
    if f.techniques.is_empty() {
        f.techniques.push("T1190".into());
    }
    f.first_seen = row.i64("first_seen")?.unwrap_or_default();
    f.last_seen = row.i64("last_seen")?.unwrap_or_default();
    for (k, v) in [
        ("rule_id", json!(rule.id)),
        ("rule_title", json!(rule.title)),
        ("rule_level", json!(rule.level)),
        ("rule_origin", json!(rule.origin)),
        ("rule_tags", json!(rule.tags)),
        ("matching_records", json!(hits)),
        ("possible_successes", json!(possible_successes)),
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
    Ok(f)
}
