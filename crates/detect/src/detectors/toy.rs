//! **Toy** (tests only): internal hosts that looked up a name under `toy.example`. It exists to
//! show that `docs/architecture.md`'s steps for adding a detector are enough: it was added by
//! those steps alone, and its test checks that the hunt runs it.
//!
//! What it finds: per internal host, the names under `toy.example` it asked for.
//! Why it matters: it does not; a real detector says which ATT&CK technique it sees here.
//! Scoring: 0.3 (low), whatever it finds. Severity follows the score.

use datafusion::error::Result;
use lasthop_findings::{Entities, Finding};
use serde_json::json;

use super::{Detector, DetectorFuture, HuntContext, Query};

pub struct Toy;

pub const ID: &str = "toy";

impl Detector for Toy {
    fn id(&self) -> &'static str {
        ID
    }

    fn description(&self) -> &'static str {
        "internal hosts that looked up names under a given domain (tests only)"
    }

    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a> {
        Box::pin(async move {
            // Values go in as parameters, never as SQL text.
            let mut query = Query::new("toy lookups");
            let suffix = query.text("%.toy.example");
            let sql = format!(
                "SELECT ip_text(src) AS host, count(*) AS lookups, min(query) AS example
                 FROM dns WHERE is_internal(src) AND lower(query) LIKE {suffix}
                 GROUP BY src ORDER BY host"
            );
            let mut findings = Vec::new();
            for row in query.rows(&hunt.ctx, &sql).await?.iter() {
                findings.push(finding(row)?);
            }
            Ok(findings)
        })
    }
}

fn finding(row: super::Row<'_>) -> Result<Finding> {
    let host = row.text("host")?;
    let entities = Entities { source: Some(host.clone()), ..Default::default() };
    let mut f = Finding::new(ID, format!("Toy: {host} looked up toy names"), 0.3, entities);
    f.evidence.figures.insert("lookups".into(), json!(row.u64("lookups")?.unwrap_or(0)));
    f.evidence.figures.insert("example".into(), json!(row.text("example")?));
    f.explanation = format!("{host} looked up names under toy.example.");
    Ok(f)
}

#[cfg(test)]
mod tests {
    use lasthop_normalise::LogType;
    use lasthop_query::session::{SessionOptions, from_batches};

    use super::*;

    #[test]
    fn the_hunt_runs_a_detector_added_by_the_documented_steps() {
        assert!(super::super::all().iter().any(|d| d.id() == ID), "registered in all()");
        let selected = super::super::select(&[ID.to_string()]).unwrap();
        assert_eq!(selected.len(), 1);
        let lines: String = ["a.toy.example", "b.toy.example", "www.example.org"]
            .iter()
            .enumerate()
            .map(|(i, q)| {
                format!(
                    "{}\n",
                    json!({"_path": "dns", "ts": 1_700_000_000 + i, "uid": format!("D{i}"),
                        "id.orig_h": "10.0.0.7", "id.orig_p": 5353, "id.resp_h": "10.0.0.53",
                        "id.resp_p": 53, "proto": "udp", "query": q})
                )
            })
            .collect();
        let (batches, _) = lasthop_sources::read_bytes("dns.log", lines.into_bytes());
        let batches = batches.into_iter().map(|(_, b)| b).collect();
        let ctx = from_batches(vec![(LogType::Dns, batches)], &SessionOptions::default()).unwrap();
        let hunt = HuntContext::new(ctx);
        let (findings, errors) =
            tokio::runtime::Runtime::new().unwrap().block_on(crate::hunt(&hunt, &selected));
        assert!(errors.is_empty(), "{errors:?}");
        let [f] = findings.as_slice() else { panic!("{findings:#?}") };
        assert_eq!(f.detector, ID);
        assert_eq!(f.entities.source.as_deref(), Some("10.0.0.7"));
        assert_eq!(f.evidence.figures["lookups"], json!(2));
    }
}
