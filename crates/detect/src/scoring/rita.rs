//! RITA v5's beacon score, reproduced faithfully (`--scorer rita`), so that users moving from
//! RITA can compare and so that lasthop's tests can show what RITA would score.
//!
//! Ported from `analysis/beacons.go` of activecm/rita v5 (GPL-3.0; the arithmetic only, no code
//! copied): four subscores weighted 0.25 each —
//!
//! - **timestamp**: Bowley skew and median absolute deviation of the non-zero gaps between
//!   whole-second connection times: `round3(((1 − |skew|) + (median − MAD)/median) / 2)`;
//! - **data size**: the same over `orig_ip_bytes` of every connection (MAD part 0 when the median
//!   is under one byte);
//! - **histogram**: 24 equal bins over the 24-hour window; the better of `1 − CV` of the bin
//!   counts and a bimodal fit of the bar heights (at least 11 bars);
//! - **duration**: with at least 6 bars, the better of the share of the window spanned and the
//!   longest circular run of bars over 12.
//!
//! RITA's quirks are kept on purpose: quartiles are medians of the lower and upper halves (the
//! middle value excluded when the count is odd), skew is 0 when the quartile range is under 10,
//! rounding is half away from zero to three decimals except coverage and consistency, which
//! round up. The window is the last 24 hours of the data: `max` is the latest connection,
//! `min = max(first, max − 86400)`, and contacts are taken from the start of `min`'s hour.

/// RITA's `unique_connection_threshold`.
pub const MIN_DISTINCT_SECONDS: usize = 4;
/// Connections in the window at which RITA calls a pair a strobe and stops scoring it.
pub const STROBE_CONNECTIONS: u64 = 86_400;

const BINS: usize = 24;
const MODE_SENSITIVITY: f64 = 0.05;
const BIMODAL_OUTLIER_REMOVAL: usize = 1;
const BIMODAL_MIN_BARS: usize = 11;
const DURATION_MIN_BARS: usize = 6;
const IDEAL_CONSISTENT_BARS: f64 = 12.0;

/// RITA's subscores and score for one pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RitaScore {
    pub score: f64,
    pub timestamp: f64,
    pub data_size: f64,
    pub histogram: f64,
    pub duration: f64,
}

impl RitaScore {
    /// RITA's bucketed beacon threat score (0, or 0.2–0.8) with its default thresholds
    /// 50/75/90/100, which its severities are cut from (> 0.6 high, > 0.4 medium, > 0.2 low).
    pub fn threat(&self) -> f64 {
        let value = (self.score as f32 * 100.0) as f64;
        let (base, low, medium, high) = (50.0, 75.0, 90.0, 100.0);
        if value < base {
            0.0
        } else if value < low {
            (20.0 + (value - base) / (low - base) * 20.0) / 100.0
        } else if value < medium {
            (40.0 + (value - low) / (medium - low) * 20.0) / 100.0
        } else {
            (60.0 + (value.min(high) - medium) / (high - medium) * 20.0) / 100.0
        }
    }
}

/// RITA's 24-hour window over data that ends at `last_second`, given the data's first second.
pub fn window(first_second: i64, last_second: i64) -> (i64, i64) {
    (first_second.max(last_second - 86_400), last_second)
}

/// The first second RITA reads contacts from: the start of the window's first hour.
pub fn window_read_start(window: (i64, i64)) -> i64 {
    window.0.div_euclid(3600) * 3600
}

