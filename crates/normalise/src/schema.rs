//! The table of every stored log type: its Zeek fields, their types, and the Arrow schema they
//! become.

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use crate::ip::IP_WIDTH;

/// The log types lasthop stores. The `Open*` variants carry the same fields as their closed
/// counterparts; Zeek writes them for sessions still open when a log rotates, which is where
/// long-lived C2 sessions show up first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogType {
    Conn,
    OpenConn,
    Dns,
    Http,
    OpenHttp,
    Ssl,
    OpenSsl,
    X509,
    Files,
    /// Web-server access logs (Apache/Nginx combined and common, IIS W3C), in the Sigma
    /// webserver taxonomy's field names.
    Web,
    /// DHCP leases: which machine (MAC address, host name) held which address when.
    Dhcp,
    /// SSH handshakes: client and server software, negotiated algorithms and, where the
    /// deployment runs the HASSH package, the client's and server's HASSH fingerprints.
    Ssh,
}

impl LogType {
    pub const ALL: [LogType; 12] = [
        LogType::Conn,
        LogType::OpenConn,
        LogType::Dns,
        LogType::Http,
        LogType::OpenHttp,
        LogType::Ssl,
        LogType::OpenSsl,
        LogType::X509,
        LogType::Files,
        LogType::Web,
        LogType::Dhcp,
        LogType::Ssh,
    ];

    /// The table name, which is also Zeek's `#path`.
    pub fn name(self) -> &'static str {
        match self {
            LogType::Conn => "conn",
            LogType::OpenConn => "open_conn",
            LogType::Dns => "dns",
            LogType::Http => "http",
            LogType::OpenHttp => "open_http",
            LogType::Ssl => "ssl",
            LogType::OpenSsl => "open_ssl",
            LogType::X509 => "x509",
            LogType::Files => "files",
            LogType::Dhcp => "dhcp",
            LogType::Web => "web",
            LogType::Ssh => "ssh",
        }
    }

    /// Recognises a `#path` value or a `_path` field.
    pub fn from_path(path: &str) -> Option<LogType> {
        LogType::ALL.into_iter().find(|t| t.name() == path)
    }

    /// The fields that identify one record, beyond `ts`: Zeek's uid alone is shared by every DNS
    /// transaction and HTTP request of a connection, so those add their own discriminators. An
    /// open connection is logged again every interval with the same uid and start time: each
    /// snapshot, told apart by its growing duration and byte counts, is a record of its own.
    pub fn identity_fields(self) -> &'static [&'static str] {
        match self {
            LogType::Conn | LogType::Ssl | LogType::OpenSsl | LogType::Ssh => &["uid"],
            LogType::OpenConn => &["uid", "duration", "orig_bytes", "resp_bytes"],
            LogType::Dns => &["uid", "trans_id", "query", "qtype"],
            LogType::Http | LogType::OpenHttp => &["uid", "trans_depth"],
            LogType::X509 => &["fingerprint", "id"],
            LogType::Files => &["fuid"],
            // A DHCP exchange is logged once, with the uids of its packets' connections (Zeek 3
            // on) or, before, one record per acknowledgement with its transaction id.
            LogType::Dhcp => &["uids", "uid", "trans_id", "mac"],
            // An access log has no ids: the same line at the same time is the same request.
            LogType::Web => &["raw"],
        }
    }

    fn zeek_fields(self) -> &'static [(&'static str, ColumnKind)] {
        match self {
            LogType::Conn | LogType::OpenConn => CONN,
            LogType::Dns => DNS,
            LogType::Http | LogType::OpenHttp => HTTP,
            LogType::Ssl | LogType::OpenSsl => SSL,
            LogType::X509 => X509,
            LogType::Web => WEB,
            LogType::Files => FILES,
            LogType::Dhcp => DHCP,
            LogType::Ssh => SSH,
        }
    }
}

impl std::fmt::Display for LogType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a Zeek field is typed in Arrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Zeek `time`: microseconds since the epoch, UTC.
    Time,
    /// Zeek `string` and `enum`.
    Str,
    /// Zeek `addr`: 16 bytes, see [`crate::ip`].
    Addr,
    /// Zeek `port`.
    Port,
    /// Zeek `count`.
    Count,
    /// Zeek `int`.
    Int,
    /// Zeek `interval`, in seconds.
    Interval,
    /// Zeek `double`.
    Double,
    Bool,
    /// Zeek `set[string]` / `vector[string]`.
    StrList,
    /// Zeek `set[addr]` / `vector[addr]`.
    AddrList,
    /// Zeek `vector[interval]`, in seconds.
    IntervalList,
}

