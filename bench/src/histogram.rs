//! A small HDR-style log-linear latency histogram, in microseconds.
//!
//! Values below 128 µs get one bucket each (exact). Above that, every power of two is split
//! into 64 equal sub-buckets, so a recorded value is known to within 1/64 (about 1.6%) of
//! itself, whatever its magnitude: 1 µs steps at 100 µs, 16 µs steps at 1 ms, 16 ms steps at
//! 1 s. The whole `u64` range fits in 3,776 counters (30 KiB), so recording never allocates,
//! never clamps and never fails. Histograms of several threads merge by adding counters.

/// Sub-buckets per power of two (above the linear range).
const SUB_BUCKETS: u64 = 64;
/// Values below this are stored exactly, one bucket each.
const LINEAR_LIMIT: u64 = 2 * SUB_BUCKETS;
/// Bits of `SUB_BUCKETS`.
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// Number of buckets needed for the whole `u64` range.
const BUCKETS: usize = bucket_of(u64::MAX) + 1;

/// Returns the bucket index of `v`.
const fn bucket_of(v: u64) -> usize {
    if v < LINEAR_LIMIT {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros(); // >= 7
    let shift = msb - SUB_BITS; // >= 1; `v >> shift` is in [64, 128)
    (LINEAR_LIMIT + (shift as u64 - 1) * SUB_BUCKETS + ((v >> shift) - SUB_BUCKETS)) as usize
}

/// Returns the range `[low, high]` of values that land in bucket `i`.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < LINEAR_LIMIT {
        return (i, i);
    }
    let shift = (i - LINEAR_LIMIT) / SUB_BUCKETS + 1;
    let sub = (i - LINEAR_LIMIT) % SUB_BUCKETS + SUB_BUCKETS;
    let low = sub << shift;
    let high = low.saturating_add((1u64 << shift) - 1);
    (low, high)
}

/// A latency histogram with microsecond resolution (see the module docs).
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.total)
            .field("min", &self.min())
            .field("max", &self.max)
            .finish()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Records one value, in microseconds.
    pub fn record(&mut self, micros: u64) {
        self.counts[bucket_of(micros)] += 1;
        self.total += 1;
        self.min = self.min.min(micros);
        self.max = self.max.max(micros);
    }

    /// Adds all values recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Smallest recorded value (0 when empty).
    pub fn min(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            self.min
        }
    }

    /// Largest recorded value (0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at percentile `p` (0..=100): the smallest recorded value such that at least
    /// `p`% of all values are at or below it, reported as the middle of its bucket (clamped
    /// to the recorded min and max). 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let p = p.clamp(0.0, 100.0);
        // The rank (1-based) of the value we want; at least 1.
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (low, high) = bucket_range(i);
                let mid = low + (high - low) / 2;
                return mid.clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_u64() {
        assert_eq!(BUCKETS, 3776);
        let mut expected_low = 0u64;
        for i in 0..BUCKETS {
            let (low, high) = bucket_range(i);
            assert_eq!(low, expected_low, "bucket {i}");
            assert!(high >= low);
            assert_eq!(bucket_of(low), i);
            assert_eq!(bucket_of(high), i);
            expected_low = high.wrapping_add(1);
        }
        assert_eq!(bucket_range(BUCKETS - 1).1, u64::MAX);
    }

    #[test]
    fn relative_error_is_bounded() {
        for v in [
            0u64,
            1,
            127,
            128,
            129,
            1000,
            12_345,
            999_999,
            60_000_000,
            u64::MAX / 3,
        ] {
            let (low, high) = bucket_range(bucket_of(v));
            assert!(low <= v && v <= high);
            assert!((high - low) as f64 <= (v as f64) / 64.0 + 1.0, "v={v}");
        }
    }

    #[test]
    fn percentiles_of_uniform_values() {
        let mut h = Histogram::new();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.percentile(50.0), 50);
        assert_eq!(h.percentile(75.0), 75);
        assert_eq!(h.percentile(90.0), 90);
        assert_eq!(h.percentile(99.0), 99);
        assert_eq!(h.percentile(100.0), 100);
        assert_eq!(h.percentile(0.0), 1);
        assert_eq!(h.min(), 1);
        assert_eq!(h.max(), 100);
    }

    #[test]
    fn percentiles_of_large_values_are_within_precision() {
        let mut h = Histogram::new();
        // 99 fast requests at 1 ms, one slow one at 250 ms.
        for _ in 0..99 {
            h.record(1_000);
        }
        h.record(250_000);
        let p50 = h.percentile(50.0);
        assert!((984..=1016).contains(&p50), "p50 {p50}");
        assert_eq!(h.percentile(99.0), p50);
        // p100 is the slow one; clamped to the recorded max.
        let p100 = h.percentile(100.0);
        assert!((246_000..=250_000).contains(&p100), "p100 {p100}");
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        for v in 0..50 {
            a.record(v);
        }
        for v in 50..100 {
            b.record(v);
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert_eq!(a.min(), 0);
        assert_eq!(a.max(), 99);
        assert_eq!(a.percentile(50.0), 49);
    }

    #[test]
    fn empty_histogram_reports_zero() {
        let h = Histogram::new();
        assert_eq!(h.percentile(99.0), 0);
        assert_eq!(h.min(), 0);
        assert_eq!(h.count(), 0);
    }
}
