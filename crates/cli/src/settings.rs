//! Analysis settings shared by `hunt`, `sql` and `demo`: from flags, over a TOML config file
//! (`--config`), over the defaults. Every key of the file has a flag of the same name.
//!
//! ```toml
//! internal = ["64.225.56.201/32"]   # added to RFC 1918, CGNAT, link-local, ULA, loopback
//! default_internal = true
//! safelist = ["safelist.txt"]        # relative to the config file
//! builtin_safelist = true
//! proxies = ["10.0.0.238"]
//! scorer = "lasthop"                 # or "rita"
//! timezone = "Australia/Sydney"
//! working_hours = "08-18"
//! workdays = "mon-fri"
//! strobe_threshold = 86400
//! min_beacon_score = 0.6
//! rules = ["sigma/"]                 # Sigma rule folders, besides the bundled ones
//! assets = ["assets.csv"]            # which machine had which address (CSV: address,host,…)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use lasthop_detect::detectors::{HuntOptions, Scorer};
use lasthop_detect::scoring::beacon::WorkingHours;
use lasthop_detect::sigma::RuleSet;
use lasthop_intel::Classifier;
use lasthop_normalise::{Cidr, Networks};
use lasthop_sinks::terminal_safe;
use lasthop_sources::Diagnostics;
use lasthop_sources::assets::Assets;
use lasthop_sources::safelist::Safelist;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Args, Debug, Clone, Default)]
pub struct SettingsArgs {
    /// TOML file with any of the settings below (flags win).
    #[arg(long, help_heading = "Analysis")]
    pub config: Option<PathBuf>,
    /// Internal address ranges, added to the defaults (RFC 1918, CGNAT, link-local, ULA).
    #[arg(long, value_delimiter = ',', help_heading = "Analysis")]
    pub internal: Vec<String>,
    /// Only the --internal ranges are internal.
    #[arg(long, help_heading = "Analysis")]
    pub no_default_internal: bool,
    /// Safelist of prefixes, names (`*.example.com`) and pairs to leave out (repeatable).
    #[arg(long, help_heading = "Analysis")]
    pub safelist: Vec<PathBuf>,
    /// Do not leave out the built-in list of update, telemetry and certificate services.
    #[arg(long, help_heading = "Analysis")]
    pub no_builtin_safelist: bool,
    /// Explicit proxy addresses, besides those seen answering HTTP CONNECT.
    #[arg(long, value_delimiter = ',', help_heading = "Analysis")]
    pub proxy: Vec<String>,
    /// Network-type overrides: lines of `AS64500 residential` or `203.0.113.0/24 hosting`.
    #[arg(long, help_heading = "Analysis")]
    pub network_types: Option<PathBuf>,
    /// Asset list: CSV of address,host[,mac,from,until] naming the machine behind an internal
    /// address, so its findings keep their ids when its address changes (repeatable; DHCP
    /// leases in the store are used without it).
    #[arg(long, help_heading = "Analysis")]
    pub assets: Vec<PathBuf>,
    /// Beacon scorer: lasthop (default) or rita (RITA v5's score over the last 24 hours).
    #[arg(long, help_heading = "Analysis")]
    pub scorer: Option<String>,
    /// The site's time zone for working hours (IANA name, e.g. Australia/Sydney) [default: UTC].
    #[arg(long, help_heading = "Analysis")]
    pub timezone: Option<String>,
    /// The site's working hours, START-END [default: 08-18].
    #[arg(long, help_heading = "Analysis")]
    pub working_hours: Option<String>,
    /// Working days, e.g. mon-fri, sun-thu or mon,tue,thu [default: mon-fri].
    #[arg(long, help_heading = "Analysis")]
    pub workdays: Option<String>,
    /// Connections in 24 hours at which a pair is a strobe, not a beacon [default: 86400].
    #[arg(long, help_heading = "Analysis")]
    pub strobe_threshold: Option<u64>,
    /// Lowest lasthop beacon score reported [default: 0.6].
    #[arg(long, help_heading = "Analysis")]
    pub min_beacon_score: Option<f64>,
    /// A folder of Sigma rules to run besides the bundled webserver and proxy rules (repeatable).
    #[arg(long = "rules", help_heading = "Analysis")]
    pub rules: Vec<PathBuf>,
    /// Largest compiled program (bytes) a regular expression of the --rules may have; larger
    /// ones are reported and their rules not run [default: 1 MiB].
    #[arg(long, help_heading = "Resources")]
    pub max_regex_bytes: Option<usize>,
    /// Memory the hunt may use in all (`1G`, `4G`; `none` for no limit; at least 384M): the
    /// query engine gets what is left after lasthop's own 256 MiB, less a quarter of headroom,
    /// and past that its sorts and aggregations spill to disk. Default: half the machine's memory.
    #[arg(long, value_name = "SIZE", help_heading = "Resources")]
    pub memory_limit: Option<String>,
    /// The query engine's pool itself, with no floor (tests that force spilling).
    #[arg(long, value_name = "SIZE", hide = true, conflicts_with = "memory_limit")]
    pub query_memory: Option<String>,
    /// Where spills go [default: the OS's temporary directory].
    #[arg(long, value_name = "DIR", help_heading = "Resources")]
    pub spill_dir: Option<PathBuf>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    internal: Vec<String>,
    default_internal: Option<bool>,
    #[serde(default)]
    safelist: Vec<PathBuf>,
    builtin_safelist: Option<bool>,
    #[serde(default)]
    proxies: Vec<String>,
    scorer: Option<String>,
    timezone: Option<String>,
    working_hours: Option<String>,
    workdays: Option<String>,
    strobe_threshold: Option<u64>,
    min_beacon_score: Option<f64>,
    network_types: Option<PathBuf>,
    #[serde(default)]
    rules: Vec<PathBuf>,
    #[serde(default)]
    assets: Vec<PathBuf>,
}

