//! The five record shapes and how their counters (packets, IP bytes, histories) follow from a
//! few chosen facts, so every generator produces internally consistent rows.

use rand::Rng;

use crate::out::{self, CommunityId, Rec, US, Uid};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proto {
    Tcp,
    Udp,
    Icmp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TcpState {
    Sf,
    S0,
    Rej,
    Rsto,
    Rstr,
    S1,
    Oth,
}

pub(crate) enum Tunnel {
    Unset,
    Empty,
    /// Only the benchmark generator plants tunnels.
    #[cfg_attr(not(feature = "bench"), allow(dead_code))]
    Parents(Uid, Option<Uid>),
}

pub(crate) struct Conn {
    pub ts: i64,
    pub uid: Uid,
    pub orig: u32,
    pub orig_p: u16,
    pub resp: u32,
    pub resp_p: u16,
    pub proto: Proto,
    pub service: Option<&'static str>,
    pub duration: Option<i64>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub state: &'static str,
    pub missed: u64,
    pub history: Option<&'static str>,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
    pub tunnel: Tunnel,
    pub cid: CommunityId,
}

impl Conn {
    /// When Zeek writes the record: at the end of the connection.
    pub(crate) fn end(&self) -> i64 {
        self.ts + self.duration.unwrap_or(0)
    }

    pub(crate) fn write(&self, r: &mut Rec<'_>) {
        r.time(self.ts).bytes(&self.uid).ip(self.orig).n(self.orig_p.into());
        r.ip(self.resp).n(self.resp_p.into());
        r.s(match self.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        });
        r.opt_s(self.service).opt_time(self.duration).opt_n(self.orig_bytes).opt_n(self.resp_bytes);
        r.s(self.state).b(out::is_local(self.orig)).b(out::is_local(self.resp)).n(self.missed);
        r.opt_s(self.history).n(self.orig_pkts).n(self.orig_ip_bytes).n(self.resp_pkts);
        r.n(self.resp_ip_bytes);
        match &self.tunnel {
            Tunnel::Unset => r.unset(),
            Tunnel::Empty => r.empty(),
            Tunnel::Parents(a, None) => r.bytes(a),
            Tunnel::Parents(a, Some(b)) => {
                let mut both = [0u8; 37];
                both[..18].copy_from_slice(a);
                both[18] = b',';
                both[19..].copy_from_slice(b);
                r.bytes(&both)
            }
        };
        r.bytes(&self.cid);
    }
}

/// A TCP connection whose history, packet and IP-byte counters match `state` and the payload
/// sizes; S0 and REJ ignore the sizes because no payload flows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp<R: Rng>(
    rng: &mut R,
    ts: i64,
    orig: u32,
    orig_p: u16,
    resp: u32,
    resp_p: u16,
    service: Option<&'static str>,
    duration: i64,
    orig_bytes: u64,
    resp_bytes: u64,
    state: TcpState,
) -> Conn {
    let mut c = Conn {
        ts,
        uid: out::uid(rng, b'C'),
        orig,
        orig_p,
        resp,
        resp_p,
        proto: Proto::Tcp,
        service,
        duration: Some(duration),
        orig_bytes: Some(orig_bytes),
        resp_bytes: Some(resp_bytes),
        state: "SF",
        missed: 0,
        history: None,
        orig_pkts: 0,
        orig_ip_bytes: 0,
        resp_pkts: 0,
        resp_ip_bytes: 0,
        tunnel: Tunnel::Unset,
        cid: out::community_id(rng),
    };
    let data = |ob: u64, rb: u64| -> (u64, u64) {
        (ob.div_ceil(1380) + rb / 2760, rb.div_ceil(1380) + ob / 2760)
    };
    match state {
        TcpState::S0 => {
            c.state = "S0";
            c.history = Some("S");
            c.service = None;
            let tries = rng.gen_range(1..=3u64);
            if tries == 1 {
                c.duration = None;
                c.orig_bytes = None;
                c.resp_bytes = None;
            } else {
                // Windows retransmits a SYN after 3 s and again after 6 more.
                c.duration = Some(if tries == 2 { 3 } else { 9 } * US + rng.gen_range(0..5000));
                c.orig_bytes = Some(0);
                c.resp_bytes = Some(0);
            }
            c.orig_pkts = tries;
            c.orig_ip_bytes = 52 * tries;
        }
        TcpState::Rej => {
            c.state = "REJ";
            c.history = Some("Sr");
            c.service = None;
            c.duration = Some(rng.gen_range(100..40_000));
            c.orig_bytes = Some(0);
            c.resp_bytes = Some(0);
            c.orig_pkts = 1;
            c.orig_ip_bytes = 52;
            c.resp_pkts = 1;
            c.resp_ip_bytes = 40;
        }
        TcpState::Oth => {
            c.state = "OTH";
            c.history = Some(if rng.gen_bool(0.5) { "Dd" } else { "^dADa" });
            let (op, rp) = data(orig_bytes, resp_bytes);
            c.orig_pkts = op.max(1);
            c.resp_pkts = rp.max(1);
            c.orig_ip_bytes = orig_bytes + 40 * c.orig_pkts;
            c.resp_ip_bytes = resp_bytes + 40 * c.resp_pkts;
        }
        _ => {
            let (label, history, close_o, close_r) = match state {
                TcpState::Sf => {
                    ("SF", if rng.gen_bool(0.6) { "ShADadFf" } else { "ShADadfF" }, 2, 2)
                }
                TcpState::Rsto => ("RSTO", "ShADadR", 1, 0),
                TcpState::Rstr => ("RSTR", "ShADadr", 0, 1),
                _ => ("S1", "ShADad", 0, 0),
            };
            c.state = label;
            c.history = Some(history);
            let (op, rp) = data(orig_bytes, resp_bytes);
            c.orig_pkts = 2 + op + close_o;
            c.resp_pkts = 1 + rp + close_r;
            c.orig_ip_bytes = orig_bytes + 40 * c.orig_pkts + 12;
            c.resp_ip_bytes = resp_bytes + 40 * c.resp_pkts + 12;
        }
    }
    c
}

