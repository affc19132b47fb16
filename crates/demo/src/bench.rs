//! A single large conn log for import benchmarks: the same record shapes as the demo network,
//! without the sessions around them, generated as fast as the disk or gzip can take it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use flate2::Compression;
use flate2::write::GzEncoder;

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

/// Uncompressed size of one gzip member: large enough that splitting costs no measurable
/// ratio, small enough to keep every core busy on a few-million-record file.
const CHUNK: usize = 4 << 20;

pub(crate) fn conn_log(path: &Path, records: u64, seed: u64, gzip: bool) -> io::Result<u64> {
    let mut generator = Generator::new(seed, records);
    if gzip {
        return parallel_gzip(path, &mut generator);
    }
    let mut file = LogFile::create(path, false)?;
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    loop {
        buf.clear();
        let last = generator.fill(&mut buf);
        file.write(&buf)?;
        if last {
            break;
        }
    }
    let bytes = file.bytes;
    file.finish()?;
    Ok(bytes)
}

/// Gzip is several times slower than generating the text, so chunks are compressed on all
/// cores as separate gzip members (a multi-member file, which `gzip -d`, `zcat` and flate2's
/// `MultiGzDecoder` read as one stream). Chunk boundaries depend only on the data, so the
/// output is byte-identical whatever the core count.
fn parallel_gzip(path: &Path, generator: &mut Generator) -> io::Result<u64> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let (work_tx, work_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(threads);
    // Shared only by the workers: when they all stop, the generator's send fails instead of
    // blocking forever.
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<(usize, io::Result<Vec<u8>>)>(threads * 2);
    let file = File::create(path)?;
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
            s.spawn(move || {
                loop {
                    let job =
                        work_rx.lock().map_err(|_| ()).and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((seq, data)) = job else { break };
                    let mut gz =
                        GzEncoder::new(Vec::with_capacity(data.len() / 2), Compression::fast());
                    let member = gz.write_all(&data).and_then(|()| gz.finish());
                    if done_tx.send((seq, member)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((work_rx, done_tx));
        let writer = s.spawn(move || -> io::Result<()> {
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let mut pending = BTreeMap::new();
            let mut next = 0;
            for (seq, member) in done_rx {
                pending.insert(seq, member?);
                while let Some(member) = pending.remove(&next) {
                    out.write_all(&member)?;
                    next += 1;
                }
            }
            out.flush()
        });
        let mut bytes = 0;
        for seq in 0.. {
            let mut buf = Vec::with_capacity(CHUNK + 4096);
            let last = generator.fill(&mut buf);
            bytes += buf.len() as u64;
            if work_tx.send((seq, buf)).is_err() || last {
                break;
            }
        }
        drop(work_tx);
        writer.join().expect("the gzip writer does not panic")?;
        Ok(bytes)
    })
}

/// Produces the log text chunk by chunk: header first, footer after the last record.
struct Generator {
    rng: ChaCha8Rng,
    internal: Vec<u32>,
    external: Vec<u32>,
    servers: [u32; 5],
    ts: i64,
    gap: f64,
    remaining: u64,
    started: bool,
}

impl Generator {
    fn new(seed: u64, records: u64) -> Self {
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
        Generator {
            rng,
            internal,
            external,
            servers: [world::DC, world::FILE_SERVER, world::RESOLVER, world::DMZ_WEB, world::MAIL],
            ts: START * US,
            gap: (SPAN_SECS * US) as f64 / records.max(1) as f64,
            remaining: records,
            started: false,
        }
    }

    /// Appends records until `buf` holds about a chunk; returns true once the footer is in.
    fn fill(&mut self, buf: &mut Vec<u8>) -> bool {
        if !self.started {
            buf.extend_from_slice(zeek::header(Kind::Conn, START).as_bytes());
            self.started = true;
        }
        while self.remaining > 0 && buf.len() < CHUNK {
            self.ts += (self.gap * 2.0 * self.rng.r#gen::<f64>()) as i64;
            let c = one(&mut self.rng, self.ts, &self.internal, &self.external, &self.servers);
            c.write(&mut Rec::new(buf));
            self.remaining -= 1;
        }
        if self.remaining > 0 {
            return false;
        }
        let close = START + ((self.ts / US - START) / 3_600 + 1) * 3_600;
        buf.extend_from_slice(zeek::footer(close).as_bytes());
        true
    }
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
            records::udp(
                rng,
                ts,
                orig,
                port,
                world::RESOLVER,
                53,
                Some("dns"),
                rtt,
                q,
                rb,
                answered,
            )
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
            let (rp, svc) =
                [(443, Some("quic,ssl")), (123, Some("ntp")), (3478, None)][rng.gen_range(0..3)];
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
            let sp = rng.gen_range(1_024..65_535);
            records::tcp(rng, ts, src, sp, dst, dp, None, 0, 0, 0, st)
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
