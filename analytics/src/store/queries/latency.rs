//! Latency percentiles from a bucketed histogram kept beside the daily rollup
//! (`usage_daily_latency`): sums cannot give a p50 or a p95, counts per bucket
//! can, and buckets add up across days, keys and models like every other measure.
//!
//! Buckets are log-linear, like HdrHistogram with three significant bits:
//! - `0..16` ms: one bucket per millisecond (exact);
//! - from 16 ms up, every power of two `[2^k, 2^(k+1))` is cut into 8 equal
//!   buckets, each `2^(k-3)` ms wide: 16-17, 18-19, .., 30-31, 32-35, .., 60-63, ..
//!
//! 240 buckets cover every `u32` millisecond. A percentile is the nearest-rank
//! percentile of the requests, reported as the middle of the bucket it falls in:
//! exact below 16 ms, otherwise within half a bucket, at most 1/16 (6.25 %) of
//! the true value (e.g. a true p95 of 1,234 ms is reported as a value in
//! 1,157..=1,311 ms; here 1,216).
//!
//! The same bucket function exists twice, here and as SQL ([`bucket_sql`], used
//! by the rollups of both stores); a test checks they agree.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Buckets below this are one millisecond wide.
const LINEAR: u32 = 16;
/// Buckets per power of two above [`LINEAR`] (a power of two itself).
const SUB_BUCKETS: u32 = 8;
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// log2 of [`LINEAR`]: the first octave cut into sub-buckets.
const FIRST_OCTAVE: u32 = LINEAR.trailing_zeros();
/// Number of buckets: every `u32` value has one.
pub const BUCKETS: u16 = (LINEAR + (32 - FIRST_OCTAVE) * SUB_BUCKETS) as u16;

/// The bucket of a latency in milliseconds.
pub fn bucket_of(ms: u32) -> u16 {
    if ms < LINEAR {
        return ms as u16;
    }
    let octave = 31 - ms.leading_zeros();
    let sub = (ms >> (octave - SUB_BITS)) & (SUB_BUCKETS - 1);
    (LINEAR + (octave - FIRST_OCTAVE) * SUB_BUCKETS + sub) as u16
}

/// The milliseconds `bucket` covers: `lower..=upper`. `None` past the last one.
pub fn bucket_bounds(bucket: u16) -> Option<(u32, u32)> {
    let bucket = u32::from(bucket);
    if bucket < LINEAR {
        return Some((bucket, bucket));
    }
    if bucket >= u32::from(BUCKETS) {
        return None;
    }
    let octave = FIRST_OCTAVE + (bucket - LINEAR) / SUB_BUCKETS;
    let sub = (bucket - LINEAR) % SUB_BUCKETS;
    let width = 1u64 << (octave - SUB_BITS);
    let lower = (u64::from(SUB_BUCKETS + sub)) * width;
    let upper = lower + width - 1;
    Some((u32::try_from(lower).ok()?, u32::try_from(upper).ok()?))
}

/// The value reported for a bucket: its middle (its only value below 16 ms).
pub fn bucket_value(bucket: u16) -> Option<u32> {
    bucket_bounds(bucket).map(|(lower, upper)| lower + (upper - lower).div_ceil(2))
}

/// [`bucket_of`] as a SQL expression over the integer column `latency_ms`, valid
/// in Postgres and SQLite (integer division truncates in both). A constant: it is
/// built from this module's constants only, never from input.
pub fn bucket_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let mut sql = format!("CASE WHEN latency_ms < {LINEAR} THEN latency_ms");
        for octave in FIRST_OCTAVE..32 {
            let start = 1u64 << octave;
            let width = 1u64 << (octave - SUB_BITS);
            let first = LINEAR + (octave - FIRST_OCTAVE) * SUB_BUCKETS;
            sql.push_str(&format!(
                " WHEN latency_ms < {end} THEN {first} + (latency_ms - {start}) / {width}",
                end = start * 2
            ));
        }
        sql.push_str(&format!(" ELSE {} END", BUCKETS - 1));
        sql
    });
    &SQL
}

