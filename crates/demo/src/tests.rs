use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::*;

fn small_config() -> DemoConfig {
    DemoConfig {
        hosts: 20,
        days: 2,
        background_conns_per_host_per_day: 12,
        ..DemoConfig::default()
    }
}

/// One generation shared by the read-only tests, to keep the suite fast in debug builds.
fn small() -> &'static (tempfile::TempDir, DemoSummary) {
    static SMALL: OnceLock<(tempfile::TempDir, DemoSummary)> = OnceLock::new();
    SMALL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(dir.path(), &small_config()).unwrap();
        (dir, summary)
    })
}

fn read_text(path: &Path) -> String {
    let raw = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_string(&mut s).unwrap();
        s
    } else {
        String::from_utf8(raw).unwrap()
    }
}

/// All records of one log type as field-name → value maps.
fn rows(summary: &DemoSummary, path: &str) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    for file in summary.files.iter().filter(|f| file_kind(f) == path) {
        let text = read_text(file);
        let fields: Vec<String> = text
            .lines()
            .find_map(|l| l.strip_prefix("#fields\t"))
            .unwrap()
            .split('\t')
            .map(str::to_string)
            .collect();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            out.push(fields.iter().cloned().zip(line.split('\t').map(str::to_string)).collect());
        }
    }
    out
}

fn file_kind(path: &Path) -> &str {
    let name = path.file_name().unwrap().to_str().unwrap();
    &name[..name.find('.').unwrap()]
}

fn all_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(all_files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let cfg =
        DemoConfig { hosts: 8, days: 1, background_conns_per_host_per_day: 8, ..small_config() };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    generate(a.path(), &cfg).unwrap();
    generate(b.path(), &cfg).unwrap();
    generate(c.path(), &DemoConfig { seed: 2, ..cfg.clone() }).unwrap();
    let fa = all_files_under(a.path());
    let fb = all_files_under(b.path());
    assert_eq!(fa.len(), fb.len());
    let mut differs = false;
    for f in &fa {
        let rel = f.strip_prefix(a.path()).unwrap();
        let bytes = std::fs::read(f).unwrap();
        assert_eq!(bytes, std::fs::read(b.path().join(rel)).unwrap(), "{}", rel.display());
        // Another seed may leave a quiet hour's log unwritten.
        differs |= std::fs::read(c.path().join(rel)).ok() != Some(bytes);
    }
    assert!(differs, "a different seed must change the output");
}

#[test]
fn rotated_layout_and_names() {
    let (dir, summary) = small();
    assert_eq!(summary.ioc_file, dir.path().join("iocs.txt"));
    assert!(dir.path().join("SCENARIOS.md").is_file());
    // Zeek opens a log file on its first record: conn.log has one every hour, quieter logs
    // (x509, http on a 20-host network at night, ssh) only in the hours that have records.
    for f in &summary.files {
        assert!(f.is_file(), "{}", f.display());
        assert!(read_text(f).lines().any(|l| !l.starts_with('#')), "empty {}", f.display());
    }
    for kind in ["conn", "dns", "http", "ssl", "x509", "ssh"] {
        let n = summary.files.iter().filter(|f| file_kind(f) == kind).count();
        assert!((1..=48).contains(&n), "{kind}: {n} files");
    }
    for day in ["2024-06-03", "2024-06-04"] {
        for h in 0..24 {
            let name = format!("conn.{h:02}:00:00-{:02}:00:00.log", (h + 1) % 24);
            let p = dir.path().join(day).join(&name);
            assert!(summary.files.contains(&p), "missing {day}/{name}");
        }
    }
    assert_eq!(
        all_files_under(dir.path()).len(),
        summary.files.len() + 2,
        "plus iocs.txt and SCENARIOS.md"
    );
    assert!(dir.path().join("2024-06-04/conn.23:00:00-00:00:00.log").is_file());
}

