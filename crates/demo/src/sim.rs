//! Sessions as a sensor sees them (a DNS lookup through the site resolver, a TLS or HTTP
//! connection with its certificates) and the background traffic of an ordinary enterprise hour.

use std::collections::HashMap;

use rand::Rng;
use rand::seq::SliceRandom;

use crate::out::{self, US, Uid};
use crate::records::{self, Cert, Conn, Dns, Http, Proto, Ssh, Ssl, TcpState, Tunnel};
use crate::world::{self, BROWSERS, Kind as SvcKind, SCHANNEL_JA3, World};
use crate::zeek::{Kind, Logs};

/// Addresses and names that must never appear in background traffic: the planted indicators
/// and the decoys of the IOC list.
pub(crate) const RESERVED_IPS: [[u8; 4]; 7] = [
    [73, 54, 23, 243],
    [98, 113, 172, 20],
    [45, 77, 10, 9],
    [185, 220, 101, 47],
    [91, 219, 236, 18],
    [194, 165, 16, 98],
    [5, 252, 178, 63],
];

pub(crate) fn eph_port<R: Rng>(rng: &mut R) -> u16 {
    rng.gen_range(49152..=65535)
}

/// Pareto-distributed size: most values near `scale`, a long tail of large ones.
pub(crate) fn pareto<R: Rng>(rng: &mut R, scale: f64, alpha: f64, cap: f64) -> u64 {
    let u: f64 = 1.0 - rng.r#gen::<f64>();
    (scale / u.powf(1.0 / alpha)).min(cap) as u64
}

