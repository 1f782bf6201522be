//! `dht-can`: the Content-Addressable Network overlay (Ratnasamy et al.,
//! SIGCOMM 2001) for the `dht` framework.
//!
//! - [`space`]: the d-dimensional unit torus, key points, zones as nodes of
//!   the split tree.
//! - [`view`]: a node's zones, its neighbours' zones and their neighbour
//!   lists (two hops of knowledge).
//! - [`lookup`]: greedy routing as an iterative lookup with fall-back.
//! - `recovery`: take-over of a silent neighbour's zone, duplicate claims,
//!   and the background reassignment that leaves each node one zone.
//! - [`CanConfig`]: dimensions, uniform partitioning, update interval.
//!
//! A joining node routes to the point of its own id and asks the owner for
//! room: the owner (or, with uniform partitioning, its neighbour with the
//! largest zone) halves its zone along the next dimension in order and
//! hands one half over with its neighbour list. Every
//! [`CanConfig::update_interval`] each node sends its zones and neighbour
//! list to each neighbour (the paper's soft state). A key lives on the `r`
//! nodes whose zones lie nearest its point — the owner and, next, the zones
//! around it — so a replica sits beside the zone a take-over hands on, and
//! the node's repair passes move copies as zones change hands.
//!
//! ```
//! use dht_can::{Can, CanConfig};
//! use dht_core::{Address, Id, MemoryStore, Node, NodeConfig, Peer, Time};
//!
//! let me = Peer::new(Id::hash(b"node-1"), Address::Memory(1));
//! let mut config = CanConfig::default();
//! config.dimensions = 2;
//! let mut node = Node::new(Can::new(me, config), MemoryStore::default(), NodeConfig::default(), 7, Time::ZERO);
//! node.bootstrap(&[], Time::ZERO);
//! let op = node.put(Id::hash(b"greeting"), &b"hello"[..], Time::ZERO);
//! assert_eq!(node.poll_event().unwrap().op, op);
//! ```

mod config;
pub mod lookup;
mod partition;
mod recovery;
use recovery::Claim;
pub mod space;
pub mod view;

pub use config::CanConfig;
pub use lookup::CanLookup;
pub use space::{Point, Space, Zone};
pub use view::{Owner, Owners, View};

use dht_core::{Action, Directory, Id, LookupOutcome, Overlay, Peer, Rng, Role, SimOverlay, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Ticks between two join attempts while a node has no zone.
const JOIN_RETRY_ROUNDS: u64 = 2;

/// CAN's messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CanMessage {
    /// Request: a lookup step toward the point of this key.
    Route(Id),
    /// Answer: the point is in my zone; the peers nearest it, owner first.
    Owner(Vec<Peer>),
    /// Answer: my neighbours nearer the point, nearest first.
    Closer(Vec<Peer>),
    /// Request from a newcomer: make room for me.
    Join {
        /// `None` on the first ask, which may be redirected. After a
        /// redirect, the depth of the redirecting node's zone: split yours
        /// only if it is no deeper (the redirect may rest on stale news).
        redirected: Option<u8>,
    },
    /// Answer to `Join`: ask this neighbour, whose zone is larger than
    /// mine, at this depth.
    Redirect(Peer, u8),
    /// Answer to `Join`: your zones, and the neighbours to start from.
    Welcome {
        /// The zones handed to the newcomer.
        zones: Vec<Zone>,
        /// The old owner and its neighbours.
        neighbours: Vec<Owner>,
    },
    /// Request and answer: the soft-state update, my zones and my
    /// neighbours with theirs.
    Update {
        /// The sender's zones.
        zones: Vec<Zone>,
        /// Those of them it holds by taking over a silent neighbour's:
        /// they give way to a live holder's claim.
        taken: Vec<Zone>,
        /// The sender's neighbours.
        neighbours: Owners,
    },
    /// Request: I took over zones of a failed neighbour.
    TakeOver {
        /// Every zone the sender holds by take-over, those just taken among
        /// them.
        taken: Vec<Zone>,
        /// All the sender's zones now, which settle a double claim.
        zones: Vec<Zone>,
    },
    /// Request: take these zones (a graceful leave, or reassignment).
    Give {
        /// The zones handed over.
        zones: Vec<Zone>,
        /// Those of them the giver held by take-over: the taker holds them
        /// on the same terms.
        taken: Vec<Zone>,
        /// The giver's neighbours: the zones' neighbours, for the taker.
        neighbours: Vec<Owner>,
    },
    /// Answer to `Give`: taken.
    Taken(Vec<Zone>),
    /// Request: I am leaving; `to` takes my zones.
    Leaving {
        /// The leaving node's zones.
        zones: Vec<Zone>,
        /// The neighbour that takes them.
        to: Peer,
    },
    /// Answer: refused (no zone yet, or the request makes no sense here).
    Refused,
    /// Answer to anything that needs no data.
    Ack,
}

