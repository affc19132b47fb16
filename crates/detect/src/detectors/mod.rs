//! The detectors. Each is a self-contained module whose doc comment says what it finds, why it
//! matters (ATT&CK) and how it scores, and which turns DataFusion plans over the store's tables
//! into [`Finding`]s.

pub mod beacon;
pub(crate) mod context;
pub mod dns_tunnel;
pub mod ioc;
pub mod last_hop;
pub mod last_hop_inbound;
pub mod long_conn;
pub mod rare_peer;
pub mod sigma_match;
#[cfg(test)]
pub mod toy;
pub mod web_shell;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use lasthop_findings::Finding;
use lasthop_intel::IndicatorSet;
use lasthop_normalise::{Cidr, Networks};
use lasthop_sources::safelist::Safelist;

use crate::scoring::beacon::WorkingHours;

/// What a hunt gives every detector.
pub struct HuntContext {
    pub ctx: SessionContext,
    /// Threat-intelligence indicators to match (bundled, imported into the store, `--ioc-file`),
    /// warning lists already applied.
    pub iocs: Option<Arc<IndicatorSet>>,
    /// Sigma rules to run; `None` runs the bundled SigmaHQ webserver and proxy rules.
    pub rules: Option<Arc<crate::sigma::RuleSet>>,
    pub options: HuntOptions,
}

impl HuntContext {
    pub fn new(ctx: SessionContext) -> HuntContext {
        HuntContext { ctx, iocs: None, rules: None, options: HuntOptions::default() }
    }
}

/// Which beacon score ranks the pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scorer {
    /// lasthop's own: jitter-tolerant, multi-week, working-hours aware.
    #[default]
    Lasthop,
    /// RITA v5's published score over the last 24 hours, for comparison with RITA.
    Rita,
}

/// Settings the C2 analytics share.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    pub scorer: Scorer,
    /// The site's working week; `None` scores on the wall clock only.
    pub working_hours: Option<WorkingHours>,
    pub internal: Networks,
    pub safelist: Safelist,
    /// Also leave out the update, telemetry and certificate services ordinary software polls
    /// (`data/known_software.txt`).
    pub builtin_safelist: bool,
    /// Explicit proxies besides those seen answering HTTP `CONNECT`.
    pub proxies: Vec<Cidr>,
    /// Contacts in 24 hours at which a pair is a strobe rather than a beacon; also the most
    /// contacts of a pair kept for scoring.
    pub strobe_threshold: u64,
    /// Beacon findings below this score are not reported.
    pub min_beacon_score: f64,
    /// Classifies the other end's network (bundled lists plus the user's overrides).
    pub network_types: std::sync::Arc<lasthop_intel::Classifier>,
    /// Which machine had which address, from the site's asset list (see [`crate::hosts`]).
    pub assets: std::sync::Arc<lasthop_sources::assets::Assets>,
}

impl HuntOptions {
    /// The user's safelist and, unless switched off, the built-in one.
    pub fn effective_safelist(&self) -> Safelist {
        let mut list = self.safelist.clone();
        if self.builtin_safelist {
            let mut diagnostics = lasthop_sources::Diagnostics::default();
            list.add_text(
                std::path::Path::new("known_software.txt"),
                include_str!("../../data/known_software.txt"),
                &mut diagnostics,
            );
        }
        list
    }
}

impl Default for HuntOptions {
    fn default() -> Self {
        HuntOptions {
            scorer: Scorer::Lasthop,
            working_hours: Some(WorkingHours::default()),
            internal: Networks::default(),
            safelist: Safelist::default(),
            builtin_safelist: true,
            proxies: Vec::new(),
            strobe_threshold: 86_400,
            min_beacon_score: 0.6,
            network_types: std::sync::Arc::new(lasthop_intel::Classifier::bundled().clone()),
            assets: Default::default(),
        }
    }
}

pub type DetectorFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Finding>>> + Send + 'a>>;

/// A detector: a named analytic over the store.
pub trait Detector: Send + Sync {
    /// Stable id, used in finding ids and `--detector` selections.
    fn id(&self) -> &'static str;
    /// One line for `--help` and reports.
    fn description(&self) -> &'static str;
    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a>;
}

/// Every detector available in this build.
pub fn all() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(ioc::IocMatch),
        Box::new(beacon::Beacons),
        Box::new(long_conn::LongConnections),
        Box::new(dns_tunnel::DnsTunnel),
        Box::new(last_hop::LastHopContact),
        Box::new(last_hop_inbound::LastHopInbound),
        Box::new(rare_peer::RarePeer),
        Box::new(sigma_match::SigmaMatch),
        Box::new(web_shell::WebShell),
        #[cfg(test)]
        Box::new(toy::Toy),
    ]
}

/// The detectors named by `ids` (all of them when `ids` is empty), in their usual order; an
/// unknown id is an error that lists the valid ones.
pub fn select(ids: &[String]) -> std::result::Result<Vec<Box<dyn Detector>>, String> {
    let every = all();
    if let Some(unknown) = ids.iter().find(|id| !every.iter().any(|d| d.id() == id.as_str())) {
        let valid: Vec<_> = every.iter().map(|d| d.id()).collect();
        return Err(format!("no detector `{unknown}`; the detectors are {}", valid.join(", ")));
    }
    Ok(every.into_iter().filter(|d| ids.is_empty() || ids.iter().any(|id| id == d.id())).collect())
}

/// A connection's bytes in both directions, in SQL. The zeros are unsigned like the counts:
/// mixing them with signed literals makes a decimal of every sum.
pub(crate) const BOTH_WAYS_BYTES: &str = "COALESCE(orig_bytes, CAST(0 AS BIGINT UNSIGNED)) + COALESCE(resp_bytes, CAST(0 AS BIGINT UNSIGNED))";

pub(crate) use lasthop_query::rows::{Query, Row, Rows, rows};

/// Internal hosts with a connection in `conn` (0 without the table).
pub(crate) async fn internal_hosts(hunt: &HuntContext) -> Result<u64> {
    if !hunt.ctx.table_exist("conn")? {
        return Ok(0);
    }
    let sql = "SELECT count(DISTINCT src) AS n FROM conn WHERE is_internal(src)";
    rows(&hunt.ctx, "internal hosts", sql).await?.single_u64("n")
}
