//! Context that moves a score: facts about a finding's endpoints that make it more or less
//! likely to be an implant, each listed in the finding's evidence (`adjustments`) with its effect.
//!
//! - **prevalence**: a destination only one internal host talks to is more suspicious (+0.05);
//!   one that a fifth or more of the hosts talk to is a shared service (−0.2);
//! - **rare user agent**: HTTP from the pair with a user agent no other host sends (+0.1), the
//!   way hand-written implants give themselves away;
//! - **rare TLS client fingerprint**: a JA4 (or JA3) the pair's TLS clients present that no other
//!   host does (+0.05);
//! - **rare SSH client**: a HASSH (where the deployment logs it) or, without one, a client
//!   software banner that no other host presents (+0.05): custom implants and tunnelling tools
//!   bring their own SSH libraries, where administrators' clients are the same few builds;
//! - **missing Host header**: HTTP requests without one (+0.05), which browsers never send;
//! - **content unlike its name**: successful HTTP responses whose sniffed MIME type contradicts
//!   the URI's extension (+0.1 when a program comes back for `/logo.png` or `/jquery.js`, +0.05
//!   for other contradictions such as text for an image), the way implants disguise tasking and
//!   payloads as static files;
//! - **new**: the other end first appears more than a day after the store's history (or, in a
//!   store without one, the data) begins (+0.05); an end the history knew before the data now
//!   left in the store began is not new;
//! - **scheduled by design**: NTP (time synchronisation polls on a timer, −0.3) and small ICMP
//!   echoes (reachability probes and Internet measurement, −0.2), when they are all the pair
//!   exchanges.
//!
//! With `--scorer rita` the adjustments are listed but the score is left as RITA computes it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use lasthop_findings::Finding;
use serde_json::{Value, json};

use super::{HuntContext, Query, Row, Rows, Scorer, rows};

/// Internal hosts needed before prevalence means anything.
const MIN_HOSTS_FOR_PREVALENCE: u64 = 10;

/// Adds context to beacon and long-connection findings between an internal source and an
/// external address or name.
pub async fn adjust(hunt: &HuntContext, findings: &mut [Finding], data_start: i64) -> Result<()> {
    if findings.is_empty() {
        return Ok(());
    }
    let internal_hosts = super::internal_hosts(hunt).await?;
    let addresses = distinct(findings.iter().filter_map(|f| f.entities.destination.as_deref()));
    let names = distinct(findings.iter().filter_map(|f| f.entities.domain.as_deref()));
    // The findings' own (source, target) pairs, so that the queries below return rows for them
    // only: restricting by sources and targets separately returns their cross product, which
    // on a busy network is most of the traffic (376 MB of rows for 480 findings over 10 M
    // connections, measured).
    register_targets(hunt, findings)?;
    let result =
        adjust_registered(hunt, findings, data_start, internal_hosts, &addresses, &names).await;
    hunt.ctx.deregister_table(TARGETS_TABLE)?;
    result
}

/// The table of the findings' (source, target) pairs, while `adjust` runs.
const TARGETS_TABLE: &str = "lasthop_context_targets";

/// Rows of `h` (with `src`, `dst` and `name`) that belong to a finding's pair, by address or
/// by name.
const OF_TARGETS: &str =
    "EXISTS (SELECT 1 FROM targets p WHERE p.s_ip = h.src AND (p.t_ip = h.dst OR p.t = h.name))";

/// HTTP records with the name their Host header gives (lower case, no port, no trailing dot),
/// as a common table expression `named`.
const NAMED_HTTP: &str = "named AS (SELECT *, rtrim(regexp_replace(lower(host), ':[0-9]+$', ''), '.') AS name FROM http)";

/// The targets as a SQL common table expression: addresses parsed, names kept as text.
const TARGETS: &str =
    "targets AS (SELECT ip(s) AS s_ip, ip(t) AS t_ip, t FROM lasthop_context_targets)";

