//! Tables beside the store's log tables: raw log files read in place, and the history of what
//! the store has seen.

pub mod history;
pub mod log_files;
