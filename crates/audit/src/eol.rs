//! End of life: endoflife.date's release cycles for the edge products it tracks, and a table of
//! SoHo hardware those pages miss (bundled, cited, extendable with `--eol-table FILE`).

use serde::Deserialize;

use crate::version::Version;

/// endoflife.date pages bundled (MIT): file name, and the (vendor, product) keys they describe.
const PAGES: &[(&str, &str, &str, &str)] = &[
    ("big-ip", "f5", "big-ip", include_str!("../data/endoflife/big-ip.md")),
    ("cisco-ios-xe", "cisco", "ios xe", include_str!("../data/endoflife/cisco-ios-xe.md")),
    (
        "confluence",
        "atlassian",
        "confluence server",
        include_str!("../data/endoflife/confluence.md"),
    ),
    ("fortios", "fortinet", "fortios", include_str!("../data/endoflife/fortios.md")),
    ("msexchange", "microsoft", "exchange server", include_str!("../data/endoflife/msexchange.md")),
    ("openwrt", "openwrt", "openwrt", include_str!("../data/endoflife/openwrt.md")),
    ("opnsense", "opnsense", "opnsense", include_str!("../data/endoflife/opnsense.md")),
    ("pan-gp", "paloalto", "globalprotect", include_str!("../data/endoflife/pan-gp.md")),
    ("pan-os", "paloalto", "pan-os", include_str!("../data/endoflife/pan-os.md")),
    ("routeros", "mikrotik", "routeros", include_str!("../data/endoflife/routeros.md")),
    ("sns-firmware", "stormshield", "sns", include_str!("../data/endoflife/sns-firmware.md")),
];

static SOHO: &str = include_str!("../data/soho_eol.toml");

/// One release cycle of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub cycle: String,
    /// End of security support: a date (`YYYY-MM-DD`), or "true"/"false" when the page gives no
    /// date.
    pub eol: String,
}

/// A product's cycles, from one endoflife.date page.
#[derive(Debug, Clone)]
pub struct Product {
    pub page: &'static str,
    pub vendor: &'static str,
    pub product: &'static str,
    pub cycles: Vec<Cycle>,
}

/// A SoHo model past its end of life.
#[derive(Debug, Clone, Deserialize)]
pub struct Hardware {
    pub vendor: String,
    pub model: String,
    #[serde(default = "yes")]
    pub eol: bool,
    #[serde(default)]
    pub date: String,
    pub source: String,
    #[serde(default)]
    pub source_title: String,
    #[serde(default)]
    pub note: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct HardwareFile {
    #[serde(default)]
    device: Vec<Hardware>,
}

/// A verdict on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Past end of support today.
    pub ended: bool,
    /// The date support ends or ended, when known.
    pub date: Option<String>,
    /// What said so: `endoflife.date fortios 6.4`, or the SoHo table's source.
    pub source: String,
}

/// Bundled release cycles.
pub fn products() -> Vec<Product> {
    PAGES
        .iter()
        .map(|(page, vendor, product, text)| Product {
            page,
            vendor,
            product,
            cycles: cycles(text),
        })
        .collect()
}

/// The bundled SoHo table.
pub fn bundled_hardware() -> Vec<Hardware> {
    parse_hardware(SOHO).expect("the bundled SoHo end-of-life table parses")
}

/// Reads a SoHo end-of-life table (`--eol-table`).
pub fn parse_hardware(text: &str) -> Result<Vec<Hardware>, String> {
    toml::from_str::<HardwareFile>(text).map(|f| f.device).map_err(|e| e.to_string())
}

/// The `releases:` list of an endoflife.date page's front matter. The pages' YAML is regular
/// (`- releaseCycle: "7.0"` then indented `key: value` lines), so a line reader does.
fn cycles(page: &str) -> Vec<Cycle> {
    let front = page.split("\n---").next().unwrap_or("");
    let mut out: Vec<Cycle> = Vec::new();
    let mut in_releases = false;
    for line in front.lines() {
        if line.starts_with("releases:") {
            in_releases = true;
            continue;
        }
        if in_releases && !line.is_empty() && !line.starts_with(' ') {
            break;
        }
        let item = line.trim();
        let (item, new) = match item.strip_prefix("- ") {
            Some(rest) => (rest, true),
            None => (item, false),
        };
        let Some((key, value)) = item.split_once(':') else { continue };
        let value = value.trim().trim_matches(['"', '\'']).to_string();
        match key.trim() {
            "releaseCycle" if new || in_releases => {
                out.push(Cycle { cycle: value, eol: String::new() })
            }
            "eol" => {
                if let Some(c) = out.last_mut() {
                    c.eol = value;
                }
            }
            _ => {}
        }
    }
    out
}

