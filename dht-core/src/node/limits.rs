//! Per-peer and per-network limits, so that no single peer — and, since
//! ids are free, no single network of peers — can exhaust a node: token
//! buckets on the requests they send, and caps on the records and bytes
//! they have stored here. A peer's network is its public IPv4 /24 or IPv6
//! /48 ([`crate::NetPrefix`]); loopback, private and link-local addresses
//! have none and are limited per peer only. Over a limit the peer gets
//! [`super::Refusal::Busy`] or [`super::Refusal::Quota`] and nothing else
//! changes — its request is not even taken as a sign that it is alive.

use crate::{Id, IdBuildHasher, NetPrefix, Peer, Time};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

/// What one peer, and one network of peers, may ask of a node. The
/// defaults leave room for the bursts an honest peer makes (a joining
/// neighbour hands over thousands of records at once) while capping a
/// flood at a rate the node can serve; a network may do a few times what
/// one peer may, so that a host minting ids cannot multiply its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Requests per second the peers of one public network may keep up
    /// together (default 4,000).
    pub requests_per_second_per_network: u32,
    /// Requests the peers of one public network may send at once (default 40,000).
    pub request_burst_per_network: u32,
    /// Records stored here on the requests of one public network's peers
    /// (default 200,000: a fifth of the default store quota).
    pub records_per_network: usize,
    /// Bytes stored here on the requests of one public network's peers
    /// (default 512 MiB: half the default store quota).
    pub bytes_per_network: usize,
}

impl Default for PeerLimits {
    fn default() -> PeerLimits {
        PeerLimits {
            requests_per_second: 1_000,
            request_burst: 10_000,
            records_per_peer: 100_000,
            bytes_per_peer: 256 << 20,
            requests_per_second_per_network: 4_000,
            request_burst_per_network: 40_000,
            records_per_network: 200_000,
            bytes_per_network: 512 << 20,
        }
    }
}

/// Most accounts whose bucket is tracked between two tidy-ups; past it,
/// full buckets are dropped at once.
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

/// Rate and storage limits of one kind of account.
#[derive(Debug, Clone, Copy)]
struct Caps {
    rate: u32,
    burst: u32,
    records: usize,
    bytes: usize,
}

/// Request buckets and storage usage by account (a peer, or a network).
#[derive(Debug)]
struct Accounts<K, H> {
    buckets: HashMap<K, Bucket, H>,
    usage: HashMap<K, Usage, H>,
}

impl<K, H: Default> Default for Accounts<K, H> {
    fn default() -> Self {
        Accounts { buckets: HashMap::default(), usage: HashMap::default() }
    }
}

impl<K: Hash + Eq + Copy, H: BuildHasher> Accounts<K, H> {
    /// Takes one token from `account`'s bucket; `false` if it is empty.
    fn admit(&mut self, caps: Caps, account: K, now: Time) -> bool {
        let burst = f64::from(caps.burst);
        if self.buckets.len() >= MAX_TRACKED && !self.buckets.contains_key(&account) {
            self.tidy(caps, now);
        }
        let bucket = self.buckets.entry(account).or_insert(Bucket { tokens: burst, refilled: now });
        let elapsed = now.since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * f64::from(caps.rate)).min(burst);
        bucket.refilled = now;
        if bucket.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        true
    }

    /// Gives back a token taken by [`Accounts::admit`] for a request that
    /// another account then refused.
    fn refund(&mut self, account: &K) {
        if let Some(bucket) = self.buckets.get_mut(account) {
            bucket.tokens += 1.0;
        }
    }

    /// Drops the buckets that have refilled: a full bucket means the same
    /// as none.
    fn tidy(&mut self, caps: Caps, now: Time) {
        let (rate, burst) = (f64::from(caps.rate), f64::from(caps.burst));
        self.buckets.retain(|_, b| b.tokens + now.since(b.refilled).as_secs_f64() * rate < burst);
    }

    /// Whether `account` may add `records` records and `size` bytes, after
    /// giving back `freed` bytes (a record of its own it replaces).
    fn check(&self, caps: Caps, account: &K, records: usize, freed: usize, size: usize) -> Result<(), String> {
        let usage = self.usage.get(account).copied().unwrap_or_default();
        if usage.records + records > caps.records {
            return Err(format!("at most {} records", caps.records));
        }
        if usage.bytes - freed.min(usage.bytes) + size > caps.bytes {
            return Err(format!("at most {} bytes", caps.bytes));
        }
        Ok(())
    }

    fn add(&mut self, account: K, size: usize) {
        let usage = self.usage.entry(account).or_default();
        usage.records += 1;
        usage.bytes += size;
    }

    fn remove(&mut self, account: &K, size: usize) {
        if let Some(usage) = self.usage.get_mut(account) {
            usage.records -= 1;
            usage.bytes -= size;
            if usage.records == 0 {
                self.usage.remove(account);
            }
        }
    }
}

