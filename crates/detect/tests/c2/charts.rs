//! The report's charts, drawn from the store for the demo's planted beacon, long connection and
//! DNS tunnel: each chart holds the records behind its finding, no more and no fewer.

use lasthop_detect::charts::charts;
use lasthop_findings::{ChartKind, Finding};
use lasthop_query::{SessionOptions, open_store};

use crate::common::{figure, hunt_with, import};

fn of<'a>(findings: &'a [Finding], detector: &str) -> &'a Finding {
    findings.iter().find(|f| f.detector == detector).unwrap_or_else(|| panic!("no {detector}"))
}

#[test]
fn charts_hold_the_records_behind_each_finding() {
    let logs = tempfile::tempdir().unwrap();
    let config = lasthop_demo::DemoConfig { hosts: 40, days: 3, ..Default::default() };
    lasthop_demo::generate(logs.path(), &config).unwrap();
    let store = import(&[logs.path().to_path_buf()]);
    let findings = hunt_with(store.path(), "", Default::default());
    let charts = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = lasthop_store::Store::open(store.path()).unwrap();
        let ctx = open_store(&store, &SessionOptions::default()).await.unwrap();
        charts(&ctx, &findings).await.unwrap()
    });

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