/// Poisson count by inversion for small means and a normal approximation for large ones.
pub(crate) fn poisson<R: Rng>(rng: &mut R, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 60.0 {
        let z: f64 = (0..12).map(|_| rng.r#gen::<f64>()).sum::<f64>() - 6.0;
        return (lambda + z * lambda.sqrt()).round().max(0.0) as u64;
    }
    let limit = (-lambda).exp();
    let mut p = 1.0;
    let mut k = 0;
    loop {
        p *= rng.r#gen::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

pub(crate) enum Answer<'a> {
    Records { answers: &'a str, ttls: &'a str, count: usize },
    NoData,
    NxDomain,
}

/// What a TLS session looks like on the wire.
pub(crate) struct TlsSpec<'a> {
    pub server_port: u16,
    pub sni: Option<&'a str>,
    pub tls13: bool,
    pub resumed: bool,
    /// Leaf and intermediate indexes into the certificate list; one element for self-signed.
    pub chain: &'a [usize],
    pub validation: &'a str,
    pub ja3: &'a str,
    pub ja3s: &'a str,
    pub next_protocol: Option<&'a str>,
    pub cipher12: &'a str,
}

pub(crate) struct Ctx {
    pub logs: Logs,
    pub world: World,
    /// Zeek logs a certificate once a day per fingerprint (x509 caching), not per connection.
    x509_logged: HashMap<usize, i64>,
}

impl Ctx {
    pub(crate) fn new(logs: Logs, world: World) -> Self {
        Ctx { logs, world, x509_logged: HashMap::new() }
    }

    pub(crate) fn conn(&mut self, c: &Conn) {
        let end = c.end();
        let mut r = self.logs.rec(Kind::Conn, end, end);
        c.write(&mut r);
    }

    /// A client's lookup through the site resolver, with the resolver's own upstream query on a
    /// cache miss; returns when the client had its answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn lookup<R: Rng>(
        &mut self,
        rng: &mut R,
        ts: i64,
        client: u32,
        query: &str,
        qtype: u16,
        answer: Answer<'_>,
        forward: bool,
    ) -> i64 {
        let upstream_rtt = if forward { rng.gen_range(6_000..45_000) } else { 0 };
        let rtt = rng.gen_range(150..1_200) + upstream_rtt;
        let q_bytes = query.len() as u64 + 2 + 4 + 12 + 11;
        let (rcode, answers, ttls, extra) = match answer {
            Answer::Records { answers, ttls, count } => {
                let text = if qtype == 16 { answers.len() as u64 } else { 0 };
                (0, Some(answers), Some(ttls), count as u64 * 16 + text)
            }
            Answer::NoData => (0, None, None, 60),
            Answer::NxDomain => (3, None, None, 70),
        };
        let internal = query.ends_with(world::AD_DOMAIN) || query.ends_with(".in-addr.arpa");
        let port = eph_port(rng);
        let c = records::udp(
            rng,
            ts,
            client,
            port,
            world::RESOLVER,
            53,
            Some("dns"),
            rtt,
            q_bytes,
            q_bytes + extra,
            true,
        );
        let dns = Dns {
            ts,
            uid: &c.uid,
            orig: client,
            orig_p: port,
            resp: world::RESOLVER,
            trans_id: rng.r#gen(),
            rtt: Some(rtt),
            query,
            qtype,
            rcode: Some(rcode),
            aa: internal,
            ra: true,
            answers,
            ttls,
        };
        dns.write(&mut self.logs.rec(Kind::Dns, ts + rtt, ts));
        self.conn(&c);
        if forward {
            let fts = ts + rng.gen_range(80..300);
            let upstream = *world::UPSTREAM_DNS.choose(rng).expect("non-empty");
            let port = eph_port(rng);
            let c = records::udp(
                rng,
                fts,
                world::RESOLVER,
                port,
                upstream,
                53,
                Some("dns"),
                upstream_rtt - 100,
                q_bytes,
                q_bytes + extra,
                true,
            );
            let dns = Dns {
                ts: fts,
                uid: &c.uid,
                orig: world::RESOLVER,
                orig_p: port,
                resp: upstream,
                rtt: Some(upstream_rtt - 100),
                trans_id: rng.r#gen(),
                aa: false,
                ..dns
            };
            dns.write(&mut self.logs.rec(Kind::Dns, fts + upstream_rtt, fts));
            self.conn(&c);
        }
        ts + rtt
    }

    /// A TLS connection with its ssl row and, on a full TLS 1.2 handshake, the certificates Zeek
    /// saw (once a day each). Returns the connection uid.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tls<R: Rng>(
        &mut self,
        rng: &mut R,
        ts: i64,
        client: u32,
        server: u32,
        spec: &TlsSpec<'_>,
        duration: i64,
        orig_bytes: u64,
        resp_bytes: u64,
        state: TcpState,
    ) -> Uid {
        let port = eph_port(rng);
        let c = records::tcp(
            rng,
            ts,
            client,
            port,
            server,
            spec.server_port,
            Some("ssl"),
            duration,
            orig_bytes,
            resp_bytes,
            state,
        );
        let uid = c.uid;
        self.conn(&c);
        if matches!(state, TcpState::S0 | TcpState::Rej) {
            return uid;
        }
        let sts = ts + rng.gen_range(2_000..60_000).min(duration.max(1));
        let show_certs = !spec.tls13 && !spec.resumed && !spec.chain.is_empty();
        let chain = show_certs.then(|| {
            spec.chain
                .iter()
                .map(|&i| self.world.certs[i].fp.as_str())
                .collect::<Vec<_>>()
                .join(",")
        });
        let ssl = Ssl {
            ts: sts,
            uid: &uid,
            orig: client,
            orig_p: port,
            resp: server,
            resp_p: spec.server_port,
            version: if spec.tls13 { "TLSv13" } else { "TLSv12" },
            cipher: if spec.tls13 {
                ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"][usize::from(rng.gen_bool(0.4))]
            } else {
                spec.cipher12
            },
            curve: Some(if spec.tls13 || rng.gen_bool(0.7) { "x25519" } else { "secp256r1" }),
            server_name: spec.sni,
            resumed: spec.resumed,
            last_alert: None,
            next_protocol: spec.next_protocol,
            established: state != TcpState::Rstr || rng.gen_bool(0.5),
            history: match (spec.tls13, spec.resumed) {
                (true, _) => "CsiI",
                (false, true) => "CsGIi",
                (false, false) => "CsxknGIi",
            },
            cert_chain: chain.as_deref(),
            sni_matches: show_certs.then_some(true),
            validation: show_certs.then_some(spec.validation),
            ja3: Some(spec.ja3),
            ja3s: Some(spec.ja3s),
        };
        ssl.write(&mut self.logs.rec(Kind::Ssl, sts, sts));
        if show_certs {
            let day = sts.div_euclid(86_400 * US);
            for (k, &cert) in spec.chain.iter().enumerate() {
                if self.x509_logged.get(&cert) != Some(&day) {
                    self.x509_logged.insert(cert, day);
                    let xts = sts - 1_000 + k as i64 * 20;
                    write_cert(&mut self.logs, &self.world.certs[cert], xts);
                }
            }
        }
        uid
    }

    /// Random public address for internet clients, avoiding every planted or decoy indicator.
    pub(crate) fn public_ip<R: Rng>(rng: &mut R) -> u32 {
        const ISP_OCTETS: [u8; 24] = [
            24, 50, 66, 67, 68, 69, 71, 76, 81, 82, 86, 90, 92, 94, 109, 112, 118, 121, 171, 175,
            177, 186, 189, 201,
        ];
        loop {
            let a = *ISP_OCTETS.choose(rng).expect("non-empty");
            let ip = out::ipv4(a, rng.r#gen(), rng.r#gen(), rng.gen_range(1..=254));
            if !RESERVED_IPS.iter().any(|r| u32::from_be_bytes(*r) == ip) {
                return ip;
            }
        }
    }
}

fn write_cert(logs: &mut Logs, cert: &Cert, ts: i64) {
    cert.write(&mut logs.rec(Kind::X509, ts, ts), ts);
}

