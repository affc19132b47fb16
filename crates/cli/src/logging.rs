//! The one logging path. Libraries report through the `log` crate and never print; the binary
//! installs this logger first thing, which writes to standard error:
//! - messages at the level `LASTHOP_LOG` names (off, error, warn, info, debug, trace), from
//!   lasthop and from the libraries under it (DataFusion, Ballista); by default warnings for the
//!   cluster's commands and `hunt --cluster`, nothing for the others;
//! - with `LASTHOP_TRACE` set, each detector's time (target `lasthop::trace`, from
//!   `lasthop_detect::hunt`) followed by the process's peak memory so far, for finding which
//!   analysis a large hunt spends its time or memory in.

/// The target `lasthop_detect::hunt` reports each detector's time under.
const TRACE_TARGET: &str = "lasthop::trace";

struct Stderr {
    level: log::LevelFilter,
    trace: bool,
}

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        if metadata.target() == TRACE_TARGET {
            return self.trace;
        }
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if record.target() == TRACE_TARGET {
            eprintln!("trace: {}, peak RSS {} MiB", record.args(), peak_rss_mib().unwrap_or(0));
        } else {
            eprintln!("{} {}: {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger (once; later calls do nothing). Without `LASTHOP_LOG`, messages are shown
/// from `default` up: warnings for the cluster's commands (a scheduler or executor has no other
/// voice), none for the rest, whose own messages are printed by the binary.
pub fn init(default: log::LevelFilter) {
    let level = std::env::var("LASTHOP_LOG")
        .ok()
        .and_then(|l| l.parse::<log::LevelFilter>().ok())
        .unwrap_or(default);
    let trace = std::env::var_os("LASTHOP_TRACE").is_some();
    let logger = Box::leak(Box::new(Stderr { level, trace }));
    if log::set_logger(logger).is_ok() {
        // The trace is logged at info: let it through whatever LASTHOP_LOG says.
        log::set_max_level(if trace { level.max(log::LevelFilter::Info) } else { level });
    }
}

/// The process's peak resident memory so far (Linux `VmHWM`).
fn peak_rss_mib() -> Option<u64> {
    Some(proc_kib("/proc/self/status", "VmHWM:")? / 1024)
}

/// A `key: N kB` figure of a Linux `/proc` file, in KiB; `None` where it cannot be read.
pub fn proc_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key))?.split_whitespace().next()?.parse().ok()
}
