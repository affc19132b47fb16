//! Per-pair gap statistics over the whole `conn` table.

use datafusion::common::Result;
use datafusion::prelude::SessionContext;
use lasthop_query::Query;

use super::stats::Spread;

/// Per address pair in `conn`: the number of gaps between consecutive connections and their
/// quartiles and median absolute deviation (seconds, type-7 quantiles). The statistic every
/// beacon scorer starts from; `lasthop bench-gap-stats` writes it so that other engines' results
/// can be checked against it.
pub async fn gap_statistics(
    ctx: &SessionContext,
    cap: usize,
) -> Result<Vec<(String, String, usize, Spread)>> {
    // Only what the statistics use: every column carried costs its share of the sort.
    let sql = "SELECT src AS k1, dst AS k2, ts FROM conn WHERE src IS NOT NULL AND dst IS NOT NULL";
    lasthop_query::series::scan(ctx, Query::new("gap statistics"), sql, cap, |s| {
        let gaps: Vec<f64> = s.ts.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e6).collect();
        let spread = Spread::of(&gaps)?;
        Some((
            lasthop_normalise::format_ip(&s.k1),
            lasthop_normalise::format_ip(&s.k2),
            gaps.len(),
            spread,
        ))
    })
    .await
}
