//! After detection: who is on the other end of each finding. The external address of a
//! finding (its destination, or its source when the traffic came in) gains the autonomous
//! system and organisation that hold it and the kind of network that is.
//!
//! A last-hop contact gains +0.1 when its other end presents an edge device's certificate or
//! banner, and +0.05 when no name was ever behind the address (C2 relays are reached by address).
//!
//! A beacon to a home broadband or mobile line (or behind carrier-grade NAT) gains +0.1, listed
//! with the finding's other adjustments: implants are expected to call cloud servers, and an
//! internal host calling a consumer line on a timer is the advisory's last-hop pattern — the
//! line is likely a compromised SoHo router relaying for the operator (ATT&CK T1584.008,
//! T1090.002).

use std::collections::HashMap;

use datafusion::common::Result;
use lasthop_findings::{Finding, RemoteDevice, RemoteEnd};
use lasthop_intel::{AsnDb, FingerprintSet, NetworkType};
use lasthop_normalise::parse_ip;

use crate::detectors::context;
use crate::detectors::{HuntContext, HuntOptions, Query};

pub fn remote_ends(findings: &mut [Finding], options: &HuntOptions) {
    let (internal, classifier) = (&options.internal, &*options.network_types);
    let db = AsnDb::bundled();
    for f in findings {
        // A name beacon has no single destination: its first address stands for it.
        let first_address = f
            .evidence
            .figures
            .get("addresses")
            .and_then(|a| a.get(0))
            .and_then(|a| a.as_str())
            .map(str::to_string);
        let candidates = [&f.entities.destination, &f.entities.source, &first_address];
        let Some((text, bytes)) = candidates.into_iter().find_map(|a| {
            let text = a.as_deref()?;
            let bytes = parse_ip(text).filter(|b| !internal.contains(b))?;
            Some((text.to_string(), bytes))
        }) else {
            continue;
        };
        let info = db.lookup_bytes(&bytes);
        let kind = classifier.classify(&bytes, info.as_ref());
        let outbound = f.entities.destination.as_deref() == Some(text.as_str())
            || f.entities.destination.is_none();
        if f.detector == crate::detectors::beacon::ID
            && outbound
            && matches!(kind.kind, NetworkType::Residential | NetworkType::Cgnat)
        {
            let holder =
                info.map(|i| format!(" (AS{} {})", i.asn, i.organisation)).unwrap_or_default();
            let why = format!(
                "the other end {text}{holder} is a {} line ({}): a possible last-hop relay",
                kind.kind, kind.reason
            );
            context::apply(f, &[(0.1, why)], options.scorer);
        }
        f.entities.remote = Some(RemoteEnd {
            address: text,
            as_number: info.map(|i| i.asn),
            as_organization: info.map(|i| i.organisation.to_string()),
            network_type: Some(kind.kind.name().to_string()),
            network_type_reason: Some(kind.reason),
            device: None,
            names: Vec::new(),
        });
    }
}

