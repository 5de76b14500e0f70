//! HDR buckets → exponential buckets (Prometheus native histograms, OTLP
//! exponential histograms), and the classic `le` buckets of the fallback.
//!
//! The conversion is exact in this sense: every count of every HDR bucket
//! goes, whole, to the exponential bucket that holds that HDR bucket's
//! highest equivalent value — the value Rigor's report prints for a
//! percentile that falls in it. Counts are never split or interpolated, so
//! the total is the report's count, and any quantile a server computes from
//! the exponential buckets lies in the bucket that holds the report's value
//! for it (one bucket further at most, where the two round the rank to a
//! count differently): within a factor of `2^(2^-SCHEMA)` per bucket,
//! 0.27 % at schema 8.

use std::collections::BTreeMap;

/// The resolution: Prometheus' finest schema. Bucket `i` covers
/// `(2^((i-1)/256), 2^(i/256)]` in the base unit (seconds, bytes).
pub const SCHEMA: i32 = 8;

/// The growth factor of one bucket at [`SCHEMA`]: `2^(2^-SCHEMA)`.
pub fn bucket_factor() -> f64 {
    2f64.powf(2f64.powi(-SCHEMA))
}

/// Exponential buckets of one distribution, Prometheus' indexing: bucket
/// `i` is `(base^(i-1), base^i]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpBuckets {
    /// Bucket index → count; only non-empty buckets.
    pub counts: BTreeMap<i32, u64>,
    /// Values ≤ 0 (none from HDR, whose lowest value is 1).
    pub zero_count: u64,
}

/// The upper bound of bucket `index` at `schema`.
pub fn upper_bound(index: i32, schema: i32) -> f64 {
    2f64.powf(f64::from(index) * 2f64.powi(-schema))
}

/// The index of the bucket holding `value` (> 0) at `schema`.
pub fn bucket_index(value: f64, schema: i32) -> i32 {
    let scale = 2f64.powi(schema);
    let mut index = (value.log2() * scale).ceil() as i32;
    // `log2` may be an ulp off at a boundary: settle on the exact bucket.
    while upper_bound(index - 1, schema) >= value {
        index -= 1;
    }
    while upper_bound(index, schema) < value {
        index += 1;
    }
    index
}

impl ExpBuckets {
    /// From HDR `(highest equivalent value, count)` buckets in the stored
    /// unit, scaled by `factor` to the base unit.
    pub fn from_hdr(buckets: &[(u64, u64)], factor: f64) -> Self {
        let mut out = Self::default();
        for &(value, count) in buckets {
            let v = value as f64 * factor;
            if v <= 0.0 {
                out.zero_count += count;
                continue;
            }
            *out.counts.entry(bucket_index(v, SCHEMA)).or_default() += count;
        }
        out
    }

    pub fn count(&self) -> u64 {
        self.zero_count + self.counts.values().sum::<u64>()
    }

    /// Prometheus' sparse form: spans `(offset, length)` and the counts as
    /// deltas from the previous bucket. The first span's offset is the first
    /// index; each next one's is the gap after the previous span.
    pub fn spans_and_deltas(&self) -> (Vec<(i32, u32)>, Vec<i64>) {
        let mut spans: Vec<(i32, u32)> = Vec::new();
        let mut deltas = Vec::with_capacity(self.counts.len());
        let mut previous_index: Option<i32> = None;
        let mut previous_count = 0i64;
        for (&index, &count) in &self.counts {
            match previous_index {
                Some(p) if index == p + 1 => {
                    if let Some(last) = spans.last_mut() {
                        last.1 += 1;
                    }
                }
                Some(p) => spans.push((index - p - 1, 1)),
                None => spans.push((index, 1)),
            }
            let count = count as i64;
            deltas.push(count - previous_count);
            previous_count = count;
            previous_index = Some(index);
        }
        (spans, deltas)
    }

    /// OTLP's dense form: the offset (OTLP's index of the first bucket; OTLP
    /// bucket `k` is `(base^k, base^(k+1)]`, Prometheus' `k+1`) and every
    /// count from there to the last non-empty bucket.
    pub fn dense(&self) -> (i32, Vec<u64>) {
        let (Some((&first, _)), Some((&last, _))) =
            (self.counts.first_key_value(), self.counts.last_key_value())
        else {
            return (0, Vec::new());
        };
        let mut dense = vec![0u64; (last - first + 1) as usize];
        for (&index, &count) in &self.counts {
            dense[(index - first) as usize] = count;
        }
        (first - 1, dense)
    }
}

