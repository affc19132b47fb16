//! The tables rules run on, and how each Sigma field is read from their columns.

/// What a field holds, which decides how values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Text,
    Number,
    /// 16-byte addresses (lasthop's IP columns): `cidr` compares bytes, text patterns see the
    /// address as text.
    Address,
}

/// How a Sigma field's value is obtained from a table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Column(&'static str),
    /// The stem, then `?` and the query when there is one (the IIS `cs-uri`).
    StemAndQuery(&'static str, &'static str),
    /// The part of a URI column before the first `?`.
    UriStem(&'static str),
    /// The part of a URI column after the first `?` (empty when there is none).
    UriQuery(&'static str),
    /// The extension of the URI's path (`jsp` in `/a/b.jsp?x`), empty when it has none.
    UriExtension(&'static str),
    /// Columns joined with a separator, null columns left out.
    Joined(&'static [&'static str], &'static str),
    /// A number column times a factor (seconds stored, milliseconds in Sigma's `time-taken`).
    Scaled(&'static str, u32),
}

impl Source {
    /// The columns it reads.
    pub fn columns(&self) -> Vec<&'static str> {
        match *self {
            Source::Column(c)
            | Source::UriStem(c)
            | Source::UriQuery(c)
            | Source::UriExtension(c)
            | Source::Scaled(c, _) => vec![c],
            Source::StemAndQuery(stem, query) => vec![stem, query],
            Source::Joined(columns, _) => columns.to_vec(),
        }
    }
}

/// A Sigma field of a table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The Sigma name, lower-case.
    pub sigma: &'static str,
    pub source: Source,
    pub kind: Kind,
}

/// A table rules can run on, with its field mapping.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub fields: &'static [Field],
    /// What field-less keywords search.
    pub keywords: Source,
}

const fn field(sigma: &'static str, source: Source, kind: Kind) -> Field {
    Field { sigma, source, kind }
}

use Kind::{Address, Number, Text};
use Source::{Column, Joined, Scaled, StemAndQuery, UriExtension, UriQuery, UriStem};

/// Web-server access logs (`web`), in the Sigma webserver taxonomy.
pub const WEB: Table = Table {
    name: "web",
    fields: &[
        field("c-ip", Column("c_ip"), Address),
        field("s-ip", Column("s_ip"), Address),
        field("cs-method", Column("cs_method"), Text),
        field("cs-uri-stem", Column("cs_uri_stem"), Text),
        // SigmaHQ's webserver rules look for paths in `cs-uri-query` (`/tmui/`, `/etc/passwd`):
        // their convention, and the backends', is the whole request URI.
        field("cs-uri-query", StemAndQuery("cs_uri_stem", "cs_uri_query"), Text),
        field("cs-uri", StemAndQuery("cs_uri_stem", "cs_uri_query"), Text),
        field("sc-status", Column("sc_status"), Number),
        field("sc-bytes", Column("sc_bytes"), Number),
        field("cs-bytes", Column("cs_bytes"), Number),
        // Sigma's (IIS's) unit is the millisecond; the column holds seconds.
        field("time-taken", Scaled("time_taken", 1000), Number),
        field("cs-user-agent", Column("cs_user_agent"), Text),
        field("cs-referer", Column("cs_referer"), Text),
        field("cs-referrer", Column("cs_referer"), Text),
        field("cs-host", Column("cs_host"), Text),
        field("cs-username", Column("cs_username"), Text),
        field("cs-version", Column("cs_version"), Text),
        field("s-port", Column("s_port"), Number),
    ],
    keywords: Column("raw"),
};

/// Zeek's `http` log as Sigma's proxy log source.
pub const PROXY: Table = Table {
    name: "http",
    fields: &[
        field("c-ip", Column("src"), Address),
        field("dst_ip", Column("dst"), Address),
        field("c-uri", Column("uri"), Text),
        field("cs-uri", Joined(&["host", "uri"], ""), Text),
        field("c-uri-stem", UriStem("uri"), Text),
        field("cs-uri-stem", UriStem("uri"), Text),
        field("c-uri-query", UriQuery("uri"), Text),
        field("c-uri-extension", UriExtension("uri"), Text),
        field("c-useragent", Column("user_agent"), Text),
        field("cs-host", Column("host"), Text),
        field("r-dns", Column("host"), Text),
        field("cs-method", Column("method"), Text),
        field("sc-status", Column("status_code"), Number),
        field("cs-referrer", Column("referrer"), Text),
        field("cs-referer", Column("referrer"), Text),
    ],
    keywords: Joined(&["method", "host", "uri", "user_agent", "referrer"], " "),
};

/// Every table, for lookups by name.
pub const TABLES: [Table; 2] = [WEB, PROXY];

/// The table a rule's logsource names, if lasthop has it.
pub fn route(logsource: &rsigma_parser::LogSource) -> Option<Table> {
    match logsource.category.as_deref() {
        Some("webserver") => Some(WEB),
        Some("proxy") => Some(PROXY),
        _ => None,
    }
}