/// A UDP flow; unanswered ones are S0 with history `D` as Zeek reports them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn udp<R: Rng>(
    rng: &mut R,
    ts: i64,
    orig: u32,
    orig_p: u16,
    resp: u32,
    resp_p: u16,
    service: Option<&'static str>,
    duration: i64,
    orig_bytes: u64,
    resp_bytes: u64,
    answered: bool,
) -> Conn {
    let orig_pkts = orig_bytes.div_ceil(1472).max(1);
    let resp_pkts = if answered { resp_bytes.div_ceil(1472).max(1) } else { 0 };
    let resp_bytes = if answered { resp_bytes } else { 0 };
    Conn {
        ts,
        uid: out::uid(rng, b'C'),
        orig,
        orig_p,
        resp,
        resp_p,
        proto: Proto::Udp,
        service,
        duration: Some(duration),
        orig_bytes: Some(orig_bytes),
        resp_bytes: Some(resp_bytes),
        state: if answered { "SF" } else { "S0" },
        missed: 0,
        history: Some(if answered { "Dd" } else { "D" }),
        orig_pkts,
        orig_ip_bytes: orig_bytes + 28 * orig_pkts,
        resp_pkts,
        resp_ip_bytes: resp_bytes + 28 * resp_pkts,
        tunnel: Tunnel::Unset,
        cid: out::community_id(rng),
    }
}

pub(crate) fn qtype_name(qtype: u16) -> &'static str {
    match qtype {
        1 => "A",
        5 => "CNAME",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        65 => "HTTPS",
        _ => "*",
    }
}

pub(crate) fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NOERROR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        5 => "REFUSED",
        _ => "FORMERR",
    }
}

pub(crate) struct Dns<'a> {
    pub ts: i64,
    pub uid: &'a Uid,
    pub orig: u32,
    pub orig_p: u16,
    pub resp: u32,
    pub trans_id: u16,
    pub rtt: Option<i64>,
    pub query: &'a str,
    pub qtype: u16,
    pub rcode: Option<u8>,
    pub aa: bool,
    pub ra: bool,
    pub answers: Option<&'a str>,
    pub ttls: Option<&'a str>,
}

impl Dns<'_> {
    pub(crate) fn write(&self, r: &mut Rec<'_>) {
        r.time(self.ts).bytes(self.uid).ip(self.orig).n(self.orig_p.into()).ip(self.resp).n(53);
        r.s("udp").n(self.trans_id.into()).opt_time(self.rtt).s(self.query);
        r.n(1).s("C_INTERNET").n(self.qtype.into()).s(qtype_name(self.qtype));
        match self.rcode {
            Some(code) => r.n(code.into()).s(rcode_name(code)),
            None => r.unset().unset(),
        };
        let answered = self.rcode.is_some();
        r.b(self.aa).b(false).b(true).b(answered && self.ra).n(0);
        r.opt_s(self.answers).opt_s(self.ttls).b(false);
    }
}

