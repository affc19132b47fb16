//! Helpers shared by the C2 tests: importing logs into a temporary store and hunting it.

pub use std::path::{Path, PathBuf};

use lasthop_detect::detectors::{self, HuntContext, HuntOptions, Scorer};
use lasthop_findings::Finding;
use lasthop_normalise::Networks;
use lasthop_query::{SessionOptions, open_store};
use lasthop_sources::{Diagnostics, find_files};

/// A path under `../shared/data/zeek/`, or `None` (with a message) when it is absent.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/zeek").join(relative);
    if dir.exists() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent; the real-data tests need ../shared/data", dir.display());
        None
    }
}

pub fn import(paths: &[PathBuf]) -> tempfile::TempDir {
    let store = tempfile::tempdir().unwrap();
    let mut d = Diagnostics::default();
    let files = find_files(paths, &mut d);
    lasthop_store::import(store.path(), &files, &Default::default(), &mut |_| {}).unwrap();
    store
}

/// Hunts as RITA would: no built-in safelist (RITA has none).
pub fn hunt(store: &Path, internal: &str, scorer: Scorer) -> Vec<Finding> {
    hunt_with(
        store,
        internal,
        HuntOptions { scorer, builtin_safelist: false, ..Default::default() },
    )
}

pub fn hunt_with(store: &Path, internal: &str, options: HuntOptions) -> Vec<Finding> {
    let mut networks = Networks::default();
    networks.add(internal).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let session = SessionOptions { internal: networks.clone(), ..Default::default() };
        let store = lasthop_store::Store::open(store).unwrap();
        let ctx = open_store(&store, &session).await.unwrap();
        let hunt = HuntContext {
            options: HuntOptions { internal: networks, ..options },
            ..HuntContext::new(ctx)
        };
        let (findings, errors) = lasthop_detect::hunt(&hunt, &detectors::all()).await;
        assert!(errors.is_empty(), "{errors:?}");
        findings
    })
}

pub fn figure(f: &Finding, name: &str) -> f64 {
    f.evidence
        .figures
        .get(name)
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("{name} in {f:#?}"))
}

/// The beacon finding about `source` and `target`: its own, or the one finding of several hosts
/// beaconing to `target` that lists it.
pub fn beacon<'a>(findings: &'a [Finding], source: &str, target: &str) -> &'a Finding {
    let names = |f: &Finding| {
        f.entities.source.as_deref() == Some(source)
            || f.evidence
                .figures
                .get("hosts")
                .and_then(|h| h.as_array())
                .is_some_and(|hosts| hosts.iter().any(|h| h.as_str() == Some(source)))
    };
    findings
        .iter()
        .find(|f| {
            f.detector == "beacon"
                && names(f)
                && (f.entities.destination.as_deref() == Some(target)
                    || f.entities.domain.as_deref() == Some(target))
        })
        .unwrap_or_else(|| {
            let beacons: Vec<_> =
                findings.iter().filter(|f| f.detector == "beacon").map(|f| &f.title).collect();
            panic!("no beacon {source} → {target} among {beacons:#?}")
        })
}

pub fn assert_near(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} vs RITA's {expected} (±{tolerance})"
    );
}
