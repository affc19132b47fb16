//! Plan serialisation with lasthop's functions and tables: the codecs that let a detector's plan
//! leave this process (to a Ballista scheduler and its executors) and come back identical.
//!
//! Most of lasthop's SQL functions carry state that a name cannot: `is_internal` the site's
//! internal ranges, `network_type` the user's classification overrides, `ioc_*` the indicator
//! set, `sigma_rules_*` the compiled rules. The codecs write that state into the plan as a small
//! JSON recipe (the inputs the function was built from, not its indexes), and rebuild the
//! function from it on the other side. Stateless functions (`registered_domain`,
//! `shannon_entropy`, `sigma_decode`, `_series_order`) travel by name and are resolved by the receiving side's
//! registry, which [`register_functions`] fills. In-memory tables (the empty tables of log types
//! a store lacks) travel as Arrow IPC.
//!
//! Everything the codecs do not know is handed to an inner codec: DataFusion's default in the
//! embedded build, Ballista's (which adds its shuffle nodes) in cluster mode.

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::catalog::TableProvider;
use datafusion::common::{TableReference, plan_datafusion_err};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF, ScalarUDFImpl};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_proto::logical_plan::{DefaultLogicalExtensionCodec, LogicalExtensionCodec};
use datafusion_proto::physical_plan::{
    DefaultPhysicalExtensionCodec, PhysicalExtensionCodec, PhysicalProtoConverterExtension,
};
use lasthop_intel::{Classifier, Indicator, IndicatorSet};
use lasthop_normalise::{Cidr, Networks};
use lasthop_sigma::{MatchOptions, RuleSource};
use serde::{Deserialize, Serialize};

use crate::functions::intel::AsnFunction;
use crate::functions::ioc::IocFunction;
use crate::functions::ip::IpFunction;
use crate::functions::sigma::SigmaFunction;

/// Marks a buffer as ours, so that a plan from another codec is never misread.
const FUNCTION_MAGIC: &[u8] = b"lasthop-fn1:";
const TABLE_MAGIC: &[u8] = b"lasthop-mem1:";

/// What rebuilds one of lasthop's stateful functions.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Recipe {
    Address { name: String, internal: Vec<String> },
    Network { name: String, overrides: Option<(String, String)> },
    Indicator { name: String, indicators: Vec<Indicator> },
    Sigma { name: String, table: String, decode: bool, rules: Vec<SigmaSource> },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
enum SigmaSource {
    Bundled,
    Yaml { origin: String, text: String },
    RegexSizeLimit { bytes: usize },
}

fn recipe_of(udf: &ScalarUDF) -> Option<Recipe> {
    let inner: &dyn Any = udf.inner().as_ref();
    let name = udf.name().to_string();
    if let Some(f) = inner.downcast_ref::<IpFunction>() {
        let internal = f.internal().prefixes().iter().map(Cidr::to_string).collect();
        return Some(Recipe::Address { name, internal });
    }
    if let Some(f) = inner.downcast_ref::<AsnFunction>() {
        let overrides =
            f.classifier().overrides_source().map(|(n, t)| (n.to_string(), t.to_string()));
        return Some(Recipe::Network { name, overrides });
    }
    if let Some(f) = inner.downcast_ref::<IocFunction>() {
        return Some(Recipe::Indicator {
            name,
            indicators: f.indicators().iter().cloned().collect(),
        });
    }
    if let Some(f) = inner.downcast_ref::<SigmaFunction>() {
        let rules = f
            .sources()
            .iter()
            .map(|s| match s {
                RuleSource::Bundled => SigmaSource::Bundled,
                RuleSource::Yaml { origin, text } => {
                    SigmaSource::Yaml { origin: origin.clone(), text: text.clone() }
                }
                RuleSource::RegexSizeLimit(bytes) => SigmaSource::RegexSizeLimit { bytes: *bytes },
            })
            .collect();
        return Some(Recipe::Sigma {
            name,
            table: f.table().to_string(),
            decode: f.options().decode,
            rules,
        });
    }
    None
}

fn rebuild(recipe: Recipe) -> Result<ScalarUDF> {
    let unknown = |name: &str| plan_datafusion_err!("no lasthop function is called {name:?}");
    Ok(match recipe {
        Recipe::Address { name, internal } => {
            let prefixes = internal
                .iter()
                .map(|c| Cidr::parse(c).ok_or_else(|| plan_datafusion_err!("bad prefix {c:?}")))
                .collect::<Result<Vec<_>>>()?;
            let f = IpFunction::named(&name, Networks::from_prefixes(prefixes));
            ScalarUDF::from(f.ok_or_else(|| unknown(&name))?)
        }
        Recipe::Network { name, overrides } => {
            let classifier = match overrides {
                None => Classifier::bundled().clone(),
                Some((file, text)) => Classifier::with_override_text(&file, &text)
                    .map_err(|e| plan_datafusion_err!("{e}"))?,
            };
            ScalarUDF::from(
                AsnFunction::named(&name, Arc::new(classifier)).ok_or_else(|| unknown(&name))?,
            )
        }
        Recipe::Indicator { name, indicators } => {
            let mut set = IndicatorSet::default();
            for i in indicators {
                set.add(i);
            }
            ScalarUDF::from(IocFunction::named(&name, Arc::new(set)).ok_or_else(|| unknown(&name))?)
        }
        Recipe::Sigma { name, table, decode, rules } => {
            let sources = rules
                .into_iter()
                .map(|s| match s {
                    SigmaSource::Bundled => RuleSource::Bundled,
                    SigmaSource::Yaml { origin, text } => RuleSource::Yaml { origin, text },
                    SigmaSource::RegexSizeLimit { bytes } => RuleSource::RegexSizeLimit(bytes),
                })
                .collect();
            let f = SigmaFunction::rebuild(sources, &table, MatchOptions { decode })
                .ok_or_else(|| plan_datafusion_err!("no Sigma rules for table {table:?}"))?;
            if f.name() != name {
                return Err(unknown(&name));
            }
            ScalarUDF::new_from_impl(f)
        }
    })
}