impl ColumnKind {
    pub fn data_type(self) -> DataType {
        match self {
            ColumnKind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnKind::Str => DataType::Utf8,
            ColumnKind::Addr => DataType::FixedSizeBinary(IP_WIDTH),
            ColumnKind::Port => DataType::UInt16,
            ColumnKind::Count => DataType::UInt64,
            ColumnKind::Int => DataType::Int64,
            ColumnKind::Interval | ColumnKind::Double => DataType::Float64,
            ColumnKind::Bool => DataType::Boolean,
            ColumnKind::StrList => DataType::new_list(DataType::Utf8, true),
            ColumnKind::AddrList => DataType::new_list(DataType::FixedSizeBinary(IP_WIDTH), true),
            ColumnKind::IntervalList => DataType::new_list(DataType::Float64, true),
        }
    }
}

/// One typed column and the Zeek field it comes from.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    /// The field name Zeek writes (`id.orig_h`).
    pub zeek: &'static str,
    /// The column name in the store (`src`).
    pub name: String,
    pub kind: ColumnKind,
}

/// Extra fields a deployment adds, as name → text.
pub const EXTRA_COLUMN: &str = "_extra";
/// The file a record was read from.
pub const SOURCE_COLUMN: &str = "_source";
/// The line of that file (1-based).
pub const LINE_COLUMN: &str = "_line";
/// A 64-bit hash of the record's identity (`ts` and [`LogType::identity_fields`]), used to store a
/// record once when it arrives twice (a live log and its rotated copy).
pub const KEY_COLUMN: &str = "_key";

/// Maps a Zeek field name to its column name.
pub fn column_name(zeek: &str) -> String {
    match zeek {
        "id.orig_h" => "src".into(),
        "id.orig_p" => "src_port".into(),
        "id.resp_h" => "dst".into(),
        "id.resp_p" => "dst_port".into(),
        // The HASSH package writes camel case: split it as the rest of the schema is.
        "hasshVersion" => "hassh_version".into(),
        "hasshAlgorithms" => "hassh_algorithms".into(),
        "hasshServer" => "hassh_server".into(),
        "hasshServerAlgorithms" => "hassh_server_algorithms".into(),
        // Sigma's `cs-uri-stem` becomes `cs_uri_stem`: SQL needs no quoting, and the rule
        // compiler maps the one spelling to the other.
        other => other.replace(['.', '-'], "_").to_ascii_lowercase(),
    }
}

/// The typed columns of a log type, in schema order (the bookkeeping columns `_extra`,
/// `_source`, `_line` and `_key` follow them).
pub fn columns(log_type: LogType) -> &'static [ColumnSpec] {
    static CACHE: OnceLock<Vec<Vec<ColumnSpec>>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        LogType::ALL
            .iter()
            .map(|t| {
                t.zeek_fields()
                    .iter()
                    .map(|(zeek, kind)| ColumnSpec { zeek, name: column_name(zeek), kind: *kind })
                    .collect()
            })
            .collect()
    });
    let index = LogType::ALL.iter().position(|t| *t == log_type).expect("every type is in ALL");
    &all[index]
}

/// The Arrow type of the `_extra` column.
pub fn extra_type() -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("keys", DataType::Utf8, false),
            Field::new("values", DataType::Utf8, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// The full Arrow schema of a stored log type.
pub fn schema(log_type: LogType) -> SchemaRef {
    static CACHE: OnceLock<Vec<SchemaRef>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        LogType::ALL
            .iter()
            .map(|t| {
                let mut fields: Vec<Field> = columns(*t)
                    .iter()
                    .map(|c| Field::new(&c.name, c.kind.data_type(), c.zeek != "ts"))
                    .collect();
                fields.push(Field::new(EXTRA_COLUMN, extra_type(), true));
                fields.push(Field::new(SOURCE_COLUMN, DataType::Utf8, false));
                fields.push(Field::new(LINE_COLUMN, DataType::UInt64, false));
                fields.push(Field::new(KEY_COLUMN, DataType::UInt64, false));
                Arc::new(Schema::new(fields))
            })
            .collect()
    });
    let index = LogType::ALL.iter().position(|t| *t == log_type).expect("every type is in ALL");
    all[index].clone()
}

use ColumnKind::*;