/// Relative activity per hour of a working day (local time = UTC for this site).
const WORKDAY: [f64; 24] = [
    0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.08, 0.35, 0.85, 1.0, 1.0, 0.95, 0.7, 0.9, 1.0, 1.0, 0.9,
    0.7, 0.35, 0.15, 0.08, 0.05, 0.03, 0.02,
];

/// Internet-facing services see a flatter curve than the office.
const INTERNET: [f64; 24] = [
    0.45, 0.4, 0.35, 0.35, 0.35, 0.4, 0.5, 0.65, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 0.95,
    0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5,
];

/// Average conn records one background activity produces (DNS lookups and forwards included),
/// measured, so that `background_conns_per_host_per_day` means what it says.
const CONNS_PER_ACTIVITY: f64 = 1.75;

const WEB_PATHS: &[&str] = &[
    "/",
    "/products/",
    "/about",
    "/contact",
    "/careers",
    "/css/site.css",
    "/js/main.js",
    "/images/logo.png",
    "/favicon.ico",
    "/robots.txt",
    "/sitemap.xml",
    "/news/2024/05/annual-report",
];

const PROBE_PATHS: &[&str] = &[
    "/wp-login.php",
    "/.env",
    "/phpmyadmin/",
    "/cgi-bin/luci/;stok=/locale",
    "/.git/config",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/actuator/health",
];

const BOT_AGENTS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "curl/8.5.0",
    "python-requests/2.31.0",
];

/// Background traffic for one hour starting at `hour_start` (seconds).
pub(crate) fn background_hour<R: Rng>(ctx: &mut Ctx, rng: &mut R, hour_start: i64, per_day: u32) {
    let (.., hod, _, _) = out::utc_parts(hour_start);
    let hod = hod as usize;
    let weekend = out::weekday(hour_start) >= 5;
    let workday_sum: f64 = WORKDAY.iter().sum();
    let day_factor = if weekend { 0.25 } else { 1.3 };
    let office_hours = !weekend && (7..19).contains(&hod);
    let base = f64::from(per_day) * day_factor * WORKDAY[hod] / workday_sum / CONNS_PER_ACTIVITY;

    for i in 0..ctx.world.workstations.len() {
        let ws = &ctx.world.workstations[i];
        let mut lambda = base * ws.activity;
        if !office_hours && !ws.always_on {
            lambda *= 0.1;
        }
        // Machines left on still phone home for updates and telemetry at night.
        if ws.always_on && !office_hours {
            lambda += f64::from(per_day) * 0.004 / CONNS_PER_ACTIVITY;
        }
        let n = poisson(rng, lambda);
        let (ip, browser) = (ws.ip, ws.browser);
        for _ in 0..n {
            let ts = hour_start * US + rng.gen_range(0..3600 * US);
            workstation_activity(ctx, rng, ts, ip, browser, office_hours);
        }
    }

    let hosts = ctx.world.workstations.len() as f64;
    let visitors = poisson(rng, hosts * f64::from(per_day) / 40.0 * 0.3 * INTERNET[hod]);
    for _ in 0..visitors {
        let ts = hour_start * US + rng.gen_range(0..3600 * US);
        web_visitor(ctx, rng, ts);
    }
    for _ in 0..poisson(rng, 12.0) {
        let ts = hour_start * US + rng.gen_range(0..3600 * US);
        scanner(ctx, rng, ts);
    }
    let mail = poisson(rng, hosts * f64::from(per_day) / 40.0 * 0.06 * INTERNET[hod]);
    for _ in 0..mail {
        let ts = hour_start * US + rng.gen_range(0..3600 * US);
        smtp(ctx, rng, ts);
    }
}

/// Every ninth workstation belongs to a developer.
const DEVELOPER_EVERY: usize = 9;
/// The SSH clients developers run, by developer: Windows' bundled OpenSSH and a Linux desktop's.
const DEVELOPER_SSH_CLIENTS: [&str; 2] =
    ["SSH-2.0-OpenSSH_for_Windows_9.5", "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"];

