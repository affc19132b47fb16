//! IP address → autonomous system number and organisation, from sorted, non-overlapping
//! address ranges searched by bisection.
//!
//! The bundled database is built from the `@ip-location-db/asn` CSV files (RouteViews, NRO and
//! DB-IP data, CC BY 4.0; see NOTICE) by `lasthop intel build-asn`, and stored in a compact
//! binary form compressed with zstd: a few megabytes, decoded in tens of milliseconds.

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;

/// The database compiled into the binary.
static BUNDLED: &[u8] = include_bytes!("../data/asn.lhdb");

const MAGIC: &[u8; 8] = b"LHASN\x00\x00\x01";

#[derive(Debug, thiserror::Error)]
pub enum AsnError {
    #[error("{path}:{line}: {message}")]
    BadLine { path: String, line: u64, message: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("not an ASN database ({0})")]
    BadDatabase(String),
}

/// What is known about the network an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsnInfo<'a> {
    pub asn: u32,
    pub organisation: &'a str,
    /// The announced range the address falls in (first and last address).
    pub range: (IpAddr, IpAddr),
}

/// An address as a number (IPv4 as `u32`, IPv6 as `u128`), for the shared range code.
trait AddressKey: Copy + Ord + Default {
    const BYTES: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
    fn wrapping_sub(self, other: Self) -> Self;
    fn wrapping_add(self, other: Self) -> Self;
    fn checked_add(self, other: Self) -> Option<Self>;
}

macro_rules! address_key {
    ($t:ty) => {
        impl AddressKey for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("sliced to the key's width"))
            }
            fn wrapping_sub(self, other: Self) -> Self {
                <$t>::wrapping_sub(self, other)
            }
            fn wrapping_add(self, other: Self) -> Self {
                <$t>::wrapping_add(self, other)
            }
            fn checked_add(self, other: Self) -> Option<Self> {
                <$t>::checked_add(self, other)
            }
        }
    };
}

address_key!(u32);
address_key!(u128);

/// Sorted, non-overlapping inclusive ranges with an ASN and an organisation each.
#[derive(Debug, Default, Clone, PartialEq)]
struct Ranges<T> {
    starts: Vec<T>,
    ends: Vec<T>,
    asns: Vec<u32>,
    orgs: Vec<u32>,
}

impl<T: Copy + Ord> Ranges<T> {
    fn push(&mut self, start: T, end: T, asn: u32, org: u32) {
        self.starts.push(start);
        self.ends.push(end);
        self.asns.push(asn);
        self.orgs.push(org);
    }

    fn find(&self, addr: T) -> Option<usize> {
        let i = self.starts.partition_point(|s| *s <= addr).checked_sub(1)?;
        (self.ends[i] >= addr).then_some(i)
    }

    /// Sorts by start and trims overlaps, so that every address has at most one range: where
    /// two ranges overlap, the one that starts later (the more specific announcement) wins.
    fn normalise(&mut self, before: impl Fn(T) -> Option<T>) {
        let mut order: Vec<usize> = (0..self.starts.len()).collect();
        order.sort_by_key(|i| (self.starts[*i], self.ends[*i]));
        let mut out = Ranges::<T> {
            starts: Vec::with_capacity(order.len()),
            ends: Vec::with_capacity(order.len()),
            asns: Vec::with_capacity(order.len()),
            orgs: Vec::with_capacity(order.len()),
        };
        for i in order {
            let (start, end) = (self.starts[i], self.ends[i]);
            if let Some(last) = out.ends.last_mut()
                && *last >= start
            {
                match before(start) {
                    Some(b) if b >= *out.starts.last().expect("ends and starts align") => *last = b,
                    _ => {
                        // The earlier range is wholly covered: the later one replaces it.
                        out.starts.pop();
                        out.ends.pop();
                        out.asns.pop();
                        out.orgs.pop();
                    }
                }
            }
            out.starts.push(start);
            out.ends.push(end);
            out.asns.push(self.asns[i]);
            out.orgs.push(self.orgs[i]);
        }
        *self = out;
    }

    fn len(&self) -> usize {
        self.starts.len()
    }
}

