//! Sources: finding log files, decompressing them and parsing them into Arrow record batches of
//! the fixed schemas in `lasthop-normalise`.
//!
//! This crate only reads; it knows nothing of the store or of queries, so it builds without
//! DataFusion.

pub mod assets;
pub mod batch;
pub use lasthop_common::diagnostics;
pub mod discover;
pub mod fuzzing;
pub mod reader;
pub mod safelist;
pub mod values;
pub mod web;
pub mod web_json;
pub mod zeek_json;
pub mod zeek_tsv;

pub use batch::RecordLimits;
pub use discover::{find_files, log_name_from_file_name, log_type_from_file_name};
pub use lasthop_common::{Diagnostics, Reason, Warning, open_decompressed};
pub use reader::{
    FileStamp, FileSummary, Projection, ReadOptions, read_bytes, read_file, read_stream,
};