#[test]
fn headers_match_every_record() {
    let (_, summary) = small();
    let mut total = 0;
    for file in &summary.files {
        let text = read_text(file);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#separator \\x09");
        assert_eq!(lines[1], "#set_separator\t,");
        assert_eq!(lines[2], "#empty_field\t(empty)");
        assert_eq!(lines[3], "#unset_field\t-");
        assert_eq!(lines[4], format!("#path\t{}", file_kind(file)));
        assert!(lines[5].starts_with("#open\t2024-06-0"), "{}", lines[5]);
        let fields = lines[6].strip_prefix("#fields\t").unwrap().split('\t').count();
        let types = lines[7].strip_prefix("#types\t").unwrap().split('\t').count();
        assert_eq!(fields, types);
        assert!(lines.last().unwrap().starts_with("#close\t2024-06-0"));
        for line in &lines[8..lines.len() - 1] {
            assert!(!line.starts_with('#'));
            assert_eq!(line.split('\t').count(), fields, "{}: {line}", file.display());
            assert!(!line.split('\t').any(str::is_empty), "{line}");
            total += 1;
        }
    }
    assert_eq!(total, summary.records);
}

#[test]
fn sessions_are_linked_by_uid_and_fingerprint() {
    let (_, summary) = small();
    let conns = rows(summary, "conn");
    let uids: HashSet<&str> = conns.iter().map(|r| r["uid"].as_str()).collect();
    assert_eq!(uids.len(), conns.len(), "conn uids are unique");
    for kind in ["dns", "http", "ssl"] {
        let rs = rows(summary, kind);
        assert!(!rs.is_empty(), "{kind}");
        for r in &rs {
            assert!(uids.contains(r["uid"].as_str()), "{kind} uid {} has no conn", r["uid"]);
        }
    }
    let x509: HashSet<String> =
        rows(summary, "x509").into_iter().map(|r| r["fingerprint"].clone()).collect();
    let ssl = rows(summary, "ssl");
    let mut linked = 0;
    for r in &ssl {
        if r["cert_chain_fps"] != "-" {
            for fp in r["cert_chain_fps"].split(',') {
                assert_eq!(fp.len(), 64);
                assert!(x509.contains(fp), "fingerprint {fp} has no x509 row");
            }
            linked += 1;
        }
    }
    assert!(linked > 100, "{linked}");
    for r in &conns {
        assert!(r["uid"].starts_with('C') && r["uid"].len() == 18);
        assert!(r["community_id"].starts_with("1:") && r["community_id"].len() == 30);
    }
}

