//! Retry delay: `base * 2^(attempt-1)`, capped, with jitter; a handler's `retry_after` wins.
//! This is the one place the cap is defined.

use std::time::Duration;

use rand::Rng;

/// Delay before attempt `failed_attempt + 1`, given the attempt that just failed (1-based).
pub fn retry_delay(failed_attempt: i32, base_ms: i64, max_ms: i64, retry_after_s: Option<f64>) -> Duration {
    if let Some(seconds) = retry_after_s.filter(|s| s.is_finite() && *s >= 0.0) {
        return Duration::from_secs_f64(seconds.min(86_400.0));
    }
    let exponent = (failed_attempt.max(1) - 1).min(30) as u32;
    let capped = base_ms.max(0).saturating_mul(1_i64 << exponent).min(max_ms.max(0));
    // Jitter in [50%, 100%] of the capped delay spreads retries of many failing steps.
    let jittered = if capped > 1 { rand::thread_rng().gen_range(capped / 2..=capped) } else { capped };
    Duration::from_millis(jittered as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_cap() {
        for _ in 0..100 {
            let d1 = retry_delay(1, 1000, 30_000, None).as_millis();
            let d3 = retry_delay(3, 1000, 30_000, None).as_millis();
            let d10 = retry_delay(10, 1000, 30_000, None).as_millis();
            assert!((500..=1000).contains(&d1), "{d1}");
            assert!((2000..=4000).contains(&d3), "{d3}");
            assert!((15_000..=30_000).contains(&d10), "{d10}");
        }
    }

    #[test]
    fn retry_after_wins_and_zero_base_means_immediate() {
        assert_eq!(retry_delay(1, 1000, 30_000, Some(2.5)), Duration::from_millis(2500));
        assert_eq!(retry_delay(5, 0, 30_000, None), Duration::ZERO);
        assert!(retry_delay(1, 1000, 30_000, Some(f64::NAN)).as_millis() <= 1000, "NaN falls back to backoff");
    }
}
