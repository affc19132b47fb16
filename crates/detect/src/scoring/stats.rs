//! Robust statistics over small samples, with the quantile definition stated, because two
//! engines that disagree on it disagree on every score built from it.

/// Quantile of a sorted sample by linear interpolation between closest ranks (Hyndman and Fan
/// type 7: the default of R, NumPy, DuckDB's `quantile_cont` and ClickHouse's
/// `quantileExactInclusive`). `q` in 0–1. An empty sample has no quantile.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let fraction = position - lower as f64;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * fraction)
}

/// Sorts a copy of `values` (NaN last) for [`quantile_sorted`].
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    // Unstable is as good: values equal under total_cmp have the same bits.
    v.sort_unstable_by(f64::total_cmp);
    v
}

pub fn median(values: &[f64]) -> Option<f64> {
    quantile_sorted(&sorted(values), 0.5)
}

/// The median of `|v - median|` over a sorted sample without NaN, the same value
/// `median(&deviations)` gives: the deviations left of the median and those right of it are each
/// already in order, so they are merged up to the middle instead of sorted a second time (the
/// second sort was most of a beacon analysis's statistics).
fn median_absolute_deviation(sorted: &[f64], median: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = 0.5 * (sorted.len() - 1) as f64;
    let (lower, upper) = (position.floor() as usize, position.ceil() as usize);
    let split = sorted.partition_point(|v| *v < median);
    let (mut left, mut right) = (split, split);
    let (mut at_lower, mut at_upper) = (0.0, 0.0);
    for rank in 0..=upper {
        let from_left = match (left.checked_sub(1), sorted.get(right)) {
            (Some(l), Some(r)) => (sorted[l] - median).abs() <= (r - median).abs(),
            (Some(_), None) => true,
            _ => false,
        };
        let deviation = if from_left {
            left -= 1;
            (sorted[left] - median).abs()
        } else {
            right += 1;
            (sorted[right - 1] - median).abs()
        };
        if rank == lower {
            at_lower = deviation;
        }
        at_upper = deviation;
    }
    Some(at_lower + (at_upper - at_lower) * (position - lower as f64))
}

/// A seeded xorshift generator for tests that want many varied samples, repeatably.
#[cfg(test)]
pub(crate) fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Quartiles and the dispersion measures built on them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    /// Median absolute deviation about the median (unscaled).
    pub mad: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        let s = sorted(values);
        let median = quantile_sorted(&s, 0.5)?;
        let mad = if s.first().is_some_and(|v| v.is_nan()) || s.last().is_some_and(|v| v.is_nan()) {
            let deviations: Vec<f64> = s.iter().map(|v| (v - median).abs()).collect();
            self::median(&deviations)?
        } else {
            median_absolute_deviation(&s, median)?
        };
        Some(Spread { q1: quantile_sorted(&s, 0.25)?, median, q3: quantile_sorted(&s, 0.75)?, mad })
    }

    /// Bowley's quartile skew, in −1–1; 0 for a symmetric sample and, by convention, for a
    /// sample whose quartiles coincide (every gap equal is the most regular case, not undefined).
    pub fn bowley_skew(&self) -> f64 {
        let range = self.q3 - self.q1;
        if range <= 0.0 || self.median == self.q1 || self.median == self.q3 {
            return 0.0;
        }
        (self.q3 + self.q1 - 2.0 * self.median) / range
    }
}

/// Coefficient of variation (population standard deviation over mean); 0 for an empty or
/// all-zero sample.
pub fn coefficient_of_variation(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean == 0.0 {
        return 0.0;
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    variance.sqrt() / mean
}

pub use lasthop_query::functions::text::shannon_entropy;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_deviations_give_the_median_a_second_sort_gives_bit_for_bit() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for case in 0..5_000 {
            let len = 1 + (next() % 40) as usize;
            // Small integers repeat (ties, a median equal to several values); wide floats do not.
            let values: Vec<f64> = (0..len)
                .map(|_| match case % 3 {
                    0 => (next() % 7) as f64,
                    1 => (next() % 1_000_000) as f64 / 997.0 - 300.0,
                    _ => {
                        f64::from_bits(next() >> 2)
                            * if next().is_multiple_of(2) { 1.0 } else { -1.0 }
                    }
                })
                .collect();
            let s = sorted(&values);
            let median = quantile_sorted(&s, 0.5).unwrap();
            let deviations: Vec<f64> = s.iter().map(|v| (v - median).abs()).collect();
            let expected = self::median(&deviations).unwrap();
            let got = median_absolute_deviation(&s, median).unwrap();
            assert_eq!(got.to_bits(), expected.to_bits(), "{values:?}");
        }
        assert_eq!(median_absolute_deviation(&[], 0.0), None);
    }

    #[test]
    fn type7_quantiles_match_numpy() {
        // numpy.quantile([1, 2, 4, 8, 16], [0.25, 0.5, 0.75]) == [2, 4, 8]
        let s = sorted(&[16.0, 1.0, 8.0, 2.0, 4.0]);
        assert_eq!(quantile_sorted(&s, 0.25), Some(2.0));
        assert_eq!(quantile_sorted(&s, 0.5), Some(4.0));
        // numpy.quantile([1, 2, 3, 4], 0.25) == 1.75
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.25), Some(1.75));
        assert_eq!(quantile_sorted(&[], 0.5), None);
        assert_eq!(quantile_sorted(&[7.0], 0.9), Some(7.0));
    }

    #[test]
    fn spread_of_equal_values_is_zero_and_unskewed() {
        let s = Spread::of(&[60.0; 10]).unwrap();
        assert_eq!((s.median, s.mad, s.bowley_skew()), (60.0, 0.0, 0.0));
    }

    #[test]
    fn bowley_skew_sign_follows_the_long_tail() {
        let right = Spread::of(&[1.0, 2.0, 3.0, 4.0, 50.0, 60.0, 70.0]).unwrap();
        assert!(right.bowley_skew() > 0.0, "{right:?}");
        let left = Spread::of(&[-70.0, -60.0, -50.0, -4.0, -3.0, -2.0, -1.0]).unwrap();
        assert!(left.bowley_skew() < 0.0);
        assert!((right.bowley_skew() + left.bowley_skew()).abs() < 1e-12);
    }

    #[test]
    fn mad_ignores_one_huge_outlier() {
        let s = Spread::of(&[10.0, 10.0, 11.0, 9.0, 10.0, 1e9]).unwrap();
        assert_eq!(s.median, 10.0);
        assert_eq!(s.mad, 0.0 + 0.5);
    }

    #[test]
    fn entropy_of_uniform_and_constant_strings() {
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-12);
        assert_eq!(shannon_entropy(""), 0.0);
    }

    #[test]
    fn coefficient_of_variation_basics() {
        assert_eq!(coefficient_of_variation(&[5.0, 5.0, 5.0]), 0.0);
        assert!((coefficient_of_variation(&[0.0, 10.0]) - 1.0).abs() < 1e-12);
        assert_eq!(coefficient_of_variation(&[]), 0.0);
    }
}
