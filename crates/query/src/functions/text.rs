//! Text functions: `registered_domain(name)` and `shannon_entropy(text)`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The registered domain of a name (public suffix + one label), or null for a bare suffix,
/// an address or a single label.
pub fn registered_domain(name: &str) -> Option<&str> {
    let name = name.trim_end_matches('.');
    if name.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let domain = psl::domain_str(name)?;
    Some(domain)
}

/// Registers `registered_domain(text)` and `shannon_entropy(text)`.
pub fn register(ctx: &datafusion::prelude::SessionContext) {
    ctx.register_udf(ScalarUDF::from(TextFunction::new(TextKind::RegisteredDomain)));
    ctx.register_udf(ScalarUDF::from(TextFunction::new(TextKind::Entropy)));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TextKind {
    RegisteredDomain,
    Entropy,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TextFunction {
    kind: TextKind,
    signature: Signature,
}

impl TextFunction {
    fn new(kind: TextKind) -> TextFunction {
        TextFunction {
            kind,
            signature: Signature::uniform(
                1,
                vec![DataType::Utf8, DataType::Utf8View, DataType::LargeUtf8],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for TextFunction {
    fn name(&self) -> &str {
        match self.kind {
            TextKind::RegisteredDomain => "registered_domain",
            TextKind::Entropy => "shannon_entropy",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            TextKind::RegisteredDomain => DataType::Utf8,
            TextKind::Entropy => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let array = args.args[0].clone().into_array(args.number_rows)?;
        let array = datafusion::arrow::compute::cast(&array, &DataType::Utf8)?;
        let Some(text) = array.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("{} expects text", self.name());
        };
        let result: ArrayRef = match self.kind {
            TextKind::RegisteredDomain => {
                Arc::new(StringArray::from_iter(text.iter().map(|t| t.and_then(registered_domain))))
            }
            TextKind::Entropy => {
                Arc::new(Float64Array::from_iter(text.iter().map(|t| t.map(shannon_entropy))))
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// Shannon entropy of a string's bytes, in bits per byte.
pub fn shannon_entropy(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in text.bytes() {
        counts[b as usize] += 1;
    }
    let n = text.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains_follow_the_public_suffix_list() {
        assert_eq!(registered_domain("a.b.evil.co.uk"), Some("evil.co.uk"));
        assert_eq!(registered_domain("x1y2.t.dnsxfer.org."), Some("dnsxfer.org"));
        assert_eq!(registered_domain("dnsc.r-1x.com"), Some("r-1x.com"));
        assert_eq!(registered_domain("co.uk"), None);
        assert_eq!(registered_domain("10.1.2.3"), None);
    }
}
