//! How long to wait for an answer: a smoothed round-trip estimate in the
//! manner of TCP's retransmission timer (RFC 6298), so that a silent peer is
//! given up on after a few round trips rather than after a fixed worst case.
//! Lookups that meet crashed peers then stall for milliseconds, not seconds.

use std::time::Duration;

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct RttEstimator {
    /// Smoothed round trip and its mean deviation, in milliseconds; `None`
    /// until the first answer.
    estimate: Option<(f64, f64)>,
}

impl RttEstimator {
    /// Folds in one measured round trip.
    pub(super) fn observe(&mut self, sample: Duration) {
        let r = sample.as_secs_f64() * 1000.0;
        self.estimate = Some(match self.estimate {
            None => (r, r / 2.0),
            Some((srtt, rttvar)) => (0.875 * srtt + 0.125 * r, 0.75 * rttvar + 0.25 * (srtt - r).abs()),
        });
    }

    /// `srtt + 4·rttvar`, within `[min, max]`; `max` before any answer.
    pub(super) fn timeout(&self, min: Duration, max: Duration) -> Duration {
        match self.estimate {
            None => max,
            Some((srtt, rttvar)) => Duration::from_secs_f64((srtt + 4.0 * rttvar) / 1000.0).clamp(min, max.max(min)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_follows_the_round_trip_within_bounds() {
        let (min, max) = (Duration::from_millis(50), Duration::from_secs(2));
        let mut rtt = RttEstimator::default();
        assert_eq!(rtt.timeout(min, max), max, "no estimate yet: the worst case");
        for _ in 0..50 {
            rtt.observe(Duration::from_millis(100));
        }
        let t = rtt.timeout(min, max);
        assert!(t >= Duration::from_millis(100) && t < Duration::from_millis(150), "{t:?}");
        for _ in 0..50 {
            rtt.observe(Duration::from_millis(1));
        }
        assert_eq!(rtt.timeout(min, max), min);
        rtt.observe(Duration::from_secs(60));
        assert_eq!(rtt.timeout(min, max), max);
    }
}
