//! **Rare peer**: an external address that is the only one of its kind any internal host talks
//! to — no other host contacts it, and no other host contacts anything in its autonomous system
//! — and that one host keeps returning to it.
//!
//! What it finds: per (internal source, external network) in `conn`, where no other internal
//! host contacts any address of that network (its ASN, `asn()`), the source made at least
//! [`MIN_CONNECTIONS`] connections to it on at least [`MIN_DAYS`] distinct days, and the site
//! has at least [`MIN_ORGANISATION`] internal hosts talking out. Addresses with no announced
//! range (`asn()` null) count as their own network. One finding per source and network, naming
//! its addresses.
//!
//! Why it matters: an organisation's traffic concentrates on a few hundred networks (clouds,
//! CDNs, SaaS, partners). Implants calling home through rented servers or compromised home
//! routers (ATT&CK T1071 application-layer C2, T1584.008 compromised network devices) stand out
//! by being the organisation's only contact with their network. Rarity alone is weak evidence —
//! a developer's hobby server is also unique — so this is a low-severity lead whose value is in
//! what it adds to other findings on the same pair.
//!
//! Scoring: 0.3; +0.15 when the destination is a residential line or behind carrier-grade NAT;
//! +0.1 when contact spans a week or more; +0.05 when the destination has no announced range.

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use serde_json::json;

use super::{BOTH_WAYS_BYTES, Detector, DetectorFuture, HuntContext, Row, rows};

pub struct RarePeer;

pub const ID: &str = "rare-peer";

/// Connections before a unique pair is more than a stray visit.
pub const MIN_CONNECTIONS: u64 = 5;
/// Distinct days of contact before a unique pair counts as returning.
pub const MIN_DAYS: u64 = 2;

/// Internal hosts with outbound traffic before "no other host" means anything: in a capture of
/// one or two machines every network is unique.
pub const MIN_ORGANISATION: u64 = 10;

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Detector for RarePeer {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "an external address whose network no other internal host contacts, returned to over days"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            if !hunt.ctx.table_exist("conn")? {
                return Ok(Vec::new());
            }
            // Contacts are first summed per (source, destination, day), a plain aggregation
            // that spills; the network lookup and the distinct counts then work on those
            // sums, and only for networks a single host talks to (measured on 63 M
            // connections: 402 s for the distinct aggregates over every connection). The
            // unique networks come first in the join: its first input is the one held in
            // memory, and joins do not spill.
            let outbound = "is_internal(src) AND NOT is_internal(dst) AND NOT is_special(dst)";
            let sql = format!(
                "WITH contacts AS (
                    SELECT src, dst, CAST(ts AS BIGINT) / {MICROS_PER_DAY} AS day,
                           count(*) AS connections,
                           sum({BOTH_WAYS_BYTES}) AS bytes,
                           CAST(min(ts) AS BIGINT) AS first_us, CAST(max(ts) AS BIGINT) AS last_us,
                           min(uid) AS example_uid
                    FROM conn WHERE {outbound}
                    GROUP BY src, dst, day),
                 keyed AS (SELECT *, COALESCE(CAST(asn(dst) AS VARCHAR), ip_text(dst)) AS kind_key
                           FROM contacts),
                 organisation AS (SELECT count(DISTINCT src) AS hosts FROM conn WHERE {outbound}),
                 unique_networks AS (SELECT kind_key FROM keyed GROUP BY kind_key
                                     HAVING count(DISTINCT src) = 1),
                 pairs AS (
                    SELECT k.src, k.kind_key, sum(k.connections) AS connections,
                           count(DISTINCT k.dst) AS addresses, min(k.dst) AS dst,
                           array_to_string(array_slice(array_sort(array_agg(DISTINCT ip_text(k.dst))), 1, 10), ' ') AS address_list,
                           count(DISTINCT k.day) AS days, sum(k.bytes) AS bytes,
                           min(k.first_us) AS first_us, max(k.last_us) AS last_us,
                           min(k.example_uid) AS example_uid
                    FROM unique_networks n JOIN keyed k ON k.kind_key = n.kind_key
                    GROUP BY k.src, k.kind_key)
                 SELECT ip_text(p.src) AS source, ip_text(p.dst) AS destination, p.addresses, p.address_list,
                        asn(p.dst) AS asn, as_org(p.dst) AS organisation, network_type(p.dst) AS kind,
                        p.connections, p.days, p.bytes, p.first_us, p.last_us, p.example_uid
                 FROM pairs p
                 CROSS JOIN organisation o
                 WHERE o.hosts >= {MIN_ORGANISATION}
                   AND p.connections >= {MIN_CONNECTIONS} AND p.days >= {MIN_DAYS}"
            );
            rows(&hunt.ctx, "rare peers", &sql).await?.iter().map(finding).collect()
        })
    }
}

/// The score of a unique pair.
pub fn score(kind: &str, span_days: f64, announced: bool) -> f64 {
    let mut s = 0.3;
    if matches!(kind, "residential" | "cgnat") {
        s += 0.15;
    }
    if span_days >= 7.0 {
        s += 0.1;
    }
    if !announced {
        s += 0.05;
    }
    s
}