impl<T: AddressKey> Ranges<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        let mut previous = T::default();
        for (s, e) in self.starts.iter().zip(&self.ends) {
            s.wrapping_sub(previous).put(out);
            previous = *s;
            e.wrapping_sub(*s).put(out);
        }
        self.asns.iter().for_each(|a| out.extend_from_slice(&a.to_le_bytes()));
        self.orgs.iter().for_each(|o| out.extend_from_slice(&o.to_le_bytes()));
    }

    fn decode(r: &mut Reader<'_>) -> Result<Ranges<T>, AsnError> {
        let n = r.u32()? as usize;
        let mut ranges = Ranges::<T>::default();
        let mut start = T::default();
        for _ in 0..n {
            start = start.wrapping_add(T::get(r.take(T::BYTES)?));
            let span = T::get(r.take(T::BYTES)?);
            let end =
                start.checked_add(span).ok_or_else(|| AsnError::BadDatabase("range".into()))?;
            ranges.starts.push(start);
            ranges.ends.push(end);
        }
        ranges.asns = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
        ranges.orgs = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
        Ok(ranges)
    }
}

/// The ASN database: IPv4 and IPv6 ranges and the organisation names they refer to.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AsnDb {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    organisations: Vec<String>,
    /// Where the data came from (source, version), for `--version --verbose` and reports.
    pub source: String,
}

impl AsnDb {
    /// The database bundled with lasthop, decoded once.
    pub fn bundled() -> &'static AsnDb {
        static DB: OnceLock<AsnDb> = OnceLock::new();
        DB.get_or_init(|| AsnDb::decode(BUNDLED).expect("the bundled ASN database is valid"))
    }

    /// Looks up a 16-byte address (IPv4 as IPv4-mapped IPv6, as the store keeps them).
    #[inline]
    pub fn lookup_bytes(&self, addr: &[u8; 16]) -> Option<AsnInfo<'_>> {
        let v6 = u128::from_be_bytes(*addr);
        if v6 >> 32 == 0xffff {
            let v4 = v6 as u32;
            let i = self.v4.find(v4)?;
            Some(self.info_v4(i))
        } else {
            let i = self.v6.find(v6)?;
            Some(self.info_v6(i))
        }
    }

    pub fn lookup(&self, addr: IpAddr) -> Option<AsnInfo<'_>> {
        let bytes = match addr {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => {
                v6.to_ipv4_mapped().map(|v4| v4.to_ipv6_mapped()).unwrap_or(v6).octets()
            }
        };
        self.lookup_bytes(&bytes)
    }

    fn info_v4(&self, i: usize) -> AsnInfo<'_> {
        AsnInfo {
            asn: self.v4.asns[i],
            organisation: &self.organisations[self.v4.orgs[i] as usize],
            range: (
                Ipv4Addr::from(self.v4.starts[i]).into(),
                Ipv4Addr::from(self.v4.ends[i]).into(),
            ),
        }
    }

    fn info_v6(&self, i: usize) -> AsnInfo<'_> {
        AsnInfo {
            asn: self.v6.asns[i],
            organisation: &self.organisations[self.v6.orgs[i] as usize],
            range: (
                Ipv6Addr::from(self.v6.starts[i]).into(),
                Ipv6Addr::from(self.v6.ends[i]).into(),
            ),
        }
    }

    /// Number of (IPv4, IPv6) ranges.
    pub fn ranges(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }

    /// Every IPv4 range as (first, last, asn, organisation): for statistics and classification.
    pub fn v4_ranges(&self) -> impl Iterator<Item = (u32, u32, u32, &str)> + '_ {
        (0..self.v4.len()).map(|i| {
            (
                self.v4.starts[i],
                self.v4.ends[i],
                self.v4.asns[i],
                self.organisations[self.v4.orgs[i] as usize].as_str(),
            )
        })
    }

    /// Builds the database from `@ip-location-db/asn` CSV files (`first,last,asn,organisation`,
    /// no header; plain or gzip). A line that cannot be read is an error naming file and line.
    pub fn from_csv_files(v4: &Path, v6: &Path, source: &str) -> Result<AsnDb, AsnError> {
        let open = |path: &Path| -> Result<Box<dyn Read>, AsnError> {
            let file = std::fs::File::open(path)
                .map_err(|source| AsnError::Io { path: path.display().to_string(), source })?;
            Ok(if path.extension().is_some_and(|e| e == "gz") {
                Box::new(flate2::read::MultiGzDecoder::new(file))
            } else {
                Box::new(file)
            })
        };
        let mut builder = CsvBuilder::new(source);
        builder.add(open(v4)?, &v4.display().to_string(), true)?;
        builder.add(open(v6)?, &v6.display().to_string(), false)?;
        Ok(builder.finish())
    }

    /// [`AsnDb::from_csv_files`] over readers already open (the files' contents).
    pub fn from_csv_readers(v4: impl Read, v6: impl Read, source: &str) -> Result<AsnDb, AsnError> {
        let mut builder = CsvBuilder::new(source);
        builder.add(v4, "IPv4 ranges", true)?;
        builder.add(v6, "IPv6 ranges", false)?;
        Ok(builder.finish())
    }

    /// The compact binary form (zstd-compressed).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_text(&mut out, &self.source);
        out.extend_from_slice(&(self.organisations.len() as u32).to_le_bytes());
        for name in &self.organisations {
            put_text(&mut out, name);
        }
        // Columns rather than rows, starts as deltas: similar numbers side by side compress well.
        self.v4.encode(&mut out);
        self.v6.encode(&mut out);
        zstd::encode_all(&out[..], 19).expect("compressing to memory cannot fail")
    }

    pub fn decode(data: &[u8]) -> Result<AsnDb, AsnError> {
        let raw = zstd::decode_all(data).map_err(|e| AsnError::BadDatabase(e.to_string()))?;
        let mut r = Reader { data: &raw, at: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(AsnError::BadDatabase("wrong magic".into()));
        }
        let source = r.text()?;
        let count = r.u32()? as usize;
        let mut organisations = Vec::with_capacity(count.min(1 << 20));
        for _ in 0..count {
            organisations.push(r.text()?);
        }
        let mut db = AsnDb { source, organisations, ..AsnDb::default() };
        db.v4 = Ranges::decode(&mut r)?;
        db.v6 = Ranges::decode(&mut r)?;
        let known = db.organisations.len() as u32;
        if db.v4.orgs.iter().chain(&db.v6.orgs).any(|o| *o >= known)
            || !db.v4.starts.is_sorted()
            || !db.v6.starts.is_sorted()
        {
            return Err(AsnError::BadDatabase("inconsistent tables".into()));
        }
        Ok(db)
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AsnError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.data.len());
        let end = end.ok_or_else(|| AsnError::BadDatabase("truncated".into()))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }
    fn u32(&mut self) -> Result<u32, AsnError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("four bytes")))
    }
    fn text(&mut self) -> Result<String, AsnError> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| AsnError::BadDatabase("text".into()))
    }
}

