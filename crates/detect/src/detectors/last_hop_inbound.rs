//! **Last-hop inbound**: a home broadband or carrier-NAT address reaching the sensitive parts of
//! a public-facing web service — administration pages, login and authentication endpoints, or
//! paths nobody else requests.
//!
//! What it finds: per (external source, internal server) in `http`, where the source's network
//! is residential or behind carrier-grade NAT (`network_type()`), requests whose path is an
//! administration interface (`/admin`, `/manager/html`, `/wp-admin`, Fortinet `/remote/login`,
//! Pulse `/dana-na/`, Cisco `/+CSCOE+/`, Exchange `/ecp/`, `/autodiscover/`, `/mapi/` …), an
//! authentication endpoint (`login`, `signin`, `auth`, `oauth`, `saml`, `/owa/auth` …), or rare:
//! requested of that server by this source alone while at least [`MIN_AUDIENCE`] sources visit
//! the server. Only sources with at least one such request that succeeded (2xx) are reported:
//! every public web server is probed for admin pages all day by scanning home routers, and those
//! probes fail.
//!
//! Why it matters: the advisory's actors exploit public-facing applications (ATT&CK T1190) and
//! reuse valid accounts (T1078) from compromised SoHo routers (T1584.008), so the session comes
//! from what looks like a customer's home line. A home address browsing a shop is normal; one
//! posting to the Exchange control panel, a VPN portal's login or a script nobody else has ever
//! requested is not.
//!
//! Scoring: 0.4, +0.15 for administration paths, +0.15 for authentication endpoints, +0.15 for
//! rare paths, +0.1 for the success that reporting requires, +0.05 when any was a POST, +0.05
//! when the contact spans more than one day; at most 0.95.

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use serde_json::json;

use super::{Detector, DetectorFuture, HuntContext, Row, rows};

pub struct LastHopInbound;

pub const ID: &str = "last-hop-inbound";

/// Distinct external sources a server must have before "only this source asked for it" means
/// anything.
pub const MIN_AUDIENCE: u64 = 3;

/// Administration interfaces of web applications and edge devices (case-insensitive, on the path).
const ADMIN_PATHS: &str = r"^/(admin|administrator|wp-admin|manager/html|host-manager|phpmyadmin|pma|webadmin|cpanel|console|jmx-console|web-console|actuator|solr/admin|server-status|server-info|druid|setup\.cgi|boaform|goform|hnap1|cgi-bin/(luci|webproc|admin)|remote/(login|logincheck|fgt_lang)|dana-na|dana-admin|\+cscoe\+|\+webvpn\+|global-protect|ssl-vpn|sslvpn|vpn/|ecp/|autodiscover|mapi/|ews/|powershell|rpc/|owa/.*\.(aspx|ashx)|pages/createpage-entervariables\.action|pages/doenterpagevariables\.action|mgmt|management)";

/// Login and token endpoints (case-insensitive, anywhere in the path).
const AUTH_PATHS: &str = r"(login|logon|signin|sign-in|sign_in|/auth|oauth|saml|/sso|owa/auth|j_security_check|/token|password|/session)";