fn register_targets(hunt: &HuntContext, findings: &[Finding]) -> Result<()> {
    let pairs: BTreeSet<(&str, &str)> = findings
        .iter()
        .filter_map(|f| {
            let target = f.entities.domain.as_deref().or(f.entities.destination.as_deref())?;
            Some((f.entities.source.as_deref()?, target))
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("s", DataType::Utf8, false),
        Field::new("t", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.0))),
            Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.1))),
        ],
    )?;
    let table = MemTable::try_new(schema, vec![vec![batch]])?;
    hunt.ctx.register_table(TARGETS_TABLE, Arc::new(table))?;
    Ok(())
}

async fn adjust_registered(
    hunt: &HuntContext,
    findings: &mut [Finding],
    data_start: i64,
    internal_hosts: u64,
    addresses: &[String],
    names: &[String],
) -> Result<()> {
    let mut query = Query::new("prevalence of the findings' targets");
    let (address_list, name_list) = (
        query.texts(addresses.iter().map(String::as_str)),
        query.texts(names.iter().map(String::as_str)),
    );
    let prevalence = lookup(
        hunt,
        query,
        &format!(
            "WITH {NAMED_HTTP}
             SELECT ip_text(dst) AS k, count(DISTINCT src) AS n FROM conn
             WHERE is_internal(src) AND ip_text(dst) IN ({address_list}) GROUP BY dst
             UNION ALL
             SELECT fqdn AS k, count(DISTINCT src) AS n FROM (
                 SELECT src, name AS fqdn FROM named
                 UNION ALL SELECT src, rtrim(lower(server_name), '.') FROM ssl
             ) WHERE is_internal(src) AND fqdn IN ({name_list}) GROUP BY fqdn"
        ),
    )
    .await?;
    // Per (source, destination or name): the rarest user agent and how many sources send it.
    let agents = rows(
        &hunt.ctx,
        "user agents of the findings' pairs",
        &format!(
            "WITH usage AS (SELECT user_agent, count(DISTINCT src) AS senders FROM http
                            WHERE user_agent IS NOT NULL AND user_agent <> '' GROUP BY user_agent),
                  {TARGETS},
                  {NAMED_HTTP}
             SELECT ip_text(h.src) AS s, ip_text(h.dst) AS d, h.name AS name,
                    h.user_agent AS agent, u.senders AS senders,
                    sum(CASE WHEN h.host IS NULL OR h.host = '' THEN 1 ELSE 0 END) AS hostless
             FROM named h LEFT JOIN usage u ON h.user_agent = u.user_agent
             WHERE {OF_TARGETS}
             GROUP BY h.src, h.dst, h.name, h.user_agent, u.senders"
        ),
    )
    .await?;
    let protocols = rows(
        &hunt.ctx,
        "protocols of the findings' pairs",
        &format!(
            "WITH {TARGETS}
             SELECT ip_text(c.src) AS s, ip_text(c.dst) AS d,
                    sum(CASE WHEN proto = 'udp' AND (dst_port = 123 OR service = 'ntp') THEN 1 ELSE 0 END) AS ntp,
                    sum(CASE WHEN proto = 'icmp' AND COALESCE(orig_bytes, 0) <= 64 THEN 1 ELSE 0 END) AS pings,
                    count(*) AS total
             FROM conn c
             WHERE EXISTS (SELECT 1 FROM targets p WHERE p.s_ip = c.src AND p.t_ip = c.dst)
             GROUP BY c.src, c.dst"
        ),
    )
    .await?;
    let fingerprints = rows(
        &hunt.ctx,
        "TLS fingerprints of the findings' pairs",
        &format!(
            "WITH tls AS (SELECT src, dst, rtrim(lower(server_name), '.') AS name,
                                 COALESCE(NULLIF(ja4, ''), NULLIF(ja3, '')) AS fp FROM ssl),
                  usage AS (SELECT fp, count(DISTINCT src) AS senders FROM tls
                            WHERE fp IS NOT NULL GROUP BY fp),
                  {TARGETS}
             SELECT ip_text(h.src) AS s, ip_text(h.dst) AS d, h.name AS name, h.fp AS fp,
                    u.senders AS senders
             FROM tls h JOIN usage u ON h.fp = u.fp
             WHERE {OF_TARGETS}
             GROUP BY h.src, h.dst, h.name, h.fp, u.senders"
        ),
    )
    .await?;
    let responses = rows(
        &hunt.ctx,
        "HTTP responses of the findings' pairs",
        &format!(
            "WITH {TARGETS}, {NAMED_HTTP}
             SELECT ip_text(h.src) AS s, ip_text(h.dst) AS d, h.name AS name,
                    regexp_replace(lower(h.uri), '[?#].*$', '') AS path,
                    h.resp_mime_types[1] AS mime, count(*) AS n
             FROM named h
             WHERE h.status_code BETWEEN 200 AND 299 AND cardinality(h.resp_mime_types) > 0
               AND {OF_TARGETS}
             GROUP BY h.src, h.dst, h.name, path, mime"
        ),
    )
    .await?;
    // SSH has no name to follow: pairs by address only.
    let ssh_clients = rows(
        &hunt.ctx,
        "SSH clients of the findings' pairs",
        &format!(
            "WITH client AS (SELECT src, dst,
                                    CASE WHEN hassh IS NOT NULL AND hassh <> '' THEN 'HASSH ' || hassh
                                         ELSE 'software ' || client END AS fp
                             FROM ssh WHERE COALESCE(hassh, client, '') <> ''),
                  usage AS (SELECT fp, count(DISTINCT src) AS senders FROM client GROUP BY fp),
                  {TARGETS}
             SELECT ip_text(h.src) AS s, ip_text(h.dst) AS d, '' AS name, h.fp AS fp,
                    u.senders AS senders
             FROM client h JOIN usage u ON h.fp = u.fp
             WHERE EXISTS (SELECT 1 FROM targets p WHERE p.s_ip = h.src AND p.t_ip = h.dst)
             GROUP BY h.src, h.dst, h.fp, u.senders"
        ),
    )
    .await?;
    let count = |label, sql| async move { rows(&hunt.ctx, label, sql).await?.single_u64("n") };
    let ssh_users = count(
        "hosts using SSH",
        "SELECT count(DISTINCT src) AS n FROM ssh WHERE COALESCE(hassh, client, '') <> ''",
    )
    .await?;
    let tls_clients = count(
        "hosts with TLS fingerprints",
        "SELECT count(DISTINCT src) AS n FROM ssl WHERE ja3 IS NOT NULL OR ja4 IS NOT NULL",
    )
    .await?;
    let senders_total =
        count("hosts sending HTTP", "SELECT count(DISTINCT src) AS n FROM http").await?;
    // Rows by (source, destination or name), so that each finding looks up only its own.
    let mut agents_by_pair: HashMap<(String, String), Vec<Row<'_>>> = HashMap::new();
    for r in agents.iter() {
        let (s, d, name) = (r.text("s")?, r.text("d")?, r.text("name")?);
        if !name.is_empty() && name != d {
            agents_by_pair.entry((s.clone(), name)).or_default().push(r);
        }
        agents_by_pair.entry((s, d)).or_default().push(r);
    }
    let rare_fingerprints = presented_by_one_host(&fingerprints, tls_clients)?;
    let rare_ssh_clients = presented_by_one_host(&ssh_clients, ssh_users)?;
    // Per (source, destination or name): responses contradicting their URI, and one example.
    let mut disguised: HashMap<(String, String), (Disguise, u64, String)> = HashMap::new();
    for r in responses.iter() {
        let (path, mime) = (r.text("path")?, r.text("mime")?);
        let Some(kind) = disguise(&path, &mime) else { continue };
        let n = r.u64("n")?.unwrap_or(1);
        let (d, name) = (r.text("d")?, r.text("name")?);
        // A Host header that is the address itself names the same target: count it once.
        let targets = if name.is_empty() || name == d { vec![d] } else { vec![d, name] };
        for target in targets {
            let entry = disguised
                .entry((r.text("s")?, target))
                .or_insert_with(|| (kind, 0, format!("{path} served as {mime}")));
            entry.1 += n;
            if kind > entry.0 {
                (entry.0, entry.2) = (kind, format!("{path} served as {mime}"));
            }
        }
    }
    // First seen by this store across every import, which outlives the records themselves.
    let mut history_first: HashMap<String, u64> = HashMap::new();
    let mut history_start = None;
    if hunt.ctx.table_exist("history")? {
        let mut query = Query::new("history of the findings' targets");
        let (address_list, name_list) = (
            query.texts(addresses.iter().map(String::as_str)),
            query.texts(names.iter().map(String::as_str)),
        );
        history_first = lookup(
            hunt,
            query,
            &format!(
                "SELECT coalesce(ip_text(dst), name) AS k, CAST(min(first_seen) AS BIGINT) AS n
                 FROM history
                 WHERE (kind = 'endpoint' AND ip_text(dst) IN ({address_list}))
                    OR (kind = 'domain' AND name IN ({name_list}))
                 GROUP BY coalesce(ip_text(dst), name)"
            ),
        )
        .await?;
        let start = rows(
            &hunt.ctx,
            "history start",
            "SELECT CAST(min(first_seen) AS BIGINT) AS n FROM history",
        )
        .await?;
        history_start = start.first().map(|r| r.i64("n")).transpose()?.flatten();
    }
    let baseline = history_start.map_or(data_start, |h| h.min(data_start));
    let mut protocols_by_pair: HashMap<(String, String), Row<'_>> = HashMap::new();
    for r in protocols.iter() {
        protocols_by_pair.insert((r.text("s")?, r.text("d")?), r);
    }
    for f in findings.iter_mut() {
        let Some(source) = f.entities.source.clone() else { continue };
        let target = f.entities.domain.clone().or_else(|| f.entities.destination.clone());
        let Some(target) = target else { continue };
        let mut adjustments: Vec<(f64, String)> = Vec::new();
        let hosts = prevalence.get(&target).copied().unwrap_or(0);
        if internal_hosts >= MIN_HOSTS_FOR_PREVALENCE && hosts > 0 {
            if hosts == 1 {
                adjustments
                    .push((0.05, format!("only this host of {internal_hosts} talks to {target}")));
            } else if hosts >= 5 && hosts * 5 >= internal_hosts {
                adjustments.push((
                    -0.2,
                    format!("{hosts} of {internal_hosts} internal hosts talk to {target}: a shared service"),
                ));
            }
        }
        let key = (source.clone(), target.clone());
        let of_pair = agents_by_pair.get(&key).into_iter().flatten();
        let mut hostless = 0;
        let mut rare: Option<String> = None;
        for r in of_pair {
            hostless += r.u64("hostless")?.unwrap_or(0);
            let senders = r.u64("senders")?.unwrap_or(0);
            if senders == 1 && senders_total >= 2 && rare.is_none() {
                rare = r.str("agent")?.map(str::to_string);
            }
        }
        if let Some(agent) = rare {
            adjustments.push((0.1, format!("user agent {agent:?} is sent by no other host")));
        }
        if let Some(fp) = rare_fingerprints.get(&key) {
            adjustments
                .push((0.05, format!("TLS client fingerprint {fp} is presented by no other host")));
        }
        if let Some(fp) = rare_ssh_clients.get(&key) {
            let fp = match fp.split_once(' ') {
                Some(("software", banner)) => format!("software {banner:?}"),
                _ => fp.clone(),
            };
            adjustments.push((0.05, format!("SSH client {fp} is presented by no other host")));
        }
        if hostless > 0 {
            adjustments.push((0.05, format!("{hostless} HTTP request(s) without a Host header")));
        }
        if let Some((kind, n, example)) = disguised.get(&key) {
            let delta = if *kind == Disguise::Program { 0.1 } else { 0.05 };
            adjustments.push((
                delta,
                format!(
                    "{n} response(s) whose content contradicts the URI's extension (e.g. {example})"
                ),
            ));
        }
        let pair = protocols_by_pair.get(&key);
        if let Some(r) = pair {
            let count = |k: &str| r.u64(k).map(Option::unwrap_or_default);
            let total = count("total")?;
            if total > 0 && count("ntp")? == total {
                adjustments.push((
                    -0.3,
                    "NTP only: time synchronisation polls on a timer by design".to_string(),
                ));
            } else if total > 0 && count("pings")? == total {
                adjustments.push((-0.2, "small ICMP echoes only: reachability probes".to_string()));
            }
        }
        let remembered = history_first.get(&target).map(|&t| t as i64);
        let first = remembered.map_or(f.first_seen, |h| h.min(f.first_seen));
        if first > baseline + 86_400_000_000 {
            let since = if history_start.is_some() { "the store's history" } else { "the data" };
            let day = first.div_euclid(86_400_000_000);
            adjustments.push((0.05, new_adjustment(&target, day, since)));
        }
        apply(f, &adjustments, hunt.options.scorer);
    }
    Ok(())
}

