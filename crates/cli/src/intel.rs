//! `lasthop intel`: what lasthop knows about an address, and rebuilding the bundled data.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use lasthop_findings::Severity;
use lasthop_intel::indicators::{Indicator, IndicatorKind, classify};
use lasthop_intel::{AsnDb, Classifier, IndicatorSet};
use lasthop_sinks::terminal_safe;
use serde_json::{Value, json};

use crate::commands::{Output, parse_format, read_feeds, run_hunt, usage, warning_lists};
use crate::settings::SettingsArgs;
use crate::{Exit, Failure, IntelCommand, LookupFormat, OrExit};

pub fn run(command: IntelCommand) -> Result<Exit, Failure> {
    match command {
        IntelCommand::Lookup { value, store, format } => lookup(&value, store.as_deref(), format),
        IntelCommand::Import { paths, store, feed, warning_lists: lists, format } => {
            import(&paths, &store, feed.as_deref(), &lists, &format)
        }
        IntelCommand::Update { kev_url, data_dir } => update(&kev_url, data_dir),
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

/// Feed files under the given paths (folders are walked, hidden files skipped), sorted.
fn feed_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p)
            .map_err(|e| anyhow!("{}: {e}", p.display()))
            .or_exit(Exit::UnreadableInput)?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&p).or_exit(Exit::UnreadableInput)?.flatten() {
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    stack.push(entry.path());
                }
            }
        } else {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

fn import(
    paths: &[PathBuf],
    store: &Path,
    feed: Option<&str>,
    lists: &[PathBuf],
    format: &str,
) -> Result<Exit, Failure> {
    let format = parse_format(format)?;
    let lists = warning_lists(lists)?;
    let files = feed_files(paths)?;
    let mut new = IndicatorSet::default();
    for file in &files {
        let mut set = read_feeds(std::slice::from_ref(file), &lists)?;
        if let Some(name) = feed {
            set = set.iter().map(|i| Indicator { feed: name.to_string(), ..i.clone() }).fold(
                IndicatorSet::default(),
                |mut s, i| {
                    s.add(i);
                    s
                },
            );
        }
        new.extend(set);
    }
    if new.is_empty() {
        return Err(Failure {
            exit: Exit::UnreadableInput,
            error: anyhow!("no indicators to import from {} file(s)", files.len()),
        });
    }
    let name = match (feed, files.as_slice()) {
        (Some(name), _) => name.to_string(),
        (None, [one]) => {
            one.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        }
        _ => paths[0].file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    std::fs::create_dir_all(store).or_exit(Exit::StoreError)?;
    let kept = lasthop_store::files::feed_file(store, &name);
    std::fs::create_dir_all(kept.parent().unwrap_or(store)).or_exit(Exit::StoreError)?;
    lasthop_store::files::write_atomic(&kept, |w| lasthop_intel::stored::write(w, &new))
        .or_exit(Exit::StoreError)?;
    eprintln!("kept {} indicator(s) in {}", new.len(), terminal_safe(&kept.display().to_string()));
    if !store.join(lasthop_store::manifest::MANIFEST_FILE).exists() {
        eprintln!("the store holds no logs yet: later hunts of it will match these indicators");
        return Ok(Exit::Success);
    }
    eprintln!("retro-hunt: matching the new indicators against everything the store holds ...");
    let settings = SettingsArgs::default().resolve().map_err(|e| usage(format!("{e:#}")))?;
    let output = Output {
        format,
        path: None,
        min_severity: Severity::Info,
        save: false,
        share: Default::default(),
        title: crate::report::HUNT_REPORT,
        hunted: true,
    };
    let found = run_hunt(
        store,
        Some(Arc::new(new)),
        &settings,
        output,
        &[Box::new(lasthop_detect::detectors::ioc::IocMatch)],
    )?;
    eprintln!("retro-hunt: {} finding(s)", found.len());
    Ok(Exit::Success)
}

/// Everything known about one value from the feeds and warning lists.
fn intel_on(value: &str, store: Option<&Path>) -> Result<(Vec<Indicator>, Vec<String>), Failure> {
    let mut set = lasthop_intel::feeds::bundled().indicators;
    if let Some(store) = store {
        let mut problems = Vec::new();
        set.extend(stored_intel(store, &mut problems)?);
    }
    let lists = warning_lists(&[])?;
    let Some((kind, normalised)) = classify(value) else { return Ok((Vec::new(), Vec::new())) };
    let mut found: Vec<Indicator> = Vec::new();
    let mut warned: Vec<String> = Vec::new();
    let probe = Indicator::new(kind, normalised.clone(), "");
    warned.extend(lists.lists_naming(&probe).into_iter().map(str::to_string));
    let suppressed = set.suppressed.iter().filter(|s| s.indicator.value == normalised);
    warned.extend(suppressed.map(|s| s.list.clone()));
    warned.sort();
    warned.dedup();
    match kind {
        IndicatorKind::Ip => {
            if let Some(ip) = lasthop_normalise::parse_ip(&normalised) {
                // Any validity: lookup explains, it does not judge a moment in time.
                found.extend(
                    set.iter()
                        .filter(|i| match i.kind {
                            IndicatorKind::Ip => i.value == normalised,
                            IndicatorKind::Prefix => lasthop_normalise::Cidr::parse(&i.value)
                                .is_some_and(|c| c.contains(&ip)),
                            _ => false,
                        })
                        .cloned(),
                );
            }
        }
        IndicatorKind::Domain => {
            let mut rest = normalised.as_str();
            loop {
                found.extend(set.lookup(IndicatorKind::Domain, rest).into_iter().cloned());
                match rest.split_once('.') {
                    Some((_, parent)) if parent.contains('.') => rest = parent,
                    _ => break,
                }
            }
        }
        IndicatorKind::FileHash => {
            for k in [IndicatorKind::FileHash, IndicatorKind::CertFingerprint] {
                found.extend(set.lookup(k, &normalised).into_iter().cloned());
            }
        }
        k => found.extend(set.lookup(k, &normalised).into_iter().cloned()),
    }
    Ok((found, warned))
}

fn day(micros: Option<i64>) -> Option<String> {
    micros
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|d| d.format("%Y-%m-%d").to_string())
}

fn lookup(value: &str, store: Option<&Path>, format: LookupFormat) -> Result<Exit, Failure> {
    let value = value.trim();
    let Some((kind, normalised)) = classify(value) else {
        return Err(usage(format!("{value:?} is not an IP address, domain, URL or hash")));
    };
    let (indicators, warned) = intel_on(value, store)?;
    let network = match kind {
        IndicatorKind::Ip => normalised.parse::<IpAddr>().ok(),
        _ => None,
    };
    let info = network.and_then(|a| AsnDb::bundled().lookup(a));
    let class = network.map(|addr| {
        let bytes = match addr {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        Classifier::bundled().classify(&bytes, info.as_ref())
    });
    match format {
        LookupFormat::Json => {
            let listed: Vec<Value> = indicators
                .iter()
                .map(|i| {
                    json!({
                        "feed": i.feed, "type": i.kind.name(), "value": i.value,
                        "context": i.context, "reference": i.reference,
                        "valid_from": day(i.valid_from), "valid_until": day(i.valid_until),
                        "first_reported": day(i.first_reported), "last_reported": day(i.last_reported),
                    })
                })
                .collect();
            let mut report = json!({
                "value": normalised,
                "type": kind.name(),
                "threat": { "indicators": listed },
                "warning_lists": warned,
            });
            if let Some(addr) = network {
                report["ip"] = json!(addr.to_string());
                report["network"] = json!(
                    class.as_ref().map(|c| json!({ "type": c.kind.name(), "reason": c.reason }))
                );
                report["as"] = json!(info.as_ref().map(|i| json!({
                    "number": i.asn,
                    "organization": { "name": i.organisation },
                    "range": format!("{} - {}", i.range.0, i.range.1),
                })));
            }
            println!("{report}");
        }
        LookupFormat::Text => {
            println!("{} ({})", terminal_safe(&normalised), kind);
            if network.is_some() {
                match &info {
                    Some(i) => println!(
                        "  AS{} {}\n  announced range {} – {}",
                        i.asn,
                        terminal_safe(i.organisation),
                        i.range.0,
                        i.range.1
                    ),
                    None => println!("  no announced range (private, reserved or unrouted)"),
                }
                if let Some(c) = &class {
                    println!("  network type {} ({})", c.kind, terminal_safe(&c.reason));
                }
            }
            if indicators.is_empty() {
                println!("  on no indicator feed lasthop has");
            }
            for i in &indicators {
                println!("  listed by {}", terminal_safe(&i.feed));
                if i.value != normalised {
                    println!("    as {} {}", i.kind, terminal_safe(&i.value));
                }
                if let Some(c) = &i.context {
                    println!("    {}", terminal_safe(c));
                }
                if i.first_reported.is_some() || i.last_reported.is_some() {
                    println!(
                        "    reported active {} to {}",
                        day(i.first_reported).unwrap_or_else(|| "?".into()),
                        day(i.last_reported).unwrap_or_else(|| "?".into())
                    );
                }
                if i.valid_from.is_some() || i.valid_until.is_some() {
                    println!(
                        "    valid {} to {}",
                        day(i.valid_from).unwrap_or_else(|| "…".into()),
                        day(i.valid_until).unwrap_or_else(|| "…".into())
                    );
                }
                if let Some(r) = &i.reference {
                    println!("    source: {}", terminal_safe(r));
                }
            }
            for w in &warned {
                println!("  on warning list \"{}\" (known-benign: not matched)", terminal_safe(w));
            }
        }
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
         Public Suffix List (publicsuffix.org), MPL 2.0, through the psl crate.\n  \
         Threat intelligence: {} indicators from Black Lotus Labs (github.com/blacklotuslabs/IOCs:\n    \
         SoHo-router botnets) and the APT40 advisory (PudgyDragon/IOCs, from CISA AA24-190A).\n  \
         MISP warning lists (BSD-3-Clause, MISP Project): known-benign values set aside.\n\
         See NOTICE for the full attributions.\n",
        db.source,
        lasthop_intel::feeds::bundled().indicators.len()
    )
}

/// CISA's feed of the KEV catalogue.
pub const KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";

/// Where fetched intelligence is kept: `$LASTHOP_DATA`, else `$XDG_DATA_HOME/lasthop`, else
/// `~/.local/share/lasthop`.
pub fn data_dir(given: Option<PathBuf>) -> Option<PathBuf> {
    given
        .or_else(|| std::env::var_os("LASTHOP_DATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("lasthop")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/lasthop")))
}

/// The fetched KEV catalogue's path inside a data directory.
pub fn kev_path(dir: &std::path::Path) -> PathBuf {
    dir.join("kev").join("known_exploited_vulnerabilities.json")
}

/// The KEV catalogue to use: the fetched one when it is newer than the bundled one.
pub fn kev_catalogue() -> lasthop_audit::kev::Catalogue {
    let bundled = lasthop_audit::kev::Catalogue::bundled();
    let Some(path) = data_dir(None).map(|d| kev_path(&d)) else { return bundled };
    let Ok(text) = std::fs::read_to_string(&path) else { return bundled };
    match lasthop_audit::kev::Catalogue::parse(&text) {
        Ok(fetched) if fetched.version > bundled.version => fetched,
        Ok(_) => bundled,
        Err(e) => {
            eprintln!("warning: {}: {e}; using the bundled KEV catalogue", path.display());
            bundled
        }
    }
}

/// Fetches the KEV catalogue with curl (no TLS stack compiled in for one download), checks that
/// it parses, and keeps it only if it does: a failed or partial download never replaces a
/// good copy.
fn update(url: &str, given: Option<PathBuf>) -> Result<Exit, Failure> {
    let dir = data_dir(given)
        .ok_or_else(|| anyhow::anyhow!("no data directory: give --data-dir or set LASTHOP_DATA"))
        .or_exit(Exit::Usage)?;
    let target = kev_path(&dir);
    let parent = target.parent().expect("the KEV path has a parent");
    std::fs::create_dir_all(parent)
        .with_context(|| format!("creating {}", parent.display()))
        .or_exit(Exit::StoreError)?;
    let partial = target.with_extension("json.partial");
    let fetched = std::process::Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location", "--max-time", "120", "--output"])
        .arg(&partial)
        .arg(url)
        .output();
    let output = match fetched {
        Ok(o) => o,
        Err(e) => {
            return Err(Failure {
                exit: Exit::UnreadableInput,
                error: anyhow::anyhow!("cannot run curl to fetch {url}: {e}"),
            });
        }
    };
    if !output.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(Failure {
            exit: Exit::UnreadableInput,
            error: anyhow::anyhow!(
                "fetching {url} failed (no network?): {}; the bundled catalogue stays in use",
                terminal_safe(String::from_utf8_lossy(&output.stderr).trim())
            ),
        });
    }
    let text = std::fs::read_to_string(&partial)
        .with_context(|| format!("reading {}", partial.display()))
        .or_exit(Exit::UnreadableInput)?;
    let catalogue = match lasthop_audit::kev::Catalogue::parse(&text) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(Failure {
                exit: Exit::UnreadableInput,
                error: anyhow::anyhow!("{url}: {e}; nothing was replaced"),
            });
        }
    };
    std::fs::rename(&partial, &target)
        .with_context(|| format!("keeping {}", target.display()))
        .or_exit(Exit::StoreError)?;
    let bundled = lasthop_audit::kev::Catalogue::bundled();
    println!(
        "KEV catalogue {} ({} entries) kept in {}; the bundled one is {}{}",
        terminal_safe(&catalogue.version),
        catalogue.entries.len(),
        target.display(),
        bundled.version,
        if catalogue.version > bundled.version { "" } else { " (not older: it stays in use)" }
    );
    Ok(Exit::Success)
}

/// The intelligence imported into a store (`intel/*.jsonl`); lines that do not parse are put in
/// `problems`.
pub(crate) fn stored_intel(
    store: &Path,
    problems: &mut Vec<String>,
) -> Result<lasthop_intel::IndicatorSet, Failure> {
    let files = lasthop_store::files::feed_files(store);
    lasthop_intel::stored::read(&files, problems).or_exit(Exit::StoreError)
}
