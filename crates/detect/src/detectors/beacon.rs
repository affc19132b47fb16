//! **Beacons and strobes**: hosts that call the same endpoint back on a schedule, by address pair
//! and by name.
//!
//! What it finds: for every (internal, external) address pair in `conn`, and for every (source,
//! name) pair from HTTP `Host` and TLS SNI across all the addresses that serve the name, how
//! regular, periodic and persistent the contacts are. Explicit proxies (addresses that answered
//! HTTP `CONNECT`, and `--proxy`) are followed to the name asked for: the pair is (client, real
//! destination), never (client, proxy). A pair found by name hides the same connections'
//! address pairs. Pairs with a day of [`HuntOptions::strobe_threshold`] contacts or more are
//! strobes, reported as such and not scored.
//!
//! Why it matters: an implant polls its controller for tasks, over HTTP(S) or any other
//! protocol (ATT&CK T1071 application-layer protocol, T1573 encrypted channel; via a proxy
//! T1090). APT40 polls slowly, with jitter, for weeks, from and to home-broadband addresses.
//!
//! Scoring: lasthop's scorer ([`crate::scoring::beacon`]) by default, or RITA v5's
//! ([`crate::scoring::rita`]) with `--scorer rita`. Both are computed for every pair and both
//! appear in the evidence, so a RITA user can see what RITA would have said.
//!
//! Findings are per pair here; after enrichment, [`crate::campaigns`] folds the pairs of several
//! internal hosts with one destination into one finding (a shared service, or one beacon naming
//! every host).

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::Result;
use lasthop_findings::{Entities, Finding, Severity};
use lasthop_normalise::{Cidr, format_ip, is_special};
use lasthop_sources::safelist::{Peer, Safelist};
use serde_json::json;

use super::{Detector, DetectorFuture, HuntContext, HuntOptions, Query, Scorer};
use crate::scoring::beacon::{self as lasthop_score, BeaconScore, Clock};
use crate::scoring::rita::{self, RitaScore};
use lasthop_query::series::{self, Series};

pub struct Beacons;

pub const ID: &str = "beacon";
pub const STROBE_ID: &str = "strobe";

/// Share of mid-session records above which a series is one session's keep-alives, and what is
/// left of its score then.
const KEEPALIVE_SHARE: f64 = 0.8;
const KEEPALIVE_FACTOR: f64 = 0.5;

impl Detector for Beacons {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "hosts calling an address or name back on a schedule (beacons), and strobes"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            let Some(window) = data_window(hunt).await? else { return Ok(Vec::new()) };
            let proxies = proxies(hunt).await?;
            let mut options = hunt.options.clone();
            options.safelist = options.effective_safelist();
            let safe_addresses = Arc::new(resolved_addresses(hunt, &options.safelist).await?);
            let options = Arc::new(options);
            let by_name = {
                let (options, proxies) = (options.clone(), proxies.clone());
                let mut query = Query::new("beacon series by name");
                let sql = name_series_sql(
                    &mut query,
                    &proxies,
                    &hunt.options.proxies,
                    hunt.options.scorer,
                );
                series::scan(
                    &hunt.ctx,
                    query,
                    &sql,
                    hunt.options.strobe_threshold as usize,
                    move |s| {
                        // Every name pair is kept (its addresses are its own, reported or
                        // not), but only a reported one keeps its sample of records: millions
                        // of pairs must not each hold one.
                        let mut a = assess(s, Kind::Name, window, &options, &proxies)?;
                        if !a.reportable(&options) {
                            a.uids = Vec::new();
                        }
                        Some(a)
                    },
                )
                .await?
            };
            let by_addr = {
                let (options, proxies) = (options.clone(), proxies.clone());
                let safe = safe_addresses.clone();
                series::scan(
                    &hunt.ctx,
                    Query::new("beacon series by address"),
                    &address_series_sql(hunt.options.scorer),
                    hunt.options.strobe_threshold as usize,
                    move |s| {
                        let k2 = <[u8; 16]>::try_from(s.k2.as_slice()).ok()?;
                        if safe.contains(&k2) {
                            return None;
                        }
                        assess(s, Kind::Address, window, &options, &proxies)
                            .filter(|a| a.reportable(&options))
                    },
                )
                .await?
            };
            // Address pairs that carried a reported (or safelisted) name's contacts are that
            // name's.
            let covered: HashSet<(String, String)> = by_name
                .iter()
                .flat_map(|a| a.peers.iter().map(|p| (a.source.clone(), p.clone())))
                .collect();
            let mut findings = Vec::new();
            for a in by_name.iter().chain(by_addr.iter()) {
                if !a.reportable(&options) {
                    continue;
                }
                if a.kind == Kind::Address
                    && covered.contains(&(a.source.clone(), a.target.clone()))
                {
                    continue;
                }
                findings.push(a.finding(&options));
            }
            let mut findings = one_per_domain(findings);
            super::context::adjust(hunt, &mut findings, window.0).await?;
            // Context can take a beacon below the bar: then it is not reported.
            if options.scorer == Scorer::Lasthop {
                findings.retain(|f| f.detector != ID || f.score >= options.min_beacon_score);
            }
            Ok(findings)
        })
    }
}

