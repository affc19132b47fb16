//! The charts of a report, drawn from the store's records behind each finding.
//!
//! Charts are computed when a report is written, not kept in the findings: a SIEM does not want
//! ten thousand timestamps per finding, and `lasthop report --store` redraws them from the same
//! store. Each kind of finding gets what an analyst checks first:
//! - a contact between two addresses (beacons, strobes, last-hop contacts, rare peers, intel
//!   matches): every connection on a timeline (its height the bytes sent) and the histogram of
//!   gaps between connections, on a log scale, where a beacon is one tall bar however jittered;
//! - a beacon to a name: the same, from HTTP Host and TLS SNI;
//! - a long connection: bytes over time, each connection's bytes spread over its duration;
//! - DNS tunnelling: distinct subdomains queried per hour.
//!
//! One query per kind covers all the findings of that kind (their keys joined in as a table,
//! `lasthop_chart_keys`, registered for the query), so a report costs a few scans of the store
//! whatever the number of findings.

use std::collections::HashMap;

use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use lasthop_findings::{Chart, ChartKind, Finding};
use lasthop_normalise::parse_ip;
use lasthop_query::Query;

use lasthop_detect::detectors::{beacon, dns_tunnel, long_conn};

/// Events drawn per finding; a strobe's millions of connections are cut here.
pub const POINTS_PER_CHART: usize = 20_000;
/// Findings given charts (the report draws this many in full).
pub const FINDINGS_CHARTED: usize = 300;
const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;

fn is_address(s: &Option<String>) -> bool {
    s.as_deref().and_then(parse_ip).is_some()
}

/// Charts for the first [`FINDINGS_CHARTED`] findings, by finding id.
pub async fn charts(
    ctx: &SessionContext,
    findings: &[Finding],
) -> Result<HashMap<String, Vec<Chart>>> {
    let findings = &findings[..findings.len().min(FINDINGS_CHARTED)];
    let mut out: HashMap<String, Vec<Chart>> = HashMap::new();
    let mut pairs = Vec::new();
    let mut names = Vec::new();
    let mut long = Vec::new();
    let mut tunnels = Vec::new();
    for f in findings {
        let e = &f.entities;
        if f.detector == long_conn::ID && is_address(&e.source) && is_address(&e.destination) {
            long.push(f);
        } else if f.detector == dns_tunnel::ID && e.domain.is_some() {
            tunnels.push(f);
        } else if is_address(&e.source) && is_address(&e.destination) {
            pairs.push(f);
        } else if (f.detector == beacon::ID || f.detector == beacon::STROBE_ID)
            && is_address(&e.source)
            && e.domain.is_some()
        {
            names.push(f);
        }
    }
    if !pairs.is_empty() {
        let query = keyed(&pairs, |f| [f.entities.source.clone(), f.entities.destination.clone()])?;
        let sql = "SELECT keys.id, CAST(conn.ts AS BIGINT) AS t, CAST(coalesce(conn.orig_bytes, 0) AS DOUBLE) AS v
             FROM conn JOIN lasthop_chart_keys keys ON conn.src = ip(keys.s) AND conn.dst = ip(keys.d)
             ORDER BY keys.id, t";
        for (id, points) in points_by_id(ctx, query, sql).await? {
            out.entry(id).or_default().extend(contact_charts(&points, "bytes sent"));
        }
    }
    if !names.is_empty() {
        let query = keyed(&names, |f| [f.entities.source.clone(), f.entities.domain.clone()])?;
        let sql = "WITH contacts AS (
                SELECT src, lower(host) AS name, ts, CAST(request_body_len AS DOUBLE) AS v FROM http
                UNION ALL
                SELECT src, lower(server_name) AS name, ts, CAST(0 AS DOUBLE) AS v FROM ssl
             )
             SELECT keys.id, CAST(contacts.ts AS BIGINT) AS t, coalesce(contacts.v, 0) AS v
             FROM contacts JOIN lasthop_chart_keys keys
               ON contacts.src = ip(keys.s) AND contacts.name = lower(keys.d)
             ORDER BY keys.id, t";
        for (id, points) in points_by_id(ctx, query, sql).await? {
            out.entry(id).or_default().extend(contact_charts(&points, "request body bytes"));
        }
    }
    if !long.is_empty() {
        for (table, closed) in [("conn", true), ("open_conn", false)] {
            let query =
                keyed(&long, |f| [f.entities.source.clone(), f.entities.destination.clone()])?;
            let sql = format!(
                "SELECT keys.id, CAST(c.ts AS BIGINT) AS t,
                        CAST(coalesce(c.orig_bytes, 0) + coalesce(c.resp_bytes, 0) AS DOUBLE) AS v,
                        CAST(coalesce(c.duration, 0) AS DOUBLE) AS duration
                 FROM {table} c JOIN lasthop_chart_keys keys ON c.src = ip(keys.s) AND c.dst = ip(keys.d)
                 ORDER BY keys.id, t"
            );
            let mut spans = spans_by_id(ctx, query, &sql).await?;
            for (id, spans) in spans.drain() {
                let charts = out.entry(id).or_default();
                if let Some(chart) = bytes_over_time(&spans, closed) {
                    charts.push(chart);
                }
            }
        }
    }
    if !tunnels.is_empty() {
        lasthop_query::functions::text::register(ctx);
        let query = keyed(&tunnels, |f| [f.entities.source.clone(), f.entities.domain.clone()])?;
        let sql = "SELECT keys.id, CAST(date_bin(INTERVAL '1 hour', dns.ts) AS BIGINT) AS t,
                    CAST(count(DISTINCT lower(dns.query)) AS DOUBLE) AS v
             FROM dns JOIN lasthop_chart_keys keys
               ON registered_domain(rtrim(lower(dns.query), '.')) = keys.d
             WHERE keys.s IS NULL OR dns.src = ip(keys.s)
             GROUP BY keys.id, t ORDER BY keys.id, t";
        for (id, points) in points_by_id(ctx, query, sql).await? {
            out.entry(id).or_default().push(Chart {
                title: "Distinct names queried per hour".into(),
                kind: ChartKind::OverTime {
                    bucket_us: HOUR_US,
                    points,
                    value_label: "names".into(),
                },
            });
        }
    }
    Ok(out)
}

