//! Sigma rules straight over log files, without a store (`lasthop rules match`): files are
//! parsed on `threads` threads and their batches matched on as many more, each batch's matches
//! handed to the caller as they are found.

use std::path::PathBuf;

use lasthop_detect::sigma::{Kind, MatchOptions, RuleSet, Source, TableMatcher, slot_text};
use lasthop_normalise::LogType;
use lasthop_sources::{Diagnostics, ReadOptions};

/// One match: the rule (its index in the set), and the file and line of the record.
pub struct RuleMatch {
    pub rule: usize,
    pub place: String,
    pub line: String,
}

/// What a run matched.
#[derive(Default)]
pub struct MatchReport {
    pub records: u64,
    pub matches: u64,
    pub diagnostics: Diagnostics,
}

/// A batch to match, and which rules apply to it.
struct Work {
    table: &'static str,
    batch: datafusion::arrow::array::RecordBatch,
}

/// Matches `rules` over the web-server and Zeek http records of `files`. With `on_matches`,
/// each batch's matches are handed to it (from the matching threads; an error stops the run);
/// without, they are only counted.
pub fn match_files(
    files: &[PathBuf],
    rules: &RuleSet,
    options: MatchOptions,
    threads: usize,
    on_matches: Option<&(dyn Fn(Vec<RuleMatch>) -> std::io::Result<()> + Sync)>,
) -> std::io::Result<MatchReport> {
    let web = TableMatcher::new(rules, "web", options);
    let proxy = TableMatcher::new(rules, "http", options);
    let threads = threads.max(1);
    let read = ReadOptions { threads, ..ReadOptions::default() };
    let mut report = MatchReport::default();
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Work>(threads * 2);
    report.matches = std::thread::scope(|scope| -> std::io::Result<u64> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let work_rx = work_rx.clone();
                let (web, proxy) = (web.as_ref(), proxy.as_ref());
                scope.spawn(move || -> std::io::Result<u64> {
                    let mut found = 0u64;
                    for work in work_rx {
                        let matcher = if work.table == "web" { web } else { proxy };
                        let Some(matcher) = matcher else { continue };
                        let places = slot_text(&work.batch, Source::Column("_source"), Kind::Text);
                        let lines = slot_text(&work.batch, Source::Column("_line"), Kind::Number);
                        let mut matched = Vec::new();
                        for (rule, rows) in matcher.evaluate(&work.batch) {
                            for row in rows.set_indices() {
                                found += 1;
                                if on_matches.is_some() {
                                    matched.push(RuleMatch {
                                        rule,
                                        place: places.value(row).to_string(),
                                        line: lines.value(row).to_string(),
                                    });
                                }
                            }
                        }
                        if let Some(on_matches) = on_matches
                            && !matched.is_empty()
                        {
                            on_matches(matched)?;
                        }
                    }
                    Ok(found)
                })
            })
            .collect();
        drop(work_rx);
        for file in files {
            let summary = lasthop_sources::read_file(file, &read, |log_type, batch| {
                report.records += batch.num_rows() as u64;
                let table = match log_type {
                    LogType::Web => "web",
                    LogType::Http => "http",
                    _ => return Ok(()),
                };
                work_tx.send(Work { table, batch }).map_err(|_| ())
            });
            match summary {
                Ok(s) => report.diagnostics.merge(s.diagnostics),
                Err(()) => break,
            }
        }
        drop(work_tx);
        let mut total = 0;
        for w in workers {
            total += w.join().map_err(|_| std::io::Error::other("a matching thread failed"))??;
        }
        Ok(total)
    })?;
    Ok(report)
}