pub use lasthop_hunt::Settings;

/// `24h`, `7d`, `2w`, `90m` → microseconds.
pub fn parse_window(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 =
        number.parse().map_err(|_| format!("{text:?} is not a window such as 24h, 7d or 30d"))?;
    let unit_s = match unit {
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{text:?}: the unit must be m, h, d or w")),
    };
    if n <= 0 {
        return Err(format!("{text:?}: the window must be longer than zero"));
    }
    Ok(n.saturating_mul(unit_s).saturating_mul(1_000_000))
}

/// `512M`, `4G`, `1.5G`, `1048576` → bytes; `none` or `0` → no limit.
pub fn parse_size(text: &str) -> Result<Option<usize>, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "none" || t == "0" {
        return Ok(None);
    }
    let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], t[i..].trim_end_matches(['b', 'i'])),
        None => (t.as_str(), ""),
    };
    let value: f64 =
        number.trim().parse().map_err(|_| format!("{text:?} is not a size such as 512M or 4G"))?;
    let scale = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{text:?}: unknown unit (K, M, G or T)")),
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < (16 << 20) as f64 {
        return Err(format!("{text:?} is below the 16M the query engine needs"));
    }
    Ok(Some(bytes as usize))
}

/// What lasthop holds outside the query engine's accounted memory: the program, the bundled
/// intelligence and rules once decoded (measured: 187 MiB for a hunt over one record).
const PROCESS_BASELINE: usize = 256 << 20;

/// The smallest process memory limit lasthop accepts: the baseline and a query pool of 96 MiB,
/// below which the hunt's joins and sorts cannot hold even one batch per partition.
pub const MIN_MEMORY_LIMIT: usize = PROCESS_BASELINE + (128 << 20);

/// A process memory limit the user gave (`--memory-limit`), checked against
/// [`MIN_MEMORY_LIMIT`]; `None` for no limit.
pub fn process_memory_limit(text: &str) -> Result<Option<usize>, String> {
    let limit = parse_size(text).map_err(|e| format!("--memory-limit: {e}"))?;
    match limit {
        Some(bytes) if bytes < MIN_MEMORY_LIMIT => Err(format!(
            "--memory-limit {text} is below the minimum of {} MiB (the program with its \
             intelligence and rules takes {} MiB before any query runs)",
            MIN_MEMORY_LIMIT >> 20,
            PROCESS_BASELINE >> 20
        )),
        other => Ok(other),
    }
}

/// The query engine's share of a memory limit the user gave for the whole process: what is left
/// after the baseline, less a quarter for what the engine does not account for (Parquet
/// decoding, the allocator's own overhead). Measured on a hunt of 63 M connections (10 GB) in a
/// 1 GiB cgroup: 984 and 1,016 MiB peak resident in two runs. A smaller share is not safer: the
/// beacon analysis's spilled sort then writes more runs and its merge holds more (1,095 MiB and
/// the OOM killer with a third held back; see docs/reliability.md).
pub fn query_pool(process_limit: usize) -> usize {
    (process_limit.saturating_sub(PROCESS_BASELINE) / 4 * 3).max(16 << 20)
}

/// Half the machine's memory, from /proc/meminfo; `None` where it cannot be read.
fn default_memory_limit() -> Option<usize> {
    let kib = crate::logging::proc_kib("/proc/meminfo", "MemTotal:")?;
    Some(kib as usize * 1024 / 2)
}