/// Developers' `git fetch` and `git push` over SSH to GitHub on working days: the ordinary SSH
/// that gives a planted SSH client something to be rare against.
pub(crate) fn developer_ssh_hour<R: Rng>(ctx: &mut Ctx, rng: &mut R, hour_start: i64) {
    let (.., hod, _, _) = out::utc_parts(hour_start);
    if out::weekday(hour_start) >= 5 || !(8..18).contains(&hod) {
        return;
    }
    let Some(github) = ctx.world.services.iter().position(|s| s.def.host == "github.com") else {
        return;
    };
    let developers: Vec<u32> =
        ctx.world.workstations.iter().step_by(DEVELOPER_EVERY).map(|w| w.ip).collect();
    for (n, ip) in developers.into_iter().enumerate() {
        for _ in 0..poisson(rng, 0.35) {
            let ts = hour_start * US + rng.gen_range(0..3600 * US);
            let (t, server) = resolve(ctx, rng, ts, ip, github, 0.6);
            let (port, dur) = (eph_port(rng), rng.gen_range(800_000..6 * US));
            let (ob, rb) = (rng.gen_range(3_000..30_000), pareto(rng, 5_000.0, 1.2, 400e3));
            let c =
                records::tcp(rng, t, ip, port, server, 22, Some("ssh"), dur, ob, rb, TcpState::Sf);
            let uid = c.uid;
            ctx.conn(&c);
            let sts = t + rng.gen_range(150_000..400_000);
            let ssh = Ssh {
                ts: sts,
                uid: &uid,
                orig: ip,
                orig_p: port,
                resp: server,
                auth_success: true,
                client: DEVELOPER_SSH_CLIENTS[n % 2],
                server: "SSH-2.0-babeld-8405f9f3",
                cipher: "chacha20-poly1305@openssh.com",
                mac: "umac-64-etm@openssh.com",
                kex: "curve25519-sha256",
                host_key_alg: "ssh-ed25519",
                host_key: "65:96:2d:fc:e8:d5:a9:11:64:0c:0f:ea:00:6e:5b:bb",
            };
            ssh.write(&mut ctx.logs.rec(Kind::Ssh, sts, sts));
        }
    }
}

fn pick_state<R: Rng>(rng: &mut R) -> TcpState {
    match rng.gen_range(0..1000) {
        0..=879 => TcpState::Sf,
        880..=929 => TcpState::Rsto,
        930..=964 => TcpState::Rstr,
        965..=979 => TcpState::S1,
        980..=989 => TcpState::Oth,
        _ => TcpState::S0,
    }
}

fn a_answers<R: Rng>(rng: &mut R, svc: &world::Service, first: u32) -> (String, String, usize) {
    let ttl = *[60u32, 300, 300, 3600].choose(rng).expect("non-empty");
    let mut answers = Vec::new();
    let mut ttls = Vec::new();
    if let Some(cname) = svc.def.cname {
        answers.push(cname.to_string());
        ttls.push(format!("{}.000000", ttl * 10));
    }
    answers.push(out::ip_string(first));
    ttls.push(format!("{ttl}.000000"));
    for &ip in svc.ips.iter().filter(|&&ip| ip != first).take(rng.gen_range(0..3)) {
        answers.push(out::ip_string(ip));
        ttls.push(format!("{ttl}.000000"));
    }
    let n = answers.len();
    (answers.join(","), ttls.join(","), n)
}

/// Resolves `svc` for `client` unless the client's cache still holds it; returns when the
/// connection can start and which address it goes to.
fn resolve<R: Rng>(
    ctx: &mut Ctx,
    rng: &mut R,
    ts: i64,
    client: u32,
    svc_index: usize,
    cached: f64,
) -> (i64, u32) {
    let svc = &ctx.world.services[svc_index];
    let ip = *svc.ips.choose(rng).expect("services have addresses");
    if rng.gen_bool(cached) {
        return (ts, ip);
    }
    let (answers, ttls, count) = a_answers(rng, svc, ip);
    let host = svc.def.host;
    let forward = rng.gen_bool(0.3);
    let done = ctx.lookup(
        rng,
        ts,
        client,
        host,
        1,
        Answer::Records { answers: &answers, ttls: &ttls, count },
        forward,
    );
    if rng.gen_bool(0.25) {
        // Dual-stack clients ask for AAAA in parallel; the site has no IPv6 route, so the A
        // answer wins.
        let v6 = ctx.world.services[svc_index].v6.clone();
        let answer = if rng.gen_bool(0.6) {
            Answer::Records { answers: &v6, ttls: "300.000000", count: 1 }
        } else {
            Answer::NoData
        };
        ctx.lookup(rng, ts + 50, client, host, 28, answer, forward);
    }
    (done + rng.gen_range(300..20_000), ip)
}

fn workstation_activity<R: Rng>(
    ctx: &mut Ctx,
    rng: &mut R,
    ts: i64,
    ip: u32,
    browser: usize,
    office_hours: bool,
) {
    match rng.gen_range(0..100) {
        0..=51 => web_tls(ctx, rng, ts, ip, browser),
        52..=58 => plain_http(ctx, rng, ts, ip),
        59..=62 => quic(ctx, rng, ts, ip),
        63..=76 => active_directory(ctx, rng, ts, ip),
        77..=82 => smb(ctx, rng, ts, ip),
        83..=90 => dns_only(ctx, rng, ts, ip),
        91 => ntp(ctx, rng, ts, ip),
        92..=95 => failed(ctx, rng, ts, ip),
        96 => ping(ctx, rng, ts, ip),
        _ if office_hours => teams_media(ctx, rng, ts, ip),
        _ => web_tls(ctx, rng, ts, ip, browser),
    }
}