/// Zones waiting for a taker: a silent neighbour's, or zones a neighbour
/// stopped claiming without anyone claiming them yet.
#[derive(Debug, Clone)]
struct Orphan {
    /// Who held them.
    owner: Id,
    /// Whether the owner fell silent (rather than let the zones go).
    silent: bool,
    zones: Vec<Zone>,
    /// The owner's neighbours, from its last update: the other candidates.
    theirs: Owners,
    /// The round this node takes the zones over if nobody has by then.
    due: u64,
}

/// A CAN node's routing logic.
#[derive(Debug, Clone)]
pub struct Can {
    config: CanConfig,
    view: View,
    bootstrap: Vec<Peer>,
    /// A client never owns a zone (see [`Role`]).
    role: Role,
    joined: bool,
    /// Ticks run so far.
    rounds: u64,
    /// The round of the last join attempt.
    join_attempt: u64,
    /// The owner of our point, asked for room on this join attempt.
    join_owner: Option<Peer>,
    /// Requests in a row each neighbour has failed.
    failures: BTreeMap<Id, u8>,
    /// Zones of silent or departed neighbours not yet taken over.
    orphans: Vec<Orphan>,
    /// A zone hand-over in flight: to whom, what, since which round.
    giving: Option<(Id, Vec<Zone>, u64)>,
    /// Zones handed to us lately, by giver, with the round: while the
    /// giver may still list them, its claim does not count against ours.
    received: BTreeMap<Id, (Vec<Zone>, u64)>,
    /// Zones we hold because their owner fell silent. Only these give way
    /// to another's claim: a zone we joined into or were handed stays ours
    /// whatever a peer says (see `recovery`).
    taken: Vec<Zone>,
}

impl Can {
    /// The overlay for node `local`.
    pub fn new(local: Peer, config: CanConfig) -> Can {
        Can {
            view: View::new(Space::new(config.dimensions), local),
            config,
            bootstrap: Vec::new(),
            role: Role::Member,
            joined: false,
            rounds: 0,
            join_attempt: 0,
            join_owner: None,
            failures: BTreeMap::new(),
            orphans: Vec::new(),
            giving: None,
            received: BTreeMap::new(),
            taken: Vec::new(),
        }
    }

    /// The routing state, for inspection and pictures.
    pub fn view(&self) -> &View {
        &self.view
    }

    fn point(&self, key: &Id) -> Point {
        self.view.space().point(key)
    }

    /// This node's update for its neighbours.
    fn update(&mut self) -> CanMessage {
        let (zones, taken) = (self.view.own().to_vec(), self.taken.clone());
        CanMessage::Update { zones, taken, neighbours: self.view.published() }
    }

    /// Whether `point` lies in a zone waiting for a taker: a neighbour's
    /// that this node found dead, or that the neighbour stopped claiming
    /// (it restarted and is joining afresh).
    fn orphaned(&self, point: &Point) -> bool {
        self.orphans.iter().any(|o| o.zones.iter().any(|z| z.contains(point)))
    }

