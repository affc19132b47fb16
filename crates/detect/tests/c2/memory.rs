//! The beacon analysis under a memory limit: per-pair state several times the limit is sorted
//! through disk, and the answer is the one an unlimited run gives.

use lasthop_detect::detectors::{self, HuntContext, HuntOptions};
use lasthop_findings::Finding;
use lasthop_query::{SessionOptions, open_store};

use crate::common::import;

/// Runs only the beacon detector over `store` with the given limit and spilling on or off.
fn beacons(
    store: &std::path::Path,
    limit: Option<usize>,
    spill: bool,
) -> Result<Vec<Finding>, String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let session =
            SessionOptions { memory_limit: limit, allow_spill: spill, ..Default::default() };
        let store = lasthop_store::Store::open(store).unwrap();
        let ctx = open_store(&store, &session).await.map_err(|e| e.to_string())?;
        let hunt = HuntContext { options: HuntOptions::default(), ..HuntContext::new(ctx) };
        let beacon: Vec<Box<dyn detectors::Detector>> =
            detectors::all().into_iter().filter(|d| d.id() == "beacon").collect();
        let (mut findings, errors) = lasthop_detect::hunt(&hunt, &beacon).await;
        if let Some((_, e)) = errors.first() {
            return Err(e.to_string());
        }
        findings.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(findings)
    })
}

#[test]
fn beacon_analysis_spills_instead_of_failing_under_a_small_memory_limit() {
    let logs = tempfile::tempdir().unwrap();
    // A week of synthetic sensor traffic: 3 M connections, every one part of some pair's
    // series; sorted per pair that is over 200 MiB of state.
    lasthop_demo::generate_conn_log(&logs.path().join("conn.log"), 3_000_000, 11, false).unwrap();
    let store = import(&[logs.path().to_path_buf()]);
    // Smaller limits pass too, but not reliably: part of what the plan holds (hash tables,
    // repartition buffers, the sort's merge reserve) cannot spill, and its peak varies by run.
    const LIMIT: usize = 64 << 20;
    // What the per-pair sort holds: pair, time, size, duration and uid of every connection.
    let state: usize = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = lasthop_store::Store::open(store.path()).unwrap();
        let ctx = open_store(&store, &SessionOptions::default()).await.unwrap();
        let batches = ctx
            .sql("SELECT src, dst, ts, orig_bytes, duration, uid FROM conn")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        batches.iter().map(|b| b.get_array_memory_size()).sum()
    });
    eprintln!("per-pair state {} MiB, limit {} MiB", state >> 20, LIMIT >> 20);
    assert!(state >= 3 * LIMIT, "the state ({state} bytes) must be several times the limit");
    let unlimited = beacons(store.path(), None, true).expect("an unlimited run completes");
    let limited = beacons(store.path(), Some(LIMIT), true)
        .expect("a run under the limit completes by spilling");
    assert_eq!(
        limited.iter().map(|f| (&f.id, f.score)).collect::<Vec<_>>(),
        unlimited.iter().map(|f| (&f.id, f.score)).collect::<Vec<_>>(),
        "the same beacons with the same scores"
    );
    // The state really is larger than the limit: without a disk to spill to, the same run fails.
    let refused = beacons(store.path(), Some(LIMIT), false);
    assert!(refused.is_err(), "with nowhere to spill, {LIMIT} bytes must not be enough");
}
