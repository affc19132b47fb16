//! The dnscat2 capture's conn, dns and ssl logs are not available, so its strobe, DNS C2 and
//! long-connection cases are replicated here: each planted beside a benign control that must
//! not be reported.

use std::fmt::Write as _;

use lasthop_detect::detectors::{HuntOptions, Scorer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::*;

const DAY: f64 = 86_400.0;
const START: f64 = 1_517_336_100.0; // 2018-01-30, as the dnscat2 capture

fn zeek(path: &Path, log: &str, fields: &str, types: &str, rows: &str) {
    let text = format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{log}\n\
         #fields\t{fields}\n#types\t{types}\n{rows}"
    );
    std::fs::write(path, text).unwrap();
}

const CONN_FIELDS: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_ip_bytes\tresp_ip_bytes";
const CONN_TYPES: &str = "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tstring\tcount\tcount";

#[allow(clippy::too_many_arguments)]
fn conn(
    rows: &mut String,
    ts: f64,
    uid: &str,
    src: &str,
    dst: &str,
    port: u16,
    proto: &str,
    duration: f64,
    bytes: u64,
) {
    writeln!(
        rows,
        "{ts:.6}\t{uid}\t{src}\t{}\t{dst}\t{port}\t{proto}\t-\t{duration:.6}\t{bytes}\t{bytes}\tSF\tShADadFf\t{}\t{}",
        40_000 + (uid.len() * 7919) % 20_000,
        bytes + 40,
        bytes + 40
    )
    .unwrap();
}

fn hunt_synthetic(dir: &Path) -> Vec<lasthop_findings::Finding> {
    let store = import(&[dir.to_path_buf()]);
    hunt_with(store.path(), "", HuntOptions { scorer: Scorer::Lasthop, ..Default::default() })
}

#[test]
fn a_one_per_second_flood_is_a_strobe_not_a_beacon() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    // 192.168.88.2 → 165.227.88.15:53, as in the capture: 1.3 queries a second for a day.
    for i in 0..110_000u32 {
        conn(
            &mut rows,
            START + i as f64 * 0.78,
            &format!("Cs{i}"),
            "192.168.88.2",
            "165.227.88.15",
            53,
            "udp",
            0.02,
            90,
        );
    }
    // Control: a clock every five minutes from another host.
    for i in 0..288u32 {
        conn(
            &mut rows,
            START + i as f64 * 300.0,
            &format!("Cc{i}"),
            "192.168.88.3",
            "198.51.100.7",
            443,
            "tcp",
            0.3,
            700,
        );
    }
    zeek(&dir.path().join("conn.log"), "conn", CONN_FIELDS, CONN_TYPES, &rows);
    let findings = hunt_synthetic(dir.path());
    let about = |dst: &str| -> Vec<&lasthop_findings::Finding> {
        findings.iter().filter(|f| f.entities.destination.as_deref() == Some(dst)).collect()
    };
    let strobe = about("165.227.88.15");
    assert!(strobe.iter().any(|f| f.detector == "strobe"), "{strobe:#?}");
    assert!(!strobe.iter().any(|f| f.detector == "beacon"), "a strobe is never a beacon");
    assert!(
        about("198.51.100.7").iter().any(|f| f.detector == "beacon"),
        "the control clock is a beacon"
    );
}

