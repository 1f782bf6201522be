//! The `Overlay` trait: an overlay's routing logic, alone, as a synchronous
//! state machine. The node ([`crate::Node`]) owns storage, replication and
//! request bookkeeping; an overlay only decides who is responsible for a key
//! and how to find them. Vocabulary follows the Key-Based Routing API of
//! Dabek et al.: `replica_set`, `neighbours`, `update` (here `peer_alive` /
//! `peer_failed`).

use crate::{Id, Peer, Rng, Role, Time};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::time::Duration;

/// Something the overlay wants done; the node carries it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<M> {
    /// Send a maintenance request; the answer comes back through
    /// [`Overlay::handle_response`], silence through [`Overlay::peer_failed`].
    Send(Peer, M),
    /// Run a lookup for this target; its outcome comes back through
    /// [`Overlay::lookup_done`] (bucket refresh, finger repair, joining).
    Lookup(Id),
}

/// How a lookup ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LookupOutcome {
    /// The peers found responsible for the target, best first. May include
    /// the local node.
    pub closest: Vec<Peer>,
    /// Path length: how many peers were traversed, one after the other, to
    /// reach the first of `closest`.
    pub hops: u32,
}

/// One lookup in progress: names the next peers to ask, takes their answers
/// or their silence, and ends with the responsible peers — the shape of
/// libp2p-kad's `ClosestPeersIter`, generalised to any overlay.
pub trait Lookup: Send + 'static {
    /// The overlay's message type.
    type Message;

    /// Requests to send now (may be empty while answers are awaited).
    fn poll(&mut self) -> Vec<(Peer, Self::Message)>;

    /// An answer from `from` to a request this lookup sent.
    fn on_response(&mut self, from: &Peer, message: Self::Message);

    /// `from` did not answer in time, or answered with nonsense.
    fn on_failure(&mut self, from: &Peer);

    /// Whether the lookup has ended (no request in flight, none to send).
    fn is_done(&self) -> bool;

    /// The result so far; final once [`Lookup::is_done`].
    fn outcome(&self) -> LookupOutcome;
}

/// An overlay's routing logic. Implementations do no I/O, read no clock and
/// use only the seeded [`Rng`] they are handed: that is what lets the same
/// code run in the deterministic simulator and over QUIC.
pub trait Overlay: Send + 'static {
    /// The overlay's own messages (requests and responses alike).
    type Message: Serialize + DeserializeOwned + Clone + Debug + Send + 'static;
    /// Its lookup state machine.
    type Lookup: Lookup<Message = Self::Message>;

    /// The overlay's name, carried in every frame so that nodes of different
    /// overlays refuse each other's messages.
    const NAME: &'static str;

    /// This node.
    fn local(&self) -> Peer;

    /// Start joining through the given known peers (none: start a new
    /// network). A [`Role::Client`] takes no place in the overlay: it only
    /// learns whom to ask, answers nothing that would make it a member,
    /// and sends no maintenance that announces it.
    fn bootstrap(&mut self, peers: &[Peer], role: Role, now: Time) -> Vec<Action<Self::Message>>;

    /// Whether this node has joined: it holds the routing state its
    /// bootstrap set out to get (Kademlia: its own lookup ended; Chord: it
    /// has a successor; CAN: it holds a zone). [`Overlay::bootstrap`] with
    /// no peers starts a network and joins at once. The node's
    /// `bootstrap` returns when this turns true. The default, for an
    /// overlay whose join needs no exchange, is always joined.
    fn is_joined(&self) -> bool {
        true
    }

    /// Answer an overlay request from `from`.
    fn handle_request(&mut self, from: &Peer, message: Self::Message, now: Time) -> Self::Message;

    /// The answer to a maintenance request sent through [`Action::Send`].
    fn handle_response(&mut self, from: &Peer, message: Self::Message, now: Time) -> Vec<Action<Self::Message>>;

    /// Begin a lookup for `target` that ends once it knows the `wanted`
    /// peers closest to it: the replica count for a put or a get, and
    /// `usize::MAX` ("as many as the overlay keeps") for the lookups the
    /// overlay asked for itself ([`Action::Lookup`]). An overlay whose
    /// lookups end at the owner (Chord, CAN) may ignore it.
    fn lookup(&mut self, target: Id, wanted: usize, now: Time) -> Self::Lookup;

    /// A lookup started through [`Action::Lookup`] has ended.
    fn lookup_done(&mut self, target: Id, outcome: &LookupOutcome, now: Time) -> Vec<Action<Self::Message>>;

    /// The `n` peers that, as far as this node knows, should hold `key`,
    /// best first; may include the local node.
    fn replica_set(&self, key: &Id, n: usize) -> Vec<Peer>;

    /// Whether [`Overlay::replica_set`] for `key` is first-hand: the key
    /// and its `n` replicas lie within the part of the network this node
    /// knows peer by peer (default: always). A node holding a record for a
    /// key it does not know the set of — a spare far from the key, say —
    /// finds the set by a lookup and hands the record off to it, instead
    /// of pushing it to a guess, which a guessing receiver would push on
    /// again. An overlay whose view thins out away from its own position
    /// (Chord's fingers) says false there.
    fn knows_replica_set(&self, _key: &Id, _n: usize) -> bool {
        true
    }

    /// Periodic maintenance; called every [`Overlay::tick_interval`].
    fn tick(&mut self, now: Time, rng: &mut Rng) -> Vec<Action<Self::Message>>;

    /// How often [`Overlay::tick`] runs.
    fn tick_interval(&self) -> Duration;

    /// A peer answered a request: it is alive, and reachable at its address.
    fn peer_alive(&mut self, peer: &Peer, now: Time);

    /// A peer sent a request. Its id is verified (by the transport) but not
    /// that it answers at its address; an overlay that admits only peers
    /// that answered can probe it first (the default takes it as alive).
    fn peer_contacted(&mut self, peer: &Peer, now: Time) -> Vec<Action<Self::Message>> {
        self.peer_alive(peer, now);
        Vec::new()
    }

    /// A peer failed to answer in time.
    fn peer_failed(&mut self, peer: &Peer, now: Time);

    /// This node is leaving gracefully: messages that tell the peers who
    /// must know (Chord's predecessor and successor, CAN's neighbours).
    fn leave(&mut self, now: Time) -> Vec<Action<Self::Message>>;

    /// Peers this node keeps routing state for (the KBR `neighborSet`).
    fn neighbours(&self) -> Vec<Peer>;

    /// A number that changes whenever this node's view of who holds which
    /// keys may have changed: a peer entered or left the routing state
    /// that [`Overlay::replica_set`] draws from, or this node's own range
    /// moved. A node that holds records reads it every tick and, when it
    /// moved, re-replicates at once the keys whose replica set changed —
    /// to a peer that joined inside the range, or after its own range grew
    /// — instead of waiting for the periodic repair pass.
    ///
    /// The default fingerprints [`Overlay::neighbours`]: right for any
    /// overlay, and cheap for one with a small neighbour set; an overlay
    /// with a large routing table should count its changes instead.
    fn view_epoch(&self) -> u64 {
        crate::fingerprint(&self.neighbours())
    }
}
