//! SQL over 16-byte addresses that reads naturally.
//!
//! Functions: `ip('10.0.0.1')` (text → address), `ip_text(src)` (address → text),
//! `cidr_contains('10.0.0.0/8', src)`, `is_internal(src)`, `is_special(dst)` (multicast,
//! broadcast, unspecified). And an analyzer rule so that
//! `src = '10.0.0.1'`, `dst IN ('a', 'b')` and `src <> '…'` compare addresses, not bytes of text:
//! a text literal compared with an address column is parsed as an address before DataFusion's
//! type coercion would otherwise cast it to binary and silently match nothing.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use lasthop_normalise::ip::{Cidr, Networks};
use lasthop_normalise::{IP_WIDTH, format_ip, is_special, parse_ip};

/// Registers the address functions on a session; `is_internal` answers for `internal`.
pub fn register(ctx: &SessionContext, internal: &Networks) {
    for kind in IpFunction::KINDS {
        ctx.register_udf(ScalarUDF::from(IpFunction::new(kind, internal.clone())));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IpKind {
    Parse,
    Text,
    CidrContains,
    IsInternal,
    /// Multicast, broadcast or unspecified: no host at the other end.
    IsSpecial,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct IpFunction {
    kind: IpKind,
    signature: Signature,
    internal: Networks,
}

impl IpFunction {
    const KINDS: [IpKind; 5] =
        [IpKind::Parse, IpKind::Text, IpKind::CidrContains, IpKind::IsInternal, IpKind::IsSpecial];

    /// The function called `name`, answering `is_internal` for `internal`.
    pub(crate) fn named(name: &str, internal: Networks) -> Option<IpFunction> {
        Self::KINDS
            .into_iter()
            .map(|kind| IpFunction::new(kind, internal.clone()))
            .find(|f| f.name() == name)
    }

    pub(crate) fn internal(&self) -> &Networks {
        &self.internal
    }

    fn new(kind: IpKind, internal: Networks) -> IpFunction {
        let ip = DataType::FixedSizeBinary(IP_WIDTH);
        let signature = match kind {
            IpKind::Parse => Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
            IpKind::Text | IpKind::IsInternal | IpKind::IsSpecial => {
                Signature::exact(vec![ip], Volatility::Immutable)
            }
            IpKind::CidrContains => {
                Signature::exact(vec![DataType::Utf8, ip], Volatility::Immutable)
            }
        };
        IpFunction { kind, signature, internal }
    }
}

/// Expands scalar arguments to arrays of the batch's length.
fn arrays(args: &ScalarFunctionArgs) -> Result<Vec<ArrayRef>> {
    args.args.iter().map(|a| a.clone().into_array(args.number_rows)).collect()
}

impl ScalarUDFImpl for IpFunction {
    fn name(&self) -> &str {
        match self.kind {
            IpKind::Parse => "ip",
            IpKind::Text => "ip_text",
            IpKind::CidrContains => "cidr_contains",
            IpKind::IsInternal => "is_internal",
            IpKind::IsSpecial => "is_special",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            IpKind::Parse => DataType::FixedSizeBinary(IP_WIDTH),
            IpKind::Text => DataType::Utf8,
            IpKind::CidrContains | IpKind::IsInternal | IpKind::IsSpecial => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args)?;
        let result: ArrayRef = match self.kind {
            IpKind::Parse => {
                let text = string_array(&arrays[0])?;
                Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    text.iter().map(|t| t.and_then(parse_ip)),
                    IP_WIDTH,
                )?)
            }
            IpKind::Text => {
                let ips = ip_array(&arrays[0])?;
                Arc::new(StringArray::from_iter(
                    (0..ips.len()).map(|i| ips.is_valid(i).then(|| format_ip(ips.value(i)))),
                ))
            }
            IpKind::IsInternal => {
                let ips = ip_array(&arrays[0])?;
                Arc::new(BooleanArray::from_iter(
                    (0..ips.len())
                        .map(|i| ips.is_valid(i).then(|| self.internal.contains(ips.value(i)))),
                ))
            }
            IpKind::IsSpecial => {
                let ips = ip_array(&arrays[0])?;
                Arc::new(BooleanArray::from_iter(
                    (0..ips.len()).map(|i| ips.is_valid(i).then(|| is_special(ips.value(i)))),
                ))
            }
            IpKind::CidrContains => {
                let prefixes = string_array(&arrays[0])?;
                let ips = ip_array(&arrays[1])?;
                // The prefix is nearly always a constant: parse each distinct text once.
                let mut last: Option<(&str, Option<Cidr>)> = None;
                let mut out = Vec::with_capacity(ips.len());
                for i in 0..ips.len() {
                    if prefixes.is_null(i) || ips.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    let text = prefixes.value(i);
                    let cidr = match last {
                        Some((t, c)) if t == text => c,
                        _ => {
                            let c = Cidr::parse(text);
                            if c.is_none() {
                                return exec_err!("cidr_contains: {text:?} is not a CIDR prefix");
                            }
                            last = Some((text, c));
                            c
                        }
                    };
                    out.push(cidr.map(|c| c.contains(ips.value(i))));
                }
                Arc::new(BooleanArray::from(out))
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}

fn string_array(a: &ArrayRef) -> Result<&StringArray> {
    match a.as_any().downcast_ref::<StringArray>() {
        Some(s) => Ok(s),
        None => exec_err!("expected text, found {}", a.data_type()),
    }
}

fn ip_array(a: &ArrayRef) -> Result<&FixedSizeBinaryArray> {
    match a.as_any().downcast_ref::<FixedSizeBinaryArray>() {
        Some(s) if s.value_length() == IP_WIDTH => Ok(s),
        _ => exec_err!("expected an address column, found {}", a.data_type()),
    }
}

/// Rewrites text literals compared with address columns into address literals.
#[derive(Debug, Default)]
pub struct IpLiteralRule;

fn is_ip_type(t: &DataType) -> bool {
    *t == DataType::FixedSizeBinary(IP_WIDTH)
}

fn text_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(s),
        _ => None,
    }
}

fn ip_literal(text: &str) -> Result<Expr> {
    match parse_ip(text) {
        Some(bytes) => {
            Ok(Expr::Literal(ScalarValue::FixedSizeBinary(IP_WIDTH, Some(bytes.to_vec())), None))
        }
        None => plan_err!(
            "{text:?} is compared with an address column but is not an IP address (for prefixes use cidr_contains)"
        ),
    }
}

fn rewrite_expr(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    expr.transform_up(|e| {
        let is_ip = |x: &Expr| x.get_type(schema).map(|t| is_ip_type(&t)).unwrap_or(false);
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right })
                if matches!(
                    op,
                    Operator::Eq
                        | Operator::NotEq
                        | Operator::Lt
                        | Operator::LtEq
                        | Operator::Gt
                        | Operator::GtEq
                        | Operator::IsDistinctFrom
                        | Operator::IsNotDistinctFrom
                ) =>
            {
                if let Some(t) = text_literal(&right)
                    && is_ip(&left)
                {
                    let right = Box::new(ip_literal(t)?);
                    return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr { left, op, right })));
                }
                if let Some(t) = text_literal(&left)
                    && is_ip(&right)
                {
                    let left = Box::new(ip_literal(t)?);
                    return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr { left, op, right })));
                }
                Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr { left, op, right })))
            }
            Expr::InList(InList { expr, list, negated })
                if is_ip(&expr) && list.iter().any(|l| text_literal(l).is_some()) =>
            {
                let list = list
                    .into_iter()
                    .map(|l| match text_literal(&l) {
                        Some(t) => ip_literal(t),
                        None => Ok(l),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Transformed::yes(Expr::InList(InList { expr, list, negated })))
            }
            other => Ok(Transformed::no(other)),
        }
    })
}