/// Adds what the store knows of each remote end: the device it was recognised as, from the
/// certificates it served (X.509 subject or issuer against Recog's fingerprints), and the
/// names it was reached by (DNS answers, SNI, Host). Runs after [`remote_ends`].
pub async fn remote_devices(hunt: &HuntContext, findings: &mut [Finding]) -> Result<()> {
    let addresses: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.entities.remote.as_ref().map(|r| r.address.as_str()))
        .collect();
    if addresses.is_empty() {
        return Ok(());
    }
    // Each query binds the addresses as its parameters `$1`…`$n`: the same `list` in each.
    let bound = |label| {
        let mut query = Query::new(label);
        let list = query.texts(addresses.iter().copied());
        (query, list)
    };
    let (query, list) = bound("certificates of remote ends");
    // ssl.log links a session to its certificates by fingerprint (Zeek 4+) or file id (older).
    let sql = format!(
        "SELECT DISTINCT ip_text(s.dst) AS addr, x.certificate_subject AS subject,
                x.certificate_issuer AS issuer
         FROM ssl s JOIN x509 x ON x.fingerprint = s.cert_chain_fps[1]
         WHERE ip_text(s.dst) IN ({list})
         UNION
         SELECT DISTINCT ip_text(s.dst), x.certificate_subject, x.certificate_issuer
         FROM ssl s JOIN x509 x ON x.id = s.cert_chain_fuids[1]
         WHERE ip_text(s.dst) IN ({list})"
    );
    let mut candidates: Vec<(String, &'static FingerprintSet, &'static str, String)> = Vec::new();
    for r in query.rows(&hunt.ctx, &sql).await?.iter() {
        // Recog prefers the subject; an issuer that names the device is the fallback.
        candidates.push((
            r.text("addr")?,
            FingerprintSet::x509_subjects(),
            "certificate subject",
            r.text("subject")?,
        ));
        candidates.push((
            r.text("addr")?,
            FingerprintSet::x509_subjects(),
            "certificate issuer",
            r.text("issuer")?,
        ));
    }
    // The HTTP Server header, where the deployment logs it (the `server` column).
    let (query, list) = bound("server headers of remote ends");
    let servers_sql = format!(
        "SELECT DISTINCT ip_text(dst) AS addr, server FROM http
         WHERE ip_text(dst) IN ({list}) AND server IS NOT NULL AND server <> ''"
    );
    if hunt.ctx.table_exist("http")? {
        for r in query.rows(&hunt.ctx, &servers_sql).await?.iter() {
            candidates.push((
                r.text("addr")?,
                FingerprintSet::http_servers(),
                "HTTP Server header",
                r.text("server")?,
            ));
        }
    }
    let mut devices: HashMap<String, RemoteDevice> = HashMap::new();
    for (addr, set, what, value) in candidates {
        let Some(d) = set.first_match(&value) else { continue };
        let candidate = RemoteDevice {
            class: d.class().to_string(),
            vendor: d.vendor.clone(),
            product: d.product.clone(),
            description: d.description.clone(),
            evidence: format!("{what} {value}"),
        };
        // An edge device outranks a generic match (a CDN's certificate, say).
        let better =
            devices.get(&addr).is_none_or(|old| old.class == "other" && candidate.class != "other");
        if better {
            devices.insert(addr, candidate);
        }
    }
    // Passive DNS: the names each address answered for or was asked for by.
    let (query, list) = bound("names of remote ends");
    let names_sql = format!(
        "SELECT DISTINCT a AS addr, rtrim(lower(query), '.') AS name
         FROM (SELECT query, unnest(answers) AS a FROM dns) WHERE a IN ({list})
         UNION SELECT DISTINCT ip_text(dst), rtrim(lower(server_name), '.') FROM ssl
         WHERE ip_text(dst) IN ({list}) AND server_name IS NOT NULL AND server_name <> ''
         UNION SELECT DISTINCT ip_text(dst), rtrim(regexp_replace(lower(host), ':[0-9]+$', ''), '.')
         FROM http WHERE ip_text(dst) IN ({list}) AND host IS NOT NULL AND host <> ''"
    );
    let mut names: HashMap<String, Vec<String>> = HashMap::new();
    for r in query.rows(&hunt.ctx, &names_sql).await?.iter() {
        let (addr, name) = (r.text("addr")?, r.text("name")?);
        // A Host header holding the address itself is not a name.
        if !name.is_empty() && name != addr {
            names.entry(addr).or_default().push(name);
        }
    }
    for f in findings {
        let Some(remote) = f.entities.remote.as_mut() else { continue };
        remote.device = devices.get(&remote.address).cloned();
        if let Some(list) = names.get(&remote.address) {
            let mut list = list.clone();
            list.sort();
            list.dedup();
            list.truncate(10);
            remote.names = list;
        }
        let remote = remote.clone();
        if f.detector == crate::detectors::last_hop::ID {
            let mut found = Vec::new();
            if let Some(d) = remote.device.as_ref().filter(|d| d.class != "other") {
                found.push((
                    0.1,
                    format!(
                        "{} presents a {} ({}): a SoHo relay",
                        remote.address, d.class, d.description
                    ),
                ));
            }
            if remote.names.is_empty() {
                found.push((
                    0.05,
                    format!(
                        "no name is behind {}: no DNS answer, TLS server name or Host header",
                        remote.address
                    ),
                ));
            }
            context::apply(f, &found, hunt.options.scorer);
            continue;
        }
        let Some(device) = remote.device.clone().filter(|d| d.class != "other") else { continue };
        // A beacon to an edge device is the last-hop pattern whatever network it sits in; on a
        // residential line it has already been raised for that.
        let already = matches!(remote.network_type.as_deref(), Some("residential" | "cgnat"));
        if f.detector == crate::detectors::beacon::ID && !already {
            let why = format!(
                "the other end {} presents a {} certificate ({}): a possible last-hop relay",
                remote.address, device.class, device.description
            );
            context::apply(f, &[(0.1, why)], hunt.options.scorer);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use lasthop_findings::{Entities, Finding};

    use super::*;

    fn finding(source: &str, destination: Option<&str>) -> Finding {
        let entities = Entities {
            source: Some(source.into()),
            destination: destination.map(str::to_string),
            ..Default::default()
        };
        Finding::new("t", "t".into(), 0.5, entities)
    }

    #[test]
    fn the_external_end_gains_its_network_whichever_side_it_is() {
        let mut findings = vec![
            finding("10.0.0.5", Some("8.8.8.8")),
            finding("73.54.23.243", Some("10.0.0.9")),
            finding("10.0.0.5", Some("10.0.0.6")),
        ];
        let id = findings[0].id.clone();
        remote_ends(&mut findings, &HuntOptions::default());
        let remote = |i: usize| findings[i].entities.remote.clone();
        assert_eq!(remote(0).unwrap().as_number, Some(15169));
        assert_eq!(remote(1).unwrap().address, "73.54.23.243", "inbound: the source is remote");
        assert_eq!(remote(1).unwrap().as_number, Some(7922));
        assert_eq!(remote(1).unwrap().network_type.as_deref(), Some("residential"));
        assert_eq!(remote(0).unwrap().network_type.as_deref(), Some("hosting"));
        assert_eq!(remote(2), None, "internal to internal has no remote end");
        assert_eq!(findings[0].id, id, "enrichment never changes a finding's identity");
    }

    #[tokio::test]
    async fn an_http_server_header_names_the_device_at_the_other_end() {
        let text = "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\thost\turi\tserver\n\
                    1717372800.0\tH1\t10.0.0.5\t5000\t73.54.23.243\t8080\tx\t/\tMikrotik HttpProxy\n\
                    1717372801.0\tH2\t10.0.0.5\t5001\t8.8.8.8\t80\ty\t/\tgws\n";
        let mut batches = Vec::new();
        lasthop_sources::read_stream(
            std::path::Path::new("http.log"),
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            &Default::default(),
            |_, b| {
                batches.push(b);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        let ctx = lasthop_query::session::from_batches(
            vec![(lasthop_normalise::LogType::Http, batches)],
            &lasthop_query::session::SessionOptions { threads: 1, ..Default::default() },
        )
        .unwrap();
        let hunt = HuntContext::new(ctx);
        let mut findings =
            vec![finding("10.0.0.5", Some("73.54.23.243")), finding("10.0.0.5", Some("8.8.8.8"))];
        remote_ends(&mut findings, &HuntOptions::default());
        remote_devices(&hunt, &mut findings).await.unwrap();
        let device = findings[0].entities.remote.as_ref().unwrap().device.clone().unwrap();
        assert_eq!(device.vendor.as_deref(), Some("MikroTik"), "{device:?}");
        assert!(device.evidence.contains("HTTP Server header"), "{device:?}");
        // Google's front end is recognised too, as what it is: not an edge device.
        let google = findings[1].entities.remote.as_ref().unwrap().device.clone().unwrap();
        assert_eq!(google.class, "other", "{google:?}");
    }
}