fn web_tls<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32, browser: usize) {
    let si = ctx.world.pick_tls(rng);
    let (mut t, server) = resolve(ctx, rng, ts, ip, si, 0.45);
    let svc = &ctx.world.services[si];
    let os_service = svc.def.host.contains("data.microsoft.com")
        || svc.def.host.contains("wns.windows")
        || svc.def.host.contains("cloudsink")
        || svc.def.host.contains("update");
    let ja3 = if os_service { SCHANNEL_JA3 } else { BROWSERS[browser].1 };
    let (leaf, ca, ja3s) = (svc.leaf, svc.def.ca, svc.ja3s.clone());
    let host = svc.def.host;
    let conns = match rng.gen_range(0..10) {
        0..=6 => 1,
        7..=8 => 2,
        _ => rng.gen_range(3..=4),
    };
    for _ in 0..conns {
        let tls13 = !os_service && rng.gen_bool(0.6);
        let resumed = rng.gen_bool(0.2);
        let spec = TlsSpec {
            server_port: 443,
            sni: Some(host),
            tls13,
            resumed,
            chain: &[leaf, ca],
            validation: "ok",
            ja3,
            ja3s: &ja3s,
            next_protocol: if os_service { None } else { Some("h2") },
            cipher12: if world::CAS[ca].2 {
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
            } else {
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
            },
        };
        let ob = 400 + pareto(rng, 700.0, 1.4, 40e6);
        let rb = pareto(rng, 2500.0, 1.05, 400e6);
        let mut dur = rng.gen_range(30_000..1_500_000) + (rb as i64) / rng.gen_range(2..40);
        if rng.gen_bool(0.4) {
            dur += rng.gen_range(5..240) * US;
        }
        let state = pick_state(rng);
        ctx.tls(rng, t, ip, server, &spec, dur, ob, rb, state);
        t += rng.gen_range(1_000..400_000);
    }
}

fn plain_http<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    let total: u32 = ctx.world.http_services.iter().map(|&i| service_weight(ctx, i)).sum();
    let mut x = rng.gen_range(0..total);
    let mut si = ctx.world.http_services[0];
    for &i in &ctx.world.http_services {
        let w = service_weight(ctx, i);
        if x < w {
            si = i;
            break;
        }
        x -= w;
    }
    let (t, server) = resolve(ctx, rng, ts, ip, si, 0.4);
    let svc = &ctx.world.services[si];
    let (kind, host) = (svc.def.kind, svc.def.host);
    let requests = if rng.gen_bool(0.8) { 1 } else { rng.gen_range(2..=3) };
    let mut rows = Vec::with_capacity(requests);
    let mut total_req = 0;
    let mut total_resp = 0;
    for depth in 1..=requests {
        let (method, uri, ua, req, resp, req_mime, resp_mime) = match kind {
            SvcKind::Ocsp => (
                "POST",
                "/".to_string(),
                "Microsoft-CryptoAPI/10.0",
                83,
                rng.gen_range(471..1_800),
                Some("application/ocsp-request"),
                "application/ocsp-response",
            ),
            SvcKind::Crl => (
                "GET",
                "/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crl".to_string(),
                "Microsoft-CryptoAPI/10.0",
                0,
                rng.gen_range(700..90_000),
                None,
                "application/pkix-crl",
            ),
            SvcKind::Ctl => (
                "GET",
                format!(
                    "/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab?{}",
                    out::hex_string(rng, 16)
                ),
                "Microsoft-CryptoAPI/10.0",
                0,
                rng.gen_range(6_000..9_000),
                None,
                "application/vnd.ms-cab-compressed",
            ),
            SvcKind::Ncsi => {
                ("GET", "/connecttest.txt".to_string(), "Microsoft NCSI", 0, 22, None, "text/plain")
            }
            _ => (
                "GET",
                format!(
                    "/c/msdownload/update/software/defu/2024/06/am_delta_patch_1.411.{}.0_{}.exe",
                    rng.gen_range(100..700),
                    out::hex_string(rng, 40)
                ),
                "Microsoft-Delivery-Optimization/10.0",
                0,
                pareto(rng, 200_000.0, 1.2, 2e9),
                None,
                "application/x-dosexec",
            ),
        };
        total_req += req;
        total_resp += resp;
        rows.push((depth as u64, method, uri, ua, req, resp, req_mime, resp_mime));
    }
    let ob = total_req + requests as u64 * rng.gen_range(150..260);
    let rb = total_resp + requests as u64 * rng.gen_range(200..420);
    let dur = rng.gen_range(20_000..400_000) + rb as i64 / 20;
    let port = eph_port(rng);
    let state = if rng.gen_bool(0.95) { TcpState::Sf } else { TcpState::Rsto };
    let c = records::tcp(rng, t, ip, port, server, 80, Some("http"), dur, ob, rb, state);
    let uid = c.uid;
    ctx.conn(&c);
    let mut hts = t + rng.gen_range(1_000..30_000);
    for (depth, method, uri, ua, req, resp, req_mime, resp_mime) in rows {
        let ofuid = out::uid(rng, b'F');
        let rfuid = out::uid(rng, b'F');
        let http = Http {
            ts: hts,
            uid: &uid,
            orig: ip,
            orig_p: port,
            resp: server,
            resp_p: 80,
            depth,
            method,
            host,
            uri: &uri,
            referrer: None,
            user_agent: Some(ua),
            request_len: req,
            response_len: resp,
            status: 200,
            status_msg: "OK",
            orig_file: req_mime.map(|m| (&ofuid, m)),
            resp_file: Some((&rfuid, resp_mime)),
        };
        http.write(&mut ctx.logs.rec(Kind::Http, hts, hts));
        hts += rng.gen_range(1_000..50_000);
    }
}