    /// Makes room for the newcomer `from`: a spare zone if this node holds
    /// several, else a redirect to a larger neighbour, else half its zone.
    fn admit(&mut self, from: &Peer, redirected: Option<u8>) -> CanMessage {
        if !self.joined || self.role.is_client() {
            return CanMessage::Refused;
        }
        // A newcomer we thought held zones (it restarted, or lost them in
        // a double claim) starts afresh; its neighbours see those zones
        // released and take them over.
        let mut neighbours = self.view.all_known();
        neighbours.retain(|o| o.peer.id != from.id);
        if !dht_core::prefix_has_room(neighbours.iter().map(|o| &o.peer), from, self.config.max_per_prefix) {
            return CanMessage::Refused;
        }
        let point = self.point(&from.id);
        let own = self.view.own().to_vec();
        let given = if own.len() > 1 {
            let spare = own.iter().find(|z| z.contains(&point)).copied().unwrap_or(own[own.len() - 1]);
            self.view.remove_own(&[spare]);
            spare
        } else {
            let Some(&zone) = own.first() else { return CanMessage::Refused };
            match redirected {
                Some(depth) if zone.depth() > depth => return CanMessage::Refused,
                Some(_) => {}
                None if self.config.uniform_partitioning => {
                    let larger = neighbours
                        .iter()
                        .filter(|o| o.zones.len() == 1 && o.zones[0].depth() < zone.depth())
                        .min_by_key(|o| (o.zones[0].depth(), o.peer.id));
                    if let Some(o) = larger {
                        return CanMessage::Redirect(o.peer, zone.depth());
                    }
                }
                None => {}
            }
            if zone.depth() >= self.view.space().max_depth() {
                return CanMessage::Refused;
            }
            let Some((lower, upper)) = zone.split() else { return CanMessage::Refused };
            let (kept, given) = if lower.contains(&point) { (upper, lower) } else { (lower, upper) };
            self.view.set_own(vec![kept]);
            given
        };
        self.view.welcome(Owner { peer: *from, zones: vec![given] });
        neighbours.push(self.view.me());
        CanMessage::Welcome { zones: vec![given], neighbours }
    }

    /// The newcomer's side of a welcome.
    fn welcomed(&mut self, zones: Vec<Zone>, neighbours: Vec<Owner>) -> Vec<Action<CanMessage>> {
        if self.joined || zones.is_empty() {
            return Vec::new();
        }
        self.view.set_own(zones);
        for o in neighbours.into_iter().take(view::MAX_LISTED) {
            self.view.consider(&o);
        }
        self.joined = true;
        let update = self.update();
        self.view.contacts().map(|p| Action::Send(p, update.clone())).collect()
    }

    /// A hand-over of `zones`.
    fn give(&self, zones: Vec<Zone>) -> CanMessage {
        let taken = self.taken.iter().filter(|k| zones.iter().any(|z| z.overlaps(k))).copied().collect();
        CanMessage::Give { zones, taken, neighbours: self.view.all_known() }
    }

