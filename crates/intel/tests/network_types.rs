//! Network-type classification measured on the blind, hand-labelled fixture
//! (`fixtures/asn_labels.csv`: 250 ASNs drawn at random, weighted to address-rich ones, and
//! labelled before the classifier existed). Prints precision, recall and abstention per class.

use std::collections::BTreeMap;

use lasthop_intel::{Classifier, NetworkType};

struct Labelled {
    asn: u32,
    organisation: String,
    label: NetworkType,
}

fn fixture() -> Vec<Labelled> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/asn_labels.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            Labelled {
                asn: r[0].parse().unwrap(),
                organisation: r[1].to_string(),
                label: NetworkType::parse(&r[4]).unwrap_or_else(|| panic!("label {:?}", &r[4])),
            }
        })
        .collect()
}

#[test]
fn precision_recall_and_abstention_on_the_blind_sample() {
    let rows = fixture();
    assert!(rows.len() >= 200, "the fixture holds at least 200 ASNs");
    let classifier = Classifier::bundled();
    // (true positives, predicted as class, actually class, actually class but abstained)
    let mut tally: BTreeMap<NetworkType, [usize; 4]> = BTreeMap::new();
    let mut mistakes = Vec::new();
    for row in &rows {
        let got = classifier.classify_network(row.asn, &row.organisation);
        if got.kind != NetworkType::Unknown {
            tally.entry(got.kind).or_default()[1] += 1;
        }
        if row.label == NetworkType::Unknown {
            continue;
        }
        let t = tally.entry(row.label).or_default();
        t[2] += 1;
        if got.kind == row.label {
            t[0] += 1;
        } else if got.kind == NetworkType::Unknown {
            t[3] += 1;
        } else {
            mistakes.push(format!(
                "AS{} {:?}: labelled {}, classified {} ({})",
                row.asn, row.organisation, row.label, got.kind, got.reason
            ));
        }
    }
    eprintln!("class        precision  recall  abstained  (labelled, predicted)");
    let ratio = |a: usize, b: usize| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
    let mut summary = BTreeMap::new();
    for (kind, [tp, predicted, actual, abstained]) in &tally {
        let (p, r, a) = (ratio(*tp, *predicted), ratio(*tp, *actual), ratio(*abstained, *actual));
        eprintln!("{kind:12} {p:9.2} {r:7.2} {a:10.2}  ({actual}, {predicted})");
        summary.insert(*kind, (p, r));
    }
    eprintln!("misclassified ({}):\n  {}", mistakes.len(), mistakes.join("\n  "));
    // What the last-hop detectors lean on: a line called residential or hosting must usually be
    // one. Floors well under the measured figures, so that a regression fails loudly.
    for kind in [NetworkType::Residential, NetworkType::Hosting, NetworkType::Education] {
        let (precision, _) = summary[&kind];
        assert!(precision >= 0.8, "{kind} precision {precision:.2}");
    }
    let total_recall: f64 =
        [NetworkType::Residential, NetworkType::Hosting].iter().map(|k| summary[k].1).sum::<f64>()
            / 2.0;
    assert!(total_recall >= 0.5, "mean recall of residential and hosting {total_recall:.2}");
}
