//! The planted intrusion, modelled on the tradecraft in the APT40 advisory (CISA AA24-190A):
//! command and control through compromised residential and SOHO devices, a web shell on an
//! internet-facing server, DNS tunnelling and a long-lived SSH channel to a rented VPS.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::Scenario;
use crate::out::{self, US, iso};
use crate::records::{self, Cert, Http, TcpState};
use crate::sim::{Answer, Ctx, TlsSpec, eph_port};
use crate::world;
use crate::zeek::Kind;

pub(crate) const BEACON_SRC: [u8; 4] = [10, 20, 14, 77];
pub(crate) const BEACON_C2: [u8; 4] = [73, 54, 23, 243];
/// The default certificate subject of a DrayTek Vigor router's web interface.
const ROUTER_SUBJECT: &str =
    "CN=Vigor Router,OU=DrayTek Support,O=DrayTek Corp.,L=HuKou,ST=HsinChu,C=TW";
pub(crate) const BEACON_SNI: &str = "updates.cdn-sync.net";
pub(crate) const WEBSHELL_SRC: [u8; 4] = [98, 113, 172, 20];
pub(crate) const WEBSHELL_PATH: &str = "/uploads/help.aspx";
pub(crate) const WEBSHELL_UA: &str =
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0";
pub(crate) const TUNNEL_SRC: [u8; 4] = [10, 20, 33, 5];
pub(crate) const TUNNEL_DOMAIN: &str = "dnsxfer.org";
pub(crate) const TUNNEL_ZONE: &str = "t.dnsxfer.org";
pub(crate) const SSH_SRC: [u8; 4] = [10, 20, 2, 15];
pub(crate) const SSH_DST: [u8; 4] = [45, 77, 10, 9];
/// The planted SSH session's client banner: no other host runs it.
pub(crate) const PLINK: &str = "SSH-2.0-PuTTY_Release_0.78";

/// Indicators that look like real threat-intel entries but occur nowhere in the traffic, so an
/// IOC matcher that reports them is wrong.
pub(crate) const DECOYS: &[&str] = &[
    "185.220.101.47",
    "91.219.236.18",
    "194.165.16.98",
    "5.252.178.63",
    "login-microsoftonline-secure.com",
    "cdn-jquery-update.net",
    "files.sync-backup.org",
];

const BEACON_JA3: &str = "a0e9f5d64349fb13191bc781f81f42e1";
const BEACON_JA3S: &str = "ae4edc6faf64d08308082ad26be60767";

fn ip(o: [u8; 4]) -> u32 {
    u32::from_be_bytes(o)
}

fn s(o: [u8; 4]) -> String {
    out::ip_string(ip(o))
}

/// A planted scenario with the long-form notes for SCENARIOS.md.
pub(crate) struct Planted {
    pub scenario: Scenario,
    pub markdown: String,
}

/// Writes every scenario's traffic into `ctx` (period `start..end`, seconds) and describes it.
pub(crate) fn plant<R: Rng>(ctx: &mut Ctx, rng: &mut R, start: i64, days: u32) -> Vec<Planted> {
    let end = start + i64::from(days) * 86_400;
    vec![
        beacon(ctx, rng, start, end),
        webshell(ctx, rng, start, days, end),
        dns_tunnel(ctx, rng, start, days, end),
        long_ssh(ctx, rng, start, days, end),
    ]
}

