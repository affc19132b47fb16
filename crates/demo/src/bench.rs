//! A single large conn log for import benchmarks: the same record shapes as the demo network,
//! without the sessions around them, generated as fast as the disk or gzip can take it.

use std::io;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::out::{self, Rec, US};
use crate::records::{self, Conn, Proto, TcpState, Tunnel};
use crate::sim::{RESERVED_IPS, pareto};
use crate::world::{self, SERVICES};
use crate::zeek::{self, Kind, LogFile};

/// Records are spread over a week whatever their number, so time-bucketed queries see a
/// realistic span.
const SPAN_SECS: i64 = 7 * 86_400;
const START: i64 = 1_717_372_800;

pub(crate) fn conn_log(path: &Path, records: u64, seed: u64, gzip: bool) -> io::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(7);
    let internal: Vec<u32> = (0..2_000)
        .map(|_| out::ipv4(10, 20, rng.gen_range(1..=60), rng.gen_range(10..=250)))
        .collect();
    let mut external = Vec::with_capacity(SERVICES.len() * 4);
    for def in SERVICES {
        for _ in 0..4 {
            let &(a, b, lo, hi) = &def.ranges[rng.gen_range(0..def.ranges.len())];
            external.push(out::ipv4(a, b, rng.gen_range(lo..=hi), rng.gen_range(1..=254)));
        }
    }
    let servers = [world::DC, world::FILE_SERVER, world::RESOLVER, world::DMZ_WEB, world::MAIL];

    let mut file = LogFile::create(path, gzip)?;
    file.write(zeek::header(Kind::Conn, START).as_bytes())?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let gap = (SPAN_SECS * US) as f64 / records.max(1) as f64;
    let mut ts = START * US;
    for _ in 0..records {
        ts += (gap * 2.0 * rng.r#gen::<f64>()) as i64;
        let c = one(&mut rng, ts, &internal, &external, &servers);
        c.write(&mut Rec::new(&mut buf));
        if buf.len() >= (1 << 20) - 1024 {
            file.write(&buf)?;
            buf.clear();
        }
    }
    file.write(&buf)?;
    let close = START + ((ts / US - START) / 3_600 + 1) * 3_600;
    file.write(zeek::footer(close).as_bytes())?;
    let bytes = file.bytes;
    file.finish()?;
    Ok(bytes)
}

fn random_public<R: Rng>(rng: &mut R) -> u32 {
    loop {
        let ip = rng.r#gen::<u32>();
        let a = (ip >> 24) as u8;
        let reserved = RESERVED_IPS.iter().any(|r| u32::from_be_bytes(*r) == ip);
        if !matches!(a, 0 | 10 | 127 | 224..=255) && !reserved {
            return ip;
        }
    }
}

