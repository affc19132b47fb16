//! SQL functions over the bundled intelligence: `asn(dst)` (the autonomous system number
//! announcing an address), `as_org(dst)` (the organisation holding it) and `network_type(dst)`
//! (hosting, vpn, residential, business, education, government, cgnat or unknown). Each is a
//! bisection in sorted ranges per row inside the plan, not a range join.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, FixedSizeBinaryArray, StringArray, UInt32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::exec_err;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use lasthop_intel::{AsnDb, AsnInfo, Classifier};
use lasthop_normalise::IP_WIDTH;

pub fn register(ctx: &SessionContext, network_types: &Arc<Classifier>) {
    for kind in [AsnField::Number, AsnField::Organisation, AsnField::NetworkType] {
        ctx.register_udf(ScalarUDF::from(AsnFunction::new(kind, network_types.clone())));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AsnField {
    Number,
    Organisation,
    NetworkType,
}

/// The classifier, compared by identity: a function is the same function when it answers from
/// the same classifier.
#[derive(Debug, Clone)]
struct ClassifierRef(Arc<Classifier>);

impl PartialEq for ClassifierRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ClassifierRef {}

impl std::hash::Hash for ClassifierRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as usize).hash(state);
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct AsnFunction {
    field: AsnField,
    classifier: ClassifierRef,
    signature: Signature,
}

impl AsnFunction {
    fn new(field: AsnField, classifier: Arc<Classifier>) -> AsnFunction {
        AsnFunction {
            field,
            classifier: ClassifierRef(classifier),
            signature: Signature::exact(
                vec![DataType::FixedSizeBinary(IP_WIDTH)],
                Volatility::Immutable,
            ),
        }
    }

    /// The function called `name`, classifying with `classifier`.
    pub(crate) fn named(name: &str, classifier: Arc<Classifier>) -> Option<AsnFunction> {
        [AsnField::Number, AsnField::Organisation, AsnField::NetworkType]
            .into_iter()
            .map(|field| AsnFunction::new(field, classifier.clone()))
            .find(|f| f.name() == name)
    }

    pub(crate) fn classifier(&self) -> &Classifier {
        &self.classifier.0
    }
}

impl ScalarUDFImpl for AsnFunction {
    fn name(&self) -> &str {
        match self.field {
            AsnField::Number => "asn",
            AsnField::Organisation => "as_org",
            AsnField::NetworkType => "network_type",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.field {
            AsnField::Number => DataType::UInt32,
            AsnField::Organisation | AsnField::NetworkType => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let array = args.args[0].clone().into_array(args.number_rows)?;
        let Some(ips) = array.as_any().downcast_ref::<FixedSizeBinaryArray>() else {
            return exec_err!("{} takes an address column", self.name());
        };
        let db = AsnDb::bundled();
        let info = |i: usize| -> Option<AsnInfo<'_>> {
            let bytes: &[u8; 16] = ips.value(i).try_into().ok()?;
            ips.is_valid(i).then(|| db.lookup_bytes(bytes)).flatten()
        };
        let result: ArrayRef = match self.field {
            AsnField::Number => {
                Arc::new(UInt32Array::from_iter((0..ips.len()).map(|i| info(i).map(|a| a.asn))))
            }
            AsnField::Organisation => Arc::new(StringArray::from_iter(
                (0..ips.len()).map(|i| info(i).map(|a| a.organisation)),
            )),
            AsnField::NetworkType => Arc::new(StringArray::from_iter((0..ips.len()).map(|i| {
                let bytes: &[u8; 16] = ips.value(i).try_into().ok()?;
                let network = info(i);
                ips.is_valid(i).then(|| self.classifier.0.kind_of(bytes, network.as_ref()).name())
            }))),
        };
        Ok(ColumnarValue::Array(result))
    }
}
