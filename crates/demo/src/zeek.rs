//! Zeek ASCII log layout: the schemas of the five logs the demo writes, the header and footer
//! lines, and hourly buckets that hold records until their rotation interval is written.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::out::{self, Rec, US};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Conn,
    Dns,
    Http,
    Ssl,
    X509,
    Ssh,
}

impl Kind {
    pub(crate) const ALL: [Kind; 6] =
        [Kind::Conn, Kind::Dns, Kind::Http, Kind::Ssl, Kind::X509, Kind::Ssh];

    pub(crate) fn path(self) -> &'static str {
        match self {
            Kind::Conn => "conn",
            Kind::Dns => "dns",
            Kind::Http => "http",
            Kind::Ssl => "ssl",
            Kind::X509 => "x509",
            Kind::Ssh => "ssh",
        }
    }

    /// (field, type) pairs exactly as a stock Zeek 6 sensor with the JA3 and community-id
    /// packages writes them.
    pub(crate) fn schema(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Conn => CONN,
            Kind::Dns => DNS,
            Kind::Http => HTTP,
            Kind::Ssl => SSL,
            Kind::X509 => X509,
            Kind::Ssh => SSH,
        }
    }
}

const ID: [(&str, &str); 4] =
    [("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"), ("id.resp_p", "port")];

pub(crate) const CONN: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ID[0],
    ID[1],
    ID[2],
    ID[3],
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("community_id", "string"),
];

const DNS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ID[0],
    ID[1],
    ID[2],
    ID[3],
    ("proto", "enum"),
    ("trans_id", "count"),
    ("rtt", "interval"),
    ("query", "string"),
    ("qclass", "count"),
    ("qclass_name", "string"),
    ("qtype", "count"),
    ("qtype_name", "string"),
    ("rcode", "count"),
    ("rcode_name", "string"),
    ("AA", "bool"),
    ("TC", "bool"),
    ("RD", "bool"),
    ("RA", "bool"),
    ("Z", "count"),
    ("answers", "vector[string]"),
    ("TTLs", "vector[interval]"),
    ("rejected", "bool"),
];

const HTTP: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ID[0],
    ID[1],
    ID[2],
    ID[3],
    ("trans_depth", "count"),
    ("method", "string"),
    ("host", "string"),
    ("uri", "string"),
    ("referrer", "string"),
    ("version", "string"),
    ("user_agent", "string"),
    ("origin", "string"),
    ("request_body_len", "count"),
    ("response_body_len", "count"),
    ("status_code", "count"),
    ("status_msg", "string"),
    ("info_code", "count"),
    ("info_msg", "string"),
    ("tags", "set[enum]"),
    ("username", "string"),
    ("password", "string"),
    ("proxied", "set[string]"),
    ("orig_fuids", "vector[string]"),
    ("orig_filenames", "vector[string]"),
    ("orig_mime_types", "vector[string]"),
    ("resp_fuids", "vector[string]"),
    ("resp_filenames", "vector[string]"),
    ("resp_mime_types", "vector[string]"),
];

const SSL: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ID[0],
    ID[1],
    ID[2],
    ID[3],
    ("version", "string"),
    ("cipher", "string"),
    ("curve", "string"),
    ("server_name", "string"),
    ("resumed", "bool"),
    ("last_alert", "string"),
    ("next_protocol", "string"),
    ("established", "bool"),
    ("ssl_history", "string"),
    ("cert_chain_fps", "vector[string]"),
    ("client_cert_chain_fps", "vector[string]"),
    ("sni_matches_cert", "bool"),
    ("validation_status", "string"),
    ("ja3", "string"),
    ("ja3s", "string"),
];

const X509: &[(&str, &str)] = &[
    ("ts", "time"),
    ("fingerprint", "string"),
    ("certificate.version", "count"),
    ("certificate.serial", "string"),
    ("certificate.subject", "string"),
    ("certificate.issuer", "string"),
    ("certificate.not_valid_before", "time"),
    ("certificate.not_valid_after", "time"),
    ("certificate.key_alg", "string"),
    ("certificate.sig_alg", "string"),
    ("certificate.key_type", "string"),
    ("certificate.key_length", "count"),
    ("certificate.exponent", "string"),
    ("certificate.curve", "string"),
    ("san.dns", "vector[string]"),
    ("san.uri", "vector[string]"),
    ("san.email", "vector[string]"),
    ("san.ip", "vector[addr]"),
    ("basic_constraints.ca", "bool"),
    ("basic_constraints.path_len", "count"),
    ("host_cert", "bool"),
    ("client_cert", "bool"),
];

const SSH: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ID[0],
    ID[1],
    ID[2],
    ID[3],
    ("version", "count"),
    ("auth_success", "bool"),
    ("auth_attempts", "count"),
    ("direction", "enum"),
    ("client", "string"),
    ("server", "string"),
    ("cipher_alg", "string"),
    ("mac_alg", "string"),
    ("compression_alg", "string"),
    ("kex_alg", "string"),
    ("host_key_alg", "string"),
    ("host_key", "string"),
];

