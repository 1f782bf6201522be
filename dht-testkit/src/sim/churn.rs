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

    /// Draws the time left to a node that is already up when churn starts:
    /// the residual lifetime of a network in its steady state, not a fresh
    /// lifetime. The nodes up at a given moment are biased towards long
    /// sessions (a long session is more likely to span the moment); with
    /// fresh lifetimes, heavy-tailed churn would start as a wave of
    /// failures — Weibull with shape 0.5 fails a twentieth of the network
    /// in its first second — that the steady state never sees.
    /// Exponential lifetimes are memoryless: the residual is a fresh draw.
    pub fn sample_remaining(&self, rng: &mut Rng) -> Duration {
        match *self {
            Lifetime::Exponential { .. } => self.sample(rng),
            Lifetime::Weibull { mean, shape } => {
                // A length-biased Weibull session L has (L / scale)^shape
                // distributed Gamma(1 + 1/shape); the time left is a uniform
                // share of it.
                let shape = shape.max(0.05);
                let scale = mean.as_secs_f64() / gamma(1.0 + 1.0 / shape);
                let session = scale * gamma_sample(1.0 + 1.0 / shape, rng).powf(1.0 / shape);
                Duration::from_secs_f64((rng.unit() * session).clamp(0.001, 1e9))
            }
        }
    }

    /// The mean lifetime.
    pub fn mean(&self) -> Duration {
        match *self {
            Lifetime::Exponential { mean } | Lifetime::Weibull { mean, .. } => mean,
        }
    }
}

/// A draw from the Gamma distribution of shape `a` ≥ 1 and scale 1
/// (Marsaglia and Tsang's method: a few percent of candidates are
/// rejected; after 64 rejections in a row, which does not happen in
/// practice, the mode is returned).
fn gamma_sample(a: f64, rng: &mut Rng) -> f64 {
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    for _ in 0..64 {
        // A standard normal draw (Box–Muller); 1 - unit() is in (0, 1].
        let x = (-2.0 * (1.0 - rng.unit()).ln()).sqrt() * (2.0 * std::f64::consts::PI * rng.unit()).cos();
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - rng.unit();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
    d
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

    /// The time left to a node up at a random moment has mean
    /// E[L²] / 2E[L]: the mean for exponential lifetimes, three times it for
    /// Weibull with shape 0.5 (E[L²] = scale² Γ(1 + 2/k)).
    #[test]
    fn remaining_lifetimes_have_the_steady_state_mean() {
        for (model, shape) in [
            (Lifetime::Exponential { mean: Duration::from_secs(100) }, 1.0),
            (Lifetime::Weibull { mean: Duration::from_secs(100), shape: 0.5 }, 0.5),
            (Lifetime::Weibull { mean: Duration::from_secs(100), shape: 0.7 }, 0.7),
            (Lifetime::Weibull { mean: Duration::from_secs(100), shape: 2.0 }, 2.0),
        ] {
            let scale = 100.0 / gamma(1.0 + 1.0 / shape);
            let expected = scale * scale * gamma(1.0 + 2.0 / shape) / 200.0;
            let mut rng = Rng::new(12);
            let n = 200_000;
            let total: f64 = (0..n).map(|_| model.sample_remaining(&mut rng).as_secs_f64()).sum();
            let mean = total / f64::from(n);
            assert!((mean - expected).abs() < 0.03 * expected, "{model:?}: mean {mean}, expected {expected}");
        }
    }
}
