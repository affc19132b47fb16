//! The hunt pipeline in process: a demo store hunted twice, its findings kept, its runs counted,
//! a triage decision honoured, a retro-hunt leaving the store's files alone, and the report's
//! charts drawn from the records behind the findings.

use std::path::Path;
use std::sync::Arc;

use lasthop_detect::detectors;
use lasthop_detect::sigma::RuleSet;
use lasthop_findings::{ChartKind, Decision, Finding, Recurrence};
use lasthop_hunt::{Settings, findings, run, triage};
use lasthop_store::files::{FINDING_RUNS_FILE, FINDINGS_FILE};

fn settings() -> Settings {
    Settings {
        hunt: Default::default(),
        internal: Default::default(),
        rules: Arc::new(RuleSet::bundled()),
        memory_limit: None,
        spill_dir: None,
        window_us: None,
        cluster: None,
    }
}

fn demo_store() -> (tempfile::TempDir, tempfile::TempDir) {
    let logs = tempfile::tempdir().unwrap();
    let config = lasthop_demo::DemoConfig { hosts: 40, days: 3, ..Default::default() };
    lasthop_demo::generate(logs.path(), &config).unwrap();
    let store = tempfile::tempdir().unwrap();
    let mut diagnostics = lasthop_sources::Diagnostics::default();
    let files = lasthop_sources::find_files(&[logs.path().to_path_buf()], &mut diagnostics);
    lasthop_store::import(store.path(), &files, &Default::default(), &mut |_| {}).unwrap();
    (logs, store)
}

fn hunt(root: &Path, save: bool) -> lasthop_hunt::HuntOutcome {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = rt.block_on(run(root, None, &settings(), &detectors::all(), save)).unwrap();
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    outcome
}

fn of<'a>(findings: &'a [Finding], detector: &str) -> &'a Finding {
    findings.iter().find(|f| f.detector == detector).unwrap_or_else(|| panic!("no {detector}"))
}

fn figure(f: &Finding, name: &str) -> f64 {
    f.evidence.figures.get(name).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("{name}"))
}

#[test]
fn a_store_hunted_twice_keeps_its_findings_counts_runs_and_honours_triage() {
    let (_logs, store) = demo_store();
    let root = store.path();

    let first = hunt(root, true);
    assert!(first.history.entries > 0 && first.history.new_entries == first.history.entries);
    assert!(first.findings.iter().any(|f| f.detector == "beacon"), "the demo's planted beacon");
    let kept = findings::load(root).unwrap();
    assert_eq!(kept, first.findings, "findings.jsonl holds what the hunt returned, in order");
    assert!(root.join(FINDING_RUNS_FILE).exists());
    for f in &first.findings {
        let status = f.status.as_ref().unwrap();
        assert_eq!((status.recurrence, status.runs), (Recurrence::New, 1), "{}", f.id);
    }

    // An analyst suppresses the top finding; the next hunt finds the same things again.
    let top = first.findings[0].id.clone();
    let decision = triage::Record {
        id: top.clone(),
        decision: "suppressed".into(),
        note: "known \"test\" host".into(),
        at: triage::now_us(),
        until: None,
        by: None,
    };
    triage::record(root, &decision).unwrap();
    let second = hunt(root, true);
    let ids = |fs: &[Finding]| fs.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&second.findings), ids(&first.findings), "the same findings, same order");
    assert_eq!(second.history.new_entries, 0, "nothing new since the first hunt");
    for f in &second.findings {
        let status = f.status.as_ref().unwrap();
        assert_eq!((status.recurrence, status.runs), (Recurrence::Recurring, 2), "{}", f.id);
    }
    let (shown, hidden) = triage::reported(second.findings.clone());
    assert_eq!(hidden, 1);
    assert!(shown.iter().all(|f| f.id != top));
    let suppressed = second.findings.iter().find(|f| f.id == top).unwrap();
    let t = suppressed.status.as_ref().unwrap().triage.as_ref().unwrap();
    assert_eq!((t.decision, t.note.as_str()), (Decision::Suppressed, "known \"test\" host"));

    // A retro-hunt (not saved) leaves the store's findings and run counts as they were.
    let findings_before = std::fs::read(root.join(FINDINGS_FILE)).unwrap();
    let runs_before = std::fs::read(root.join(FINDING_RUNS_FILE)).unwrap();
    let retro = hunt(root, false);
    assert_eq!(retro.findings[0].status.as_ref().unwrap().runs, 3, "counted as the third run");
    assert_eq!(std::fs::read(root.join(FINDINGS_FILE)).unwrap(), findings_before);
    assert_eq!(std::fs::read(root.join(FINDING_RUNS_FILE)).unwrap(), runs_before);
    let leftovers: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind: {leftovers:?}");

    // The report's charts hold the records behind each finding, no more and no fewer.
    let findings = second.findings;
    let charts = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(lasthop_hunt::charts::for_report(root, &findings, &settings()))
        .unwrap();
    // The implant's beacon to its relay's name (HTTP Host and TLS SNI): one mark per contact,
    // one gap fewer in the histogram.
    let beacon = of(&findings, "beacon");
    assert!(beacon.entities.domain.is_some(), "{beacon:#?}");
    let drawn = &charts[&beacon.id];
    let ChartKind::Timeline { times, .. } = &drawn[0].kind else { panic!("{drawn:?}") };
    assert_eq!(times.len() as f64, figure(beacon, "connections"), "{}", beacon.title);
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
    let ChartKind::Histogram { bins, .. } = &drawn[1].kind else { panic!("{drawn:?}") };
    assert_eq!(bins.iter().map(|b| b.1).sum::<u64>() as usize, times.len() - 1);

    // The long connection: its bytes, spread over the hours it lasted, add up to at least the
    // bytes of its long sessions (the chart also shows the pair's short ones).
    let long = of(&findings, "long-connection");
    let drawn: f64 = charts[&long.id]
        .iter()
        .map(|c| match &c.kind {
            ChartKind::OverTime { points, .. } => points.iter().map(|p| p.1).sum::<f64>(),
            other => panic!("{other:?}"),
        })
        .sum();
    let total = figure(long, "bytes");
    assert!(total > 0.0 && drawn + 1.0 >= total, "drawn {drawn}, total {total}: {long:#?}");

    // The tunnel: distinct names per hour, at least the domain's distinct names in all.
    let tunnel = of(&findings, "dns-tunnel");
    let ChartKind::OverTime { points, .. } = &charts[&tunnel.id][0].kind else { panic!() };
    let per_hour: f64 = points.iter().map(|p| p.1).sum();
    assert!(per_hour >= figure(tunnel, "subdomains"), "{per_hour} vs {tunnel:#?}");
}

