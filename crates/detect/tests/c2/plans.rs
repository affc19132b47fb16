//! Every detector's plans survive DataFusion's plan serialisation with lasthop's codecs — what a
//! Ballista cluster does to them — and the decoded plans, run in a session that knows none of
//! the hunt's settings, give the same rows: the functions' state (internal ranges, network
//! overrides, indicators, Sigma rules) travels inside the plan.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Float64Array};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::SessionContext;
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use lasthop_detect::detectors::{self, HuntContext, HuntOptions};
use lasthop_intel::Classifier;
use lasthop_normalise::Networks;
use lasthop_query::codec::{LogicalCodec, PhysicalCodec, register_functions};
use lasthop_query::{SessionOptions, open_store};

use crate::common::import;

/// Keeps every plan the session plans, under the detector that asked for it: the logical plan,
/// and the physical plan encoded as it leaves the planner (as a cluster's scheduler sends it:
/// once a plan has run, its dynamic filters hold what the run learnt).
#[derive(Debug, Default)]
struct Recorder {
    current: Mutex<String>,
    plans: Mutex<Vec<Recorded>>,
}

/// Detector, logical plan, physical plan, and the physical plan's encoding.
type Recorded = (String, LogicalPlan, Arc<dyn ExecutionPlan>, Result<Vec<u8>>);

#[async_trait]
impl QueryPlanner for Recorder {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        state: &dyn datafusion::catalog::Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let physical = DefaultPhysicalPlanner::default().create_physical_plan(plan, state).await?;
        let detector = self.current.lock().unwrap().clone();
        let bytes = physical_plan_to_bytes_with_extension_codec(
            physical.clone(),
            &PhysicalCodec::default(),
        )
        .map(|b| b.to_vec());
        self.plans.lock().unwrap().push((detector, plan.clone(), physical.clone(), bytes));
        Ok(physical)
    }
}

/// A plan's rows as sorted text lines, so that partitioning does not change them; floats to nine
/// significant digits, since partitioning changes the order of a sum's terms.
async fn rows(plan: Arc<dyn ExecutionPlan>, ctx: &SessionContext) -> Vec<String> {
    let batches = collect(plan, ctx.task_ctx()).await.unwrap();
    let options = FormatOptions::default();
    let mut lines = Vec::new();
    for batch in &batches {
        let columns: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| match c.as_any().downcast_ref::<Float64Array>() {
                Some(floats) => Err(floats),
                None => Ok(ArrayFormatter::try_new(c.as_ref(), &options).unwrap()),
            })
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| match c {
                    Ok(f) => f.value(row).to_string(),
                    Err(floats) if floats.is_null(row) => String::new(),
                    Err(floats) => format!("{:.8e}", floats.value(row)),
                })
                .collect();
            lines.push(cells.join("|"));
        }
    }
    lines.sort();
    lines
}

