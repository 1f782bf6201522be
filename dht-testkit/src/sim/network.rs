//! The simulated network: per-link latency, message loss and partitions.

use dht_core::Rng;
use std::time::Duration;

/// One-way latency: every pair of nodes has its own base latency, drawn
/// once per link uniformly from `min..max` (so some links are near and some
/// far, and a link stays what it is), plus a fresh uniform jitter on every
/// message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Smallest base latency of a link.
    pub min: Duration,
    /// Largest base latency of a link.
    pub max: Duration,
    /// Extra delay per message, uniform in `0..jitter`.
    pub jitter: Duration,
}

impl Default for Latency {
    /// Links of 10–100 ms with up to 10 ms of jitter: a wide-area spread.
    fn default() -> Latency {
        Latency { min: Duration::from_millis(10), max: Duration::from_millis(100), jitter: Duration::from_millis(10) }
    }
}

impl Latency {
    /// The delay of one message from node `a` to node `b`, in
    /// milliseconds: at least one, as the simulator delivers a message in a
    /// later millisecond than the one it was sent in.
    pub(crate) fn sample(&self, seed: u64, a: u32, b: u32, rng: &mut Rng) -> u64 {
        let (lo, hi) = (a.min(b), a.max(b));
        let mut link = Rng::derive(seed, (u64::from(lo) << 32) | u64::from(hi));
        let min = self.min.as_millis() as u64;
        let spread = (self.max.as_millis() as u64).saturating_sub(min);
        let base = min + link.below(spread + 1);
        (base + rng.below(self.jitter.as_millis() as u64)).max(1)
    }
}

/// Which nodes can currently talk to which.
#[derive(Debug, Default, Clone)]
pub(crate) struct Partitions {
    /// Group of each node index; nodes talk only within a group. Empty: no partition.
    groups: Vec<u8>,
}

impl Partitions {
    pub(crate) fn split(&mut self, isolated: &[u32], nodes: usize) {
        self.groups = vec![0; nodes];
        for &i in isolated {
            if let Some(g) = self.groups.get_mut(i as usize) {
                *g = 1;
            }
        }
    }

    pub(crate) fn heal(&mut self) {
        self.groups.clear();
    }

    pub(crate) fn connected(&self, a: u32, b: u32) -> bool {
        let group = |i: u32| self.groups.get(i as usize).copied().unwrap_or(0);
        self.groups.is_empty() || group(a) == group(b)
    }
}
