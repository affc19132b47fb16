//! `lasthop`: the command line. Wires the stages together — sources → store → detect →
//! findings → sinks — and owns what only a command line needs: arguments, progress, exit codes.

mod allocator;
mod audit;
#[cfg(feature = "bench")]
mod bench;
#[cfg(feature = "cluster")]
mod cluster;
mod commands;
mod intel;
mod logging;
mod report;
mod rules;
mod settings;
mod triage;

#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes:
  0  success (lines that could not be read are reported, not fatal, unless --strict)
  2  usage error
  3  input could not be read (no such path, nothing readable in it)
  4  store or query error
  1  hunt --fail-on SEVERITY: a finding at or above that severity exists
  5  --strict and some lines or files were skipped

Examples:
  lasthop demo                                   generate a week of demo traffic and hunt it
  lasthop hunt /nsm/zeek/logs --ioc-file iocs.txt
  lasthop import /nsm/zeek/logs --store store/
  lasthop sql \"SELECT ip_text(src), count(*) FROM conn WHERE dst = '8.8.8.8' GROUP BY 1\" --store store/";

/// Hunts attacker infrastructure and last-hop relays in the network logs you already keep.
#[derive(Parser, Debug)]
#[command(
    name = "lasthop",
    about,
    long_about = None,
    after_help = AFTER_HELP,
    max_term_width = 100,
    disable_version_flag = true,
    arg_required_else_help = true
)]
struct Cli {
    /// Print the version (with --verbose: the bundled data, its versions and licences).
    #[arg(short = 'V', long)]
    version: bool,
    /// With --version: list the bundled data and its attribution.
    #[arg(long, requires = "version")]
    verbose: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Import Zeek logs (TSV or JSON, plain, .gz or .zst; files, folders, rotated trees) into a store.
    Import(ImportArgs),
    /// Import the given logs (or use what the store holds) and run every detector.
    Hunt(Box<HuntArgs>),
    /// Audit edge devices (nmap XML, CSV inventories, what the store saw) against CISA KEV,
    /// end-of-life data and the APT40 advisory's mitigations: ranked actions per device.
    Audit(Box<audit::AuditArgs>),
    /// Run SQL over the store's tables (conn, dns, http, ssl, x509, files, ssh, dhcp, web, open_conn, open_http, open_ssl).
    Sql(SqlArgs),
    /// Show one finding in full, with the records behind it.
    Show(ShowArgs),
    /// Record an analyst's decision about a finding (acknowledge, suppress, reopen), honoured
    /// and shown by every later run over the store.
    Triage(triage::TriageArgs),
    /// Write the last hunt's findings again from the store: HTML report, STIX, ATT&CK layer,
    /// JSON Lines, CSV.
    Report(Box<report::ReportArgs>),
    /// Generate a seeded synthetic enterprise network with planted attacks, then hunt it.
    Demo(DemoArgs),
    /// Intelligence: look up what is known about an address; rebuild the bundled ASN database.
    #[command(subcommand)]
    Intel(IntelCommand),
    /// Sigma rules: which compile, and why the others do not.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run a scheduler or an executor of a lasthop cluster (Apache DataFusion Ballista with
    /// lasthop's functions), for `hunt --cluster`.
    #[cfg(feature = "cluster")]
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Write a synthetic conn.log of a given size, for import benchmarks.
    #[cfg(feature = "bench")]
    #[command(hide = true)]
    BenchData(BenchDataArgs),
    /// Write per-pair gap quartiles and MAD of a store's conn table as CSV, for benchmarks.
    #[cfg(feature = "bench")]
    #[command(hide = true)]
    BenchGapStats(BenchGapStatsArgs),
    /// Write web logs as the JSON events lasthop's Sigma rules see (with `_line`), and the
    /// bundled webserver rules, for benchmarks against other Sigma engines.
    #[cfg(feature = "bench")]
    #[command(hide = true)]
    BenchSigmaEvents(BenchSigmaEventsArgs),
    /// Write a network with threats planted by parameter, and `planted.json`, for the detection
    /// quality sweep (`scripts/bench/detection_quality.py`).
    #[cfg(feature = "bench")]
    #[command(hide = true)]
    BenchQualityData(BenchQualityDataArgs),
}