/// The span of the connection data, µs (end exclusive). It opens when the first record was
/// written (start + duration), so that one long connection that began hours before the logs
/// did does not stretch the window, and closes with the last connection's start.
///
/// Only traffic that can form a beacon pair counts, as in RITA: connections between an
/// internal and an external address (not multicast, broadcast or unspecified), and HTTP
/// `CONNECT` requests to a proxy. A multicast announcement logged after the last real
/// connection would otherwise stretch the window and thin out every pair's hourly histogram.
pub(crate) async fn data_window(hunt: &HuntContext) -> Result<Option<(i64, i64)>> {
    let batches = Query::new("beacon data window")
        .batches(
            &hunt.ctx,
            "SELECT min(t + d), min(t), max(t) FROM (
             SELECT CAST(ts AS BIGINT) AS t,
                    CAST(COALESCE(duration, 0.0) * 1000000 AS BIGINT) AS d
             FROM conn
             WHERE is_internal(src) <> is_internal(dst) AND NOT is_special(src)
               AND NOT is_special(dst)
             UNION ALL
             SELECT CAST(ts AS BIGINT), CAST(0 AS BIGINT) FROM http WHERE method = 'CONNECT')",
        )
        .await?;
    let Some(batch) = batches.first().filter(|b| b.num_rows() > 0) else { return Ok(None) };
    let value = |i: usize| {
        let column = batch.column(i).as_primitive::<Int64Type>();
        column.is_valid(0).then(|| column.value(0))
    };
    let (Some(logged), Some(first), Some(last)) = (value(0), value(1), value(2)) else {
        return Ok(None);
    };
    let start = if logged <= last { logged } else { first };
    Ok(Some((start, last + 1)))
}

/// Addresses that act as explicit proxies: they accepted an HTTP `CONNECT` (status 200). Servers
/// that refuse the open-proxy probes of Internet scanners are not proxies. `--proxy` adds more.
async fn proxies(hunt: &HuntContext) -> Result<Arc<HashSet<[u8; 16]>>> {
    let batches = Query::new("proxies")
        .batches(
            &hunt.ctx,
            "SELECT DISTINCT dst FROM http WHERE method = 'CONNECT' AND status_code = 200",
        )
        .await?;
    let mut set = HashSet::new();
    for b in &batches {
        let column = b.column(0).as_fixed_size_binary();
        for i in 0..b.num_rows() {
            if let Ok(addr) = <[u8; 16]>::try_from(column.value(i))
                && column.is_valid(i)
            {
                set.insert(addr);
            }
        }
    }
    Ok(Arc::new(set))
}

/// Addresses that safelisted names resolved to in the DNS logs: an address pair to one of them is
/// that name's traffic. (A shared CDN address hides other names' address pairs too; their name
/// pairs, from SNI and Host, are still scored.)
async fn resolved_addresses(hunt: &HuntContext, safelist: &Safelist) -> Result<HashSet<[u8; 16]>> {
    let mut out = HashSet::new();
    if safelist.is_empty() {
        return Ok(out);
    }
    let batches = Query::new("safelisted names' addresses")
        .batches(
            &hunt.ctx,
            "SELECT DISTINCT rtrim(lower(query), '.') AS name, ip(answer) AS addr FROM (
                 SELECT query, unnest(answers) AS answer FROM dns WHERE query IS NOT NULL
             ) WHERE ip(answer) IS NOT NULL",
        )
        .await?;
    for b in &batches {
        let names = b.column(0).as_string::<i32>();
        let addrs = b.column(1).as_fixed_size_binary();
        for i in 0..b.num_rows() {
            if names.is_valid(i)
                && safelist.excludes_one(Peer::Name(names.value(i)))
                && let Ok(addr) = <[u8; 16]>::try_from(addrs.value(i))
            {
                out.insert(addr);
            }
        }
    }
    Ok(out)
}

