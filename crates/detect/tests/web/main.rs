//! Public-facing applications end to end: the Sigma and web-shell detectors on an attack fixture
//! mixed into a large benign log, on CrowdSec's exploit fixtures and on the lab-recorded Tomcat
//! and IIS logs. Tests that read `../shared/data` skip, with a message, when it is absent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use lasthop_detect::detectors::{sigma_match::SigmaMatch, web_shell::WebShell};
use lasthop_detect::sigma::{Kind, MatchOptions, RuleSet, Source, TableMatcher, slot_text};
use lasthop_detect::{Detector, HuntContext};
use lasthop_findings::Finding;
use lasthop_normalise::LogType;
use lasthop_query::{SessionOptions, session::from_batches};

fn shared(relative: &str) -> Option<PathBuf> {
    lasthop_demo::shared_data(relative)
}

fn read(name: &str, input: Box<dyn std::io::Read + Send>) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    lasthop_sources::read_stream(Path::new(name), input, &Default::default(), |t, b| {
        assert_eq!(t, LogType::Web);
        batches.push(b);
        Ok::<(), ()>(())
    })
    .unwrap();
    batches
}

fn read_file(path: &Path) -> Vec<RecordBatch> {
    read(&path.display().to_string(), Box::new(std::fs::File::open(path).unwrap()))
}

fn run(batches: Vec<RecordBatch>) -> Vec<Finding> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ctx = from_batches(vec![(LogType::Web, batches)], &SessionOptions::default()).unwrap();
        let hunt = HuntContext::new(ctx);
        let mut findings = Vec::new();
        for d in [&SigmaMatch as &dyn Detector, &WebShell] {
            findings.extend(d.run(&hunt).await.unwrap());
        }
        findings
    })
}

/// Per line number, the titles of the rules that match it (the engine the detector runs).
fn rule_matches(batches: &[RecordBatch]) -> BTreeMap<u64, Vec<String>> {
    let set = RuleSet::bundled();
    let matcher = TableMatcher::new(&set, "web", MatchOptions::default()).unwrap();
    let mut out: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for batch in batches {
        let lines = slot_text(batch, Source::Column("_line"), Kind::Number);
        for (rule, rows) in matcher.evaluate(batch) {
            for row in rows.set_indices() {
                let line = lines.value(row).parse().unwrap();
                out.entry(line).or_default().push(set.rules[rule].title.clone());
            }
        }
    }
    out
}

fn client_of(line: &str) -> &str {
    line.split(' ').next().unwrap_or("")
}

#[test]
fn every_attack_line_of_the_fixture_is_found_and_false_positives_are_counted() {
    const BENIGN: usize = 200_000;
    let (lines, attacks) = lasthop_demo::web::mixed_access_log(BENIGN, 7);
    let described = lasthop_demo::web::attack_lines();
    let text = lines.join("\n") + "\n";
    let batches = read("access.log", Box::new(std::io::Cursor::new(text.into_bytes())));
    let matched = rule_matches(&batches);
    let findings = run(batches);
    // What the findings show: their evidence lines, and (rule title, client) for Sigma.
    let shown: BTreeSet<&str> = findings
        .iter()
        .flat_map(|f| f.evidence.samples.iter())
        .filter_map(|s| s.get("line").and_then(|l| l.as_str()))
        .collect();
    let sigma_findings: BTreeSet<(String, String)> = findings
        .iter()
        .filter(|f| f.detector == "sigma")
        .map(|f| {
            let title = f.evidence.figures["rule_title"].as_str().unwrap().to_string();
            (title, f.entities.source.clone().unwrap_or_default())
        })
        .collect();
    let mut missed = Vec::new();
    for (attack, &number) in described.iter().zip(&attacks) {
        let line = &lines[number - 1];
        let by_rule = matched.get(&(number as u64)).is_some_and(|titles| {
            titles.iter().any(|t| sigma_findings.contains(&(t.clone(), client_of(line).into())))
        });
        if !(by_rule || shown.contains(line.as_str())) {
            missed.push(format!("{} ({}): {line}", attack.technique, attack.what));
        }
    }
    // False positives: findings about clients that sent no attack, and benign lines rules match.
    let attackers: BTreeSet<&str> = attacks.iter().map(|&n| client_of(&lines[n - 1])).collect();
    let false_findings: Vec<&Finding> = findings
        .iter()
        .filter(|f| !attackers.contains(f.entities.source.as_deref().unwrap_or("")))
        .collect();
    let attack_numbers: BTreeSet<u64> = attacks.iter().map(|&n| n as u64).collect();
    let mut benign_by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for (line, titles) in &matched {
        if !attack_numbers.contains(line) {
            for t in titles {
                *benign_by_rule.entry(t).or_default() += 1;
            }
        }
    }
    eprintln!(
        "attack fixture: {} attack lines in {BENIGN} benign; {} findings ({} about benign clients); \
         benign lines matched by rules: {benign_by_rule:?}",
        attacks.len(),
        findings.len(),
        false_findings.len()
    );
    for f in &false_findings {
        eprintln!("  false positive: {}", f.title);
    }
    assert!(missed.is_empty(), "attack lines not found:\n{}", missed.join("\n"));
    assert!(
        false_findings.len() <= 2,
        "false positives on the benign part grew: {}",
        false_findings.iter().map(|f| f.title.as_str()).collect::<Vec<_>>().join("; ")
    );
}

