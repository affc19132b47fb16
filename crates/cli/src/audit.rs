//! `lasthop audit`: edge devices from inventories (nmap XML, CSV) and from what the store saw,
//! checked against KEV, end-of-life data and the advisory's mitigations; a ranked list of
//! actions per device.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use lasthop_audit::inventory::{Device, Inventory, Service};
use lasthop_audit::{DeviceReport, Knowledge, Options};
use lasthop_sinks::{Format, terminal_safe};
use lasthop_store::Store;

use crate::commands::{parse_format, runtime, usage};
use crate::report::{Output, ShareArgs, write_outputs};
use crate::settings::SettingsArgs;
use crate::{Exit, Failure, OrExit};

const AFTER_HELP: &str = "\
Inventories:
  nmap XML (-oX) with service detection (-sV), and ideally -O and the scripts ssl-cert,
  http-server-header and http-title; or a CSV whose header names its columns (any case; spaces,
  dashes and underscores ignored):
    name        name, device, hostname, asset
    address     address, ip, ip_address, wan_ip, management_ip
    vendor      vendor, manufacturer, make, brand
    model       model, product, hardware, platform
    os          os, operating_system, software
    version     version, firmware, firmware_version, os_version, software_version, build
    role        role, type, device_type, function, class
    exposed     exposed, internet_exposed, internet_facing, public, external (yes/no)
    management  management, management_interfaces, mgmt, admin_access
                (list: https;ssh;telnet:2323;snmp)
  Files are recognised by content; folders are read whole.

Actions, highest priority first: replace (end of life, or no fix), patch CVE (known exploited,
version affected), check version (no fixed-version data), disable service, restrict management,
enable MFA, segment. Each names the advisory mitigation it carries out (AA24-190A).";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct AuditArgs {
    /// Inventory files or folders: nmap XML or CSV.
    pub inventories: Vec<PathBuf>,
    /// Also audit the internal devices the store saw presenting certificates or Server headers.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The devices face the internet (the scan was made from outside). Without it, a device is
    /// exposed when the inventory says so or its address is public.
    #[arg(long)]
    pub internet_facing: bool,
    /// A KEV catalogue (known_exploited_vulnerabilities.json) to use instead of the bundled one
    /// or the one `lasthop intel update` fetched.
    #[arg(long, value_name = "FILE")]
    pub kev: Option<PathBuf>,
    /// More end-of-life hardware (TOML, the format of the bundled soho_eol.toml; repeatable).
    #[arg(long = "eol-table", value_name = "FILE")]
    pub eol_tables: Vec<PathBuf>,
    /// Judge end of life as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Output format: table (per device), json, ndjson or csv (one action per line/row).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub share: ShareArgs,
}

fn knowledge(args: &AuditArgs) -> Result<Knowledge, Failure> {
    let mut k = Knowledge::bundled();
    k.kev = crate::intel::kev_catalogue();
    if let Some(path) = &args.kev {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))
            .or_exit(Exit::UnreadableInput)?;
        k.kev = lasthop_audit::kev::Catalogue::parse(&text)
            .map_err(|e| anyhow!("{}: {e}", path.display()))
            .or_exit(Exit::UnreadableInput)?;
    }
    for path in &args.eol_tables {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))
            .or_exit(Exit::UnreadableInput)?;
        let rows = lasthop_audit::eol::parse_hardware(&text)
            .map_err(|e| anyhow!("{}: {e}", path.display()))
            .or_exit(Exit::UnreadableInput)?;
        k.hardware.extend(rows);
    }
    Ok(k)
}

