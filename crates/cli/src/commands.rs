//! The subcommands.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use lasthop_query::SessionOptions;

use crate::settings::{Settings, SettingsArgs};
use lasthop_findings::{Finding, Severity};
use lasthop_intel::{IndicatorSet, WarningLists};
use lasthop_sinks::{Format, terminal_safe};

pub use crate::report::Output;
use lasthop_sources::{Diagnostics, ReadOptions, Reason, find_files};
use lasthop_store::{ImportOptions, ImportReport, Progress, Store};
use parquet::basic::{Compression, ZstdLevel};

use crate::{
    DemoArgs, Exit, Failure, HuntArgs, ImportArgs, IntelArgs, OrExit, QueryOver, ReadArgs,
    ShowArgs, SqlArgs,
};
use datafusion::prelude::SessionContext;

/// The file a hunt leaves its findings in, inside the store, for `show` and later reports.
pub use lasthop_store::files::FINDINGS_FILE;

pub fn usage(message: String) -> Failure {
    Failure { exit: Exit::Usage, error: anyhow!(message) }
}

pub fn parse_format(text: &str) -> Result<Format, Failure> {
    text.parse().map_err(usage)
}

/// The user's JSON access-log field map (`--web-json-fields`).
fn web_json_map(path: &Path) -> Result<lasthop_sources::web_json::WebJsonMap, Failure> {
    let bad = |e: String| Failure {
        exit: Exit::UnreadableInput,
        error: anyhow!("{}: {e}", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let table: std::collections::BTreeMap<String, Vec<String>> =
        toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    lasthop_sources::web_json::WebJsonMap::with_overrides(&table).map_err(bad)
}

fn import_options(args: &ReadArgs) -> Result<ImportOptions, Failure> {
    let mut options = ImportOptions::default();
    let threads = args.threads.unwrap_or(ReadOptions::default().threads).max(1);
    let web_json = match &args.web_json_fields {
        None => Default::default(),
        Some(path) => std::sync::Arc::new(web_json_map(path)?),
    };
    options.read = ReadOptions {
        threads,
        max_line_bytes: args.max_line_bytes,
        max_expansion: args.max_expansion,
        limits: lasthop_sources::RecordLimits {
            max_extra_fields: args.max_fields,
            max_set_items: args.max_set_items,
        },
        web_json,
        ..ReadOptions::default()
    };
    options.compression = match args.compression.to_ascii_lowercase().as_str() {
        "zstd" => Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level")),
        "snappy" => Compression::SNAPPY,
        "none" | "uncompressed" => Compression::UNCOMPRESSED,
        other => {
            return Err(usage(format!(
                "unknown compression {other:?} (expected zstd, snappy or none)"
            )));
        }
    };
    // `LASTHOP_PARQUET_WRITER=arrow` writes the parts with parquet's own ArrowWriter instead of
    // lasthop's parallel writer (the same rows either way; see docs/architecture.md).
    options.encoder = match std::env::var("LASTHOP_PARQUET_WRITER").as_deref() {
        Ok("arrow") => lasthop_store::PartEncoder::Arrow,
        Ok("lasthop") | Ok("") | Err(_) => lasthop_store::PartEncoder::Lasthop,
        Ok(other) => {
            return Err(usage(format!(
                "LASTHOP_PARQUET_WRITER={other:?}: expected `lasthop` or `arrow`"
            )));
        }
    };
    Ok(options)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// Imports `paths` into the store at `root`, with a progress bar on a terminal and a summary.
/// The history of first and last seen is folded later, by the next hunt or before retention
/// drops anything, so that an hourly import does only the import.
fn run_import(paths: &[PathBuf], root: &Path, args: &ReadArgs) -> Result<ImportReport, Failure> {
    let options = import_options(args)?;
    let mut discovery = Diagnostics::default();
    let files = find_files(paths, &mut discovery);
    if files.is_empty() {
        print_warnings(&discovery);
        return Err(Failure {
            exit: Exit::UnreadableInput,
            error: anyhow!("no readable files under {}", display_paths(paths)),
        });
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} files  {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let mut records = 0u64;
    let imported = crate::allocator::recycling_freed_memory(|| {
        lasthop_store::import(root, &files, &options, &mut |p| match p {
            Progress::File { index, .. } => bar.set_position(index as u64),
            Progress::Records(n) => {
                records += n;
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!(
                    "{records} records, {:.0} records/s",
                    records as f64 / secs
                ));
            }
        })
    });
    let mut report = imported.or_exit(Exit::StoreError)?;
    bar.finish_and_clear();
    report.diagnostics.merge(discovery);
    print_import_summary(&report);
    if args.strict && report.diagnostics.counts.keys().any(|r| *r != Reason::Duplicate) {
        return Err(Failure {
            exit: Exit::StrictSkips,
            error: anyhow!("--strict: some lines or files were skipped (see above)"),
        });
    }
    if report.files_imported == 0 && report.files_already_imported == 0 && report.records == 0 {
        return Err(Failure {
            exit: Exit::UnreadableInput,
            error: anyhow!("nothing could be imported"),
        });
    }
    Ok(report)
}

/// Folds what the store has imported since the last update into its history of first and last
/// seen, within `memory_limit` bytes (past it the aggregation spills), so that an import's memory
/// does not grow with the number of distinct endpoints and pairs in its input.
fn update_history(
    root: &Path,
    memory_limit: usize,
    spill_dir: Option<&Path>,
) -> Result<(), Failure> {
    let update = runtime()
        .block_on(lasthop_hunt::pipeline::update_history(root, memory_limit, spill_dir))
        .or_exit(Exit::StoreError)?;
    print_history(&update);
    Ok(())
}

fn print_history(update: &lasthop_query::history::HistoryUpdate) {
    eprintln!(
        "history: {} endpoints, pairs and domains known ({} new)",
        update.entries, update.new_entries
    );
}

fn print_import_summary(report: &ImportReport) {
    print_warnings(&report.diagnostics);
    let secs = report.elapsed.as_secs_f64().max(1e-6);
    let tables: Vec<String> =
        report.records_by_table.iter().map(|(t, n)| format!("{t} {n}")).collect();
    eprintln!(
        "imported {} file(s), {} already in the store, {} left for later (still being written), {} without records: \
         {} records ({}) in {:.2} s, {:.0} records/s, {:.1} MB/s",
        report.files_imported,
        report.files_already_imported,
        report.files_left_for_later,
        report.files_without_records,
        report.records,
        if tables.is_empty() { "none".to_string() } else { tables.join(", ") },
        secs,
        report.records as f64 / secs,
        report.bytes as f64 / secs / 1e6,
    );
    if !report.diagnostics.counts.is_empty() {
        let reasons: Vec<String> =
            report.diagnostics.counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
        eprintln!("skipped or repaired: {}", reasons.join(", "));
    }
    if !report.diagnostics.skipped_types.is_empty() {
        let types: Vec<String> = report
            .diagnostics
            .skipped_types
            .iter()
            .map(|(t, n)| format!("{} {n}", terminal_safe(t)))
            .collect();
        eprintln!("log types not stored (records): {}", types.join(", "));
    }
}

pub fn import(args: ImportArgs) -> Result<Exit, Failure> {
    let memory_limit = match &args.memory_limit {
        Some(text) => crate::settings::process_memory_limit(text)
            .map_err(usage)?
            .map_or(usize::MAX, crate::settings::query_pool),
        None => lasthop_query::history::DEFAULT_MEMORY_LIMIT,
    };
    if let Some(dir) = &args.spill_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--spill-dir: creating {}", dir.display()))
            .or_exit(Exit::UnreadableInput)?;
    }
    run_import(&args.paths, &args.store, &args.read)?;
    if let Some(days) = args.retention {
        // What retention drops must reach the history first.
        update_history(&args.store, memory_limit, args.spill_dir.as_deref())?;
        let dropped =
            lasthop_store::apply_retention(&args.store, days).or_exit(Exit::StoreError)?;
        if let Some(day) = dropped.first_day_kept {
            eprintln!(
                "retention: keeping {day} on; dropped {} part(s), {} record(s)",
                dropped.parts_dropped, dropped.rows_dropped
            );
        }
    }
    Ok(Exit::Success)
}

/// The warning lists in force: the bundled ones plus the user's.
pub fn warning_lists(files: &[PathBuf]) -> Result<WarningLists, Failure> {
    let mut lists = WarningLists::bundled().clone();
    for f in files {
        lists.add_file(f).or_exit(Exit::UnreadableInput)?;
    }
    Ok(lists)
}

/// Reads feed files, reporting each one's format, what it held and what was skipped.
pub fn read_feeds(files: &[PathBuf], lists: &WarningLists) -> Result<IndicatorSet, Failure> {
    let mut set = IndicatorSet::default();
    for f in files {
        let mut report = lasthop_intel::feeds::load_feed(f)
            .with_context(|| format!("reading indicator feed {}", f.display()))
            .or_exit(Exit::UnreadableInput)?;
        report.indicators.suppress(lists);
        let counts: Vec<String> =
            report.indicators.counts().iter().map(|(k, n)| format!("{n} {k}")).collect();
        eprintln!(
            "{}: {} ({}): {} indicator(s){}{}{}",
            terminal_safe(&f.display().to_string()),
            report.format,
            counts.join(", "),
            report.indicators.len(),
            skipped_note(&report.diagnostics),
            match report.indicators.suppressed.len() {
                0 => String::new(),
                n => format!(", {n} set aside by warning lists"),
            },
            match report.context_only {
                0 => String::new(),
                n => format!(", {n} context-only entries not matched"),
            },
        );
        for w in &report.diagnostics.samples {
            eprintln!("  warning: {}", terminal_safe(&w.to_string()));
        }
        for s in report.indicators.suppressed.iter().take(5) {
            eprintln!(
                "  set aside: {} {} (on \"{}\")",
                s.indicator.kind,
                terminal_safe(&s.indicator.value),
                terminal_safe(&s.list)
            );
        }
        set.extend(report.indicators);
    }
    Ok(set)
}

fn skipped_note(d: &Diagnostics) -> String {
    let skipped: u64 = d.counts.values().sum();
    if skipped == 0 {
        return String::new();
    }
    let parts: Vec<String> = d.counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    format!(", skipped {}", parts.join(", "))
}

/// Everything a hunt of `root` matches: bundled, stored in the store, and `--ioc-file` feeds.
fn load_iocs(args: &IntelArgs, root: Option<&Path>) -> Result<Option<Arc<IndicatorSet>>, Failure> {
    let lists = warning_lists(&args.warning_lists)?;
    let mut set = IndicatorSet::default();
    let mut sources = Vec::new();
    if !args.no_bundled_intel {
        let bundled = lasthop_intel::feeds::bundled();
        sources.push(format!("{} bundled", bundled.indicators.len()));
        set.extend(bundled.indicators);
    }
    if let Some(root) = root {
        let mut problems = Vec::new();
        let mut stored = crate::intel::stored_intel(root, &mut problems)?;
        for p in &problems {
            eprintln!("warning: {}", terminal_safe(p));
        }
        stored.suppress(&lists);
        if !stored.is_empty() {
            sources.push(format!("{} imported into the store", stored.len()));
        }
        set.extend(stored);
    }
    if !args.ioc_files.is_empty() {
        let files = read_feeds(&args.ioc_files, &lists)?;
        sources.push(format!("{} from --ioc-file", files.len()));
        set.extend(files);
    }
    if set.is_empty() {
        return Ok(None);
    }
    eprintln!("indicators to match: {} ({})", set.len(), sources.join(", "));
    Ok(Some(Arc::new(set)))
}

/// Hunts the store at `root` and writes the findings; the findings are also kept in the store.
pub fn run_hunt(
    root: &Path,
    iocs: Option<Arc<IndicatorSet>>,
    settings: &Settings,
    output: Output<'_>,
    detectors: &[Box<dyn lasthop_detect::detectors::Detector>],
) -> Result<Vec<Finding>, Failure> {
    let outcome = runtime()
        .block_on(lasthop_hunt::run(root, iocs, settings, detectors, output.save))
        .or_exit(Exit::StoreError)?;
    print_history(&outcome.history);
    let (findings, errors) = (outcome.findings, outcome.errors);
    let mut failures = Vec::new();
    // One message per cause, however many detectors it stopped, the cause first.
    let mut by_cause: Vec<(String, Vec<&str>)> = Vec::new();
    for (detector, e) in &errors {
        let cause = crate::engine_error(e);
        match by_cause.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, detectors)) => detectors.push(detector),
            None => by_cause.push((cause, vec![detector])),
        }
        failures.push(format!("{detector}: {e}"));
    }
    for (cause, detectors) in &by_cause {
        let which = if detectors.len() == 1 { "detector" } else { "detectors" };
        eprintln!("error: {which} {} failed: {}", detectors.join(", "), crate::readable(cause));
    }
    let shown = crate::triage::shown(findings, output.min_severity);
    crate::report::write_outputs(root, shown.clone(), settings, &output, &failures)?;
    if !errors.is_empty() {
        return Err(Failure {
            exit: Exit::StoreError,
            error: anyhow!("{} detector(s) failed", errors.len()),
        });
    }
    Ok(shown)
}