#[cfg(feature = "bench")]
#[derive(Args, Debug)]
pub struct BenchQualityDataArgs {
    /// The folder to write the logs and `planted.json` into.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 60)]
    pub hosts: usize,
    #[arg(long, default_value_t = 21)]
    pub days: u32,
    /// Background connections per workstation per day.
    #[arg(long, default_value_t = 40)]
    pub background: u32,
    /// Plant a beacon with this period (seconds).
    #[arg(long)]
    pub beacon_period: Option<f64>,
    #[arg(long, default_value_t = 0.2)]
    pub beacon_jitter: f64,
    #[arg(long, default_value_t = 0.0)]
    pub beacon_offset_days: f64,
    #[arg(long, default_value_t = 3.0)]
    pub beacon_span_days: f64,
    #[arg(long, default_value_t = 1)]
    pub beacon_hosts: usize,
    /// Share of workstations polling one vendor service hourly.
    #[arg(long, default_value_t = 0.0)]
    pub shared_share: f64,
    /// Contacts a day of one workstation with a home line, at random times.
    #[arg(long, default_value_t = 0.0)]
    pub low_and_slow: f64,
    /// Sources of a failed scanning campaign.
    #[arg(long, default_value_t = 0)]
    pub scanners: usize,
}

#[cfg(feature = "bench")]
#[derive(Args, Debug)]
pub struct BenchSigmaEventsArgs {
    /// Web-server logs.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The NDJSON events to write.
    #[arg(long)]
    pub out: PathBuf,
    /// The bundled webserver rules lasthop compiles, as one YAML file.
    #[arg(long)]
    pub rules_out: PathBuf,
}

