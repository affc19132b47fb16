//! Firmware versions compared as vendors write them: `7.0.12`, `1.4.2.20`, `9.1.17-h1`,
//! `6.45.9`, `13.1-49.13`, `15.2.1118.40`, `3.9.1.2(CS)`.

use std::cmp::Ordering;

/// A version split into numbers and words, compared piece by piece (numbers numerically).
#[derive(Debug, Clone)]
pub struct Version(Vec<Piece>, usize);

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Piece {
    // A word sorts before a number, so `7.0.0-beta` < `7.0.0.1`.
    Word(String),
    Number(u64),
}

impl Version {
    /// Parses the leading version of a text (`v7.0.12 build0523` → 7.0.12.0523); `None` when
    /// it holds no digit.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches(['v', 'V']);
        // Zyxel writes patches as `5.36(ABUJ.2)`: the model code in brackets, then the patch.
        let zyxel;
        let text = match text.split_once('(') {
            Some((head, tail))
                if tail.split_once('.').is_some_and(|(code, rest)| {
                    let patch = rest.split(')').next().unwrap_or("");
                    code.len() >= 3
                        && code.bytes().all(|b| b.is_ascii_alphabetic())
                        && !patch.is_empty()
                        && patch.bytes().all(|b| b.is_ascii_digit())
                }) =>
            {
                // `5.36(ABUJ.2)C0`: what follows the bracket is a build letter, not an order.
                let patch =
                    tail.split_once('.').and_then(|(_, p)| p.split(')').next()).unwrap_or("0");
                zyxel = format!("{head} patch {patch}");
                zyxel.as_str()
            }
            _ => text,
        };
        let mut pieces = Vec::new();
        let mut current = String::new();
        let mut digits = false;
        let flush = |pieces: &mut Vec<Piece>, current: &mut String, digits: bool| {
            if current.is_empty() {
                return;
            }
            pieces.push(if digits {
                Piece::Number(current.parse().unwrap_or(u64::MAX))
            } else {
                Piece::Word(current.to_ascii_lowercase())
            });
            current.clear();
        };
        for c in text.chars() {
            if c.is_ascii_digit() {
                if !digits {
                    flush(&mut pieces, &mut current, false);
                }
                digits = true;
                current.push(c);
            } else if c.is_ascii_alphabetic() {
                if digits {
                    flush(&mut pieces, &mut current, true);
                }
                digits = false;
                current.push(c);
            } else {
                flush(&mut pieces, &mut current, digits);
                if c.is_whitespace() && pieces.iter().any(|p| matches!(p, Piece::Number(_))) {
                    // `7.0.12 build0523`: what follows a space is a build tag, kept.
                }
            }
        }
        flush(&mut pieces, &mut current, digits);
        // How many numbers lead before the first word: `7.0 build 1234` gives only a train.
        let core = pieces.iter().take_while(|p| matches!(p, Piece::Number(_))).count();
        // "build", "h" (hotfix) and similar tags add nothing to the order of the numbers.
        pieces.retain(|p| !matches!(p, Piece::Word(w) if matches!(w.as_str(), "build" | "b" | "r" | "h" | "rev" | "p" | "patch" | "mr" | "rel" | "release")));
        pieces.iter().any(|p| matches!(p, Piece::Number(_))).then_some(Version(pieces, core))
    }

    /// How many numbers the version has before its first word (`10.2.9-h1` → 3, `7.0 build 1`
    /// → 2): fewer than a fix's means the version names a train, not a release.
    pub fn core(&self) -> usize {
        self.1
    }

    /// Whether this version starts with `branch` (`7.0.12` is in `7.0`; an empty branch holds
    /// every version).
    pub fn in_branch(&self, branch: &str) -> bool {
        match Version::parse(branch) {
            None => branch.trim().is_empty(),
            Some(b) => b.0.len() <= self.0.len() && b.0.iter().zip(&self.0).all(|(x, y)| x == y),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // Missing trailing numbers count as zero (7.0 == 7.0.0); trailing words where the other
        // version has ended are labels, not an order (`13.1-49.15.nc`, `6.49.10 (long-term)`).
        let n = self.0.len().max(other.0.len());
        for i in 0..n {
            let (a, b) = match (self.0.get(i), other.0.get(i)) {
                (Some(a), Some(b)) => (a.clone(), b.clone()),
                (Some(_), None) if self.0[i..].iter().all(|p| matches!(p, Piece::Word(_))) => {
                    return Ordering::Equal;
                }
                (None, Some(_)) if other.0[i..].iter().all(|p| matches!(p, Piece::Word(_))) => {
                    return Ordering::Equal;
                }
                (a, b) => {
                    (a.cloned().unwrap_or(Piece::Number(0)), b.cloned().unwrap_or(Piece::Number(0)))
                }
            };
            match a.cmp(&b) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn versions_order_as_vendors_mean_them() {
        assert!(v("1.4.2.19") < v("1.4.2.20"));
        assert!(v("7.0.9") < v("7.0.12"));
        assert!(v("9.1.17-h1") > v("9.1.17"));
        assert!(v("10.2.9-h1") < v("10.2.9-h2"));
        assert!(v("13.1-49.13") < v("13.1-49.15"));
        assert!(v("6.45.9") < v("6.49"));
        assert_eq!(v("7.0"), v("7.0.0"));
        assert!(v("v22.1R3") > v("22.1R2"));
        assert!(Version::parse("unknown").is_none());
        // Zyxel's bracketed patch level, TP-Link's build tags.
        assert_eq!(v("V5.36(ABUJ.2)"), v("5.36 Patch 2"));
        assert!(v("V5.36(ABUJ.0)") < v("5.36 Patch 2"));
        assert!(v("1.1.4 Build 20230219 rel.73904(5553)") >= v("1.1.4 Build 20230219"));
        assert!(v("15.0(2)SE") < v("15.0(2)SE11"));
        assert_eq!(v("V5.36(ABUJ.2)C0"), v("5.36 Patch 2"));
        assert_eq!(v("13.1-49.15.nc"), v("13.1-49.15"));
        assert_eq!(v("6.49.10 (long-term)"), v("6.49.10"));
        assert_eq!(v("17.9.4a"), v("17.9.4"));
        assert_eq!(
            (v("7.0 build 1234").core(), v("10.2.9-h1").core(), v("22.4R2.2").core()),
            (2, 3, 2)
        );
    }

    #[test]
    fn branches_are_prefixes() {
        assert!(v("7.0.12").in_branch("7.0"));
        assert!(!v("7.2.1").in_branch("7.0"));
        assert!(v("7.2.1").in_branch(""));
        assert!(!v("7").in_branch("7.0.1"));
    }
}