#[test]
fn the_lab_web_shells_are_found() {
    let Some(dir) = shared("web/evtx-attack-samples") else { return };
    for (file, path, client) in [
        ("tomcat_web_attack_and_webshell_access_log.txt", "/error/cmd.jsp", "192.168.105.76"),
        ("iis_w3svc_tunna_webshell_tunnel.log", "/erp/conn.aspx", "10.0.2.17"),
    ] {
        let findings = run(read_file(&dir.join(file)));
        let shells: Vec<&Finding> = findings.iter().filter(|f| f.detector == "web-shell").collect();
        for f in &shells {
            eprintln!("{file}: {:.2} {}", f.score, f.title);
        }
        let shell = shells
            .iter()
            .find(|f| f.evidence.figures["path"] == path)
            .unwrap_or_else(|| panic!("{file}: no web-shell finding for {path}"));
        assert_eq!(shell.entities.source.as_deref(), Some(client));
        assert!(shell.score >= 0.6, "{file}: {}", shell.score);
        assert_eq!(shells.len(), 1, "{file}: only the shell");
    }
}

/// CrowdSec's hub fixtures of single-request exploits of public-facing applications (the
/// selection and the reasons for it: `crowdsec_selection.md`): each expected source address is
/// reported by a Sigma finding.
#[test]
fn crowdsec_single_request_exploits_are_attributed_to_their_sources() {
    let Some(dir) = shared("web/crowdsec-hub-tests") else { return };
    let table = include_str!("crowdsec_exploits.tsv");
    let mut missed = Vec::new();
    let mut fixtures = 0;
    for row in table.lines().skip(1) {
        let fields: Vec<&str> = row.split('\t').collect();
        let [fixture, log, application, cve, expected] = fields[..] else {
            panic!("bad row {row:?}")
        };
        fixtures += 1;
        let findings = run(read_file(&dir.join(fixture).join(log)));
        let reported: BTreeSet<&str> = findings
            .iter()
            .filter(|f| f.detector == "sigma")
            .filter_map(|f| f.entities.source.as_deref())
            .collect();
        let rules: BTreeSet<&str> = findings
            .iter()
            .filter_map(|f| f.evidence.figures.get("rule_title")?.as_str())
            .collect();
        eprintln!("{fixture} ({cve}, {application}): {rules:?}");
        for source in expected.split(',') {
            if !reported.contains(source) {
                missed.push(format!("{fixture}: {source} not reported"));
            }
        }
    }
    eprintln!("{fixtures} CrowdSec exploit fixtures");
    assert!(fixtures >= 25);
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}