/// What the "new" adjustment says: `target` first seen on `day` (days since the epoch), more
/// than a day after `since` begins. [`is_new`] recognises it.
pub(crate) fn new_adjustment(target: &str, day: i64, since: &str) -> String {
    format!(
        "{NEW_MARK}{target} first seen {}, more than a day after {since} begins",
        lasthop_normalise::format_day(day)
    )
}

const NEW_MARK: &str = "new: ";

/// Whether context found the finding's other end new to the network.
pub(crate) fn is_new(f: &Finding) -> bool {
    f.evidence.figures.get("adjustments").and_then(Value::as_array).is_some_and(|all| {
        all.iter()
            .filter_map(Value::as_str)
            .any(|a| a.split_once(": ").is_some_and(|(_, why)| why.starts_with(NEW_MARK)))
    })
}

/// The fingerprint (`fp`) of each (source `s`, destination `d` or name) whose rows say only one
/// host presents it (`senders`), when at least two hosts present any: with one, everything is rare.
fn presented_by_one_host(
    rows: &Rows,
    presenters: u64,
) -> Result<HashMap<(String, String), String>> {
    let mut rare = HashMap::new();
    if presenters < 2 {
        return Ok(rare);
    }
    for r in rows.iter() {
        if r.u64("senders")? != Some(1) {
            continue;
        }
        for target in [r.text("d")?, r.text("name")?].into_iter().filter(|t| !t.is_empty()) {
            let fp = r.text("fp")?;
            rare.entry((r.text("s")?, target)).or_insert(fp);
        }
    }
    Ok(rare)
}

