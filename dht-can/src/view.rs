//! A node's routing state: the zones it owns, its neighbours' zones, and
//! what each neighbour last said about its own neighbours (the paper's
//! soft-state updates carry both). Two hops of knowledge are what let a
//! node pick replicas, find new neighbours when its zone grows, and decide
//! who takes over a silent neighbour's zone.

use crate::space::{Extent, Point, Space, Zone};
use dht_core::{nearest_first, Id, IdBuildHasher, Peer};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The most entries of a neighbour list read from one message: a bound on
/// the work a peer's message can cause.
pub const MAX_LISTED: usize = 128;

/// The most zones one claim may carry (a node holds one zone, or a few
/// while it holds zones it took over). A claim with more is ignored, and a
/// listed neighbour with more is dropped from the list: the work a message
/// causes stays bounded, and a node's own update — its zones and at most
/// [`MAX_LISTED`] neighbours with theirs, about 150 KiB at worst — always
/// encodes under the 256 KiB frame limit, whatever peers sent it.
pub const MAX_ZONES: usize = 64;

/// A peer and the zones it owns, as carried in messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The peer.
    pub peer: Peer,
    /// Its zones (one, or several while it holds a taken-over zone).
    pub zones: Vec<Zone>,
}

/// A node's neighbours as one update carries them: shared, not copied,
/// between the update sent to each neighbour and the view of each
/// neighbour that keeps it.
pub type Owners = std::sync::Arc<[Owner]>;

/// What a node knows about one neighbour.
#[derive(Debug, Clone)]
struct Known {
    peer: Peer,
    zones: Vec<Zone>,
    /// The neighbour's own neighbours, from its last update.
    theirs: Owners,
    /// Whether the zones are the peer's own word rather than hearsay.
    verified: bool,
    /// Our [`View::zone_revision`] when we last answered its update with
    /// ours, if it sent one since our last round.
    asked: Option<u64>,
    /// What we did in our last round ([`View::update_round`]).
    turn: Turn,
}

impl Known {
    fn new(peer: Peer, zones: Vec<Zone>, theirs: Owners, verified: bool) -> Known {
        Known { peer, zones, theirs, verified, asked: None, turn: Turn::New }
    }
}

/// What a node did about a neighbour in its last round of updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Nothing yet: it became a neighbour since.
    New,
    /// Sent it our update.
    Sent,
    /// Sent nothing: it had just had our state in our answer to its update.
    Skipped,
}

/// One round of soft-state updates ([`View::update_round`]).
#[derive(Debug, Default)]
pub struct UpdateRound {
    /// The neighbours to send our update to.
    pub send: Vec<Peer>,
    /// Those of them we skipped last round and that have not sent an
    /// update since, as they had been doing: a silence, which counts as
    /// much as one failed request.
    pub silent: Vec<Id>,
}

/// The routing state.
#[derive(Debug, Clone)]
pub struct View {
    space: Space,
    local: Peer,
    own: Vec<Zone>,
    /// The extents of `own`, kept beside it: every update tests many
    /// zones for adjacency against them.
    own_extents: Vec<Extent>,
    neighbours: BTreeMap<Id, Known>,
    /// Peers owed one update that are not neighbours: those dropped when
    /// our zones changed, so they learn who abuts them now; those claiming
    /// part of our zones, so the claim is settled; and those meeting us at
    /// a corner, whose answer names neighbours we may have missed.
    former: BTreeMap<Id, Peer>,
    /// Peers meeting our zones at a corner that have been asked once since
    /// our zones last grew (see [`View::set_own`]).
    cornered: BTreeSet<Id>,
    /// Whether every neighbour is known without asking the peers at our
    /// corners: the view came whole from the partition (a warm start), and
    /// our zones have not grown since.
    complete: bool,
    /// The neighbour list last sent ([`View::published`]).
    published: Owners,
    /// Bumped whenever the zones or the neighbours (theirs included) may
    /// have changed: what `published` and `fingerprint` are cached against,
    /// so that the many updates that change nothing cost no recomputation.
    revision: u64,
    /// `revision` when `published` was last brought up to date.
    published_at: u64,
    /// Bumped whenever our own zones change: what a neighbour's
    /// [`Known::asked`] is compared against. Not `revision`, which also
    /// moves with our neighbours' zones and lists — under churn every few
    /// seconds — and sent a neighbour that had just had our answer the
    /// same update again. A neighbour hears our changed list in our answer
    /// to its next update, within a round, as soon as our own next round
    /// would have told it; our own zones, which decide what is routed to
    /// us, go out at once.
    zone_revision: u64,
    /// `revision` and the fingerprint computed at it.
    fingerprint: std::cell::Cell<Option<(u64, u64)>>,
}

