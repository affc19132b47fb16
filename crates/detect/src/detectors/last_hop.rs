//! **Last-hop contact**: an internal host in quiet, repeated contact with a home broadband or
//! mobile line over many days.
//!
//! What it finds: per (internal source, external destination) where the destination's network
//! is residential or behind carrier-grade NAT (`network_type()`), pairs seen on at least
//! [`MIN_DAYS`] distinct days, moving little data (under [`MAX_BYTES_PER_DAY`] a day on
//! average), that few other internal hosts contact (at most [`MAX_PEERS`]).
//!
//! Why it matters: the advisory's actors relay C2 through compromised SoHo routers on home
//! broadband, so the implant's peer looks like a customer line; in one case such a device
//! talked to the victim for two months. Servers and workstations rarely have a reason to keep
//! returning to one home address for days (ATT&CK T1090.002 external proxy, T1584.008
//! compromised network devices). Heavy contact (video calls, transfers) and addresses many
//! hosts share (peer-to-peer swarms, a colleague's home VPN) are left out by the volume and
//! prevalence limits.
//!
//! Scoring: 0.45 at [`MIN_DAYS`] days, rising linearly to 0.8 at 30 days or more of span;
//! +0.05 when only this host talks to the address; +0.05 when the network first reached it more
//! than a day after the data begins (new). After detection, enrichment adds +0.1 when the
//! address presents an edge device's certificate or banner (a SoHo router) and +0.05 when no
//! name (DNS answer, TLS server name, HTTP Host) was ever behind it ([`crate::enrich`]). A beacon on the same pair is reported by
//! the beacon detector as well: this finding is the slower, longer view of it.

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use serde_json::json;

use super::{BOTH_WAYS_BYTES, Detector, DetectorFuture, HuntContext, Row, rows};

pub struct LastHopContact;

pub const ID: &str = "last-hop-contact";

/// Distinct days with contact before a pair counts.
pub const MIN_DAYS: u64 = 3;
/// Average bytes (both directions) per active day above which a pair is ordinary heavy use: a
/// C2 relay with some tasking moves a few megabytes a day, a video call a gigabyte an hour.
pub const MAX_BYTES_PER_DAY: f64 = 10_000_000.0;
/// Internal hosts that may share the address before it is a shared service.
pub const MAX_PEERS: u64 = 2;

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Detector for LastHopContact {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "quiet contact with a residential line or CGNAT address repeated over days (SoHo relay)"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            let sql = format!(
                "WITH pairs AS (
                    SELECT src, dst, network_type(dst) AS kind,
                           count(DISTINCT CAST(ts AS BIGINT) / {MICROS_PER_DAY}) AS days,
                           count(*) AS connections,
                           sum({BOTH_WAYS_BYTES}) AS bytes,
                           min(CAST(ts AS BIGINT)) AS first_us, max(CAST(ts AS BIGINT)) AS last_us,
                           min(uid) AS example_uid
                    FROM conn
                    WHERE is_internal(src) AND NOT is_internal(dst) AND NOT is_special(dst)
                    GROUP BY src, dst),
                 peers AS (SELECT dst, count(DISTINCT src) AS hosts,
                                  min(CAST(ts AS BIGINT)) AS network_first_us FROM conn
                           WHERE is_internal(src) GROUP BY dst),
                 span AS (SELECT min(CAST(ts AS BIGINT)) AS data_start_us FROM conn)
                 SELECT ip_text(p.src) AS source, ip_text(p.dst) AS destination, p.kind, p.days,
                        p.connections, p.bytes, p.first_us, p.last_us, p.example_uid, q.hosts,
                        q.network_first_us, s.data_start_us
                 FROM pairs p JOIN peers q ON p.dst = q.dst CROSS JOIN span s
                 WHERE p.kind IN ('residential', 'cgnat') AND p.days >= {MIN_DAYS}
                   AND CAST(p.bytes AS DOUBLE) / p.days <= {MAX_BYTES_PER_DAY}
                   AND q.hosts <= {MAX_PEERS}"
            );
            rows(&hunt.ctx, "last-hop contacts", &sql).await?.iter().map(finding).collect()
        })
    }
}