/// How a response's content contradicts its URI: ordered by how much it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Disguise {
    /// Content of another kind (text where the name promises an image, say).
    OtherContent,
    /// An executable or archive under the name of an image, script, style sheet or document.
    Program,
}

/// What family of content a file extension promises; `None` for extensions that promise
/// nothing checkable (pages, APIs, unknown).
fn promised_family(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (_, extension) = name.rsplit_once('.')?;
    Some(match extension {
        "jpg" | "jpeg" | "png" | "gif" | "ico" | "bmp" | "webp" => "image",
        "js" | "css" => "script or style",
        "pdf" => "pdf",
        "woff" | "woff2" | "ttf" | "otf" => "font",
        "exe" | "dll" | "msi" | "scr" | "bin" | "elf" => "program",
        "zip" | "gz" | "tgz" | "7z" | "rar" | "cab" | "jar" | "apk" => "archive",
        _ => return None,
    })
}

/// The family of a MIME type as Zeek sniffs it from the content.
fn sniffed_family(mime: &str) -> &'static str {
    let mime = mime.to_ascii_lowercase();
    match mime.as_str() {
        "application/x-dosexec"
        | "application/x-executable"
        | "application/x-elf"
        | "application/x-mach-o-executable"
        | "application/x-msdownload"
        | "application/vnd.microsoft.portable-executable"
        | "application/x-sharedlib" => "program",
        "application/zip"
        | "application/x-gzip"
        | "application/gzip"
        | "application/x-7z-compressed"
        | "application/x-rar"
        | "application/vnd.ms-cab-compressed"
        | "application/java-archive"
        | "application/x-tar" => "archive",
        "application/pdf" => "pdf",
        m if m.starts_with("image/") => "image",
        m if m.starts_with("font/") || m.contains("font") => "font",
        m if m.contains("javascript") || m == "text/css" => "script or style",
        _ => "other",
    }
}

