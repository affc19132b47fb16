//! Indicator functions: `ioc_ip`, `ioc_domain`, `ioc_url`, `ioc_file`, `ioc_cert`, `ioc_tls` and
//! `ioc_ssh`, each matching one kind of value against an indicator set at a time.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, FixedSizeBinaryArray, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use lasthop_intel::{IndicatorKind, IndicatorSet};

/// Registers every indicator function on `ctx`, matching `set`. Registering again replaces them.
pub fn register(ctx: &SessionContext, set: &Arc<IndicatorSet>) {
    for kind in IocKind::ALL {
        ctx.register_udf(ScalarUDF::from(IocFunction::new(kind, set.clone())));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IocKind {
    Ip,
    Domain,
    Url,
    File,
    Cert,
    Tls,
    Ssh,
}

impl IocKind {
    const ALL: [IocKind; 7] = [
        IocKind::Ip,
        IocKind::Domain,
        IocKind::Url,
        IocKind::File,
        IocKind::Cert,
        IocKind::Tls,
        IocKind::Ssh,
    ];
}

/// `ioc_ip(address, ts)`, `ioc_domain(name, ts)`, `ioc_url(host, uri, ts)`, `ioc_file(digest, ts)`
/// `ioc_cert(fingerprint, ts)`, `ioc_tls(ja3_or_ja4, ts)` and `ioc_ssh(hassh, ts)`: the indicator in force at `ts`
/// that the value matches, or null.
#[derive(Debug)]
pub(crate) struct IocFunction {
    kind: IocKind,
    set: Arc<IndicatorSet>,
    signature: Signature,
}

impl IocFunction {
    /// The function called `name`, matching `set`.
    pub(crate) fn named(name: &str, set: Arc<IndicatorSet>) -> Option<IocFunction> {
        IocKind::ALL
            .into_iter()
            .map(|kind| IocFunction::new(kind, set.clone()))
            .find(|f| f.name() == name)
    }

    pub(crate) fn indicators(&self) -> &IndicatorSet {
        &self.set
    }

    fn new(kind: IocKind, set: Arc<IndicatorSet>) -> IocFunction {
        let args = if kind == IocKind::Url { 3 } else { 2 };
        IocFunction { kind, set, signature: Signature::any(args, Volatility::Immutable) }
    }
}

impl PartialEq for IocFunction {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.set, &other.set)
    }
}

impl Eq for IocFunction {}

impl std::hash::Hash for IocFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        (Arc::as_ptr(&self.set) as usize).hash(state);
    }
}

fn strings<'a>(array: &'a ArrayRef, name: &str) -> Result<&'a StringArray> {
    match array.as_any().downcast_ref::<StringArray>() {
        Some(a) => Ok(a),
        None => exec_err!("{name} expects text, got {}", array.data_type()),
    }
}

impl ScalarUDFImpl for IocFunction {
    fn name(&self) -> &str {
        match self.kind {
            IocKind::Ip => "ioc_ip",
            IocKind::Domain => "ioc_domain",
            IocKind::Url => "ioc_url",
            IocKind::File => "ioc_file",
            IocKind::Cert => "ioc_cert",
            IocKind::Tls => "ioc_tls",
            IocKind::Ssh => "ioc_ssh",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> =
            args.args.iter().map(|a| a.clone().into_array(n)).collect::<Result<_>>()?;
        let Some(ts) =
            arrays.last().and_then(|a| a.as_any().downcast_ref::<TimestampMicrosecondArray>())
        else {
            return exec_err!("{} expects a timestamp as its last argument", self.name());
        };
        let at = |i: usize| if ts.is_valid(i) { ts.value(i) } else { 0 };
        let value =
            |m: Option<lasthop_intel::indicators::Match<'_>>| m.map(|m| m.indicator.value.clone());
        let set = &self.set;
        let out: StringArray = match self.kind {
            IocKind::Ip => {
                let Some(ips) = arrays[0].as_any().downcast_ref::<FixedSizeBinaryArray>() else {
                    return exec_err!("ioc_ip expects an address column");
                };
                (0..n)
                    .map(|i| {
                        ips.is_valid(i).then(|| value(set.match_ip(ips.value(i), at(i)))).flatten()
                    })
                    .collect()
            }
            IocKind::Domain => {
                let names = strings(&arrays[0], "ioc_domain")?;
                (0..n)
                    .map(|i| {
                        names
                            .is_valid(i)
                            .then(|| value(set.match_domain(names.value(i), at(i))))
                            .flatten()
                    })
                    .collect()
            }
            IocKind::Url => {
                let hosts = strings(&arrays[0], "ioc_url")?;
                let uris = strings(&arrays[1], "ioc_url")?;
                (0..n)
                    .map(|i| {
                        (hosts.is_valid(i) && uris.is_valid(i))
                            .then(|| value(set.match_url(hosts.value(i), uris.value(i), at(i))))
                            .flatten()
                    })
                    .collect()
            }
            IocKind::File | IocKind::Cert | IocKind::Tls | IocKind::Ssh => {
                let kind = match self.kind {
                    IocKind::File => IndicatorKind::FileHash,
                    IocKind::Cert => IndicatorKind::CertFingerprint,
                    IocKind::Ssh => IndicatorKind::SshFingerprint,
                    _ => IndicatorKind::TlsFingerprint,
                };
                let digests = strings(&arrays[0], self.name())?;
                (0..n)
                    .map(|i| {
                        digests
                            .is_valid(i)
                            .then(|| value(set.match_digest(kind, digests.value(i), at(i))))
                            .flatten()
                    })
                    .collect()
            }
        };
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}
