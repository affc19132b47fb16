//! An ATT&CK Navigator layer (format 4.5) of the techniques the findings point at.
//!
//! A layer is how a CERT or a SOC lead sees a hunt at a glance and compares it with a threat
//! report's layer (the APT40 advisory's techniques, say): each technique seen is scored by the
//! most severe finding behind it (1 info … 5 critical), coloured on the same scale, and its
//! comment names how many findings and which detectors.

use std::collections::BTreeMap;

use lasthop_findings::{Finding, Severity};
use serde_json::{Value, json};

use crate::ecs::severity_number;

/// The layer format written, and the Navigator and ATT&CK versions it is declared for.
pub const LAYER_VERSION: &str = "4.5";
pub const NAVIGATOR_VERSION: &str = "5.2.0";
pub const ATTACK_VERSION: &str = "18";

/// Colours of the severities, info to critical, as in the HTML report.
const SEVERITY_COLOURS: [&str; 5] = ["#e5e7eb", "#bae6fd", "#f59e0b", "#dc2626", "#7f1d1d"];

#[derive(Default)]
struct Seen {
    findings: usize,
    worst: Option<Severity>,
    detectors: BTreeMap<String, usize>,
}

fn is_technique_id(id: &str) -> bool {
    let (main, sub) = id.split_once('.').unwrap_or((id, ""));
    main.len() == 5
        && main.starts_with('T')
        && main[1..].bytes().all(|b| b.is_ascii_digit())
        && (sub.is_empty() || (sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit())))
}

/// The layer for `findings`, named `name`.
pub fn layer(findings: &[Finding], name: &str) -> Value {
    let mut seen: BTreeMap<&str, Seen> = BTreeMap::new();
    for f in findings {
        for t in f.techniques.iter().filter(|t| is_technique_id(t)) {
            let s = seen.entry(t).or_default();
            s.findings += 1;
            s.worst = s.worst.max(Some(f.severity));
            *s.detectors.entry(f.detector.clone()).or_default() += 1;
        }
    }
    let mut techniques = Vec::new();
    let mut parents_added = std::collections::BTreeSet::new();
    for (id, s) in &seen {
        let worst = s.worst.unwrap_or(Severity::Info);
        let detectors: Vec<String> =
            s.detectors.iter().map(|(d, n)| format!("{d} ({n})")).collect();
        techniques.push(json!({
            "techniqueID": id,
            "score": severity_number(worst),
            "color": SEVERITY_COLOURS[worst as usize],
            "comment": format!(
                "{} finding{}, most severe {worst}; detectors: {}",
                s.findings,
                if s.findings == 1 { "" } else { "s" },
                detectors.join(", ")
            ),
            "enabled": true,
            "metadata": [
                { "name": "findings", "value": s.findings.to_string() },
                { "name": "most severe", "value": worst.name() },
            ],
            "showSubtechniques": false,
        }));
        // A sub-technique is only visible when its parent is expanded.
        if let Some((parent, _)) = id.split_once('.')
            && !seen.contains_key(parent)
            && parents_added.insert(parent)
        {
            techniques.push(json!({ "techniqueID": parent, "showSubtechniques": true }));
        }
    }
    json!({
        "name": name,
        "versions": {
            "attack": ATTACK_VERSION,
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": "enterprise-attack",
        "description": format!(
            "Techniques behind {} lasthop finding{}, scored by the most severe finding \
             (1 info, 2 low, 3 medium, 4 high, 5 critical).",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        ),
        "sorting": 3,
        "layout": {
            "layout": "side",
            "aggregateFunction": "max",
            "showID": true,
            "showName": true,
            "showAggregateScores": true,
            "countUnscored": false,
        },
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": { "colors": [SEVERITY_COLOURS[0], SEVERITY_COLOURS[4]], "minValue": 1, "maxValue": 5 },
        "legendItems": Severity::ALL
            .iter()
            .map(|s| json!({ "label": s.name(), "color": SEVERITY_COLOURS[*s as usize] }))
            .collect::<Vec<_>>(),
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lasthop_findings::Entities;

    fn finding(score: f64, detector: &str, techniques: &[&str]) -> Finding {
        let mut f = Finding::new(detector, "t".into(), score, Entities::default());
        f.techniques = techniques.iter().map(|t| t.to_string()).collect();
        f
    }

    #[test]
    fn techniques_are_scored_by_their_most_severe_finding() {
        let findings = [
            finding(0.95, "beacon", &["T1071.001", "T1573"]),
            finding(0.4, "dns-tunnel", &["T1071.004"]),
            finding(0.6, "beacon", &["T1071.001", "not-a-technique"]),
        ];
        let layer = layer(&findings, "hunt");
        let techniques = layer["techniques"].as_array().unwrap();
        let get = |id: &str| techniques.iter().find(|t| t["techniqueID"] == id).unwrap();
        assert_eq!(get("T1071.001")["score"], 5);
        assert_eq!(get("T1071.004")["score"], 2);
        assert!(get("T1071.001")["comment"].as_str().unwrap().starts_with("2 findings"));
        // The parent is listed once, expanded, without a score of its own.
        assert_eq!(techniques.iter().filter(|t| t["techniqueID"] == "T1071").count(), 1);
        assert_eq!(get("T1071")["showSubtechniques"], true);
        assert!(get("T1071").get("score").is_none());
        assert!(!techniques.iter().any(|t| t["techniqueID"] == "not-a-technique"));
        assert_eq!(layer["versions"]["layer"], "4.5");
    }
}