impl View {
    /// The view of `local`, owning nothing yet.
    pub fn new(space: Space, local: Peer) -> View {
        View {
            space,
            local,
            own: Vec::new(),
            own_extents: Vec::new(),
            neighbours: BTreeMap::new(),
            former: BTreeMap::new(),
            cornered: BTreeSet::new(),
            complete: false,
            published: Owners::default(),
            revision: 1,
            published_at: 0,
            zone_revision: 0,
            fingerprint: std::cell::Cell::new(None),
        }
    }

    /// The coordinate space.
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// The zones this node owns.
    pub fn own(&self) -> &[Zone] {
        &self.own
    }

    /// This node.
    pub fn local(&self) -> Peer {
        self.local
    }

    /// This node with its zones, as messages carry it.
    pub fn me(&self) -> Owner {
        Owner { peer: self.local, zones: self.own.clone() }
    }

    /// The node's total share of the space.
    pub fn volume(&self) -> f64 {
        volume(&self.own)
    }

    /// Whether `point` lies in one of this node's zones.
    pub fn owns(&self, point: &Point) -> bool {
        self.own.iter().any(|z| z.contains(point))
    }

    /// Whether `point` lies in this node's zones or a neighbour's
    /// (confirmed or not): where the view holds the zones themselves, not
    /// what neighbours report of their own neighbours.
    pub fn near(&self, point: &Point) -> bool {
        self.owns(point) || self.neighbours.values().any(|k| k.zones.iter().any(|z| z.contains(point)))
    }

    /// Distance from `point` to the nearest of this node's zones.
    pub fn distance(&self, point: &Point) -> f64 {
        self.nearest(&self.own, point)
    }

    fn nearest(&self, zones: &[Zone], point: &Point) -> f64 {
        zones.iter().map(|z| self.space.distance(z, point)).fold(f64::INFINITY, f64::min)
    }

    /// Whether any of `zones` abuts any zone of this node.
    pub fn abuts_me(&self, zones: &[Zone]) -> bool {
        zones.iter().any(|z| {
            let extent = self.space.extent(z);
            self.own_extents.iter().any(|o| self.space.extents_abut(o, &extent))
        })
    }

    /// Replaces the owned zones, merging halves of one parent, and drops
    /// neighbours that no longer abut.
    pub fn set_own(&mut self, zones: Vec<Zone>) {
        self.revision += 1;
        self.zone_revision += 1;
        // Every neighbour of a part of a zone is a neighbour of the zone:
        // a node whose zones only shrank (a split for a newcomer, a zone
        // given away) has nobody new to find at its corners.
        let shrunk = zones.iter().all(|z| self.own.iter().any(|o| o.contains_zone(z)));
        self.own = merge_siblings(zones);
        if !shrunk {
            self.cornered.clear();
            self.complete = false;
        }
        self.own_extents = self.own.iter().map(|z| self.space.extent(z)).collect();
        let ids: Vec<Id> = self.neighbours.keys().copied().collect();
        for id in ids {
            let Some(known) = self.neighbours.get(&id) else { continue };
            if !self.abuts_me(&known.zones) {
                self.former.insert(id, known.peer);
                self.neighbours.remove(&id);
            }
        }
    }

    /// Owes `peer` an update on the next tick.
    pub fn owe_update(&mut self, peer: Peer) {
        self.former.insert(peer.id, peer);
    }

