//! What went wrong while reading, counted by reason, with the first few cases named by file and
//! line so that a person can go and look.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Why a line, a field or a whole file was not stored as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// A line longer than the limit; skipped.
    LineTooLong,
    /// A TSV line whose field count differs from its `#fields` header; skipped.
    WrongFieldCount,
    /// A `ts` that is missing or not a time; the line is skipped since nothing can be placed
    /// in time without it.
    BadTimestamp,
    /// A field whose text does not fit its type; the record is kept with that field null.
    BadValue,
    /// Bytes that are not UTF-8; the record is kept with those bytes replaced.
    InvalidUtf8,
    /// Data lines before any `#fields` header; skipped.
    NoHeader,
    /// A malformed header line (`#fields` and `#types` disagree, a bad separator); the block that
    /// follows cannot be read.
    BadHeader,
    /// A JSON line that does not parse as an object; skipped.
    BadJson,
    /// A record whose log type is not one lasthop stores (the type is named in the detail).
    UnsupportedLogType,
    /// A file whose content is neither Zeek TSV nor JSON lines.
    UnrecognisedFormat,
    /// A read or decompression error (a truncated gzip, an unreadable file); what was read
    /// before it is kept.
    ReadError,
    /// A file that changed while it was read (a live log); it is left for a later run.
    StillBeingWritten,
    /// A record already in the store (the same uid and ts arriving twice).
    Duplicate,
    /// A threat-intelligence entry that is not a valid indicator (a bad address, an unparsable
    /// STIX object, a MISP attribute without a value); skipped.
    BadIndicator,
    /// A well-formed indicator of a kind lasthop cannot match in network logs (a YARA or Snort
    /// pattern, a STIX pattern joining several observations, a registry key); skipped.
    UnsupportedIndicator,
    /// A row of a list the user keeps (an asset list) that cannot be read; skipped.
    BadRow,
    /// A record with more extra fields or a set with more items than the limits allow
    /// (`--max-fields`, `--max-set-items`); kept with the excess dropped.
    Truncated,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::LineTooLong => "line too long",
            Reason::WrongFieldCount => "wrong field count",
            Reason::BadTimestamp => "bad timestamp",
            Reason::BadValue => "bad value (field set to null)",
            Reason::InvalidUtf8 => "invalid UTF-8 (replaced)",
            Reason::NoHeader => "data before #fields header",
            Reason::BadHeader => "bad header",
            Reason::BadJson => "bad JSON",
            Reason::UnsupportedLogType => "unsupported log type",
            Reason::UnrecognisedFormat => "unrecognised file format",
            Reason::ReadError => "read error",
            Reason::StillBeingWritten => "still being written",
            Reason::Duplicate => "duplicate record",
            Reason::BadIndicator => "malformed indicator (skipped)",
            Reason::UnsupportedIndicator => "indicator lasthop cannot match (skipped)",
            Reason::BadRow => "unreadable row (skipped)",
            Reason::Truncated => "over a record limit (excess dropped)",
        }
    }

    /// True when the record itself was lost, as opposed to kept with a repair.
    pub fn drops_record(self) -> bool {
        !matches!(self, Reason::BadValue | Reason::InvalidUtf8 | Reason::Truncated)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One reported case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: PathBuf,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: u64,
    pub reason: Reason,
    pub detail: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}: {}", self.file.display(), self.line, self.reason, self.detail)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.reason, self.detail)
        }
    }
}

/// Counts by reason plus the first few warnings of each reason.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub counts: BTreeMap<Reason, u64>,
    pub samples: Vec<Warning>,
    /// Records skipped per unsupported log type, by name.
    pub skipped_types: BTreeMap<String, u64>,
}

/// How many warnings of one reason are kept with file and line; the rest are only counted.
pub const SAMPLES_PER_REASON: usize = 5;

impl Diagnostics {
    pub fn warn(&mut self, file: &std::path::Path, line: u64, reason: Reason, detail: String) {
        let count = self.counts.entry(reason).or_insert(0);
        *count += 1;
        if *count as usize <= SAMPLES_PER_REASON {
            self.samples.push(Warning { file: file.to_path_buf(), line, reason, detail });
        }
    }

    pub fn count(&mut self, reason: Reason, n: u64) {
        *self.counts.entry(reason).or_insert(0) += n;
    }

    pub fn merge(&mut self, other: Diagnostics) {
        for (reason, n) in other.counts {
            let before = *self.counts.get(&reason).unwrap_or(&0);
            *self.counts.entry(reason).or_insert(0) += n;
            let room = SAMPLES_PER_REASON.saturating_sub(before as usize);
            self.samples
                .extend(other.samples.iter().filter(|w| w.reason == reason).take(room).cloned());
        }
        for (t, n) in other.skipped_types {
            *self.skipped_types.entry(t).or_insert(0) += n;
        }
    }

    pub fn total(&self, reason: Reason) -> u64 {
        self.counts.get(&reason).copied().unwrap_or(0)
    }

    /// Records lost (as opposed to kept with a repair).
    pub fn dropped_records(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(r, _)| r.drops_record() && **r != Reason::Duplicate)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn is_clean(&self) -> bool {
        self.counts.is_empty()
    }
}