#[test]
fn dns_c2_is_found_and_an_ordinary_busy_domain_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut rows = String::new();
    let mut t = START;
    // dnscat2: one host, thousands of hex names under dnsc.r-1x.com, TXT/CNAME/MX, never connected.
    for i in 0..4_000u32 {
        let label: String = (0..60).map(|_| format!("{:x}", rng.gen_range(0..16))).collect();
        let qtype = ["TXT", "CNAME", "MX"][i as usize % 3];
        t += rng.gen_range(0.5..3.0);
        writeln!(rows, "{t:.6}\tCd{i}\t10.55.100.111\t53000\t192.168.88.2\t53\tudp\t{i}\t{label}.dnsc.r-1x.com\t{qtype}\tNOERROR\t-").unwrap();
    }
    // Control: microsoft.com, 60 short readable names from 20 hosts, answered with addresses.
    for i in 0..2_000u32 {
        let name = format!(
            "{}.microsoft.com",
            ["www", "login", "update", "go", "support", "docs"][i as usize % 6]
        );
        let name = if i % 30 == 0 { format!("host{}.{name}", i / 30) } else { name };
        t += rng.gen_range(0.5..3.0);
        writeln!(rows, "{t:.6}\tCm{i}\t10.55.100.{}\t53001\t192.168.88.2\t53\tudp\t{i}\t{name}\tA\tNOERROR\t20.70.1.{}", 100 + i % 20, i % 50).unwrap();
    }
    zeek(
        &dir.path().join("dns.log"),
        "dns",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\tquery\tqtype_name\trcode_name\tanswers",
        "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tstring\tstring\tstring\tvector[string]",
        &rows,
    );
    let findings = hunt_synthetic(dir.path());
    let tunnel = findings
        .iter()
        .find(|f| f.detector == "dns-tunnel" && f.entities.domain.as_deref() == Some("r-1x.com"))
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(tunnel.score >= 0.9, "{tunnel:#?}");
    assert_eq!(tunnel.entities.source.as_deref(), Some("10.55.100.111"));
    assert_eq!(tunnel.evidence.figures["subdomains"], 4_000);
    assert!(
        !findings.iter().any(|f| f.entities.domain.as_deref() == Some("microsoft.com")),
        "{findings:#?}"
    );
}

#[test]
fn a_session_still_open_at_the_end_is_a_long_connection() {
    let dir = tempfile::tempdir().unwrap();
    // The session is only ever in open_conn: snapshots every hour, growing, never closed.
    let mut open = String::new();
    for h in 1..=30u32 {
        let d = h as f64 * 3600.0;
        writeln!(open, "{START:.6}\tClong\t10.55.100.100\t50000\t65.52.108.225\t443\ttcp\tssl\t{d:.6}\t{}\t{}\tS1\tShAD\t{}\t{}", h * 1000, h * 5000, h * 1000 + 40, h * 5000 + 40).unwrap();
    }
    zeek(&dir.path().join("open_conn.log"), "open_conn", CONN_FIELDS, CONN_TYPES, &open);
    let mut closed = String::new();
    conn(
        &mut closed,
        START + 100.0,
        "Cshort",
        "10.55.100.101",
        "65.52.108.226",
        443,
        "tcp",
        1_200.0,
        9_000,
    );
    conn(&mut closed, START + DAY, "Clast", "10.55.100.101", "65.52.108.226", 443, "tcp", 1.0, 900);
    zeek(&dir.path().join("conn.log"), "conn", CONN_FIELDS, CONN_TYPES, &closed);
    let findings = hunt_synthetic(dir.path());
    let long = findings
        .iter()
        .find(|f| f.detector == "long-connection")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(long.entities.destination.as_deref(), Some("65.52.108.225"));
    assert_eq!(long.evidence.figures["still_open"], 1);
    assert_eq!(long.evidence.figures["total_duration_s"], 108_000.0);
    assert!(long.score >= 0.8, "{long:#?}");
    assert!(
        !findings.iter().any(|f| f.entities.destination.as_deref() == Some("65.52.108.226")),
        "a 20-minute session is not long"
    );
}

