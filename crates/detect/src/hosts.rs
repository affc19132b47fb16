//! After detection: which machine is behind each finding's internal address. Addresses move
//! (DHCP hands them out again), so a finding named by its address would become a new finding,
//! and lose its triage, whenever the machine's lease changes. Where the store holds Zeek's
//! dhcp.log, or the site gave an asset list (`--assets`), the finding names the machine (MAC
//! address, host name) and takes its id from it.
//!
//! Tenure rules: a DHCP acknowledgement gives its address to the client's MAC (or, without one,
//! its host name) from that moment until another machine is given the same address; renewals
//! by the same machine extend the tenure. An asset-list row holds between its `from` and `until`
//! (open where empty). A lease in the logs wins over the asset list for the same moment; an
//! asset row with a MAC lends its name to the DHCP client with that MAC. The machine is the one
//! holding the address when the finding was last seen.

use std::collections::HashMap;

use datafusion::common::Result;
use lasthop_findings::{Finding, LocalHost};
use lasthop_normalise::parse_ip;
use lasthop_sources::assets::{Assets, normalise_mac};

use crate::detectors::{HuntContext, rows};

/// One machine's hold on an address.
#[derive(Debug, Clone, PartialEq)]
struct Tenure {
    from: i64,
    until: i64,
    host: LocalHost,
}

/// A DHCP acknowledgement, as the directory needs it.
#[derive(Debug, Clone)]
pub struct Lease {
    pub ts: i64,
    pub address: String,
    pub mac: Option<String>,
    pub host_name: Option<String>,
}

/// Which machine held which internal address when.
#[derive(Debug, Default)]
pub struct HostDirectory {
    leases: HashMap<[u8; 16], Vec<Tenure>>,
    assets: HashMap<[u8; 16], Vec<Tenure>>,
    /// Asset-list names by MAC, lent to DHCP clients.
    names_by_mac: HashMap<String, String>,
}

impl HostDirectory {
    pub fn new(assets: &Assets, mut leases: Vec<Lease>) -> HostDirectory {
        let mut directory = HostDirectory::default();
        for a in &assets.rows {
            if let Some(mac) = &a.mac {
                directory.names_by_mac.insert(mac.clone(), a.host.clone());
            }
            let id = match &a.mac {
                Some(mac) => format!("mac:{mac}"),
                None => format!("asset:{}", a.host.to_lowercase()),
            };
            directory.assets.entry(a.address).or_default().push(Tenure {
                from: a.from.unwrap_or(i64::MIN),
                until: a.until.unwrap_or(i64::MAX),
                host: LocalHost {
                    id,
                    name: Some(a.host.clone()),
                    mac: a.mac.clone(),
                    address: a.address_text.clone(),
                    via: "assets".into(),
                },
            });
        }
        leases.sort_by_key(|l| l.ts);
        for lease in leases {
            let Some(address) = parse_ip(&lease.address) else { continue };
            let mac = lease.mac.as_deref().and_then(normalise_mac);
            let host_name = lease.host_name.filter(|n| !n.trim().is_empty());
            let id = match (&mac, &host_name) {
                (Some(mac), _) => format!("mac:{mac}"),
                (None, Some(name)) => format!("name:{}", name.to_lowercase()),
                (None, None) => continue,
            };
            let name = mac.as_ref().and_then(|m| directory.names_by_mac.get(m).cloned());
            let tenures = directory.leases.entry(address).or_default();
            match tenures.last_mut() {
                Some(last) if last.host.id == id => {
                    if last.host.name.is_none() {
                        last.host.name = name.or(host_name);
                    }
                }
                last => {
                    if let Some(last) = last {
                        last.until = lease.ts;
                    }
                    tenures.push(Tenure {
                        from: lease.ts,
                        until: i64::MAX,
                        host: LocalHost {
                            id,
                            name: name.or(host_name),
                            mac,
                            address: lease.address.clone(),
                            via: "dhcp".into(),
                        },
                    });
                }
            }
        }
        directory
    }

    pub fn is_empty(&self) -> bool {
        self.leases.is_empty() && self.assets.is_empty()
    }

    /// The machine holding `address` at `ts` (µs), if the leases or the asset list say.
    pub fn at(&self, address: &str, ts: i64) -> Option<LocalHost> {
        let bytes = parse_ip(address)?;
        let holding = |tenures: Option<&Vec<Tenure>>| {
            tenures?.iter().find(|t| t.from <= ts && ts < t.until).map(|t| t.host.clone())
        };
        let mut host =
            holding(self.leases.get(&bytes)).or_else(|| holding(self.assets.get(&bytes)))?;
        // The finding shows the address as it wrote it.
        host.address = address.to_string();
        Some(host)
    }