/// Who stored a record held on another's behalf, and its size.
#[derive(Debug, Clone, Copy)]
struct StoredBy {
    peer: Id,
    network: Option<NetPrefix>,
    size: usize,
}

/// The state behind [`PeerLimits`].
#[derive(Debug, Default)]
pub(super) struct Limiter {
    peers: Accounts<Id, IdBuildHasher>,
    networks: Accounts<NetPrefix, std::collections::hash_map::RandomState>,
    stored_by: HashMap<Id, StoredBy, IdBuildHasher>,
}

fn peer_caps(limits: &PeerLimits) -> Caps {
    Caps {
        rate: limits.requests_per_second,
        burst: limits.request_burst,
        records: limits.records_per_peer,
        bytes: limits.bytes_per_peer,
    }
}

fn network_caps(limits: &PeerLimits) -> Caps {
    Caps {
        rate: limits.requests_per_second_per_network,
        burst: limits.request_burst_per_network,
        records: limits.records_per_network,
        bytes: limits.bytes_per_network,
    }
}

impl Limiter {
    /// Takes one token from `peer`'s bucket and from its network's; `false`
    /// (taking none) if either is empty.
    pub(super) fn admit_request(&mut self, limits: &PeerLimits, peer: &Peer, now: Time) -> bool {
        if !self.peers.admit(peer_caps(limits), peer.id, now) {
            return false;
        }
        let Some(network) = peer.addr.net_prefix() else { return true };
        if self.networks.admit(network_caps(limits), network, now) {
            return true;
        }
        self.peers.refund(&peer.id);
        false
    }

    /// Drops the buckets that have refilled: a node hears from thousands of
    /// peers in passing (a simulated network holds one limiter per node).
    pub(super) fn tidy(&mut self, limits: &PeerLimits, now: Time) {
        self.peers.tidy(peer_caps(limits), now);
        self.networks.tidy(network_caps(limits), now);
    }

    /// Whether `peer` may store a record of `size` bytes under `key`
    /// (replacing what it, or its network, stored there before costs
    /// nothing extra).
    pub(super) fn check_store(&self, limits: &PeerLimits, peer: &Peer, key: &Id, size: usize) -> Result<(), String> {
        let before = self.stored_by.get(key);
        let (records, freed) = match before {
            Some(b) if b.peer == peer.id => (0, b.size),
            _ => (1, 0),
        };
        self.peers
            .check(peer_caps(limits), &peer.id, records, freed, size)
            .map_err(|e| format!("this peer may store {e} here"))?;
        let Some(network) = peer.addr.net_prefix() else { return Ok(()) };
        let (records, freed) = match before {
            Some(b) if b.network == Some(network) => (0, b.size),
            _ => (1, 0),
        };
        self.networks
            .check(network_caps(limits), &network, records, freed, size)
            .map_err(|e| format!("the peers of this network may store {e} here"))
    }

