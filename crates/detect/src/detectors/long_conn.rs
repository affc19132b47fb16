//! **Long connections**: sessions between an internal and an external host that stay open for
//! hours, alone or summed over a pair.
//!
//! What it finds: per (source, destination) pair with exactly one internal end, the longest single
//! connection and the sum over all connections, counting sessions still open when the logs end:
//! Zeek writes those only to `open_conn` (growing durations, one record per interval), so each
//! connection's duration is the largest seen in `conn` or `open_conn`.
//!
//! Why it matters: an interactive C2 channel or a tunnel out of the network (ATT&CK T1071,
//! T1572 protocol tunnelling; T1021.004 for SSH) stays up far longer than ordinary traffic; in
//! the advisory a compromised SoHo device talked to the victim for two months.
//!
//! Scoring: under 1 hour nothing; then 0.2 at 1 h, 0.35 at 4 h, 0.5 at 8 h, 0.7 at 12 h and 0.8
//! from 24 h, linear between — over the longest single connection, or over the pair's summed
//! duration (of connections of a minute or more) at half weight (many ordinary keep-alive
//! sessions add up without being one channel); plus 0.1 when a session is still open at the end of the logs (it is happening
//! now). RITA's buckets (0.2–0.8 over 1–12 h) are gentler on the short end: messaging, push and
//! IoT clients hold sessions of a few hours as a matter of course.

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use lasthop_normalise::parse_ip;
use lasthop_sources::safelist::Peer;
use serde_json::json;

use super::{BOTH_WAYS_BYTES, Detector, DetectorFuture, HuntContext, Row, rows};

pub struct LongConnections;

pub const ID: &str = "long-connection";

/// Summed duration (s) below which a pair is not reported.
const MIN_TOTAL_S: f64 = 3_600.0;

/// Connections shorter than this (s) do not count toward a pair's sum: thousands of short
/// requests are a beacon's or a browser's story, not a long connection's.
const MIN_CONNECTION_S: f64 = 60.0;

/// (hours, score) points of the duration curve.
const CURVE: [(f64, f64); 5] = [(1.0, 0.2), (4.0, 0.35), (8.0, 0.5), (12.0, 0.7), (24.0, 0.8)];

impl Detector for LongConnections {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "internal–external sessions open for hours, including those still open (open_conn)"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            let mut findings = Vec::new();
            let safelist = hunt.options.effective_safelist();
            for row in rows(&hunt.ctx, "long connections", &sql()).await?.iter() {
                let (source, destination) = (row.text("source")?, row.text("destination")?);
                let (Some(s), Some(d)) = (parse_ip(&source), parse_ip(&destination)) else {
                    continue;
                };
                if safelist.excludes(Peer::Addr(&s), Peer::Addr(&d)) {
                    continue;
                }
                let total = row.f64("total_duration")?.unwrap_or_default();
                findings.push(finding(row, source, destination, total)?);
            }
            if let Some(window) = super::beacon::data_window(hunt).await? {
                super::context::adjust(hunt, &mut findings, window.0).await?;
            }
            Ok(findings)
        })
    }
}

/// Duration per connection (largest in `conn` or `open_conn`), then per pair.
fn sql() -> String {
    format!(
        "WITH records AS (
            SELECT uid, src, dst, dst_port, proto, service, ts, duration,
                   {BOTH_WAYS_BYTES} AS bytes, false AS open
            FROM conn WHERE duration >= {MIN_CONNECTION_S}
            UNION ALL
            SELECT uid, src, dst, dst_port, proto, service, ts, duration,
                   {BOTH_WAYS_BYTES} AS bytes, true AS open
            FROM open_conn WHERE duration >= {MIN_CONNECTION_S}
        ), sessions AS (
            SELECT uid, src, dst, min(ts) AS first_ts, max(ts) AS last_ts,
                   max(COALESCE(duration, 0.0)) AS duration, max(bytes) AS bytes,
                   bool_and(open) AS still_open,
                   concat(CAST(min(dst_port) AS VARCHAR), '/', min(proto),
                          CASE WHEN min(service) IS NULL THEN '' ELSE concat(' ', min(service)) END) AS port
            FROM records WHERE uid IS NOT NULL AND src IS NOT NULL AND dst IS NOT NULL
            GROUP BY uid, src, dst
        )
        SELECT ip_text(src) AS source, ip_text(dst) AS destination,
               -- Whole microseconds: a float sum's last digits follow the threads' order.
               CAST(sum(CAST(round(duration * 1000000) AS BIGINT)) AS DOUBLE) / 1000000.0
                   AS total_duration,
               max(duration) AS longest,
               count(*) AS connections, CAST(sum(bytes) AS BIGINT) AS bytes,
               sum(CASE WHEN still_open THEN 1 ELSE 0 END) AS still_open,
               CAST(min(first_ts) AS BIGINT) AS first_us,
               max(CAST(last_ts AS BIGINT) + CAST(duration * 1000000 AS BIGINT)) AS last_us,
               array_to_string(array_slice(array_sort(array_agg(DISTINCT port)), 1, 10), ', ') AS ports,
               first_value(uid ORDER BY duration DESC) AS longest_uid
        FROM sessions
        WHERE is_internal(src) <> is_internal(dst)
        GROUP BY src, dst
        HAVING sum(duration) >= {MIN_TOTAL_S}
        ORDER BY total_duration DESC"
    )
}