    /// Peers owed one update that are not neighbours (see `former`).
    pub fn take_former(&mut self) -> Vec<Peer> {
        std::mem::take(&mut self.former).into_values().filter(|p| !self.neighbours.contains_key(&p.id)).collect()
    }

    /// Takes more zones on (a take-over, a gift), then adopts as neighbours
    /// the peers known second-hand that now abut.
    pub fn add_own(&mut self, zones: &[Zone]) {
        let mut own = self.own.clone();
        own.extend(zones.iter().filter(|z| !self.own.iter().any(|o| o.overlaps(z))));
        self.set_own(own);
        self.adopt_hearsay();
    }

    /// Gives zones away.
    pub fn remove_own(&mut self, zones: &[Zone]) {
        // Carved, not matched: a zone given away may have merged with a
        // sibling taken over meanwhile, and only its part goes.
        let own = carve_all(self.own.clone(), zones);
        self.set_own(own);
    }

    /// A peer's own account of its zones and neighbours: keeps it as a
    /// neighbour if it abuts, forgets it otherwise, and learns of new
    /// neighbours from its list.
    pub fn heard(&mut self, peer: Peer, zones: Vec<Zone>, mut theirs: Owners) {
        if peer.id == self.local.id {
            return;
        }
        if zones.len() > MAX_ZONES {
            return;
        }
        if theirs.len() > MAX_LISTED {
            theirs = theirs[..MAX_LISTED].into();
        }
        if theirs.iter().any(|o| o.zones.len() > MAX_ZONES) {
            theirs = theirs.iter().filter(|o| o.zones.len() <= MAX_ZONES).cloned().collect::<Vec<_>>().into();
        }
        // Its list may name a neighbour of ours we have not met, whether or
        // not the sender itself abuts us. Only entries new since its last
        // list can name someone new (when our own zones grow, all hearsay
        // is looked at again: `adopt_hearsay`).
        // The very list of last time (see `View::published`) has nothing new.
        let previous = self.neighbours.get(&peer.id).map(|k| &k.theirs);
        let same = previous.is_some_and(|p| Owners::ptr_eq(p, &theirs));
        let fresh: Vec<usize> =
            (0..theirs.len()).filter(|&i| !same && previous.is_none_or(|p| !p.contains(&theirs[i]))).collect();
        for i in fresh {
            self.consider(&theirs[i]);
        }
        let held = self.neighbours.get(&peer.id);
        let same_zones = held.is_some_and(|k| k.zones == zones);
        if held.is_some_and(|k| same_zones && k.verified && k.peer == peer && (same || *k.theirs == *theirs)) {
            return;
        }
        // A neighbour reporting the zones we hold for it still abuts: our
        // own zones changing drops those that no longer do (`set_own`).
        if same_zones || self.abuts_me(&zones) {
            self.revision += 1;
            let (asked, turn) = held.map_or((None, Turn::New), |k| (k.asked, k.turn));
            self.neighbours.insert(peer.id, Known { asked, turn, ..Known::new(peer, zones, theirs, true) });
        } else if self.neighbours.remove(&peer.id).is_some() {
            self.revision += 1;
        }
    }

    /// A peer heard of second-hand: becomes a neighbour if it abuts and is
    /// not known yet (its next update confirms or drops it).
    pub fn consider(&mut self, owner: &Owner) {
        if owner.peer.id == self.local.id || self.neighbours.contains_key(&owner.peer.id) {
            return;
        }
        if owner.zones.iter().any(|z| self.own.iter().any(|o| o.overlaps(z))) {
            // It claims part of what we hold: an update to it lets the two
            // of us settle who keeps what.
            self.former.insert(owner.peer.id, owner.peer);
            return;
        }
        if self.abuts_me(&owner.zones) {
            let known = Known::new(owner.peer, owner.zones.clone(), Owners::default(), false);
            self.revision += 1;
            self.neighbours.insert(owner.peer.id, known);
        } else if !self.complete && !self.cornered.contains(&owner.peer.id) && self.touches_me_at_corner(&owner.zones) {
            self.cornered.insert(owner.peer.id);
            // Not a neighbour, but its neighbours may be ours: where four
            // zones meet at a corner, two that abut can have no neighbour
            // in common, and only the corner's other zones know both.
            self.former.insert(owner.peer.id, owner.peer);
        }
    }