pub(crate) struct Ssl<'a> {
    pub ts: i64,
    pub uid: &'a Uid,
    pub orig: u32,
    pub orig_p: u16,
    pub resp: u32,
    pub resp_p: u16,
    pub version: &'a str,
    pub cipher: &'a str,
    pub curve: Option<&'a str>,
    pub server_name: Option<&'a str>,
    pub resumed: bool,
    pub last_alert: Option<&'a str>,
    pub next_protocol: Option<&'a str>,
    pub established: bool,
    pub history: &'a str,
    pub cert_chain: Option<&'a str>,
    pub sni_matches: Option<bool>,
    pub validation: Option<&'a str>,
    pub ja3: Option<&'a str>,
    pub ja3s: Option<&'a str>,
}

impl Ssl<'_> {
    pub(crate) fn write(&self, r: &mut Rec<'_>) {
        r.time(self.ts).bytes(self.uid).ip(self.orig).n(self.orig_p.into()).ip(self.resp);
        r.n(self.resp_p.into()).s(self.version).s(self.cipher).opt_s(self.curve);
        r.opt_s(self.server_name).b(self.resumed).opt_s(self.last_alert);
        r.opt_s(self.next_protocol).b(self.established).s(self.history);
        match self.cert_chain {
            // A server chain was seen but the client sent none: Zeek logs the empty vector.
            Some(chain) => r.s(chain).empty(),
            None => r.unset().unset(),
        };
        match self.sni_matches {
            Some(m) => r.b(m),
            None => r.unset(),
        };
        r.opt_s(self.validation).opt_s(self.ja3).opt_s(self.ja3s);
    }
}

/// An SSH handshake as Zeek's ssh.log records it (outbound, protocol 2).
pub(crate) struct Ssh<'a> {
    pub ts: i64,
    pub uid: &'a Uid,
    pub orig: u32,
    pub orig_p: u16,
    pub resp: u32,
    pub auth_success: bool,
    pub client: &'a str,
    pub server: &'a str,
    pub cipher: &'a str,
    pub mac: &'a str,
    pub kex: &'a str,
    pub host_key_alg: &'a str,
    pub host_key: &'a str,
}

impl Ssh<'_> {
    pub(crate) fn write(&self, r: &mut Rec<'_>) {
        r.time(self.ts).bytes(self.uid).ip(self.orig).n(self.orig_p.into()).ip(self.resp).n(22);
        r.n(2).b(self.auth_success).n(1).s("OUTBOUND").s(self.client).s(self.server);
        r.s(self.cipher).s(self.mac).s("none").s(self.kex).s(self.host_key_alg).s(self.host_key);
    }
}

pub(crate) struct Http<'a> {
    pub ts: i64,
    pub uid: &'a Uid,
    pub orig: u32,
    pub orig_p: u16,
    pub resp: u32,
    pub resp_p: u16,
    pub depth: u64,
    pub method: &'a str,
    pub host: &'a str,
    pub uri: &'a str,
    pub referrer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_len: u64,
    pub response_len: u64,
    pub status: u16,
    pub status_msg: &'a str,
    pub orig_file: Option<(&'a Uid, &'a str)>,
    pub resp_file: Option<(&'a Uid, &'a str)>,
}

impl Http<'_> {
    pub(crate) fn write(&self, r: &mut Rec<'_>) {
        r.time(self.ts).bytes(self.uid).ip(self.orig).n(self.orig_p.into()).ip(self.resp);
        r.n(self.resp_p.into()).n(self.depth).s(self.method).s(self.host).s(self.uri);
        r.opt_s(self.referrer).s("1.1").opt_s(self.user_agent).unset();
        r.n(self.request_len).n(self.response_len).n(self.status.into()).s(self.status_msg);
        r.unset().unset().empty().unset().unset().unset();
        for file in [self.orig_file, self.resp_file] {
            match file {
                Some((fuid, mime)) => r.bytes(fuid).unset().s(mime),
                None => r.unset().unset().unset(),
            };
        }
    }
}

pub(crate) struct Cert {
    pub fp: String,
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
    pub ecdsa: bool,
    pub sans: Option<String>,
    pub ca: bool,
}

impl Cert {
    pub(crate) fn write(&self, r: &mut Rec<'_>, ts: i64) {
        r.time(ts).s(&self.fp).n(3).s(&self.serial).s(&self.subject).s(&self.issuer);
        r.time(self.not_before * US).time(self.not_after * US);
        if self.ecdsa {
            r.s("id-ecPublicKey").s("ecdsa-with-SHA256").s("ecdsa").n(256).unset();
            r.s("prime256v1");
        } else {
            r.s("rsaEncryption").s("sha256WithRSAEncryption").s("rsa").n(2048).s("65537");
            r.unset();
        }
        r.opt_s(self.sans.as_deref()).unset().unset().unset().b(self.ca);
        if self.ca {
            r.n(0);
        } else {
            r.unset();
        }
        r.b(true).b(false);
    }
}
