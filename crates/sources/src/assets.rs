//! An asset list: which machine had which internal address, for sites that keep one (a CMDB
//! export, an IPAM report). A CSV file with a header row; column names are matched without
//! regard to case:
//!
//! ```text
//! address,host,mac,from,until
//! 10.20.0.15,fin-laptop-07,08:00:27:5e:9a:a6,2024-06-01,2024-06-30
//! 10.20.0.20,dc01,,,
//! ```
//!
//! `address` (also `ip`, `ip_address`) and `host` (also `hostname`, `name`, `asset`) are
//! required; `mac`, `from` and `until` (a date, inclusive, or an RFC 3339 time) are optional,
//! and an empty `from`/`until` leaves that end open. A row that cannot be read is skipped and
//! reported with its line; the others are kept.

use std::path::Path;

use chrono::{DateTime, NaiveDate};

use crate::diagnostics::{Diagnostics, Reason};

/// One row of an asset list.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// The address, 16 bytes (see `lasthop_normalise::parse_ip`).
    pub address: [u8; 16],
    pub address_text: String,
    pub host: String,
    /// Lower case, colon-separated.
    pub mac: Option<String>,
    /// Microseconds since the epoch; `None` is open.
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// The rows of one or more asset lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assets {
    pub rows: Vec<Asset>,
}

/// The header names each column is known by.
const COLUMNS: [(&str, &[&str]); 5] = [
    ("address", &["address", "ip", "ip_address", "ipaddress"]),
    ("host", &["host", "hostname", "host_name", "name", "asset"]),
    ("mac", &["mac", "mac_address", "macaddress"]),
    ("from", &["from", "valid_from", "since"]),
    ("until", &["until", "valid_until", "to"]),
];

impl Assets {
    /// Reads an asset list file; rows that cannot be read are counted in `diagnostics` with
    /// their line. Fails only when the file cannot be read or has no usable header.
    pub fn add_file(&mut self, path: &Path, diagnostics: &mut Diagnostics) -> Result<(), String> {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.add_text(path, &String::from_utf8_lossy(&text), diagnostics)
    }

    pub fn add_text(
        &mut self,
        path: &Path,
        text: &str,
        diagnostics: &mut Diagnostics,
    ) -> Result<(), String> {
        let mut lines = text.lines().enumerate().filter(|(_, l)| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#')
        });
        let Some((_, header)) = lines.next() else {
            return Err(format!("{}: empty asset list", path.display()));
        };
        let names: Vec<String> =
            split_csv(header).iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        let position = |column: &str| {
            let known = COLUMNS.iter().find(|(c, _)| *c == column).map(|(_, k)| *k)?;
            names.iter().position(|n| known.contains(&n.as_str()))
        };
        let (Some(address_at), Some(host_at)) = (position("address"), position("host")) else {
            return Err(format!(
                "{}: line 1: the header needs an address column (address, ip) and a host column \
                 (host, hostname, name); found {names:?}",
                path.display()
            ));
        };
        let (mac_at, from_at, until_at) = (position("mac"), position("from"), position("until"));
        for (index, line) in lines {
            let line_no = index as u64 + 1;
            let cells = split_csv(line);
            let cell = |at: Option<usize>| {
                at.and_then(|i| cells.get(i)).map(|c| c.trim()).filter(|c| !c.is_empty())
            };
            let mut bad = |why: String| diagnostics.warn(path, line_no, Reason::BadRow, why);
            let Some(address_text) = cell(Some(address_at)) else {
                bad("no address".into());
                continue;
            };
            let Some(address) = lasthop_normalise::parse_ip(address_text) else {
                bad(format!("{address_text:?} is not an IP address"));
                continue;
            };
            let Some(host) = cell(Some(host_at)) else {
                bad("no host name".into());
                continue;
            };
            let mac = match cell(mac_at) {
                None => None,
                Some(m) => match normalise_mac(m) {
                    Some(m) => Some(m),
                    None => {
                        bad(format!("{m:?} is not a MAC address"));
                        continue;
                    }
                },
            };
            let (from, until) = match (time(cell(from_at), false), time(cell(until_at), true)) {
                (Ok(f), Ok(u)) => (f, u),
                (Err(t), _) | (_, Err(t)) => {
                    bad(format!("{t:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"));
                    continue;
                }
            };
            self.rows.push(Asset {
                address,
                address_text: address_text.to_string(),
                host: host.to_string(),
                mac,
                from,
                until,
            });
        }
        Ok(())
    }
}

