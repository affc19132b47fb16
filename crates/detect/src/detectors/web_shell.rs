//! **Web-shell behaviour** in web-server logs (`web`): a server-side script used as a remote
//! console rather than as a page.
//!
//! What it finds: script paths (`.jsp`, `.jspx`, `.asp`, `.aspx`, `.ashx`, `.asmx`, `.php`,
//! `.phtml`, `.cfm`) that received successful POSTs from at most [`MAX_CLIENTS`] client
//! addresses. One finding per path, naming its clients, with its first requests and what the
//! same clients requested in the [`LEAD_IN_MINUTES`] minutes before the path first appeared (the
//! upload that planted it, as a rule).
//!
//! Why it matters: the advisory's actors leave web shells on the public-facing servers they
//! exploit (ATT&CK T1505.003) and tunnel through them (Tunna, reGeorg). A shell's requests carry
//! no exploit string a rule could match — an encrypted POST to `/images/x.jsp` looks like any
//! form post — but its use differs from a page's: only its owner calls it, it appears late, it is
//! never linked from anywhere, and it answers commands with small, often constant, replies.
//!
//! Scoring: 0.3 for POSTs to a script from few clients; +0.15 when nobody else ever requests the
//! path; +0.15 when it first appears late (after a tenth of the log's span and at least an hour
//! in); +0.1 when at least 90 % of its requests have no referrer; +0.1 when most POSTs get the
//! same small reply (at most [`SMALL_REPLY_BYTES`]); +0.15 when a client is a residential line
//! or behind carrier-grade NAT (the advisory's last-hop relays). Reported from
//! [`MIN_SCORE`]: two signals besides the POSTs.

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use serde_json::{Value, json};

use super::{Detector, DetectorFuture, HuntContext, Query, Row, rows};

pub struct WebShell;

pub const ID: &str = "web-shell";

/// Clients that POST to a path before it is an ordinary form rather than someone's console.
pub const MAX_CLIENTS: u64 = 2;
/// A reply this small, repeated, is a command's acknowledgement rather than a page.
pub const SMALL_REPLY_BYTES: u64 = 2048;
/// How far before a path first appears its clients' requests are shown (the upload).
pub const LEAD_IN_MINUTES: i64 = 10;
/// Findings below this score are not reported.
pub const MIN_SCORE: f64 = 0.55;
/// Lines of the path shown per finding.
const LINES_SHOWN: usize = 10;

const MICROS_PER_MINUTE: i64 = 60_000_000;

