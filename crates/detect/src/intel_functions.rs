//! SQL functions over the bundled intelligence: `asn(dst)` (the autonomous system number
//! announcing an address) and `as_org(dst)` (the organisation holding it). Each is a bisection
//! in sorted ranges per row inside the plan, not a range join.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, FixedSizeBinaryArray, StringArray, UInt32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::exec_err;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use lasthop_intel::{AsnDb, AsnInfo};
use lasthop_normalise::IP_WIDTH;

pub fn register(ctx: &SessionContext) {
    for kind in [AsnField::Number, AsnField::Organisation] {
        ctx.register_udf(ScalarUDF::from(AsnFunction {
            field: kind,
            signature: Signature::exact(
                vec![DataType::FixedSizeBinary(IP_WIDTH)],
                Volatility::Immutable,
            ),
        }));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AsnField {
    Number,
    Organisation,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct AsnFunction {
    field: AsnField,
    signature: Signature,
}

impl ScalarUDFImpl for AsnFunction {
    fn name(&self) -> &str {
        match self.field {
            AsnField::Number => "asn",
            AsnField::Organisation => "as_org",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.field {
            AsnField::Number => DataType::UInt32,
            AsnField::Organisation => DataType::Utf8,
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
        };
        Ok(ColumnarValue::Array(result))
    }
}