impl Detector for LastHopInbound {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "residential or CGNAT sources touching admin, login or rare paths of public-facing web services"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            if !hunt.ctx.table_exist("http")? {
                return Ok(Vec::new());
            }
            let sql = format!(
                "WITH req AS (
                    SELECT src, dst, ts, uid, method, status_code, split_part(uri, '?', 1) AS path
                    FROM http
                    WHERE NOT is_internal(src) AND is_internal(dst) AND NOT is_special(src)
                      AND uri IS NOT NULL),
                 popularity AS (SELECT dst, path, count(DISTINCT src) AS sources FROM req GROUP BY dst, path),
                 audience AS (SELECT dst, count(DISTINCT src) AS visitors FROM req GROUP BY dst),
                 marked AS (
                    SELECT r.*, network_type(r.src) AS kind,
                           regexp_like(r.path, '{ADMIN_PATHS}', 'i') AS admin,
                           regexp_like(r.path, '{AUTH_PATHS}', 'i') AS auth,
                           (p.sources = 1 AND a.visitors >= {MIN_AUDIENCE}) AS rare
                    FROM req r
                    JOIN popularity p ON r.dst = p.dst AND r.path = p.path
                    JOIN audience a ON r.dst = a.dst
                    WHERE network_type(r.src) IN ('residential', 'cgnat')),
                 sensitive AS (SELECT * FROM marked WHERE admin OR auth OR rare)
                 SELECT ip_text(src) AS source, ip_text(dst) AS destination, kind,
                        count(*) AS requests,
                        sum(CASE WHEN admin THEN 1 ELSE 0 END) AS admin_requests,
                        sum(CASE WHEN auth THEN 1 ELSE 0 END) AS auth_requests,
                        sum(CASE WHEN rare THEN 1 ELSE 0 END) AS rare_requests,
                        sum(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS successful,
                        sum(CASE WHEN upper(method) = 'POST' THEN 1 ELSE 0 END) AS posts,
                        count(DISTINCT path) AS distinct_paths,
                        array_to_string(array_slice(array_sort(array_agg(DISTINCT path)), 1, 8), ' ') AS paths,
                        array_to_string(array_slice(array_sort(array_agg(DISTINCT uid)), 1, 50), ' ') AS uids,
                        count(DISTINCT date_trunc('day', ts)) AS days,
                        CAST(min(ts) AS BIGINT) AS first_seen, CAST(max(ts) AS BIGINT) AS last_seen
                 FROM sensitive GROUP BY src, dst, kind
                 HAVING sum(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) > 0"
            );
            rows(&hunt.ctx, "last-hop inbound sources", &sql).await?.iter().map(finding).collect()
        })
    }
}

/// What a group of requests touched, and so how it scores.
#[derive(Debug, Clone, Copy, Default)]
pub struct Touched {
    pub admin: bool,
    pub auth: bool,
    pub rare: bool,
    pub succeeded: bool,
    pub posted: bool,
    pub several_days: bool,
}

pub fn score(t: Touched) -> f64 {
    let mut s = 0.4;
    for (hit, add) in [
        (t.admin, 0.15),
        (t.auth, 0.15),
        (t.rare, 0.15),
        (t.succeeded, 0.1),
        (t.posted, 0.05),
        (t.several_days, 0.05),
    ] {
        if hit {
            s += add;
        }
    }
    f64::min(s, 0.95)
}