impl Detector for WebShell {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "server-side scripts used as a console: few clients POSTing, new, unlinked, constant replies"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            if !hunt.ctx.table_exist("web")? {
                return Ok(Vec::new());
            }
            // The log's span first, then bound as parameters (literals in the plan): a cross
            // join with a one-row table plans badly on a Ballista cluster (its stages split the
            // single row's side).
            let span = rows(
                &hunt.ctx,
                "web log span",
                "SELECT CAST(min(ts) AS BIGINT) AS log_start, CAST(max(ts) AS BIGINT) AS log_end FROM web",
            )
            .await?;
            let bound = |k: &str| span.first().map(|r| r.i64(k)).transpose().map(Option::flatten);
            let (Some(log_start), Some(log_end)) = (bound("log_start")?, bound("log_end")?) else {
                return Ok(Vec::new());
            };
            let mut query = Query::new("web-shell candidates");
            let (log_start, log_end) = (query.int(log_start), query.int(log_end));
            let sql = format!(
                "WITH scripts AS (
                    SELECT lower(cs_uri_stem) AS path, cs_uri_stem, c_ip, upper(cs_method) AS method, sc_status,
                           sc_bytes, cs_referer, cs_host, s_ip, ts
                    FROM web
                    WHERE regexp_like(lower(cs_uri_stem), '\\.(jspx?|aspx?|ashx|asmx|php[0-9]?|phtml|cfm)$')),
                 sizes AS (
                    SELECT path, sc_bytes, count(*) AS n FROM scripts
                    WHERE method = 'POST' GROUP BY path, sc_bytes),
                 modal AS (
                    SELECT path, max(n) AS modal_count, first_value(sc_bytes ORDER BY n DESC) AS modal_size
                    FROM sizes GROUP BY path),
                 per_path AS (
                    SELECT path, min(cs_uri_stem) AS path_as_logged, count(*) AS requests,
                           sum(CASE WHEN method = 'POST' THEN 1 ELSE 0 END) AS posts,
                           sum(CASE WHEN method = 'POST' AND sc_status BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS posts_ok,
                           count(DISTINCT c_ip) AS clients,
                           count(DISTINCT CASE WHEN method = 'POST' THEN c_ip END) AS post_clients,
                           array_to_string(array_sort(array_agg(DISTINCT CASE WHEN method = 'POST' THEN ip_text(c_ip) END)), ' ') AS client_list,
                           max(CASE WHEN network_type(c_ip) IN ('residential', 'cgnat') THEN 1 ELSE 0 END) AS residential,
                           avg(CASE WHEN cs_referer IS NULL THEN 1.0 ELSE 0.0 END) AS no_referer,
                           min(cs_host) AS host, min(ip_text(s_ip)) AS server,
                           CAST(min(ts) AS BIGINT) AS first_us, CAST(max(ts) AS BIGINT) AS last_us
                    FROM scripts GROUP BY path)
                 SELECT p.*, m.modal_count, m.modal_size, CAST({log_start} AS BIGINT) AS log_start,
                        CAST({log_end} AS BIGINT) AS log_end
                 FROM per_path p JOIN modal m ON p.path = m.path
                 WHERE p.posts_ok >= 1 AND p.post_clients BETWEEN 1 AND {MAX_CLIENTS}
                 ORDER BY p.path"
            );
            let mut findings = Vec::new();
            for row in query.rows(&hunt.ctx, &sql).await?.iter() {
                let signals = Signals::of(row)?;
                if signals.score() < MIN_SCORE {
                    continue;
                }
                let mut f = finding(row, &signals)?;
                add_lines(hunt, row, &mut f).await?;
                findings.push(f);
            }
            Ok(findings)
        })
    }
}

/// What about a path's use points to a shell.
#[derive(Debug, Default, Clone, Copy)]
pub struct Signals {
    pub only_its_clients: bool,
    pub appears_late: bool,
    pub unlinked: bool,
    pub constant_small_reply: bool,
    pub residential_client: bool,
}

impl Signals {
    fn of(row: Row<'_>) -> Result<Signals> {
        let number = |k: &str| row.f64(k).map(Option::unwrap_or_default);
        let (start, end, first) = (number("log_start")?, number("log_end")?, number("first_us")?);
        let span = (end - start).max(1.0);
        let posts = number("posts")?.max(1.0);
        Ok(Signals {
            only_its_clients: number("clients")? <= number("post_clients")?,
            appears_late: (first - start) / span >= 0.1 && first - start >= 3.6e9,
            unlinked: number("no_referer")? >= 0.9,
            constant_small_reply: number("modal_count")? / posts >= 0.5
                && posts >= 2.0
                && number("modal_size")? <= SMALL_REPLY_BYTES as f64,
            residential_client: number("residential")? > 0.0,
        })
    }

    pub fn score(&self) -> f64 {
        let mut s = 0.3;
        for (on, weight) in [
            (self.only_its_clients, 0.15),
            (self.appears_late, 0.15),
            (self.unlinked, 0.1),
            (self.constant_small_reply, 0.1),
            (self.residential_client, 0.15),
        ] {
            if on {
                s += weight;
            }
        }
        s
    }
}

