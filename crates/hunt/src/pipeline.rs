//! One hunt of a store: history, session, detectors, triage, saved findings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use datafusion::error::DataFusionError;
use lasthop_detect::HuntContext;
use lasthop_detect::detectors::{Detector, HuntOptions};
use lasthop_detect::sigma::RuleSet;
use lasthop_findings::Finding;
use lasthop_intel::IndicatorSet;
use lasthop_normalise::Networks;
use lasthop_query::SessionOptions;
use lasthop_query::history::{DEFAULT_MEMORY_LIMIT, HistoryUpdate};
use lasthop_store::Store;

/// What a hunt runs with: settings resolved from flags, configuration file and defaults.
pub struct Settings {
    pub hunt: HuntOptions,
    pub internal: Networks,
    pub rules: Arc<RuleSet>,
    /// Bytes the query engine may hold (`None`: no limit).
    pub memory_limit: Option<usize>,
    pub spill_dir: Option<PathBuf>,
    /// Hunt only this much of the store, back from its latest record (µs; `hunt --since`).
    pub window_us: Option<i64>,
    /// Run the plans on this cluster (`df://host:port`; needs the `cluster` feature).
    pub cluster: Option<String>,
}

impl Settings {
    /// The session a hunt of the store opens.
    pub fn session(&self) -> SessionOptions {
        SessionOptions {
            internal: self.internal.clone(),
            network_types: self.hunt.network_types.clone(),
            memory_limit: self.memory_limit,
            spill_dir: self.spill_dir.clone(),
            window_us: self.window_us,
            ..Default::default()
        }
    }

    /// The history update's bound within a hunt: the hunt's memory limit, but never more than
    /// the import's default, since the detectors that follow need the memory more.
    pub fn history_memory(&self) -> usize {
        self.memory_limit.map_or(DEFAULT_MEMORY_LIMIT, |limit| limit.min(DEFAULT_MEMORY_LIMIT))
    }
}

/// What a hunt of a store gives.
pub struct HuntOutcome {
    /// Every finding, ranked, each marked new or recurring with the decision in force (the
    /// suppressed ones included: [`crate::triage::reported`] leaves them out).
    pub findings: Vec<Finding>,
    /// Detectors (or later steps: enrichment, host names, campaigns) that failed, with why.
    pub errors: Vec<(String, DataFusionError)>,
    pub history: HistoryUpdate,
}

/// Updates the store's history of first and last seen with what it imported since the last
/// update, within `memory_limit` bytes (past it the aggregation spills).
pub async fn update_history(
    root: &Path,
    memory_limit: usize,
    spill_dir: Option<&Path>,
) -> anyhow::Result<HistoryUpdate> {
    let store = Store::open(root)?;
    lasthop_query::history::update(&store, memory_limit, spill_dir)
        .await
        .context("updating the store's history of first and last seen")
}

/// Hunts the store at `root` with `detectors`. With `save`, the findings become the store's
/// (`findings.jsonl`) and this run counts in each finding's run history; without it (a
/// retro-hunt) the store's files other than the history are left as they are.
pub async fn run(
    root: &Path,
    iocs: Option<Arc<IndicatorSet>>,
    settings: &Settings,
    detectors: &[Box<dyn Detector>],
    save: bool,
) -> anyhow::Result<HuntOutcome> {
    let history =
        update_history(root, settings.history_memory(), settings.spill_dir.as_deref()).await?;
    let store = Store::open(root)?;
    let ctx = lasthop_query::open_store(&store, &settings.session()).await?;
    #[cfg(feature = "cluster")]
    let ctx = match &settings.cluster {
        Some(url) => lasthop_cluster::remote_context(url, &ctx).await?,
        None => ctx,
    };
    #[cfg(not(feature = "cluster"))]
    if settings.cluster.is_some() {
        anyhow::bail!("this build of lasthop has no cluster support (the `cluster` feature)");
    }
    let hunt = HuntContext {
        ctx,
        iocs,
        rules: Some(settings.rules.clone()),
        options: settings.hunt.clone(),
    };
    let (mut findings, errors) = lasthop_detect::hunt(&hunt, detectors).await;
    crate::triage::mark(root, &mut findings, save).context("reading the store's triage")?;
    if save {
        crate::findings::save(root, &findings).context("saving the findings")?;
    }
    Ok(HuntOutcome { findings, errors, history })
}
