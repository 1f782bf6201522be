//! What a node counts about itself: traffic, refusals, the operations it
//! ran and how long they took, and the size of its state — what
//! [`crate::NodeHandle::stats`] returns and an operator exports.

use super::{OpOutcome, Refusal, Request};
use std::time::Duration;

/// Counters and sizes of one node, read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// Requests sent for user operations (lookups, stores, fetches of puts and gets).
    pub op_messages: u64,
    /// Requests sent for maintenance (overlay upkeep, maintenance lookups, repair).
    pub maintenance_messages: u64,
    /// Requests received, by kind.
    pub requests_in: RequestCounts,
    /// Requests sent, by kind.
    pub requests_out: RequestCounts,
    /// Requests received and refused, by reason.
    pub refusals: RefusalCounts,
    /// Records offered to replicas by repair: the periodic pass, the
    /// hand-off of a range, and read repair.
    pub repair_pushes: u64,
    /// Their size, as [`crate::Record::stored_size`] counts it.
    pub repair_bytes: u64,
    /// Requests sent that timed out or failed.
    pub failures: u64,
    /// Peers in the overlay's routing state.
    pub peers: usize,
    /// Records held for the network.
    pub records: usize,
    /// Their size, as [`crate::Record::stored_size`] counts it.
    pub record_bytes: usize,
    /// User operations (put, get, remove, find peers, leave) that succeeded.
    pub ops_ok: u64,
    /// User operations that ended with an error.
    pub ops_failed: u64,
    /// How long user operations took, successful or not.
    pub op_latency: LatencyHistogram,
}

impl NodeStats {
    /// Counts a finished user operation that took `took`.
    pub(super) fn op_finished(&mut self, outcome: &OpOutcome, took: Duration) {
        let failed = matches!(outcome, OpOutcome::Put(Err(_)) | OpOutcome::Get(Err(_)));
        if failed {
            self.ops_failed += 1;
        } else {
            self.ops_ok += 1;
        }
        self.op_latency.record(took);
    }
}

/// Requests counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestCounts {
    /// Overlay messages (routing, maintenance).
    pub overlay: u64,
    /// Records offered for storage by their writer.
    pub store: u64,
    /// Copies of records offered by other holders (repair, hand-off, read repair).
    pub replicate: u64,
    /// Records asked for.
    pub fetch: u64,
    /// Liveness probes.
    pub ping: u64,
}

impl RequestCounts {
    /// Counts one request.
    pub(super) fn count<M>(&mut self, request: &Request<M>) {
        let counter = match request {
            Request::Overlay(_) => &mut self.overlay,
            Request::Store(_) => &mut self.store,
            Request::Replicate(_) => &mut self.replicate,
            Request::Fetch(_) => &mut self.fetch,
            Request::Ping => &mut self.ping,
        };
        *counter += 1;
    }

    /// Requests of every kind.
    pub fn total(&self) -> u64 {
        self.overlay + self.store + self.replicate + self.fetch + self.ping
    }
}

/// Refusals counted by their reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefusalCounts {
    /// The record was invalid ([`Refusal::Invalid`]).
    pub invalid: u64,
    /// A quota would have been exceeded ([`Refusal::Quota`]).
    pub quota: u64,
    /// The store failed ([`Refusal::Storage`]).
    pub storage: u64,
    /// The peer was over its request rate, or asked a client to store
    /// ([`Refusal::Busy`]).
    pub busy: u64,
}

impl RefusalCounts {
    /// Counts one refusal.
    pub(super) fn count(&mut self, refusal: &Refusal) {
        let counter = match refusal {
            Refusal::Invalid(_) => &mut self.invalid,
            Refusal::Quota(_) => &mut self.quota,
            Refusal::Storage(_) => &mut self.storage,
            Refusal::Busy => &mut self.busy,
        };
        *counter += 1;
    }

    /// Refusals for every reason.
    pub fn total(&self) -> u64 {
        self.invalid + self.quota + self.storage + self.busy
    }
}

/// A histogram of durations over fixed buckets, so that a scrape can hand
/// it to Prometheus as is and two nodes' histograms add up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// `counts[i]`: durations at most [`LatencyHistogram::BOUNDS_MS`]`[i]`
    /// and over the bound before; the last entry counts those over every bound.
    pub counts: [u64; LatencyHistogram::BOUNDS_MS.len() + 1],
    /// Sum of every recorded duration, in milliseconds.
    pub sum_ms: u64,
}

impl LatencyHistogram {
    /// Upper bounds of the buckets, in milliseconds.
    pub const BOUNDS_MS: [u64; 12] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];

    /// Counts one duration.
    pub fn record(&mut self, took: Duration) {
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let bucket = Self::BOUNDS_MS.iter().position(|&bound| ms <= bound).unwrap_or(Self::BOUNDS_MS.len());
        self.counts[bucket] += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
    }

    /// Durations recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The bucket bound at or below which at least `q` (0–1) of the
    /// durations lie (`None` for the overflow bucket or no durations).
    pub fn quantile_bound_ms(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let wanted = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return Self::BOUNDS_MS.get(i).copied();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_the_bucket_of_their_upper_bound() {
        let mut h = LatencyHistogram::default();
        for ms in [0, 1, 2, 3, 7, 5_000, 5_001, 60_000] {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.counts[0], 2, "0 and 1 ms are at most 1 ms");
        assert_eq!(h.counts[1], 1);
        assert_eq!(h.counts[2], 1, "3 ms is over 2 and at most 5");
        assert_eq!(h.counts[3], 1);
        assert_eq!(h.counts[11], 1);
        assert_eq!(h.counts[12], 2, "over 5 s overflows");
        assert_eq!(h.count(), 8);
        assert_eq!(h.sum_ms, 1 + 2 + 3 + 7 + 5_000 + 5_001 + 60_000);
        assert_eq!(h.quantile_bound_ms(0.5), Some(5));
        assert_eq!(h.quantile_bound_ms(1.0), None);
        assert_eq!(LatencyHistogram::default().quantile_bound_ms(0.5), None);
    }

    #[test]
    fn failed_operations_are_counted_apart() {
        let mut stats = NodeStats::default();
        stats.op_finished(&OpOutcome::Put(Ok(3)), Duration::from_millis(4));
        stats.op_finished(&OpOutcome::Get(Err(super::super::OpError::Unreachable)), Duration::from_millis(40));
        assert_eq!((stats.ops_ok, stats.ops_failed), (1, 1));
        assert_eq!(stats.op_latency.count(), 2);
    }
}
