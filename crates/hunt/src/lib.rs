//! A hunt, from a store to its saved findings, as a library: the command line is one caller,
//! tests are another.
//!
//! [`pipeline::run`] updates the store's history, opens a session over the store (or a cluster),
//! runs the detectors, marks each finding new or recurring with the analysts' decisions in force
//! ([`triage`]), and keeps the findings in the store ([`findings`]). [`outputs`] hands them to
//! the sinks, with the report's charts drawn from the records behind them ([`charts`]). Every file it writes goes through
//! `lasthop_store::files`.

pub mod charts;
pub mod findings;
pub mod outputs;
pub mod pipeline;
pub mod rules;
pub mod triage;

pub use pipeline::{HuntOutcome, Settings, run};