pub fn hunt(args: HuntArgs) -> Result<Exit, Failure> {
    let format = parse_format(&args.format)?;
    let min_severity: Severity = args.min_severity.parse().map_err(usage)?;
    let fail_on: Option<Severity> =
        args.fail_on.as_deref().map(str::parse).transpose().map_err(usage)?;
    let mut settings = args.settings.resolve().map_err(|e| usage(format!("{e:#}")))?;
    settings.window_us = args
        .since
        .as_deref()
        .map(crate::settings::parse_window)
        .transpose()
        .map_err(|e| usage(format!("--since: {e}")))?;
    settings.cluster = args.cluster.clone();
    let detectors = lasthop_detect::detectors::select(&args.detectors)
        .map_err(|e| usage(format!("--detector: {e}")))?;
    if settings.cluster.is_some() && !cfg!(feature = "cluster") {
        return Err(usage(
            "--cluster: this build of lasthop has no cluster support (build it with `--features cluster`)".into(),
        ));
    }
    let temp;
    let root = match &args.store {
        Some(s) => s.clone(),
        None => {
            if args.paths.is_empty() {
                return Err(usage(
                    "give log paths to hunt, or --store with an existing store".into(),
                ));
            }
            temp = tempfile::tempdir().or_exit(Exit::StoreError)?;
            temp.path().to_path_buf()
        }
    };
    if !args.paths.is_empty() {
        run_import(&args.paths, &root, &args.read)?;
    } else if !root.join(lasthop_store::manifest::MANIFEST_FILE).exists() {
        return Err(Failure {
            exit: Exit::UnreadableInput,
            error: anyhow!("{} is not a lasthop store (no manifest)", root.display()),
        });
    }
    let iocs = load_iocs(&args.intel, Some(&root))?;
    let output = Output {
        format,
        path: args.output.as_deref(),
        min_severity,
        save: true,
        share: args.share.clone(),
        title: crate::report::HUNT_REPORT,
        hunted: true,
    };
    let findings = run_hunt(&root, iocs, &settings, output, &detectors)?;
    if args.store.is_none() {
        eprintln!(
            "(hunted in a temporary store; use --store DIR to keep it for `lasthop show` and `lasthop sql`)"
        );
    }
    if let Some(threshold) = fail_on {
        let over = findings
            .iter()
            .filter(|f| f.severity >= threshold && !lasthop_hunt::triage::acknowledged(f))
            .count();
        if over > 0 {
            eprintln!("{over} finding(s) at or above {threshold} (--fail-on): exit code 1");
            return Ok(Exit::FindingsAtOrAbove);
        }
    }
    Ok(Exit::Success)
}

