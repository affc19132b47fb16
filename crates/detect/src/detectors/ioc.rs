//! **Known-bad infrastructure**: contact with an indicator from the bundled feeds (Black Lotus
//! Labs' SoHo botnets, the APT40 advisory), feeds imported into the store, or `--ioc-file`.
//!
//! What it finds: internal hosts that connected to, resolved, or sent HTTP/TLS to a listed
//! indicator, downloaded a listed file or were served a listed certificate, and listed addresses
//! that connected in. Matches are looked for in `conn` (both directions, addresses and
//! prefixes), `dns` queries, HTTP `Host` and URL, TLS SNI, the certificate chain of `ssl`
//! (`cert_chain_fps`, or `cert_chain_fuids` through `x509`), JA3/JA3S/JA4/JA4S where the ssl log
//! carries them, HASSH/HASSHServer where the ssh log does, and `files` hashes; a listed domain
//! also matches its subdomains. An indicator matches only inside its validity window.
//!
//! Why it matters: the advisory's first ask is to look for the published infrastructure. Contact
//! is command and control over an application-layer protocol (ATT&CK T1071; T1071.004 when it
//! is DNS) or, inbound, exploitation of a public-facing application (T1190).
//!
//! Scoring: 0.6 for a match at all (a DNS lookup alone may be a blocked or sinkholed attempt);
//! +0.2 when a connection actually reached the indicator (conn, HTTP or TLS); +0.1 when contact
//! repeats (10 or more records); +0.1 when it spans more than one day, the pattern of an implant
//! rather than a stray click; −0.2 when all the contact falls outside the time the feed reported
//! the indicator active (addresses of rented servers and home lines change hands).

use std::collections::BTreeMap;

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use lasthop_intel::{Indicator, IndicatorKind, IndicatorSet};
use serde_json::Value;

use super::{Detector, DetectorFuture, HuntContext, Row, rows};

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
            lasthop_query::functions::ioc::register(&hunt.ctx, &iocs);
            let hits = hits_sql(&hunt.ctx);
            let summary = rows(&hunt.ctx, "indicator matches", &summary_sql(&hits)).await?;
            let records = rows(&hunt.ctx, "indicator match records", &records_sql(&hits)).await?;
            let mut by_group: BTreeMap<(String, String), Vec<Row<'_>>> = BTreeMap::new();
            for r in records.iter() {
                let key = (r.text("host")?, r.text("indicator")?);
                by_group.entry(key).or_default().push(r);
            }
            summary
                .iter()
                .map(|s| {
                    let key = (s.text("host")?, s.text("indicator")?);
                    finding(s, by_group.remove(&key).unwrap_or_default(), &iocs)
                })
                .collect()
        })
    }
}

