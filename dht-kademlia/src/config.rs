//! Kademlia's parameters, with the paper's defaults.

use std::time::Duration;

/// Settings of a Kademlia node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KademliaConfig {
    /// Bucket size and lookup width, `k` (default 20).
    pub k: usize,
    /// Requests a lookup keeps in flight, `α` (default 3).
    pub alpha: usize,
    /// Failed requests in a row after which a contact is dropped (default 5).
    pub stale_after: u32,
    /// Failures in a row after which a contact is dropped when a replacement
    /// is waiting for its place (default 2).
    pub stale_after_with_replacement: u32,
    /// A bucket not looked up for this long is refreshed (default 1 h).
    pub refresh_interval: Duration,
    /// A bucket's least-recently-seen contact is pinged when newcomers wait
    /// and it has not been heard from for this long (default 60 s).
    pub ping_interval: Duration,
    /// How often maintenance runs (default 10 s).
    pub tick_interval: Duration,
    /// Most peers of one public network (IPv4 /24, IPv6 /48) in one bucket
    /// (default 2, as in Ethereum's discovery); local addresses are exempt.
    pub max_per_prefix_bucket: usize,
    /// Most peers of one public network in the whole table (default 10).
    pub max_per_prefix_table: usize,
    /// Disjoint lookup paths, S/Kademlia's `d` (default 1: the plain
    /// lookup). With `d > 1` the starting peers are dealt out to `d` lookups
    /// that never share a peer, and the results are merged: a lookup costs
    /// about `d` times the messages and survives malicious nodes that
    /// answer with their colluders.
    pub disjoint_paths: usize,
    /// Buckets a joining node refreshes at once after its own lookup,
    /// nearest first from the one beyond its closest neighbour's (default
    /// 2); the rest fill from the peers it meets and are refreshed at
    /// `refresh_interval`, as deployed Kademlias do. `usize::MAX` refreshes
    /// every bucket, as the paper's join does: a lookup per bucket, most of
    /// what a join costs and most of a simulation under churn
    /// (docs/RESULTS.md "What a join costs"). The buckets next to the
    /// closest neighbour's introduce the node to the peers it shares
    /// replica sets with, which a self-lookup alone sometimes leaves
    /// unaware of it.
    pub join_refresh_buckets: usize,
}

impl Default for KademliaConfig {
    fn default() -> KademliaConfig {
        KademliaConfig {
            k: 20,
            alpha: 3,
            stale_after: 5,
            stale_after_with_replacement: 2,
            refresh_interval: Duration::from_secs(3600),
            ping_interval: Duration::from_secs(60),
            tick_interval: Duration::from_secs(10),
            max_per_prefix_bucket: 2,
            max_per_prefix_table: 10,
            disjoint_paths: 1,
            join_refresh_buckets: 2,
        }
    }
}
