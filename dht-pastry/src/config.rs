//! Pastry's parameters.

use std::time::Duration;

/// Settings of a Pastry node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PastryConfig {
    /// Bits per digit, `b` in the paper (default 4: ids are read as
    /// hexadecimal digits, and the routing table has 2^b − 1 columns per
    /// row). 1, 2, 4 and 8 divide the 256-bit id; any other value is
    /// taken as the largest of those below it.
    pub digit_bits: u8,
    /// Leaf-set size `L` (default 16): the L/2 nodes with the next smaller
    /// ids and the L/2 with the next larger ones. Replicas live there.
    pub leaf_set: usize,
    /// How often a node trades leaf sets with its two nearest leaves, pings
    /// one more leaf and refreshes one routing-table row (default 5 s).
    pub maintenance_interval: Duration,
    /// Candidates a node names when it forwards a lookup: the routing-table
    /// entry, then fall-backs that are also closer to the key (default 3).
    pub next_hops: usize,
    /// Requests in a row a peer must fail before it is dropped (default 2):
    /// one lost datagram is not a dead node.
    pub failures_to_drop: u8,
    /// Most peers of one public network (IPv4 /24, IPv6 /48) on each side
    /// of the leaf set (default 4; local addresses are exempt), so that one
    /// network cannot surround a node's replicas.
    pub max_per_prefix: usize,
}

impl Default for PastryConfig {
    fn default() -> PastryConfig {
        PastryConfig {
            digit_bits: 4,
            leaf_set: 16,
            maintenance_interval: Duration::from_secs(5),
            next_hops: 3,
            failures_to_drop: 2,
            max_per_prefix: 4,
        }
    }
}

impl PastryConfig {
    /// `digit_bits` as used: 1, 2, 4 or 8.
    pub(crate) fn bits(&self) -> u8 {
        match self.digit_bits {
            0 | 1 => 1,
            2 | 3 => 2,
            4..=7 => 4,
            _ => 8,
        }
    }

    /// Leaves kept on each side (at least one).
    pub(crate) fn half_leaf_set(&self) -> usize {
        (self.leaf_set / 2).max(1)
    }
}