    /// Declares the neighbours given from now on to be all there are (a
    /// warm start hands over the whole partition's adjacency): the peers
    /// meeting our zones at a corner have nobody new to name, and asking
    /// each of them once — some 70 per node in four dimensions — is most
    /// of a warm-started network's first rounds of traffic. Holds until
    /// our zones next grow.
    pub fn assume_complete(&mut self) {
        self.complete = true;
    }

    fn touches_me_at_corner(&self, zones: &[Zone]) -> bool {
        zones.iter().any(|z| {
            let extent = self.space.extent(z);
            self.own_extents.iter().any(|o| self.space.extents_touch_at_corner(o, &extent))
        })
    }

    /// A peer this node itself just gave zones to: known first-hand.
    pub fn welcome(&mut self, owner: Owner) {
        if owner.peer.id != self.local.id && self.abuts_me(&owner.zones) {
            let known = Known::new(owner.peer, owner.zones, Owners::default(), true);
            self.revision += 1;
            self.neighbours.insert(owner.peer.id, known);
        }
    }

    /// Every peer believed to abut with the zones believed, confirmed or
    /// not: what a newcomer is handed to find its own neighbours among.
    pub fn all_known(&self) -> Vec<Owner> {
        self.neighbours.values().map(|k| Owner { peer: k.peer, zones: k.zones.clone() }).collect()
    }

    fn adopt_hearsay(&mut self) {
        let heard: Vec<Owner> = self.neighbours.values().flat_map(|k| k.theirs.iter().cloned()).collect();
        for owner in &heard {
            self.consider(owner);
        }
    }

    /// Forgets a neighbour; returns what was known of it.
    pub fn remove(&mut self, id: &Id) -> Option<(Vec<Zone>, Owners)> {
        self.revision += 1;
        self.neighbours.remove(id).map(|k| (k.zones, k.theirs))
    }

    /// Records that `peer` now also owns `zones` (it took them from a
    /// leaving node).
    pub fn grant(&mut self, peer: Peer, zones: &[Zone]) {
        match self.neighbours.get_mut(&peer.id) {
            Some(known) => {
                self.revision += 1;
                for z in zones {
                    if !known.zones.contains(z) {
                        known.zones.push(*z);
                    }
                }
            }
            None => self.consider(&Owner { peer, zones: zones.to_vec() }),
        }
    }

