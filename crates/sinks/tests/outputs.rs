//! Every output, written from hostile values and from fixed findings: the HTML report holds
//! nothing that runs or loads, the Navigator layer follows the published format, the JSON Lines
//! and terminal forms are pinned by snapshots.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use lasthop_demo::hostile;
use lasthop_findings::{Chart, ChartKind, Coverage, Entities, Finding, RemoteEnd};
use lasthop_sinks::html::{self, Report, unsafe_constructs};
use lasthop_sinks::{Format, TableStyle, write_findings};

const CANARY: &str = "http://127.0.0.1:9";

fn hostile_report() -> String {
    let findings = hostile::findings(CANARY);
    let charts: HashMap<String, Vec<Chart>> = findings
        .iter()
        .map(|f| {
            let chart = Chart {
                title: f.title.clone(),
                kind: ChartKind::Histogram {
                    bins: vec![(f.detector.clone(), 3)],
                    x_label: f.title.clone(),
                },
            };
            (f.id.clone(), vec![chart])
        })
        .collect();
    let mut coverage = Coverage { span: Some((0, 86_400_000_000)), files: 3, ..Default::default() };
    for p in hostile::payloads(CANARY) {
        coverage.records.insert(p.clone(), 1);
        coverage.skipped.insert(p.clone(), 2);
        coverage.failures.push(p);
    }
    let report = Report {
        title: "lasthop hunt report",
        generated_us: 0,
        coverage: Some(&coverage),
        findings: &findings,
        charts: &charts,
        tlp: Some("amber+strict"),
        redacted: false,
    };
    let mut out = Vec::new();
    html::write_html(&mut out, &report).expect("the report is written");
    String::from_utf8(out).expect("the report is UTF-8")
}

#[test]
fn a_report_of_hostile_values_has_nothing_that_runs_loads_or_leaves_the_page() {
    let page = hostile_report();
    assert_eq!(unsafe_constructs(&page), Vec::<String>::new());
    // The values are there, as text a person can read.
    let document = scraper::Html::parse_document(&page);
    let text: String = document.root_element().text().collect();
    assert!(text.contains("<script src=\"http://127.0.0.1:9/script.js\">"));
    assert!(text.contains("javascript:fetch("));
    assert!(text.contains("\\u{202e}"), "bidirectional overrides are shown, not applied");
    assert!(text.contains("\\u{1b}]0;pwned"));
    assert!(text.contains("more characters not shown"), "the 100 kB value is cut");
    assert!(!page.contains('\u{202e}') && !page.contains('\x1b'));
    assert!(page.len() < 4_000_000, "report of {} bytes", page.len());
}