impl AnalyzerRule for IpLiteralRule {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let mut schema = DFSchema::empty();
            for input in plan.inputs() {
                schema.merge(input.schema());
            }
            plan.map_expressions(|e| rewrite_expr(e, &schema))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "lasthop_ip_literals"
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{AsArray, RecordBatch};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::session::{SessionOptions, new_context};

    async fn query(sql: &str) -> Result<Vec<RecordBatch>> {
        let ctx = new_context(&SessionOptions { threads: 1, ..Default::default() });
        let ips = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            ["10.0.0.1", "10.0.0.2", "192.168.1.1", "2001:db8::1", "8.8.8.8"]
                .iter()
                .map(|t| parse_ip(t)),
            IP_WIDTH,
        )?;
        let schema = Arc::new(Schema::new(vec![Field::new(
            "src",
            DataType::FixedSizeBinary(IP_WIDTH),
            true,
        )]));
        ctx.register_batch("t", RecordBatch::try_new(schema, vec![Arc::new(ips)])?)?;
        ctx.sql(sql).await?.collect().await
    }

    async fn texts(sql: &str) -> Vec<String> {
        let batches = query(sql).await.unwrap();
        batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn text_literals_compare_as_addresses() {
        assert_eq!(texts("SELECT ip_text(src) FROM t WHERE src = '10.0.0.2'").await, ["10.0.0.2"]);
        assert_eq!(texts("SELECT ip_text(src) FROM t WHERE '10.0.0.2' = src").await, ["10.0.0.2"]);
        assert_eq!(
            texts(
                "SELECT ip_text(src) FROM t WHERE src IN ('8.8.8.8', '2001:db8::1') ORDER BY src"
            )
            .await,
            ["8.8.8.8", "2001:db8::1"]
        );
        assert_eq!(
            texts("SELECT ip_text(src) FROM t WHERE src > '10.0.0.1' AND src < '192.168.0.0'")
                .await,
            ["10.0.0.2"]
        );
        assert_eq!(
            texts("SELECT ip_text(src) FROM t WHERE src = ip('10.0.0.1')").await,
            ["10.0.0.1"]
        );
        let err = query("SELECT * FROM t WHERE src = '10.0.0'").await.unwrap_err();
        assert!(err.to_string().contains("not an IP address"), "{err}");
    }

    #[tokio::test]
    async fn cidr_and_internal_tests() {
        assert_eq!(
            texts("SELECT ip_text(src) FROM t WHERE cidr_contains('10.0.0.0/8', src) ORDER BY src")
                .await,
            ["10.0.0.1", "10.0.0.2"]
        );
        assert_eq!(
            texts("SELECT ip_text(src) FROM t WHERE cidr_contains('2001:db8::/32', src)").await,
            ["2001:db8::1"]
        );
        assert_eq!(
            texts("SELECT ip_text(src) FROM t WHERE NOT is_internal(src) ORDER BY src").await,
            ["8.8.8.8", "2001:db8::1"]
        );
        let err =
            query("SELECT * FROM t WHERE cidr_contains('10.0.0.0/99', src)").await.unwrap_err();
        assert!(err.to_string().contains("not a CIDR prefix"), "{err}");
    }

    #[tokio::test]
    async fn asn_and_organisation_functions_answer_from_the_bundled_data() {
        let rows = query(
            "SELECT ip_text(src) AS ip, asn(src) AS n, as_org(src) AS org FROM t ORDER BY src",
        )
        .await
        .unwrap();
        let b = &rows[0];
        let ips = b.column(0).as_string::<i32>();
        let numbers = b.column(1).as_primitive::<datafusion::arrow::datatypes::UInt32Type>();
        let orgs = b.column(2).as_string::<i32>();
        let google = (0..b.num_rows()).find(|i| ips.value(*i) == "8.8.8.8").unwrap();
        assert_eq!((numbers.value(google), orgs.value(google)), (15169, "Google LLC"));
        let private = (0..b.num_rows()).find(|i| ips.value(*i) == "10.0.0.1").unwrap();
        assert!(numbers.is_null(private) && orgs.is_null(private), "private space has no AS");
    }
}