    /// The neighbours, each with the zones it last reported; peers heard
    /// of second-hand and not yet confirmed are left out, so that stale
    /// news is not passed on.
    pub fn neighbours(&self) -> impl Iterator<Item = Owner> + '_ {
        self.neighbours.values().filter(|k| k.verified).map(|k| Owner { peer: k.peer, zones: k.zones.clone() })
    }

    /// The neighbours as an update carries them ([`View::neighbours`]):
    /// the same shared list as last time while it has not changed, so a
    /// receiver sees at once that it has nothing new, and keeps one copy
    /// for all its neighbours' views.
    pub fn published(&mut self) -> Owners {
        if self.published_at != self.revision {
            self.published_at = self.revision;
            let now = self.neighbours.values().filter(|k| k.verified).map(|k| (&k.peer, &k.zones[..]));
            if !now.eq(self.published.iter().map(|o| (&o.peer, &o.zones[..]))) {
                self.published = self.neighbours().collect::<Vec<_>>().into();
            }
        }
        self.published.clone()
    }

    /// Notes that neighbour `id` sent us its update and had our state,
    /// as it is now, in the answer.
    pub fn asked_by(&mut self, id: &Id) {
        let revision = self.zone_revision;
        if let Some(known) = self.neighbours.get_mut(id) {
            known.asked = Some(revision);
        }
    }

    /// Who gets our update this round. One update a round between two
    /// neighbours carries both states, the request one way and the answer
    /// the other, so a node skips a neighbour that sent it an update since
    /// its last round if its zones have not changed since it answered —
    /// unless it sent that neighbour one too in its last round, when only
    /// the higher id skips (two nodes ticking together must not both).
    /// Half the soft-state traffic goes; each side still hears the other
    /// every round. A skipped neighbour that stops sending is sent our
    /// update again, and its silence counts as a failure: a dead neighbour
    /// is found as soon as when updates went both ways.
    pub fn update_round(&mut self) -> UpdateRound {
        let (me, revision) = (self.local.id, self.zone_revision);
        let mut round = UpdateRound::default();
        for known in self.neighbours.values_mut() {
            let fresh = known.asked == Some(revision);
            let skip = fresh && (known.turn != Turn::Sent || me > known.peer.id);
            if !skip {
                if known.turn == Turn::Skipped && known.asked.is_none() {
                    round.silent.push(known.peer.id);
                }
                round.send.push(known.peer);
            }
            known.turn = if skip { Turn::Skipped } else { Turn::Sent };
            known.asked = None;
        }
        round
    }

    /// Every peer believed to abut, confirmed or not: the ones to send
    /// updates to.
    pub fn contacts(&self) -> impl Iterator<Item = Peer> + '_ {
        self.neighbours.values().map(|k| k.peer)
    }

    /// A neighbour's zones.
    pub fn zones_of(&self, id: &Id) -> Option<&[Zone]> {
        self.neighbours.get(id).map(|k| &k.zones[..])
    }

    /// A neighbour's zones as it last reported them itself.
    pub fn reported_zones_of(&self, id: &Id) -> Option<&[Zone]> {
        self.neighbours.get(id).filter(|k| k.verified).map(|k| &k.zones[..])
    }

    /// What a neighbour last said its neighbours were.
    pub fn theirs(&self, id: &Id) -> Owners {
        self.neighbours.get(id).map_or_else(Owners::default, |k| k.theirs.clone())
    }

    /// How many neighbours.
    pub fn len(&self) -> usize {
        self.neighbours.len()
    }

    /// Whether there are no neighbours.
    pub fn is_empty(&self) -> bool {
        self.neighbours.is_empty()
    }

    /// The parts of `zones` no neighbour other than `except` claims.
    pub fn unclaimed(&self, zones: &[Zone], except: &Id) -> Vec<Zone> {
        let claims = self.neighbours.values().filter(|k| k.peer.id != *except).flat_map(|k| k.zones.iter());
        carve_all(zones.to_vec(), claims)
    }

    /// Neighbours nearer to `point` than this node, nearest first: the
    /// greedy next hops, the rest being fall-backs.
    pub fn closer(&self, point: &Point, n: usize) -> Vec<Peer> {
        let mine = if self.own.is_empty() { f64::INFINITY } else { self.distance(point) };
        let ranked: Vec<(f64, u8, Peer)> = self
            .neighbours
            .values()
            .map(|k| (self.nearest(&k.zones, point), depth_rank(&k.zones), k.peer))
            .filter(|(d, _, _)| *d < mine)
            .collect();
        best_ranked(ranked, n)
    }

    /// A fingerprint of the own zones and the neighbours' — what decides
    /// the replica sets of the keys this node holds. Second-hand zones are
    /// left out: under churn some neighbour's neighbour changes nearly
    /// every second, while the nearest zones to a key inside this node's
    /// zone are its own and its neighbours' in all but corner cases. A
    /// second-hand replica that fails is caught by the replica pings, and
    /// a second-hand split by the members next to it and the periodic pass.
    pub fn fingerprint(&self) -> u64 {
        match self.fingerprint.get() {
            Some((at, value)) if at == self.revision => value,
            _ => {
                let value = self.compute_fingerprint();
                self.fingerprint.set(Some((self.revision, value)));
                value
            }
        }
    }

    fn compute_fingerprint(&self) -> u64 {
        let mut print = dht_core::Fingerprint::default();
        let mut add = |owner: &Peer, zones: &[Zone]| {
            print.add(owner.id.prefix_u64());
            for zone in zones {
                zone.fingerprint(&mut print);
            }
        };
        add(&self.local, &self.own);
        for known in self.neighbours.values() {
            add(&known.peer, &known.zones);
        }
        print.value()
    }

    /// The `n` peers whose zones lie nearest to `point`, this node and
    /// peers known second-hand included: the owner first, then the
    /// replicas. Every node near the point sees the same zones, so they
    /// agree on the set.
    pub fn ranked(&self, point: &Point, n: usize) -> Vec<Peer> {
        // A direct neighbour's own zones count, not what others say of it;
        // of second-hand reports of one peer, the first met counts, and
        // the others are not measured at all (neighbours' lists overlap).
        let mut seen: HashSet<Id, IdBuildHasher> = HashSet::default();
        let mut ranked: Vec<(f64, u8, Peer)> = Vec::new();
        let mut offer = |peer: Peer, zones: &[Zone]| {
            if !zones.is_empty() {
                ranked.push((self.nearest(zones, point), depth_rank(zones), peer));
            }
        };
        for k in self.neighbours.values() {
            for o in k.theirs.iter() {
                let id = o.peer.id;
                let first_report = !o.zones.is_empty() && seen.insert(id);
                if !self.neighbours.contains_key(&id) && id != self.local.id && first_report {
                    offer(o.peer, &o.zones);
                }
            }
        }
        for k in self.neighbours.values() {
            offer(k.peer, &k.zones);
        }
        offer(self.local, &self.own);
        best_ranked(ranked, n)
    }
}

