//! Step Functions' API rate quotas: each is a token bucket (a burst of `bucket` calls, refilled
//! at `refill_per_second`), and a call that finds it empty fails with `ThrottlingException`.
//! The bucket refills on the service's clock: in `Accelerated(n)` time n times faster, and in
//! `Virtual` time, where a caller's backoff takes no real time, at once (a quota of refill 0
//! stays empty).

use std::sync::Mutex;
use std::time::Instant;

/// One API's rate quota.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateQuota {
    pub bucket: u32,
    pub refill_per_second: f64,
}

impl RateQuota {
    /// StartExecution of a Standard workflow in us-east-1, us-west-2 and eu-west-1 (the
    /// world's region is us-east-1): a bucket of 1,300, refilled at 300 a second (AWS, "Step
    /// Functions service quotas", throttling quotas; other regions have 800 and 150).
    pub const START_EXECUTION: RateQuota = RateQuota {
        bucket: 1300,
        refill_per_second: 300.0,
    };
}

/// A quota's bucket as calls drain it.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    quota: RateQuota,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub(crate) fn new(quota: RateQuota, time: crate::TimeMode) -> Self {
        let refill = quota.refill_per_second;
        let refill_per_second = match time {
            crate::TimeMode::Real => refill,
            crate::TimeMode::Accelerated(n) => refill * f64::from(n.max(1)),
            crate::TimeMode::Virtual if refill > 0.0 => f64::INFINITY,
            crate::TimeMode::Virtual => 0.0,
        };
        Self {
            quota: RateQuota {
                refill_per_second,
                ..quota
            },
            state: Mutex::new((f64::from(quota.bucket), Instant::now())),
        }
    }

    /// Takes a token; false when the bucket is empty (the call is throttled).
    pub(crate) fn take(&self) -> bool {
        let mut state = self.state.lock().expect("token bucket");
        let (tokens, at) = &mut *state;
        let now = Instant::now();
        let rate = self.quota.refill_per_second;
        let refilled = if rate.is_infinite() {
            f64::from(self.quota.bucket)
        } else {
            now.duration_since(*at).as_secs_f64() * rate
        };
        *tokens = (*tokens + refilled).min(f64::from(self.quota.bucket));
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_bucket_is_throttled_until_it_refills() {
        let bucket = TokenBucket::new(
            RateQuota {
                bucket: 3,
                refill_per_second: 0.0,
            },
            crate::TimeMode::Real,
        );
        assert!((0..3).all(|_| bucket.take()));
        assert!(!bucket.take(), "the fourth call in a burst of a 3-token bucket");
        let refilling = TokenBucket::new(
            RateQuota {
                bucket: 1,
                refill_per_second: 1000.0,
            },
            crate::TimeMode::Real,
        );
        assert!(refilling.take());
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(refilling.take(), "5 ms at 1,000 a second refills the one token");
    }

    #[test]
    fn in_virtual_time_a_refilling_bucket_is_never_empty_for_long() {
        let virtual_time = TokenBucket::new(
            RateQuota {
                bucket: 1,
                refill_per_second: 300.0,
            },
            crate::TimeMode::Virtual,
        );
        assert!(
            (0..100).all(|_| virtual_time.take()),
            "a retry's wait refills it at once"
        );
        let never = TokenBucket::new(
            RateQuota {
                bucket: 1,
                refill_per_second: 0.0,
            },
            crate::TimeMode::Virtual,
        );
        assert!(never.take() && !never.take(), "a quota of refill 0 stays empty");
    }
}