/// Scores whole-second connection times (any order, duplicates kept) and `orig_ip_bytes` per
/// connection over RITA's `window` (seconds). `None` where RITA would not score the pair: fewer
/// than [`MIN_DISTINCT_SECONDS`], a strobe, or too few non-zero gaps.
pub fn score(seconds: &[i64], ip_bytes: &[u64], window: (i64, i64)) -> Option<RitaScore> {
    let mut ts = seconds.to_vec();
    ts.sort_unstable();
    let mut distinct = ts.clone();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_SECONDS || ts.len() as u64 >= STROBE_CONNECTIONS {
        return None;
    }
    if window.1 <= window.0 {
        return None;
    }
    let timestamp = timestamp_score(&ts)?;
    let data_size = data_size_score(ip_bytes)?;
    let bars = histogram(window, &ts);
    let histogram = histogram_score(&bars);
    let duration = duration_score(window, &ts, &bars);
    let score = round3(0.25 * timestamp + 0.25 * data_size + 0.25 * duration + 0.25 * histogram);
    Some(RitaScore { score, timestamp, data_size, histogram, duration })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn ceil3(x: f64) -> f64 {
    (x * 1000.0).ceil() / 1000.0
}

/// Median of a sorted slice (mean of the middle two when even).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n.is_multiple_of(2) { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 } else { sorted[n / 2] }
}

/// Quartiles as medians of the halves, the middle value excluded when the count is odd.
fn quartiles(sorted: &[f64]) -> (f64, f64, f64) {
    let n = sorted.len();
    let (lower_end, upper_start) =
        if n.is_multiple_of(2) { (n / 2, n / 2) } else { ((n - 1) / 2, n.div_ceil(2)) };
    (median(&sorted[..lower_end]), median(sorted), median(&sorted[upper_start..]))
}