    /// Accepts zones handed over by a leaving node or by reassignment.
    fn take(&mut self, from: &Peer, given: Claim, neighbours: Vec<Owner>) -> CanMessage {
        let Claim { zones, taken } = given;
        let oversized = zones.len() > view::MAX_ZONES || taken.len() > view::MAX_ZONES;
        if !self.joined || self.role.is_client() || zones.is_empty() || oversized {
            return CanMessage::Refused;
        }
        // Two hand-overs crossing (each of us giving the other a zone to
        // merge): only the one from the lower id goes ahead, or both would
        // end up holding both zones.
        if self.giving.as_ref().is_some_and(|(to, _, _)| *to == from.id) && from.id > self.local().id {
            return CanMessage::Refused;
        }
        // Only what the giver holds, as far as we know: its own zones, or a
        // silent neighbour's it may have taken over before telling us.
        let held = self.view.zones_of(&from.id).unwrap_or_default();
        let orphaned = self.orphans.iter().flat_map(|o| o.zones.iter());
        let known: Vec<&Zone> = held.iter().chain(orphaned).collect();
        if !zones.iter().all(|z| known.iter().any(|k| k.contains_zone(z))) {
            return CanMessage::Refused;
        }
        // Parts we already hold (a take-over crossed the hand-over) stay ours once.
        let new = view::carve_all(zones.clone(), self.view.own());
        self.view.add_own(&new);
        self.taken.extend(taken.iter().filter(|k| new.iter().any(|z| z.overlaps(k))));
        for o in neighbours.into_iter().take(view::MAX_LISTED) {
            self.view.consider(&o);
        }
        self.received.insert(from.id, (zones.clone(), self.rounds));
        if let Some(theirs) = self.view.zones_of(&from.id) {
            let left: Vec<Zone> = theirs.iter().filter(|z| !zones.contains(z)).copied().collect();
            if left.is_empty() {
                self.view.remove(&from.id);
            } else {
                let theirs = self.view.theirs(&from.id);
                self.view.heard(*from, left, theirs);
            }
        }
        CanMessage::Taken(zones)
    }
}

impl Overlay for Can {
    type Message = CanMessage;
    type Lookup = CanLookup;
    const NAME: &'static str = "can";

    fn local(&self) -> Peer {
        self.view.local()
    }

    /// A node owns a zone once joined; a client, never holding one, is
    /// joined as soon as it knows whom to ask.
    fn is_joined(&self) -> bool {
        self.joined || self.role.is_client()
    }

    fn bootstrap(&mut self, peers: &[Peer], role: Role, _now: Time) -> Vec<Action<CanMessage>> {
        self.role = role;
        let me = self.local().id;
        self.bootstrap = peers.iter().filter(|p| p.id != me).copied().collect();
        if self.role.is_client() {
            return Vec::new();
        }
        if self.bootstrap.is_empty() {
            self.view.set_own(vec![Zone::WHOLE]);
            self.joined = true;
            return Vec::new();
        }
        self.join_attempt = self.rounds;
        vec![Action::Lookup(me)]
    }

    fn handle_request(&mut self, from: &Peer, message: CanMessage, _now: Time) -> CanMessage {
        match message {
            CanMessage::Route(key) => {
                if !self.joined {
                    // Not in the space yet: point the asker where we are joining.
                    return CanMessage::Closer(self.bootstrap.clone());
                }
                let point = self.point(&key);
                // The owner answers with the holders; so does a node
                // waiting to take over a zone whose owner it found dead or
                // saw let it go (restarting, the owner joins afresh): until
                // someone has, the zone's neighbours — which hold its
                // replicas, one of them the coming owner — serve it,
                // instead of every lookup wandering round an ownerless zone.
                if self.view.owns(&point) || self.orphaned(&point) {
                    CanMessage::Owner(self.view.ranked(&point, self.config.answer_size))
                } else {
                    let closer = self.view.closer(&point, self.config.next_hops);
                    if closer.is_empty() {
                        self.hole_at(&point);
                    }
                    CanMessage::Closer(closer)
                }
            }
            CanMessage::Join { redirected } => self.admit(from, redirected),
            CanMessage::Update { zones, taken, neighbours } => {
                self.heard(from, Claim { zones, taken }, neighbours);
                let update = self.update();
                self.view.asked_by(&from.id);
                update
            }
            CanMessage::TakeOver { taken, zones } => {
                let theirs = self.view.theirs(&from.id);
                self.heard(from, Claim { zones, taken }, theirs);
                CanMessage::Ack
            }
            CanMessage::Give { zones, taken, neighbours } => self.take(from, Claim { zones, taken }, neighbours),
            CanMessage::Leaving { zones, to } => {
                // Only zones the leaver held pass to its taker.
                let held = self.view.remove(&from.id).map(|(held, _)| held).unwrap_or_default();
                let handed: Vec<Zone> = zones
                    .iter()
                    .take(view::MAX_ZONES)
                    .filter(|z| held.iter().any(|h| h.contains_zone(z)))
                    .copied()
                    .collect();
                if to.id != self.local().id && !handed.is_empty() {
                    self.view.grant(to, &handed);
                }
                CanMessage::Ack
            }
            CanMessage::Owner(_)
            | CanMessage::Closer(_)
            | CanMessage::Redirect(..)
            | CanMessage::Welcome { .. }
            | CanMessage::Taken(_)
            | CanMessage::Refused
            | CanMessage::Ack => CanMessage::Ack,
        }
    }