#[test]
fn planted_scenarios_are_present() {
    let (_, summary) = small();
    let ids: Vec<&str> = summary.scenarios.iter().map(|s| s.id).collect();
    assert_eq!(ids, ["beacon-residential", "webshell-from-soho", "dns-tunnel", "long-ssh"]);
    let conns = rows(summary, "conn");

    // Two days at ~300 s: about 576 beacons.
    let beacons: Vec<_> = conns
        .iter()
        .filter(|r| r["id.orig_h"] == "10.20.14.77" && r["id.resp_h"] == "73.54.23.243")
        .filter(|r| r["id.resp_p"] == "443")
        .collect();
    assert!((480..=700).contains(&beacons.len()), "{}", beacons.len());
    // Before beaconing, three sessions to the router's own web interface.
    let router = conns
        .iter()
        .filter(|r| r["id.resp_h"] == "73.54.23.243" && r["id.resp_p"] == "8443")
        .count();
    assert_eq!(router, 3);
    let x509 = rows(summary, "x509");
    assert!(x509.iter().any(|r| r["certificate.subject"].contains("O=DrayTek Corp.")));
    assert!(beacons.iter().all(|r| r["id.resp_p"] == "443" && r["service"] == "ssl"));
    let mut ts: Vec<f64> = beacons.iter().map(|r| r["ts"].parse().unwrap()).collect();
    ts.sort_by(f64::total_cmp);
    for w in ts.windows(2) {
        let gap = w[1] - w[0];
        assert!((235.0..=365.0).contains(&gap), "beacon gap {gap}");
    }
    let ssl = rows(summary, "ssl");
    let sni = ssl.iter().filter(|r| r["server_name"] == "updates.cdn-sync.net").count();
    assert_eq!(sni, beacons.len());
    let dns = rows(summary, "dns");
    let c2_lookups: Vec<_> = dns
        .iter()
        .filter(|r| r["query"] == "updates.cdn-sync.net" && r["id.orig_h"] == "10.20.14.77")
        .collect();
    assert!(c2_lookups.len() >= 40 && c2_lookups.iter().all(|r| r["answers"] == "73.54.23.243"));
    let first_lookup: f64 =
        c2_lookups.iter().map(|r| r["ts"].parse::<f64>().unwrap()).fold(f64::MAX, f64::min);
    assert!(first_lookup < ts[0], "the C2 name is resolved before the first beacon");

    let http = rows(summary, "http");
    let shell: Vec<_> = http.iter().filter(|r| r["id.orig_h"] == "98.113.172.20").collect();
    let posts =
        shell.iter().filter(|r| r["method"] == "POST" && r["uri"] == "/uploads/help.aspx").count();
    assert!(posts >= 20, "{posts}");
    assert!(shell.iter().any(|r| r["uri"].contains("?cmd=")));
    assert!(shell.iter().all(|r| r["id.resp_h"] == "10.30.0.10" && r["id.resp_p"] == "80"));
    let shell_ts: Vec<f64> = shell.iter().map(|r| r["ts"].parse().unwrap()).collect();
    let span = shell_ts.iter().cloned().fold(f64::MIN, f64::max)
        - shell_ts.iter().cloned().fold(f64::MAX, f64::min);
    assert!(span <= 86_400.0, "{span}");
    assert!(
        http.iter()
            .filter(|r| r["user_agent"].contains("rv:24.0"))
            .all(|r| r["id.orig_h"] == "98.113.172.20")
    );

    let tunnel = dns
        .iter()
        .filter(|r| r["id.orig_h"] == "10.20.33.5" && r["query"].ends_with(".t.dnsxfer.org"))
        .collect::<Vec<_>>();
    assert!(tunnel.len() >= 1_000, "{}", tunnel.len());
    assert!(tunnel.iter().all(|r| r["qtype_name"] == "TXT" && r["id.resp_h"] == "10.20.0.53"));
    let distinct: HashSet<&str> = tunnel.iter().map(|r| r["query"].as_str()).collect();
    assert_eq!(distinct.len(), tunnel.len());

    let ssh: Vec<_> = conns
        .iter()
        .filter(|r| r["id.orig_h"] == "10.20.2.15" && r["id.resp_h"] == "45.77.10.9")
        .collect();
    assert!(!ssh.is_empty() && ssh.iter().all(|r| r["id.resp_p"] == "22" && r["service"] == "ssh"));
    let longest = ssh.iter().map(|r| r["duration"].parse::<f64>().unwrap()).fold(0.0, f64::max);
    assert!(longest > 100_000.0, "{longest}");
    // No background flow comes near it.
    let others = conns
        .iter()
        .filter(|r| r["id.resp_h"] != "45.77.10.9" && r["duration"] != "-")
        .map(|r| r["duration"].parse::<f64>().unwrap())
        .fold(0.0, f64::max);
    assert!(others < longest / 10.0, "{others}");
}

#[test]
fn long_connection_is_written_when_it_ends() {
    let (dir, _) = small();
    let text = read_text(&dir.path().join("2024-06-03/conn.10:00:00-11:00:00.log"));
    assert!(!text.contains("45.77.10.9"), "the long SSH conn is logged at its end, not its start");
    let summary = &small().1;
    let hit = summary
        .files
        .iter()
        .filter(|f| file_kind(f) == "conn")
        .find(|f| read_text(f).contains("\t45.77.10.9\t"))
        .unwrap();
    assert!(hit.to_str().unwrap().contains("2024-06-04"), "{}", hit.display());
}

fn indicators(summary: &DemoSummary) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(&summary.ioc_file).unwrap();
    let (mut planted, mut decoys) = (Vec::new(), Vec::new());
    let mut in_decoys = false;
    for line in text.lines() {
        if line.starts_with("# From other reporting") {
            in_decoys = true;
        }
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if in_decoys { &mut decoys } else { &mut planted }.push(l.to_string());
    }
    (planted, decoys)
}