#[test]
fn a_beacon_fetching_a_program_named_like_an_image_is_raised_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut conns, mut http) = (String::new(), String::new());
    // Hosts poll servers every ten minutes for a day; one server hands out a Windows program as
    // /images/logo.png to a client with its own user agent and no Host header, the other a
    // real image to two browsers. A fourth host polls a time server.
    for (host, server, mime, agent, name) in [
        ("10.1.1.5", "203.0.113.9", "application/x-dosexec", "Implant/1.0", "-"),
        ("10.1.1.6", "198.51.100.20", "image/png", "Mozilla/5.0", "cdn.example"),
        ("10.1.1.7", "198.51.100.20", "image/png", "Mozilla/5.0", "cdn.example"),
    ] {
        for i in 0..144u32 {
            let ts = START + i as f64 * 600.0 + (i % 7) as f64;
            let uid = format!("C{host}{i}").replace('.', "");
            conn(&mut conns, ts, &uid, host, server, 80, "tcp", 0.4, 900);
            writeln!(
                http,
                "{ts:.6}\t{uid}\t{host}\t50000\t{server}\t80\t1\tGET\t{name}\t/images/logo.png\t{agent}\t200\t{mime}"
            )
            .unwrap();
        }
    }
    // The time server is polled for three days: a clock that lasts, reported with its
    // adjustment.
    for i in 0..432u32 {
        let ts = START + i as f64 * 600.0 + (i % 5) as f64;
        conn(&mut conns, ts, &format!("Cntp{i}"), "10.1.1.8", "203.0.113.50", 123, "udp", 0.01, 48);
    }
    zeek(&dir.path().join("conn.log"), "conn", CONN_FIELDS, CONN_TYPES, &conns);
    zeek(
        &dir.path().join("http.log"),
        "http",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost\turi\tuser_agent\tstatus_code\tresp_mime_types",
        "time\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring\tcount\tset[string]",
        &http,
    );
    let findings = hunt_synthetic(dir.path());
    let adjustments = |src: &str, dst: &str| -> String {
        let f = beacon(&findings, src, dst);
        f.evidence.figures.get("adjustments").map(|a| a.to_string()).unwrap_or_default()
    };
    let disguised = adjustments("10.1.1.5", "203.0.113.9");
    assert!(
        disguised.contains("144 response(s) whose content contradicts the URI's extension")
            && disguised.contains("/images/logo.png served as application/x-dosexec"),
        "{disguised}"
    );
    assert!(
        disguised.contains("user agent \\\"Implant/1.0\\\" is sent by no other host"),
        "{disguised}"
    );
    assert!(disguised.contains("144 HTTP request(s) without a Host header"), "{disguised}");
    let image = adjustments("10.1.1.6", "cdn.example");
    for absent in ["contradicts", "user agent", "Host header"] {
        assert!(!image.contains(absent), "a browser fetching a real image: {image}");
    }
    let time = adjustments("10.1.1.8", "203.0.113.50");
    assert!(time.contains("NTP only"), "{time}");
    assert!(!time.contains("Host header") && !time.contains("user agent"), "{time}");
    let explained = &beacon(&findings, "10.1.1.5", "203.0.113.9").explanation;
    assert!(explained.contains("served as application/x-dosexec"), "{explained}");
}

