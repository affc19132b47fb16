//! The columnar engine against rsigma's evaluator (`rsigma-eval` 0.22) as an oracle, and on
//! attack traffic.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use lasthop_sigma::{
    Kind, MatchOptions, PROXY, RuleSet, Source, Table, TableMatcher, WEB, slot_text,
};
use rsigma_eval::event::JsonEvent;

fn shared(relative: &str) -> Option<PathBuf> {
    lasthop_demo::shared_data(relative)
}

/// A log file read by lasthop's reader, as batches.
fn read(path: &Path) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    let input = lasthop_sources::open_decompressed(path).unwrap();
    lasthop_sources::read_stream(path, input, &Default::default(), |_, b| {
        batches.push(b);
        Ok::<(), ()>(())
    })
    .unwrap();
    batches
}

/// (rule id, file:line) pairs each engine finds over the files of `table`, with decoding off in
/// lasthop's (rsigma does not decode), and how many rules both compile.
fn both_engines(table: Table, files: &[PathBuf]) -> (Matches, Matches, usize) {
    let set = RuleSet::bundled();
    let collections: Vec<rsigma_parser::SigmaCollection> =
        std::iter::once(lasthop_sigma::BUNDLED_SIGMAHQ)
            .chain(lasthop_sigma::BUNDLED_LASTHOP)
            .map(|b| rsigma_parser::parse_sigma_yaml(b).unwrap())
            .collect();
    let compiled: BTreeSet<&str> =
        set.rules.iter().filter(|r| r.table == table.name).map(|r| r.id.as_str()).collect();
    let mut oracle = rsigma_eval::Engine::new();
    let mut shared_rules = 0;
    for rule in collections.iter().flat_map(|c| &c.rules) {
        let id = rule.id.as_deref().unwrap_or("");
        if !compiled.contains(id) {
            continue;
        }
        match oracle.add_rule(rule) {
            Ok(()) => shared_rules += 1,
            Err(e) => eprintln!("  rsigma does not compile {id}: {e}"),
        }
    }
    let matcher = TableMatcher::new(&set, table.name, MatchOptions { decode: false }).unwrap();
    let (mut ours, mut theirs) = (BTreeSet::new(), BTreeSet::new());
    for file in files {
        for batch in read(file) {
            let lines = slot_text(&batch, Source::Column("_line"), Kind::Number);
            let place = |row: usize| format!("{}:{}", file.display(), lines.value(row));
            for (rule, rows) in matcher.evaluate(&batch) {
                for row in rows.set_indices() {
                    ours.insert((set.rules[rule].id.clone(), place(row)));
                }
            }
            for (row, e) in lasthop_sigma::json_events(table, &batch).iter().enumerate() {
                for m in oracle.evaluate(&JsonEvent::borrow(e)) {
                    theirs.insert((m.header.rule_id.clone().unwrap_or_default(), place(row)));
                }
            }
        }
    }
    (ours, theirs, shared_rules)
}

type Matches = BTreeSet<(String, String)>;

/// Compares the engines on `table` and prints the figures.
fn compare(table: Table, files: &[PathBuf]) -> usize {
    let (ours, theirs, shared_rules) = both_engines(table, files);
    eprintln!(
        "{}: {} files, {shared_rules} rules both compile: lasthop {} (rule, line) matches, rsigma {}",
        table.name,
        files.len(),
        ours.len(),
        theirs.len()
    );
    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    for d in &only_ours {
        eprintln!("  only lasthop: {d:?}");
    }
    for d in &only_theirs {
        eprintln!("  only rsigma: {d:?}");
    }
    assert!(only_ours.is_empty() && only_theirs.is_empty(), "the engines disagree");
    ours.len()
}

#[test]
fn matches_are_those_of_rsigma_on_every_rule_both_compile() {
    let mut files = Vec::new();
    if let Some(dir) = shared("web/evtx-attack-samples") {
        files.push(dir.join("tomcat_web_attack_and_webshell_access_log.txt"));
        files.push(dir.join("iis_w3svc_tunna_webshell_tunnel.log"));
    }
    if let Some(dir) = shared("web/crowdsec-hub-tests") {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
            .map(|f| f.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "log")
                    && !p.to_string_lossy().contains("iis-xml")
            })
            .collect();
        logs.sort();
        files.extend(logs);
    }
    if files.is_empty() {
        return;
    }
    let matches = compare(WEB, &files);
    assert!(matches > 20, "the logs hold attacks the rules describe");
}

#[test]
fn proxy_matches_are_those_of_rsigma_on_zeek_http() {
    let Some(dir) = shared("zeek/rita/missing_host") else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .map(|f| f.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("http.")))
        .collect();
    files.sort();
    let matches = compare(PROXY, &files);
    assert!(matches > 0, "the capture holds web exploitation the proxy rules describe");
}
