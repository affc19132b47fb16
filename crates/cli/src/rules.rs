//! `lasthop rules match`: Sigma rules straight over log files, without a store — for triage on a
//! copy of a server's logs, and for pipelines that want one line per match.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use lasthop_detect::sigma::{Kind, MatchOptions, RuleSet, Source, TableMatcher, slot_text};
use lasthop_normalise::LogType;
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

/// A batch to match, and where it came from.
struct Work {
    table: &'static str,
    batch: datafusion::arrow::array::RecordBatch,
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
    let web = TableMatcher::new(&set, "web", options);
    let proxy = TableMatcher::new(&set, "http", options);
    let threads = args.threads.unwrap_or(ReadOptions::default().threads).max(1);
    let read = ReadOptions { threads, ..ReadOptions::default() };
    let mut diagnostics = Diagnostics::default();
    let files = lasthop_sources::find_files(&args.paths, &mut diagnostics);
    let started = std::time::Instant::now();
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Work>(threads * 2);
    let set = Arc::new(set);
    let mut records = 0u64;
    let matches: u64 = std::thread::scope(|scope| -> Result<u64, Failure> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let work_rx = work_rx.clone();
                let (web, proxy, set) = (web.as_ref(), proxy.as_ref(), set.clone());
                let format = args.format;
                scope.spawn(move || -> std::io::Result<u64> {
                    let mut found = 0u64;
                    let mut text = String::new();
                    for work in work_rx {
                        let matcher = if work.table == "web" { web } else { proxy };
                        let Some(matcher) = matcher else { continue };
                        let places = slot_text(&work.batch, Source::Column("_source"), Kind::Text);
                        let lines = slot_text(&work.batch, Source::Column("_line"), Kind::Number);
                        for (rule, rows) in matcher.evaluate(&work.batch) {
                            for row in rows.set_indices() {
                                found += 1;
                                if format == MatchFormat::Tsv {
                                    let r = &set.rules[rule];
                                    text.push_str(&format!(
                                        "{}\t{}:{}\t{}\n",
                                        terminal_safe(&r.id),
                                        terminal_safe(places.value(row)),
                                        lines.value(row),
                                        terminal_safe(&r.title)
                                    ));
                                }
                            }
                        }
                        if !text.is_empty() {
                            std::io::stdout().lock().write_all(text.as_bytes())?;
                            text.clear();
                        }
                    }
                    Ok(found)
                })
            })
            .collect();
        drop(work_rx);
        for file in &files {
            let summary = lasthop_sources::read_file(file, &read, |log_type, batch| {
                records += batch.num_rows() as u64;
                let table = match log_type {
                    LogType::Web => "web",
                    LogType::Http => "http",
                    _ => return Ok(()),
                };
                work_tx.send(Work { table, batch }).map_err(|_| ())
            });
            match summary {
                Ok(s) => diagnostics.merge(s.diagnostics),
                Err(()) => break,
            }
        }
        drop(work_tx);
        let mut total = 0;
        for w in workers {
            total += w
                .join()
                .map_err(|_| anyhow!("a matching thread failed"))
                .or_exit(Exit::StoreError)?
                .or_exit(Exit::StoreError)?;
        }
        Ok(total)
    })?;
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