/// Requests per latency bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: BTreeMap<u16, u64>,
}

impl LatencyHistogram {
    /// Counts `requests` more in `bucket` (buckets past the last are ignored).
    pub fn add(&mut self, bucket: u16, requests: u64) {
        if bucket < BUCKETS && requests > 0 {
            *self.counts.entry(bucket).or_default() += requests;
        }
    }

    /// Counts one request of `ms` milliseconds.
    pub fn record(&mut self, ms: u32) {
        self.add(bucket_of(ms), 1);
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (&bucket, &requests) in &other.counts {
            self.add(bucket, requests);
        }
    }

    /// Requests counted.
    pub fn requests(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The nearest-rank `percent` percentile (`0 < percent <= 100`) as the
    /// middle of its bucket; `None` when nothing was counted.
    pub fn percentile(&self, percent: u32) -> Option<u32> {
        let total = self.requests();
        if total == 0 || percent == 0 || percent > 100 {
            return None;
        }
        let rank = (total * u64::from(percent)).div_ceil(100).max(1);
        let mut seen = 0;
        for (&bucket, &requests) in &self.counts {
            seen += requests;
            if seen >= rank {
                return bucket_value(bucket);
            }
        }
        None
    }

    /// Buckets and their counts, ascending.
    pub fn buckets(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.counts
            .iter()
            .map(|(&bucket, &requests)| (bucket, requests))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_u32() {
        assert_eq!(BUCKETS, 240);
        let mut next = 0u64;
        for bucket in 0..BUCKETS {
            let (lower, upper) = bucket_bounds(bucket).unwrap();
            assert_eq!(u64::from(lower), next, "bucket {bucket}");
            assert!(upper >= lower);
            assert_eq!(bucket_of(lower), bucket);
            assert_eq!(bucket_of(upper), bucket);
            next = u64::from(upper) + 1;
        }
        assert_eq!(next, 1 << 32);
        assert_eq!(bucket_bounds(BUCKETS), None);
        assert_eq!(bucket_bounds(16), Some((16, 17)));
        assert_eq!(bucket_bounds(24), Some((32, 35)));
    }

    #[test]
    fn reported_values_are_within_one_sixteenth() {
        for ms in (0..100_000u32).chain([u32::MAX, u32::MAX / 3, 1 << 31]) {
            let value = bucket_value(bucket_of(ms)).unwrap();
            let error = u64::from(value.abs_diff(ms));
            assert!(error * 16 <= u64::from(ms), "{ms} reported as {value}");
        }
        assert_eq!(bucket_value(bucket_of(1234)), Some(1216));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut histogram = LatencyHistogram::default();
        assert_eq!(histogram.percentile(50), None);
        for ms in 1..=10 {
            histogram.record(ms);
        }
        assert_eq!(histogram.percentile(50), Some(5));
        assert_eq!(histogram.percentile(95), Some(10));
        assert_eq!(histogram.percentile(100), Some(10));
        histogram.add(bucket_of(1000), 190);
        assert_eq!(histogram.requests(), 200);
        // Rank 100 and 190 both fall among the 190 slow requests.
        assert_eq!(histogram.percentile(50), bucket_value(bucket_of(1000)));
        assert_eq!(histogram.percentile(5), Some(10));
        assert_eq!(histogram.percentile(0), None);
    }

    #[test]
    fn sql_names_every_octave() {
        let sql = bucket_sql();
        assert!(sql.starts_with("CASE WHEN latency_ms < 16 THEN latency_ms"));
        assert!(sql.contains("WHEN latency_ms < 32 THEN 16 + (latency_ms - 16) / 2"));
        assert!(sql.ends_with("ELSE 239 END"));
        assert_eq!(sql.matches(" WHEN ").count(), 1 + 28);
    }
}
