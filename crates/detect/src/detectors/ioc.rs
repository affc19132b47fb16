//! **Known-bad infrastructure**: contact with an address, prefix or domain on an indicator list
//! (`--ioc-file`).
//!
//! What it finds: internal hosts that connected to, resolved, or sent HTTP/TLS to a listed
//! indicator, and listed addresses that connected in. Matches are looked for in `conn` (both
//! directions), `dns` queries, HTTP `Host` and TLS SNI; a listed domain also matches its
//! subdomains.
//!
//! Why it matters: the advisory's first ask is to look for the published infrastructure. Contact
//! is command and control over an application-layer protocol (ATT&CK T1071; T1071.004 when it
//! is DNS) or, inbound, exploitation of a public-facing application (T1190).
//!
//! Scoring: 0.6 for a match at all (a DNS lookup alone may be a blocked or sinkholed attempt);
//! +0.2 when a connection actually reached the indicator (conn, HTTP or TLS); +0.1 when contact
//! repeats (10 or more records); +0.1 when it spans more than one day, the pattern of an implant
//! rather than a stray click.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, FixedSizeBinaryArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use lasthop_findings::{Entities, Finding};
use lasthop_normalise::IP_WIDTH;
use lasthop_sources::intel::IocList;
use serde_json::Value;

use super::{Detector, DetectorFuture, HuntContext, query, rows};

pub struct IocMatch;

pub const ID: &str = "ioc-match";

/// Records kept per finding as uids; samples shown in full.
const UIDS_PER_FINDING: usize = 50;
const SAMPLES_PER_FINDING: usize = 5;

impl Detector for IocMatch {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "contact with addresses, prefixes or domains on an indicator list (--ioc-file)"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            let Some(iocs) = hunt.iocs.clone().filter(|l| !l.is_empty()) else {
                return Ok(Vec::new());
            };
            hunt.ctx.register_udf(ScalarUDF::from(IocFunction::new(IocKind::Ip, iocs.clone())));
            hunt.ctx.register_udf(ScalarUDF::from(IocFunction::new(IocKind::Domain, iocs)));
            let summary = rows(&query(&hunt.ctx, &summary_sql()).await?);
            let records = rows(&query(&hunt.ctx, &records_sql()).await?);
            let mut by_group: BTreeMap<(String, String), Vec<serde_json::Map<String, Value>>> =
                BTreeMap::new();
            for r in records {
                let key = (text(&r, "host"), text(&r, "indicator"));
                by_group.entry(key).or_default().push(r);
            }
            Ok(summary
                .into_iter()
                .map(|s| {
                    let key = (text(&s, "host"), text(&s, "indicator"));
                    finding(&s, by_group.remove(&key).unwrap_or_default())
                })
                .collect())
        })
    }
}

/// Every matching record as (host = our side, peer = the other side, indicator, via).
fn hits_sql() -> String {
    let cols = "ts, uid, community_id";
    let conn_cols = "ts, uid, community_id, dst_port, proto, service, duration, orig_bytes, resp_bytes, conn_state";
    format!(
        "SELECT src AS host, dst AS peer, CAST(NULL AS VARCHAR) AS name, ioc_ip(dst) AS indicator, 'conn' AS via, {conn_cols}
           FROM conn WHERE ioc_ip(dst) IS NOT NULL
         UNION ALL
         SELECT dst, src, NULL, ioc_ip(src), 'conn (inbound)', {conn_cols}
           FROM conn WHERE ioc_ip(src) IS NOT NULL AND ioc_ip(dst) IS NULL
         UNION ALL
         SELECT src, dst, query, ioc_domain(query), 'dns', {cols}, dst_port, proto, NULL, NULL, NULL, NULL, NULL
           FROM dns WHERE ioc_domain(query) IS NOT NULL
         UNION ALL
         SELECT src, dst, host, ioc_domain(host), 'http', {cols}, dst_port, 'tcp', 'http', NULL, request_body_len, response_body_len, NULL
           FROM http WHERE ioc_domain(host) IS NOT NULL
         UNION ALL
         SELECT src, dst, server_name, ioc_domain(server_name), 'ssl', {cols}, dst_port, 'tcp', 'ssl', NULL, NULL, NULL, NULL
           FROM ssl WHERE ioc_domain(server_name) IS NOT NULL"
    )
}

