//! Text primitives for Zeek TSV: numbers, times and addresses are formatted straight into byte
//! buffers, because the benchmark generator writes millions of records and per-field `String`s
//! would dominate its run time.

use rand::Rng;

/// Microseconds per second; all times inside the crate are integer microseconds since the epoch
/// so that formatting is exact and never depends on float rounding.
pub(crate) const US: i64 = 1_000_000;

const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8; 16] = b"0123456789abcdef";

pub(crate) fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// `secs.micros` with exactly six decimals, as Zeek writes `time` and `interval` values.
pub(crate) fn push_fixed6(buf: &mut Vec<u8>, micros: i64) {
    let micros = micros.max(0);
    push_u64(buf, (micros / US) as u64);
    let mut frac = (micros % US) as u32;
    let mut tmp = [b'0'; 7];
    tmp[0] = b'.';
    for slot in tmp[1..].iter_mut().rev() {
        *slot = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    buf.extend_from_slice(&tmp);
}

pub(crate) fn push_ipv4(buf: &mut Vec<u8>, ip: u32) {
    for (i, octet) in ip.to_be_bytes().into_iter().enumerate() {
        if i > 0 {
            buf.push(b'.');
        }
        push_u64(buf, u64::from(octet));
    }
}

pub(crate) fn ipv4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

pub(crate) fn ip_string(ip: u32) -> String {
    std::net::Ipv4Addr::from(ip).to_string()
}

/// RFC 1918 10/8 is the site's `Site::local_nets`, which decides Zeek's local_orig/local_resp.
pub(crate) fn is_local(ip: u32) -> bool {
    ip >> 24 == 10
}

/// A Zeek connection uid: `C` plus 17 base62 characters.
pub(crate) type Uid = [u8; 18];

pub(crate) fn uid<R: Rng>(rng: &mut R, prefix: u8) -> Uid {
    let mut out = [0u8; 18];
    out[0] = prefix;
    // 62^10 < 2^64, so each u64 yields ten unbiased-enough digits; two draws cover 17 characters.
    let mut n = rng.r#gen::<u64>();
    for (i, slot) in out[1..].iter_mut().enumerate() {
        if i == 10 {
            n = rng.r#gen::<u64>();
        }
        *slot = B62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// A Community ID v1 lookalike: `1:` and the base64 of 20 bytes (28 characters with padding).
pub(crate) type CommunityId = [u8; 30];

pub(crate) fn community_id<R: Rng>(rng: &mut R) -> CommunityId {
    let mut raw = [0u8; 21];
    rng.fill(&mut raw[..20]);
    let mut out = [b'='; 30];
    out[0] = b'1';
    out[1] = b':';
    for (chunk, dst) in raw.chunks(3).zip(out[2..].chunks_mut(4)) {
        let n = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
        for (k, slot) in dst.iter_mut().enumerate() {
            *slot = B64[((n >> (18 - 6 * k)) & 63) as usize];
        }
    }
    // 20 bytes end in one padding character; the zero byte appended for chunking must not show.
    out[29] = b'=';
    out
}

pub(crate) fn hex_string<R: Rng>(rng: &mut R, chars: usize) -> String {
    (0..chars).map(|_| HEX[rng.gen_range(0..16)] as char).collect()
}

pub(crate) fn base32_string<R: Rng>(rng: &mut R, chars: usize) -> String {
    const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    (0..chars).map(|_| B32[rng.gen_range(0..32)] as char).collect()
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm), so the
/// crate needs no date library for folder names and headers.
pub(crate) fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parts of a UTC timestamp: (year, month, day, hour, minute, second).
pub(crate) fn utc_parts(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    (y, m, d, sod / 3600, sod / 60 % 60, sod % 60)
}

pub(crate) fn date_string(secs: i64) -> String {
    let (y, m, d, ..) = utc_parts(secs);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The `#open`/`#close` stamp format Zeek uses (`%Y-%m-%d-%H-%M-%S`).
pub(crate) fn zeek_stamp(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(secs);
    format!("{y:04}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}")
}

pub(crate) fn iso(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Monday = 0 … Sunday = 6; 1970-01-01 was a Thursday.
pub(crate) fn weekday(secs: i64) -> u32 {
    (secs.div_euclid(86_400) + 3).rem_euclid(7) as u32
}

/// Where each record of a bucket lies: (sort key, start, length) in its byte buffer.
pub(crate) type Index = Vec<(i64, usize, usize)>;

/// One TSV record being written; fields are appended in column order and the line ends when the
/// value is dropped, which keeps call sites to a flat list of field calls.
pub(crate) struct Rec<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
    index: Option<(&'a mut Index, i64, usize)>,
}

impl<'a> Rec<'a> {
    #[cfg(feature = "bench")]
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        Rec { buf, first: true, index: None }
    }

    /// A record whose position is noted in `index` under `key`, so a bucket can be written out
    /// in time order even though records arrive out of order.
    pub(crate) fn indexed(buf: &'a mut Vec<u8>, index: &'a mut Index, key: i64) -> Self {
        let start = buf.len();
        Rec { buf, first: true, index: Some((index, key, start)) }
    }

    fn sep(&mut self) -> &mut Vec<u8> {
        if !self.first {
            self.buf.push(b'\t');
        }
        self.first = false;
        self.buf
    }

    pub(crate) fn s(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    /// Zeek writes an empty string as the empty-field marker, never as nothing between tabs.
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        let buf = self.sep();
        if v.is_empty() {
            buf.extend_from_slice(b"(empty)");
        } else {
            buf.extend_from_slice(v);
        }
        self
    }

    pub(crate) fn opt_s(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.s(v),
            None => self.unset(),
        }
    }

    pub(crate) fn unset(&mut self) -> &mut Self {
        self.sep().push(b'-');
        self
    }

    pub(crate) fn empty(&mut self) -> &mut Self {
        self.sep().extend_from_slice(b"(empty)");
        self
    }

    pub(crate) fn n(&mut self, v: u64) -> &mut Self {
        push_u64(self.sep(), v);
        self
    }

    pub(crate) fn opt_n(&mut self, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.n(v),
            None => self.unset(),
        }
    }

    pub(crate) fn time(&mut self, micros: i64) -> &mut Self {
        push_fixed6(self.sep(), micros);
        self
    }

    pub(crate) fn opt_time(&mut self, micros: Option<i64>) -> &mut Self {
        match micros {
            Some(v) => self.time(v),
            None => self.unset(),
        }
    }

    pub(crate) fn b(&mut self, v: bool) -> &mut Self {
        self.sep().push(if v { b'T' } else { b'F' });
        self
    }

    pub(crate) fn ip(&mut self, ip: u32) -> &mut Self {
        push_ipv4(self.sep(), ip);
        self
    }
}

impl Drop for Rec<'_> {
    fn drop(&mut self) {
        self.buf.push(b'\n');
        if let Some((index, key, start)) = self.index.take() {
            index.push((key, start, self.buf.len() - start));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn formats_times_and_addresses() {
        let mut b = Vec::new();
        push_fixed6(&mut b, 1_717_372_800_000_042);
        b.push(b' ');
        push_ipv4(&mut b, ipv4(10, 20, 0, 53));
        assert_eq!(String::from_utf8(b).unwrap(), "1717372800.000042 10.20.0.53");
        assert_eq!(iso(1_717_372_800), "2024-06-03T00:00:00Z");
        assert_eq!(zeek_stamp(1_717_372_800 + 3661), "2024-06-03-01-01-01");
        assert_eq!(weekday(1_717_372_800), 0, "2024-06-03 was a Monday");
        assert_eq!(date_string(951_782_400), "2000-02-29");
    }

    #[test]
    fn ids_have_zeek_shapes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let u = uid(&mut rng, b'C');
        assert!(u[0] == b'C' && u[1..].iter().all(u8::is_ascii_alphanumeric));
        let c = community_id(&mut rng);
        let s = std::str::from_utf8(&c).unwrap();
        assert!(s.starts_with("1:") && s.ends_with('=') && !s.ends_with("=="), "{s}");
        assert_eq!(s.len(), 30);
    }
}