    fn handle_response(&mut self, from: &Peer, message: CanMessage, _now: Time) -> Vec<Action<CanMessage>> {
        match message {
            CanMessage::Welcome { zones, neighbours } => self.welcomed(zones, neighbours),
            CanMessage::Redirect(to, depth) if !self.joined => {
                vec![Action::Send(to, CanMessage::Join { redirected: Some(depth) })]
            }
            CanMessage::Update { zones, taken, neighbours } => {
                self.heard(from, Claim { zones, taken }, neighbours);
                Vec::new()
            }
            CanMessage::Taken(zones) => {
                self.given(from, &zones);
                Vec::new()
            }
            CanMessage::Refused if !self.joined => match self.join_owner {
                // The larger zone we were sent to is not larger after all:
                // back to the owner, who now splits its own.
                Some(owner) if owner.id != from.id => {
                    vec![Action::Send(owner, CanMessage::Join { redirected: Some(u8::MAX) })]
                }
                _ => Vec::new(),
            },
            CanMessage::Refused => {
                if self.giving.as_ref().is_some_and(|(to, _, _)| *to == from.id) {
                    self.giving = None;
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn lookup(&mut self, target: Id, _wanted: usize, _now: Time) -> CanLookup {
        let point = self.point(&target);
        if self.joined && self.view.owns(&point) {
            return CanLookup::resolved(target, self.view.ranked(&point, self.config.answer_size));
        }
        let me = self.local().id;
        let mut first = if self.joined { self.view.closer(&point, self.config.next_hops) } else { Vec::new() };
        first.extend(self.bootstrap.iter().copied());
        CanLookup::new(target, me, first)
    }

    fn lookup_done(&mut self, target: Id, outcome: &LookupOutcome, _now: Time) -> Vec<Action<CanMessage>> {
        if target != self.local().id || self.joined {
            return Vec::new();
        }
        self.join_owner = outcome.closest.iter().find(|p| p.id != target).copied();
        match self.join_owner {
            Some(owner) => vec![Action::Send(owner, CanMessage::Join { redirected: None })],
            None => Vec::new(),
        }
    }

    fn replica_set(&self, key: &Id, n: usize) -> Vec<Peer> {
        if !self.joined {
            return Vec::new();
        }
        self.view.ranked(&self.point(key), n)
    }

    /// Only for a key in this node's zones or a neighbour's: farther away
    /// the zones it ranks are second-hand reports, which under churn name a
    /// different set every few seconds. A copy of such a key (pushed by a
    /// peer whose view was off) goes to the set a lookup finds, and is
    /// deleted once that set has it, instead of lingering on for as long
    /// as the node's guess of its set keeps moving. A node that has not
    /// joined names no set, and keeps what it holds until it has.
    fn knows_replica_set(&self, key: &Id, _n: usize) -> bool {
        !self.joined || self.view.near(&self.point(key))
    }

    fn tick(&mut self, _now: Time, _rng: &mut Rng) -> Vec<Action<CanMessage>> {
        self.rounds += 1;
        if self.role.is_client() {
            return Vec::new();
        }
        if !self.joined {
            if self.rounds >= self.join_attempt + JOIN_RETRY_ROUNDS && !self.bootstrap.is_empty() {
                self.join_attempt = self.rounds;
                return vec![Action::Lookup(self.local().id)];
            }
            return Vec::new();
        }
        self.expire_received();
        self.forget_given_up();
        let mut actions = self.take_over_due();
        actions.extend(self.reassign());
        let update = self.update();
        let round = self.view.update_round();
        for id in round.silent {
            // A silence alone never drops a neighbour: the update sent
            // now must fail too.
            let failures = self.failures.entry(id).or_insert(0);
            *failures = failures.saturating_add(1).min(self.config.failures_to_drop.saturating_sub(1));
        }
        let former = self.view.take_former();
        actions.extend(round.send.into_iter().chain(former).map(|p| Action::Send(p, update.clone())));
        actions
    }

    fn tick_interval(&self) -> Duration {
        self.config.update_interval
    }

    fn peer_alive(&mut self, peer: &Peer, _now: Time) {
        self.failures.remove(&peer.id);
        self.revived(peer);
    }

    fn peer_failed(&mut self, peer: &Peer, _now: Time) {
        // A failure at an address the neighbour does not have (a liar's
        // claim) does not count against it.
        if self.view.contacts().any(|p| p.id == peer.id && p.addr != peer.addr) {
            return;
        }
        if self.view.zones_of(&peer.id).is_none() {
            if self.giving.as_ref().is_some_and(|(to, _, _)| *to == peer.id) {
                self.giving = None;
            }
            return;
        }
        let failures = self.failures.entry(peer.id).or_insert(0);
        *failures = failures.saturating_add(1);
        if *failures >= self.config.failures_to_drop {
            self.failures.remove(&peer.id);
            self.declare_dead(peer);
        }
    }

    fn leave(&mut self, _now: Time) -> Vec<Action<CanMessage>> {
        let own = self.view.own().to_vec();
        let Some(taker) = self.taker_on_leave() else { return Vec::new() };
        let mut actions = vec![Action::Send(taker, self.give(own.clone()))];
        actions.extend(
            self.view
                .contacts()
                .filter(|p| p.id != taker.id)
                .map(|p| Action::Send(p, CanMessage::Leaving { zones: own.clone(), to: taker })),
        );
        actions
    }

    fn neighbours(&self) -> Vec<Peer> {
        self.view.neighbours().map(|o| o.peer).collect()
    }

    /// Replica sets rank the zones of neighbours and of their neighbours;
    /// the epoch moves when the own zones or a neighbour's split, merge or
    /// change hands (see [`view::View::fingerprint`] for why not the
    /// second-hand ones).
    fn view_epoch(&self) -> u64 {
        self.view.fingerprint()
    }
}

impl SimOverlay for Can {
    /// The zone this node would hold had every peer of `directory` joined
    /// in order, and its neighbours with theirs (as after one round of
    /// updates). The whole partition is built once and shared.
    fn warm_start(&mut self, directory: &Directory, _now: Time, _rng: &mut Rng) -> bool {
        let (space, uniform) = (*self.view.space(), self.config.uniform_partitioning);
        let partition = directory.shared(|d| partition::Partition::build(d, space, uniform));
        let Some(partition) = partition.filter(|p| p.built_for(space, uniform)) else { return false };
        let me = self.local().id;
        let Some(zone) = partition.zone_of(&me).filter(|_| !self.role.is_client()) else { return false };
        self.view.set_own(vec![zone]);
        self.view.assume_complete();
        for (owner, theirs) in partition.neighbours_of(&me) {
            self.view.heard(owner.peer, owner.zones, theirs.into());
        }
        self.joined = true;
        true
    }

    fn routing_entries(&self) -> usize {
        self.view.len()
    }

    fn hop_bound(&self, nodes: usize) -> f64 {
        let d = self.view.space().dims() as f64;
        d / 4.0 * (nodes.max(2) as f64).powf(1.0 / d)
    }

    fn hop_bound_formula(&self) -> String {
        format!("(d/4)·N^(1/d) at d = {}", self.view.space().dims())
    }
}