/// RITA's `calculateStatisticalScore` over a sorted sample of at least three values.
fn statistical_score(sorted: &[f64], default_mad_score: f64) -> f64 {
    let (q1, q2, q3) = quartiles(sorted);
    let range = q3 - q1;
    let skew =
        if range >= 10.0 && q2 != q1 && q2 != q3 { (q1 + q3 - 2.0 * q2) / range } else { 0.0 };
    let mut deviations: Vec<f64> = sorted.iter().map(|v| (v - q2).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = median(&deviations);
    let mut mad_score = if q2 >= 1.0 { (q2 - mad) / q2 } else { default_mad_score };
    if mad_score.is_nan() || mad_score < 0.0 {
        mad_score = 0.0;
    }
    round3(((1.0 - skew.abs()) + mad_score) / 2.0)
}

fn timestamp_score(sorted_seconds: &[i64]) -> Option<f64> {
    let mut gaps: Vec<f64> =
        sorted_seconds.windows(2).map(|w| (w[1] - w[0]) as f64).filter(|g| *g > 0.0).collect();
    if gaps.len() < 3 {
        return None;
    }
    gaps.sort_by(f64::total_cmp);
    Some(statistical_score(&gaps, 1.0))
}

fn data_size_score(bytes: &[u64]) -> Option<f64> {
    if bytes.len() < 3 {
        return None;
    }
    let mut values: Vec<f64> = bytes.iter().map(|b| *b as f64).collect();
    values.sort_by(f64::total_cmp);
    Some(statistical_score(&values, 0.0))
}

/// Connection counts in 24 equal bins over the window; earlier contacts (read from the start of
/// the hour) fall in the first bin, the last edge in the last.
fn histogram(window: (i64, i64), sorted_seconds: &[i64]) -> [u64; BINS] {
    let (start, end) = (window.0 as f64, window.1 as f64);
    let step = (end - start) / BINS as f64;
    let mut bars = [0u64; BINS];
    for t in sorted_seconds {
        let i = ((*t as f64 - start) / step).floor();
        let i = if i < 0.0 { 0 } else { (i as usize).min(BINS - 1) };
        bars[i] += 1;
    }
    bars
}

fn histogram_score(bars: &[u64; BINS]) -> f64 {
    let total: u64 = bars.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let mean = total as f64 / BINS as f64;
    let sd = (bars.iter().map(|b| (*b as f64 - mean).powi(2)).sum::<f64>() / BINS as f64).sqrt();
    let cv = sd / mean;
    let cv_score = if cv > 1.0 { 0.0 } else { round3(1.0 - cv).min(1.0) };
    cv_score.max(bimodal_score(bars))
}

/// Share of bars in the two most common (bucketed) bar heights: a beacon whose rate switches
/// between two levels still fits.
fn bimodal_score(bars: &[u64; BINS]) -> f64 {
    let used: Vec<u64> = bars.iter().copied().filter(|b| *b > 0).collect();
    if used.len() < BIMODAL_MIN_BARS {
        return 0.0;
    }
    let tallest = *used.iter().max().expect("bars are non-empty");
    let width = ((tallest as f64 * MODE_SENSITIVITY).ceil() as u64).max(1);
    let mut buckets = std::collections::BTreeMap::<u64, usize>::new();
    for b in &used {
        *buckets.entry(b / width * width).or_default() += 1;
    }
    let mut counts: Vec<usize> = buckets.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top_two = counts.iter().take(2).sum::<usize>() as f64;
    let denominator = (used.len().saturating_sub(BIMODAL_OUTLIER_REMOVAL)).max(1) as f64;
    round3(top_two / denominator).min(1.0)
}

fn duration_score(window: (i64, i64), sorted_seconds: &[i64], bars: &[u64; BINS]) -> f64 {
    let used = bars.iter().filter(|b| **b > 0).count();
    if used < DURATION_MIN_BARS {
        return 0.0;
    }
    let (first, last) = (sorted_seconds[0], sorted_seconds[sorted_seconds.len() - 1]);
    let coverage = ceil3((last - first) as f64 / (window.1 - window.0) as f64).min(1.0);
    let consistency = ceil3(longest_circular_run(bars) as f64 / IDEAL_CONSISTENT_BARS).min(1.0);
    coverage.max(consistency)
}

fn longest_circular_run(bars: &[u64; BINS]) -> usize {
    let (mut longest, mut current) = (0, 0);
    for i in 0..2 * BINS {
        if bars[i % BINS] > 0 {
            current += 1;
        } else {
            longest = longest.max(current);
            current = 0;
        }
    }
    longest.max(current).min(BINS)
}

#[cfg(test)]
mod tests {
    //! Expected values are those of RITA's own unit tests (`analysis/beacons_test.go`).
    use super::*;

    fn sorted(values: &[f64]) -> Vec<f64> {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn timestamp_scores_match_rita() {
        let clock: Vec<i64> = (0..10).map(|k| 1_517_338_924 + 60 * k).collect();
        assert_eq!(timestamp_score(&clock), Some(1.0));
        let mut t = 0;
        let mut near: Vec<i64> = vec![0];
        for d in [98, 99, 99, 100, 100, 100, 101, 101, 102] {
            t += d;
            near.push(t);
        }
        assert_eq!(timestamp_score(&near), Some(0.995));
        let mut t = 0;
        let mut alternating = vec![0];
        for k in 0..10 {
            t += if k % 2 == 0 { 98 } else { 300 };
            alternating.push(t);
        }
        assert_eq!(timestamp_score(&alternating), Some(0.746));
        let random = [
            1517338924, 1517338925, 1517339224, 1517339249, 1517344224, 1517344314, 1517344316,
            1517344358, 1517344858, 1517346358,
        ];
        assert_eq!(timestamp_score(&random), Some(0.083));
        // All gaps zero, or too few: RITA does not score.
        assert_eq!(timestamp_score(&[60; 9]), None);
        assert_eq!(timestamp_score(&[1, 2]), None);
    }

    #[test]
    fn data_size_scores_match_rita() {
        let one_to_ten: Vec<u64> = (1..=10).collect();
        assert_eq!(data_size_score(&one_to_ten), Some(0.773));
        assert_eq!(data_size_score(&[60; 9]), Some(1.0));
        assert_eq!(data_size_score(&[98, 99, 99, 100, 100, 100, 101, 101, 102]), Some(0.995));
        let random = [524885, 1, 5000, 98654, 50, 41, 965842, 3];
        assert!((data_size_score(&random).unwrap() - 0.009).abs() <= 0.001);
        assert_eq!(data_size_score(&[0; 10]), Some(0.5));
        assert_eq!(statistical_score(&sorted(&[7., 8., 7., 8., 7., 8., 7., 8., 7.]), 0.0), 1.0);
        assert_eq!(statistical_score(&sorted(&[1., 1., 2., 2., 2., 2.]), 0.0), 1.0);
    }

    #[test]
    fn histogram_scores_match_rita() {
        let day = (1_517_338_924, 1_517_338_924 + 86_400);
        let hourly: Vec<i64> = (0..24).map(|h| day.0 + 3600 * h + 10).collect();
        assert_eq!(histogram_score(&histogram(day, &hourly)), 1.0);
        // Bimodal: 4, 1, 4, 1 … per hour.
        let mut bimodal = Vec::new();
        for h in 0..24 {
            for k in 0..if h % 2 == 0 { 4 } else { 1 } {
                bimodal.push(day.0 + 3600 * h + 60 * k);
            }
        }
        assert_eq!(bimodal_score(&histogram(day, &bimodal)), 1.0);
        // Ten connections within ten minutes.
        let burst: Vec<i64> = (0..10).map(|k| day.0 + 60 * k).collect();
        assert_eq!(histogram_score(&histogram(day, &burst)), 0.0);
    }

    #[test]
    fn cv_scores_match_rita() {
        let score = |heights: &[u64]| {
            let mut bars = [0u64; BINS];
            bars[..heights.len()].copy_from_slice(heights);
            // RITA's CV tests use as many bins as values: compute over those only.
            let n = heights.len() as f64;
            let mean = heights.iter().sum::<u64>() as f64 / n;
            let sd = (heights.iter().map(|b| (*b as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            let cv = sd / mean;
            if cv > 1.0 { 0.0 } else { round3(1.0 - cv) }
        };
        assert_eq!(score(&[1; 10]), 1.0);
        assert_eq!(score(&(1000..1010).collect::<Vec<_>>()), 0.997);
    }

    #[test]
    fn duration_scores_match_rita() {
        let window = (1_517_338_924, 1_517_338_924 + 86_400);
        let spread = |hours: i64| -> Vec<i64> {
            (0..=hours).map(|h| window.0 + h * 3600).collect::<Vec<_>>()
        };
        let full = spread(24);
        assert_eq!(duration_score(window, &full, &histogram(window, &full)), 1.0);
        // Six hours, six bars: coverage 0.25, consistency 0.5.
        let six: Vec<i64> = (0..6).map(|h| window.0 + h * 3600 + 1800).collect();
        let six_bars = histogram(window, &six);
        assert_eq!(longest_circular_run(&six_bars), 6);
        assert_eq!(duration_score(window, &six, &six_bars), 0.5);
        let three = spread(2);
        assert_eq!(duration_score(window, &three, &histogram(window, &three)), 0.0);
    }

    #[test]
    fn wrap_around_runs_count() {
        let mut bars = [0u64; BINS];
        bars[0] = 1;
        bars[1] = 1;
        bars[22] = 1;
        bars[23] = 1;
        assert_eq!(longest_circular_run(&bars), 4);
    }

    #[test]
    fn threat_buckets_match_rita_integration_results() {
        let threat = |score| {
            RitaScore { score, timestamp: 0., data_size: 0., histogram: 0., duration: 0. }.threat()
        };
        // proxy_rolling: 0.673 → 0.33839 before RITA's prevalence modifier.
        assert!((threat(0.673) - 0.33839).abs() < 1e-4);
        assert!((threat(0.624) - 0.2992).abs() < 1e-4);
        // missing_host: 0.963 → 0.726.
        assert!((threat(0.963) - 0.726).abs() < 1e-4);
        assert_eq!(threat(0.49), 0.0);
    }

    #[test]
    fn strobes_and_sparse_pairs_are_not_scored() {
        let window = (0, 86_400);
        assert!(score(&[1, 2, 3], &[1, 1, 1], window).is_none());
        let strobe: Vec<i64> = (0..86_400).collect();
        assert!(score(&strobe, &vec![60; 86_400], window).is_none());
    }

    #[test]
    fn a_clock_over_the_day_scores_one() {
        let window = (0, 86_400);
        let clock: Vec<i64> = (0..288).map(|k| k * 300).collect();
        let s = score(&clock, &vec![300; 288], window).unwrap();
        assert_eq!(
            (s.score, s.timestamp, s.data_size, s.histogram, s.duration),
            (1.0, 1.0, 1.0, 1.0, 1.0)
        );
    }
}
