//! Settings of the node's protocol logic.

use super::PeerLimits;
use crate::{Quota, Role, SharedValidator, Time};
use std::time::Duration;

/// How a node replicates, times out and maintains its records.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NodeConfig {
    /// Replicas per key, `r` (default 3).
    pub replicas: usize,
    /// Acknowledgements a put needs (default: a majority of `replicas`).
    pub write_quorum: usize,
    /// Answers a get waits for before returning a found record (default: a
    /// majority of `replicas`); a get returns earlier only when every asked
    /// replica has answered.
    pub read_quorum: usize,
    /// Copies of a key kept beyond its replica set, on the peers next in
    /// line after its `replicas` members (default 1). Writers do not wait
    /// for them and their copies never vote in a read: they are hints, as
    /// a copy pushed by repair is. Repair keeps them as it keeps the
    /// replicas, so a key is lost only when all `replicas + spares`
    /// holders fail within the delay before a failure is noticed, and a
    /// spare already holds the key when a member's failure makes it one.
    /// 0 keeps plain `replicas` copies (docs/RESULTS.md, "A spare copy").
    pub spares: usize,
    /// The longest a request may go unanswered before it counts as failed
    /// (default 2 s). The node waits less once it has measured round trips:
    /// a few smoothed round trips, but never less than `min_request_timeout`.
    pub request_timeout: Duration,
    /// The shortest wait for an answer (default 250 ms).
    pub min_request_timeout: Duration,
    /// How long [`crate::NodeHandle::bootstrap`] waits for the node to join
    /// before it gives up waiting (default 30 s); the node itself goes on
    /// trying through its maintenance.
    pub join_timeout: Duration,
    /// Most requests one lookup may send (default 256; a Kademlia lookup in
    /// 100,000 nodes sends about 45). A lookup that spends them ends with
    /// the peers it found so far.
    pub max_lookup_requests: usize,
    /// Longest a lookup may run (default 30 s); it then ends with the peers
    /// it found so far.
    pub lookup_deadline: Duration,
    /// Times a put or get whose lookup found nobody to store on or fetch
    /// from looks again, at the next node ticks, before it fails
    /// (default 3). Such a path ran into a node just killed before its
    /// neighbours noticed; the overlay mends within a round or two. A get
    /// whose candidates held the record only as hints
    /// ([`super::Response::CatchingUp`]), or said "no such key" while a
    /// member of the replica set was silent or a hint, looks again as often
    /// before it answers: its path ended beside the key's replicas. So
    /// does a put that too few replicas took, the rest of its quorum being
    /// spares ([`super::Response::StoredAsSpare`]).
    pub lookup_retries: u32,
    /// How often expired requests, overdue timers and store expiry are
    /// checked (default 1 s).
    pub tick_interval: Duration,
    /// How often every held key's replica set is checked and new members
    /// are sent the record (default 60 s).
    pub repair_interval: Duration,
    /// How often a node that holds records checks that the peers in their
    /// replica sets and spares are alive (default 2 s; checks run at
    /// ticks): it pings
    /// those it has not heard from for this long — an answer counts from
    /// when its request left, so a peer that answered the last check's
    /// ping is pinged again at this one — and one that fails to answer
    /// makes the node re-replicate the keys it held at once. With the
    /// time a ping takes to fail, this is the delay before a lost
    /// replica is replaced, which is what decides how much churn a key
    /// survives: a key is lost when its other `replicas + spares − 1`
    /// holders fail within that delay, so the loss grows with that power
    /// of it (docs/RESULTS.md, "The detection delay", "A spare copy").
    pub replica_check_interval: Duration,
    /// How long a node keeps a record it handed off to the key's new
    /// replica set after the last member acknowledged it (default 30 s),
    /// answering fetches with it as a hint, not a vote. Under churn, views
    /// of a replica set disagree for a while; a reader whose view still
    /// names the old holders then finds the record rather than nothing.
    pub handoff_linger: Duration,
    /// How often every held record is pushed to its replicas whatever
    /// changed (default 1 h, as in Kademlia).
    pub republish_interval: Duration,
    /// Most repair and republish pushes awaiting an answer at once (default
    /// 64): a pass queues its pushes and the node sends them as answers
    /// come back, so a republish of every record is spread out, not a burst.
    pub max_repair_in_flight: usize,
    /// Lifetime given to records put without an explicit expiry (default 24 h).
    pub record_ttl: Duration,
    /// The furthest in the future a record offered to this node may expire
    /// (default 25 h: the default lifetime and an hour for clocks that
    /// disagree). Longer is refused, so nobody keeps a record alive for
    /// ever; an owner renews its records by writing them again.
    pub max_record_lifetime: Duration,
    /// How far ahead of this node's clock an open record's version may be
    /// (default 1 h). Open versions are their writers' clocks in
    /// milliseconds; without a bound, a version of `u64::MAX` would win over
    /// every later write for good. Signed records' versions are their
    /// owners' sequence numbers and are not bounded.
    pub max_version_ahead: Duration,
    /// Limits on records this node accepts for storage.
    pub quota: Quota,
    /// A member of the overlay (the default) or a client of it: a client
    /// routes and runs puts and gets, never counts itself as a replica and
    /// refuses store requests — for short-lived processes such as a
    /// command-line `put`. The node hands it to the overlay and the
    /// transport; see [`Role`].
    pub role: Role,
    /// Application rules for records, on top of the built-in ones
    /// (default: none). Every node of a network must use the same.
    pub validator: SharedValidator,
    /// What one peer may ask of this node.
    pub limits: PeerLimits,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig::with_replicas(3)
    }
}

impl NodeConfig {
    /// Defaults with `r` replicas and majority quorums.
    pub fn with_replicas(replicas: usize) -> NodeConfig {
        let replicas = replicas.max(1);
        NodeConfig {
            replicas,
            write_quorum: replicas / 2 + 1,
            read_quorum: replicas / 2 + 1,
            spares: 1,
            request_timeout: Duration::from_secs(2),
            min_request_timeout: Duration::from_millis(250),
            join_timeout: Duration::from_secs(30),
            max_lookup_requests: 256,
            lookup_deadline: Duration::from_secs(30),
            lookup_retries: 3,
            tick_interval: Duration::from_secs(1),
            repair_interval: Duration::from_secs(60),
            replica_check_interval: Duration::from_secs(2),
            handoff_linger: Duration::from_secs(30),
            republish_interval: Duration::from_secs(3600),
            max_repair_in_flight: 64,
            record_ttl: Duration::from_secs(24 * 3600),
            max_record_lifetime: Duration::from_secs(25 * 3600),
            max_version_ahead: Duration::from_secs(3600),
            quota: Quota::default(),
            role: Role::Member,
            validator: SharedValidator::default(),
            limits: PeerLimits::default(),
        }
    }

    /// Peers that hold each key: its replicas and its spares.
    pub fn holders(&self) -> usize {
        self.replicas + self.spares
    }

    /// The expiry of a record put at `now` with the default lifetime.
    pub fn expiry_from(&self, now: Time) -> Time {
        now + self.record_ttl
    }
}