fn summary_sql() -> String {
    format!(
        "WITH hits AS ({}) SELECT
            ip_text(host) AS host, indicator,
            count(*) AS records,
            count(DISTINCT peer) AS peers,
            ip_text(min(peer)) AS peer,
            count(DISTINCT name) AS names,
            min(name) AS name,
            array_to_string(array_sort(array_agg(DISTINCT via)), ',') AS via,
            CAST(min(ts) AS BIGINT) AS first_seen,
            CAST(max(ts) AS BIGINT) AS last_seen,
            count(DISTINCT date_trunc('day', ts)) AS days,
            sum(orig_bytes) AS bytes_out,
            sum(resp_bytes) AS bytes_in,
            sum(duration) AS duration
         FROM hits GROUP BY host, indicator",
        hits_sql()
    )
}

fn records_sql() -> String {
    format!(
        "WITH hits AS ({}) SELECT * FROM (
            SELECT ip_text(host) AS host, ip_text(peer) AS peer, name, indicator, via, ts, uid, community_id,
                   dst_port, proto, service, duration, orig_bytes, resp_bytes, conn_state,
                   row_number() OVER (PARTITION BY host, indicator ORDER BY ts, uid) AS rn
            FROM hits) WHERE rn <= {UIDS_PER_FINDING} ORDER BY host, indicator, rn",
        hits_sql()
    )
}

fn text(row: &serde_json::Map<String, Value>, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn number(row: &serde_json::Map<String, Value>, key: &str) -> f64 {
    row.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn finding(
    summary: &serde_json::Map<String, Value>,
    records: Vec<serde_json::Map<String, Value>>,
) -> Finding {
    let host = text(summary, "host");
    let indicator = text(summary, "indicator");
    let via = text(summary, "via");
    let count = number(summary, "records") as u64;
    let days = number(summary, "days") as u64;
    let peers = number(summary, "peers") as u64;
    let inbound = via == "conn (inbound)";
    let contacted = via.split(',').any(|v| v != "dns");
    let mut score = 0.6;
    if contacted {
        score += 0.2;
    }
    if count >= 10 {
        score += 0.1;
    }
    if days > 1 {
        score += 0.1;
    }
    let peer = (peers == 1).then(|| text(summary, "peer"));
    let domain = (number(summary, "names") >= 1.0).then(|| text(summary, "name"));
    let entities = if inbound {
        Entities {
            source: peer.clone(),
            destination: Some(host.clone()),
            indicator: Some(indicator.clone()),
            ..Default::default()
        }
    } else {
        Entities {
            source: Some(host.clone()),
            destination: peer.clone(),
            domain: domain.clone(),
            indicator: Some(indicator.clone()),
            ..Default::default()
        }
    };
    let title = if inbound {
        format!("Listed address {indicator} connected in to {host}")
    } else if contacted {
        format!("{host} contacted listed indicator {indicator}")
    } else {
        format!("{host} looked up names under listed domain {indicator}")
    };
    let mut f = Finding::new(ID, title, score, entities);
    f.techniques = if inbound {
        vec!["T1190".into()]
    } else if contacted {
        vec!["T1071".into()]
    } else {
        vec!["T1071.004".into()]
    };
    f.first_seen = number(summary, "first_seen") as i64;
    f.last_seen = number(summary, "last_seen") as i64;
    for key in ["records", "peers", "days", "via", "bytes_out", "bytes_in", "duration"] {
        if let Some(v) = summary.get(key).filter(|v| !v.is_null()) {
            f.evidence.figures.insert(key.to_string(), v.clone());
        }
    }
    f.evidence.uids = records.iter().map(|r| text(r, "uid")).filter(|u| !u.is_empty()).collect();
    f.evidence.community_ids =
        records.iter().map(|r| text(r, "community_id")).filter(|c| !c.is_empty()).collect();
    f.evidence.community_ids.dedup();
    f.evidence.samples = records
        .into_iter()
        .take(SAMPLES_PER_FINDING)
        .map(|mut r| {
            r.remove("rn");
            r.retain(|_, v| !v.is_null());
            r
        })
        .collect();
    let span = if days > 1 { format!(" over {days} days") } else { String::new() };
    f.explanation = if inbound {
        format!(
            "{indicator} is on the indicator list and opened {count} connection(s) to {host}{span} ({via}). \
             Inbound contact from listed infrastructure is how public-facing applications are exploited: \
             check what {host} serves on the contacted ports, its web and application logs for the same \
             times, and whether any outbound connection from {host} followed."
        )
    } else if contacted {
        format!(
            "{host} reached {indicator}, which is on the indicator list, in {count} record(s){span} ({via}). \
             A connection that completed means data may have been exchanged: isolate or closely watch {host}, \
             find the process behind the connections (EDR, host logs at the times shown) and look for the same \
             indicator elsewhere in the network."
        )
    } else {
        format!(
            "{host} looked up {} under listed domain {indicator} {count} time(s){span}, with no HTTP or TLS \
             connection to it in the logs. A lookup alone may be a blocked or sinkholed attempt, but the \
             software that made it is still there: find the process on {host} that resolves it.",
            domain.unwrap_or_else(|| indicator.clone())
        )
    };
    f
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IocKind {
    Ip,
    Domain,
}

/// `ioc_ip(address)` and `ioc_domain(name)`: the matched indicator, or null.
#[derive(Debug)]
struct IocFunction {
    kind: IocKind,
    list: Arc<IocList>,
    signature: Signature,
}

impl IocFunction {
    fn new(kind: IocKind, list: Arc<IocList>) -> IocFunction {
        let arg = match kind {
            IocKind::Ip => DataType::FixedSizeBinary(IP_WIDTH),
            IocKind::Domain => DataType::Utf8,
        };
        IocFunction { kind, list, signature: Signature::exact(vec![arg], Volatility::Immutable) }
    }
}

impl PartialEq for IocFunction {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.list, &other.list)
    }
}

impl Eq for IocFunction {}

impl std::hash::Hash for IocFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        (Arc::as_ptr(&self.list) as usize).hash(state);
    }
}