/// Cells of a CSV line, honouring double quotes (`"a, b"`, `""` for a quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().expect("one cell").push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(String::new()),
            c => cells.last_mut().expect("one cell").push(c),
        }
    }
    cells
}

/// `08-00-27-5E-9A-A6`, `0800.275e.9aa6` or `08:00:27:5e:9a:a6` → `08:00:27:5e:9a:a6`.
pub fn normalise_mac(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| !matches!(c, ':' | '-' | '.')).collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some((0..6).map(|i| &hex[2 * i..2 * i + 2]).collect::<Vec<_>>().join(":"))
}

/// A date (the start of the day, or its end for `end_of_day`) or an RFC 3339 time, in µs.
fn time(text: Option<&str>, end_of_day: bool) -> Result<Option<i64>, String> {
    let Some(text) = text else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.timestamp_micros()));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| text.to_string())?;
    let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_micros();
    Ok(Some(if end_of_day { start + 86_400_000_000 - 1 } else { start }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_reports_the_bad_ones_by_line() {
        let text = "# exported from the CMDB\n\
                    IP,Hostname,MAC,From,Until\n\
                    10.20.0.15,fin-laptop-07,08-00-27-5E-9A-A6,2024-06-01,2024-06-30\n\
                    10.20.0.20,\"dc01, primary\",,,\n\
                    not-an-ip,x,,,\n\
                    10.20.0.21,,,,\n\
                    10.20.0.22,y,zz,,\n\
                    10.20.0.23,z,,June,\n";
        let mut assets = Assets::default();
        let mut d = Diagnostics::default();
        assets.add_text(Path::new("assets.csv"), text, &mut d).unwrap();
        assert_eq!(assets.rows.len(), 2);
        let laptop = &assets.rows[0];
        assert_eq!(laptop.host, "fin-laptop-07");
        assert_eq!(laptop.mac.as_deref(), Some("08:00:27:5e:9a:a6"));
        assert_eq!(laptop.from, Some(1_717_200_000_000_000));
        assert_eq!(laptop.until, Some(1_719_792_000_000_000 - 1));
        assert_eq!(assets.rows[1].host, "dc01, primary");
        assert_eq!((assets.rows[1].from, assets.rows[1].until), (None, None));
        assert_eq!(d.total(Reason::BadRow), 4);
        let lines: Vec<u64> = d.samples.iter().map(|w| w.line).collect();
        assert_eq!(lines, [5, 6, 7, 8], "{:?}", d.samples);
    }

    #[test]
    fn a_header_without_address_or_host_is_an_error_naming_the_file() {
        let mut d = Diagnostics::default();
        let e = Assets::default().add_text(Path::new("inv.csv"), "name,owner\nx,y\n", &mut d);
        assert!(e.unwrap_err().contains("inv.csv"));
        assert!(Assets::default().add_text(Path::new("e.csv"), "", &mut d).is_err());
    }

    #[test]
    fn macs_normalise_from_common_spellings() {
        for m in ["08:00:27:5e:9a:a6", "08-00-27-5E-9A-A6", "0800.275e.9aa6"] {
            assert_eq!(normalise_mac(m).as_deref(), Some("08:00:27:5e:9a:a6"));
        }
        assert_eq!(normalise_mac("08:00:27"), None);
    }
}