/// Every matching record as (host = our side, peer = the other side, indicator, via), over the
/// tables the store has.
fn hits_sql(ctx: &datafusion::prelude::SessionContext) -> String {
    let has = |t: &str| ctx.table_exist(t).unwrap_or(false);
    let cols = "ts, uid, community_id";
    let conn_cols = "ts, uid, community_id, dst_port, proto, service, duration, orig_bytes, resp_bytes, conn_state";
    let tls_cols = format!(
        "{cols}, dst_port, 'tcp' AS proto, 'ssl' AS service, NULL AS duration, NULL AS orig_bytes, NULL AS resp_bytes, NULL AS conn_state"
    );
    let mut parts = Vec::new();
    if has("conn") {
        parts.push(format!(
            "SELECT src AS host, dst AS peer, CAST(NULL AS VARCHAR) AS name, ioc_ip(dst, ts) AS indicator, 'conn' AS via, {conn_cols}
               FROM conn WHERE ioc_ip(dst, ts) IS NOT NULL"
        ));
        parts.push(format!(
            "SELECT dst, src, NULL, ioc_ip(src, ts), 'conn (inbound)', {conn_cols}
               FROM conn WHERE ioc_ip(src, ts) IS NOT NULL AND ioc_ip(dst, ts) IS NULL"
        ));
    }
    if has("dns") {
        parts.push(format!(
            "SELECT src, dst, query, ioc_domain(query, ts), 'dns', {cols}, dst_port, proto, NULL, NULL, NULL, NULL, NULL
               FROM dns WHERE ioc_domain(query, ts) IS NOT NULL"
        ));
    }
    if has("http") {
        parts.push(format!(
            "SELECT src, dst, host, coalesce(ioc_url(host, uri, ts), ioc_domain(host, ts)),
                    CASE WHEN ioc_url(host, uri, ts) IS NOT NULL THEN 'http url' ELSE 'http' END,
                    {cols}, dst_port, 'tcp', 'http', NULL, request_body_len, response_body_len, NULL
               FROM http WHERE coalesce(ioc_url(host, uri, ts), ioc_domain(host, ts)) IS NOT NULL"
        ));
    }
    if has("ssl") {
        parts.push(format!(
            "SELECT src, dst, server_name, ioc_domain(server_name, ts), 'ssl', {tls_cols}
               FROM ssl WHERE ioc_domain(server_name, ts) IS NOT NULL"
        ));
        parts.push(format!(
            "SELECT src, dst, server_name, ioc_cert(fingerprint, ts), 'ssl certificate', {tls_cols}
               FROM (SELECT *, unnest(cert_chain_fps) AS fingerprint FROM ssl)
              WHERE ioc_cert(fingerprint, ts) IS NOT NULL"
        ));
        let tls =
            "coalesce(ioc_tls(ja3, ts), ioc_tls(ja3s, ts), ioc_tls(ja4, ts), ioc_tls(ja4s, ts))";
        parts.push(format!(
            "SELECT src, dst, server_name, {tls}, 'ssl fingerprint', {tls_cols}
               FROM ssl WHERE {tls} IS NOT NULL"
        ));
        if has("x509") {
            parts.push(
                "SELECT s.src, s.dst, s.server_name, ioc_cert(x.fingerprint, s.ts), 'ssl certificate',
                        s.ts, s.uid, s.community_id, s.dst_port, 'tcp', 'ssl', NULL, NULL, NULL, NULL
                   FROM (SELECT *, unnest(cert_chain_fuids) AS fuid FROM ssl) s
                   JOIN x509 x ON x.id = s.fuid
                  WHERE ioc_cert(x.fingerprint, s.ts) IS NOT NULL"
            .to_string());
        }
    }
    if has("ssh") {
        let hassh = "coalesce(ioc_ssh(hassh, ts), ioc_ssh(hassh_server, ts))";
        parts.push(format!(
            "SELECT src, dst, NULL, {hassh}, 'ssh fingerprint', ts, uid, NULL, dst_port, 'tcp', 'ssh',
                    NULL, NULL, NULL, NULL
               FROM ssh WHERE {hassh} IS NOT NULL"
        ));
    }
    if has("files") {
        let digest = "coalesce(ioc_file(sha256, ts), ioc_file(sha1, ts), ioc_file(md5, ts))";
        parts.push(format!(
            "SELECT coalesce(src, rx_hosts[1]), coalesce(dst, tx_hosts[1]), filename, {digest}, 'files',
                    ts, coalesce(uid, conn_uids[1]), NULL, dst_port, NULL, source, duration, NULL, seen_bytes, NULL
               FROM files WHERE {digest} IS NOT NULL"
        ));
    }
    if parts.is_empty() {
        parts.push(format!(
            "SELECT arrow_cast(NULL, 'FixedSizeBinary(16)') AS host, NULL AS peer, NULL AS name, NULL AS indicator, NULL AS via, {conn_cols} FROM (SELECT 1) WHERE false"
        ));
    }
    parts.join("\n UNION ALL\n")
}