/// `first,last,asn,organisation`, the organisation CSV-quoted when it holds commas or quotes.
fn split_line(line: &str) -> Option<(&str, &str, &str, String)> {
    let mut parts = line.splitn(4, ',');
    let (first, last, asn) = (parts.next()?, parts.next()?, parts.next()?);
    let org = parts.next().unwrap_or("").trim_end_matches('\r');
    let org = match org.strip_prefix('"').and_then(|o| o.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => org.to_string(),
    };
    Some((first.trim(), last.trim(), asn.trim(), org))
}

/// An ASN database being built from CSV ranges, organisation names interned as they come.
struct CsvBuilder {
    db: AsnDb,
    names: std::collections::HashMap<String, u32>,
}

impl CsvBuilder {
    fn new(source: &str) -> CsvBuilder {
        CsvBuilder {
            db: AsnDb { source: source.to_string(), ..AsnDb::default() },
            names: std::collections::HashMap::new(),
        }
    }

    fn add(&mut self, reader: impl Read, display: &str, is_v4: bool) -> Result<(), AsnError> {
        let io = |source| AsnError::Io { path: display.to_string(), source };
        for (n, line) in BufReader::new(reader).lines().enumerate() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |message: String| AsnError::BadLine {
                path: display.to_string(),
                line: n as u64 + 1,
                message,
            };
            let (first, last, asn, org) = split_line(&line)
                .ok_or_else(|| bad("expected first,last,asn,organisation".to_string()))?;
            let asn: u32 = asn.parse().map_err(|_| bad(format!("ASN {asn:?} is not a number")))?;
            let next = self.names.len() as u32;
            let db = &mut self.db;
            let org_index = *self.names.entry(org.clone()).or_insert_with(|| {
                db.organisations.push(org);
                next
            });
            let (first, last): (IpAddr, IpAddr) = match (first.parse(), last.parse()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => return Err(bad(format!("{first:?} – {last:?} is not an address range"))),
            };
            match (first, last, is_v4) {
                (IpAddr::V4(a), IpAddr::V4(b), true) if a <= b => {
                    db.v4.push(a.into(), b.into(), asn, org_index)
                }
                (IpAddr::V6(a), IpAddr::V6(b), false) if a <= b => {
                    db.v6.push(a.into(), b.into(), asn, org_index)
                }
                _ => {
                    return Err(bad(format!(
                        "{first} – {last} is not an ordered range of the file's family"
                    )));
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> AsnDb {
        self.db.v4.normalise(|s| s.checked_sub(1));
        self.db.v6.normalise(|s| s.checked_sub(1));
        self.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(v4: &str, v6: &str) -> AsnDb {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("v4.csv"), dir.path().join("v6.csv"));
        std::fs::write(&a, v4).unwrap();
        std::fs::write(&b, v6).unwrap();
        AsnDb::from_csv_files(&a, &b, "test").unwrap()
    }

    const V4: &str = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n\
                      8.8.8.0,8.8.8.255,15169,Google LLC\n\
                      214.95.0.0,215.0.255.255,749,DoD Network Information Center\n\
                      215.0.0.0,215.1.3.255,721,DoD Network Information Center\n\
                      255.255.255.0,255.255.255.255,64500,\"Quote \"\"Inc\"\"\"\n";
    const V6: &str = "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n\
                      ::ffff:0:0,::ffff:0:0,1,never an IPv4 lookup\n";

    #[test]
    fn first_and_last_addresses_of_a_range_and_the_gaps_around_it() {
        let db = db(V4, V6);
        let asn = |t: &str| db.lookup(t.parse().unwrap()).map(|i| i.asn);
        assert_eq!(asn("1.0.0.0"), Some(13335));
        assert_eq!(asn("1.0.0.255"), Some(13335));
        assert_eq!(asn("0.255.255.255"), None);
        assert_eq!(asn("1.0.1.0"), None);
        assert_eq!(asn("8.8.8.8"), Some(15169));
        assert_eq!(asn("255.255.255.255"), Some(64500), "the very last address");
        assert_eq!(db.lookup("1.0.0.1".parse().unwrap()).unwrap().organisation, "Cloudflare, Inc.");
        assert_eq!(
            db.lookup("255.255.255.1".parse().unwrap()).unwrap().organisation,
            "Quote \"Inc\""
        );
        assert_eq!(asn("2001:4860::"), Some(15169));
        assert_eq!(asn("2001:4860:ffff:ffff:ffff:ffff:ffff:ffff"), Some(15169));
        assert_eq!(asn("2001:4861::"), None);
        assert_eq!(asn("2001:485f:ffff:ffff:ffff:ffff:ffff:ffff"), None);
        assert_eq!(asn("::ffff:8.8.8.8"), Some(15169), "IPv4-mapped IPv6 is IPv4");
    }

    #[test]
    fn overlapping_ranges_resolve_to_the_more_specific_one() {
        let db = db(V4, V6);
        let asn = |t: &str| db.lookup(t.parse().unwrap()).map(|i| i.asn);
        assert_eq!(asn("214.255.255.255"), Some(749));
        assert_eq!(asn("215.0.0.0"), Some(721), "the later, more specific range wins");
        assert_eq!(asn("215.1.3.255"), Some(721));
    }

    #[test]
    fn encoding_round_trips_and_corruption_is_an_error() {
        let db = db(V4, V6);
        let bytes = db.encode();
        assert_eq!(AsnDb::decode(&bytes).unwrap(), db);
        assert!(AsnDb::decode(&bytes[..bytes.len() / 2]).is_err());
        assert!(AsnDb::decode(b"not zstd").is_err());
    }

    #[test]
    fn a_bad_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let v4 = dir.path().join("v4.csv");
        std::fs::write(&v4, "1.0.0.0,1.0.0.255,13335,A\n1.0.1.0,nonsense,5,B\n").unwrap();
        let err = AsnDb::from_csv_files(&v4, &v4, "t").unwrap_err().to_string();
        assert!(
            err.ends_with("v4.csv:2: \"1.0.1.0\" – \"nonsense\" is not an address range"),
            "{err}"
        );
    }
}
