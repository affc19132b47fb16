//! Sigma functions: `sigma_rules_<table>(columns…)`, the rules each row matches, and
//! `sigma_decode(text)`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, create_udf,
};
use datafusion::prelude::SessionContext;
use lasthop_sigma::{MatchOptions, RuleSet, RuleSource, TableMatcher, decode::decode};

/// Registers `sigma_rules_<table>(columns…)` — per row, the indexes of the rules of `rules` it
/// matches — and returns the call to put in a query, or `None` when no rule runs on the table.
pub fn register_matcher(
    ctx: &SessionContext,
    rules: &RuleSet,
    table: &str,
    options: MatchOptions,
) -> Option<String> {
    let function = SigmaFunction::new(Arc::new(rules.sources().to_vec()), rules, table, options)?;
    let call = format!("{}({})", function.name, function.columns.join(", "));
    ctx.register_udf(ScalarUDF::new_from_impl(function));
    Some(call)
}

/// Evaluates a table's Sigma rules over each batch DataFusion hands it.
#[derive(Debug)]
pub(crate) struct SigmaFunction {
    name: String,
    columns: Vec<&'static str>,
    matcher: Arc<TableMatcher>,
    signature: Signature,
    /// What the rule set was built from, so that a cluster executor can build the same one.
    sources: Arc<Vec<RuleSource>>,
    options: MatchOptions,
}

impl SigmaFunction {
    fn new(
        sources: Arc<Vec<RuleSource>>,
        rules: &RuleSet,
        table: &str,
        options: MatchOptions,
    ) -> Option<SigmaFunction> {
        let matcher = TableMatcher::new(rules, table, options)?;
        Some(SigmaFunction {
            name: format!("sigma_rules_{table}"),
            columns: matcher.columns(),
            matcher: Arc::new(matcher),
            signature: Signature::variadic_any(Volatility::Immutable),
            sources,
            options,
        })
    }

    /// Rebuilds the matcher of one table from the rule set's sources.
    pub(crate) fn rebuild(
        sources: Vec<RuleSource>,
        table: &str,
        options: MatchOptions,
    ) -> Option<SigmaFunction> {
        let rules = RuleSet::from_sources(&sources);
        SigmaFunction::new(Arc::new(sources), &rules, table, options)
    }

    pub(crate) fn table(&self) -> &'static str {
        self.matcher.table
    }

    pub(crate) fn sources(&self) -> &[RuleSource] {
        &self.sources
    }

    pub(crate) fn options(&self) -> MatchOptions {
        self.options
    }
}

impl PartialEq for SigmaFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.matcher, &other.matcher)
    }
}

impl Eq for SigmaFunction {}

impl std::hash::Hash for SigmaFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        (Arc::as_ptr(&self.matcher) as usize).hash(state);
    }
}

impl ScalarUDFImpl for SigmaFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(lasthop_sigma::matching_rules_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        if args.args.len() != self.columns.len() {
            return exec_err!("{} expects {} columns", self.name, self.columns.len());
        }
        let arrays: Vec<ArrayRef> =
            args.args.iter().map(|a| a.clone().into_array(n)).collect::<Result<_>>()?;
        let schema = Schema::new(
            self.columns
                .iter()
                .zip(&arrays)
                .map(|(c, a)| Field::new(*c, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        let batch = RecordBatch::try_new(Arc::new(schema), arrays)?;
        Ok(ColumnarValue::Array(Arc::new(self.matcher.matching_rules(&batch))))
    }
}

/// `sigma_decode(text)`: the decoded form (percent twice, HTML entities, Log4Shell lookups), or
/// null when decoding changes nothing.
pub fn register_decode(ctx: &SessionContext) {
    let function = Arc::new(|args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let array = match &args[0] {
            ColumnarValue::Array(a) => a.clone(),
            ColumnarValue::Scalar(s) => s.to_array()?,
        };
        let Some(texts) = array.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("sigma_decode expects text");
        };
        let out: StringArray = texts.iter().map(|t| t.and_then(decode)).collect();
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    });
    ctx.register_udf(create_udf(
        "sigma_decode",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        function,
    ));
}