/// A query with the findings' keys as its table `lasthop_chart_keys` (`id`, `s` the source, `d`
/// the destination or name; a missing one NULL).
fn keyed(findings: &[&Finding], key: impl Fn(&Finding) -> [Option<String>; 2]) -> Result<Query> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("s", DataType::Utf8, true),
        Field::new("d", DataType::Utf8, true),
    ]));
    let keys: Vec<[Option<String>; 2]> = findings.iter().map(|f| key(f)).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(findings.iter().map(|f| f.id.as_str()))),
            Arc::new(keys.iter().map(|k| k[0].as_deref()).collect::<StringArray>()),
            Arc::new(keys.iter().map(|k| k[1].as_deref()).collect::<StringArray>()),
        ],
    )?;
    let mut query = Query::new("chart points");
    query.table("lasthop_chart_keys", MemTable::try_new(schema, vec![vec![batch]])?);
    Ok(query)
}

/// (time µs, value) per finding id.
async fn points_by_id(
    ctx: &SessionContext,
    query: Query,
    sql: &str,
) -> Result<HashMap<String, Vec<(i64, f64)>>> {
    let mut out: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
    for r in query.rows(ctx, sql).await?.iter() {
        let Some(t) = r.i64("t")? else { continue };
        let points = out.entry(r.text("id")?).or_default();
        if points.len() < POINTS_PER_CHART {
            points.push((t, r.f64("v")?.unwrap_or(0.0)));
        }
    }
    Ok(out)
}

/// (start µs, bytes, duration s) per connection.
async fn spans_by_id(
    ctx: &SessionContext,
    query: Query,
    sql: &str,
) -> Result<HashMap<String, Vec<(i64, f64, f64)>>> {
    let mut out: HashMap<String, Vec<(i64, f64, f64)>> = HashMap::new();
    for r in query.rows(ctx, sql).await?.iter() {
        let Some(t) = r.i64("t")? else { continue };
        let spans = out.entry(r.text("id")?).or_default();
        if spans.len() < POINTS_PER_CHART {
            let number = |k: &str| r.f64(k).map(Option::unwrap_or_default);
            spans.push((t, number("v")?, number("duration")?));
        }
    }
    Ok(out)
}

/// The timeline and the gap histogram of a series of contacts (sorted by time).
pub fn contact_charts(points: &[(i64, f64)], value_label: &str) -> Vec<Chart> {
    let mut charts = vec![Chart {
        title: format!("Connections over time ({})", points.len()),
        kind: ChartKind::Timeline {
            times: points.iter().map(|p| p.0).collect(),
            values: points.iter().map(|p| p.1).collect(),
            value_label: value_label.into(),
        },
    }];
    let gaps: Vec<f64> = points.windows(2).map(|w| (w[1].0 - w[0].0) as f64 / 1e6).collect();
    if !gaps.is_empty() {
        charts.push(Chart {
            title: "Gaps between connections (log scale)".into(),
            kind: ChartKind::Histogram { bins: gap_bins(&gaps), x_label: "gap".into() },
        });
    }
    charts
}