/// The duration curve: 0 under an hour, [`CURVE`] between, 0.8 from a day.
pub fn duration_score(seconds: f64) -> f64 {
    let hours = seconds / 3600.0;
    if hours < CURVE[0].0 {
        return 0.0;
    }
    for pair in CURVE.windows(2) {
        let ((h0, s0), (h1, s1)) = (pair[0], pair[1]);
        if hours < h1 {
            return s0 + (hours - h0) / (h1 - h0) * (s1 - s0);
        }
    }
    CURVE[CURVE.len() - 1].1
}

fn finding(row: Row<'_>, source: String, destination: String, total: f64) -> Result<Finding> {
    let open = row.u64("still_open")?.unwrap_or_default();
    let longest = row.f64("longest")?.unwrap_or_default();
    let score =
        duration_score(longest).max(0.5 * duration_score(total)) + if open > 0 { 0.1 } else { 0.0 };
    let ports = row.text("ports")?;
    let entities = Entities {
        source: Some(source.clone()),
        destination: Some(destination.clone()),
        ..Default::default()
    };
    let title = format!(
        "Long connection: {source} → {destination} ({}{})",
        hours(total),
        if open > 0 { ", still open" } else { "" }
    );
    let mut f = Finding::new(ID, title, score, entities);
    f.techniques = if ports.contains("ssh") || ports.starts_with("22/") {
        vec!["T1071".into(), "T1021.004".into()]
    } else {
        vec!["T1071".into(), "T1572".into()]
    };
    f.first_seen = row.i64("first_us")?.unwrap_or_default();
    f.last_seen = row.i64("last_us")?.unwrap_or_default();
    for key in ["connections", "bytes", "still_open"] {
        f.evidence.figures.insert(key.into(), row.json(key)?);
    }
    f.evidence.figures.insert("total_duration_s".into(), json!((total * 1000.0).round() / 1000.0));
    f.evidence.figures.insert("longest_s".into(), json!((longest * 1000.0).round() / 1000.0));
    f.evidence.figures.insert("ports".into(), json!(ports));
    if let Some(uid) = row.str("longest_uid")? {
        f.evidence.uids.push(uid.to_string());
    }
    f.explanation = format!(
        "{source} and {destination} were connected for {} in all ({} connection(s), the longest \
         {}) on {ports}{}. Sessions this long are interactive channels or tunnels rather than \
         ordinary requests; check what service {destination} runs and whether this host should \
         hold a session to it.",
        hours(total),
        row.u64("connections")?.unwrap_or_default(),
        hours(longest),
        if open > 0 {
            format!("; {open} still open when the logs end (seen only in open_conn)")
        } else {
            String::new()
        },
    );
    Ok(f)
}

fn hours(seconds: f64) -> String {
    if seconds >= 86_400.0 {
        format!("{:.1} days", seconds / 86_400.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_curve() {
        assert_eq!(duration_score(3599.0), 0.0);
        assert!((duration_score(3600.0) - 0.2).abs() < 1e-12);
        assert!((duration_score(6.0 * 3600.0) - 0.425).abs() < 1e-12);
        assert!((duration_score(12.0 * 3600.0) - 0.7).abs() < 1e-12);
        // missing_host's SSH session, three days: the top of the curve, as RITA's 0.8.
        assert!((duration_score(270_036.6) - 0.8).abs() < 1e-12);
    }
}
