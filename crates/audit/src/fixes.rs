//! Fixed versions for the CVEs that matter most here — the advisory's and those the SoHo
//! botnets exploit — taken from the vendors' advisories (each row cites one), so that a known
//! firmware version is "affected" or "fixed" instead of "check the version".
//!
//! A version in a listed branch is judged against that branch's fix; one lower than
//! `affected_below` is affected; one newer than every listed fix is fixed (advisories list every
//! affected train, so a later train came after the fix); anything else is "check the advisory".

use serde::Deserialize;

use crate::version::Version;

static BUNDLED: &str = include_str!("../data/fixed_versions.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Branch {
    #[serde(default)]
    pub branch: String,
    pub fixed: String,
}

/// One CVE × product row.
#[derive(Debug, Clone, Deserialize)]
pub struct Fix {
    pub cve: String,
    pub vendor: String,
    pub product: String,
    #[serde(default)]
    pub branches: Vec<Branch>,
    #[serde(default)]
    pub affected_below: String,
    #[serde(default)]
    pub no_fix: bool,
    pub source: String,
    #[serde(default)]
    pub source_title: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize)]
struct File {
    fix: Vec<Fix>,
}

/// What a version is, against one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Lower than the fix of its branch (or than `affected_below`).
    Affected {
        fixed_in: Option<String>,
    },
    Fixed,
    /// The vendor ships no fix.
    NoFix,
    /// The version's branch is not in the table: check the advisory.
    Unknown,
}

pub fn bundled() -> Vec<Fix> {
    parse(BUNDLED).expect("the bundled fixed-version table parses")
}

pub fn parse(text: &str) -> Result<Vec<Fix>, String> {
    toml::from_str::<File>(text).map(|f| f.fix).map_err(|e| e.to_string())
}

impl Fix {
    pub fn status(&self, version: &str) -> Status {
        if self.no_fix {
            return Status::NoFix;
        }
        let Some(v) = Version::parse(version) else { return Status::Unknown };
        // The most specific branch the version is in decides.
        let branch =
            self.branches.iter().filter(|b| v.in_branch(&b.branch)).max_by_key(|b| b.branch.len());
        if let Some(b) = branch
            && let Some(fixed) = Version::parse(&b.fixed)
        {
            // `7.0` or `7.0 build 1234` against a fix `7.0.14`: the train, not the release.
            let train = Version::parse(&b.branch).map(|t| t.core()).unwrap_or(0);
            if train > 0 && v.core() <= train && v.core() < fixed.core() {
                return Status::Unknown;
            }
            return if v < fixed {
                Status::Affected { fixed_in: Some(b.fixed.clone()) }
            } else {
                Status::Fixed
            };
        }
        // A release train newer than every fixed release the advisory lists came after the
        // fix (vendors list every affected train): fixed.
        let newest_fix = self.branches.iter().filter_map(|b| Version::parse(&b.fixed)).max();
        if newest_fix.as_ref().is_some_and(|f| v >= *f) {
            return Status::Fixed;
        }
        if let Some(below) = Version::parse(&self.affected_below)
            && v < below
        {
            let fixed_in = self
                .branches
                .iter()
                .map(|b| b.fixed.clone())
                .min_by(|a, b| Version::parse(a).cmp(&Version::parse(b)));
            return Status::Affected { fixed_in };
        }
        Status::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(branches: &[(&str, &str)], below: &str) -> Fix {
        Fix {
            cve: "CVE-0000-0001".into(),
            vendor: "v".into(),
            product: "p".into(),
            branches: branches
                .iter()
                .map(|(b, f)| Branch { branch: b.to_string(), fixed: f.to_string() })
                .collect(),
            affected_below: below.into(),
            no_fix: false,
            source: "https://example.invalid".into(),
            source_title: String::new(),
            note: String::new(),
        }
    }

    #[test]
    fn versions_are_judged_by_their_branch() {
        let f = fix(&[("7.0", "7.0.7"), ("7.2", "7.2.2")], "7.0");
        assert_eq!(f.status("7.0.6"), Status::Affected { fixed_in: Some("7.0.7".into()) });
        assert_eq!(f.status("7.0.12"), Status::Fixed);
        assert_eq!(f.status("7.2.1"), Status::Affected { fixed_in: Some("7.2.2".into()) });
        assert_eq!(f.status("6.4.9"), Status::Affected { fixed_in: Some("7.0.7".into()) });
        assert_eq!(f.status("7.4.0"), Status::Fixed, "a train newer than every fix");
        assert_eq!(f.status("7.1.3"), Status::Unknown, "a train between the listed ones");
        assert_eq!(f.status("unknown"), Status::Unknown);
        assert_eq!(f.status("7.0"), Status::Unknown, "a train, not a release");
        assert_eq!(f.status("7.0 build 1234"), Status::Unknown);
        let any = fix(&[("", "1.4.2.20")], "");
        assert_eq!(any.status("1.4.2.15"), Status::Affected { fixed_in: Some("1.4.2.20".into()) });
        assert_eq!(any.status("1.4.2.22"), Status::Fixed);
    }

    #[test]
    fn every_bundled_row_cites_a_source_and_parses_its_versions() {
        let rows = bundled();
        assert!(rows.len() >= 10, "{} rows", rows.len());
        for r in &rows {
            assert!(r.source.starts_with("https://"), "{}: {}", r.cve, r.source);
            assert!(r.cve.starts_with("CVE-"), "{}", r.cve);
            for b in &r.branches {
                assert!(
                    Version::parse(&b.fixed).is_some(),
                    "{} {}: {:?}",
                    r.cve,
                    r.product,
                    b.fixed
                );
            }
            assert!(
                r.no_fix || !r.branches.is_empty() || !r.affected_below.is_empty(),
                "{}",
                r.cve
            );
        }
    }
}