/// Four bins per doubling from one second; gaps under a second share the first bin. Only the
/// bins from the shortest to the longest gap are kept, so the bars stay readable.
pub fn gap_bins(gaps: &[f64]) -> Vec<(String, u64)> {
    let index =
        |g: f64| -> usize { if g < 1.0 { 0 } else { 1 + (g.log2() * 4.0).floor() as usize } };
    let mut counts = vec![0u64; 1 + 4 * 24];
    for &g in gaps.iter().filter(|g| g.is_finite() && **g >= 0.0) {
        let i = index(g).min(counts.len() - 1);
        counts[i] += 1;
    }
    let first = counts.iter().position(|&n| n > 0).unwrap_or(0);
    let last = counts.iter().rposition(|&n| n > 0).unwrap_or(0);
    (first..=last)
        .map(|i| {
            let label = if i == 0 {
                "<1s".to_string()
            } else {
                duration_label(2f64.powf((i - 1) as f64 / 4.0))
            };
            (label, counts[i])
        })
        .collect()
}

/// 90 → "1.5m", 7200 → "2h".
pub fn duration_label(seconds: f64) -> String {
    let (value, unit) = if seconds < 60.0 {
        (seconds, "s")
    } else if seconds < 3600.0 {
        (seconds / 60.0, "m")
    } else if seconds < 86_400.0 {
        (seconds / 3600.0, "h")
    } else {
        (seconds / 86_400.0, "d")
    };
    if value < 10.0 && value.fract() > 0.05 {
        format!("{value:.1}{unit}")
    } else {
        format!("{value:.0}{unit}")
    }
}

/// Bytes per hour (per day past two weeks), each connection's bytes spread evenly over the
/// hours it lasted, so a month-long session shows as the steady trickle it is.
pub fn bytes_over_time(spans: &[(i64, f64, f64)], closed: bool) -> Option<Chart> {
    let start = spans.iter().map(|s| s.0).min()?;
    let end = spans.iter().map(|s| s.0 + (s.2.max(0.0) * 1e6) as i64).max()?;
    let bucket = if end - start > 14 * DAY_US { DAY_US } else { HOUR_US };
    let mut points = Vec::new();
    for &(t, bytes, duration) in spans {
        let d_us = (duration.max(0.0) * 1e6) as i64;
        let first = (t - start) / bucket;
        let last = (t + d_us - start) / bucket;
        let n = (last - first + 1).max(1);
        // A connection spanning more buckets than the chart can show is spread over at most
        // 2,000 of them (the chart's limit too).
        let n_drawn = n.min(2000);
        for k in 0..n_drawn {
            points.push((start + (first + k) * bucket, bytes / n_drawn as f64));
        }
    }
    let unit = if bucket == DAY_US { "day" } else { "hour" };
    let title = if closed {
        format!("Bytes per {unit} of the connections")
    } else {
        format!("Bytes per {unit} of connections still open when the logs end")
    };
    Some(Chart {
        title,
        kind: ChartKind::OverTime { bucket_us: bucket, points, value_label: "bytes".into() },
    })
}

/// The charts of a report of `findings` from the store at `root`, drawn in a session of their
/// own: the whole store (not a hunt's `--since` window), always in this process.
pub async fn for_report(
    root: &std::path::Path,
    findings: &[Finding],
    settings: &crate::pipeline::Settings,
) -> anyhow::Result<HashMap<String, Vec<Chart>>> {
    let store = lasthop_store::Store::open(root)?;
    let options = lasthop_query::SessionOptions {
        internal: settings.internal.clone(),
        memory_limit: settings.memory_limit,
        spill_dir: settings.spill_dir.clone(),
        ..Default::default()
    };
    let ctx = lasthop_query::open_store(&store, &options).await?;
    Ok(charts(&ctx, findings).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jittered_beacon_fills_a_few_neighbouring_gap_bins() {
        // 60 s ± 20 %: 48–72 s, which is less than one doubling: at most five bins.
        let gaps: Vec<f64> = (0..500).map(|i| 48.0 + (i % 25) as f64).collect();
        let bins = gap_bins(&gaps);
        assert!(bins.len() <= 5, "{bins:?}");
        assert_eq!(bins.iter().map(|b| b.1).sum::<u64>(), 500);
        assert!(bins[0].0.ends_with('s'));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_label(1.0), "1s");
        assert_eq!(duration_label(90.0), "1.5m");
        assert_eq!(duration_label(7200.0), "2h");
        assert_eq!(duration_label(86_400.0 * 3.0), "3d");
    }

    #[test]
    fn bytes_are_spread_over_the_hours_a_connection_lasts() {
        let chart = bytes_over_time(&[(0, 3000.0, 3.0 * 3600.0 - 1.0)], true).unwrap();
        let ChartKind::OverTime { bucket_us, points, .. } = chart.kind else { panic!() };
        assert_eq!(bucket_us, HOUR_US);
        assert_eq!(points, vec![(0, 1000.0), (HOUR_US, 1000.0), (2 * HOUR_US, 1000.0)]);
    }
}