fn summary_sql(hits: &str) -> String {
    format!(
        "WITH hits AS ({hits}) SELECT
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
            -- Summed as whole microseconds (Zeek's resolution): a float sum's last digits
            -- depend on the order the threads add in, and evidence must not change run to run.
            CAST(sum(CAST(round(duration * 1000000) AS BIGINT)) AS DOUBLE) / 1000000.0 AS duration
         FROM hits GROUP BY host, indicator"
    )
}

fn records_sql(hits: &str) -> String {
    format!(
        "WITH hits AS ({hits}) SELECT * FROM (
            SELECT ip_text(host) AS host, ip_text(peer) AS peer, name, indicator, via, ts, uid, community_id,
                   dst_port, proto, service, duration, orig_bytes, resp_bytes, conn_state,
                   row_number() OVER (PARTITION BY host, indicator ORDER BY ts, uid) AS rn
            FROM hits) WHERE rn <= {UIDS_PER_FINDING} ORDER BY host, indicator, rn"
    )
}

/// Every indicator, of any kind, with this value.
fn indicators_named<'a>(set: &'a IndicatorSet, value: &str) -> Vec<&'a Indicator> {
    use IndicatorKind::*;
    [Ip, Prefix, Domain, Url, FileHash, CertFingerprint, TlsFingerprint, SshFingerprint]
        .into_iter()
        .flat_map(|k| set.lookup(k, value))
        .collect()
}