    /// How many machines held `address` between `from` and `until`.
    pub fn holders(&self, address: &str, from: i64, until: i64) -> usize {
        let Some(bytes) = parse_ip(address) else { return 0 };
        let mut ids: Vec<&str> = [self.leases.get(&bytes), self.assets.get(&bytes)]
            .into_iter()
            .flatten()
            .flatten()
            .filter(|t| t.from <= until && from < t.until)
            .map(|t| t.host.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

/// The store's DHCP acknowledgements (both Zeek's current and its 2.x dhcp.log).
async fn leases(hunt: &HuntContext) -> Result<Vec<Lease>> {
    let acknowledgements = rows(
        &hunt.ctx,
        "DHCP leases",
        "SELECT CAST(ts AS BIGINT) AS ts, ip_text(coalesce(assigned_addr, assigned_ip)) AS address,
                mac, host_name
         FROM dhcp WHERE coalesce(assigned_addr, assigned_ip) IS NOT NULL
         ORDER BY ts",
    )
    .await?;
    let mut leases = Vec::new();
    for r in acknowledgements.iter() {
        let (Some(ts), Some(address)) = (r.i64("ts")?, r.str("address")?) else { continue };
        let text = |k: &str| r.str(k).map(|v| v.map(str::to_string));
        leases.push(Lease {
            ts,
            address: address.to_string(),
            mac: text("mac")?,
            host_name: text("host_name")?,
        });
    }
    Ok(leases)
}

/// Names the machine behind each finding's internal address where the store's DHCP leases or
/// the asset list know it, and re-derives the finding's id from the machine.
pub async fn identify(hunt: &HuntContext, findings: &mut [Finding]) -> Result<()> {
    let directory = HostDirectory::new(&hunt.options.assets, leases(hunt).await?);
    if directory.is_empty() {
        return Ok(());
    }
    let internal = &hunt.options.internal;
    for f in findings {
        let e = &f.entities;
        let Some(address) = [&e.source, &e.destination]
            .into_iter()
            .flatten()
            .find(|a| parse_ip(a).is_some_and(|b| internal.contains(&b)))
            .cloned()
        else {
            continue;
        };
        let Some(host) = directory.at(&address, f.last_seen) else { continue };
        let holders = directory.holders(&address, f.first_seen, f.last_seen);
        if holders > 1 {
            f.evidence.figures.insert("hosts_at_address".into(), serde_json::json!(holders));
        }
        f.set_host(host);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_sources::Diagnostics;

    const HOUR: i64 = 3_600_000_000;

    fn lease(ts: i64, address: &str, mac: &str, name: &str) -> Lease {
        Lease {
            ts,
            address: address.into(),
            mac: Some(mac.into()).filter(|m: &String| !m.is_empty()),
            host_name: Some(name.into()).filter(|n: &String| !n.is_empty()),
        }
    }

    #[test]
    fn an_address_belongs_to_its_latest_lease_holder_until_someone_else_gets_it() {
        let leases = vec![
            lease(0, "10.0.0.5", "AA-AA-AA-AA-AA-01", "laptop-1"),
            lease(10 * HOUR, "10.0.0.5", "aa:aa:aa:aa:aa:01", ""),
            lease(20 * HOUR, "10.0.0.5", "aa:aa:aa:aa:aa:02", "phone"),
            lease(20 * HOUR, "10.0.0.9", "aa:aa:aa:aa:aa:01", "laptop-1"),
            lease(30 * HOUR, "10.0.0.6", "", "printer"),
        ];
        let d = HostDirectory::new(&Assets::default(), leases);
        let id = |a: &str, t: i64| d.at(a, t).map(|h| h.id);
        assert_eq!(id("10.0.0.5", -1), None, "before its first lease the address is unknown");
        assert_eq!(id("10.0.0.5", 15 * HOUR).as_deref(), Some("mac:aa:aa:aa:aa:aa:01"));
        assert_eq!(id("10.0.0.5", 25 * HOUR).as_deref(), Some("mac:aa:aa:aa:aa:aa:02"));
        assert_eq!(id("10.0.0.9", 25 * HOUR).as_deref(), Some("mac:aa:aa:aa:aa:aa:01"));
        assert_eq!(id("10.0.0.6", 31 * HOUR).as_deref(), Some("name:printer"));
        assert_eq!(d.at("10.0.0.5", 15 * HOUR).unwrap().name.as_deref(), Some("laptop-1"));
        assert_eq!(d.holders("10.0.0.5", 0, 25 * HOUR), 2);
        assert_eq!(d.holders("10.0.0.5", 0, 5 * HOUR), 1);
    }

    #[test]
    fn the_asset_list_names_dhcp_clients_and_covers_static_addresses() {
        let mut assets = Assets::default();
        assets
            .add_text(
                std::path::Path::new("assets.csv"),
                "address,host,mac,from,until\n\
                 10.0.0.5,fin-laptop-07,aa:aa:aa:aa:aa:01,,\n\
                 10.0.0.20,dc01,,2024-06-01,2024-06-30\n",
                &mut Diagnostics::default(),
            )
            .unwrap();
        let d = HostDirectory::new(&assets, vec![lease(0, "10.0.0.9", "aa:aa:aa:aa:aa:01", "x")]);
        let laptop = d.at("10.0.0.9", HOUR).unwrap();
        assert_eq!((laptop.name.as_deref(), laptop.via.as_str()), (Some("fin-laptop-07"), "dhcp"));
        assert_eq!(laptop.address, "10.0.0.9");
        let june = 1_717_200_000_000_000;
        assert_eq!(d.at("10.0.0.20", june + HOUR).unwrap().id, "asset:dc01");
        assert_eq!(d.at("10.0.0.20", june - HOUR), None, "outside its validity");
        // The static row for 10.0.0.5 holds where no lease says otherwise.
        assert_eq!(d.at("10.0.0.5", HOUR).unwrap().id, "mac:aa:aa:aa:aa:aa:01");
    }
}