impl SettingsArgs {
    pub fn resolve(&self) -> anyhow::Result<Settings> {
        let (file, base) = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config {}", path.display()))?;
                let file: ConfigFile =
                    toml::from_str(&text).map_err(|e| anyhow!("config {}: {e}", path.display()))?;
                (file, path.parent().map(Path::to_path_buf).unwrap_or_default())
            }
            None => (ConfigFile::default(), PathBuf::new()),
        };
        let mut internal = if self.no_default_internal || file.default_internal == Some(false) {
            Networks::empty()
        } else {
            Networks::default()
        };
        for list in file.internal.iter().chain(&self.internal) {
            internal.add(list).map_err(|e| anyhow!("--internal: {e}"))?;
        }
        let mut safelist = Safelist::default();
        let mut diagnostics = Diagnostics::default();
        let files = file.safelist.iter().map(|p| base.join(p)).chain(self.safelist.iter().cloned());
        for path in files {
            let one = Safelist::load(&path, &mut diagnostics)
                .with_context(|| format!("reading safelist {}", path.display()))?;
            safelist.extend(one);
        }
        let mut assets = Assets::default();
        for path in file.assets.iter().map(|p| base.join(p)).chain(self.assets.iter().cloned()) {
            assets.add_file(&path, &mut diagnostics).map_err(|e| anyhow!("--assets: {e}"))?;
        }
        for w in &diagnostics.samples {
            eprintln!("warning: {}", terminal_safe(&w.to_string()));
        }
        let mut proxies = Vec::new();
        for p in file.proxies.iter().chain(&self.proxy) {
            proxies.push(
                Cidr::parse(p)
                    .ok_or_else(|| anyhow!("--proxy: {p:?} is not an address or prefix"))?,
            );
        }
        let scorer = match self.scorer.as_deref().or(file.scorer.as_deref()).unwrap_or("lasthop") {
            "lasthop" => Scorer::Lasthop,
            "rita" => Scorer::Rita,
            other => bail!("--scorer: {other:?} is not lasthop or rita"),
        };
        let mut hours = WorkingHours::default();
        if let Some(tz) = self.timezone.as_deref().or(file.timezone.as_deref()) {
            hours.tz =
                tz.parse().map_err(|_| anyhow!("--timezone: {tz:?} is not an IANA time zone"))?;
        }
        if let Some(spec) = self.working_hours.as_deref().or(file.working_hours.as_deref()) {
            hours = hours.with_hours(spec).map_err(|e| anyhow!("--working-hours: {e}"))?;
        }
        if let Some(spec) = self.workdays.as_deref().or(file.workdays.as_deref()) {
            hours = hours.with_workdays(spec).map_err(|e| anyhow!("--workdays: {e}"))?;
        }
        let network_types =
            match self.network_types.clone().or(file.network_types.map(|p| base.join(p))) {
                Some(path) => Arc::new(Classifier::with_overrides(&path)?),
                None => Arc::new(Classifier::bundled().clone()),
            };
        let mut hunt = HuntOptions {
            network_types,
            scorer,
            working_hours: Some(hours),
            internal: internal.clone(),
            safelist,
            builtin_safelist: !self.no_builtin_safelist && file.builtin_safelist != Some(false),
            proxies,
            assets: Arc::new(assets),
            ..HuntOptions::default()
        };
        if let Some(n) = self.strobe_threshold.or(file.strobe_threshold) {
            if n == 0 {
                bail!("--strobe-threshold must be at least 1");
            }
            hunt.strobe_threshold = n;
        }
        if let Some(s) = self.min_beacon_score.or(file.min_beacon_score) {
            if !(0.0..=1.0).contains(&s) {
                bail!("--min-beacon-score must be between 0 and 1");
            }
            hunt.min_beacon_score = s;
        }
        let mut rules = RuleSet::bundled();
        if let Some(bytes) = self.max_regex_bytes {
            rules.set_regex_size_limit(bytes);
        }
        for dir in file.rules.iter().map(|p| base.join(p)).chain(self.rules.iter().cloned()) {
            rules.add_dir(&dir).with_context(|| format!("reading rules {}", dir.display()))?;
        }
        for r in rules.rejected.iter().filter(|r| !r.origin.starts_with("SigmaHQ/")) {
            eprintln!(
                "warning: rule {} ({}) not compiled: {}",
                terminal_safe(&r.origin),
                terminal_safe(&r.id),
                terminal_safe(&r.reason)
            );
        }
        let memory_limit = match (&self.memory_limit, &self.query_memory) {
            (_, Some(pool)) => parse_size(pool).map_err(|e| anyhow!("--query-memory: {e}"))?,
            (Some(text), None) => {
                process_memory_limit(text).map_err(|e| anyhow!(e))?.map(query_pool)
            }
            (None, None) => default_memory_limit().map(query_pool),
        };
        if let Some(dir) = &self.spill_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--spill-dir: creating {}", dir.display()))?;
        }
        Ok(Settings {
            hunt,
            internal,
            rules: Arc::new(rules),
            memory_limit,
            spill_dir: self.spill_dir.clone(),
            window_us: None,
            cluster: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("512M"), Ok(Some(512 << 20)));
        assert_eq!(parse_size("4G"), Ok(Some(4 << 30)));
        assert_eq!(parse_size("1.5GiB"), Ok(Some(3 << 29)));
        assert_eq!(parse_size("none"), Ok(None));
        assert!(parse_size("1K").is_err(), "too small to run");
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn windows_parse_with_units() {
        assert_eq!(parse_window("24h"), Ok(24 * 3_600_000_000));
        assert_eq!(parse_window("7d"), Ok(7 * 86_400_000_000));
        assert_eq!(parse_window("2w"), Ok(14 * 86_400_000_000));
        assert!(
            parse_window("0d").is_err()
                && parse_window("soon").is_err()
                && parse_window("3y").is_err()
        );
    }
}