/// Devices the store saw: internal addresses whose certificate or Server header a Recog
/// fingerprint recognises as an edge device.
fn observed(root: &std::path::Path) -> Result<Vec<Device>, Failure> {
    let store = Store::open(root).or_exit(Exit::StoreError)?;
    let presented = runtime()
        .block_on(async {
            let ctx = lasthop_query::open_store(&store, &Default::default()).await?;
            lasthop_query::observed::internal_services(&ctx).await
        })
        .or_exit(Exit::StoreError)?;
    let mut devices: Vec<Device> = Vec::new();
    for p in presented {
        let service = Service {
            port: p.port,
            protocol: "tcp".into(),
            name: if p.certificate_subject.is_some() { "https".into() } else { "http".into() },
            tls: p.certificate_subject.is_some(),
            http_server: p.http_server,
            certificate_subject: p.certificate_subject,
            ..Default::default()
        };
        match devices.iter_mut().find(|d| d.address.as_deref() == Some(&p.address)) {
            Some(d)
                if !d.services.iter().any(|s| {
                    s.port == service.port
                        && s.certificate_subject == service.certificate_subject
                        && s.http_server == service.http_server
                }) =>
            {
                d.services.push(service)
            }
            Some(_) => {}
            None => devices.push(Device {
                name: p.address.clone(),
                address: Some(p.address),
                services: vec![service],
                source: format!("store {}", root.display()),
                ..Default::default()
            }),
        }
    }
    // Only what a fingerprint recognised as a device: a web server's certificate is not an
    // edge device.
    devices.retain(|d| {
        let id = lasthop_audit::identify::identify(d);
        id.vendor.is_some()
            && matches!(id.class.as_str(), "router" | "firewall" | "vpn" | "nas" | "camera")
    });
    Ok(devices)
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

pub fn audit(args: AuditArgs) -> Result<Exit, Failure> {
    let format = parse_format(&args.format)?;
    if args.inventories.is_empty() && args.store.is_none() {
        return Err(usage("give inventory files (nmap XML, CSV) or --store".into()));
    }
    let today = match &args.today {
        Some(d) if d.len() == 10 && d.as_bytes()[4] == b'-' && d.as_bytes()[7] == b'-' => d.clone(),
        Some(d) => return Err(usage(format!("--today {d:?} is not YYYY-MM-DD"))),
        None => today(),
    };
    let knowledge = knowledge(&args)?;
    let mut inventory = Inventory::default();
    let mut files = Vec::new();
    for path in &args.inventories {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))
                .or_exit(Exit::UnreadableInput)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            inside.sort();
            files.extend(inside);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(Failure {
                exit: Exit::UnreadableInput,
                error: anyhow!("{}: no such file", path.display()),
            });
        }
    }
    for f in &files {
        inventory.read_file(f);
    }
    if let Some(root) = &args.store {
        inventory.devices.extend(observed(root)?);
    }
    for p in &inventory.problems {
        eprintln!("warning: {}", terminal_safe(&p.to_string()));
    }
    if inventory.devices.is_empty() {
        return Err(Failure {
            exit: Exit::UnreadableInput,
            error: anyhow!("no devices in the inventories given"),
        });
    }
    let options = Options { internet_facing: args.internet_facing, today };
    let reports = lasthop_audit::audit(&inventory.devices, &knowledge, &options);
    let actions: usize = reports.iter().map(|r| r.actions.len()).sum();
    eprintln!(
        "{} device(s) audited ({} file(s){}, {} problem(s)); {actions} action(s); KEV catalogue {}",
        reports.len(),
        files.len(),
        if args.store.is_some() { " and the store" } else { "" },
        inventory.problems.len(),
        terminal_safe(&knowledge.kev.version)
    );
    if format == Format::Table
        && args.share.html.is_none()
        && args.share.stix.is_none()
        && args.share.attack_layer.is_none()
    {
        let mut out: Box<dyn Write> = match &args.output {
            Some(p) => Box::new(
                std::fs::File::create(p)
                    .with_context(|| format!("creating {}", p.display()))
                    .or_exit(Exit::StoreError)?,
            ),
            None => Box::new(std::io::stdout().lock()),
        };
        write_table(&mut out, &reports).or_exit(Exit::StoreError)?;
        return Ok(Exit::Success);
    }
    // The other forms are those of findings: one per action.
    let mut findings = lasthop_audit::to_findings(&reports, chrono::Utc::now().timestamp_micros());
    // Most urgent first, as hunt findings are, so the report's top list is the to-do list.
    lasthop_findings::rank(&mut findings);
    let settings = SettingsArgs::default().resolve().map_err(|e| usage(format!("{e:#}")))?;
    let output = Output {
        format,
        path: args.output.as_deref(),
        min_severity: lasthop_findings::Severity::Info,
        save: false,
        share: args.share.clone(),
        title: "lasthop edge-device audit",
        hunted: false,
    };
    let root = args.store.clone().unwrap_or_else(std::env::temp_dir);
    write_outputs(&root, findings, &settings, &output, &[])?;
    Ok(Exit::Success)
}

/// Devices, most urgent first, each with its ranked actions.
fn write_table(out: &mut dyn Write, reports: &[DeviceReport]) -> std::io::Result<()> {
    for r in reports {
        let d = &r.device;
        let id = &r.identity;
        let what = [
            d.vendor.clone().or(id.vendor.clone()),
            d.model.clone().or(id.products.first().cloned()),
            id.version.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        writeln!(
            out,
            "{}  {}  [{}{}]{}",
            terminal_safe(&d.name),
            terminal_safe(&what),
            id.class,
            if r.exposed { ", internet-facing" } else { "" },
            d.address
                .as_deref()
                .filter(|a| *a != d.name)
                .map(|a| format!("  {}", terminal_safe(a)))
                .unwrap_or_default()
        )?;
        if r.actions.is_empty() {
            writeln!(
                out,
                "    no action: nothing known-exploited, end-of-life or exposed was found"
            )?;
        }
        for a in &r.actions {
            writeln!(
                out,
                "  {:>3}  {:<19}  {}",
                a.priority,
                a.kind.name(),
                terminal_safe(&a.title)
            )?;
            writeln!(out, "                            {}", terminal_safe(&a.detail))?;
            if let Some(k) = &a.kev {
                writeln!(
                    out,
                    "                            KEV required action: {}",
                    terminal_safe(&k.required_action)
                )?;
            }
            writeln!(
                out,
                "                            mitigation: {} ({})",
                a.mitigation.text(),
                a.mitigation.attack_id()
            )?;
        }
        if !r.fixed.is_empty() {
            writeln!(out, "    fixed in this version: {}", terminal_safe(&r.fixed.join(", ")))?;
        }
        writeln!(out)?;
    }
    Ok(())
}
