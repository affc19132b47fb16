//! `lasthop rules match`: Sigma rules straight over log files, without a store — for triage on a
//! copy of a server's logs, and for pipelines that want one line per match.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use lasthop_detect::sigma::{MatchOptions, RuleSet};
use lasthop_hunt::rules::RuleMatch;
use lasthop_sinks::terminal_safe;
use lasthop_sources::{Diagnostics, ReadOptions};

use crate::{Exit, Failure, OrExit};

/// What `rules match` prints.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchFormat {
    /// `rule id<TAB>file:line<TAB>rule title`, one line per match.
    Tsv,
    /// Only the counts (for benchmarks).
    Count,
}

#[derive(clap::Args, Debug)]
pub struct MatchArgs {
    /// Web-server or Zeek http logs (files or folders).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Rule folders to add to the bundled rules (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
    /// Only the --rules folders, not the bundled rules.
    #[arg(long)]
    pub no_bundled: bool,
    /// Match text only as logged, not also its decoded form (percent, HTML entities, Log4Shell
    /// lookups).
    #[arg(long)]
    pub no_decode: bool,
    /// Threads parsing and threads matching [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = MatchFormat::Tsv)]
    pub format: MatchFormat,
    /// Largest compiled program (bytes) a regular expression of the --rules may have.
    #[arg(long, default_value_t = lasthop_detect::sigma::REGEX_SIZE_LIMIT)]
    pub max_regex_bytes: usize,
}

pub fn match_logs(args: MatchArgs) -> Result<Exit, Failure> {
    let mut set = if args.no_bundled { RuleSet::default() } else { RuleSet::bundled() };
    set.set_regex_size_limit(args.max_regex_bytes);
    for d in &args.rule_dirs {
        set.add_dir(d)
            .map_err(|e| anyhow!("reading rules {}: {e}", d.display()))
            .or_exit(Exit::UnreadableInput)?;
    }
    for r in &set.rejected {
        eprintln!(
            "not compiled: {} {}: {}",
            terminal_safe(&r.origin),
            terminal_safe(&r.id),
            terminal_safe(&r.reason)
        );
    }
    let options = MatchOptions { decode: !args.no_decode };
    let threads = args.threads.unwrap_or(ReadOptions::default().threads).max(1);
    let mut discovery = Diagnostics::default();
    let files = lasthop_sources::find_files(&args.paths, &mut discovery);
    let started = std::time::Instant::now();
    let print = |matches: Vec<RuleMatch>| -> std::io::Result<()> {
        let mut text = String::new();
        for m in matches {
            let r = &set.rules[m.rule];
            text.push_str(&format!(
                "{}\t{}:{}\t{}\n",
                terminal_safe(&r.id),
                terminal_safe(&m.place),
                m.line,
                terminal_safe(&r.title)
            ));
        }
        std::io::stdout().lock().write_all(text.as_bytes())
    };
    let on_matches: Option<&(dyn Fn(Vec<RuleMatch>) -> std::io::Result<()> + Sync)> =
        (args.format == MatchFormat::Tsv).then_some(&print);
    let report = lasthop_hunt::rules::match_files(&files, &set, options, threads, on_matches)
        .or_exit(Exit::StoreError)?;
    let (records, matches, mut diagnostics) = (report.records, report.matches, discovery);
    diagnostics.merge(report.diagnostics);
    let seconds = started.elapsed().as_secs_f64();
    for w in &diagnostics.samples {
        eprintln!("warning: {}", terminal_safe(&w.to_string()));
    }
    eprintln!(
        "{records} records from {} file(s), {matches} match(es) of {} rule(s) in {seconds:.2} s \
         ({:.0} records/s, parsing included; {threads} thread(s))",
        files.len(),
        set.rules.len(),
        records as f64 / seconds.max(1e-9)
    );
    if args.format == MatchFormat::Count {
        println!("{matches}");
    }
    Ok(Exit::Success)
}
