//! Labelled Stratosphere captures: a pair is malicious when any of its flows is labelled
//! Malicious; pairs with only Background flows are left out. The RAT's C2 pairs must rank on top
//! (AUC printed per capture), and the CTU-Normal captures — a benign Windows host attacked from
//! the Internet — must give at most one medium-or-worse finding that touches no Malicious flow.

use std::collections::{HashMap, HashSet};

use datafusion::arrow::array::{Array, AsArray};
use lasthop_detect::detectors::{HuntOptions, Scorer};
use lasthop_findings::{Finding, Severity};

use crate::common::*;

/// (source, destination) → whether any flow is Malicious, for pairs with a non-Background flow.
fn labels(store: &Path, internal: &str) -> HashMap<(String, String), bool> {
    let mut networks = lasthop_normalise::Networks::default();
    networks.add(internal).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = lasthop_store::Store::open(store).unwrap();
        let session = lasthop_query::SessionOptions { internal: networks, ..Default::default() };
        let ctx = lasthop_query::open_store(&store, &session).await.unwrap();
        let sql = "SELECT ip_text(src) AS s, ip_text(dst) AS d,
                          max(CASE WHEN label = 'Malicious' THEN 1 ELSE 0 END) AS malicious
                   FROM (SELECT src, dst, array_element(map_extract(_extra, 'label'), 1) AS label FROM conn)
                   WHERE label IS NULL OR label <> 'Background'
                   GROUP BY src, dst";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = HashMap::new();
        for b in batches {
            let (s, d) = (b.column(0).as_string::<i32>(), b.column(1).as_string::<i32>());
            let m = b.column(2).as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            for i in 0..b.num_rows() {
                if s.is_valid(i) && d.is_valid(i) {
                    out.insert((s.value(i).to_string(), d.value(i).to_string()), m.value(i) == 1);
                }
            }
        }
        out
    })
}

/// Area under the ROC curve of pair scores (unscored pairs score 0), ties counted half.
fn auc(labels: &HashMap<(String, String), bool>, findings: &[Finding]) -> (f64, usize, usize) {
    let mut score: HashMap<(String, String), f64> = HashMap::new();
    for f in findings.iter().filter(|f| f.detector == "beacon") {
        if let (Some(s), Some(d)) = (&f.entities.source, &f.entities.destination) {
            score.insert((s.clone(), d.clone()), f.score);
        }
    }
    let of = |k: &(String, String)| score.get(k).copied().unwrap_or(0.0);
    let positives: Vec<f64> = labels.iter().filter(|(_, m)| **m).map(|(k, _)| of(k)).collect();
    let negatives: Vec<f64> = labels.iter().filter(|(_, m)| !**m).map(|(k, _)| of(k)).collect();
    let mut wins = 0.0;
    for p in &positives {
        for n in &negatives {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    (wins / (positives.len() * negatives.len()).max(1) as f64, positives.len(), negatives.len())
}

fn rank_all(store: &Path, internal: &str, scorer: Scorer) -> Vec<Finding> {
    hunt_with(store, internal, HuntOptions { scorer, min_beacon_score: 0.0, ..Default::default() })
}

#[test]
fn rat_c2_pairs_rank_on_top() {
    let captures = [
        (
            "security-datasets-for-testing/001-zeek-scenario-malicious/labeled-conn.log",
            "NjRAT",
            ("192.168.1.115", "41.108.179.197"),
        ),
        (
            "slips-dataset/test18-malicious-ctu-sme-11-win/zeek-labeled",
            "RemcosRAT",
            ("192.168.1.107", "66.63.168.35"),
        ),
    ];
    for (path, name, c2) in captures {
        let Some(file) = shared(&format!("stratosphere/{path}")) else { return };
        let store = import(&[file]);
        let labelled = labels(store.path(), "");
        let ours = rank_all(store.path(), "", Scorer::Lasthop);
        let theirs = rank_all(store.path(), "", Scorer::Rita);
        let (ours_auc, positives, negatives) = auc(&labelled, &ours);
        let (rita_auc, _, _) = auc(&labelled, &theirs);
        let top: Vec<String> = ours
            .iter()
            .filter(|f| f.detector == "beacon")
            .take(5)
            .map(|f| format!("{} {:.3}", f.title, f.score))
            .collect();
        eprintln!(
            "{name}: AUC lasthop {ours_auc:.3}, RITA-compatible {rita_auc:.3} over {positives} malicious and {negatives} benign pairs; top beacons {top:#?}"
        );
        let first = ours.iter().find(|f| f.detector == "beacon").expect("a beacon");
        assert_eq!(
            (first.entities.source.as_deref(), first.entities.destination.as_deref()),
            (Some(c2.0), Some(c2.1)),
            "{name}: the C2 pair ranks first"
        );
    }
}

#[test]
fn normal_captures_raise_at_most_one_unexplained_alarm() {
    for capture in ["008-zeek-mixed", "010-zeek-mixed", "011-zeek-mixed", "012-zeek-mixed"] {
        let Some(dir) =
            shared(&format!("stratosphere/security-datasets-for-testing/{capture}/data"))
        else {
            return;
        };
        // The CTU campus network is the site.
        let internal = "147.32.0.0/16";
        let store = import(&[dir]);
        let labelled = labels(store.path(), internal);
        let malicious: HashSet<&String> = labelled
            .iter()
            .filter(|(_, m)| **m)
            .flat_map(|((s, d), _)| [s, d])
            .filter(|a| !a.starts_with("147.32."))
            .collect();
        let findings = hunt_with(store.path(), internal, HuntOptions::default());
        let unexplained: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity >= Severity::Medium)
            .filter(|f| {
                let touches =
                    |a: &Option<String>| a.as_ref().is_some_and(|a| malicious.contains(a));
                !touches(&f.entities.source) && !touches(&f.entities.destination)
            })
            .collect();
        for f in &unexplained {
            eprintln!("{capture}: {} [{}] {:.2}: {}", f.title, f.severity, f.score, f.explanation);
        }
        assert!(
            unexplained.len() <= 1,
            "{capture}: {} medium+ findings touch no Malicious flow",
            unexplained.len()
        );
    }
}