fn finding(row: Row<'_>) -> Result<Finding> {
    let count = |k: &str| row.u64(k).map(Option::unwrap_or_default);
    let time = |k: &str| row.i64(k).map(Option::unwrap_or_default);
    let (source, destination, kind) =
        (row.text("source")?, row.text("destination")?, row.text("kind")?);
    let asn = row.u64("asn")?;
    let (first, last) = (time("first_us")?, time("last_us")?);
    let span_days = (last - first) as f64 / MICROS_PER_DAY as f64;
    let network = match asn {
        Some(n) => format!("AS{n} {}", row.text("organisation")?),
        None => "no announced network".to_string(),
    };
    let entities = Entities {
        source: Some(source.clone()),
        destination: Some(destination.clone()),
        ..Default::default()
    };
    let addresses = count("addresses")?;
    let address_list = row.text("address_list")?;
    let (connections, days) = (count("connections")?, count("days")?);
    let title = if addresses > 1 {
        format!("Rare peer: {source} is the only host reaching {network} ({addresses} addresses)")
    } else {
        format!("Rare peer: {source} is the only host reaching {destination} ({network})")
    };
    let mut f = Finding::new(ID, title, score(&kind, span_days, asn.is_some()), entities);
    f.techniques = vec!["T1071".into()];
    if matches!(kind.as_str(), "residential" | "cgnat") {
        f.techniques.push("T1584.008".into());
    }
    f.first_seen = first;
    f.last_seen = last;
    for (k, v) in [
        ("connections", json!(connections)),
        ("active_days", json!(days)),
        ("span_days", json!((span_days * 10.0).round() / 10.0)),
        ("bytes", json!(count("bytes")?)),
        ("addresses", json!(address_list.split(' ').collect::<Vec<_>>())),
        ("internal_hosts_contacting_network", json!(1)),
        ("network_type", json!(kind)),
    ] {
        f.evidence.figures.insert(k.into(), v);
    }
    if let Some(uid) = row.str("example_uid")? {
        f.evidence.uids.push(uid.to_string());
    }
    f.explanation = format!(
        "{source} made {connections} connections on {days} days to {address_list} ({network}, {kind}), and no \
         other internal host contacts any address of that network. Most of an \
         organisation's traffic goes to a few hundred shared networks; an implant's home does not. \
         On its own this is a lead, not a verdict: ask who on {source} needs {destination}, and \
         read it together with any other finding on this pair."
    );
    Ok(f)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use lasthop_normalise::LogType;

    use super::*;
    use lasthop_query::session::{SessionOptions, from_batches};

    fn conn(rows: &[(&str, &str, u32)]) -> (LogType, Vec<datafusion::arrow::array::RecordBatch>) {
        let t = 1_717_372_800u64;
        let mut lines = Vec::new();
        for (src, dst, n) in rows {
            for i in 0..*n {
                // Spread over two days.
                let ts = t + u64::from(i) * 40_000;
                lines.push(format!(
                    "{ts}.0\tC{src}{dst}{i}\t{src}\t5000\t{dst}\t443\ttcp\t1\t100\t100"
                ));
            }
        }
        let text = format!(
            "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\n\
             #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\n{}\n",
            lines.join("\n")
        );
        let mut batches = Vec::new();
        lasthop_sources::read_stream(
            Path::new("conn.log"),
            Box::new(std::io::Cursor::new(text.into_bytes())),
            &Default::default(),
            |_, b| {
                batches.push(b);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        (LogType::Conn, batches)
    }

    #[tokio::test]
    async fn only_a_network_no_one_else_reaches_counts() {
        let tables = vec![conn(&[
            ("10.0.0.1", "98.113.172.20", 6), // Verizon, reached by no one else: reported
            ("10.0.0.1", "98.113.172.21", 2), // with a second address of the same network
            ("10.0.0.2", "73.54.23.243", 6),  // Comcast, but 10.0.0.3 also reaches Comcast
            ("10.0.0.3", "73.54.23.10", 6),
            ("10.0.0.4", "45.63.1.9", 3), // unique, but too few connections
            ("10.0.0.5", "8.8.8.8", 6),
            ("10.0.0.6", "8.8.8.8", 6), // shared
            ("10.0.0.7", "8.8.8.8", 1),
            ("10.0.0.8", "8.8.8.8", 1),
            ("10.0.0.9", "8.8.8.8", 1),
            ("10.0.0.10", "8.8.4.4", 1),
        ])];
        let ctx =
            from_batches(tables, &SessionOptions { threads: 1, ..Default::default() }).unwrap();
        let findings = RarePeer.run(&HuntContext::new(ctx)).await.unwrap();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.entities.source.as_deref(), Some("10.0.0.1"));
        assert_eq!(f.entities.destination.as_deref(), Some("98.113.172.20"));
        assert!(f.title.contains("AS701"), "{}", f.title);
        assert!((f.score - 0.45).abs() < 1e-9, "residential: {}", f.score);
        let figure = |k: &str| f.evidence.figures[k].clone();
        assert_eq!(figure("connections"), json!(8));
        assert_eq!(figure("active_days"), json!(3));
        assert_eq!(figure("span_days"), json!(2.3));
        assert_eq!(figure("bytes"), json!(1600));
        assert_eq!(figure("addresses"), json!(["98.113.172.20", "98.113.172.21"]));
        assert_eq!(f.evidence.uids, ["C10.0.0.198.113.172.200"]);
    }

    #[tokio::test]
    async fn a_site_too_small_to_compare_has_no_rare_peers() {
        let tables = vec![conn(&[("10.0.0.1", "98.113.172.20", 6), ("10.0.0.2", "8.8.8.8", 6)])];
        let ctx =
            from_batches(tables, &SessionOptions { threads: 1, ..Default::default() }).unwrap();
        assert!(RarePeer.run(&HuntContext::new(ctx)).await.unwrap().is_empty());
    }

    #[test]
    fn home_lines_long_spans_and_unannounced_space_add() {
        assert!((score("hosting", 2.0, true) - 0.3).abs() < 1e-9);
        assert!((score("residential", 2.0, true) - 0.45).abs() < 1e-9);
        assert!((score("cgnat", 8.0, false) - 0.6).abs() < 1e-9);
    }
}