#[test]
fn ioc_list_has_planted_and_decoy_indicators() {
    let (_, summary) = small();
    let (planted, decoys) = indicators(summary);
    assert_eq!(planted, ["73.54.23.243", "updates.cdn-sync.net", "98.113.172.20", "dnsxfer.org"]);
    assert!(decoys.len() >= 4);
    let everything: String = summary.files.iter().map(|f| read_text(f)).collect();
    for d in &decoys {
        assert!(!everything.contains(d.as_str()), "decoy {d} occurs in the traffic");
    }
    for p in &planted {
        assert!(everything.contains(p.as_str()), "planted {p} is missing");
    }
}

#[test]
fn background_is_free_of_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DemoConfig { background_conns_per_host_per_day: 30, ..small_config() };
    let summary = generate_with(dir.path(), &cfg, false).unwrap();
    assert!(summary.scenarios.is_empty());
    let (planted, decoys) = indicators(&small().1);
    let everything: String = summary.files.iter().map(|f| read_text(f)).collect();
    for ioc in planted.iter().chain(&decoys).map(String::as_str).chain(["45.77.10.9", "help.aspx"])
    {
        assert!(!everything.contains(ioc), "{ioc} occurs in background traffic");
    }
}

#[test]
fn gzip_layout_decodes_to_the_same_records() {
    let cfg =
        DemoConfig { hosts: 5, days: 1, background_conns_per_host_per_day: 5, ..small_config() };
    let plain = tempfile::tempdir().unwrap();
    let gz = tempfile::tempdir().unwrap();
    let a = generate(plain.path(), &cfg).unwrap();
    let b = generate(gz.path(), &DemoConfig { gzip: true, ..cfg }).unwrap();
    assert_eq!(a.records, b.records);
    assert!(gz.path().join("2024-06-03/conn.00:00:00-01:00:00.log.gz").is_file());
    for (fa, fb) in a.files.iter().zip(&b.files) {
        assert_eq!(read_text(fa), read_text(fb));
    }
}

#[cfg(feature = "bench")]
#[test]
fn conn_log_has_exactly_n_records() {
    let dir = tempfile::tempdir().unwrap();
    for (n, gzip) in [(0u64, false), (1, false), (5_000, false), (3_000, true)] {
        let path = dir.path().join(format!("conn-{n}.log{}", if gzip { ".gz" } else { "" }));
        let bytes = generate_conn_log(&path, n, 9, gzip).unwrap();
        let text = read_text(&path);
        assert_eq!(bytes, text.len() as u64);
        let data: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(data.len() as u64, n);
        let fields =
            text.lines().find(|l| l.starts_with("#fields")).unwrap().split('\t').count() - 1;
        assert!(data.iter().all(|l| l.split('\t').count() == fields));
        assert!(text.ends_with('\n') && text.lines().last().unwrap().starts_with("#close"));
        if n == 5_000 {
            for needle in
                ["\tS0\t", "\tREJ\t", "\tRSTO\t", "\tudp\t", "\ticmp\t", "(empty)", "\t-\t"]
            {
                assert!(text.contains(needle), "{needle}");
            }
            let again = dir.path().join("again.log");
            generate_conn_log(&again, n, 9, false).unwrap();
            assert_eq!(std::fs::read(&again).unwrap(), text.as_bytes());
        }
    }
}

#[cfg(feature = "bench")]
#[test]
fn multi_member_gzip_conn_log_matches_plain() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, gz) = (dir.path().join("c.log"), dir.path().join("c.log.gz"));
    // More than one 4 MiB chunk, so the gzip file has several members.
    let n = 70_000;
    let a = generate_conn_log(&plain, n, 3, false).unwrap();
    let b = generate_conn_log(&gz, n, 3, true).unwrap();
    assert_eq!(a, b);
    assert!(a > 2 * (4 << 20), "{a}");
    assert_eq!(read_text(&plain), read_text(&gz));
}

#[test]
fn scenarios_markdown_documents_each_scenario() {
    let (dir, summary) = small();
    let md = std::fs::read_to_string(dir.path().join("SCENARIOS.md")).unwrap();
    for s in &summary.scenarios {
        assert!(md.contains(s.id) && md.contains(s.technique) && md.contains(&s.src));
        assert!(!s.description.is_empty());
    }
}
