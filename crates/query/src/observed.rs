//! What internal hosts present to the network, as the store saw it: the certificates they
//! serve (ssl and x509 logs) and their HTTP `Server` header (where the deployment logs it).
//! `lasthop audit --store` identifies edge devices from these, without a scan.

use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use crate::rows::{Rows, rows};

/// One internal service and what it presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub address: String,
    pub port: u16,
    pub certificate_subject: Option<String>,
    pub http_server: Option<String>,
    /// Sessions or requests seen.
    pub seen: u64,
}

/// Internal addresses and what they presented, most-seen first.
pub async fn internal_services(ctx: &SessionContext) -> Result<Vec<Presented>> {
    // ssl.log links a session to its certificates by fingerprint (Zeek 4+) or file id (older).
    let certificates = "
        SELECT ip_text(s.dst) AS addr, CAST(s.dst_port AS BIGINT) AS port,
               x.certificate_subject AS subject, CAST(NULL AS VARCHAR) AS server,
               CAST(count(*) AS BIGINT) AS seen
        FROM ssl s JOIN x509 x ON x.fingerprint = s.cert_chain_fps[1]
        WHERE is_internal(s.dst) AND x.certificate_subject IS NOT NULL
        GROUP BY 1, 2, 3
        UNION ALL
        SELECT ip_text(s.dst), CAST(s.dst_port AS BIGINT), x.certificate_subject,
               CAST(NULL AS VARCHAR), CAST(count(*) AS BIGINT)
        FROM ssl s JOIN x509 x ON x.id = s.cert_chain_fuids[1]
        WHERE is_internal(s.dst) AND x.certificate_subject IS NOT NULL
        GROUP BY 1, 2, 3";
    let mut out: Vec<Presented> = Vec::new();
    let mut read = |found: Rows| -> Result<()> {
        for r in found.iter() {
            let text = |k: &str| -> Result<Option<String>> {
                Ok(r.str(k)?.filter(|s| !s.is_empty()).map(String::from))
            };
            let Some(address) = text("addr")? else { continue };
            out.push(Presented {
                address,
                port: r.u64("port")?.unwrap_or(0) as u16,
                certificate_subject: text("subject")?,
                http_server: text("server")?,
                seen: r.u64("seen")?.unwrap_or(0),
            });
        }
        Ok(())
    };
    read(rows(ctx, "certificates internal hosts present", certificates).await?)?;
    let has_server = ctx
        .table("http")
        .await
        .map(|t| t.schema().fields().iter().any(|f| f.name() == "server"))
        .unwrap_or(false);
    if has_server {
        let servers = "
            SELECT ip_text(dst) AS addr, CAST(dst_port AS BIGINT) AS port,
                   CAST(NULL AS VARCHAR) AS subject, server, CAST(count(*) AS BIGINT) AS seen
            FROM http WHERE is_internal(dst) AND server IS NOT NULL AND server <> ''
            GROUP BY 1, 2, 4";
        read(rows(ctx, "server headers internal hosts send", servers).await?)?;
    }
    out.sort_by(|a, b| {
        b.seen.cmp(&a.seen).then(a.address.cmp(&b.address)).then(a.port.cmp(&b.port))
    });
    Ok(out)
}
