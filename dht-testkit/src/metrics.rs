//! Metrics of simulated runs: per operation (hops, messages, latency,
//! success) and per node (routing state, records, maintenance traffic), and
//! the summaries comparisons print.

use dht_core::{Event, OpOutcome};

/// What one operation cost and whether it succeeded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpSample {
    /// Lookup path length.
    pub hops: u32,
    /// Requests sent.
    pub messages: u32,
    /// Virtual time from start to end, in milliseconds.
    pub latency_ms: u64,
    /// Whether it did what was asked (for a get: returned the expected value).
    pub success: bool,
}

impl OpSample {
    /// A sample from a finished operation and the caller's verdict on it.
    pub fn from_event(event: &Event, success: bool) -> OpSample {
        OpSample {
            hops: event.stats.hops,
            messages: event.stats.messages,
            latency_ms: event.stats.finished.as_millis().saturating_sub(event.stats.started.as_millis()),
            success,
        }
    }

    /// Whether a put or find-peers event succeeded by itself (gets need the
    /// expected value, so they are judged by the caller).
    pub fn succeeded(event: &Event) -> bool {
        match &event.outcome {
            OpOutcome::Put(r) => r.is_ok(),
            OpOutcome::Get(r) => matches!(r, Ok(Some(_))),
            OpOutcome::FindPeers(peers) => !peers.is_empty(),
            OpOutcome::Left => true,
        }
    }
}

/// State and traffic of one live node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSample {
    /// Entries in its routing state.
    pub routing_entries: usize,
    /// Records it stores.
    pub records: usize,
    /// Maintenance requests it sent.
    pub maintenance_messages: u64,
    /// Requests it sent for user operations.
    pub op_messages: u64,
    /// Records it pushed to replicas in repair (part of its maintenance).
    pub repair_pushes: u64,
    /// Their size in bytes.
    pub repair_bytes: u64,
}

/// Mean and percentiles of a set of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// How many numbers.
    pub count: usize,
    /// Their mean.
    pub mean: f64,
    /// 1st percentile.
    pub p1: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Summary {
    /// Summarises `values` (nearest-rank percentiles).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Summary {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Summary::default();
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Summary {
            count: v.len(),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p1: rank(1.0),
            p50: rank(50.0),
            p99: rank(99.0),
            max: v[v.len() - 1],
        }
    }
}

/// A summary of many operations.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OpReport {
    /// Share that succeeded.
    pub success_rate: f64,
    /// Path lengths of the successful ones.
    pub hops: Summary,
    /// Requests per operation.
    pub messages: Summary,
    /// Virtual latency in milliseconds.
    pub latency_ms: Summary,
}

impl OpReport {
    /// Summarises samples.
    pub fn of(samples: &[OpSample]) -> OpReport {
        let ok: Vec<&OpSample> = samples.iter().filter(|s| s.success).collect();
        OpReport {
            success_rate: if samples.is_empty() { 0.0 } else { ok.len() as f64 / samples.len() as f64 },
            hops: Summary::of(ok.iter().map(|s| f64::from(s.hops))),
            messages: Summary::of(samples.iter().map(|s| f64::from(s.messages))),
            latency_ms: Summary::of(ok.iter().map(|s| s.latency_ms as f64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s = Summary::of((1..=100).map(f64::from));
        assert_eq!((s.p1, s.p50, s.p99, s.max), (1.0, 50.0, 99.0, 100.0));
        assert!((s.mean - 50.5).abs() < 1e-9);
        assert_eq!(Summary::of([]).count, 0);
    }
}
