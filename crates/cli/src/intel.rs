//! `lasthop intel`: what lasthop knows about an address, and rebuilding the bundled data.

use std::net::IpAddr;

use lasthop_intel::{AsnDb, Classifier};
use serde_json::json;

use crate::{Exit, Failure, IntelCommand, LookupFormat, OrExit};

pub fn run(command: IntelCommand) -> Result<Exit, Failure> {
    match command {
        IntelCommand::Lookup { value, format } => lookup(&value, format),
        IntelCommand::BuildAsn { v4, v6, source, out } => {
            let db = AsnDb::from_csv_files(&v4, &v6, &source).or_exit(Exit::UnreadableInput)?;
            let bytes = db.encode();
            std::fs::write(&out, &bytes).or_exit(Exit::StoreError)?;
            let (n4, n6) = db.ranges();
            println!(
                "wrote {} ({} bytes): {n4} IPv4 and {n6} IPv6 ranges from {source}",
                out.display(),
                bytes.len()
            );
            Ok(Exit::Success)
        }
    }
}

fn lookup(value: &str, format: LookupFormat) -> Result<Exit, Failure> {
    let addr: IpAddr = value.trim().parse().map_err(|_| Failure {
        exit: Exit::Usage,
        error: anyhow::anyhow!("{value:?} is not an IP address"),
    })?;
    let info = AsnDb::bundled().lookup(addr);
    let bytes = match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    let kind = Classifier::bundled().classify(&bytes, info.as_ref());
    match format {
        LookupFormat::Json => {
            let report = json!({
                "ip": addr.to_string(),
                "network": { "type": kind.kind.name(), "reason": kind.reason },
                "as": info.map(|i| json!({
                    "number": i.asn,
                    "organization": { "name": i.organisation },
                    "range": format!("{} - {}", i.range.0, i.range.1),
                })),
            });
            println!("{report}");
        }
        LookupFormat::Text => match info {
            Some(i) => println!(
                "{addr}\n  AS{} {}\n  announced range {} – {}\n  network type {} ({})",
                i.asn,
                lasthop_sinks::terminal_safe(i.organisation),
                i.range.0,
                i.range.1,
                kind.kind,
                lasthop_sinks::terminal_safe(&kind.reason)
            ),
            None => println!(
                "{addr}\n  no announced range (private, reserved or unrouted)\n  network type {} ({})",
                kind.kind, kind.reason
            ),
        },
    }
    Ok(Exit::Success)
}

/// The data compiled into lasthop, its versions and its licences (`--version --verbose`).
pub fn bundled_data() -> String {
    let db = AsnDb::bundled();
    let (n4, n6) = db.ranges();
    format!(
        "\nBundled data:\n  ASN database: {} ({n4} IPv4, {n6} IPv6 ranges)\n    \
         CC BY 4.0: RouteViews (routeviews.org), NRO (nro.net) and DB-IP (db-ip.com),\n    \
         compiled by sapics/ip-location-db; converted, not otherwise modified.\n  \
         Public Suffix List (publicsuffix.org), MPL 2.0, through the psl crate.\n\
         See NOTICE for the full attributions.\n",
        db.source
    )
}