fn service_weight(ctx: &Ctx, i: usize) -> u32 {
    ctx.world.services[i].def.weight
}

fn quic<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    let Some(si) =
        (0..6).map(|_| ctx.world.pick_tls(rng)).find(|&i| ctx.world.services[i].def.ca == 1)
    else {
        return;
    };
    let (t, server) = resolve(ctx, rng, ts, ip, si, 0.5);
    let host = ctx.world.services[si].def.host;
    let ob = 1_250 * 2 + pareto(rng, 1_500.0, 1.3, 10e6);
    let rb = pareto(rng, 6_000.0, 1.1, 300e6);
    let dur = rng.gen_range(100_000..30 * US) + rb as i64 / 10;
    let port = eph_port(rng);
    let c = records::udp(rng, t, ip, port, server, 443, Some("quic,ssl"), dur, ob, rb, true);
    let uid = c.uid;
    ctx.conn(&c);
    let sts = t + rng.gen_range(5_000..40_000);
    let ssl = Ssl {
        ts: sts,
        uid: &uid,
        orig: ip,
        orig_p: port,
        resp: server,
        resp_p: 443,
        version: "TLSv13",
        cipher: "TLS_AES_128_GCM_SHA256",
        curve: Some("x25519"),
        server_name: Some(host),
        resumed: rng.gen_bool(0.3),
        last_alert: None,
        next_protocol: Some("h3"),
        established: true,
        history: "CsiI",
        cert_chain: None,
        sni_matches: None,
        validation: None,
        ja3: None,
        ja3s: None,
    };
    ssl.write(&mut ctx.logs.rec(Kind::Ssl, sts, sts));
}

fn active_directory<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    let mut t = ts;
    if rng.gen_bool(0.3) {
        let q = format!("_ldap._tcp.dc._msdcs.{}", world::AD_DOMAIN);
        let ans = format!("dc01.{}", world::AD_DOMAIN);
        let answer = Answer::Records { answers: &ans, ttls: "600.000000", count: 1 };
        t = ctx.lookup(rng, t, ip, &q, 33, answer, false) + 500;
    }
    let (service, port, proto) = match rng.gen_range(0..10) {
        0..=2 => ("krb", 88, Proto::Udp),
        3..=4 => ("krb_tcp", 88, Proto::Tcp),
        5..=7 => ("ldap_tcp", 389, Proto::Tcp),
        _ => ("dce_rpc", 135, Proto::Tcp),
    };
    let ob = pareto(rng, 300.0, 1.6, 200_000.0);
    let rb = pareto(rng, 900.0, 1.4, 2e6);
    let dur = rng.gen_range(500..200_000);
    let sport = eph_port(rng);
    let c = if proto == Proto::Udp {
        records::udp(rng, t, ip, sport, world::DC, port, Some(service), dur, ob, rb, true)
    } else {
        let state = if rng.gen_bool(0.97) { TcpState::Sf } else { TcpState::Rstr };
        records::tcp(rng, t, ip, sport, world::DC, port, Some(service), dur, ob, rb, state)
    };
    ctx.conn(&c);
    if port == 135 {
        // The endpoint mapper hands out a dynamic port that the client then uses.
        let dyn_port = rng.gen_range(49664..49700);
        let t2 = c.end() + rng.gen_range(500..5_000);
        let ob = pareto(rng, 1_500.0, 1.3, 5e6);
        let rb = pareto(rng, 1_500.0, 1.3, 5e6);
        let (port, dur) = (eph_port(rng), rng.gen_range(2_000..900_000));
        let c2 = records::tcp(
            rng,
            t2,
            ip,
            port,
            world::DC,
            dyn_port,
            Some("dce_rpc"),
            dur,
            ob,
            rb,
            TcpState::Sf,
        );
        ctx.conn(&c2);
    }
}