/// Contacts by (source, name): the first HTTP request per connection and the TLS server name,
/// with the connection's time, `orig_ip_bytes` and the address that served it, where exactly one
/// of source and server is internal. Ports (a
/// `CONNECT host:443`) and trailing dots are dropped so that both logs agree on the name.
///
/// lasthop's scorer takes internal sources only: an Internet client asking for the site's own
/// name is a visitor of ours, and its schedule is not a beacon of its own (the inbound
/// detectors judge such traffic). RITA's scorer keeps both directions, as RITA does.
fn name_series_sql(
    query: &mut Query,
    proxies: &HashSet<[u8; 16]>,
    configured: &[Cidr],
    scorer: Scorer,
) -> String {
    // A name reached through a proxy is served, as far as the logs see, by the proxy. Sorted,
    // so that the plan is the same from run to run.
    let mut prefixes: Vec<String> = proxies.iter().map(|p| format_ip(p)).collect();
    prefixes.sort();
    prefixes.extend(configured.iter().map(|c| c.to_string()));
    let mut via_proxy: Vec<String> =
        prefixes.iter().map(|p| format!("cidr_contains({}, c.dst)", query.text(p))).collect();
    via_proxy.push("false".to_string());
    format!(
        "WITH named AS (
        SELECT uid, src, fqdn, min(ts) AS ts FROM (
            SELECT uid, src, ts, rtrim(regexp_replace(lower(host), ':[0-9]+$', ''), '.') AS fqdn
            FROM http WHERE host IS NOT NULL AND host <> ''
            UNION ALL
            SELECT uid, src, ts, rtrim(lower(server_name), '.') AS fqdn
            FROM ssl WHERE server_name IS NOT NULL AND server_name <> ''
        ) WHERE fqdn <> '' AND ip(fqdn) IS NULL AND ip(trim(fqdn, '[]')) IS NULL
        GROUP BY uid, src, fqdn
    )
    SELECT n.src AS k1, n.fqdn AS k2, COALESCE(c.ts, n.ts) AS ts,
           COALESCE(c.orig_ip_bytes, c.orig_bytes, 0) AS bytes,
           COALESCE(c.duration, 0.0) AS duration, n.uid AS uid, c.dst AS peer,
           COALESCE(c.resp_bytes, 0) > 0 AS answered
    FROM named n LEFT JOIN conn c ON c.uid = n.uid
    WHERE (c.dst IS NULL OR is_internal(n.src) <> is_internal(c.dst) OR {}){}",
        via_proxy.join(" OR "),
        outbound_only(scorer, "n.src"),
    )
}

/// Contacts by address pair, where exactly one end is internal (the source, for lasthop's
/// scorer: see [`name_series_sql`]).
fn address_series_sql(scorer: Scorer) -> String {
    format!(
        "SELECT src AS k1, dst AS k2, ts, COALESCE(orig_ip_bytes, orig_bytes, 0) AS bytes,
                COALESCE(duration, 0.0) AS duration, uid, COALESCE(resp_bytes, 0) > 0 AS answered,
                proto = 'tcp' AND history IS NOT NULL AND strpos(history, 'S') = 0 AS continued
         FROM conn
         WHERE src IS NOT NULL AND dst IS NOT NULL AND is_internal(src) <> is_internal(dst){}",
        outbound_only(scorer, "src")
    )
}