#[test]
fn the_safety_check_catches_each_way_out() {
    let clean = hostile_report();
    let cases = [
        ("<script>alert(1)</script>", "<script>"),
        (r#"<img src="x" onerror="alert(1)">"#, "<img>"),
        (r#"<p onclick="x()">p</p>"#, "onclick"),
        (r#"<a href="javascript:alert(1)">x</a>"#, "leaves the document"),
        (r#"<a href="http://127.0.0.1/">x</a>"#, "leaves the document"),
        (r#"<div style="background:url(http://x/)">x</div>"#, "style=…"),
        (r#"<svg><use href="http://x/a.svg#b"/></svg>"#, "<use>"),
        (r#"<meta http-equiv="refresh" content="0;url=http://x/">"#, "refresh"),
        ("<style>body{}</style>", "stylesheets"),
        (r#"<iframe srcdoc="x"></iframe>"#, "<iframe>"),
    ];
    for (injected, expected) in cases {
        let page = clean.replacen("<body>", &format!("<body>{injected}"), 1);
        let problems = unsafe_constructs(&page).join("; ");
        assert!(problems.contains(expected), "{injected}: {problems}");
    }
    let no_policy = clean.replacen("Content-Security-Policy", "X-Nothing", 1);
    assert!(unsafe_constructs(&no_policy).iter().any(|p| p.contains("Content-Security-Policy")));
}

fn fixed_findings() -> Vec<Finding> {
    let mut beacon = Finding::new(
        "beacon",
        "Beacon: 10.20.14.77 → 73.54.23.243 every 5 min for 6 days".into(),
        0.93,
        Entities {
            source: Some("10.20.14.77".into()),
            destination: Some("73.54.23.243".into()),
            remote: Some(RemoteEnd {
                address: "73.54.23.243".into(),
                as_number: Some(7922),
                as_organization: Some("COMCAST-7922".into()),
                network_type: Some("residential".into()),
                network_type_reason: Some("ASN list: residential ISPs".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    beacon.techniques = vec!["T1071.001".into(), "T1573".into()];
    beacon.first_seen = 1_717_372_800_000_000;
    beacon.last_seen = 1_717_891_200_000_000;
    beacon.evidence.figures.insert("connections".into(), serde_json::json!(1728));
    beacon.evidence.uids = vec!["CbeaconA1".into(), "CbeaconA2".into()];
    beacon.explanation = "Regular contact with a home-broadband address.".into();
    let mut tunnel = Finding::new(
        "dns-tunnel",
        "DNS tunnel or C2 over DNS: dnsxfer.org (5163 names)".into(),
        0.62,
        Entities { domain: Some("dnsxfer.org".into()), ..Default::default() },
    );
    tunnel.techniques = vec!["T1071.004".into()];
    tunnel.first_seen = 1_717_400_000_000_000;
    tunnel.last_seen = 1_717_500_000_000_000;
    let mut web = Finding::new(
        "web-shell",
        "\x1b[31mWeb shell\x1b[0m at /uploads/\u{202e}gpj.jsp".into(),
        0.35,
        Entities {
            source: Some("=cmd|' /C calc'!A0".into()),
            destination: Some("10.30.0.10".into()),
            ..Default::default()
        },
    );
    web.first_seen = 1_717_600_000_000_000;
    web.last_seen = 1_717_600_000_000_000;
    let mut findings = vec![beacon, tunnel, web];
    lasthop_findings::rank(&mut findings);
    findings
}

fn written(format: Format, style: TableStyle) -> String {
    let mut out = Vec::new();
    write_findings(&mut out, &fixed_findings(), format, style).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn json_lines_keep_their_ecs_field_names() {
    let text = written(Format::Ndjson, TableStyle { color: false, width: 120 });
    let documents: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    assert_eq!(documents.len(), 3);
    insta::assert_json_snapshot!("findings_ecs", documents);
}

#[test]
fn csv_cells_cannot_run_as_formulas() {
    let text = written(Format::Csv, TableStyle { color: false, width: 120 });
    insta::assert_snapshot!("findings_csv", text);
    assert!(text.contains(",'=cmd|"), "{text}");
}

#[test]
fn the_terminal_table_fits_its_width_and_shows_no_control_characters() {
    for width in [60, 100, 160] {
        let plain = written(Format::Table, TableStyle { color: false, width });
        assert!(!plain.contains('\x1b') && !plain.contains('\u{202e}'));
        for line in plain.lines().filter(|l| !l.ends_with("explains one.")) {
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
        insta::assert_snapshot!(format!("table_{width}"), plain);
    }
    let coloured = written(Format::Table, TableStyle { color: true, width: 100 });
    // Colour comes only from lasthop: the critical badge, never the log's own escape.
    assert!(coloured.contains("\x1b[1;31mcritical"));
    assert!(!coloured.contains("\x1b[31mWeb"));
}

/// Runs a check command, or says why it cannot: absent tools fail the test in CI (which
/// installs them) and skip it elsewhere.
fn run_checker(program: &str, args: &[&str], install: &str) -> Option<std::process::Output> {
    match Command::new(program).args(args).output() {
        Ok(output) => Some(output),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("{program} is needed in CI: {install}")
        }
        Err(_) => {
            eprintln!("skipping: {program} not available ({install})");
            None
        }
    }
}

#[test]
fn the_navigator_layer_follows_the_published_format() {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/navigator/layer-4.5.schema.json");
    let dir = tempfile::tempdir().unwrap();
    let layer_path = dir.path().join("layer.json");
    let mut findings = fixed_findings();
    findings.extend(hostile::findings(CANARY));
    let layer = lasthop_sinks::attack_layer::layer(&findings, "lasthop findings");
    std::fs::write(&layer_path, serde_json::to_vec_pretty(&layer).unwrap()).unwrap();
    let broken_path = dir.path().join("broken.json");
    let mut broken = layer.clone();
    broken["techniques"][0]["score"] = serde_json::json!("high");
    std::fs::write(&broken_path, serde_json::to_vec(&broken).unwrap()).unwrap();
    const VALIDATE: &str = "import json,sys,jsonschema as j; s=json.load(open(sys.argv[1])); \
        j.Draft202012Validator.check_schema(s); \
        e=j.exceptions.best_match(j.Draft202012Validator(s).iter_errors(json.load(open(sys.argv[2])))); \
        sys.exit(e and f'INVALID {sys.argv[2]}: {e.json_path}: {e.message}')";
    let check = |path: &Path| {
        run_checker(
            "python3",
            &["-c", VALIDATE, schema.to_str().unwrap(), path.to_str().unwrap()],
            "python3 with `pip install jsonschema`",
        )
    };
    let Some(good) = check(&layer_path) else { return };
    if String::from_utf8_lossy(&good.stderr).contains("No module named 'jsonschema'") {
        assert!(std::env::var_os("CI").is_none(), "jsonschema is needed in CI");
        eprintln!("skipping: the Python module jsonschema is not installed");
        return;
    }
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    let bad = check(&broken_path).unwrap();
    assert!(!bad.status.success(), "the schema check must be able to fail");
}
