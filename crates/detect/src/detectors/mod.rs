//! The detectors. Each is a self-contained module whose doc comment says what it finds, why it
//! matters (ATT&CK) and how it scores, and which turns DataFusion plans over the store's tables
//! into [`Finding`]s.

pub mod ioc;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use lasthop_findings::Finding;
use lasthop_sources::intel::IocList;

/// What a hunt gives every detector.
pub struct HuntContext {
    pub ctx: SessionContext,
    /// Indicators from `--ioc-file`, if any.
    pub iocs: Option<Arc<IocList>>,
}

pub type DetectorFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Finding>>> + Send + 'a>>;

/// A detector: a named analytic over the store.
pub trait Detector: Send + Sync {
    /// Stable id, used in finding ids and `--detector` selections.
    fn id(&self) -> &'static str;
    /// One line for `--help` and reports.
    fn description(&self) -> &'static str;
    fn run<'a>(&'a self, hunt: &'a HuntContext) -> DetectorFuture<'a>;
}

/// Every detector available in this build.
pub fn all() -> Vec<Box<dyn Detector>> {
    vec![Box::new(ioc::IocMatch)]
}

/// Runs a query and collects its batches.
pub(crate) async fn query(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}

/// Rows of batches as column → JSON value (addresses as text, times as ISO 8601).
pub(crate) fn rows(batches: &[RecordBatch]) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let mut object = serde_json::Map::new();
            for (i, field) in schema.fields().iter().enumerate() {
                object.insert(
                    field.name().clone(),
                    lasthop_normalise::cell_to_json(batch.column(i), row),
                );
            }
            out.push(object);
        }
    }
    out
}
