//! What every lasthop reader shares, whatever it reads (logs, intelligence feeds, inventories):
//! diagnostics, the skipped records and why, counted and named by file and line; and opening
//! files whatever their compression. Standard library, flate2 and zstd only.

pub mod decompress;
pub mod diagnostics;

pub use decompress::{DEFAULT_MAX_EXPANSION, decompress, decompress_bounded, open_decompressed};
pub use diagnostics::{Diagnostics, Reason, Warning};
