//! A small seeded generator (SplitMix64) for synthetic traffic: fast, good
//! enough for picking models and sizes, and reproducible from its seed. Not for
//! anything secret.

/// SplitMix64 (Steele, Lea and Flood, 2014).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator seeded from the OS, or from the clock if that fails.
    pub fn from_entropy() -> Rng {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            // The low 64 bits of the clock are enough for a demo's variety.
            bytes = (nanos as u64).to_le_bytes();
        }
        Rng(u64::from_le_bytes(bytes))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Log-uniform in `lo..=hi`: small values as likely per octave as large
    /// ones, the usual shape of prompt and answer sizes.
    pub fn log_between(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo_f, hi_f) = ((lo.max(1)) as f64, (hi.max(1)) as f64);
        let value = (lo_f.ln() + self.unit() * (hi_f.ln() - lo_f.ln())).exp();
        (value.round() as u64).clamp(lo, hi.max(lo))
    }

    /// Multiplicative noise around 1: `1 +- spread` at most.
    pub fn jitter(&mut self, spread: f64) -> f64 {
        1.0 + (self.unit() * 2.0 - 1.0) * spread
    }

    /// An index picked with the given weights (all zero: the first).
    pub fn weighted<T>(&mut self, items: &[(T, u32)]) -> usize {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return 0;
        }
        let mut pick = self.next_u64() % total;
        for (i, (_, weight)) in items.iter().enumerate() {
            let weight = u64::from(*weight);
            if pick < weight {
                return i;
            }
            pick -= weight;
        }
        items.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_and_weights_are_followed() {
        let mut rng = Rng::new(7);
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            let v = rng.between(3, 9);
            assert!((3..=9).contains(&v));
            let l = rng.log_between(100, 20_000);
            assert!((100..=20_000).contains(&l));
            counts[rng.weighted(&[("a", 1), ("b", 0), ("c", 3)])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > counts[0] * 2, "{counts:?}");
    }
}
