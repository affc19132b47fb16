//! **DNS tunnelling and C2 over DNS**: a registered domain whose subdomains carry data.
//!
//! What it finds: per registered domain (public suffix list + 1, so `x.y.evil.co.uk` counts
//! under `evil.co.uk`), the number of distinct names queried, how long and random the subdomain
//! part is (length and Shannon entropy), the share of TXT and NULL queries (the record types
//! tunnels use to bring data back), how many internal hosts ask, and whether any host ever
//! connected to an address the domain resolved to.
//!
//! Why it matters: DNS leaves almost every network, so implants and tunnels (dnscat2, iodine,
//! Cobalt Strike's DNS beacon) encode their traffic in query names (ATT&CK T1071.004, T1572;
//! exfiltration T1048).
//!
//! Scoring: volume `log₅₀(subdomains / 20)` (20 names → 0, 1,000 → 1) weighted 0.45; shape (mean
//! of `(length − 10)/30` and `(entropy − 2.5)/1.5`, each clamped to 0–1) 0.35; TXT/NULL share 0.2.
//! +0.1 when no host connected to what the domain resolved to (the answers are the payload);
//! −0.2 when a tenth or more of the internal hosts ask (software everyone runs, such as an
//! anti-virus cloud lookup, rather than one implant). Domains with fewer than 50 names are not
//! scored.

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use lasthop_sources::safelist::Peer;
use serde_json::json;

use super::{Detector, DetectorFuture, HuntContext, Query, Row, rows};

pub struct DnsTunnel;

pub const ID: &str = "dns-tunnel";

/// Fewest distinct names under a domain for it to be scored.
pub const MIN_SUBDOMAINS: u64 = 50;
const REPORT_SCORE: f64 = 0.5;

impl Detector for DnsTunnel {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "domains whose many long, random subdomains carry data (DNS tunnels, C2 over DNS)"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            lasthop_query::functions::text::register(&hunt.ctx);
            let internal_hosts = rows(
                &hunt.ctx,
                "internal hosts asking DNS",
                "SELECT count(DISTINCT src) AS n FROM dns WHERE is_internal(src)",
            )
            .await?
            .single_u64("n")?;
            let candidates = rows(&hunt.ctx, "dns-tunnel candidates", &domains_sql()).await?;
            let safelist = hunt.options.effective_safelist();
            let mut findings = Vec::new();
            for row in candidates.iter() {
                let domain = row.text("domain")?;
                if domain.is_empty() || safelist.excludes_one(Peer::Name(&domain)) {
                    continue;
                }
                let connections = connections_to_answers(hunt, &domain).await?;
                let assessment =
                    Assessment::of(&DomainStats::of(row)?, connections, internal_hosts);
                if assessment.score >= REPORT_SCORE {
                    findings.push(assessment.finding(&domain, row)?);
                }
            }
            Ok(findings)
        })
    }
}

fn domains_sql() -> String {
    format!(
        "WITH named AS (
            SELECT src, ts, qtype_name, name, registered_domain(name) AS domain FROM (
                SELECT src, ts, qtype_name, rtrim(lower(query), '.') AS name FROM dns
                WHERE query IS NOT NULL AND query <> ''
            )
        ), parts AS (
            SELECT *, CASE WHEN name = domain THEN ''
                           ELSE left(name, CAST(length(name) - length(domain) - 1 AS INT)) END AS sub
            FROM named WHERE domain IS NOT NULL
        )
        SELECT domain, count(DISTINCT name) AS subdomains, count(*) AS visits,
               count(DISTINCT src) AS hosts,
               avg(length(sub)) AS mean_length, max(length(sub)) AS longest,
               -- In whole billionths, so that the sum is exact whatever the threads' order.
               avg(round(shannon_entropy(sub) * 1000000000.0)) / 1000000000.0 AS mean_entropy,
               avg(CASE WHEN qtype_name IN ('TXT', 'NULL') THEN 1.0 ELSE 0.0 END) AS txt_null_share,
               CAST(min(ts) AS BIGINT) AS first_us, CAST(max(ts) AS BIGINT) AS last_us,
               array_to_string(array_slice(array_sort(array_agg(DISTINCT ip_text(src))), 1, 10), ', ') AS sources,
               first_value(name ORDER BY length(name) DESC, name) AS example
        FROM parts
        GROUP BY domain
        HAVING count(DISTINCT name) >= {MIN_SUBDOMAINS}
        ORDER BY subdomains DESC"
    )
}

/// Connections to the addresses the domain resolved to.
async fn connections_to_answers(hunt: &HuntContext, domain: &str) -> Result<u64> {
    let mut query = Query::new("connections to a domain's answers");
    let domain = query.text(domain);
    let sql = format!(
        "WITH answers AS (
            SELECT DISTINCT ip(answer) AS addr FROM (
                SELECT unnest(answers) AS answer FROM dns
                WHERE registered_domain(rtrim(lower(query), '.')) = {domain}
            ) WHERE ip(answer) IS NOT NULL
        )
        SELECT (SELECT count(*) FROM answers) AS resolved,
               (SELECT count(*) FROM conn WHERE dst IN (SELECT addr FROM answers)) AS connections"
    );
    query.rows(&hunt.ctx, &sql).await?.single_u64("connections")
}

/// What the score reads of one candidate domain.
#[derive(Debug, Clone, Copy, Default)]
struct DomainStats {
    subdomains: f64,
    mean_length: f64,
    mean_entropy: f64,
    txt_null_share: f64,
    hosts: f64,
}