/// The first `n` of `ranked` by distance; at equal distance (a point on a
/// border, or two claims of one region while news of a split spreads) the
/// deeper zone first, being the newer, then by id. Only those `n` are
/// sorted: repair ranks a few hundred second-hand peers for every key.
fn best_ranked(mut ranked: Vec<(f64, u8, Peer)>, n: usize) -> Vec<Peer> {
    let order =
        |a: &(f64, u8, Peer), b: &(f64, u8, Peer)| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.id.cmp(&b.2.id));
    nearest_first(&mut ranked, n, order);
    ranked.into_iter().map(|(_, _, p)| p).collect()
}

fn depth_rank(zones: &[Zone]) -> u8 {
    zones.iter().map(Zone::depth).max().unwrap_or(0)
}

/// Total share of the space of a set of zones.
pub fn volume(zones: &[Zone]) -> f64 {
    zones.iter().map(Zone::volume).sum()
}

/// `zones` without the part `claim` covers.
pub fn carve(zones: Vec<Zone>, claim: &Zone) -> Vec<Zone> {
    zones.into_iter().flat_map(|z| z.minus(claim)).collect()
}

/// `zones` without the parts any of `claims` covers.
pub fn carve_all<'a>(zones: Vec<Zone>, claims: impl IntoIterator<Item = &'a Zone>) -> Vec<Zone> {
    claims.into_iter().fold(zones, carve)
}

