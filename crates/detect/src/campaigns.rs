//! **Campaigns**: many findings with one cause, folded into one finding that names them all.
//!
//! A detector judges one pair or one client at a time. Some causes make the same finding for
//! dozens of them: an Internet scanner's sweep matches Sigma's exploit rules from a hundred
//! addresses, and a software service that every workstation polls on a timer is a perfect
//! beacon from every workstation. Reported one by one they bury the findings that concern one
//! host. After every detector has run and the findings know who is on the other end, this pass
//! folds them:
//!
//! - **Scanning campaign** (`scanning-campaign`): Sigma matches from outside the network whose
//!   every matching request failed (an error status with the site's usual error page: see
//!   `possible_successes` in [`crate::detectors::sigma_match`]), from clients that have no other
//!   finding, become one finding per site, at low severity, listing the sources (count and the
//!   busiest), the rules, the paths and the first and last times. An attempt that may have
//!   worked (a 1xx–3xx answer, an unusual error page) stays its own finding at its own
//!   severity, and so does any attempt from a source with another finding (a web shell, a
//!   beacon): the campaign is noise only when nothing came of it. ATT&CK T1595 active scanning.
//! - **Shared schedule** (`shared-schedule`): beacons to one destination (address or name) from
//!   at least [`SHARED_MIN_HOSTS`] internal hosts and [`SHARED_MIN_SHARE`] of them become one
//!   finding, info when half the hosts or more poll it and low otherwise, naming the hosts,
//!   their count and the schedule (median period and its range across hosts). Software polls
//!   for updates, telemetry and monitoring; implants are on a few machines. A destination stays
//!   per host, at its own severity, when an indicator list names it, when it is new to the
//!   network, or when it is a home line or an edge device (residential, CGNAT, a router's
//!   certificate): no shared service lives there. ATT&CK T1071.
//! - **One beacon, several hosts**: beacons to one destination from two or more internal hosts
//!   that are not a shared service become one `beacon` finding at the best host's score and
//!   severity, naming every host with its own period, score and times, and saying why it is not
//!   a shared service. Two to five infected machines stay high or critical, as one thing to act
//!   on; a service a few machines of a small network poll is one finding, not one per machine.
//! - **One long connection, several hosts**: long connections from two or more internal hosts to
//!   one address become one `long-connection` finding the same way (a VPN concentrator or a push
//!   service many laptops hold sessions with is one thing to check, not one per laptop).
//!
//! Severities follow `docs/severity.md`: a campaign that nothing came of is never one to act on
//! today.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use datafusion::common::Result;
use lasthop_findings::{Entities, Finding, Severity};
use lasthop_normalise::{Networks, format_timestamp, parse_ip};
use serde_json::{Value, json};

use crate::detectors::{HuntContext, beacon, context, ioc, long_conn, sigma_match, web_shell};

pub const SCANNING_ID: &str = "scanning-campaign";
pub const SHARED_ID: &str = "shared-schedule";

/// Fewest internal hosts polling one destination before it is a shared service: an infection of
/// two to five machines stays one finding per machine.
pub const SHARED_MIN_HOSTS: usize = 6;
/// Share of the internal hosts polling one destination before it is a shared service.
pub const SHARED_MIN_SHARE: f64 = 0.1;

/// Sources, paths and samples a campaign lists.
const LISTED: usize = 10;

/// Folds scanning campaigns and shared schedules; see the module's documentation.
pub async fn fold(hunt: &HuntContext, findings: &mut Vec<Finding>) -> Result<()> {
    fold_scanning(hunt, findings);
    if findings.iter().any(|f| f.detector == beacon::ID) {
        let internal_hosts = internal_hosts(hunt).await?;
        fold_shared_schedules(findings, internal_hosts, &hunt.options.internal);
    }
    fold_long_connections(findings, &hunt.options.internal);
    Ok(())
}

async fn internal_hosts(hunt: &HuntContext) -> Result<usize> {
    Ok(crate::detectors::internal_hosts(hunt).await? as usize)
}