/// Classic bucket bounds (`le`) in the base unit: 1-2-5 per decade over
/// the range a metric of that unit lives in, then `+Inf`.
pub fn classic_bounds(unit: crate::metrics::Unit) -> Vec<f64> {
    use crate::metrics::Unit;
    // (lowest decade exponent, highest decade exponent)
    let (lo, hi) = match unit {
        // 1 µs … 50 s
        Unit::Nanoseconds => (-6, 1),
        // 1 B … 5 GB
        Unit::Bytes => (0, 9),
        Unit::Ratio => (-4, -1),
        _ => (0, 8),
    };
    let mut bounds = Vec::new();
    for e in lo..=hi {
        for m in [1.0, 2.0, 5.0] {
            // Computed as m × 10^e from text so the `le` labels print cleanly.
            let b: f64 = format!("{m}e{e}").parse().expect("a valid float literal");
            bounds.push(b);
        }
    }
    if unit == crate::metrics::Unit::Ratio {
        bounds.push(1.0);
    }
    bounds.push(f64::INFINITY);
    bounds
}

/// Cumulative counts at each of `bounds` (values ≤ bound), from HDR
/// buckets scaled by `factor`.
pub fn classic_counts(buckets: &[(u64, u64)], factor: f64, bounds: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; bounds.len()];
    for &(value, count) in buckets {
        let v = value as f64 * factor;
        if let Some(i) = bounds.iter().position(|&b| v <= b) {
            counts[i] += count;
        }
    }
    let mut total = 0;
    for c in &mut counts {
        total += *c;
        *c = total;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Distribution;

    #[test]
    fn bucket_index_matches_the_bounds() {
        for &v in &[1e-9, 3.3e-7, 1.0, 2.0, 0.5, 1234.5, 7.77e-4] {
            let i = bucket_index(v, SCHEMA);
            assert!(
                upper_bound(i - 1, SCHEMA) < v && v <= upper_bound(i, SCHEMA),
                "{v}"
            );
        }
        // Powers of two are upper bounds: 1 is bucket 0, 2 is bucket 256.
        assert_eq!(bucket_index(1.0, SCHEMA), 0);
        assert_eq!(bucket_index(2.0, SCHEMA), 256);
        assert_eq!(bucket_index(0.5, SCHEMA), -256);
        assert!((bucket_factor() - 1.002_711).abs() < 1e-6);
    }

    #[test]
    fn counts_are_kept_whole_and_quantiles_stay_in_the_reports_bucket() {
        let mut d = Distribution::new();
        let mut x = 12_345u64;
        for _ in 0..100_000 {
            // A spread over four decades of nanoseconds.
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            d.record(1_000 + (x >> 33) % 10_000_000);
        }
        let exp = ExpBuckets::from_hdr(&d.buckets(), 1e-9);
        assert_eq!(exp.count(), 100_000);
        for q in [0.5, 0.9, 0.99, 0.999] {
            let report = d.value_at_quantile(q) as f64 * 1e-9;
            // The bucket the rank falls in, as a server would find it.
            let rank = (q * 100_000.0).ceil() as u64;
            let mut seen = 0;
            let index = exp
                .counts
                .iter()
                .find(|(_, c)| {
                    seen += **c;
                    seen >= rank
                })
                .map(|(i, _)| *i)
                .unwrap();
            let report_index = bucket_index(report, SCHEMA);
            assert!(
                (index - report_index).abs() <= 1,
                "q={q}: {index} vs {report_index}"
            );
        }
    }

    #[test]
    fn sparse_and_dense_forms_agree() {
        let mut exp = ExpBuckets::default();
        exp.counts
            .extend([(-3, 2u64), (-2, 5), (4, 1), (5, 1), (9, 7)]);
        let (spans, deltas) = exp.spans_and_deltas();
        assert_eq!(spans, [(-3, 2), (5, 2), (3, 1)]);
        assert_eq!(deltas, [2, 3, -4, 0, 6]);
        let (offset, dense) = exp.dense();
        assert_eq!(offset, -4);
        assert_eq!(dense, [2, 5, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 7]);
    }

    #[test]
    fn classic_counts_are_cumulative_and_end_with_the_total() {
        let bounds = classic_bounds(crate::metrics::Unit::Nanoseconds);
        assert_eq!(bounds[0], 1e-6);
        assert_eq!(*bounds.last().unwrap(), f64::INFINITY);
        let counts = classic_counts(&[(1_500, 2), (3_000_000, 3), (u64::MAX, 1)], 1e-9, &bounds);
        assert_eq!(counts[bounds.iter().position(|&b| b == 2e-6).unwrap()], 2);
        assert_eq!(counts[bounds.iter().position(|&b| b == 5e-3).unwrap()], 5);
        assert_eq!(*counts.last().unwrap(), 6);
    }
}