impl DomainStats {
    fn of(row: Row<'_>) -> Result<DomainStats> {
        let number = |k: &str| row.f64(k).map(Option::unwrap_or_default);
        Ok(DomainStats {
            subdomains: number("subdomains")?,
            mean_length: number("mean_length")?,
            mean_entropy: number("mean_entropy")?,
            txt_null_share: number("txt_null_share")?,
            hosts: number("hosts")?,
        })
    }
}

struct Assessment {
    score: f64,
    volume: f64,
    shape: f64,
    txt_null: f64,
    adjustments: Vec<String>,
}

impl Assessment {
    fn of(stats: &DomainStats, connections: u64, internal_hosts: u64) -> Assessment {
        let volume = ((stats.subdomains / 20.0).log(50.0)).clamp(0.0, 1.0);
        let length = ((stats.mean_length - 10.0) / 30.0).clamp(0.0, 1.0);
        let entropy = ((stats.mean_entropy - 2.5) / 1.5).clamp(0.0, 1.0);
        let shape = (length + entropy) / 2.0;
        let txt_null = stats.txt_null_share.clamp(0.0, 1.0);
        let mut score = 0.45 * volume + 0.35 * shape + 0.2 * txt_null;
        let mut adjustments = Vec::new();
        if connections == 0 {
            score += 0.1;
            adjustments.push(
                "+0.1: no host connected to anything the domain resolved to (the answers \
                 themselves are the payload)"
                    .to_string(),
            );
        }
        let hosts = stats.hosts;
        if hosts >= 5.0 && internal_hosts > 0 && hosts >= 0.1 * internal_hosts as f64 {
            score -= 0.2;
            adjustments.push(format!(
                "-0.2: {hosts} of {internal_hosts} internal hosts query it (common software, \
                 not one implant)"
            ));
        }
        Assessment { score: score.clamp(0.0, 1.0), volume, shape, txt_null, adjustments }
    }

    fn finding(&self, domain: &str, row: Row<'_>) -> Result<Finding> {
        let number = |k: &str| row.f64(k).map(Option::unwrap_or_default);
        let count = |k: &str| row.u64(k).map(Option::unwrap_or_default);
        let sources = row.text("sources")?;
        let entities = Entities {
            source: (count("hosts")? == 1).then(|| sources.clone()),
            domain: Some(domain.to_string()),
            ..Default::default()
        };
        let mut f = Finding::new(
            ID,
            format!("DNS tunnel or C2 over DNS: {domain} ({} names)", count("subdomains")?),
            self.score,
            entities,
        );
        f.techniques = vec!["T1071.004".into(), "T1572".into()];
        f.first_seen = row.i64("first_us")?.unwrap_or_default();
        f.last_seen = row.i64("last_us")?.unwrap_or_default();
        let figures = &mut f.evidence.figures;
        for key in ["subdomains", "visits", "hosts", "longest", "sources", "example"] {
            figures.insert(key.into(), row.json(key)?);
        }
        figures.insert("mean_length".into(), json!(round2(number("mean_length")?)));
        figures.insert("mean_entropy".into(), json!(round2(number("mean_entropy")?)));
        figures.insert("txt_null_share".into(), json!(round2(self.txt_null)));
        figures.insert("volume_score".into(), json!(round2(self.volume)));
        figures.insert("shape_score".into(), json!(round2(self.shape)));
        figures.insert("adjustments".into(), json!(self.adjustments));
        f.explanation = format!(
            "{} distinct names were queried under {domain} ({} queries from {}), their \
             subdomain part {:.0} characters long on average with {:.1} bits of entropy per \
             character; {:.0}% were TXT or NULL queries. Ordinary domains have a handful of \
             short, readable names; this many long random ones is how DNS tunnels carry data \
             (e.g. {}). Check the process on the querying host and block the domain at the \
             resolver.{}",
            count("subdomains")?,
            count("visits")?,
            sources,
            number("mean_length")?,
            number("mean_entropy")?,
            self.txt_null * 100.0,
            row.text("example")?,
            if self.adjustments.is_empty() {
                String::new()
            } else {
                format!(" Adjustments: {}.", self.adjustments.join("; "))
            },
        );
        Ok(f)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_tunnels_above_ordinary_domains() {
        let stats = |subdomains, mean_length, mean_entropy, txt_null_share, hosts| DomainStats {
            subdomains,
            mean_length,
            mean_entropy,
            txt_null_share,
            hosts,
        };
        // dnscat2: 62,466 names, long hex labels, TXT/CNAME/MX, one host.
        let tunnel = Assessment::of(&stats(62_466.0, 40.0, 3.8, 0.5, 1.0), 0, 100);
        assert!(tunnel.score > 0.9, "{}", tunnel.score);
        // microsoft.com in the same capture: 67 names, short words, many hosts, connected.
        let ordinary = Assessment::of(&stats(67.0, 8.0, 2.6, 0.0, 12.0), 40, 100);
        assert!(ordinary.score < 0.3, "{}", ordinary.score);
        // An anti-virus cloud lookup: many random names, but every host asks and connects.
        let av = Assessment::of(&stats(5_000.0, 32.0, 3.9, 0.0, 60.0), 40, 100);
        assert!(av.score < REPORT_SCORE + 0.2 && av.score < tunnel.score - 0.3, "{}", av.score);
    }
}