fn beacon<R: Rng>(ctx: &mut Ctx, rng: &mut R, start: i64, end: i64) -> Planted {
    let src = ip(BEACON_SRC);
    let c2 = ip(BEACON_C2);
    ctx.world.certs.push(Cert {
        fp: out::hex_string(rng, 64),
        serial: out::hex_string(rng, 16).to_ascii_uppercase(),
        subject: format!("CN={BEACON_SNI}"),
        issuer: format!("CN={BEACON_SNI}"),
        not_before: start - 9 * 86_400 - rng.gen_range(0..86_400),
        not_after: start + 356 * 86_400,
        ecdsa: false,
        sans: Some(BEACON_SNI.to_string()),
        ca: false,
    });
    let cert = ctx.world.certs.len() - 1;
    let fp = ctx.world.certs[cert].fp.clone();
    let spec = TlsSpec {
        server_port: 443,
        sni: Some(BEACON_SNI),
        tls13: false,
        resumed: false,
        chain: &[cert],
        validation: "self signed certificate",
        ja3: BEACON_JA3,
        ja3s: BEACON_JA3S,
        next_protocol: None,
        cipher12: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    };
    // The relay is a home router: its own web interface, on 8443, presents the DrayTek default
    // certificate, and the loader fetched its first configuration there before beaconing.
    ctx.world.certs.push(Cert {
        fp: out::hex_string(rng, 64),
        serial: out::hex_string(rng, 16).to_ascii_uppercase(),
        subject: ROUTER_SUBJECT.to_string(),
        issuer: ROUTER_SUBJECT.to_string(),
        not_before: start - 900 * 86_400,
        not_after: start + 2_700 * 86_400,
        ecdsa: false,
        sans: None,
        ca: false,
    });
    let router_cert = [ctx.world.certs.len() - 1];
    let router_spec = TlsSpec { server_port: 8443, sni: None, chain: &router_cert, ..spec };
    let c2_s = s(BEACON_C2);
    let mut t = start * US + rng.gen_range(0..300 * US);
    for _ in 0..3 {
        let dur = rng.gen_range(400_000..1_500_000);
        let (sent, received) = (rng.gen_range(600..900), rng.gen_range(9_000..14_000));
        ctx.tls(rng, t, src, c2, &router_spec, dur, sent, received, TcpState::Sf);
        t += rng.gen_range(20..90) * US;
    }
    let first = t;
    let mut last_dns: Option<i64> = None;
    let (mut beacons, mut lookups, mut tasked) = (0u64, 0u64, 0u64);
    let mut last = t;
    while t < (end - 60) * US {
        // The implant honours the one-hour TTL of its C2 name, like any Windows client.
        if last_dns.is_none_or(|d| t - d >= 3_600 * US) {
            let answer = Answer::Records { answers: &c2_s, ttls: "3600.000000", count: 1 };
            t = ctx.lookup(rng, t, src, BEACON_SNI, 1, answer, true) + rng.gen_range(500..5_000);
            last_dns = Some(t);
            lookups += 1;
        }
        let mut ob = rng.gen_range(1_150..1_230);
        let mut rb = rng.gen_range(4_300..4_520);
        if rng.gen_bool(0.04) {
            // An operator queued a task: a larger download, then the output going back.
            rb += rng.gen_range(20_000..60_000);
            ob += rng.gen_range(2_000..30_000);
            tasked += 1;
        }
        let dur = rng.gen_range(250_000..900_000);
        ctx.tls(rng, t, src, c2, &spec, dur, ob, rb, TcpState::Sf);
        beacons += 1;
        last = t;
        t += (300.0 * rng.gen_range(0.8..1.2) * US as f64) as i64;
    }
    let description = format!(
        "{src_s} opens a TLS 1.2 session to {c2_s}:443 (SNI {BEACON_SNI}, self-signed \
         certificate {fp_short}…, JA3 {BEACON_JA3}) every 300 s ±20% from {} to {}: {beacons} \
         connections of ~1.2 kB out / ~4.4 kB in ({tasked} larger, tasked), and {lookups} A \
         lookups of {BEACON_SNI} (TTL 3600). {c2_s} is a residential broadband address, in the \
         manner of APT40's use of compromised home devices as C2 relays; before the first beacon \
         the loader fetched its configuration three times from {c2_s}:8443, where the router's \
         own web interface presents DrayTek's default certificate ({ROUTER_SUBJECT}).",
        iso(first / US),
        iso(last / US),
        src_s = s(BEACON_SRC),
        fp_short = &fp[..16],
    );
    let markdown = format!(
        "- **Host:** {src} (workstation, also carries normal traffic)\n\
         - **C2:** {c2_s}:443, SNI `{BEACON_SNI}`, self-signed certificate `{fp}` \
         (validation_status `self signed certificate`), JA3 `{BEACON_JA3}`\n\
         - **When:** {} to {}, one connection every 300 s ±20% jitter\n\
         - **Volume:** {beacons} conn + ssl rows; {tasked} of them larger (operator tasking); \
         {lookups} DNS lookups of `{BEACON_SNI}` → {c2_s}, each also forwarded upstream\n\
         - **A detector should find:** a periodic, low-variance series of connections (beacon \
         scoring), to an address in a residential ISP range that no other host contacts, with a \
         self-signed certificate and a rare JA3; the IP and the SNI are in `iocs.txt`. The \
         relay is a DrayTek Vigor router: three TLS sessions to {c2_s}:8443 present its default \
         certificate `{ROUTER_SUBJECT}` (Recog: DrayTek Vigor Router).\n",
        iso(first / US),
        iso(last / US),
        src = s(BEACON_SRC),
    );
    Planted {
        scenario: Scenario {
            id: "beacon-residential",
            title: "HTTPS beacon to a residential broadband address",
            description,
            src: s(BEACON_SRC),
            dst: c2_s,
            technique: "T1071.001",
        },
        markdown,
    }
}

