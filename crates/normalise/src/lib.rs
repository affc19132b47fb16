//! Fixed, typed Arrow schemas for every log type lasthop stores, and the IP address encoding they
//! share.
//!
//! Every table has the same shape whatever the deployment wrote: the standard Zeek fields become
//! typed columns, anything else a deployment adds (`_node_name`, Stratosphere's `label`, Corelight's
//! `_system_name`) lands in the `_extra` map column, so schemas never drift between files and
//! Parquet files of one table can always be read together.
//!
//! Column names follow Zeek's with two changes that make SQL pleasant: the connection tuple
//! `id.orig_h`, `id.orig_p`, `id.resp_h`, `id.resp_p` becomes `src`, `src_port`, `dst`, `dst_port`,
//! and the remaining dots become underscores (`certificate.subject` → `certificate_subject`), all
//! lower case.

pub mod display;
pub mod ip;
pub mod schema;

pub use display::{cell_to_json, cell_to_text, format_day, format_timestamp};
pub use ip::{Cidr, IP_WIDTH, Networks, format_ip, is_internal, is_special, parse_ip};
pub use schema::{
    ColumnKind, ColumnSpec, EXTRA_COLUMN, KEY_COLUMN, LINE_COLUMN, LogType, SOURCE_COLUMN, columns,
    schema,
};
