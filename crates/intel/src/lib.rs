//! Intelligence about the other end of a connection, bundled so that lasthop works offline:
//! which autonomous system announces an address, which organisation holds it, and what kind of
//! network that is (hosting, VPN, residential ISP, business, education, government).
//!
//! No query engine here: the detect stage wraps these lookups as SQL functions.

pub mod asn;
pub mod feeds;
pub mod fingerprints;
pub mod fuzzing;
pub mod indicators;
pub mod network_type;
pub mod stored;

pub use asn::{AsnDb, AsnError, AsnInfo};
pub use feeds::{FeedReport, WarningLists};
pub use fingerprints::{Device, FingerprintSet};
pub use indicators::{Indicator, IndicatorKind, IndicatorSet};
pub use network_type::{Classification, Classifier, NetworkType};
