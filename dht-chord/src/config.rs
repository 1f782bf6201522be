//! Chord's parameters.

use std::time::Duration;

/// Settings of a Chord node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChordConfig {
    /// Successors kept, `r` in the paper (default 16).
    pub successors: usize,
    /// How often `stabilize`, `check_predecessor` and one `fix_fingers`
    /// step run (default 5 s).
    pub stabilize_interval: Duration,
    /// Candidates a node returns when it cannot answer a lookup itself: the
    /// closest preceding node and the next ones, for fall-back (default 3).
    pub next_hops: usize,
    /// Requests in a row a peer must fail before it is dropped from the
    /// ring view (default 2): one lost datagram on a lossy link is not a
    /// dead node, and dropping live successors thins the lists lookups
    /// need.
    pub failures_to_drop: u8,
    /// Most peers of one public network (IPv4 /24, IPv6 /48) in the
    /// successor list, and among the fingers (default 4); local addresses
    /// are exempt. Raise it for a deployment with many nodes in one public
    /// /24: skipped successors cost those nodes replica places.
    pub max_per_prefix: usize,
}

impl Default for ChordConfig {
    fn default() -> ChordConfig {
        ChordConfig {
            successors: 16,
            stabilize_interval: Duration::from_secs(5),
            next_hops: 3,
            failures_to_drop: 2,
            max_per_prefix: 4,
        }
    }
}
