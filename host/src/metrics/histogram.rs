//! HDR histogram wrapper: the one place values are recorded, summarised,
//! serialised and merged.

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};

use super::Summary;

/// Significant digits kept by every histogram (0.1 % value resolution).
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency or size distribution. Values are clamped into `1..=u64::MAX`
/// by the auto-resizing HDR histogram, so no value is ever rejected.
#[derive(Debug, Clone)]
pub struct Distribution {
    hist: Histogram<u64>,
}

impl Default for Distribution {
    fn default() -> Self {
        Self::new()
    }
}

impl Distribution {
    /// The most host memory one distribution can hold: its counts array once
    /// auto-resizing has stretched it over every `u64` (1 ns to 2⁶⁴ ns) at
    /// [`SIGNIFICANT_DIGITS`], about 440 KiB. What a guest can make a histogram
    /// grow to is charged in full when it is created, so recording never needs a
    /// budget check. Computed once from HDR itself, so it cannot drift from the
    /// library's layout.
    pub fn max_bytes() -> u64 {
        static BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        *BYTES.get_or_init(|| {
            let widest = Histogram::<u64>::new_with_bounds(1, u64::MAX, SIGNIFICANT_DIGITS)
                .expect("1..=u64::MAX at 3 digits is a valid HDR setting");
            let counts = widest.distinct_values() * std::mem::size_of::<u64>();
            (counts + std::mem::size_of::<Histogram<u64>>()) as u64
        })
    }

    pub fn new() -> Self {
        let mut hist = Histogram::new(SIGNIFICANT_DIGITS)
            .expect("3 significant digits is a valid HDR setting");
        hist.auto(true);
        Self { hist }
    }

    /// Records one value; zero is recorded as 1 (HDR's lowest discernible value).
    #[inline]
    pub fn record(&mut self, value: u64) {
        // Auto-resize makes `record` infallible for any u64.
        let _ = self.hist.record(value.max(1));
    }

    /// Records `value` `count` times (a pipeline batch shares one latency).
    #[inline]
    pub fn record_n(&mut self, value: u64, count: u64) {
        let _ = self.hist.record_n(value.max(1), count);
    }

    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The mean of the recorded values (0 when empty), as the summary's.
    pub fn mean(&self) -> f64 {
        if self.hist.is_empty() {
            0.0
        } else {
            self.hist.mean()
        }
    }

    /// Value at `quantile` in `0.0..=1.0`.
    pub fn value_at_quantile(&self, quantile: f64) -> u64 {
        self.hist.value_at_quantile(quantile.clamp(0.0, 1.0))
    }

    pub fn summary(&self) -> Summary {
        if self.hist.is_empty() {
            return Summary::default();
        }
        let h = &self.hist;
        Summary {
            count: h.len(),
            min: h.min(),
            max: h.max(),
            mean: h.mean(),
            stdev: h.stdev(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
        }
    }

    /// Adds every value of `other`; lossless.
    pub fn merge(&mut self, other: &Distribution) {
        let _ = self.hist.add(&other.hist);
    }

    /// `HISTFAAA…`: HDR V2 + deflate, base64, the format every HDR library decodes.
    pub fn to_base64(&self) -> String {
        let mut buf = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.hist, &mut buf)
            .expect("serialising into a Vec cannot fail");
        base64::engine::general_purpose::STANDARD.encode(buf)
    }

    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("histogram is not valid base64: {e}"))?;
        let mut hist: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("histogram payload is not HDR V2: {e:?}"))?;
        hist.auto(true);
        Ok(Self { hist })
    }

    /// Every non-empty HDR bucket, lowest first, as (its highest equivalent
    /// value — the value a percentile falling in it reads —, its count): what
    /// live outputs convert to other bucket layouts.
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        self.hist
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    /// Percentile curve for plots: (percentile, value) at HDR's logarithmic ticks.
    pub fn percentile_curve(&self) -> Vec<(f64, u64)> {
        self.hist
            .iter_quantiles(2)
            .map(|v| (v.percentile(), v.value_iterated_to()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_orders_percentiles_and_counts_every_value() {
        let mut d = Distribution::new();
        for v in 1..=10_000u64 {
            d.record(v * 1_000);
        }
        let s = d.summary();
        assert_eq!(s.count, 10_000);
        assert_eq!(s.min, 1_000);
        assert!(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max);
        // 3 significant digits: within 0.1 %.
        assert!(
            (s.p50 as f64 - 5_000_000.0).abs() / 5_000_000.0 < 0.002,
            "{s:?}"
        );
        assert!((s.mean - 5_000_500.0).abs() / 5_000_500.0 < 0.002, "{s:?}");
    }

    #[test]
    fn base64_round_trip_is_lossless() {
        let mut d = Distribution::new();
        for v in [3u64, 50, 7_000, 1_000_000_000] {
            d.record(v);
        }
        let back = Distribution::from_base64(&d.to_base64()).unwrap();
        assert_eq!(back.summary(), d.summary());
        assert!(d.to_base64().starts_with("HISTFAAA"));
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Distribution::new();
        let mut b = Distribution::new();
        a.record(10);
        b.record(20);
        b.record(30);
        a.merge(&b);
        assert_eq!(a.summary().count, 3);
        assert_eq!(a.summary().max, 30);
    }

    #[test]
    fn max_bytes_covers_a_histogram_stretched_over_every_u64() {
        let mut d = Distribution::new();
        d.record(1);
        d.record(u64::MAX);
        let counts = (d.hist.distinct_values() * 8) as u64;
        assert!(counts <= Distribution::max_bytes());
        // 3 digits over 64 bits: 55 half-buckets of 1024 counts.
        let max = Distribution::max_bytes();
        assert!((440 * 1024..460 * 1024).contains(&max), "{max}");
    }

    #[test]
    fn buckets_carry_every_count_at_the_value_percentiles_read() {
        let mut d = Distribution::new();
        for v in [5u64, 5, 1_000, 123_456_789] {
            d.record(v);
        }
        let buckets = d.buckets();
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 4);
        assert_eq!(buckets[0], (5, 2));
        assert_eq!(buckets.last().unwrap().0, d.value_at_quantile(1.0));
    }

    #[test]
    fn zero_is_recorded_not_dropped() {
        let mut d = Distribution::new();
        d.record(0);
        assert_eq!(d.len(), 1);
    }
}
