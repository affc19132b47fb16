//! Scoring functions over per-pair series: pure arithmetic, tested on their own.

pub mod beacon;
pub mod gaps;
pub mod rita;
pub mod stats;