impl ScalarUDFImpl for IocFunction {
    fn name(&self) -> &str {
        match self.kind {
            IocKind::Ip => "ioc_ip",
            IocKind::Domain => "ioc_domain",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let array = args.args[0].clone().into_array(args.number_rows)?;
        let out: StringArray = match self.kind {
            IocKind::Ip => {
                let Some(ips) = array.as_any().downcast_ref::<FixedSizeBinaryArray>() else {
                    return exec_err!("ioc_ip expects an address column");
                };
                (0..ips.len())
                    .map(|i| ips.is_valid(i).then(|| self.list.match_ip(ips.value(i))).flatten())
                    .collect()
            }
            IocKind::Domain => {
                let Some(names) = array.as_any().downcast_ref::<StringArray>() else {
                    return exec_err!("ioc_domain expects text");
                };
                names.iter().map(|n| n.and_then(|n| self.list.match_domain(n))).collect()
            }
        };
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use lasthop_normalise::LogType;
    use lasthop_sources::Diagnostics;

    use super::*;
    use crate::session::{SessionOptions, from_batches};

    /// Parses Zeek TSV text into batches, as the importer would.
    fn parse(log: &str, text: &str) -> (LogType, Vec<datafusion::arrow::array::RecordBatch>) {
        let mut batches = Vec::new();
        let input: Box<dyn std::io::Read + Send> =
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        let path = format!("{log}.log");
        lasthop_sources::read_stream(Path::new(&path), input, &Default::default(), |_, b| {
            batches.push(b);
            Ok::<(), ()>(())
        })
        .unwrap();
        (LogType::from_path(log).unwrap(), batches)
    }

    fn tsv(fields: &str, rows: &[String]) -> String {
        format!("#separator \\x09\n#fields\t{}\n{}\n", fields.replace(' ', "\t"), rows.join("\n"))
    }

    async fn run(
        tables: Vec<(LogType, Vec<datafusion::arrow::array::RecordBatch>)>,
        iocs: &str,
    ) -> Vec<Finding> {
        let mut list = IocList::default();
        list.add_text(Path::new("iocs.txt"), iocs, &mut Diagnostics::default());
        let ctx =
            from_batches(tables, &SessionOptions { threads: 2, ..Default::default() }).unwrap();
        let hunt = HuntContext { iocs: Some(Arc::new(list)), ..HuntContext::new(ctx) };
        let mut f = IocMatch.run(&hunt).await.unwrap();
        lasthop_findings::rank(&mut f);
        f
    }

    #[tokio::test]
    async fn outbound_inbound_and_lookup_only_matches_are_told_apart() {
        let day = 86_400;
        let conn: Vec<String> = (0..12)
            .map(|i| {
                format!(
                    "{}.0\tC{i}\t10.0.0.5\t4000{i}\t203.0.113.9\t443\ttcp\t5\t10\t20",
                    1_717_372_800 + i * day / 4
                )
            })
            .chain([
                "1717372900.0\tCin\t198.51.100.7\t5555\t10.0.0.80\t80\ttcp\t1\t100\t0".to_string()
            ])
            .chain(["1717372901.0\tCbg\t10.0.0.6\t5555\t192.0.2.1\t80\ttcp\t1\t100\t0".to_string()])
            .collect();
        let dns: Vec<String> =
            vec!["1717372800.0\tD1\t10.0.0.7\t5353\t10.0.0.53\t53\tabc.Evil.example.".to_string()];
        let ssl: Vec<String> =
            vec!["1717372800.0\tS1\t10.0.0.8\t5353\t192.0.2.44\t443\tcdn.evil.example".to_string()];
        let tables = vec![
            parse(
                "conn",
                &tsv(
                    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto duration orig_bytes resp_bytes",
                    &conn,
                ),
            ),
            parse("dns", &tsv("ts uid id.orig_h id.orig_p id.resp_h id.resp_p query", &dns)),
            parse("ssl", &tsv("ts uid id.orig_h id.orig_p id.resp_h id.resp_p server_name", &ssl)),
        ];
        let findings =
            run(tables, "203.0.113.9\n198.51.100.0/24\nevil.example\nunused.example\n").await;
        assert_eq!(findings.len(), 4, "{findings:#?}");

        let out =
            findings.iter().find(|f| f.entities.source.as_deref() == Some("10.0.0.5")).unwrap();
        assert_eq!(out.entities.destination.as_deref(), Some("203.0.113.9"));
        assert_eq!(out.evidence.figures["records"], 12);
        assert_eq!(out.evidence.figures["days"], 3);
        assert!((out.score - 1.0).abs() < 1e-9);
        assert_eq!(out.techniques, ["T1071"]);
        assert_eq!(out.first_seen, 1_717_372_800_000_000);
        assert_eq!(out.evidence.uids.len(), 12);
        assert!(out.evidence.samples.len() <= SAMPLES_PER_FINDING);

        let inbound = findings
            .iter()
            .find(|f| f.entities.destination.as_deref() == Some("10.0.0.80"))
            .unwrap();
        assert_eq!(inbound.entities.indicator.as_deref(), Some("198.51.100.0/24"));
        assert_eq!(inbound.techniques, ["T1190"]);

        let lookup =
            findings.iter().find(|f| f.entities.source.as_deref() == Some("10.0.0.7")).unwrap();
        assert!((lookup.score - 0.6).abs() < 1e-9, "a lookup alone scores lowest");
        assert!(lookup.title.contains("looked up"));
        assert_eq!(lookup.techniques, ["T1071.004"]);

        let sni =
            findings.iter().find(|f| f.entities.source.as_deref() == Some("10.0.0.8")).unwrap();
        assert_eq!(sni.entities.domain.as_deref(), Some("cdn.evil.example"));
        assert!((sni.score - 0.8).abs() < 1e-9);
    }

    #[tokio::test]
    async fn an_empty_list_finds_nothing() {
        let ctx =
            from_batches(vec![], &SessionOptions { threads: 1, ..Default::default() }).unwrap();
        let hunt =
            HuntContext { iocs: Some(Arc::new(IocList::default())), ..HuntContext::new(ctx) };
        assert!(IocMatch.run(&hunt).await.unwrap().is_empty());
    }
}