const CONN: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("uid", Str),
    ("id.orig_h", Addr),
    ("id.orig_p", Port),
    ("id.resp_h", Addr),
    ("id.resp_p", Port),
    ("proto", Str),
    ("service", Str),
    ("duration", Interval),
    ("orig_bytes", Count),
    ("resp_bytes", Count),
    ("conn_state", Str),
    ("local_orig", Bool),
    ("local_resp", Bool),
    ("missed_bytes", Count),
    ("history", Str),
    ("orig_pkts", Count),
    ("orig_ip_bytes", Count),
    ("resp_pkts", Count),
    ("resp_ip_bytes", Count),
    ("tunnel_parents", StrList),
    ("community_id", Str),
    ("orig_l2_addr", Str),
    ("resp_l2_addr", Str),
    ("vlan", Int),
    ("inner_vlan", Int),
];

const DNS: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("uid", Str),
    ("id.orig_h", Addr),
    ("id.orig_p", Port),
    ("id.resp_h", Addr),
    ("id.resp_p", Port),
    ("proto", Str),
    ("trans_id", Count),
    ("rtt", Interval),
    ("query", Str),
    ("qclass", Count),
    ("qclass_name", Str),
    ("qtype", Count),
    ("qtype_name", Str),
    ("rcode", Count),
    ("rcode_name", Str),
    ("AA", Bool),
    ("TC", Bool),
    ("RD", Bool),
    ("RA", Bool),
    ("Z", Count),
    ("answers", StrList),
    ("TTLs", IntervalList),
    ("rejected", Bool),
    ("community_id", Str),
];

const HTTP: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("uid", Str),
    ("id.orig_h", Addr),
    ("id.orig_p", Port),
    ("id.resp_h", Addr),
    ("id.resp_p", Port),
    ("trans_depth", Count),
    ("method", Str),
    ("host", Str),
    ("uri", Str),
    ("referrer", Str),
    ("version", Str),
    ("user_agent", Str),
    ("origin", Str),
    ("request_body_len", Count),
    ("response_body_len", Count),
    ("status_code", Count),
    ("status_msg", Str),
    ("info_code", Count),
    ("info_msg", Str),
    ("tags", StrList),
    ("username", Str),
    ("password", Str),
    ("proxied", StrList),
    ("orig_fuids", StrList),
    ("orig_filenames", StrList),
    ("orig_mime_types", StrList),
    ("resp_fuids", StrList),
    ("resp_filenames", StrList),
    ("resp_mime_types", StrList),
    ("server", Str),
    ("community_id", Str),
];

const SSL: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("uid", Str),
    ("id.orig_h", Addr),
    ("id.orig_p", Port),
    ("id.resp_h", Addr),
    ("id.resp_p", Port),
    ("version", Str),
    ("cipher", Str),
    ("curve", Str),
    ("server_name", Str),
    ("resumed", Bool),
    ("last_alert", Str),
    ("next_protocol", Str),
    ("established", Bool),
    ("ssl_history", Str),
    ("cert_chain_fps", StrList),
    ("client_cert_chain_fps", StrList),
    ("cert_chain_fuids", StrList),
    ("client_cert_chain_fuids", StrList),
    ("subject", Str),
    ("issuer", Str),
    ("client_subject", Str),
    ("client_issuer", Str),
    ("sni_matches_cert", Bool),
    ("validation_status", Str),
    ("ja3", Str),
    ("ja3s", Str),
    ("ja4", Str),
    ("ja4s", Str),
    ("community_id", Str),
];

const X509: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("fingerprint", Str),
    ("id", Str),
    ("certificate.version", Count),
    ("certificate.serial", Str),
    ("certificate.subject", Str),
    ("certificate.issuer", Str),
    ("certificate.not_valid_before", Time),
    ("certificate.not_valid_after", Time),
    ("certificate.key_alg", Str),
    ("certificate.sig_alg", Str),
    ("certificate.key_type", Str),
    ("certificate.key_length", Count),
    ("certificate.exponent", Str),
    ("certificate.curve", Str),
    ("san.dns", StrList),
    ("san.uri", StrList),
    ("san.email", StrList),
    ("san.ip", AddrList),
    ("basic_constraints.ca", Bool),
    ("basic_constraints.path_len", Count),
    ("host_cert", Bool),
    ("client_cert", Bool),
];

/// The Sigma webserver taxonomy's fields (`c-ip`, `cs-uri-stem` …; columns `c_ip`, `cs_uri_stem`).
const WEB: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("c-ip", Addr),
    ("cs-username", Str),
    ("cs-method", Str),
    ("cs-uri-stem", Str),
    ("cs-uri-query", Str),
    ("cs-version", Str),
    ("sc-status", Count),
    ("sc-bytes", Count),
    ("cs-bytes", Count),
    ("time-taken", Interval),
    ("cs-host", Str),
    ("s-ip", Addr),
    ("s-port", Port),
    ("cs-referer", Str),
    ("cs-user-agent", Str),
    ("log_format", Str),
    ("raw", Str),
];