#[test]
fn every_detectors_plans_round_trip_through_the_codecs() {
    let logs = tempfile::tempdir().unwrap();
    let config = lasthop_demo::DemoConfig { hosts: 40, days: 3, ..Default::default() };
    let demo = lasthop_demo::generate(logs.path(), &config).unwrap();
    let store = import(&[logs.path().to_path_buf()]);

    // Settings a receiving side cannot guess: an extra internal range, a network override, the
    // demo's indicators and a rule of the user's own.
    let mut internal = Networks::default();
    internal.add("198.51.100.0/24").unwrap();
    let classifier = Arc::new(
        Classifier::with_override_text("overrides.txt", "203.0.113.0/24 residential\n").unwrap(),
    );
    let iocs = lasthop_intel::feeds::load_feed(&demo.ioc_file).unwrap().indicators;
    assert!(!iocs.is_empty());
    let mut rules = lasthop_detect::sigma::RuleSet::bundled();
    rules.add_yaml(
        "mine.yml",
        "title: Shell probe\nid: 5e1f\nlogsource:\n  category: proxy\ndetection:\n  sel:\n    c-uri|contains: /cmd\n  condition: sel\nlevel: high\n",
    );

    let recorder = Arc::new(Recorder::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (recorded, sender) = rt.block_on(async {
        let session = SessionOptions {
            internal: internal.clone(),
            network_types: classifier.clone(),
            threads: 2,
            ..Default::default()
        };
        let opened =
            open_store(&lasthop_store::Store::open(store.path()).unwrap(), &session).await.unwrap();
        let state = SessionStateBuilder::new_from_existing(opened.state())
            .with_query_planner(recorder.clone())
            .build();
        let hunt = HuntContext {
            iocs: Some(Arc::new(iocs)),
            rules: Some(Arc::new(rules)),
            options: HuntOptions { internal, network_types: classifier, ..Default::default() },
            ..HuntContext::new(SessionContext::new_with_state(state))
        };
        for detector in detectors::all() {
            *recorder.current.lock().unwrap() = detector.id().to_string();
            detector.run(&hunt).await.unwrap_or_else(|e| panic!("{}: {e}", detector.id()));
        }
        (std::mem::take(&mut *recorder.plans.lock().unwrap()), hunt.ctx.state())
    });

    let mut per_detector: BTreeMap<String, usize> = BTreeMap::new();
    for (detector, _, _, _) in &recorded {
        *per_detector.entry(detector.clone()).or_default() += 1;
    }
    for detector in detectors::all() {
        assert!(
            per_detector.contains_key(detector.id()),
            "{} planned nothing: {per_detector:?}",
            detector.id()
        );
    }

    // The receiving side: lasthop's functions with default state only, no tables.
    let receiver = SessionContext::new();
    register_functions(&receiver);
    let logical_codec = LogicalCodec::default();
    let physical_codec = PhysicalCodec::default();
    rt.block_on(async {
        for (detector, logical, physical, physical_bytes) in recorded {
            let logical_bytes =
                logical_plan_to_bytes_with_extension_codec(&logical, &logical_codec)
                    .unwrap_or_else(|e| {
                        panic!("{detector}: encoding {}: {e}", logical.display_indent())
                    });
            let back = logical_plan_from_bytes_with_extension_codec(
                &logical_bytes,
                &receiver.task_ctx(),
                &logical_codec,
            )
            .unwrap_or_else(|e| panic!("{detector}: decoding: {e}"));
            // Decoding may reshape the plan (nested unions come back flattened): what must hold
            // is its schema, and that the receiver, planning it afresh, gets the same rows.
            assert_eq!(back.schema(), logical.schema(), "{detector}");
            let replanned = receiver
                .state()
                .create_physical_plan(&back)
                .await
                .unwrap_or_else(|e| panic!("{detector}: planning the decoded plan: {e}"));
            // A plan runs once: the sender plans the original again for the expected rows.
            let fresh = sender.create_physical_plan(&logical).await.unwrap();
            let expected = rows(fresh, &receiver).await;
            assert_eq!(
                rows(replanned, &receiver).await,
                expected,
                "{detector}: the decoded logical plan"
            );

            let bytes = physical_bytes.unwrap_or_else(|e| {
                panic!("{detector}: encoding {}: {e}", displayable(physical.as_ref()).indent(true))
            });
            let back = physical_plan_from_bytes_with_extension_codec(
                &bytes,
                &receiver.task_ctx(),
                &physical_codec,
            )
            .unwrap_or_else(|e| panic!("{detector}: decoding: {e}"));
            // As with the logical plan, nested unions may come back flattened: the schema and
            // the rows are what must survive.
            assert_eq!(back.schema(), physical.schema(), "{detector}");
            let shown = displayable(back.as_ref()).indent(true).to_string();
            assert_eq!(
                rows(back, &receiver).await,
                expected,
                "{detector}: the decoded physical plan\n{shown}\nof\n{}",
                displayable(physical.as_ref()).indent(true)
            );
        }
    });
}