/// The score for a pair seen over `span_days` by `hosts` internal hosts, to a destination the
/// network first reached `new` (more than a day after the data begins).
pub fn score(span_days: f64, hosts: u64, new: bool) -> f64 {
    let t = ((span_days - MIN_DAYS as f64) / (30.0 - MIN_DAYS as f64)).clamp(0.0, 1.0);
    0.45 + 0.35 * t + if hosts == 1 { 0.05 } else { 0.0 } + if new { 0.05 } else { 0.0 }
}

fn finding(row: Row<'_>) -> Result<Finding> {
    let time = |k: &str| row.i64(k).map(Option::unwrap_or_default);
    let count = |k: &str| row.u64(k).map(Option::unwrap_or_default);
    let (source, destination, kind) =
        (row.text("source")?, row.text("destination")?, row.text("kind")?);
    let (first, last) = (time("first_us")?, time("last_us")?);
    let span_days = (last - first) as f64 / MICROS_PER_DAY as f64;
    let hosts = count("hosts")?;
    let new = time("network_first_us")? > time("data_start_us")? + MICROS_PER_DAY;
    let entities = Entities {
        source: Some(source.clone()),
        destination: Some(destination.clone()),
        ..Default::default()
    };
    let days = count("days")?;
    let connections = count("connections")?;
    let title = format!("Last-hop contact: {source} → {destination} ({kind} line, {days} days)");
    let mut f = Finding::new(ID, title, score(span_days, hosts, new), entities);
    f.techniques = vec!["T1090.002".into(), "T1584.008".into()];
    f.first_seen = first;
    f.last_seen = last;
    let bytes = count("bytes")? as f64;
    for (k, v) in [
        ("active_days", json!(days)),
        ("span_days", json!((span_days * 10.0).round() / 10.0)),
        ("connections", json!(connections)),
        ("bytes", json!(bytes as u64)),
        ("bytes_per_active_day", json!((bytes / days.max(1) as f64).round() as u64)),
        ("internal_hosts_contacting", json!(hosts)),
        ("network_type", json!(kind)),
        ("new_to_network", json!(new)),
    ] {
        f.evidence.figures.insert(k.into(), v);
    }
    if let Some(uid) = row.str("example_uid")? {
        f.evidence.uids.push(uid.to_string());
    }
    f.explanation = format!(
        "{source} contacted {destination}, a {} address, on {days} different days over {:.1} days \
         ({} connections, {} bytes in all — about {} a day){}. Homes and phones are rarely a \
         server's business for days on end; the advisory's actors relay C2 through compromised \
         home routers so that it looks like this. Check what {destination} is (its certificate \
         and names in this finding), which process on {source} opens these connections, and \
         whether anyone at the site works from that line.{}",
        kind,
        span_days,
        connections,
        bytes as u64,
        (bytes / days.max(1) as f64).round() as u64,
        if hosts == 1 { ", and no other internal host talks to it" } else { "" },
        if new {
            " No internal host had reached it in the first day of the data: it is new."
        } else {
            ""
        },
    );
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_spans_and_a_single_host_score_higher() {
        assert!((score(3.0, 2, false) - 0.45).abs() < 1e-9);
        assert!((score(30.0, 2, false) - 0.8).abs() < 1e-9);
        assert!((score(90.0, 1, false) - 0.85).abs() < 1e-9, "capped at 30 days");
        assert!(score(14.0, 1, false) > score(14.0, 2, false));
        assert!(score(10.0, 2, false) > score(5.0, 2, false));
        assert!(score(10.0, 2, true) > score(10.0, 2, false));
    }
}