pub fn sql(args: SqlArgs) -> Result<Exit, Failure> {
    let format = parse_format(&args.format)?;
    let mut internal = lasthop_normalise::Networks::default();
    for list in &args.internal {
        internal.add(list).map_err(|e| usage(format!("--internal: {e}")))?;
    }
    let session = SessionOptions { internal, ..Default::default() };
    let query = args.query.clone();
    let batches =
        query_over(&args.over, &session, async move |ctx| ctx.sql(&query).await?.collect().await)?;
    let mut out = std::io::stdout().lock();
    lasthop_sinks::write_batches(&mut out, &batches, format, 60).or_exit(Exit::StoreError)?;
    Ok(Exit::Success)
}

/// Runs `query` in a session over the store, or over the log files themselves (then reporting
/// what their reading skipped, as an import would).
pub(crate) fn query_over<T>(
    over: &QueryOver,
    session: &SessionOptions,
    query: impl AsyncFnOnce(SessionContext) -> datafusion::error::Result<T>,
) -> Result<T, Failure> {
    let Some(root) = &over.store else {
        let mut discovery = Diagnostics::default();
        let files = find_files(&over.logs, &mut discovery);
        if files.is_empty() {
            print_warnings(&discovery);
            return Err(Failure {
                exit: Exit::UnreadableInput,
                error: anyhow!("no readable files under {}", display_paths(&over.logs)),
            });
        }
        let read = ReadOptions { threads: session.threads, ..ReadOptions::default() };
        // Parsing frees and allocates the same chunk and batch buffers over and over.
        let (answer, report) = crate::allocator::recycling_freed_memory(|| {
            runtime().block_on(async {
                let (ctx, report) = lasthop_query::open_log_files(&files, &read, session).await?;
                Ok::<_, datafusion::error::DataFusionError>((query(ctx).await, report))
            })
        })
        .or_exit(Exit::StoreError)?;
        let mut report = std::mem::take(&mut *report.lock().unwrap_or_else(|e| e.into_inner()));
        report.diagnostics.merge(discovery);
        print_warnings(&report.diagnostics);
        eprintln!(
            "read {} file(s), {} records{}",
            report.files,
            report.records,
            skipped_note(&report.diagnostics)
        );
        return answer.or_exit(Exit::StoreError);
    };
    // A store the user may only read still answers, with the history as it stands.
    if let Err(failure) = update_history(root, lasthop_query::history::DEFAULT_MEMORY_LIMIT, None) {
        eprintln!("warning: the history table may be out of date: {:#}", failure.error);
    }
    let store = Store::open(root).or_exit(Exit::StoreError)?;
    runtime()
        .block_on(async {
            let ctx = lasthop_query::open_store(&store, session).await?;
            query(ctx).await
        })
        .or_exit(Exit::StoreError)
}

