//! Per-peer limits, so that no single peer can exhaust a node: a token
//! bucket on the requests it sends, and caps on the records and bytes it
//! has stored here. Over a limit the peer gets [`super::Refusal::Busy`] or
//! [`super::Refusal::Quota`] and nothing else changes — its request is not
//! even taken as a sign that it is alive.

use crate::{Id, IdBuildHasher, Time};
use std::collections::HashMap;

/// What one peer may ask of a node. The defaults leave room for the bursts
/// an honest peer makes (a joining neighbour hands over thousands of
/// records at once) while capping a flood at a rate the node can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerLimits {
    /// Requests per second a peer may keep up (token-bucket refill;
    /// default 1,000).
    pub requests_per_second: u32,
    /// Requests a peer may send at once (bucket size; default 10,000).
    pub request_burst: u32,
    /// Records stored here on one peer's request (default 100,000).
    pub records_per_peer: usize,
    /// Bytes stored here on one peer's request, as
    /// [`crate::Record::stored_size`] counts them (default 256 MiB).
    pub bytes_per_peer: usize,
}

impl Default for PeerLimits {
    fn default() -> PeerLimits {
        PeerLimits {
            requests_per_second: 1_000,
            request_burst: 10_000,
            records_per_peer: 100_000,
            bytes_per_peer: 256 << 20,
        }
    }
}

/// Most peers whose bucket is tracked between two tidy-ups; past it, full
/// buckets are dropped at once.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled: Time,
}

#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    records: usize,
    bytes: usize,
}

/// The state behind [`PeerLimits`].
#[derive(Debug, Default)]
pub(super) struct Limiter {
    buckets: HashMap<Id, Bucket, IdBuildHasher>,
    usage: HashMap<Id, Usage, IdBuildHasher>,
    /// Who stored each key held on another's behalf, and its size.
    stored_by: HashMap<Id, (Id, usize), IdBuildHasher>,
}

impl Limiter {
    /// Takes one token from `peer`'s bucket; `false` if it is empty.
    pub(super) fn admit_request(&mut self, limits: &PeerLimits, peer: &Id, now: Time) -> bool {
        let burst = f64::from(limits.request_burst);
        if self.buckets.len() >= MAX_TRACKED && !self.buckets.contains_key(peer) {
            self.tidy(limits, now);
        }
        let bucket = self.buckets.entry(*peer).or_insert(Bucket { tokens: burst, refilled: now });
        let elapsed = now.since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * f64::from(limits.requests_per_second)).min(burst);
        bucket.refilled = now;
        if bucket.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        true
    }

    /// Drops the buckets that have refilled: a full bucket means the same
    /// as none, and a node hears from thousands of peers in passing (a
    /// simulated network holds one limiter per node).
    pub(super) fn tidy(&mut self, limits: &PeerLimits, now: Time) {
        let (rate, burst) = (f64::from(limits.requests_per_second), f64::from(limits.request_burst));
        self.buckets.retain(|_, b| b.tokens + now.since(b.refilled).as_secs_f64() * rate < burst);
    }

    /// Whether `peer` may store a record of `size` bytes under `key`
    /// (replacing what it stored there before costs it nothing extra).
    pub(super) fn check_store(&self, limits: &PeerLimits, peer: &Id, key: &Id, size: usize) -> Result<(), String> {
        let usage = self.usage.get(peer).copied().unwrap_or_default();
        let (records, bytes) = match self.stored_by.get(key) {
            Some((by, old)) if by == peer => (usage.records, usage.bytes - old),
            _ => (usage.records + 1, usage.bytes),
        };
        if records > limits.records_per_peer {
            return Err(format!("this peer may store at most {} records here", limits.records_per_peer));
        }
        if bytes + size > limits.bytes_per_peer {
            return Err(format!("this peer may store at most {} bytes here", limits.bytes_per_peer));
        }
        Ok(())
    }

    /// Counts a record of `size` bytes stored under `key` against `peer`.
    pub(super) fn stored(&mut self, peer: &Id, key: Id, size: usize) {
        self.forget(&key);
        let usage = self.usage.entry(*peer).or_default();
        usage.records += 1;
        usage.bytes += size;
        self.stored_by.insert(key, (*peer, size));
    }

    /// Stops counting `key` against whoever stored it (it was replaced by
    /// this node's own write, removed or expired).
    pub(super) fn forget(&mut self, key: &Id) {
        let Some((by, size)) = self.stored_by.remove(key) else { return };
        if let Some(usage) = self.usage.get_mut(&by) {
            usage.records -= 1;
            usage.bytes -= size;
            if usage.records == 0 {
                self.usage.remove(&by);
            }
        }
    }

    /// Keys counted against some peer, to check against what the store
    /// still holds.
    pub(super) fn counted_keys(&self) -> Vec<Id> {
        self.stored_by.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limits = PeerLimits { requests_per_second: 10, request_burst: 5, ..PeerLimits::default() };
        let mut limiter = Limiter::default();
        let peer = Id::hash(b"p");
        let allowed = (0..20).filter(|_| limiter.admit_request(&limits, &peer, Time(0))).count();
        assert_eq!(allowed, 5);
        // 10 per second: after 300 ms, three more.
        let allowed = (0..20).filter(|_| limiter.admit_request(&limits, &peer, Time(300))).count();
        assert_eq!(allowed, 3);
        assert!(limiter.admit_request(&limits, &Id::hash(b"other"), Time(300)));
        // Two seconds later both buckets are full again, and tidying forgets them.
        limiter.tidy(&limits, Time(2300));
        assert!(limiter.buckets.is_empty());
    }

    #[test]
    fn storage_is_counted_per_peer_and_released() {
        let limits = PeerLimits { records_per_peer: 2, bytes_per_peer: 250, ..PeerLimits::default() };
        let mut limiter = Limiter::default();
        let (p, q) = (Id::hash(b"p"), Id::hash(b"q"));
        let key = |n: u8| Id::hash(&[n]);
        limiter.stored(&p, key(1), 100);
        limiter.stored(&p, key(2), 100);
        assert!(limiter.check_store(&limits, &p, &key(3), 10).is_err(), "third record");
        assert!(limiter.check_store(&limits, &p, &key(2), 150).is_ok(), "replacing its own");
        assert!(limiter.check_store(&limits, &p, &key(2), 151).is_err(), "over the bytes");
        assert!(limiter.check_store(&limits, &q, &key(3), 10).is_ok(), "another peer");
        limiter.stored(&q, key(2), 10);
        assert!(limiter.check_store(&limits, &p, &key(3), 10).is_ok(), "p's copy of key 2 was replaced by q's");
        limiter.forget(&key(1));
        assert_eq!(limiter.counted_keys(), vec![key(2)]);
    }
}