fn finding(row: Row<'_>) -> Result<Finding> {
    let number = |k: &str| row.u64(k).map(Option::unwrap_or_default);
    let (source, destination, kind) =
        (row.text("source")?, row.text("destination")?, row.text("kind")?);
    let touched = Touched {
        admin: number("admin_requests")? > 0,
        auth: number("auth_requests")? > 0,
        rare: number("rare_requests")? > 0,
        succeeded: number("successful")? > 0,
        posted: number("posts")? > 0,
        several_days: number("days")? > 1,
    };
    let mut what = Vec::new();
    if touched.admin {
        what.push("administration pages");
    }
    if touched.auth {
        what.push("login endpoints");
    }
    if touched.rare {
        what.push("paths no other source requests");
    }
    let entities = Entities {
        source: Some(source.clone()),
        destination: Some(destination.clone()),
        ..Default::default()
    };
    let title = format!("{kind} address {source} reached {} on {destination}", what.join(", "));
    let mut f = Finding::new(ID, title, score(touched), entities);
    f.techniques = vec!["T1190".into(), "T1584.008".into()];
    if touched.auth {
        f.techniques.push("T1078".into());
    }
    f.first_seen = row.i64("first_seen")?.unwrap_or_default();
    f.last_seen = row.i64("last_seen")?.unwrap_or_default();
    for key in [
        "requests",
        "admin_requests",
        "auth_requests",
        "rare_requests",
        "successful",
        "posts",
        "distinct_paths",
        "days",
    ] {
        f.evidence.figures.insert(key.into(), json!(number(key)?));
    }
    f.evidence.figures.insert("network_type".into(), json!(kind));
    let paths = row.text("paths")?;
    f.evidence.figures.insert("paths".into(), json!(paths.split(' ').collect::<Vec<_>>()));
    f.evidence.uids =
        row.text("uids")?.split(' ').filter(|u| !u.is_empty()).map(String::from).collect();
    f.explanation = format!(
        "{source} is a {kind} address, and it made {} request(s) to {} on {destination} ({} \
         succeeded, {} POST), e.g. {}. Customers on home lines browse; they do not drive \
         administration interfaces, log-in endpoints or scripts no one else knows of. The \
         advisory's actors exploit public-facing applications and reuse stolen credentials from \
         compromised home routers: check the server's own logs for these requests, whether a log-in \
         succeeded, and what the server did next.",
        number("requests")?,
        what.join(", "),
        number("successful")?,
        number("posts")?,
        paths.split(' ').take(3).collect::<Vec<_>>().join(", "),
    );
    Ok(f)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use lasthop_normalise::LogType;

    use super::*;
    use lasthop_query::session::{SessionOptions, from_batches};

    #[test]
    fn each_sensitive_trait_adds_and_the_score_is_capped() {
        let none = score(Touched::default());
        let admin = score(Touched { admin: true, ..Default::default() });
        assert!(admin > none);
        let all = Touched {
            admin: true,
            auth: true,
            rare: true,
            succeeded: true,
            posted: true,
            several_days: true,
        };
        assert!((score(all) - 0.95).abs() < 1e-9);
    }

    fn http_log(rows: &[String]) -> (LogType, Vec<datafusion::arrow::array::RecordBatch>) {
        let text = format!(
            "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\tstatus_code\n{}\n",
            rows.join("\n")
        );
        let mut batches = Vec::new();
        lasthop_sources::read_stream(
            Path::new("http.log"),
            Box::new(std::io::Cursor::new(text.into_bytes())),
            &Default::default(),
            |_, b| {
                batches.push(b);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        (LogType::Http, batches)
    }

    #[tokio::test]
    async fn home_line_on_admin_login_and_rare_paths_is_found_and_ordinary_visits_are_not() {
        let t = 1_717_372_800;
        // Comcast (residential) and Verizon Business addresses browse; a Google address is
        // hosting and ignored whatever it requests.
        let visitors = ["73.54.23.9", "73.54.23.10", "98.113.172.9", "8.8.4.4"];
        let mut rows: Vec<String> = Vec::new();
        for (i, v) in visitors.iter().enumerate() {
            rows.push(format!(
                "{}.0\tCv{i}\t{v}\t5000\t10.30.0.10\t443\tGET\tshop.example\t/index.html\t200",
                t + i as i64
            ));
        }
        rows.push(format!(
            "{t}.5\tCg\t8.8.4.4\t5000\t10.30.0.10\t443\tGET\tshop.example\t/wp-admin/\t200"
        ));
        // A scanning home router probes for admin pages and fails: background, not reported.
        rows.push(format!(
            "{t}.6\tCs\t73.54.23.10\t5000\t10.30.0.10\t443\tPOST\tshop.example\t/boaform/admin/formLogin\t404"
        ));
        let relay = "73.54.23.243";
        for (i, (m, p, s)) in [
            ("GET", "/ecp/default.aspx", 200),
            ("POST", "/owa/auth.owa", 302),
            ("POST", "/uploads/help.aspx?cmd=whoami", 200),
        ]
        .iter()
        .enumerate()
        {
            rows.push(format!(
                "{}.0\tCr{i}\t{relay}\t5000\t10.30.0.10\t443\t{m}\tshop.example\t{p}\t{s}",
                t + 86_400 + i as i64
            ));
        }
        let ctx = from_batches(
            vec![http_log(&rows)],
            &SessionOptions { threads: 1, ..Default::default() },
        )
        .unwrap();
        let hunt = HuntContext::new(ctx);
        let findings = LastHopInbound.run(&hunt).await.unwrap();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.entities.source.as_deref(), Some(relay));
        assert_eq!(f.evidence.figures["admin_requests"], 1);
        assert_eq!(f.evidence.figures["auth_requests"], 1);
        assert_eq!(f.evidence.figures["rare_requests"], 3);
        assert_eq!(f.evidence.figures["successful"], 2);
        assert_eq!(f.evidence.figures["days"], 1);
        assert!(f.techniques.contains(&"T1078".to_string()));
        assert!((f.score - 0.95).abs() < 1e-9, "{}", f.score);
    }
}