/// Joins halves of one parent into the parent, repeatedly.
pub fn merge_siblings(mut zones: Vec<Zone>) -> Vec<Zone> {
    zones.sort();
    zones.dedup();
    loop {
        let paired = zones.iter().position(|z| z.sibling().is_some_and(|s| zones.contains(&s)));
        let Some(i) = paired else { return zones };
        let Some(parent) = zones[i].parent() else { return zones };
        zones.retain(|z| !z.overlaps(&parent));
        zones.push(parent);
        zones.sort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::Address;

    fn peer(n: u8) -> Peer {
        Peer::new(Id::hash(&[n]), Address::Memory(u32::from(n)))
    }

    /// A claim of more zones than any node holds is ignored, and a listed
    /// neighbour claiming that many is dropped from the list.
    #[test]
    fn oversized_claims_are_ignored() {
        let space = Space::new(2);
        let (left, right) = Zone::WHOLE.split().unwrap();
        let mut view = View::new(space, peer(0));
        view.set_own(vec![left]);
        let many: Vec<Zone> = (0..MAX_ZONES + 1).map(|_| right).collect();
        view.heard(peer(1), many.clone(), Owners::default());
        assert_eq!(view.len(), 0, "an oversized claim changes nothing");
        let listed: Owners = vec![Owner { peer: peer(2), zones: many }].into();
        view.heard(peer(1), vec![right], listed);
        assert_eq!(view.len(), 1);
        assert!(view.theirs(&peer(1).id).is_empty(), "the oversized entry is not kept");
    }

    #[test]
    fn a_view_is_near_its_own_and_its_neighbours_zones_only() {
        let space = Space::new(2);
        let (left, right) = Zone::WHOLE.split().unwrap();
        let ((own, above), (_, far)) = (left.split().unwrap(), right.split().unwrap());
        let mut view = View::new(space, peer(0));
        view.set_own(vec![own]);
        view.heard(peer(1), vec![above], vec![Owner { peer: peer(2), zones: vec![far] }].into());
        let point_in = |zone: Zone| {
            (0..=255u8).map(|i| space.point(&Id::hash(&[i]))).find(|p| zone.contains(p)).expect("a key in a quarter")
        };
        assert!(view.near(&point_in(own)));
        assert!(view.near(&point_in(above)), "a neighbour's zone");
        assert!(!view.near(&point_in(far)), "a zone known second-hand");
    }

    #[test]
    fn halves_merge_back_into_their_parent() {
        let (lo, hi) = Zone::WHOLE.split().unwrap();
        let (a, b) = hi.split().unwrap();
        assert_eq!(merge_siblings(vec![a, lo, b]), vec![Zone::WHOLE]);
        assert_eq!(merge_siblings(vec![lo, a]), vec![lo, a]);
    }

    #[test]
    fn the_owner_ranks_first_and_neighbours_after() {
        let space = Space::new(2);
        let (left, right) = Zone::WHOLE.split().unwrap();
        let (rl, rr) = right.split().unwrap();
        let mut view = View::new(space, peer(0));
        view.set_own(vec![left]);
        view.heard(peer(1), vec![rl], vec![Owner { peer: peer(2), zones: vec![rr] }].into());
        view.heard(peer(2), vec![rr], Owners::default());
        assert_eq!(view.len(), 2, "both halves of the right side abut the left half");
        for k in 0..50u8 {
            let point = space.point(&Id::hash(&[k, 1]));
            let ranked = view.ranked(&point, 3);
            let owner = [(left, peer(0)), (rl, peer(1)), (rr, peer(2))]
                .into_iter()
                .find(|(z, _)| z.contains(&point))
                .unwrap()
                .1;
            assert_eq!(ranked[0], owner);
            assert_eq!(ranked.len(), 3);
            if !view.owns(&point) {
                assert!(view.closer(&point, 3).contains(&owner));
            }
        }
    }

    #[test]
    fn a_peer_that_stops_abutting_is_dropped() {
        let space = Space::new(1);
        let (left, right) = Zone::WHOLE.split().unwrap();
        let (l1, l2) = left.split().unwrap();
        let mut view = View::new(space, peer(0));
        view.set_own(vec![l1]);
        view.heard(peer(1), vec![right], Owners::default());
        assert_eq!(view.len(), 1, "on a circle the right half touches the first quarter");
        view.heard(peer(1), vec![l2], Owners::default());
        assert_eq!(view.len(), 1);
        view.set_own(vec![Zone::WHOLE.split().unwrap().0.split().unwrap().0.split().unwrap().0]);
        assert_eq!(view.len(), 0, "an eighth at 0 no longer touches the second quarter");
    }

    /// The view of a peer with a higher id than peers 1 and 2, holding the
    /// left half, with 1 and 2 holding the two quarters of the right half:
    /// both neighbours.
    fn three() -> View {
        let (left, right) = Zone::WHOLE.split().unwrap();
        let (rl, rr) = right.split().unwrap();
        let higher = (3..=u8::MAX).map(peer).find(|p| p.id > peer(1).id && p.id > peer(2).id).unwrap();
        let mut view = View::new(Space::new(2), higher);
        view.set_own(vec![left]);
        view.heard(peer(1), vec![rl], Owners::default());
        view.heard(peer(2), vec![rr], Owners::default());
        assert_eq!(view.len(), 2);
        view
    }

    fn sent_to(round: &UpdateRound) -> Vec<Id> {
        let mut ids: Vec<Id> = round.send.iter().map(|p| p.id).collect();
        ids.sort();
        ids
    }

    /// One update a round between two neighbours: a node skips a neighbour
    /// that just had its state in an answer, not one it answered before
    /// its state changed; it sends again, counting a silence, to a skipped
    /// neighbour that stopped sending.
    #[test]
    fn a_neighbour_that_sent_its_update_is_skipped_once_and_missed_when_silent() {
        let mut view = three();
        let (one, two) = (peer(1).id, peer(2).id);
        let mut both = vec![one, two];
        both.sort();
        assert_eq!(sent_to(&view.update_round()), both, "the first round goes to every neighbour");
        // Both sent theirs since; we answered 1 with our state as it is.
        view.asked_by(&one);
        view.asked_by(&two);
        view.zone_revision += 1;
        view.asked_by(&one);
        let round = view.update_round();
        assert_eq!(sent_to(&round), vec![two], "after sending too, the higher id skips");
        assert!(round.silent.is_empty());
        let mut lower = three();
        lower.local = (3..=u8::MAX).map(peer).find(|p| p.id < one).unwrap();
        lower.update_round();
        lower.asked_by(&one);
        assert_eq!(sent_to(&lower.update_round()), both, "the lower id sends on");
        // Rounds where 1 keeps sending first: skipped each time.
        for _ in 0..3 {
            view.asked_by(&one);
            let round = view.update_round();
            assert_eq!(sent_to(&round), vec![two], "1 has our state from our answer");
        }
        // 1 falls silent: it is sent our update, and missed.
        let round = view.update_round();
        assert_eq!(sent_to(&round), both);
        assert_eq!(round.silent, vec![one]);
        assert!(view.update_round().silent.is_empty(), "a silence counts once");
    }

    /// Only our own zones changing sends a neighbour that just had our
    /// answer our update again: news of our neighbours' zones or lists
    /// waits for its next update's answer.
    #[test]
    fn only_our_own_zones_changing_sends_again() {
        let mut view = three();
        let (one, two) = (peer(1).id, peer(2).id);
        let rl = view.zones_of(&one).unwrap().to_vec();
        let rr = view.zones_of(&two).unwrap().to_vec();
        view.update_round();
        view.asked_by(&one);
        let theirs = Owner { peer: peer(2), zones: rr.clone() };
        view.heard(peer(1), rl, vec![theirs].into());
        let (lower, _) = rr[0].split().unwrap();
        view.heard(peer(2), vec![lower], Owners::default());
        assert_eq!(sent_to(&view.update_round()), vec![two], "1 hears of 2's split in our next answer");
        view.asked_by(&one);
        let (half, _) = view.own()[0].split().unwrap();
        view.set_own(vec![half]);
        assert!(sent_to(&view.update_round()).contains(&one), "our own zones changed since 1 asked");
    }

    /// A node whose zones only shrank has nobody new to find at its
    /// corners; one whose zones grew asks the peers there again.
    #[test]
    fn corners_are_asked_again_only_when_the_zones_grow() {
        let space = Space::new(2);
        let (left, right) = Zone::WHOLE.split().unwrap();
        let ((low_left, _), (_, high_right)) = (left.split().unwrap(), right.split().unwrap());
        let (sliver, _) = low_left.split().unwrap();
        let far_corner = Owner { peer: peer(5), zones: vec![high_right] };
        let asked = |view: &mut View| {
            view.consider(&far_corner);
            view.take_former().iter().any(|p| p.id == peer(5).id)
        };
        let mut view = View::new(space, peer(0));
        view.set_own(vec![left]);
        view.assume_complete();
        view.set_own(vec![sliver]);
        assert!(space.extents_touch_at_corner(&space.extent(&sliver), &space.extent(&high_right)));
        assert!(!asked(&mut view), "a split leaves the view complete");
        view.set_own(vec![low_left]);
        assert!(asked(&mut view), "a zone grown may meet new peers at its corners");
    }
}