fn webshell<R: Rng>(ctx: &mut Ctx, rng: &mut R, start: i64, days: u32, end: i64) -> Planted {
    let attacker = ip(WEBSHELL_SRC);
    let day = (f64::from(days) * 0.4).floor() as i64;
    let from = (start + day * 86_400 + 14 * 3_600 + rng.gen_range(0..1_800)) * US;
    let until = ((from / US + 86_400).min(end - 1_800)) * US;
    const COMMANDS: &[&str] = &[
        "whoami",
        "whoami%20/priv",
        "ipconfig%20/all",
        "hostname",
        "systeminfo",
        "net%20user%20/domain",
        "net%20group%20%22domain%20admins%22%20/domain",
        "nltest%20/dclist:corp.northwind.local",
        "tasklist%20/v",
        "netstat%20-ano",
        "dir%20C:%5Cinetpub%5Cwwwroot%5Cuploads",
        "reg%20query%20HKLM%5CSYSTEM%5CCurrentControlSet%5CServices%5CW3SVC",
    ];
    let mut requests: Vec<(i64, &str, String, u64, u64, u16, &str)> = vec![
        (from, "GET", "/".into(), 0, rng.gen_range(11_000..13_000), 200, "OK"),
        (from + rng.gen_range(2..6) * US, "GET", "/uploads/".into(), 0, 1_233, 403, "Forbidden"),
        (from + rng.gen_range(8..15) * US, "GET", WEBSHELL_PATH.into(), 0, 0, 200, "OK"),
    ];
    let span = (until - from - 3_600 * US).max(600 * US);
    let mut sessions: Vec<i64> = (0..6).map(|_| from + 300 * US + rng.gen_range(0..span)).collect();
    sessions.sort_unstable();
    let (mut posts, mut gets) = (0u64, 0u64);
    for session in sessions {
        let mut t = session;
        for _ in 0..rng.gen_range(10..=30) {
            if t >= until {
                break;
            }
            if rng.gen_bool(0.7) {
                let req = rng.gen_range(300..3_000);
                let resp = rng.gen_range(100..8_000);
                requests.push((t, "POST", WEBSHELL_PATH.into(), req, resp, 200, "OK"));
                posts += 1;
            } else {
                let cmd = COMMANDS.choose(rng).expect("non-empty");
                let uri = format!("{WEBSHELL_PATH}?cmd={cmd}");
                requests.push((t, "GET", uri, 0, rng.gen_range(200..6_000), 200, "OK"));
                gets += 1;
            }
            t += rng.gen_range(3..40) * US;
        }
    }
    let total = requests.len();
    let last = requests.iter().map(|r| r.0).max().unwrap_or(from);
    for (ts, method, uri, req, resp, status, msg) in requests {
        let port = rng.gen_range(32_768..61_000);
        let ob = req + rng.gen_range(180..260);
        let rb = resp + rng.gen_range(220..320);
        let dur = rng.gen_range(40_000..600_000);
        let c = records::tcp(
            rng,
            ts,
            attacker,
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
        let (ofuid, rfuid) = (out::uid(rng, b'F'), out::uid(rng, b'F'));
        let hts = ts + rng.gen_range(20_000..90_000);
        let http = Http {
            ts: hts,
            uid: &uid,
            orig: attacker,
            orig_p: port,
            resp: world::DMZ_WEB,
            resp_p: 80,
            depth: 1,
            method,
            host: "10.30.0.10",
            uri: &uri,
            referrer: None,
            user_agent: Some(WEBSHELL_UA),
            request_len: req,
            response_len: resp,
            status,
            status_msg: msg,
            orig_file: (req > 0).then_some((&ofuid, "text/plain")),
            resp_file: (resp > 0).then_some((&rfuid, "text/html")),
        };
        http.write(&mut ctx.logs.rec(Kind::Http, hts, hts));
    }
    let src = s(WEBSHELL_SRC);
    let description = format!(
        "{src} (a home-router address) probes the DMZ web server 10.30.0.10:80 at {} and then \
         drives a web shell at {WEBSHELL_PATH} until {}: {total} HTTP requests ({posts} POSTs, \
         {gets} GETs with cmd= commands) in six operator sessions, all with the rare user agent \
         \"{WEBSHELL_UA}\".",
        iso(from / US),
        iso(last / US),
    );
    let markdown = format!(
        "- **Source:** {src} (SOHO / home-router address; in `iocs.txt`)\n\
         - **Target:** DMZ web server 10.30.0.10:80 (Host header is the bare IP)\n\
         - **When:** {} to {} (one 24-hour window)\n\
         - **Volume:** {total} conn + http rows: `GET /`, `GET /uploads/` (403), \
         `GET {WEBSHELL_PATH}`, then {posts} × `POST {WEBSHELL_PATH}` and {gets} × \
         `GET {WEBSHELL_PATH}?cmd=…` (whoami, ipconfig, net group \"domain admins\", …) in six \
         bursts of 10–30 requests, 3–40 s apart\n\
         - **User agent:** `{WEBSHELL_UA}` (seen nowhere else)\n\
         - **A detector should find:** inbound POSTs to a script in an upload folder from a \
         single external address, command strings in URIs, a user agent rare for the site, and \
         the IOC match on the source address.\n",
        iso(from / US),
        iso(last / US),
    );
    Planted {
        scenario: Scenario {
            id: "webshell-from-soho",
            title: "Web shell on the DMZ web server driven from a SOHO router",
            description,
            src,
            dst: out::ip_string(world::DMZ_WEB),
            technique: "T1505.003",
        },
        markdown,
    }
}

fn dns_tunnel<R: Rng>(ctx: &mut Ctx, rng: &mut R, start: i64, days: u32, end: i64) -> Planted {
    let src = ip(TUNNEL_SRC);
    let day = (f64::from(days) * 0.6).floor() as i64;
    let from = (start + day * 86_400 + 9 * 3_600 + rng.gen_range(0..1_800)) * US;
    let until = ((from / US + 36 * 3_600).min(end - 600)) * US;
    let mut t = from;
    let mut seq: u32 = rng.r#gen();
    let (mut queries, mut last) = (0u64, from);
    while t < until {
        // dnscat-style framing: a sequence number and hex payload, then a base32 chunk.
        let (chunk, txt_len) = (rng.gen_range(24..=52), rng.gen_range(16..=48));
        let query = format!(
            "{:04x}{}.{}.{TUNNEL_ZONE}",
            seq & 0xffff,
            out::hex_string(rng, 56),
            out::base32_string(rng, chunk),
        );
        let txt = out::base32_string(rng, txt_len);
        let answers = format!("TXT {} {txt}", txt.len());
        let answer = Answer::Records { answers: &answers, ttls: "0.000000", count: 1 };
        ctx.lookup(rng, t, src, &query, 16, answer, true);
        queries += 1;
        seq = seq.wrapping_add(1);
        last = t;
        t += rng.gen_range(5 * US..45 * US);
    }
    let description = format!(
        "{} sends {queries} TXT queries for long random names under {TUNNEL_ZONE} through the \
         internal resolver 10.20.0.53 (each forwarded to 8.8.8.8/1.1.1.1) from {} to {}, one \
         every 5–45 s.",
        s(TUNNEL_SRC),
        iso(from / US),
        iso(last / US),
    );
    let markdown = format!(
        "- **Host:** {} via resolver 10.20.0.53 (which forwards each query upstream, so the \
         names also appear from 10.20.0.53 to 8.8.8.8 / 1.1.1.1)\n\
         - **Domain:** `*.{TUNNEL_ZONE}` (registered domain `{TUNNEL_DOMAIN}` is in `iocs.txt`)\n\
         - **When:** {} to {}, one query every 5–45 s\n\
         - **Volume:** {queries} TXT queries (qtype 16) from the host, the same number forwarded; \
         names are `<4-hex seq><56 hex>.<24–52 base32>.{TUNNEL_ZONE}`, answers `TXT n <base32>` \
         with TTL 0\n\
         - **A detector should find:** one client with thousands of unique, high-entropy \
         subdomains of one domain, mostly TXT, far more than any other domain's distinct \
         labels; and the IOC match on the domain.\n",
        s(TUNNEL_SRC),
        iso(from / US),
        iso(last / US),
    );
    Planted {
        scenario: Scenario {
            id: "dns-tunnel",
            title: "DNS tunnelling over TXT queries",
            description,
            src: s(TUNNEL_SRC),
            dst: TUNNEL_DOMAIN.to_string(),
            technique: "T1071.004",
        },
        markdown,
    }
}

fn long_ssh<R: Rng>(ctx: &mut Ctx, rng: &mut R, start: i64, days: u32, end: i64) -> Planted {
    let src = ip(SSH_SRC);
    let dst = ip(SSH_DST);
    let first_day = if days >= 5 { 1 } else { 0 };
    let from = start + first_day * 86_400 + 10 * 3_600 + rng.gen_range(0..1_800);
    let dur = (260_000 + rng.gen_range(-3_000..3_000)).min(end - from - 2 * 3_600).max(3_600);
    let mut sessions = vec![(from, dur)];
    let mut day = (from + dur).div_euclid(86_400) + 1;
    while sessions.len() < 4 {
        let s = day * 86_400 + 19 * 3_600 + rng.gen_range(0..3 * 3_600);
        let d = rng.gen_range(2 * 3_600..6 * 3_600);
        if s + d > end - 1_800 {
            break;
        }
        sessions.push((s, d));
        day += 1;
    }
    let mut lines = String::new();
    for &(s_ts, d) in &sessions {
        let hours = d as f64 / 3_600.0;
        let ob = (hours * rng.gen_range(30_000.0..60_000.0)) as u64;
        let rb = (hours * rng.gen_range(150_000.0..400_000.0)) as u64;
        let dur_us = d * US + rng.gen_range(0..US);
        let (ts, port) = (s_ts * US + rng.gen_range(0..US), eph_port(rng));
        let c =
            records::tcp(rng, ts, src, port, dst, 22, Some("ssh"), dur_us, ob, rb, TcpState::Sf);
        ctx.conn(&c);
        // plink, PuTTY's command-line client, as intruders bring it to tunnel out of Windows.
        let sts = ts + 180_000;
        let ssh = records::Ssh {
            ts: sts,
            uid: &c.uid,
            orig: src,
            orig_p: port,
            resp: dst,
            auth_success: true,
            client: PLINK,
            server: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6",
            cipher: "aes256-ctr",
            mac: "hmac-sha2-256",
            kex: "curve25519-sha256@libssh.org",
            host_key_alg: "ssh-ed25519",
            host_key: "3c:1a:0e:95:d2:47:81:6b:f0:2e:aa:5d:19:c4:70:8e",
        };
        ssh.write(&mut ctx.logs.rec(Kind::Ssh, sts, sts));
        lines.push_str(&format!(
            "  - {} → {} ({} s, {:.1} h; conn row written at its end)\n",
            iso(s_ts),
            iso(s_ts + d),
            d,
            hours
        ));
    }
    let extra = sessions.len() - 1;
    let description = format!(
        "{} holds an SSH session to {}:22 (a rented VPS, reached by bare IP without a DNS \
         lookup) from {} for {} s (~{:.1} days), plus {extra} later multi-hour sessions.",
        s(SSH_SRC),
        s(SSH_DST),
        iso(from),
        dur,
        dur as f64 / 86_400.0,
    );
    let markdown = format!(
        "- **Host:** {} → {}:22 (service `ssh`, no preceding DNS lookup; the address is *not* \
         in `iocs.txt`, so only behaviour gives it away)\n\
         - **Client:** `{PLINK}` in ssh.log (plink, PuTTY's command-line client, which \
         intruders bring to tunnel out of Windows); the developers' SSH to GitHub uses OpenSSH\n\
         - **Sessions:**\n{lines}\
         - **A detector should find:** a single outbound connection lasting about three days \
         (duration ≈ {dur} s) to an external SSH server, far longer than any other flow, and \
         repeat evening sessions to the same address, from an SSH client no other host runs.\n",
        s(SSH_SRC),
        s(SSH_DST),
    );
    Planted {
        scenario: Scenario {
            id: "long-ssh",
            title: "Multi-day SSH session to a VPS",
            description,
            src: s(SSH_SRC),
            dst: s(SSH_DST),
            technique: "T1572",
        },
        markdown,
    }
}
