//! CAN's parameters.

use std::time::Duration;

/// Settings of a CAN node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CanConfig {
    /// Dimensions of the torus, 1 to 16 (default 4); a number outside is
    /// raised or lowered to the nearest allowed. Every node of a network
    /// must use the same number.
    pub dimensions: usize,
    /// The paper's uniform partitioning (default `true`): a node asked to
    /// make room for a newcomer splits the largest zone among itself and its
    /// neighbours rather than always its own, which evens out zone volumes.
    pub uniform_partitioning: bool,
    /// How often a node sends its zones and neighbour list to every
    /// neighbour, and runs take-over and zone reassignment (default 2 s).
    pub update_interval: Duration,
    /// Neighbours returned when a node cannot answer a lookup itself: the
    /// nearest to the point, then fall-backs (default 3).
    pub next_hops: usize,
    /// Peers an owner returns for a key: itself, then the nearest zones'
    /// owners, from which the node takes its `r` replicas and fall-backs
    /// (default 8).
    pub answer_size: usize,
    /// Requests in a row a neighbour must fail before it is held dead and
    /// its zone taken over (default 2).
    pub failures_to_drop: u8,
    /// A node refuses to split its zone for a newcomer whose public network
    /// (IPv4 /24, IPv6 /48) already holds this many of its neighbours
    /// (default 4), so one host cannot surround a node; local addresses
    /// are exempt.
    pub max_per_prefix: usize,
}

impl Default for CanConfig {
    fn default() -> CanConfig {
        CanConfig {
            dimensions: 4,
            uniform_partitioning: true,
            update_interval: Duration::from_secs(2),
            next_hops: 3,
            answer_size: 8,
            failures_to_drop: 2,
            max_per_prefix: 4,
        }
    }
}