#[test]
fn a_long_ssh_session_from_a_client_no_other_host_runs_is_raised_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut conns, mut ssh) = (String::new(), String::new());
    // Day-long SSH sessions: one from a Go implant, two administrators' OpenSSH to the same
    // jump host, and one client that sends OpenSSH's banner but whose HASSH (the algorithms it
    // offers) no one else's matches.
    for (i, (host, server, banner, hassh)) in [
        ("10.1.2.5", "203.0.113.22", "SSH-2.0-Go", "-"),
        ("10.1.2.6", "198.51.100.30", "SSH-2.0-OpenSSH_9.6", "-"),
        ("10.1.2.7", "198.51.100.30", "SSH-2.0-OpenSSH_9.6", "-"),
        ("10.1.2.8", "203.0.113.23", "SSH-2.0-OpenSSH_9.6", "16f898dd8ed8279e1055350b4e20666c"),
    ]
    .into_iter()
    .enumerate()
    {
        let (ts, uid) = (START + i as f64, format!("Cssh{i}"));
        conn(&mut conns, ts, &uid, host, server, 22, "tcp", 30.0 * 3600.0, 4_000_000);
        writeln!(
            ssh,
            "{ts:.6}\t{uid}\t{host}\t50000\t{server}\t22\t2\tT\t1\tOUTBOUND\t{banner}\tSSH-2.0-OpenSSH_8.9p1\tchacha20-poly1305@openssh.com\tumac-64-etm@openssh.com\tnone\tcurve25519-sha256\tssh-ed25519\t{hassh}"
        )
        .unwrap();
    }
    zeek(&dir.path().join("conn.log"), "conn", CONN_FIELDS, CONN_TYPES, &conns);
    zeek(
        &dir.path().join("ssh.log"),
        "ssh",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tauth_success\tauth_attempts\tdirection\tclient\tserver\tcipher_alg\tmac_alg\tcompression_alg\tkex_alg\thost_key_alg\thassh",
        "time\tstring\taddr\tport\taddr\tport\tcount\tbool\tcount\tenum\tstring\tstring\tstring\tstring\tstring\tstring\tstring\tstring",
        &ssh,
    );
    let findings = hunt_synthetic(dir.path());
    let long_from = |src: &str| -> &lasthop_findings::Finding {
        findings
            .iter()
            .find(|f| {
                f.detector == "long-connection"
                    && (f.entities.source.as_deref() == Some(src)
                        || f.evidence
                            .figures
                            .get("hosts")
                            .is_some_and(|h| h.to_string().contains(src)))
            })
            .unwrap_or_else(|| panic!("no long connection from {src}: {findings:#?}"))
    };
    let adjustments = |src: &str| -> String {
        let f = long_from(src);
        f.evidence.figures.get("adjustments").map(|a| a.to_string()).unwrap_or_default()
    };
    assert_eq!(
        long_from("10.1.2.6").id,
        long_from("10.1.2.7").id,
        "two administrators' sessions with one jump host are one finding"
    );
    let implant = adjustments("10.1.2.5");
    assert!(
        implant.contains("SSH client software \\\"SSH-2.0-Go\\\" is presented by no other host"),
        "{implant}"
    );
    let spoofed = adjustments("10.1.2.8");
    assert!(
        spoofed.contains(
            "SSH client HASSH 16f898dd8ed8279e1055350b4e20666c is presented by no other host"
        ),
        "{spoofed}"
    );
    for admin in ["10.1.2.6", "10.1.2.7"] {
        let a = adjustments(admin);
        assert!(!a.contains("SSH client"), "a common client is not rare: {a}");
    }
}

#[test]
fn quiet_contact_with_a_home_line_over_weeks_is_a_last_hop_finding() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    let mut rng = ChaCha8Rng::seed_from_u64(40);
    let mut contacts = 0u64;
    // 10.1.1.7 reaches a Comcast home line a few times a day for three weeks, a few kB each.
    for day in 0..21u32 {
        for k in 0..rng.gen_range(2..5u32) {
            contacts += 1;
            let ts = START + day as f64 * DAY + rng.gen_range(0.0..DAY);
            conn(
                &mut rows,
                ts,
                &format!("Cq{day}x{k}"),
                "10.1.1.7",
                "73.54.23.243",
                8443,
                "tcp",
                1.5,
                3_000,
            );
        }
    }
    // Controls: heavy use of another home line (a daily video call), and the same quiet
    // pattern towards a cloud address (a beacon's business, not a last hop).
    for day in 0..5u32 {
        let ts = START + day as f64 * DAY + 36_000.0;
        conn(
            &mut rows,
            ts,
            &format!("Cv{day}"),
            "10.1.1.8",
            "73.0.0.9",
            3478,
            "udp",
            3_000.0,
            80_000_000,
        );
        conn(
            &mut rows,
            ts + 60.0,
            &format!("Cg{day}"),
            "10.1.1.9",
            "8.8.4.4",
            443,
            "tcp",
            1.0,
            3_000,
        );
    }
    zeek(&dir.path().join("conn.log"), "conn", CONN_FIELDS, CONN_TYPES, &rows);
    let findings = hunt_synthetic(dir.path());
    let last_hop: Vec<&lasthop_findings::Finding> =
        findings.iter().filter(|f| f.detector == "last-hop-contact").collect();
    assert_eq!(last_hop.len(), 1, "{last_hop:#?}");
    let f = last_hop[0];
    assert_eq!(f.entities.destination.as_deref(), Some("73.54.23.243"));
    // 21 spans of 24 hours from 18:15 UTC touch 21 or 22 calendar days.
    let days = f.evidence.figures["active_days"].as_u64().unwrap();
    assert!((21..=22).contains(&days), "{days}");
    assert_eq!(f.evidence.figures["network_type"], "residential");
    // 3,000 bytes each way per contact.
    assert_eq!(f.evidence.figures["bytes"], serde_json::json!(contacts * 6_000));
    assert!(f.score >= 0.7, "three weeks from one host: {}", f.score);
    let remote = f.entities.remote.as_ref().unwrap();
    assert_eq!(remote.as_number, Some(7922));
}

