//! Intelligence about the other end of a connection, bundled so that lasthop works offline:
//! which autonomous system announces an address and which organisation holds it.
//!
//! No query engine here: the detect stage wraps these lookups as SQL functions.

pub mod asn;

pub use asn::{AsnDb, AsnError, AsnInfo};