fn encode_udf(udf: &ScalarUDF, buf: &mut Vec<u8>) -> Result<bool> {
    let Some(recipe) = recipe_of(udf) else { return Ok(false) };
    buf.extend_from_slice(FUNCTION_MAGIC);
    serde_json::to_writer(&mut *buf, &recipe).map_err(|e| DataFusionError::External(e.into()))?;
    Ok(true)
}

fn decode_udf(name: &str, buf: &[u8]) -> Option<Result<Arc<ScalarUDF>>> {
    let json = buf.strip_prefix(FUNCTION_MAGIC)?;
    Some(
        serde_json::from_slice::<Recipe>(json)
            .map_err(|e| plan_datafusion_err!("the plan's recipe for {name} does not read: {e}"))
            .and_then(rebuild)
            .map(Arc::new),
    )
}

fn encode_mem_table(provider: &dyn TableProvider, buf: &mut Vec<u8>) -> Result<bool> {
    let Some(table) = (provider as &dyn Any).downcast_ref::<MemTable>() else {
        return Ok(false);
    };
    let mut batches = Vec::new();
    for partition in &table.batches {
        let guard = partition.try_read().map_err(|_| {
            plan_datafusion_err!("an in-memory table is being written while its plan is encoded")
        })?;
        batches.extend(guard.iter().cloned());
    }
    buf.extend_from_slice(TABLE_MAGIC);
    let mut writer = StreamWriter::try_new(&mut *buf, &table.schema())?;
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(true)
}

fn decode_mem_table(buf: &[u8], schema: SchemaRef) -> Option<Result<Arc<dyn TableProvider>>> {
    let ipc = buf.strip_prefix(TABLE_MAGIC)?;
    let read = || -> Result<Arc<dyn TableProvider>> {
        let reader = StreamReader::try_new(ipc, None)?;
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
    };
    Some(read())
}

/// The logical-plan codec: lasthop's functions and in-memory tables, the rest by `inner`.
#[derive(Debug)]
pub struct LogicalCodec {
    inner: Arc<dyn LogicalExtensionCodec>,
}

impl LogicalCodec {
    pub fn new(inner: Arc<dyn LogicalExtensionCodec>) -> LogicalCodec {
        LogicalCodec { inner }
    }
}

impl Default for LogicalCodec {
    fn default() -> Self {
        LogicalCodec::new(Arc::new(DefaultLogicalExtensionCodec {}))
    }
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match decode_mem_table(buf, schema.clone()) {
            Some(table) => table,
            None => self.inner.try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if encode_mem_table(node.as_ref(), buf)? {
            return Ok(());
        }
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf).unwrap_or_else(|| self.inner.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if encode_udf(node, buf)? {
            return Ok(());
        }
        self.inner.try_encode_udf(node, buf)
    }
}

/// The physical-plan codec: lasthop's functions, the rest by `inner`.
#[derive(Debug)]
pub struct PhysicalCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
}

impl PhysicalCodec {
    pub fn new(inner: Arc<dyn PhysicalExtensionCodec>) -> PhysicalCodec {
        PhysicalCodec { inner }
    }
}

impl Default for PhysicalCodec {
    fn default() -> Self {
        PhysicalCodec::new(Arc::new(DefaultPhysicalExtensionCodec {}))
    }
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        self.inner.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf).unwrap_or_else(|| self.inner.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if encode_udf(node, buf)? {
            return Ok(());
        }
        self.inner.try_encode_udf(node, buf)
    }
}

/// Registers every lasthop function that can travel by name, with default state (bundled
/// intelligence, the default internal ranges): what a scheduler's or executor's registry needs.
/// Functions whose state a plan carries are rebuilt from the plan, whatever is registered here.
pub fn register_functions(ctx: &SessionContext) {
    crate::functions::register_session(
        ctx,
        &Networks::default(),
        &Arc::new(Classifier::bundled().clone()),
    );
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::physical_plan::collect;
    use datafusion_proto::bytes::{
        physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
    };

    use super::*;
    use crate::session::{SessionOptions, new_context};

    #[tokio::test]
    async fn a_function_keeps_its_state_across_the_wire() {
        let options = SessionOptions {
            internal: Networks::from_prefixes(vec![Cidr::parse("198.51.100.0/24").unwrap()]),
            ..Default::default()
        };
        let sender = new_context(&options);
        // Over a column, so that the sender cannot fold the calls into constants.
        let sql = "SELECT is_internal(ip(a)) AS a, is_internal(ip(b)) AS b
                   FROM (VALUES ('198.51.100.7', '10.1.2.3')) AS t(a, b)";
        let plan = sender.sql(sql).await.unwrap().create_physical_plan().await.unwrap();
        let codec = PhysicalCodec::default();
        let bytes = physical_plan_to_bytes_with_extension_codec(plan, &codec).unwrap();
        let receiver = SessionContext::new();
        register_functions(&receiver);
        let back =
            physical_plan_from_bytes_with_extension_codec(&bytes, &receiver.task_ctx(), &codec)
                .unwrap();
        let batches = collect(back, receiver.task_ctx()).await.unwrap();
        let answer = |i: usize| batches[0].column(i).as_boolean().value(0);
        // The sender's ranges, not the receiver's defaults (where 10.1.2.3 is internal).
        assert!(answer(0));
        assert!(!answer(1));
        assert_eq!(batches[0].num_rows(), 1);
        assert!(batches[0].column(0).is_valid(0));
    }
}
