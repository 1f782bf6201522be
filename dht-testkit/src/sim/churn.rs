//! Node lifetimes for churn: how long a node stays before it fails.

use dht_core::Rng;
use std::time::Duration;

/// A lifetime distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lifetime {
    /// Exponential with the given mean (memoryless; Poisson failures).
    Exponential {
        /// Mean lifetime.
        mean: Duration,
    },
    /// Weibull with the given mean and shape (shape < 1: heavy-tailed, many
    /// short sessions and a few long ones, as measured in deployed systems).
    Weibull {
        /// Mean lifetime.
        mean: Duration,
        /// Shape parameter `k`.
        shape: f64,
    },
}

impl Lifetime {
    /// Draws one lifetime.
    pub fn sample(&self, rng: &mut Rng) -> Duration {
        // 1 - unit() is in (0, 1], so the logarithm is finite.
        let u = 1.0 - rng.unit();
        let secs = match *self {
            Lifetime::Exponential { mean } => -mean.as_secs_f64() * u.ln(),
            Lifetime::Weibull { mean, shape } => {
                let shape = shape.max(0.05);
                let scale = mean.as_secs_f64() / gamma(1.0 + 1.0 / shape);
                scale * (-u.ln()).powf(1.0 / shape)
            }
        };
        Duration::from_secs_f64(secs.clamp(0.001, 1e9))
    }

    /// The mean lifetime.
    pub fn mean(&self) -> Duration {
        match *self {
            Lifetime::Exponential { mean } | Lifetime::Weibull { mean, .. } => mean,
        }
    }
}

/// The gamma function (Lanczos approximation, g = 7), accurate to about 15
/// digits for the positive arguments used here.
fn gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = G.iter().enumerate().skip(1).fold(G[0], |acc, (i, g)| acc + g / (x + i as f64));
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_matches_known_values() {
        assert!((gamma(1.0) - 1.0).abs() < 1e-12);
        assert!((gamma(5.0) - 24.0).abs() < 1e-9);
        assert!((gamma(0.5) - std::f64::consts::PI.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn sample_means_approach_the_configured_mean() {
        for model in [
            Lifetime::Exponential { mean: Duration::from_secs(100) },
            Lifetime::Weibull { mean: Duration::from_secs(100), shape: 0.7 },
            Lifetime::Weibull { mean: Duration::from_secs(100), shape: 2.0 },
        ] {
            let mut rng = Rng::new(11);
            let n = 40_000;
            let total: f64 = (0..n).map(|_| model.sample(&mut rng).as_secs_f64()).sum();
            let mean = total / f64::from(n);
            assert!((mean - 100.0).abs() < 5.0, "{model:?}: mean {mean}");
        }
    }
}