#[derive(Subcommand, Debug)]
enum IntelCommand {
    /// What lasthop knows about an IP address, domain, URL or hash: its network, organisation
    /// and ASN, the feeds that list it and the warning lists that call it benign.
    Lookup {
        /// An IPv4 or IPv6 address, a domain, a URL or an MD5/SHA-1/SHA-256 hash.
        value: String,
        /// Also consult the intelligence imported into this store.
        #[arg(long)]
        store: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = LookupFormat::Text)]
        format: LookupFormat,
    },
    /// Import threat-intelligence feeds into a store, then match them against everything the
    /// store already holds (retro-hunt). Later hunts of the store match them too.
    Import {
        /// Feed files or folders: STIX 2.1 bundles, MISP event JSON, CSV, lists or report text
        /// (plain, .gz or .zst).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long)]
        store: PathBuf,
        /// Name to keep the feed under [default: each file's name].
        #[arg(long)]
        feed: Option<String>,
        /// A MISP warning list (JSON) of known-benign values to set aside (repeatable).
        #[arg(long = "warning-list")]
        warning_lists: Vec<PathBuf>,
        /// Output format of the retro-hunt findings: table, json, ndjson or csv.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Fetch a newer CISA Known Exploited Vulnerabilities catalogue for `lasthop audit` (the one
    /// command that uses the network; everything else works offline with what is bundled).
    Update {
        /// Where to fetch the catalogue from.
        #[arg(long, default_value = intel::KEV_URL)]
        kev_url: String,
        /// Where to keep it [default: $LASTHOP_DATA, else $XDG_DATA_HOME/lasthop, else
        /// ~/.local/share/lasthop].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Build the compact ASN database from @ip-location-db/asn CSV files (see scripts/update_asn.sh).
    BuildAsn {
        /// The IPv4 file (asn-ipv4.csv, plain or .gz).
        #[arg(long)]
        v4: PathBuf,
        /// The IPv6 file (asn-ipv6.csv, plain or .gz).
        #[arg(long)]
        v6: PathBuf,
        /// Where the data came from, e.g. "@ip-location-db/asn 2.3.2026061719".
        #[arg(long)]
        source: String,
        /// The database file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// Compile the rules under DIR (or, with none, the bundled SigmaHQ webserver and proxy
    /// rules) and list each rule that does not compile, with its id and the reason.
    Check {
        dirs: Vec<PathBuf>,
        /// Largest compiled program (bytes) a regular expression of these rules may have.
        #[arg(long, default_value_t = lasthop_detect::sigma::REGEX_SIZE_LIMIT)]
        max_regex_bytes: usize,
    },
    /// Run the rules over web-server or Zeek http logs directly, without a store: one line per
    /// match (rule id, file:line, title), matching spread over all cores.
    Match(rules::MatchArgs),
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum LookupFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
struct ReadArgs {
    /// Parser threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Parquet compression: zstd, snappy or none.
    #[arg(long, default_value = "zstd")]
    compression: String,
    /// Treat skipped lines or files as an error (exit code 5).
    #[arg(long)]
    strict: bool,
    /// Lines longer than this many bytes are skipped and reported.
    #[arg(long, default_value_t = 16 << 20)]
    max_line_bytes: usize,
    /// A compressed file that expands to more than this many times its size is cut off there
    /// and reported as a likely decompression bomb (0: no limit).
    #[arg(long, default_value_t = lasthop_sources::reader::DEFAULT_MAX_EXPANSION)]
    max_expansion: u64,
    /// Fields a record may carry beyond its log type's schema (kept in `_extra`); the rest are
    /// dropped and reported.
    #[arg(long, default_value_t = lasthop_sources::RecordLimits::default().max_extra_fields)]
    max_fields: usize,
    /// Items one set or vector field may hold; the rest are dropped and reported.
    #[arg(long, default_value_t = lasthop_sources::RecordLimits::default().max_set_items)]
    max_set_items: usize,
    /// JSON access logs: TOML table of web column = [JSON keys] tried before the built-in ones
    /// (e.g. `c-ip = ["clientAddress"]`, `time-taken = ["elapsed:ms"]`).
    #[arg(long, value_name = "FILE")]
    web_json_fields: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// Files or folders of Zeek logs.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The store directory (created if missing).
    #[arg(long)]
    store: PathBuf,
    /// Keep only the last DAYS days of records (counted back from the latest record); older
    /// days' files are deleted after the import. The history of first and last seen is kept.
    #[arg(long, value_name = "DAYS")]
    retention: Option<u32>,
    /// With --retention: memory the import may use in all while it brings the history up to
    /// date before old days are dropped (`1G`; `none` for no limit); past the query engine's
    /// share of it (as for `hunt --memory-limit`), aggregations spill [default: a 256M share].
    /// Without retention the history is brought up to date by the next hunt.
    #[arg(long, value_name = "SIZE")]
    memory_limit: Option<String>,
    /// Where spills go [default: the OS's temporary directory].
    #[arg(long, value_name = "DIR")]
    spill_dir: Option<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args, Debug)]
struct HuntArgs {
    /// Files or folders of Zeek logs to import first; with none, hunt what --store holds.
    paths: Vec<PathBuf>,
    /// The store to import into and hunt; without it a temporary store is used.
    #[arg(long)]
    store: Option<PathBuf>,
    #[command(flatten)]
    intel: IntelArgs,
    /// Output format: table, json, ndjson or csv.
    #[arg(long, default_value = "table")]
    format: String,
    /// Write findings to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Only report findings at or above this severity (info, low, medium, high, critical).
    #[arg(long, default_value = "info")]
    min_severity: String,
    /// Hunt only the last part of the store: 24h, 7d, 30d … counted back from its latest record
    /// (so an old capture and a live sensor read alike).
    #[arg(long, value_name = "WINDOW")]
    since: Option<String>,
    /// Run the detectors' plans on a lasthop cluster (`df://HOST:PORT`, see `lasthop cluster`)
    /// instead of in this process. Every executor must see the store at the same path.
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
    /// Exit with code 1 when a reported finding is at or above this severity (for automation:
    /// a pipeline step that fails on `--fail-on high`).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<String>,
    /// Run only these detectors (repeatable or comma-separated ids: beacon, ioc-match …; an
    /// unknown id lists the valid ones). Default: all of them.
    #[arg(long = "detector", value_name = "ID", value_delimiter = ',')]
    detectors: Vec<String>,
    #[command(flatten)]
    share: report::ShareArgs,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    settings: settings::SettingsArgs,
}

/// Which threat intelligence a hunt matches.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Threat intelligence")]
pub struct IntelArgs {
    /// Indicator feed to match besides the bundled and stored ones: STIX 2.1 bundle, MISP event
    /// JSON, CSV, or a list / report text (repeatable).
    #[arg(long = "ioc-file")]
    pub ioc_files: Vec<PathBuf>,
    /// Do not match the bundled indicators (Black Lotus Labs SoHo botnets, APT40 advisory).
    #[arg(long)]
    pub no_bundled_intel: bool,
    /// A MISP warning list (JSON) of known-benign values to set aside, besides the bundled ones.
    #[arg(long = "warning-list")]
    pub warning_lists: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct SqlArgs {
    /// The query. Addresses compare with text naturally (`dst = '10.0.0.1'`); functions: ip(),
    /// ip_text(), cidr_contains(prefix, addr), is_internal().
    query: String,
    #[command(flatten)]
    over: QueryOver,
    /// table, csv, json or ndjson.
    #[arg(long, default_value = "table")]
    format: String,
    /// Internal address ranges for is_internal(), added to the defaults.
    #[arg(long, value_delimiter = ',')]
    internal: Vec<String>,
}

/// What a one-off query reads: a store, or log files directly.
#[derive(Args, Debug)]
pub struct QueryOver {
    /// The store to query.
    #[arg(long, required_unless_present = "logs", conflicts_with = "logs")]
    pub store: Option<PathBuf>,
    /// Query this Zeek or web log file or folder directly, without a store (repeatable): each
    /// query parses only the columns it reads. For a question asked once; import logs you will
    /// ask more of.
    #[arg(long, value_name = "PATH")]
    pub logs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct ShowArgs {
    /// The finding id (LH-…).
    id: String,
    #[arg(long)]
    store: PathBuf,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Where to write the demo logs and store.
    #[arg(long, default_value = "lasthop-demo")]
    out: PathBuf,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Internal hosts.
    #[arg(long, default_value_t = 300)]
    hosts: usize,
    /// Days of traffic.
    #[arg(long, default_value_t = 8)]
    days: u32,
    /// Output format of the findings: table, json, ndjson or csv.
    #[arg(long, default_value = "table")]
    format: String,
    #[command(flatten)]
    share: report::ShareArgs,
}

#[cfg(feature = "bench")]
#[derive(Args, Debug)]
struct BenchDataArgs {
    /// Records to write.
    #[arg(long)]
    records: u64,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    gzip: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write a web-server access log (benign traffic with the attack fixture mixed in) instead
    /// of a Zeek conn log.
    #[arg(long)]
    web: bool,
}

#[cfg(feature = "bench")]
#[derive(Args, Debug)]
struct BenchGapStatsArgs {
    #[command(flatten)]
    over: QueryOver,
    /// The CSV to write: src,dst,gaps,q1,median,q3,mad.
    #[arg(long)]
    out: PathBuf,
}

/// Exit codes, as documented in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    FindingsAtOrAbove = 1,
    Usage = 2,
    UnreadableInput = 3,
    StoreError = 4,
    StrictSkips = 5,
}

fn main() -> ExitCode {
    allocator::return_memory_promptly();
    allocator::no_transparent_huge_pages();
    let cli = Cli::parse();
    let clustered = match &cli.command {
        #[cfg(feature = "cluster")]
        Some(Command::Cluster(_)) => true,
        Some(Command::Hunt(a)) => a.cluster.is_some(),
        _ => false,
    };
    logging::init(if clustered { log::LevelFilter::Warn } else { log::LevelFilter::Off });
    let Some(command) = cli.command else {
        println!("lasthop {}", env!("CARGO_PKG_VERSION"));
        if cli.verbose {
            print!("{}", intel::bundled_data());
        }
        return ExitCode::SUCCESS;
    };
    let result = match command {
        Command::Intel(c) => intel::run(c),
        #[cfg(feature = "cluster")]
        Command::Cluster(c) => cluster::run(c),
        Command::Rules(RulesCommand::Check { dirs, max_regex_bytes }) => {
            commands::rules_check(&dirs, max_regex_bytes)
        }
        Command::Rules(RulesCommand::Match(a)) => rules::match_logs(a),
        Command::Import(a) => commands::import(a),
        Command::Hunt(a) => commands::hunt(*a),
        Command::Audit(a) => audit::audit(*a),
        Command::Sql(a) => commands::sql(a),
        Command::Report(a) => report::report(*a),
        Command::Triage(a) => triage::triage(a),
        Command::Show(a) => commands::show(a),
        Command::Demo(a) => commands::demo(a),
        #[cfg(feature = "bench")]
        Command::BenchData(a) => bench::bench_data(a),
        #[cfg(feature = "bench")]
        Command::BenchSigmaEvents(a) => bench::bench_sigma_events(a),
        #[cfg(feature = "bench")]
        Command::BenchGapStats(a) => bench::bench_gap_stats(a),
        #[cfg(feature = "bench")]
        Command::BenchQualityData(a) => bench::bench_quality_data(a),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        // The reader went away (`lasthop show ID | head`): nothing is wrong, as with any
        // command-line tool.
        Err(failure) if is_broken_pipe(&failure.error) => ExitCode::SUCCESS,
        Err(failure) => {
            let message = tidy_error(&format!("{:#}", failure.error));
            eprintln!("lasthop: {}", readable(&message));
            ExitCode::from(failure.exit as u8)
        }
    }
}

/// A query engine error as a person reads it: the root cause first, then what it stopped, each
/// message once (see [`tidy_error`]).
pub(crate) fn engine_error(e: &datafusion::error::DataFusionError) -> String {
    let root = tidy_error(&e.find_root().to_string());
    let whole = tidy_error(&e.to_string());
    let rest = whole.replace(&root, "");
    let context: Vec<&str> = rest
        .lines()
        .map(|l| l.trim().trim_end_matches(':').trim())
        .filter(|l| !l.is_empty() && *l != "caused by")
        .collect();
    if context.is_empty() { root } else { format!("{root}\n(while: {})", context.join("; ")) }
}

/// Text for a terminal, its own newlines kept as line breaks (indented under the first line)
/// and every other control character shown as an escape.
pub(crate) fn readable(text: &str) -> String {
    text.lines()
        .map(|l| lasthop_sinks::terminal_safe(l.trim_end()))
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// An error chain as a person reads it: the query engine wraps an I/O error in four or five
/// layers that each repeat it ("Arrow error: Io error: IO error: No space left …"); each
/// message is kept once, and a full disk says what to do.
pub(crate) fn tidy_error(chain: &str) -> String {
    const WRAPPERS: [&str; 6] = [
        "Arrow error",
        "Io error",
        "IO error",
        "External error",
        "Execution error",
        "Parquet error",
    ];
    let mut kept: Vec<&str> = Vec::new();
    for part in chain.split(": ") {
        if !WRAPPERS.contains(&part.trim()) && !kept.contains(&part) {
            kept.push(part);
        }
    }
    let mut message = kept.join(": ");
    if chain.contains("(os error 28)") {
        message.push_str(
            " — the disk is full: free space, or point --spill-dir (spills) or --store elsewhere",
        );
    }
    message
}

/// An error with the exit code it maps to.
/// Whether an error is, underneath, a write to a closed pipe.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub struct Failure {
    pub exit: Exit,
    pub error: anyhow::Error,
}

pub trait OrExit<T> {
    fn or_exit(self, exit: Exit) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> OrExit<T> for Result<T, E> {
    fn or_exit(self, exit: Exit) -> Result<T, Failure> {
        self.map_err(|e| Failure { exit, error: e.into() })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_closed_pipe_is_recognised_under_context_and_nothing_else_is() {
        let closed = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let wrapped = anyhow::Error::new(closed).context("writing the finding");
        assert!(super::is_broken_pipe(&wrapped));
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(!super::is_broken_pipe(&anyhow::Error::new(full).context("writing")));
        assert!(!super::is_broken_pipe(&anyhow::anyhow!("Broken pipe")));
    }

    #[test]
    fn engine_errors_read_once_and_a_full_disk_says_what_to_do() {
        let chain = "updating the store's history: Arrow error: Io error: IO error: No space left \
                     on device (os error 28): Arrow error: Io error: No space left on device (os \
                     error 28): No space left on device (os error 28)";
        let tidy = super::tidy_error(chain);
        assert!(
            tidy.starts_with(
                "updating the store's history: No space left on device (os error 28) — the disk is full"
            ),
            "{tidy}"
        );
        assert_eq!(super::tidy_error("reading x.log: not found"), "reading x.log: not found");
    }

    #[test]
    fn an_engine_error_reads_cause_first_with_its_own_line_breaks() {
        use datafusion::error::DataFusionError;
        let cause = DataFusionError::ResourcesExhausted(
            "Failed to allocate additional 8 MB for ExternalSorter[0]\ntop memory consumers:\n  \
             ExternalSorter[0] consumed 60 MB"
                .into(),
        );
        let error =
            DataFusionError::Context("sorting each pair's contacts".into(), Box::new(cause));
        let text = super::readable(&super::engine_error(&error));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Resources exhausted: Failed to allocate"), "{text}");
        assert!(lines.len() >= 3, "real line breaks: {text}");
        assert!(!text.contains("\\u{a}"), "{text}");
        assert!(text.ends_with("(while: sorting each pair's contacts)"), "{text}");
        assert_eq!(text.matches("Failed to allocate").count(), 1, "said once: {text}");
        // Control characters other than line breaks are still shown as escapes.
        assert!(!super::readable("a\u{1b}[31mb\nc").contains('\u{1b}'));
    }
}
