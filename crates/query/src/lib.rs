//! The query engine: a DataFusion session over the store's Parquet parts (or raw log files),
//! lasthop's SQL functions, the Ballista codec that carries them to a cluster, and the one way
//! the rest of lasthop runs a query ([`Query`]: values as parameters or tables, never pasted
//! into SQL text; results read by column name and type, [`Rows`]).
//!
//! Nothing here knows a detector: detectors (`lasthop-detect`) are built on this crate, not the
//! other way round.

pub mod codec;
pub mod functions;
pub mod memory_pool;
pub mod observed;
pub mod rows;
pub mod series;
pub mod session;
pub mod tables;

pub use rows::{Query, Row, Rows};
pub use session::{SessionOptions, from_batches, new_context, open_store};
pub use tables::history;
pub use tables::log_files::{self, ReadReport, open_log_files};