fn smb<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    let service = *["smb", "gssapi,smb", "gssapi,ntlm,smb"].choose(rng).expect("non-empty");
    let ob = 1_200 + pareto(rng, 3_000.0, 1.1, 500e6);
    let rb = 1_500 + pareto(rng, 8_000.0, 1.05, 2e9);
    let dur = rng.gen_range(50_000..10 * US) + (ob + rb) as i64 / 50;
    let port = eph_port(rng);
    let state = if rng.gen_bool(0.9) { TcpState::Sf } else { TcpState::S1 };
    let mut c =
        records::tcp(rng, ts, ip, port, world::FILE_SERVER, 445, Some(service), dur, ob, rb, state);
    if rng.gen_bool(0.01) {
        // Sensor overload drops a few segments on the busiest flows.
        c.missed = rng.gen_range(1_000..100_000).min(ob + rb);
    }
    ctx.conn(&c);
}

fn dns_only<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    match rng.gen_range(0..10) {
        0..=2 => {
            // Chromium probes for DNS hijacking with random single-label names.
            let len = rng.gen_range(7..=15);
            let name: String = (0..len).map(|_| rng.gen_range(b'a'..=b'z') as char).collect();
            ctx.lookup(rng, ts, ip, &name, 1, Answer::NxDomain, true);
        }
        3..=4 => {
            let name = format!("wpad.{}", world::AD_DOMAIN);
            ctx.lookup(rng, ts, ip, &name, 1, Answer::NxDomain, false);
        }
        5..=6 => {
            let peer = ctx.world.workstations.choose(rng).expect("hosts exist").ip;
            let o = peer.to_be_bytes();
            let q = format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]);
            let ans = format!("ws-{:02x}{:02x}.{}", o[2], o[3], world::AD_DOMAIN);
            let answer = if rng.gen_bool(0.8) {
                Answer::Records { answers: &ans, ttls: "1200.000000", count: 1 }
            } else {
                Answer::NxDomain
            };
            ctx.lookup(rng, ts, ip, &q, 12, answer, false);
        }
        _ => {
            let si = ctx.world.pick_tls(rng);
            resolve(ctx, rng, ts, ip, si, 0.0);
        }
    }
}

fn ntp<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    let (t, server) = if rng.gen_bool(0.7) {
        (ts, world::DC)
    } else {
        let ans = out::ip_string(world::NTP_SERVER);
        let answer = Answer::Records { answers: &ans, ttls: "1800.000000", count: 1 };
        (ctx.lookup(rng, ts, ip, "time.windows.com", 1, answer, true) + 400, world::NTP_SERVER)
    };
    let dur = rng.gen_range(300..60_000);
    let c = records::udp(rng, t, ip, 123, server, 123, Some("ntp"), dur, 48, 48, true);
    ctx.conn(&c);
}

fn failed<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    let peer = ctx.world.workstations.choose(rng).expect("hosts exist").ip;
    let port = *[445u16, 3389, 5985, 139, 9100, 8080, 5357].choose(rng).expect("non-empty");
    let state = if rng.gen_bool(0.6) { TcpState::Rej } else { TcpState::S0 };
    let sport = eph_port(rng);
    let c = records::tcp(rng, ts, ip, sport, peer, port, None, 0, 0, 0, state);
    ctx.conn(&c);
}

fn ping<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    let n = rng.gen_range(1..=4u64);
    let target = if rng.gen_bool(0.5) { world::DC } else { world::FILE_SERVER };
    let mut c =
        records::udp(rng, ts, ip, 8, target, 0, None, (n as i64 - 1) * US + 400, 0, 0, true);
    c.proto = Proto::Icmp;
    c.state = "OTH";
    c.history = None;
    c.orig_bytes = Some(32 * n);
    c.resp_bytes = Some(32 * n);
    c.orig_pkts = n;
    c.resp_pkts = n;
    c.orig_ip_bytes = 60 * n;
    c.resp_ip_bytes = 60 * n;
    ctx.conn(&c);
}

fn teams_media<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64, ip: u32) {
    let server = out::ipv4(52, 112, rng.gen_range(0..=127), rng.gen_range(1..=254));
    let dur = rng.gen_range(60..3_600) * US;
    let rate = rng.gen_range(8_000..120_000) as i64;
    let ob = (dur / US * rate) as u64;
    let rb = (dur / US * rate * rng.gen_range(8..15) / 10) as u64;
    let port = rng.gen_range(50_000..50_060);
    let dport = rng.gen_range(3478..=3481);
    let mut c = records::udp(rng, ts, ip, port, server, dport, None, dur, ob, rb, true);
    if rng.gen_bool(0.2) {
        // Teams relays media through a tunnel allocation on some calls.
        c.tunnel = Tunnel::Empty;
    }
    ctx.conn(&c);
}