/// A three-day beacon (every 200–350 s, sizes within 5 %) from 10.1.1.5, and a daily lookup
/// from another host that stretches the data to `window_days`.
fn three_day_beacon_in(dir: &Path, window_days: u32) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut rows = String::new();
    let mut t = START + 3_600.0;
    let mut i = 0;
    while t < START + 3.0 * DAY {
        let bytes = rng.gen_range(950..1_050);
        conn(&mut rows, t, &format!("Cb{i}"), "10.1.1.5", "73.54.23.243", 443, "tcp", 0.4, bytes);
        t += 275.0 * (1.0 + rng.gen_range(-0.27..0.27));
        i += 1;
    }
    for d in 0..window_days {
        let ts = START + f64::from(d) * DAY + 7_200.0;
        conn(&mut rows, ts, &format!("Cd{d}"), "10.1.1.6", "8.8.4.4", 53, "udp", 0.01, 60);
    }
    zeek(&dir.join("conn.log"), "conn", CONN_FIELDS, CONN_TYPES, &rows);
}

#[test]
fn a_beacons_score_does_not_depend_on_the_window_it_is_hunted_in() {
    let mut scores = Vec::new();
    for window_days in [3, 21, 90] {
        let dir = tempfile::tempdir().unwrap();
        three_day_beacon_in(dir.path(), window_days);
        let findings = hunt_synthetic(dir.path());
        let b = beacon(&findings, "10.1.1.5", "73.54.23.243");
        scores.push(figure(b, "score_lasthop"));
        assert!(b.severity >= lasthop_findings::Severity::High, "{b:#?}");
    }
    assert!(scores[0] > 0.8, "{scores:?}");
    assert!(scores.iter().all(|s| (s - scores[0]).abs() < 1e-9), "{scores:?}");
}

#[test]
fn internet_clients_polling_our_own_site_are_not_beacons() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (mut conns, mut ssl) = (String::new(), String::new());
    // Twenty Internet clients fetch the site every ten minutes for two days, by its name.
    for c in 0..20 {
        let client = format!("203.0.113.{}", 10 + c);
        let mut t = START + rng.gen_range(0.0..600.0);
        let mut i = 0;
        while t < START + 2.0 * DAY {
            let uid = format!("Cw{c}x{i}");
            conn(&mut conns, t, &uid, &client, "10.30.0.10", 443, "tcp", 0.3, 600);
            writeln!(ssl, "{t:.6}\t{uid}\t{client}\t50000\t10.30.0.10\t443\twww.corp.example")
                .unwrap();
            t += 600.0 * (1.0 + rng.gen_range(-0.05..0.05));
            i += 1;
        }
    }
    // One internal host beacons out by name: still found.
    let mut t = START;
    let mut i = 0;
    while t < START + 2.0 * DAY {
        let uid = format!("Co{i}");
        conn(&mut conns, t, &uid, "10.1.1.9", "45.77.10.9", 443, "tcp", 0.3, 700);
        writeln!(ssl, "{t:.6}\t{uid}\t10.1.1.9\t50001\t45.77.10.9\t443\tsync.example.net").unwrap();
        t += 300.0 * (1.0 + rng.gen_range(-0.2..0.2));
        i += 1;
    }
    zeek(&dir.path().join("conn.log"), "conn", CONN_FIELDS, CONN_TYPES, &conns);
    zeek(
        &dir.path().join("ssl.log"),
        "ssl",
        "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tserver_name",
        "time\tstring\taddr\tport\taddr\tport\tstring",
        &ssl,
    );
    let findings = hunt_synthetic(dir.path());
    let beacons: Vec<_> = findings.iter().filter(|f| f.detector == "beacon").collect();
    assert!(
        beacons.iter().all(|f| f.entities.source.as_deref() == Some("10.1.1.9")),
        "{:#?}",
        beacons.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    beacon(&findings, "10.1.1.9", "sync.example.net");
}
