//! C2 analytics end to end: real captures (RITA's test data, labelled Stratosphere captures) and
//! seeded synthetic beacons in a week of benign background; and every detector's plans through
//! the codecs a cluster uses. Tests that read `../shared/data`
//! skip, with a message, when it is absent.

mod beyond_rita;
mod common;
mod log_files;
mod memory;
mod plans;
mod rita_data;
mod stratosphere;
mod synthetic;