    /// Counts a record of `size` bytes stored under `key` against `peer`
    /// and its network.
    pub(super) fn stored(&mut self, peer: &Peer, key: Id, size: usize) {
        self.forget(&key);
        let network = peer.addr.net_prefix();
        self.peers.add(peer.id, size);
        if let Some(network) = network {
            self.networks.add(network, size);
        }
        self.stored_by.insert(key, StoredBy { peer: peer.id, network, size });
    }

    /// Stops counting `key` against whoever stored it (it was replaced by
    /// this node's own write, removed or expired).
    pub(super) fn forget(&mut self, key: &Id) {
        let Some(by) = self.stored_by.remove(key) else { return };
        self.peers.remove(&by.peer, by.size);
        if let Some(network) = by.network {
            self.networks.remove(&network, by.size);
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
    use crate::Address;

    /// A peer on loopback: limited per peer only.
    fn local(name: &[u8]) -> Peer {
        Peer::new(Id::hash(name), Address::Socket(([127, 0, 0, 1], 4000).into()))
    }

    /// A peer with a public address in 203.0.113.0/24.
    fn public(n: u8) -> Peer {
        Peer::new(Id::hash(&[n]), Address::Socket(([203, 0, 113, n], 4000).into()))
    }

    /// Ids are free: fresh ids from one public /24 share one network's
    /// allowance, of storage and of requests.
    #[test]
    fn fresh_ids_of_one_network_share_its_allowance() {
        let mut limits = PeerLimits::default();
        limits.records_per_network = 3;
        limits.request_burst_per_network = 5;
        let mut limiter = Limiter::default();
        for n in 0..3u8 {
            let key = Id::hash(&[b'k', n]);
            assert!(limiter.check_store(&limits, &public(n), &key, 10).is_ok());
            limiter.stored(&public(n), key, 10);
        }
        let refused = limiter.check_store(&limits, &public(9), &Id::hash(b"more"), 10);
        assert!(refused.is_err_and(|e| e.contains("network")), "a fourth id of the network is refused");
        assert!(limiter.check_store(&limits, &public(0), &Id::hash(&[b'k', 0]), 10).is_ok(), "replacing is free");
        assert!(limiter.check_store(&limits, &local(b"x"), &Id::hash(b"more"), 10).is_ok(), "other networks are not");
        let admitted = (0..20u8).filter(|n| limiter.admit_request(&limits, &public(*n), Time(0))).count();
        assert_eq!(admitted, 5, "one network's burst, whatever the ids");
        assert!(limiter.admit_request(&limits, &local(b"y"), Time(0)));
        limiter.forget(&Id::hash(&[b'k', 1]));
        assert!(limiter.check_store(&limits, &public(9), &Id::hash(b"more"), 10).is_ok(), "released");
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limits = PeerLimits { requests_per_second: 10, request_burst: 5, ..PeerLimits::default() };
        let mut limiter = Limiter::default();
        let peer = local(b"p");
        let allowed = (0..20).filter(|_| limiter.admit_request(&limits, &peer, Time(0))).count();
        assert_eq!(allowed, 5);
        // 10 per second: after 300 ms, three more.
        let allowed = (0..20).filter(|_| limiter.admit_request(&limits, &peer, Time(300))).count();
        assert_eq!(allowed, 3);
        assert!(limiter.admit_request(&limits, &local(b"other"), Time(300)));
        // Two seconds later both buckets are full again, and tidying forgets them.
        limiter.tidy(&limits, Time(2300));
        assert!(limiter.peers.buckets.is_empty());
    }

    #[test]
    fn storage_is_counted_per_peer_and_released() {
        let limits = PeerLimits { records_per_peer: 2, bytes_per_peer: 250, ..PeerLimits::default() };
        let mut limiter = Limiter::default();
        let (p, q) = (local(b"p"), local(b"q"));
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