/// The header Zeek's ASCII writer puts at the top of every file; `open` is the rotation start.
pub(crate) fn header(kind: Kind, open_secs: i64) -> String {
    let schema = kind.schema();
    let mut h = String::with_capacity(1024);
    h.push_str("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n");
    h.push_str("#path\t");
    h.push_str(kind.path());
    h.push_str("\n#open\t");
    h.push_str(&out::zeek_stamp(open_secs));
    h.push_str("\n#fields");
    for (f, _) in schema {
        h.push('\t');
        h.push_str(f);
    }
    h.push_str("\n#types");
    for (_, t) in schema {
        h.push('\t');
        h.push_str(t);
    }
    h.push('\n');
    h
}

pub(crate) fn footer(close_secs: i64) -> String {
    format!("#close\t{}\n", out::zeek_stamp(close_secs))
}

/// A plain or gzip file that counts the uncompressed bytes passed through it.
pub(crate) struct LogFile {
    sink: Sink,
    pub(crate) bytes: u64,
}

enum Sink {
    Plain(BufWriter<File>),
    Gzip(Box<GzEncoder<BufWriter<File>>>),
}

impl LogFile {
    pub(crate) fn create(path: &Path, gzip: bool) -> io::Result<Self> {
        let file = BufWriter::with_capacity(1 << 17, File::create(path)?);
        let sink = if gzip {
            Sink::Gzip(Box::new(GzEncoder::new(file, Compression::fast())))
        } else {
            Sink::Plain(file)
        };
        Ok(LogFile { sink, bytes: 0 })
    }

    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.bytes += data.len() as u64;
        match &mut self.sink {
            Sink::Plain(w) => w.write_all(data),
            Sink::Gzip(w) => w.write_all(data),
        }
    }

    /// Ends the file explicitly, because dropping a writer would swallow errors from the final
    /// buffer flush or gzip trailer.
    pub(crate) fn finish(self) -> io::Result<()> {
        let mut file = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
        };
        file.flush()
    }
}

#[derive(Default)]
struct Bucket {
    data: Vec<u8>,
    index: out::Index,
}

/// Records waiting for their hourly file. A record goes to the hour in which Zeek would have
/// written it (a connection when it ends, other logs when the event happens), so conn files hold
/// records whose `ts` lies hours or days earlier, as real rotated conn logs do.
pub(crate) struct Logs {
    start_us: i64,
    hours: usize,
    /// Records cannot be placed before the hour being generated: those files are already out.
    floor: usize,
    buckets: [Vec<Bucket>; Kind::ALL.len()],
}

impl Logs {
    pub(crate) fn new(start_secs: i64, hours: usize) -> Self {
        let mk = || (0..hours).map(|_| Bucket::default()).collect::<Vec<_>>();
        Logs { start_us: start_secs * US, hours, floor: 0, buckets: std::array::from_fn(|_| mk()) }
    }

    pub(crate) fn set_floor(&mut self, hour: usize) {
        self.floor = hour;
    }

    /// Starts a record of `kind` written at `write_us`, ordered in its file by `key_us`.
    pub(crate) fn rec(&mut self, kind: Kind, write_us: i64, key_us: i64) -> Rec<'_> {
        let hour = ((write_us - self.start_us).div_euclid(3600 * US)).max(0) as usize;
        let hour = hour.clamp(self.floor, self.hours - 1);
        let bucket = &mut self.buckets[kind as usize][hour];
        Rec::indexed(&mut bucket.data, &mut bucket.index, key_us)
    }

    /// Writes every log of one hour that has records to `dir` (Zeek opens a log file on its
    /// first record) and frees its memory; returns (files, records).
    pub(crate) fn flush_hour(
        &mut self,
        hour: usize,
        dir: &Path,
        gzip: bool,
    ) -> io::Result<(Vec<PathBuf>, u64)> {
        let open = self.start_us / US + hour as i64 * 3600;
        let (.., h, _, _) = out::utc_parts(open);
        let mut files = Vec::with_capacity(5);
        let mut records = 0;
        for kind in Kind::ALL {
            let mut bucket = std::mem::take(&mut self.buckets[kind as usize][hour]);
            if bucket.index.is_empty() {
                continue;
            }
            // Stable sort: equal keys keep generation order, which keeps output deterministic.
            bucket.index.sort_by_key(|&(key, ..)| key);
            let name = format!(
                "{}.{:02}:00:00-{:02}:00:00.log{}",
                kind.path(),
                h,
                (h + 1) % 24,
                if gzip { ".gz" } else { "" }
            );
            let path = dir.join(name);
            let mut file = LogFile::create(&path, gzip)?;
            file.write(header(kind, open).as_bytes())?;
            for &(_, start, len) in &bucket.index {
                file.write(&bucket.data[start..start + len])?;
            }
            file.write(footer(open + 3600).as_bytes())?;
            file.finish()?;
            records += bucket.index.len() as u64;
            files.push(path);
        }
        Ok((files, records))
    }
}
