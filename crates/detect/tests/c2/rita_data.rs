//! RITA's own test captures, reproduced with the RITA-compatible scorer and ranked by lasthop's.

use crate::common::*;
use lasthop_detect::detectors::{HuntOptions, Scorer};

#[test]
fn missing_host_beacon_and_open_ssh_session() {
    let Some(dir) = shared("rita/missing_host") else { return };
    let store = import(&[dir]);
    // As RITA's test configures it: the sensor's public address is internal.
    let rita = hunt(store.path(), "64.225.56.201/32", Scorer::Rita);
    let b = beacon(&rita, "73.54.23.243", "64.225.56.201");
    eprintln!("missing_host RITA-compatible: {:?}", b.evidence.figures);
    assert_near(figure(b, "score_rita"), 0.963, 0.05, "beacon score");
    let long = rita
        .iter()
        .find(|f| {
            f.detector == "long-connection" && f.entities.source.as_deref() == Some("73.54.23.243")
        })
        .expect("the SSH session that lives in open_conn");
    assert_near(figure(long, "total_duration_s"), 270_036.631115, 100.0, "total duration");
    assert!(figure(long, "still_open") >= 1.0, "{:?}", long.evidence.figures);
    assert!(long.score >= 0.8, "{long:?}");
    // lasthop's scorer puts the planted pair at the top of its beacons. It scores a pair from
    // its internal end (a client polling one of the site's servers is not that client's beacon),
    // so the capture is read from the infected host's side.
    let own = hunt(store.path(), "73.54.23.243/32", Scorer::Lasthop);
    let top = own.iter().find(|f| f.detector == "beacon").expect("a beacon");
    assert_eq!(top.entities.source.as_deref(), Some("73.54.23.243"), "{top:#?}");
}

#[test]
fn proxied_beacons_are_followed_to_their_names() {
    let Some(dir) = shared("rita/proxy") else { return };
    let store = import(&[dir]);
    let findings = hunt(store.path(), "", Scorer::Rita);
    let evil = beacon(&findings, "10.136.0.18", "www.honestimnotevil.com");
    eprintln!("proxy: {:?}", evil.evidence.figures);
    assert_near(figure(evil, "score_rita"), 0.979, 0.05, "honestimnotevil score");
    assert_near(figure(evil, "rita_timestamp"), 0.921, 0.05, "ts score");
    assert_near(figure(evil, "rita_data_size"), 0.995, 0.05, "ds score");
    assert_eq!(evil.evidence.figures["via_proxy"], true);
    let google = beacon(&findings, "10.136.0.18", "www.google.com");
    assert_near(figure(google, "score_rita"), 0.586, 0.05, "google score");
    let proxies: Vec<_> = findings
        .iter()
        .filter(|f| f.detector == "beacon" && f.entities.destination.is_some())
        .filter(|f| {
            findings.iter().any(|g| {
                g.evidence.figures.get("addresses").is_some_and(|a| {
                    a.to_string().contains(f.entities.destination.as_deref().unwrap())
                })
            })
        })
        .map(|f| f.title.clone())
        .collect();
    assert!(proxies.is_empty(), "the proxy is never a beacon destination: {proxies:?}");
    let own = hunt(store.path(), "", Scorer::Lasthop);
    let top = own.iter().find(|f| f.detector == "beacon").expect("a beacon");
    assert_eq!(top.entities.domain.as_deref(), Some("www.honestimnotevil.com"), "{top:#?}");
}

#[test]
fn proxy_rolling_pairs_match_rita() {
    let Some(dir) = shared("rita/proxy_rolling") else { return };
    let store = import(&[dir]);
    let findings = hunt(store.path(), "", Scorer::Rita);
    let dns = beacon(&findings, "10.0.0.238", "75.75.75.75");
    assert_near(figure(dns, "score_rita"), 0.673, 0.05, "10.0.0.238 → 75.75.75.75");
    // The proxied pair is followed through 10.0.0.238 to its name with RITA's count (46) and
    // proxy count (46). Its score depends on the window's end: RITA's runs to the last
    // internal-to-external connection, not to the SSDP multicast logged a minute later.
    let all = hunt_with(
        store.path(),
        "",
        HuntOptions { min_beacon_score: 0.0, builtin_safelist: false, ..Default::default() },
    );
    let safe = beacon(&all, "10.0.0.111", "safebrowsing.googleapis.com");
    assert_eq!(figure(safe, "connections"), 46.0);
    assert_eq!(safe.evidence.figures["via_proxy"], true);
    assert_near(figure(safe, "score_rita"), 0.624, 0.05, "10.0.0.111 → safebrowsing via proxy");
    assert!(
        !findings.iter().any(|f| f.entities.destination.as_deref() == Some("10.0.0.238")),
        "proxy 10.0.0.238 must never be a destination"
    );
}

#[test]
fn user_agent_rarity_matches_rita_on_the_dnscat2_http_log() {
    let Some(log) = shared("rita/dnscat2-ja3-strobe-agent") else { return };
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared("GROUND_TRUTH.json").unwrap()).unwrap(),
    )
    .unwrap();
    let expected: Vec<(String, u64, u64)> =
        truth["rita"]["dnscat2_ja3_strobe"]["rare_useragents_src_10.55.100.104"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap(), r[2].as_u64().unwrap())
            })
            .collect();
    let store = import(&[log]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let actual: Vec<(String, u64, u64)> = rt.block_on(async {
        let store = lasthop_store::Store::open(store.path()).unwrap();
        let ctx = lasthop_query::open_store(&store, &Default::default()).await.unwrap();
        let batches = ctx
            .sql(
                "SELECT user_agent, destinations, names FROM user_agents
                 WHERE src = '10.55.100.104' AND user_agent IS NOT NULL AND user_agent <> ''
                 ORDER BY user_agent",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Int64Type;
        let mut rows = Vec::new();
        for b in batches {
            for i in 0..b.num_rows() {
                rows.push((
                    b.column(0).as_string::<i32>().value(i).to_string(),
                    b.column(1).as_primitive::<Int64Type>().value(i) as u64,
                    b.column(2).as_primitive::<Int64Type>().value(i) as u64,
                ));
            }
        }
        rows
    });
    assert_eq!(actual, expected);
}
