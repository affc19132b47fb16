//! Every SQL function lasthop adds to DataFusion, one module per family. Each function's doc
//! comment (beside its implementation) says what it takes and returns.
//!
//! | module | functions | state |
//! |---|---|---|
//! | [`ip`] | `ip`, `ip_text`, `cidr_contains`, `is_internal`, `is_special` (+ the address-literal analyzer rule) | internal networks |
//! | [`intel`] | `asn`, `as_org`, `network_type` | ASN database and classifier |
//! | [`text`] | `registered_domain`, `shannon_entropy` | none |
//! | [`ioc`] | `ioc_ip`, `ioc_domain`, `ioc_url`, `ioc_file`, `ioc_cert`, `ioc_tls`, `ioc_ssh` | an indicator set |
//! | [`sigma`] | `sigma_rules_<table>`, `sigma_decode` | a compiled rule set |
//! | [`series`] | `_series_order`, `_series_address` (the series scan's sort key) | none |
//!
//! Functions with state that a plan must carry to a cluster (addresses, intelligence,
//! indicators, rules) are encoded by [`crate::codec`]; the others travel by name.

use std::sync::Arc;

use datafusion::prelude::SessionContext;
use lasthop_intel::Classifier;
use lasthop_normalise::Networks;

pub mod intel;
pub mod ioc;
pub mod ip;
pub mod series;
pub mod sigma;
pub mod text;

/// Registers the functions every session has: addresses against `internal`, intelligence from
/// `network_types`, and the stateless ones. Indicator and Sigma functions are registered by the
/// query that needs them ([`ioc::register`], [`sigma::register_matcher`]).
pub fn register_session(
    ctx: &SessionContext,
    internal: &Networks,
    network_types: &Arc<Classifier>,
) {
    ip::register(ctx, internal);
    intel::register(ctx, network_types);
    register_stateless(ctx);
}

/// Registers the functions without state: `sigma_decode`, the text functions and the series
/// scan's key.
pub fn register_stateless(ctx: &SessionContext) {
    sigma::register_decode(ctx);
    text::register(ctx);
    series::register(ctx);
}