fn one<R: Rng>(rng: &mut R, ts: i64, internal: &[u32], external: &[u32], servers: &[u32]) -> Conn {
    let orig = internal[rng.gen_range(0..internal.len())];
    let port = rng.gen_range(49_152..=65_535);
    let roll = rng.gen_range(0..1_000);
    let mut c = match roll {
        // TLS to the cloud
        0..=479 => {
            let resp = external[rng.gen_range(0..external.len())];
            let ob = 400 + pareto(rng, 700.0, 1.4, 40e6);
            let rb = pareto(rng, 2_500.0, 1.05, 400e6);
            let dur = rng.gen_range(30_000..1_500_000) + rb as i64 / 20;
            let state = state(rng);
            records::tcp(rng, ts, orig, port, resp, 443, Some("ssl"), dur, ob, rb, state)
        }
        // DNS to the resolver
        480..=719 => {
            let rtt = rng.gen_range(150..40_000);
            let q = rng.gen_range(40..90);
            let answered = rng.gen_bool(0.98);
            let rb = q + rng.gen_range(16..200);
            records::udp(rng, ts, orig, port, world::RESOLVER, 53, Some("dns"), rtt, q, rb, answered)
        }
        // plain HTTP
        720..=779 => {
            let resp = external[rng.gen_range(0..external.len())];
            let ob = rng.gen_range(150..900);
            let rb = pareto(rng, 1_000.0, 1.2, 2e9);
            let dur = rng.gen_range(10_000..800_000) + rb as i64 / 30;
            let state = state(rng);
            records::tcp(rng, ts, orig, port, resp, 80, Some("http"), dur, ob, rb, state)
        }
        // internal services
        780..=889 => {
            let resp = servers[rng.gen_range(0..servers.len())];
            let (rp, svc) = [
                (445, Some("smb,gssapi")),
                (88, Some("krb_tcp")),
                (389, Some("ldap_tcp")),
                (135, Some("dce_rpc")),
                (3389, None),
                (5985, Some("http")),
            ][rng.gen_range(0..6)];
            let ob = pareto(rng, 400.0, 1.2, 1e9);
            let rb = pareto(rng, 900.0, 1.1, 4e9);
            let dur = rng.gen_range(500..5_000_000);
            let state = state(rng);
            records::tcp(rng, ts, orig, port, resp, rp, svc, dur, ob, rb, state)
        }
        // QUIC and other UDP
        890..=929 => {
            let resp = external[rng.gen_range(0..external.len())];
            let (rp, svc) = [(443, Some("quic,ssl")), (123, Some("ntp")), (3478, None)]
                [rng.gen_range(0..3)];
            let ob = pareto(rng, 1_200.0, 1.3, 50e6);
            let rb = pareto(rng, 2_000.0, 1.1, 500e6);
            let answered = rng.gen_bool(0.9);
            let dur = rng.gen_range(100..60_000_000);
            records::udp(rng, ts, orig, port, resp, rp, svc, dur, ob, rb, answered)
        }
        // scans and failures, inbound from the internet
        930..=979 => {
            let src = random_public(rng);
            let dst = servers[rng.gen_range(0..servers.len())];
            let st = if rng.gen_bool(0.5) { TcpState::Rej } else { TcpState::S0 };
            let dp = rng.gen_range(1..1_024);
            records::tcp(rng, ts, src, rng.gen_range(1_024..65_535), dst, dp, None, 0, 0, 0, st)
        }
        // ICMP
        _ => {
            let n = rng.gen_range(1..=4u64);
            let resp = servers[rng.gen_range(0..servers.len())];
            let dur = (n as i64 - 1) * US + 300;
            let mut c = records::udp(rng, ts, orig, 8, resp, 0, None, dur, 32 * n, 32 * n, true);
            c.proto = Proto::Icmp;
            c.state = "OTH";
            c.history = None;
            c.orig_pkts = n;
            c.resp_pkts = n;
            c.orig_ip_bytes = 60 * n;
            c.resp_ip_bytes = 60 * n;
            c
        }
    };
    // A few sensor quirks a parser must cope with: unset local_* inputs are not possible, but
    // missed bytes, empty and populated tunnel sets are.
    match rng.gen_range(0..1_000) {
        0..=39 => c.tunnel = Tunnel::Empty,
        40..=44 => c.tunnel = Tunnel::Parents(out::uid(rng, b'C'), None),
        45..=46 => c.tunnel = Tunnel::Parents(out::uid(rng, b'C'), Some(out::uid(rng, b'C'))),
        47..=52 if c.orig_bytes.unwrap_or(0) + c.resp_bytes.unwrap_or(0) > 10_000 => {
            c.missed = rng.gen_range(100..10_000);
        }
        _ => {}
    }
    c
}

fn state<R: Rng>(rng: &mut R) -> TcpState {
    match rng.gen_range(0..1_000) {
        0..=819 => TcpState::Sf,
        820..=879 => TcpState::S0,
        880..=919 => TcpState::Rej,
        920..=949 => TcpState::Rsto,
        950..=974 => TcpState::Rstr,
        975..=989 => TcpState::S1,
        _ => TcpState::Oth,
    }
}