const FILES: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("fuid", Str),
    ("uid", Str),
    ("id.orig_h", Addr),
    ("id.orig_p", Port),
    ("id.resp_h", Addr),
    ("id.resp_p", Port),
    ("tx_hosts", AddrList),
    ("rx_hosts", AddrList),
    ("conn_uids", StrList),
    ("source", Str),
    ("depth", Count),
    ("analyzers", StrList),
    ("mime_type", Str),
    ("filename", Str),
    ("duration", Interval),
    ("local_orig", Bool),
    ("is_orig", Bool),
    ("seen_bytes", Count),
    ("total_bytes", Count),
    ("missing_bytes", Count),
    ("overflow_bytes", Count),
    ("timedout", Bool),
    ("parent_fuid", Str),
    ("md5", Str),
    ("sha1", Str),
    ("sha256", Str),
    ("extracted", Str),
    ("extracted_cutoff", Bool),
    ("extracted_size", Count),
];

/// Zeek's dhcp.log: Zeek 3 and later log one record per exchange; Zeek 2 logged each
/// acknowledgement with its connection and `assigned_ip` (kept as its own column; queries take
/// whichever is present).
const DHCP: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("uids", StrList),
    ("client_addr", Addr),
    ("server_addr", Addr),
    ("client_port", Port),
    ("server_port", Port),
    ("mac", Str),
    ("host_name", Str),
    ("client_fqdn", Str),
    ("domain", Str),
    ("requested_addr", Addr),
    ("assigned_addr", Addr),
    ("lease_time", Interval),
    ("client_message", Str),
    ("server_message", Str),
    ("msg_types", StrList),
    ("duration", Interval),
    ("uid", Str),
    ("id.orig_h", Addr),
    ("id.orig_p", Port),
    ("id.resp_h", Addr),
    ("id.resp_p", Port),
    ("assigned_ip", Addr),
    ("trans_id", Count),
];

/// Zeek's ssh.log, with the fields the HASSH package (salesforce/hassh) adds: `hassh` is the MD5
/// of the client's offered key-exchange, cipher, MAC and compression lists, which tells one SSH
/// implementation from another whatever banner it sends.
const SSH: &[(&str, ColumnKind)] = &[
    ("ts", Time),
    ("uid", Str),
    ("id.orig_h", Addr),
    ("id.orig_p", Port),
    ("id.resp_h", Addr),
    ("id.resp_p", Port),
    ("version", Count),
    ("auth_success", Bool),
    ("auth_attempts", Count),
    ("direction", Str),
    ("client", Str),
    ("server", Str),
    ("cipher_alg", Str),
    ("mac_alg", Str),
    ("compression_alg", Str),
    ("kex_alg", Str),
    ("host_key_alg", Str),
    ("host_key", Str),
    ("hasshVersion", Str),
    ("hassh", Str),
    ("hasshAlgorithms", Str),
    ("hasshServer", Str),
    ("hasshServerAlgorithms", Str),
    ("cshka", Str),
    ("sshka", Str),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_sql_friendly_and_unique() {
        for t in LogType::ALL {
            let s = schema(t);
            let mut names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
            for n in &names {
                assert!(
                    n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{t}: {n}"
                );
            }
            let len = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), len, "{t} has duplicate columns");
        }
        assert_eq!(column_name("id.resp_h"), "dst");
        assert_eq!(column_name("certificate.not_valid_after"), "certificate_not_valid_after");
        assert_eq!(column_name("TTLs"), "ttls");
        assert_eq!(column_name("cs-uri-stem"), "cs_uri_stem");
        assert_eq!(column_name("hasshServer"), "hassh_server");
    }

    #[test]
    fn open_variants_share_their_base_schema() {
        assert_eq!(schema(LogType::Conn), schema(LogType::OpenConn));
        assert_eq!(LogType::from_path("open_ssl"), Some(LogType::OpenSsl));
        assert_eq!(LogType::from_path("weird"), None);
    }

    #[test]
    fn identity_fields_exist_in_their_schema() {
        for t in LogType::ALL {
            for f in t.identity_fields() {
                assert!(columns(t).iter().any(|c| c.zeek == *f), "{t}: {f}");
            }
        }
    }
}