fn figure_u64(f: &Finding, name: &str) -> u64 {
    f.evidence.figures.get(name).and_then(Value::as_u64).unwrap_or(0)
}

fn fold_scanning(hunt: &HuntContext, findings: &mut Vec<Finding>) {
    let internal = &hunt.options.internal;
    let from_outside = |f: &Finding| {
        f.entities.source.as_deref().and_then(parse_ip).is_some_and(|a| !internal.contains(&a))
    };
    let failed_attempt = |f: &Finding| {
        f.detector == sigma_match::ID
            && f.evidence.figures.contains_key("possible_successes")
            && figure_u64(f, "possible_successes") == 0
            && from_outside(f)
    };
    // Addresses some other finding is about: their failed attempts are part of that story.
    let mut involved: HashSet<String> = HashSet::new();
    for f in findings.iter().filter(|f| !failed_attempt(f)) {
        involved.extend(f.entities.source.iter().cloned());
        involved.extend(f.entities.destination.iter().cloned());
        if f.detector == web_shell::ID
            && let Some(clients) = f.evidence.figures.get("clients").and_then(Value::as_array)
        {
            involved.extend(clients.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    let mut by_site: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    let mut kept = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        let source = f.entities.source.clone().unwrap_or_default();
        if failed_attempt(&f) && !involved.contains(&source) {
            // The server's address where the log has it, else the Host asked for (which the
            // scanner chose: lower case, so that one site is one campaign).
            let site = match &f.entities.destination {
                Some(address) => address.clone(),
                None => f.entities.domain.as_deref().unwrap_or_default().to_ascii_lowercase(),
            };
            by_site.entry(site).or_default().push(f);
        } else {
            kept.push(f);
        }
    }
    kept.extend(by_site.into_iter().map(|(site, members)| scanning_campaign(&site, members)));
    *findings = kept;
}

fn scanning_campaign(site: &str, members: Vec<Finding>) -> Finding {
    let mut by_source: BTreeMap<String, u64> = BTreeMap::new();
    let mut rules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut paths: BTreeMap<String, u64> = BTreeMap::new();
    let mut techniques: BTreeSet<String> = BTreeSet::new();
    let mut samples = Vec::new();
    let mut uids = Vec::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    // Matches, not requests: one request that matches two rules counts twice.
    let mut matches = 0;
    for m in &members {
        let source = m.entities.source.clone().unwrap_or_default();
        let hits = figure_u64(m, "matching_records").max(1);
        matches += hits;
        *by_source.entry(source.clone()).or_default() += hits;
        let title = m
            .evidence
            .figures
            .get("rule_title")
            .and_then(Value::as_str)
            .unwrap_or(&m.title)
            .to_string();
        rules.entry(title).or_default().insert(source);
        for s in &m.evidence.samples {
            if let Some(path) = s.get("path").and_then(Value::as_str).filter(|p| !p.is_empty()) {
                *paths.entry(path.to_string()).or_default() += 1;
            }
        }
        if samples.len() < LISTED {
            samples.extend(m.evidence.samples.iter().take(1).cloned());
        }
        if uids.len() < LISTED {
            uids.extend(m.evidence.uids.iter().take(1).cloned());
        }
        techniques.extend(m.techniques.iter().cloned());
        first = first.min(m.first_seen);
        last = last.max(m.last_seen);
    }
    techniques.insert("T1595".into());
    let busiest = top(&by_source);
    let top_paths = top(&paths);
    let rule_counts: BTreeMap<&String, usize> = rules.iter().map(|(r, s)| (r, s.len())).collect();
    // The campaign is the site's: its identity is the site alone, never a Host header one
    // scanner or another sent.
    let by_address = members.iter().any(|m| m.entities.destination.is_some());
    let target = if site.is_empty() { "the logged site".to_string() } else { site.to_string() };
    let entities = Entities {
        destination: by_address.then(|| site.to_string()),
        domain: (!by_address && !site.is_empty()).then(|| site.to_string()),
        ..Default::default()
    };
    let sources = by_source.len();
    let title = format!(
        "Scanning campaign: {sources} source(s), {} rule(s) against {target}, every attempt failed",
        rules.len()
    );
    let mut f = Finding::keyed(SCANNING_ID, site, title, 0.35, entities);
    f.severity = Severity::Low;
    f.techniques = techniques.into_iter().collect();
    f.first_seen = first;
    f.last_seen = last;
    for (k, v) in [
        ("sources", json!(sources)),
        ("matches", json!(matches)),
        ("top_sources", json!(busiest)),
        ("rules", json!(rule_counts)),
        ("paths", json!(top_paths)),
        ("findings_folded", json!(members.len())),
    ] {
        f.evidence.figures.insert(k.into(), v);
    }
    f.evidence.samples = samples;
    f.evidence.uids = uids;
    let listed: Vec<String> = busiest.iter().map(|(s, n)| format!("{s} ({n})")).collect();
    let rule_list: Vec<String> =
        rule_counts.iter().map(|(r, n)| format!("\"{r}\" from {n} source(s)")).collect();
    f.explanation = format!(
        "{sources} source(s) outside the network made {matches} match(es) of Sigma's exploit \
         rules against {target} ({}), and every attempt failed: an error status with the site's usual \
         error page, and no other finding about the sources. That is scanning, which every public \
         server receives; it is listed once so that it does not bury attempts that may have \
         worked, which stay findings of their own. Busiest sources: {}. Check that the site is \
         patched against what was tried; an injection the server acts on as it logs (Log4Shell's \
         JNDI lookups) works whatever it answered, so look for the server reaching out (LDAP, \
         RMI, DNS) after such attempts.",
        rule_list.join(", "),
        listed.join(", ")
    );
    f
}

/// The busiest keys, most first, at most [`LISTED`].
fn top(counts: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = counts.iter().map(|(k, n)| (k.clone(), *n)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(LISTED);
    all
}

/// The target a beacon finding is about: its name, else its address.
fn beacon_target(f: &Finding) -> Option<String> {
    f.entities.domain.clone().or_else(|| f.entities.destination.clone())
}

/// Whether no shared service is expected at the finding's other end: a home line or an edge
/// device.
fn on_a_home_line_or_device(f: &Finding) -> bool {
    f.entities.remote.as_ref().is_some_and(|r| {
        matches!(r.network_type.as_deref(), Some("residential" | "cgnat"))
            || r.device.as_ref().is_some_and(|d| d.class != "other")
    })
}

/// Folds the beacons of internal hosts (`internal`) that share a destination; beacons from
/// outside (RITA's scorer keeps them) are never counted as the site's hosts.
fn fold_shared_schedules(findings: &mut Vec<Finding>, internal_hosts: usize, internal: &Networks) {
    // Targets an indicator list names (the intelligence detector matched them).
    let named: HashSet<String> = findings
        .iter()
        .filter(|f| f.detector == ioc::ID)
        .flat_map(|f| {
            [&f.entities.destination, &f.entities.domain, &f.entities.indicator]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    let from_inside = |f: &Finding| {
        f.entities.source.as_deref().and_then(parse_ip).is_some_and(|a| internal.contains(&a))
    };
    for (i, f) in findings.iter().enumerate() {
        if f.detector == beacon::ID
            && from_inside(f)
            && let Some(target) = beacon_target(f)
        {
            groups.entry(target).or_default().push(i);
        }
    }
    let mut folded: HashSet<usize> = HashSet::new();
    let mut shared = Vec::new();
    let mut targets: Vec<_> = groups.into_iter().collect();
    targets.sort();
    for (target, members) in targets {
        let sources: BTreeSet<&str> =
            members.iter().filter_map(|&i| findings[i].entities.source.as_deref()).collect();
        let enough = sources.len() >= SHARED_MIN_HOSTS
            && sources.len() as f64 >= SHARED_MIN_SHARE * internal_hosts as f64;
        let of_members =
            |test: &dyn Fn(&Finding) -> bool| members.iter().any(|&i| test(&findings[i]));
        let registered = lasthop_query::functions::text::registered_domain(&target)
            .unwrap_or(&target)
            .to_string();
        let listed = named.contains(&target) || named.contains(&registered);
        if sources.len() < 2 {
            continue;
        }
        let mut not_a_service = Vec::new();
        if !enough {
            not_a_service.push(format!(
                "{} of {internal_hosts} hosts are too few for a shared service (at least \
                 {SHARED_MIN_HOSTS} and a tenth of the hosts)",
                sources.len()
            ));
        }
        for (applies, reason) in [
            (listed, "an indicator list names it"),
            (of_members(&context::is_new), "it is new to the network"),
            (of_members(&on_a_home_line_or_device), "it is a home line or an edge device"),
        ] {
            if applies {
                not_a_service.push(reason.to_string());
            }
        }
        let members_found = members.iter().map(|&i| &findings[i]);
        shared.push(if not_a_service.is_empty() {
            shared_schedule(&target, members_found, internal_hosts)
        } else {
            let why = format!("It is not a shared service: {}", not_a_service.join("; "));
            destination_group(&target, members_found, "beacon to", &why)
        });
        folded.extend(members);
    }
    remove_indices(findings, &folded);
    findings.extend(shared);
}

fn shared_schedule<'a>(
    target: &str,
    members: impl Iterator<Item = &'a Finding>,
    internal_hosts: usize,
) -> Finding {
    let members: Vec<&Finding> = members.collect();
    let mut hosts: Vec<String> = members.iter().filter_map(|m| m.entities.source.clone()).collect();
    hosts.sort();
    hosts.dedup();
    let mut periods: Vec<f64> = members
        .iter()
        .filter_map(|m| m.evidence.figures.get("period_s").and_then(Value::as_f64))
        .collect();
    periods.sort_by(f64::total_cmp);
    let median = periods.get(periods.len() / 2).copied().unwrap_or(0.0);
    let (low, high) =
        (periods.first().copied().unwrap_or(0.0), periods.last().copied().unwrap_or(0.0));
    let connections: u64 = members.iter().map(|m| figure_u64(m, "connections")).sum();
    let share = hosts.len() as f64 / internal_hosts.max(1) as f64;
    let best = members.iter().map(|m| m.score).fold(0.0, f64::max);
    let first = members.iter().map(|m| m.first_seen).min().unwrap_or(0);
    let last = members.iter().map(|m| m.last_seen).max().unwrap_or(0);
    let by_name = members.iter().any(|m| m.entities.domain.is_some());
    let entities = Entities {
        destination: (!by_name).then(|| target.to_string()),
        domain: by_name.then(|| target.to_string()),
        remote: members.iter().find_map(|m| m.entities.remote.clone()),
        ..Default::default()
    };
    let title = format!(
        "Shared schedule: {} of {internal_hosts} hosts poll {target} about every {}",
        hosts.len(),
        human_period(median)
    );
    let (score, severity) =
        if share >= 0.5 { (0.25, Severity::Info) } else { (0.35, Severity::Low) };
    let mut f = Finding::keyed(SHARED_ID, target, title, score, entities);
    f.severity = severity;
    f.techniques = vec!["T1071".into()];
    f.first_seen = first;
    f.last_seen = last;
    for (k, v) in [
        ("hosts", json!(hosts)),
        ("host_count", json!(hosts.len())),
        ("internal_hosts", json!(internal_hosts)),
        ("share", json!((share * 1000.0).round() / 1000.0)),
        ("period_s", json!(median.round())),
        ("period_range_s", json!([low.round(), high.round()])),
        ("connections", json!(connections)),
        ("best_beacon_score", json!((best * 1000.0).round() / 1000.0)),
    ] {
        f.evidence.figures.insert(k.into(), v);
    }
    f.evidence.uids =
        members.iter().flat_map(|m| m.evidence.uids.iter().take(1)).take(LISTED).cloned().collect();
    f.explanation = format!(
        "{} of the {internal_hosts} internal hosts ({:.0}%) poll {target} on a timer, about every \
         {} (from {} to {} across hosts), {connections} connections in all. A schedule that much \
         of the network shares is software's (updates, telemetry, monitoring), not one implant's, \
         and no indicator list names {target}, it is not new to the network and it is not a home \
         line or an edge device; it is listed once so that it does not bury findings about one \
         host. If {target} is not a service the site knows, every host listed here is affected.",
        hosts.len(),
        share * 100.0,
        human_period(median),
        human_period(low),
        human_period(high),
    );
    f
}

/// Figures of a member finding that its row in a grouped finding's `per_host` keeps.
fn per_host_figures(detector: &str) -> &'static [&'static str] {
    match detector {
        long_conn::ID => &["connections", "longest_s", "total_duration_s", "still_open"],
        _ => &["period_s", "jitter", "connections"],
    }
}

/// One finding for a destination several internal hosts share a finding about (beacons that are
/// not a shared service, long connections): the best-scoring host's finding, at its score and
/// severity, naming every host with its own score, measurements and times. One implant on three
/// machines is one thing to act on, and every machine listed is part of it. `what` says what
/// the hosts do ("beacon to"), `why` why it is not folded quieter (may be empty). Its id is the
/// destination's, so it keeps its triage as hosts join or are cleaned.
fn destination_group<'a>(
    target: &str,
    members: impl Iterator<Item = &'a Finding>,
    what: &str,
    why: &str,
) -> Finding {
    let mut members: Vec<&Finding> = members.collect();
    members.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    let best = members[0];
    let mut per_host: BTreeMap<String, Value> = BTreeMap::new();
    for m in &members {
        let Some(host) = m.entities.source.clone() else { continue };
        // A host with an address and a name beacon keeps its best.
        per_host.entry(host.clone()).or_insert_with(|| {
            let mut row = serde_json::Map::new();
            row.insert("host".into(), json!(host));
            row.insert("score".into(), json!((m.score * 1000.0).round() / 1000.0));
            row.insert("severity".into(), json!(m.severity.name()));
            for k in per_host_figures(&m.detector) {
                if let Some(v) = m.evidence.figures.get(*k) {
                    row.insert((*k).into(), v.clone());
                }
            }
            row.insert("first_seen".into(), json!(format_timestamp(m.first_seen)));
            row.insert("last_seen".into(), json!(format_timestamp(m.last_seen)));
            Value::Object(row)
        });
    }
    let hosts: Vec<String> = per_host.keys().cloned().collect();
    let mut f = best.clone();
    let identity = Entities {
        destination: best.entities.destination.clone(),
        domain: best.entities.domain.clone(),
        ..Default::default()
    };
    f.identity_key = "hosts".into();
    f.id = lasthop_findings::keyed_finding_id(&best.detector, &f.identity_key, &identity);
    f.first_seen = members.iter().map(|m| m.first_seen).min().unwrap_or(best.first_seen);
    f.last_seen = members.iter().map(|m| m.last_seen).max().unwrap_or(best.last_seen);
    let label = match best.detector.as_str() {
        beacon::ID => "Beacon",
        long_conn::ID => "Long connection",
        other => other,
    };
    f.title = format!("{label}: {} hosts → {target}", hosts.len());
    let connections: u64 = members.iter().map(|m| figure_u64(m, "connections")).sum();
    for (k, v) in [
        ("hosts", json!(hosts)),
        ("host_count", json!(hosts.len())),
        ("per_host", json!(per_host.into_values().collect::<Vec<_>>())),
        ("connections_all_hosts", json!(connections)),
    ] {
        f.evidence.figures.insert(k.into(), v);
    }
    let mut uids: Vec<String> = Vec::new();
    for m in &members {
        uids.extend(m.evidence.uids.iter().take(LISTED.div_ceil(members.len())).cloned());
    }
    f.evidence.uids = uids;
    let why = if why.is_empty() { String::new() } else { format!(" {why}.") };
    f.explanation = format!(
        "{} internal hosts {what} {target}: {}.{why} One destination, one finding: every host \
         listed is affected. The best-scoring host, {}: {}",
        hosts.len(),
        hosts.join(", "),
        best.entities.source.as_deref().unwrap_or("?"),
        best.explanation
    );
    f
}

/// Folds the long connections of several internal hosts with one destination into one finding
/// ([`destination_group`]); its severity is the longest-scoring host's. Prevalence has already
/// lowered a destination much of the network holds sessions with (`context`).
fn fold_long_connections(findings: &mut Vec<Finding>, internal: &Networks) {
    let from_inside = |f: &Finding| {
        f.entities.source.as_deref().and_then(parse_ip).is_some_and(|a| internal.contains(&a))
    };
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.detector == long_conn::ID
            && from_inside(f)
            && let Some(target) = f.entities.destination.clone()
        {
            groups.entry(target).or_default().push(i);
        }
    }
    let mut folded: HashSet<usize> = HashSet::new();
    let mut grouped = Vec::new();
    for (target, members) in groups {
        let sources: BTreeSet<&str> =
            members.iter().filter_map(|&i| findings[i].entities.source.as_deref()).collect();
        if sources.len() < 2 {
            continue;
        }
        let members_found = members.iter().map(|&i| &findings[i]);
        grouped.push(destination_group(&target, members_found, "hold long connections to", ""));
        folded.extend(members);
    }
    remove_indices(findings, &folded);
    findings.extend(grouped);
}

fn remove_indices(findings: &mut Vec<Finding>, folded: &HashSet<usize>) {
    let mut index = 0;
    findings.retain(|_| {
        index += 1;
        !folded.contains(&(index - 1))
    });
}

fn human_period(s: f64) -> String {
    match s {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7_200.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3_600.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon_from(source: &str, target: &str, period: f64) -> Finding {
        let entities = Entities {
            source: Some(source.into()),
            domain: Some(target.into()),
            ..Default::default()
        };
        let mut f = Finding::new(beacon::ID, format!("Beacon: {source} → {target}"), 0.9, entities);
        f.evidence.figures.insert("period_s".into(), json!(period));
        f.evidence.figures.insert("connections".into(), json!(100));
        f
    }

    #[test]
    fn a_service_most_hosts_poll_is_one_quiet_finding_and_a_few_infected_hosts_stay_high() {
        let mut findings: Vec<Finding> = (0..40)
            .map(|i| {
                beacon_from(&format!("10.0.0.{i}"), "telemetry.vendor.example", 3600.0 + i as f64)
            })
            .collect();
        findings.extend((0..5).map(|i| beacon_from(&format!("10.0.1.{i}"), "c2.example", 300.0)));
        fold_shared_schedules(&mut findings, 60, &Networks::default());
        let shared: Vec<_> = findings.iter().filter(|f| f.detector == SHARED_ID).collect();
        assert_eq!(shared.len(), 1, "{findings:#?}");
        assert_eq!(shared[0].severity, Severity::Info);
        assert_eq!(shared[0].evidence.figures["host_count"], 40);
        assert_eq!(shared[0].evidence.figures["hosts"].as_array().unwrap().len(), 40);
        let c2: Vec<_> = findings.iter().filter(|f| f.detector == beacon::ID).collect();
        assert_eq!(c2.len(), 1, "five infected hosts are one finding: {c2:#?}");
        assert_eq!(c2[0].severity, Severity::Critical, "and stay critical");
        assert_eq!(c2[0].evidence.figures["host_count"], 5);
        assert_eq!(c2[0].evidence.figures["per_host"].as_array().unwrap().len(), 5);
        assert!(c2[0].explanation.contains("5 of 60 hosts are too few"), "{}", c2[0].explanation);
    }

    #[test]
    fn a_grouped_beacon_keeps_the_best_host_and_an_id_that_does_not_follow_its_hosts() {
        let group = |hosts: &[(&str, f64)]| -> Finding {
            let mut findings: Vec<Finding> = hosts
                .iter()
                .map(|(h, score)| {
                    let mut f = beacon_from(h, "c2.example", 300.0);
                    f.score = *score;
                    f.severity = Severity::from_score(*score);
                    f
                })
                .collect();
            // A beacon elsewhere from one of them is not part of it.
            findings.push(beacon_from("10.0.0.1", "other.example", 60.0));
            fold_shared_schedules(&mut findings, 100, &Networks::default());
            assert_eq!(findings.len(), 2, "{findings:#?}");
            findings
                .into_iter()
                .find(|f| f.entities.domain.as_deref() == Some("c2.example"))
                .unwrap()
        };
        let three = group(&[("10.0.0.1", 0.7), ("10.0.0.2", 0.95), ("10.0.0.3", 0.5)]);
        assert_eq!(three.entities.source.as_deref(), Some("10.0.0.2"), "the best host leads");
        assert_eq!(three.score, 0.95);
        assert_eq!(three.severity, Severity::Critical);
        assert_eq!(three.evidence.figures["hosts"], json!(["10.0.0.1", "10.0.0.2", "10.0.0.3"]));
        assert_eq!(three.evidence.figures["connections_all_hosts"], 300);
        let two = group(&[("10.0.0.1", 0.9), ("10.0.0.4", 0.6)]);
        assert_eq!(two.id, three.id, "the destination's finding, whichever hosts beacon to it");
        assert_ne!(two.id, beacon_from("10.0.0.1", "c2.example", 300.0).id);
    }

    #[test]
    fn a_shared_destination_that_is_listed_new_or_a_home_line_stays_a_beacon() {
        let group = |target: &str| -> Vec<Finding> {
            (0..10).map(|i| beacon_from(&format!("10.0.0.{i}"), target, 600.0)).collect()
        };
        let still_a_beacon = |findings: &[Finding], reason: &str| {
            assert!(findings.iter().all(|f| f.detector != SHARED_ID), "{findings:#?}");
            let beacons: Vec<_> = findings.iter().filter(|f| f.detector == beacon::ID).collect();
            assert_eq!(beacons.len(), 1, "one destination, one finding");
            assert_eq!(beacons[0].severity, Severity::Critical, "at its own severity");
            assert_eq!(beacons[0].evidence.figures["host_count"], 10);
            assert!(beacons[0].explanation.contains(reason), "{}", beacons[0].explanation);
        };
        let mut listed = group("bad.example");
        listed.push(Finding::new(
            ioc::ID,
            "IOC".into(),
            0.9,
            Entities { domain: Some("bad.example".into()), ..Default::default() },
        ));
        fold_shared_schedules(&mut listed, 20, &Networks::default());
        still_a_beacon(&listed, "an indicator list names it");
        let mut new = group("fresh.example");
        context::apply(
            &mut new[3],
            &[(0.05, context::new_adjustment("fresh.example", 19_000, "the data"))],
            Default::default(),
        );
        fold_shared_schedules(&mut new, 20, &Networks::default());
        still_a_beacon(&new, "it is new to the network");
        let mut home = group("router.example");
        home[0].entities.remote = Some(lasthop_findings::RemoteEnd {
            network_type: Some("residential".into()),
            ..Default::default()
        });
        fold_shared_schedules(&mut home, 20, &Networks::default());
        still_a_beacon(&home, "a home line or an edge device");
        // Too small a share of a large network is not a shared service either.
        let mut few = group("rare.example");
        fold_shared_schedules(&mut few, 500, &Networks::default());
        still_a_beacon(&few, "10 of 500 hosts are too few");
    }

    #[test]
    fn long_connections_of_several_hosts_to_one_address_are_one_finding() {
        let long = |source: &str, destination: &str, score: f64| {
            let entities = Entities {
                source: Some(source.into()),
                destination: Some(destination.into()),
                ..Default::default()
            };
            let mut f =
                Finding::new(long_conn::ID, format!("Long connection: {source}"), score, entities);
            f.evidence.figures.insert("longest_s".into(), json!(score * 100_000.0));
            f.evidence.figures.insert("connections".into(), json!(2));
            f
        };
        let internal = Networks::default();
        let mut findings = vec![
            long("10.0.0.1", "198.51.100.7", 0.6),
            long("10.0.0.2", "198.51.100.7", 0.8),
            long("10.0.0.3", "198.51.100.7", 0.5),
            long("10.0.0.1", "203.0.113.1", 0.7),
            // An outside client's session with one of ours is its own story.
            long("192.0.2.1", "198.51.100.7", 0.9),
        ];
        fold_long_connections(&mut findings, &internal);
        assert_eq!(findings.len(), 3, "{findings:#?}");
        let group = findings.iter().find(|f| f.title.contains("3 hosts")).unwrap();
        assert_eq!(group.title, "Long connection: 3 hosts → 198.51.100.7");
        assert_eq!(group.score, 0.8);
        assert_eq!(group.entities.source.as_deref(), Some("10.0.0.2"));
        assert_eq!(group.evidence.figures["connections_all_hosts"], 6);
        let rows = group.evidence.figures["per_host"].as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1]["longest_s"], 80_000.0);
        assert!(group.explanation.starts_with("3 internal hosts hold long connections to"));
    }

    fn attempt(source: &str, possible_successes: u64) -> Finding {
        let entities = Entities {
            source: Some(source.into()),
            destination: Some("10.30.0.10".into()),
            domain: Some("www.example.org".into()),
            ..Default::default()
        };
        let mut f = Finding::keyed(sigma_match::ID, "rule-1", "Sigma: x".into(), 0.75, entities);
        f.evidence.figures.insert("possible_successes".into(), json!(possible_successes));
        f.evidence.figures.insert("matching_records".into(), json!(2));
        f.evidence.figures.insert("rule_title".into(), json!("PHPUnit RCE"));
        f.evidence.samples.push(
            [("path".to_string(), json!("/vendor/phpunit/eval-stdin.php"))].into_iter().collect(),
        );
        f
    }

    #[test]
    fn failed_scans_fold_into_one_campaign_and_what_may_have_worked_stays() {
        let hunt = HuntContext::new(datafusion::prelude::SessionContext::new());
        let mut findings: Vec<Finding> =
            (0..150).map(|i| attempt(&format!("203.0.113.{i}"), 0)).collect();
        findings.push(attempt("198.51.100.1", 1));
        findings.push(attempt("198.51.100.2", 0));
        let shell = Finding::new(
            web_shell::ID,
            "shell".into(),
            0.9,
            Entities { source: Some("198.51.100.2".into()), ..Default::default() },
        );
        findings.push(shell);
        findings.push(attempt("10.0.0.5", 0));
        fold_scanning(&hunt, &mut findings);
        let campaigns: Vec<_> = findings.iter().filter(|f| f.detector == SCANNING_ID).collect();
        assert_eq!(
            campaigns.len(),
            1,
            "{:#?}",
            findings.iter().map(|f| &f.title).collect::<Vec<_>>()
        );
        let c = campaigns[0];
        assert_eq!(c.severity, Severity::Low);
        assert_eq!(c.evidence.figures["sources"], 150);
        assert_eq!(c.evidence.figures["top_sources"].as_array().unwrap().len(), LISTED);
        assert_eq!(c.evidence.figures["paths"][0][0], "/vendor/phpunit/eval-stdin.php");
        let alone: Vec<_> = findings
            .iter()
            .filter(|f| f.detector == sigma_match::ID)
            .filter_map(|f| f.entities.source.as_deref())
            .collect();
        assert_eq!(
            alone,
            ["198.51.100.1", "198.51.100.2", "10.0.0.5"],
            "worked, involved, internal"
        );
    }
}