/// The charts' keys (finding ids, sources, names) travel as table rows: hostile names chart
/// exactly their own records.
#[test]
fn hostile_names_chart_exactly_their_records() {
    let hostile = [
        "it's".to_string(),
        "back\\slash\\'".to_string(),
        "100%_off".to_string(),
        "nul\0byte".to_string(),
        "x') or ('1'='1".to_string(),
        "a".repeat(100_000),
    ];
    let mut lines = String::new();
    for (n, value) in hostile.iter().enumerate() {
        for i in 0..=n {
            let record = serde_json::json!({"_path": "http", "ts": 1_700_000_000.0 + (n * 10 + i) as f64,
                "uid": format!("C{n}-{i}"), "id.orig_h": "10.0.0.5", "id.orig_p": 40000,
                "id.resp_h": "198.51.100.7", "id.resp_p": 80, "method": "GET",
                "host": format!("{value}.example"), "uri": "/", "request_body_len": 7});
            lines.push_str(&format!("{record}\n"));
        }
    }
    let (batches, _) = lasthop_sources::read_bytes("http.log", lines.into_bytes());
    let tables = batches.into_iter().map(|(t, b)| (t, vec![b])).collect();
    let findings: Vec<Finding> = hostile
        .iter()
        .map(|value| {
            let entities = lasthop_findings::Entities {
                source: Some("10.0.0.5".into()),
                domain: Some(format!("{value}.example")),
                ..Default::default()
            };
            let mut f = Finding::new("beacon", "test".into(), 0.8, entities);
            f.id = format!("id {value}");
            f
        })
        .collect();
    let charts = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let options = lasthop_query::SessionOptions::default();
        let ctx = lasthop_query::session::from_batches(tables, &options).unwrap();
        lasthop_hunt::charts::charts(&ctx, &findings).await.unwrap()
    });
    for (n, f) in findings.iter().enumerate() {
        let ChartKind::Timeline { times, .. } = &charts[&f.id][0].kind else { panic!() };
        assert_eq!(times.len(), n + 1, "{:.40}", f.id);
    }
}