/// Whether a successful response's sniffed type contradicts the extension its URI ends in.
/// Script and style sheets are often sniffed as plain text, so only a program or archive
/// contradicts them; an image, PDF or font contradicts anything but its own family.
fn disguise(path: &str, mime: &str) -> Option<Disguise> {
    let promised = promised_family(path)?;
    let sniffed = sniffed_family(mime);
    if promised == sniffed || promised == "program" || promised == "archive" {
        return None;
    }
    if sniffed == "program" || sniffed == "archive" {
        return Some(Disguise::Program);
    }
    match promised {
        "image" | "pdf" | "font" => Some(Disguise::OtherContent),
        _ => None,
    }
}

pub(crate) fn apply(f: &mut Finding, adjustments: &[(f64, String)], scorer: Scorer) {
    if adjustments.is_empty() {
        return;
    }
    let listed: Vec<String> =
        adjustments.iter().map(|(d, why)| format!("{d:+.2}: {why}")).collect();
    // Adjustments accumulate: enrichment after detection adds to what context found.
    let mut all: Vec<Value> = f
        .evidence
        .figures
        .get("adjustments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    all.extend(listed.iter().map(|l| json!(l)));
    f.evidence.figures.insert("adjustments".into(), Value::Array(all));
    if f.detector == super::beacon::ID && scorer == Scorer::Rita {
        return;
    }
    let severity_followed_score = f.severity == lasthop_findings::Severity::from_score(f.score);
    f.score = (f.score + adjustments.iter().map(|(d, _)| d).sum::<f64>()).clamp(0.0, 1.0);
    if severity_followed_score {
        f.severity = lasthop_findings::Severity::from_score(f.score);
    }
    f.explanation.push_str(&format!(" Context: {}.", listed.join("; ")));
}

/// Key `k` → count `n` of a query's rows; rows missing either are skipped.
async fn lookup(hunt: &HuntContext, query: Query, sql: &str) -> Result<HashMap<String, u64>> {
    let mut out = HashMap::new();
    for r in query.rows(&hunt.ctx, sql).await?.iter() {
        if let (Some(k), Some(n)) = (r.str("k")?, r.u64("n")?) {
            out.insert(k.to_string(), n);
        }
    }
    Ok(out)
}

/// The distinct values, sorted.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let list: BTreeSet<&str> = values.collect();
    list.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_behind_a_static_name_is_a_disguise() {
        assert_eq!(disguise("/static/logo.png", "application/x-dosexec"), Some(Disguise::Program));
        assert_eq!(disguise("/jquery-3.3.1.min.js", "application/zip"), Some(Disguise::Program));
        assert_eq!(disguise("/a/b/photo.jpg", "text/plain"), Some(Disguise::OtherContent));
        assert_eq!(disguise("/report.pdf", "text/html"), Some(Disguise::OtherContent));
    }

    #[test]
    fn content_that_fits_or_names_that_promise_nothing_are_not() {
        assert_eq!(disguise("/logo.png", "image/png"), None);
        assert_eq!(disguise("/logo.PNG".to_lowercase().as_str(), "image/x-icon"), None);
        assert_eq!(disguise("/site.css", "text/plain"), None, "style sheets sniff as text");
        assert_eq!(disguise("/app.js", "application/javascript"), None);
        assert_eq!(disguise("/setup.exe", "application/x-dosexec"), None);
        assert_eq!(disguise("/download.zip", "application/x-dosexec"), None);
        assert_eq!(disguise("/index.php", "application/x-dosexec"), None, "no promise made");
        assert_eq!(disguise("/api/v1/tasks", "text/plain"), None);
        assert_eq!(disguise("/", "text/html"), None);
        assert_eq!(disguise("/v1.2/poll", "application/zip"), None, "a dot in a folder name");
    }
}