fn day_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn finding(summary: Row<'_>, records: Vec<Row<'_>>, set: &IndicatorSet) -> Result<Finding> {
    let host = summary.text("host")?;
    let indicator = summary.text("indicator")?;
    let via = summary.text("via")?;
    let count = summary.u64("records")?.unwrap_or_default();
    let days = summary.u64("days")?.unwrap_or_default();
    let peers = summary.u64("peers")?.unwrap_or_default();
    let inbound = via == "conn (inbound)";
    let contacted = via.split(',').any(|v| v != "dns");
    let file = via.split(',').any(|v| v == "files");
    let first = summary.i64("first_seen")?.unwrap_or_default();
    let last = summary.i64("last_seen")?.unwrap_or_default();
    let known = indicators_named(set, &indicator);
    // Contact entirely outside every window a feed reported the indicator active in.
    let stale: Vec<&&Indicator> =
        known.iter().filter(|i| i.first_reported.is_some() || i.last_reported.is_some()).collect();
    let outside_reported =
        !stale.is_empty() && stale.iter().all(|i| !i.reported_at(first) && !i.reported_at(last));
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
    if outside_reported {
        score -= 0.2;
    }
    let peer = if peers == 1 { Some(summary.text("peer")?) } else { None };
    let names = summary.u64("names")?.unwrap_or_default();
    let domain = if names >= 1 { Some(summary.text("name")?) } else { None };
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
    let title = if file {
        format!("{host} transferred listed file {indicator}")
    } else if inbound {
        format!("Listed address {indicator} connected in to {host}")
    } else if contacted {
        format!("{host} contacted listed indicator {indicator}")
    } else {
        format!("{host} looked up names under listed domain {indicator}")
    };
    let mut f = Finding::new(ID, title, score, entities);
    f.techniques = if file {
        vec!["T1105".into()]
    } else if inbound {
        vec!["T1190".into()]
    } else if contacted {
        vec!["T1071".into()]
    } else {
        vec!["T1071.004".into()]
    };
    f.first_seen = first;
    f.last_seen = last;
    let intel: Vec<Value> = known
        .iter()
        .map(|i| {
            let mut m = serde_json::Map::new();
            m.insert("feed".into(), i.feed.clone().into());
            m.insert("type".into(), i.kind.name().into());
            for (key, v) in [("context", &i.context), ("reference", &i.reference)] {
                if let Some(v) = v {
                    m.insert(key.into(), v.clone().into());
                }
            }
            for (key, v) in
                [("first_reported", i.first_reported), ("last_reported", i.last_reported)]
            {
                if let Some(v) = v {
                    m.insert(key.into(), day_text(v).into());
                }
            }
            Value::Object(m)
        })
        .collect();
    f.evidence.figures.insert("intel".into(), Value::Array(intel));
    for key in ["records", "peers", "days", "via", "bytes_out", "bytes_in", "duration"] {
        let v = summary.json(key)?;
        if !v.is_null() {
            f.evidence.figures.insert(key.to_string(), v);
        }
    }
    for r in &records {
        let (uid, community_id) = (r.text("uid")?, r.text("community_id")?);
        if !uid.is_empty() {
            f.evidence.uids.push(uid);
        }
        if !community_id.is_empty() {
            f.evidence.community_ids.push(community_id);
        }
    }
    f.evidence.community_ids.dedup();
    f.evidence.samples = records
        .iter()
        .take(SAMPLES_PER_FINDING)
        .map(|r| {
            let mut sample = r.to_json_map();
            sample.remove("rn");
            sample.retain(|_, v| !v.is_null());
            sample
        })
        .collect();
    let span = if days > 1 { format!(" over {days} days") } else { String::new() };
    let said: Vec<String> = known
        .iter()
        .map(|i| match &i.context {
            Some(c) => format!("{} ({})", i.feed, c),
            None => i.feed.clone(),
        })
        .collect();
    let source =
        if said.is_empty() { String::new() } else { format!(" Listed by {}.", said.join("; ")) };
    let staleness = if outside_reported {
        let windows: Vec<String> = stale
            .iter()
            .map(|i| {
                format!(
                    "{} to {}",
                    i.first_reported.map(day_text).unwrap_or_else(|| "?".into()),
                    i.last_reported.map(day_text).unwrap_or_else(|| "?".into())
                )
            })
            .collect();
        format!(
            " The feed reported it active {} and this contact falls outside that: addresses of \
             rented servers and home lines change hands, so confirm before acting.",
            windows.join(", ")
        )
    } else {
        String::new()
    };
    f.explanation = if file {
        format!(
            "{host} transferred a file whose hash {indicator} is on the indicator list, in {count} record(s){span}. \
             Find the file on {host} (its name and the process that wrote it) and treat the host as compromised \
             until shown otherwise."
        )
    } else if inbound {
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
    f.explanation.push_str(&source);
    f.explanation.push_str(&staleness);
    Ok(f)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use lasthop_normalise::LogType;

    use super::*;
    use lasthop_query::session::{SessionOptions, from_batches};
    use std::sync::Arc;

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
        let list =
            lasthop_intel::feeds::read_feed(Path::new("iocs.txt"), "iocs.txt", iocs).indicators;
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
    async fn files_urls_certificates_and_time_windows() {
        let t = 1_717_372_800; // 2024-06-03
        let feed = "type,value,valid_until,first_seen,last_seen,description\n\
                    sha256,AAAA000000000000000000000000000000000000000000000000000000000001,,,,web shell\n\
                    url,http://shell.example/x.aspx,,,,upload\n\
                    cert-fingerprint,bb:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:02,,,,relay cert\n\
                    ja3s,AE4EDC6FAF64D08308082AD26BE60767,,,,implant server\n\
                    hassh-md5,EC7378C1A92F5A8DDE7E8B7A1DDF33D1,,,,tunnelling client\n\
                    ip,192.0.2.66,2024-01-01,,,expired\n\
                    ip,192.0.2.200,,2020-01-01,2020-02-01,old botnet node\n";
        let files = vec![format!(
            "{t}.0\tF1\tC1\t10.0.0.9\t5000\t203.0.113.50\t80\tshell.aspx\taaaa000000000000000000000000000000000000000000000000000000000001"
        )];
        let http = vec![
            format!(
                "{t}.0\tH1\t10.0.0.10\t5000\t203.0.113.51\t80\tshell.example\t/x.aspx?cmd=whoami"
            ),
            format!("{t}.0\tH2\t10.0.0.11\t5000\t203.0.113.51\t80\tshell.example\t/index.html"),
        ];
        let ssl = vec![
            format!(
                "{t}.0\tS1\t10.0.0.12\t5000\t203.0.113.52\t443\tok.example\tcc00000000000000000000000000000000000001,BB00000000000000000000000000000000000002\t-"
            ),
            format!(
                "{t}.0\tS2\t10.0.0.15\t5000\t203.0.113.53\t443\tother.example\t(empty)\tae4edc6faf64d08308082ad26be60767"
            ),
        ];
        let ssh = vec![
            format!(
                "{t}.0\tS3\t10.0.0.16\t5000\t203.0.113.54\t22\tec7378c1a92f5a8dde7e8b7a1ddf33d1"
            ),
            format!(
                "{t}.0\tS4\t10.0.0.17\t5000\t203.0.113.54\t22\t06046964c022c6407d15a27b12a6a4fb"
            ),
        ];
        let conn = vec![
            format!("{t}.0\tC7\t10.0.0.13\t5000\t192.0.2.66\t443\ttcp\t1\t10\t10"),
            format!("{t}.0\tC8\t10.0.0.14\t5000\t192.0.2.200\t443\ttcp\t1\t10\t10"),
        ];
        let tables = vec![
            parse(
                "files",
                &tsv("ts fuid uid id.orig_h id.orig_p id.resp_h id.resp_p filename sha256", &files),
            ),
            parse("http", &tsv("ts uid id.orig_h id.orig_p id.resp_h id.resp_p host uri", &http)),
            parse(
                "ssl",
                &tsv(
                    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p server_name cert_chain_fps ja3s",
                    &ssl,
                ),
            ),
            parse(
                "conn",
                &tsv(
                    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto duration orig_bytes resp_bytes",
                    &conn,
                ),
            ),
            parse("ssh", &tsv("ts uid id.orig_h id.orig_p id.resp_h id.resp_p hassh", &ssh)),
        ];
        let list = lasthop_intel::feeds::read_feed(Path::new("feed.csv"), "feed.csv", feed);
        assert_eq!(
            list.diagnostics.counts.values().sum::<u64>(),
            0,
            "{:?}",
            list.diagnostics.samples
        );
        let ctx =
            from_batches(tables, &SessionOptions { threads: 2, ..Default::default() }).unwrap();
        let hunt = HuntContext { iocs: Some(Arc::new(list.indicators)), ..HuntContext::new(ctx) };
        let findings = IocMatch.run(&hunt).await.unwrap();
        let by_host = |h: &str| findings.iter().find(|f| f.entities.source.as_deref() == Some(h));
        assert_eq!(findings.len(), 6, "{findings:#?}");

        let hassh = by_host("10.0.0.16").unwrap();
        assert_eq!(hassh.evidence.figures["via"], "ssh fingerprint");
        assert!(hassh.explanation.contains("tunnelling client"), "{}", hassh.explanation);
        assert!((hassh.score - 0.8).abs() < 1e-9, "a handshake is contact: {}", hassh.score);
        assert!(by_host("10.0.0.17").is_none(), "another client's HASSH");

        let ja3s = by_host("10.0.0.15").unwrap();
        assert_eq!(ja3s.evidence.figures["via"], "ssl fingerprint");
        assert!(ja3s.explanation.contains("implant server"), "{}", ja3s.explanation);

        let file = by_host("10.0.0.9").unwrap();
        assert_eq!(file.techniques, ["T1105"]);
        assert!(file.title.contains("listed file"));
        assert!(file.explanation.contains("feed.csv (web shell)"), "{}", file.explanation);
        assert_eq!(file.evidence.figures["intel"][0]["context"], "web shell");

        let url = by_host("10.0.0.10").unwrap();
        assert_eq!(url.entities.indicator.as_deref(), Some("shell.example/x.aspx"));
        assert_eq!(url.evidence.figures["via"], "http url");
        assert!(by_host("10.0.0.11").is_none(), "another path on the host is not the URL");

        let cert = by_host("10.0.0.12").unwrap();
        assert_eq!(cert.evidence.figures["via"], "ssl certificate");

        assert!(by_host("10.0.0.13").is_none(), "an expired indicator does not match");
        let old = by_host("10.0.0.14").unwrap();
        assert!((old.score - 0.6).abs() < 1e-9, "{}", old.score);
        assert!(old.explanation.contains("2020-01-01 to 2020-02-01"), "{}", old.explanation);
    }

    #[tokio::test]
    async fn an_empty_list_finds_nothing() {
        let ctx =
            from_batches(vec![], &SessionOptions { threads: 1, ..Default::default() }).unwrap();
        let hunt =
            HuntContext { iocs: Some(Arc::new(IndicatorSet::default())), ..HuntContext::new(ctx) };
        assert!(IocMatch.run(&hunt).await.unwrap().is_empty());
    }
}