fn web_visitor<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64) {
    let client = Ctx::public_ip(rng);
    let bot = rng.gen_bool(0.25);
    let (ua, ja3) = if bot {
        (*BOT_AGENTS.choose(rng).expect("non-empty"), "e35df3e00ca4ef31d42b34bebaa2f86e")
    } else {
        *BROWSERS.choose(rng).expect("non-empty")
    };
    if rng.gen_bool(0.8) {
        let leaf = ctx.world.site_leaf;
        let spec = TlsSpec {
            server_port: 443,
            sni: Some(world::PUBLIC_SITE),
            tls13: rng.gen_bool(0.7),
            resumed: rng.gen_bool(0.15),
            chain: &[leaf, 3],
            validation: "ok",
            ja3,
            ja3s: "15af977ce25de452b96affa2addb1036",
            next_protocol: Some("h2"),
            cipher12: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        };
        let ob = 500 + pareto(rng, 900.0, 1.5, 2e6);
        let rb = pareto(rng, 15_000.0, 1.2, 50e6);
        let dur = rng.gen_range(100_000..20 * US);
        let state = pick_state(rng);
        ctx.tls(rng, ts, client, world::DMZ_WEB, &spec, dur, ob, rb, state);
        return;
    }
    let probe = bot && rng.gen_bool(0.4);
    let uri = if probe {
        *PROBE_PATHS.choose(rng).expect("non-empty")
    } else {
        *WEB_PATHS.choose(rng).expect("non-empty")
    };
    let (status, msg, resp_len) = if probe {
        (404, "Not Found", 1_245)
    } else if rng.gen_bool(0.5) {
        (301, "Moved Permanently", 0)
    } else {
        (200, "OK", pareto(rng, 4_000.0, 1.3, 5e6))
    };
    let request = SiteRequest { client, uri, user_agent: ua, status, status_msg: msg, resp_len };
    request.write(ctx, rng, ts);
}

/// One plain-HTTP request from the Internet to the public web site: its conn and http records.
pub(crate) struct SiteRequest<'a> {
    pub client: u32,
    pub uri: &'a str,
    pub user_agent: &'a str,
    pub status: u16,
    pub status_msg: &'a str,
    pub resp_len: u64,
}

impl SiteRequest<'_> {
    pub(crate) fn write<R: Rng>(&self, ctx: &mut Ctx, rng: &mut R, ts: i64) {
        let (client, uri, ua, status, msg, resp_len) =
            (self.client, self.uri, self.user_agent, self.status, self.status_msg, self.resp_len);
        let ob = rng.gen_range(150..600);
        let rb = resp_len + rng.gen_range(180..400);
        let port = eph_port(rng);
        let dur = rng.gen_range(20_000..900_000);
        let c = records::tcp(
            rng,
            ts,
            client,
            port,
            world::DMZ_WEB,
            80,
            Some("http"),
            dur,
            ob,
            rb,
            TcpState::Sf,
        );
        let uid = c.uid;
        ctx.conn(&c);
        let fuid = out::uid(rng, b'F');
        let hts = ts + rng.gen_range(1_000..80_000);
        let http = Http {
            ts: hts,
            uid: &uid,
            orig: client,
            orig_p: port,
            resp: world::DMZ_WEB,
            resp_p: 80,
            depth: 1,
            method: "GET",
            host: world::PUBLIC_SITE,
            uri,
            referrer: None,
            user_agent: Some(ua),
            request_len: 0,
            response_len: resp_len,
            status,
            status_msg: msg,
            orig_file: None,
            resp_file: (resp_len > 0).then_some((&fuid, "text/html")),
        };
        http.write(&mut ctx.logs.rec(Kind::Http, hts, hts));
    }
}

fn scanner<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64) {
    let client = Ctx::public_ip(rng);
    let target = if rng.gen_bool(0.7) { world::DMZ_WEB } else { world::MAIL };
    let port = *[22u16, 23, 445, 3389, 8080, 8443, 5900, 1433, 3306, 6379, 2323, 9200]
        .choose(rng)
        .expect("non-empty");
    let state = if rng.gen_bool(0.5) { TcpState::Rej } else { TcpState::S0 };
    let sport = rng.gen_range(1024..65535);
    let c = records::tcp(rng, ts, client, sport, target, port, None, 0, 0, 0, state);
    ctx.conn(&c);
}

fn smtp<R: Rng>(ctx: &mut Ctx, rng: &mut R, ts: i64) {
    let mta_ranges = [(40u8, 107u8), (209, 85), (52, 100), (40, 92)];
    let &(a, b) = mta_ranges.choose(rng).expect("non-empty");
    let peer = out::ipv4(a, b, rng.r#gen(), rng.gen_range(1..=254));
    let inbound = rng.gen_bool(0.7);
    let (orig, resp) = if inbound { (peer, world::MAIL) } else { (world::MAIL, peer) };
    let body = pareto(rng, 6_000.0, 1.2, 35e6);
    let (ob, rb) = (body + rng.gen_range(400..900), rng.gen_range(600..1_200));
    let dur = rng.gen_range(300_000..4 * US) + body as i64 / 100;
    let port = eph_port(rng);
    let c = records::tcp(rng, ts, orig, port, resp, 25, Some("smtp"), dur, ob, rb, TcpState::Sf);
    ctx.conn(&c);
}