fn finding(row: Row<'_>, signals: &Signals) -> Result<Finding> {
    let count = |k: &str| row.u64(k).map(Option::unwrap_or_default);
    // Grouped case-insensitively (IIS serves any case), shown as logged.
    let path = row.text("path_as_logged")?;
    let clients = row.text("client_list")?;
    let first_client = clients.split(' ').next().unwrap_or("").to_string();
    let entities = Entities {
        source: Some(first_client).filter(|c| !c.is_empty()),
        destination: Some(row.text("server")?).filter(|s| !s.is_empty()),
        domain: Some(row.text("host")?).filter(|h| !h.is_empty()),
        ..Default::default()
    };
    let mut f = Finding::keyed(
        ID,
        &path.to_lowercase(),
        format!("Web-shell behaviour: {path} (POSTs from {clients})"),
        signals.score(),
        entities,
    );
    f.techniques = vec!["T1505.003".into(), "T1190".into()];
    f.first_seen = row.i64("first_us")?.unwrap_or_default();
    f.last_seen = row.i64("last_us")?.unwrap_or_default();
    let mut reasons = vec![format!(
        "{} successful POST(s) of {} to {path} came from only {clients}",
        count("posts_ok")?,
        count("posts")?
    )];
    if signals.only_its_clients {
        reasons.push("no other client ever requested it".into());
    }
    if signals.appears_late {
        reasons.push("it first appeared well after the log began (a new file)".into());
    }
    if signals.unlinked {
        reasons.push("its requests carry no referrer (nothing links to it)".into());
    }
    if signals.constant_small_reply {
        reasons.push(format!(
            "{} of its POSTs got the same {}-byte reply",
            count("modal_count")?,
            count("modal_size")?
        ));
    }
    if signals.residential_client {
        reasons.push("a client is a residential or carrier-NAT address".into());
    }
    f.explanation = format!(
        "{}. Pages are requested by many visitors and linked from others; a web shell is called by \
         its owner alone. Check the file on the server, when it was written, and what the \
         clients did before (the lines before its first request are in the evidence).",
        reasons.join("; ")
    );
    for (k, v) in [
        ("path", json!(path)),
        ("requests", json!(count("requests")?)),
        ("posts", json!(count("posts")?)),
        ("clients", json!(clients.split(' ').collect::<Vec<_>>())),
        (
            "share_without_referrer",
            json!((row.f64("no_referer")?.unwrap_or_default() * 100.0).round() / 100.0),
        ),
        ("modal_post_reply_bytes", json!(count("modal_size")?)),
    ] {
        f.evidence.figures.insert(k.into(), v);
    }
    Ok(f)
}

/// The path's first lines and its clients' requests just before it appeared.
pub(crate) async fn add_lines(hunt: &HuntContext, row: Row<'_>, f: &mut Finding) -> Result<()> {
    let first = row.i64("first_us")?.unwrap_or_default();
    let mut query = Query::new("web-shell lines");
    let path = query.text(&row.text("path")?);
    let clients = query.texts(
        f.evidence.figures["clients"].as_array().into_iter().flatten().filter_map(Value::as_str),
    );
    let lead_in = query.int(first - LEAD_IN_MINUTES * MICROS_PER_MINUTE);
    let first = query.int(first);
    let sql = format!(
        "SELECT raw AS line, concat(_source, ':', CAST(_line AS VARCHAR)) AS place,
                CASE WHEN lower(cs_uri_stem) = {path} THEN 'shell' ELSE 'before' END AS part
         FROM web
         WHERE (lower(cs_uri_stem) = {path}
                OR (ip_text(c_ip) IN ({clients}) AND CAST(ts AS BIGINT) >= {lead_in}
                    AND CAST(ts AS BIGINT) < {first}))
         ORDER BY ts, _line"
    );
    let mut shown = 0;
    for r in query.rows(&hunt.ctx, &sql).await?.iter() {
        let text = |k: &str| r.text(k);
        if text("part")? == "shell" {
            if shown == LINES_SHOWN {
                continue;
            }
            shown += 1;
        }
        f.evidence.samples.push(
            [("line", text("line")?), ("place", text("place")?), ("part", text("part")?)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect(),
        );
    }
    Ok(())
}