/// The SQL condition that keeps a pair's internal end its source, under lasthop's scorer.
fn outbound_only(scorer: Scorer, source: &str) -> String {
    match scorer {
        Scorer::Lasthop => format!(" AND is_internal({source})"),
        Scorer::Rita => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Address,
    Name,
}

/// One pair's verdict, small enough to keep for every pair worth reporting.
struct Assessed {
    kind: Kind,
    source: String,
    /// The destination address, or the name.
    target: String,
    /// Addresses that served the name (for name pairs).
    peers: Vec<String>,
    via_proxy: bool,
    count: u64,
    total_bytes: u64,
    total_duration: f64,
    busiest_day: u64,
    first: i64,
    last: i64,
    uids: Vec<String>,
    strobe: bool,
    /// Safelisted: never reported, kept only so that its address pairs are known to be its.
    safelisted: bool,
    /// An external source contacting an internal address, and the share of its contacts that
    /// were answered with data.
    inbound: bool,
    answered_share: f64,
    continued_share: f64,
    lasthop: Option<BeaconScore>,
    rita: Option<RitaScore>,
}

impl Assessed {
    fn score(&self, options: &HuntOptions) -> f64 {
        match options.scorer {
            Scorer::Lasthop => self.lasthop.map_or(0.0, |s| s.score),
            Scorer::Rita => self.rita.map_or(0.0, |s| s.score),
        }
    }

    fn reportable(&self, options: &HuntOptions) -> bool {
        !self.safelisted
            && (self.strobe
                || match options.scorer {
                    Scorer::Lasthop => self.score(options) >= options.min_beacon_score,
                    // RITA reports a beacon once its bucketed threat score is above zero.
                    Scorer::Rita => self.rita.is_some_and(|r| r.threat() > 0.0),
                })
    }

    fn finding(&self, options: &HuntOptions) -> Finding {
        let mut entities = Entities { source: Some(self.source.clone()), ..Default::default() };
        match self.kind {
            Kind::Address => entities.destination = Some(self.target.clone()),
            Kind::Name => entities.domain = Some(self.target.clone()),
        }
        let target = match (self.kind, self.peers.as_slice()) {
            (Kind::Name, [one]) => format!("{} ({one})", self.target),
            (Kind::Name, [first, rest @ ..]) => {
                format!("{} ({first} and {} more)", self.target, rest.len())
            }
            _ => self.target.clone(),
        };
        let days = (self.last - self.first) as f64 / 86_400e6;
        let mut figures = serde_json::Map::new();
        figures.insert("connections".into(), json!(self.count));
        figures.insert("total_bytes".into(), json!(self.total_bytes));
        figures.insert("total_duration_s".into(), json!(round(self.total_duration, 3)));
        figures.insert("busiest_24h_connections".into(), json!(self.busiest_day));
        figures.insert("answered_share".into(), json!(round(self.answered_share, 3)));
        figures.insert("keepalive_share".into(), json!(round(self.continued_share, 3)));
        figures
            .insert("direction".into(), json!(if self.inbound { "inbound" } else { "outbound" }));
        if self.kind == Kind::Name {
            figures.insert("addresses".into(), json!(self.peers));
            figures.insert("via_proxy".into(), json!(self.via_proxy));
        }
        let mut finding;
        if self.strobe {
            let title = format!("Strobe: {} → {target}", self.source);
            // A strobe is noisy rather than stealthy: worth a look, rarely an implant's
            // preferred rhythm.
            finding = Finding::new(STROBE_ID, title, 0.45, entities);
            finding.severity = Severity::Low;
            finding.techniques = vec!["T1071".into()];
            finding.explanation = format!(
                "{} made {} connections to {target}, up to {} in 24 hours: about one a second or more. \
                 Such a flood is reported as a strobe, not scored as a beacon. It is usually a \
                 misbehaving client, a monitoring probe or a tunnel (DNS or ICMP tunnels often look \
                 like this); check which process on {} opens them.",
                self.source, self.count, self.busiest_day, self.source
            );
        } else {
            let score = self.score(options);
            let title = format!("Beacon: {} → {target}", self.source);
            finding = Finding::new(ID, title, score, entities);
            finding.techniques = match (self.kind, self.via_proxy) {
                (_, true) => vec!["T1071.001".into(), "T1090".into()],
                (Kind::Name, false) => vec!["T1071.001".into()],
                (Kind::Address, false) => vec!["T1071".into()],
            };
            if options.scorer == Scorer::Rita
                && let Some(r) = &self.rita
            {
                finding.severity = rita_severity(r.threat());
            }
            if let Some(l) = &self.lasthop {
                figures.insert("score_lasthop".into(), json!(round(l.score, 3)));
                figures.insert("timing".into(), json!(round(l.timing, 3)));
                figures.insert("gap_regularity".into(), json!(round(l.gap_regularity, 3)));
                figures.insert("periodicity".into(), json!(round(l.periodicity, 3)));
                figures.insert("persistence".into(), json!(round(l.persistence, 3)));
                figures.insert("size_regularity".into(), json!(round(l.size_regularity, 3)));
                figures.insert("period_s".into(), json!(round(l.period_s, 1)));
                figures.insert("jitter".into(), json!(round(l.jitter, 3)));
                figures.insert("active_days".into(), json!(l.active_days));
                figures.insert("life_days".into(), json!(l.life_days));
                figures.insert("clock".into(), json!(l.clock.name()));
            }
            if let Some(r) = &self.rita {
                figures.insert("score_rita".into(), json!(r.score));
                figures.insert("rita_timestamp".into(), json!(r.timestamp));
                figures.insert("rita_data_size".into(), json!(r.data_size));
                figures.insert("rita_histogram".into(), json!(r.histogram));
                figures.insert("rita_duration".into(), json!(r.duration));
            }
            finding.explanation = explain(self, options, &target, days);
        }
        finding.first_seen = self.first;
        finding.last_seen = self.last;
        finding.evidence.figures = figures.into_iter().collect();
        finding.evidence.uids = self.uids.clone();
        finding
    }
}

/// One name beacon per (source, registered domain): `d.dropbox.com` and `t8.dropbox.com` polled
/// by one host are one finding, the best-scoring name, the others listed in its evidence.
fn one_per_domain(findings: Vec<Finding>) -> Vec<Finding> {
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut by_key: std::collections::HashMap<(String, String), usize> = Default::default();
    let mut sorted = findings;
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    for f in sorted {
        let name = match (&f.entities.domain, f.detector.as_str()) {
            (Some(name), ID) => name.clone(),
            _ => {
                kept.push(f);
                continue;
            }
        };
        let domain =
            lasthop_query::functions::text::registered_domain(&name).unwrap_or(&name).to_string();
        let key = (f.entities.source.clone().unwrap_or_default(), domain);
        match by_key.get(&key) {
            Some(&i) => {
                let others = kept[i]
                    .evidence
                    .figures
                    .entry("other_names".into())
                    .or_insert_with(|| json!([]));
                if let Some(list) = others.as_array_mut() {
                    list.push(json!(name));
                }
            }
            None => {
                by_key.insert(key, kept.len());
                kept.push(f);
            }
        }
    }
    kept
}

fn rita_severity(threat: f64) -> Severity {
    match threat {
        t if t > 0.6 => Severity::High,
        t if t > 0.4 => Severity::Medium,
        t if t > 0.2 => Severity::Low,
        _ => Severity::Info,
    }
}

fn explain(a: &Assessed, options: &HuntOptions, target: &str, days: f64) -> String {
    let mut text = format!("{} contacted {target} {} times", a.source, a.count);
    if a.via_proxy {
        text.push_str(" through an explicit proxy");
    }
    text.push_str(&format!(" over {}", human_days(days)));
    if let Some(l) = &a.lasthop {
        let jitter = match l.jitter {
            j if j < 0.05 => "almost no jitter".to_string(),
            j if j <= 0.5 => format!("±{:.0}% jitter", j * 200.0),
            _ => "irregular gaps".to_string(),
        };
        text.push_str(&format!(
            ", about every {} ({jitter}), on {} of the {} {} from its first contact to its last",
            human_seconds(l.period_s),
            l.active_days,
            l.life_days,
            if l.clock == Clock::WorkingHours {
                "working days, only in working hours"
            } else {
                "days"
            },
        ));
        let why = if l.score < 0.5 {
            "too irregular or too short-lived to be a clear beacon"
        } else if l.gap_regularity >= l.periodicity {
            "the gaps between contacts are regular"
        } else {
            "contacts fall as evenly into period-long bins as a clock's, although single gaps vary"
        };
        text.push_str(&format!(". lasthop scores it {:.2}: {why}", l.score));
        if a.continued_share > KEEPALIVE_SHARE {
            text.push_str(&format!(
                " ({:.0}% of the records continue an open session without a new handshake: \
                 keep-alives of one long-lived connection, scored at half weight)",
                a.continued_share * 100.0
            ));
        }
    }
    if let Some(r) = &a.rita {
        text.push_str(&format!("; RITA's score over the last 24 hours would be {:.3}", r.score));
    } else {
        text.push_str("; RITA would not score it (too few contacts in its 24-hour window)");
    }
    let scorer = match options.scorer {
        Scorer::Lasthop => "",
        Scorer::Rita => " (ranked by the RITA-compatible scorer)",
    };
    text.push_str(&format!(
        "{scorer}. Implants poll their controller on a timer; find the process on {} that opens \
         these connections and what {target} serves.",
        a.source
    ));
    text
}

fn human_seconds(s: f64) -> String {
    let s = s.round() as i64;
    match s {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", (s as f64 / 60.0).round() as i64),
        s => format!("{:.1} h", s as f64 / 3600.0),
    }
}

fn human_days(days: f64) -> String {
    if days < 1.0 { format!("{:.1} hours", days * 24.0) } else { format!("{days:.1} days") }
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// A series key as text: an address pair's keys are 16-byte addresses, a name pair's second
/// key is the name, whatever its length (`www.corp.example` is 16 bytes too).
fn key_text(bytes: &[u8], is_address: bool) -> String {
    if is_address { format_ip(bytes) } else { String::from_utf8_lossy(bytes).into_owned() }
}

/// Scores one pair, or drops it: safelisted, a proxy as destination, a multicast address.
fn assess(
    s: &Series,
    kind: Kind,
    window: (i64, i64),
    options: &HuntOptions,
    proxies: &HashSet<[u8; 16]>,
) -> Option<Assessed> {
    let target_peer = match kind {
        Kind::Address => {
            let is_proxy = <[u8; 16]>::try_from(s.k2.as_slice())
                .is_ok_and(|k| proxies.contains(&k))
                || options.proxies.iter().any(|c| c.contains(&s.k2));
            if is_special(&s.k2) || is_proxy {
                return None;
            }
            Peer::Addr(&s.k2)
        }
        Kind::Name => Peer::Name(std::str::from_utf8(&s.k2).ok()?),
    };
    let safelisted = options.safelist.excludes(Peer::Addr(&s.k1), target_peer)
        || s.peers.iter().any(|p| options.safelist.excludes_one(Peer::Addr(p)));
    if safelisted && kind == Kind::Address {
        return None;
    }
    let strobe = !safelisted && s.busiest_day >= options.strobe_threshold;
    // Only RITA's scorer is given pairs whose source is external (see `name_series_sql`).
    let inbound = !options.internal.contains(&s.k1);
    let answered_share = s.answered as f64 / s.count.max(1) as f64;
    let (mut lasthop, rita) = if strobe || safelisted {
        (None, None)
    } else {
        (
            lasthop_score::score(&s.ts, &s.bytes, options.working_hours.as_ref()),
            rita_score(s, window),
        )
    };
    // TCP records without a handshake continue a session Zeek split at an idle timeout: the
    // regular "contacts" are one long-lived connection's keep-alives, which the long-connection
    // analytic judges.
    let continued_share = s.continued as f64 / s.count.max(1) as f64;
    if continued_share > KEEPALIVE_SHARE
        && let Some(l) = lasthop.as_mut()
    {
        l.score *= KEEPALIVE_FACTOR;
    }
    let assessed = Assessed {
        kind,
        source: key_text(&s.k1, true),
        target: key_text(&s.k2, kind == Kind::Address),
        peers: s.peers.iter().map(|p| format_ip(p)).collect(),
        via_proxy: s
            .peers
            .iter()
            .any(|p| proxies.contains(p) || options.proxies.iter().any(|c| c.contains(p))),
        count: s.count,
        total_bytes: s.total_bytes,
        total_duration: s.total_duration,
        busiest_day: s.busiest_day,
        first: s.first,
        last: s.last,
        uids: s.uids().map(String::from).collect(),
        strobe,
        safelisted,
        inbound,
        answered_share,
        continued_share,
        lasthop,
        rita,
    };
    (safelisted || assessed.reportable(options)).then_some(assessed)
}

/// RITA's score over its own window: the last 24 hours of the data, read from the start of
/// that window's first hour.
fn rita_score(s: &Series, window: (i64, i64)) -> Option<RitaScore> {
    let span = rita::window(window.0.div_euclid(1_000_000), (window.1 - 1).div_euclid(1_000_000));
    let read_from = rita::window_read_start(span) * 1_000_000;
    let start = s.ts.partition_point(|t| *t < read_from);
    let seconds: Vec<i64> = s.ts[start..].iter().map(|t| t.div_euclid(1_000_000)).collect();
    rita::score(&seconds, &s.bytes[start..], span)
}