/// Exchange's cycles are named by year; its builds by number.
fn exchange_cycle(version: &str) -> Option<&'static str> {
    let v = Version::parse(version)?;
    [("15.2", "2019"), ("15.1", "2016"), ("15.0", "2013"), ("14", "2010"), ("8", "2007")]
        .into_iter()
        .find(|(prefix, _)| v.in_branch(prefix))
        .map(|(_, year)| year)
}

fn ended(eol: &str, today: &str) -> (bool, Option<String>) {
    match eol {
        "true" => (true, None),
        "false" | "" => (false, None),
        date => (date <= today, Some(date.to_string())),
    }
}

impl Product {
    /// The verdict for a version of this product: its cycle is the longest `releaseCycle` the
    /// version starts with.
    pub fn verdict(&self, version: &str, today: &str) -> Option<Verdict> {
        let cycle = if self.product == "exchange server" {
            let year = exchange_cycle(version).or_else(|| {
                let y = version.trim();
                ["2019", "2016", "2013", "2010", "2007"].into_iter().find(|c| y.contains(c))
            })?;
            self.cycles.iter().find(|c| c.cycle == year)?
        } else {
            let v = Version::parse(version)?;
            self.cycles.iter().filter(|c| v.in_branch(&c.cycle)).max_by_key(|c| c.cycle.len())?
        };
        let (ended, date) = ended(&cycle.eol, today);
        Some(Verdict {
            ended,
            date,
            source: format!("endoflife.date {} {}", self.page, cycle.cycle),
        })
    }
}

impl Hardware {
    /// Whether `model` (as an inventory writes it) is this model: the table's model as a whole
    /// word or a prefix of one (`rv320` matches `RV320-K9`, not `RV3200`).
    pub fn matches(&self, vendor: &str, model: &str) -> bool {
        if self.vendor != vendor {
            return false;
        }
        // A model name longer than any real one is someone else's text: only its start counts.
        let model: String = model
            .chars()
            .take(128)
            .map(|c| if c == '_' { ' ' } else { c.to_ascii_lowercase() })
            .collect();
        let wanted: Vec<char> =
            self.model.to_ascii_lowercase().chars().filter(|c| !matches!(c, ' ' | '_')).collect();
        let chars: Vec<char> = model.chars().collect();
        // At each word start, the text without spaces must begin with the model and not go on
        // with a digit (`rv320` is not `rv3200`; `vigor 2960` is `vigor2960`).
        (0..chars.len()).any(|i| {
            if i > 0 && chars[i - 1].is_ascii_alphanumeric() {
                return false;
            }
            let mut rest = chars[i..].iter().filter(|c| **c != ' ');
            wanted.iter().all(|w| rest.next() == Some(w))
                && !rest.next().is_some_and(|c| c.is_ascii_digit())
        })
    }

    pub fn verdict(&self, today: &str) -> Verdict {
        let (ended, date) = if self.date.is_empty() {
            (self.eol, None)
        } else {
            (self.eol && self.date.as_str() <= today, Some(self.date.clone()))
        };
        Verdict { ended, date, source: self.source.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_cycles_are_read_from_every_page() {
        for p in products() {
            assert!(p.cycles.len() >= 2, "{}: {:?}", p.page, p.cycles);
            assert!(p.cycles.iter().all(|c| !c.eol.is_empty()), "{}: {:?}", p.page, p.cycles);
        }
        let fortios = products().into_iter().find(|p| p.page == "fortios").unwrap();
        let old = fortios.verdict("6.4.9", "2026-11-27").unwrap();
        assert!(old.ended);
        assert_eq!(old.date.as_deref(), Some("2024-09-30"));
        let new = fortios.verdict("7.4.3", "2026-11-27").unwrap();
        assert!(!new.ended);
        assert!(fortios.verdict("5.6.1", "2026-11-27").is_none(), "a cycle the page does not list");
        let exchange = products().into_iter().find(|p| p.page == "msexchange").unwrap();
        assert!(exchange.verdict("15.1.2375.7", "2026-11-27").unwrap().ended);
    }

    #[test]
    fn hardware_models_match_as_words() {
        let h = Hardware {
            vendor: "cisco".into(),
            model: "rv320".into(),
            eol: true,
            date: String::new(),
            source: "https://example.invalid".into(),
            source_title: String::new(),
            note: String::new(),
        };
        assert!(h.matches("cisco", "RV320"));
        assert!(h.matches("cisco", "Small Business RV320-K9-G5"));
        assert!(!h.matches("cisco", "RV3200"));
        assert!(!h.matches("netgear", "RV320"));
        assert!(h.verdict("2026-01-01").ended);
    }

    #[test]
    fn the_bundled_soho_table_cites_every_row() {
        for h in bundled_hardware() {
            assert!(h.source.starts_with("https://"), "{h:?}");
        }
    }
}