fn print_warnings(diagnostics: &Diagnostics) {
    for w in &diagnostics.samples {
        eprintln!("warning: {}", terminal_safe(&w.to_string()));
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

pub fn show(args: ShowArgs) -> Result<Exit, Failure> {
    let path = args.store.join(FINDINGS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| {
            format!(
                "{} holds no findings yet: run `lasthop hunt --store {}` first",
                args.store.display(),
                args.store.display()
            )
        })
        .or_exit(Exit::UnreadableInput)?;
    let finding = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Finding>(l).ok())
        .find(|f| f.id.eq_ignore_ascii_case(&args.id))
        .ok_or_else(|| usage(format!("no finding {} in {}", args.id, path.display())))?;
    let mut out = std::io::stdout().lock();
    lasthop_sinks::write_finding_detail(&mut out, &finding).or_exit(Exit::StoreError)?;
    if finding.evidence.uids.is_empty() {
        return Ok(Exit::Success);
    }
    let store = Store::open(&args.store).or_exit(Exit::StoreError)?;
    let rt = runtime();
    let ctx = rt
        .block_on(lasthop_query::open_store(&store, &SessionOptions::default()))
        .or_exit(Exit::StoreError)?;
    for table in ["conn", "open_conn", "dns", "http", "ssl"] {
        let mut query = lasthop_query::Query::new("a finding's records");
        let uids = query.texts(finding.evidence.uids.iter().map(String::as_str));
        let sql = format!(
            "SELECT ts, uid, src, src_port, dst, dst_port, _source, _line FROM {table} WHERE uid IN ({uids}) ORDER BY ts LIMIT 100"
        );
        let batches = rt.block_on(query.batches(&ctx, &sql)).or_exit(Exit::StoreError)?;
        if batches.iter().map(|b| b.num_rows()).sum::<usize>() > 0 {
            writeln!(out, "\nRecords in {table}:").or_exit(Exit::StoreError)?;
            lasthop_sinks::write_batches(&mut out, &batches, Format::Table, 80)
                .or_exit(Exit::StoreError)?;
        }
    }
    Ok(Exit::Success)
}

pub fn demo(args: DemoArgs) -> Result<Exit, Failure> {
    let format = parse_format(&args.format)?;
    let logs = args.out.join("logs");
    let store = args.out.join("store");
    let _ = std::fs::remove_dir_all(&logs);
    let _ = std::fs::remove_dir_all(&store);
    let config = lasthop_demo::DemoConfig {
        seed: args.seed,
        hosts: args.hosts,
        days: args.days,
        ..Default::default()
    };
    eprintln!(
        "generating {} days of traffic for {} hosts into {} ...",
        args.days,
        args.hosts,
        logs.display()
    );
    let summary = lasthop_demo::generate(&logs, &config).or_exit(Exit::StoreError)?;
    eprintln!(
        "wrote {} records in {} files; planted scenarios:",
        summary.records,
        summary.files.len()
    );
    for s in &summary.scenarios {
        eprintln!("  - {} ({}): {} → {}", s.id, s.technique, s.src, s.dst);
    }
    let read = ReadArgs {
        threads: None,
        compression: "zstd".into(),
        strict: false,
        max_line_bytes: 16 << 20,
        max_expansion: lasthop_sources::reader::DEFAULT_MAX_EXPANSION,
        max_fields: lasthop_sources::RecordLimits::default().max_extra_fields,
        max_set_items: lasthop_sources::RecordLimits::default().max_set_items,
        web_json_fields: None,
    };
    run_import(std::slice::from_ref(&logs), &store, &read)?;
    let intel = IntelArgs { ioc_files: vec![summary.ioc_file.clone()], ..Default::default() };
    let iocs = load_iocs(&intel, Some(&store))?;
    let settings = SettingsArgs::default().resolve().map_err(|e| usage(format!("{e:#}")))?;
    let output = Output {
        format,
        path: None,
        min_severity: Severity::Info,
        save: true,
        share: args.share.clone(),
        title: crate::report::HUNT_REPORT,
        hunted: true,
    };
    run_hunt(&store, iocs, &settings, output, &lasthop_detect::detectors::all())?;
    eprintln!(
        "\nThe store is in {}: try `lasthop show ID --store {}` or `lasthop sql \"SELECT count(*) FROM conn\" --store {}`",
        store.display(),
        store.display(),
        store.display()
    );
    Ok(Exit::Success)
}

/// `lasthop rules check`: every rule that does not compile, then the counts.
pub fn rules_check(dirs: &[PathBuf], max_regex_bytes: usize) -> Result<Exit, Failure> {
    let mut set = lasthop_detect::sigma::RuleSet::default();
    if dirs.is_empty() {
        set = lasthop_detect::sigma::RuleSet::bundled();
    }
    set.set_regex_size_limit(max_regex_bytes);
    for d in dirs {
        set.add_dir(d)
            .with_context(|| format!("reading rules {}", d.display()))
            .or_exit(Exit::UnreadableInput)?;
    }
    let mut out = std::io::stdout().lock();
    for r in &set.rejected {
        writeln!(
            out,
            "not compiled: {} {} ({}): {}",
            terminal_safe(&r.origin),
            terminal_safe(if r.id.is_empty() { "-" } else { &r.id }),
            terminal_safe(&r.title),
            terminal_safe(&r.reason)
        )
        .or_exit(Exit::StoreError)?;
    }
    let web = set.rules.iter().filter(|r| r.table == "web").count();
    writeln!(
        out,
        "{} rule(s) compiled ({web} webserver on `web`, {} proxy on Zeek `http`), {} not compiled, \
         {} for log sources lasthop has no table for",
        set.rules.len(),
        set.rules.len() - web,
        set.rejected.len(),
        set.other_logsources
    )
    .or_exit(Exit::StoreError)?;
    Ok(Exit::Success)
}
