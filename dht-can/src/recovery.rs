//! Keeping the space covered when nodes fail, and leaving each node one
//! zone in the end.
//!
//! - Take-over: a neighbour that fails `failures_to_drop` requests in a row
//!   is dead. Each of its neighbours ranks the live ones it knows of from
//!   the dead node's last update — the owner of the dead zone's sibling
//!   first (the two halves merge back), then by smallest volume — and
//!   waits one tick per place in that order before taking the zones over
//!   and announcing it with `TakeOver`. An announcement cancels the others'
//!   timers: the paper's volume-proportional timers, made deterministic.
//! - Double claims: only zones a node holds by take-over (`Can::taken`,
//!   announced in every update and passed on with a hand-over) give way. A
//!   live holder's own claim wins them back; between two take-overs the
//!   narrower claim stands and, for equal zones, whoever holds less apart
//!   from the zone keeps it, ties to the lower id. A zone a node joined
//!   into or was handed never gives way to a claim, so no peer can take it
//!   by saying so.
//! - Holes: a zone is waited on only by the neighbours that saw its owner
//!   die or let it go; should they all restart before their turn, nobody
//!   knows it is unowned. A node asked to route to a point that no zone it
//!   knows holds, next to its own, waits on the largest zone around the
//!   point that nobody it knows claims, as on a released one.
//! - Reassignment: a node holding several zones gives one to the owner of
//!   its sibling (they merge), or to a neighbour whose own sibling is a
//!   whole zone, which then merges its zone into that sibling and keeps the
//!   gift.

use crate::view::{carve, carve_all, volume, Owner, Owners, MAX_ZONES};
use crate::{Can, CanMessage, Orphan, Point, Zone};
use dht_core::{Action, Id, Overlay, Peer};

/// Rounds after which an unanswered hand-over is tried afresh.
const GIVE_TIMEOUT_ROUNDS: u64 = 5;

/// Rounds a neighbour's released zones wait for news of their new holder
/// before its neighbours take them over.
const RELEASE_GRACE_ROUNDS: u64 = 2;

/// What a peer says it holds: its zones, and those of them it holds by
/// take-over.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub(crate) zones: Vec<Zone>,
    pub(crate) taken: Vec<Zone>,
}

/// Whether `zones` cover all of `zone` between them.
fn covered(zone: &Zone, zones: &[Zone]) -> bool {
    carve_all(vec![*zone], zones).is_empty()
}

/// The order in which live neighbours of a dead node take its zones over.
fn takeover_order(dead: &[Zone], zones: &[Zone], id: &Id) -> (bool, f64, Id) {
    let merges = zones.len() == 1 && dead.iter().any(|d| d.sibling() == Some(zones[0]));
    (!merges, volume(zones), *id)
}

impl Can {
    /// A peer's own account of its zones and neighbours, after settling
    /// any region both of us claim.
    pub(crate) fn heard(&mut self, from: &Peer, claim: Claim, theirs: Owners) {
        let Claim { zones, taken } = claim;
        if zones.len() > MAX_ZONES || taken.len() > MAX_ZONES {
            return;
        }
        // Nearly every update comes from a neighbour whose zones abut ours
        // and overlap none of them: no claim to settle.
        if zones.iter().any(|t| self.view.own().iter().any(|m| t.overlaps(m))) {
            let mine = self.view.own().to_vec();
            let kept = self.settle(from, &mine, &zones, &taken);
            if kept.iter().any(|m| zones.iter().any(|t| t.overlaps(m))) {
                // Still both claiming: keep talking until one gives way.
                self.view.owe_update(*from);
            }
            if kept != mine {
                self.view.set_own(kept);
                self.forget_given_up();
                if self.view.own().is_empty() {
                    // Everything we held was someone else's: start over.
                    self.joined = false;
                    self.bootstrap.push(*from);
                }
            }
        }
        self.claimed(&zones);
        if let Some(before) = self.view.reported_zones_of(&from.id).filter(|before| **before != zones[..]) {
            // Zones it no longer claims, and that no neighbour of its claims
            // (a newcomer it split its zone for, a taker it gave zones to),
            // wait for a taker, after a grace period for the holder's news.
            // (A neighbour reporting the zones it reported last time, as
            // nearly every update does, has released nothing.)
            let claims = zones.iter().chain(theirs.iter().flat_map(|o| o.zones.iter()));
            let released = carve_all(carve_all(before.to_vec(), claims), self.view.own());
            if !released.is_empty() {
                let previous = self.view.theirs(&from.id);
                self.orphan(from.id, false, released, previous, RELEASE_GRACE_ROUNDS);
            }
        }
        self.view.heard(*from, zones, theirs);
    }

    /// Our zones after settling what a neighbour claims of them (see the
    /// cases below); `mine` are our zones, `zones` and `taken` its claim.
    fn settle(&self, from: &Peer, mine: &[Zone], zones: &[Zone], taken: &[Zone]) -> Vec<Zone> {
        let mut kept = Vec::new();
        for m in mine {
            let mut left = vec![*m];
            let given = self.giving.as_ref().is_some_and(|(to, zs, _)| *to == from.id && zs.contains(m));
            let received: &[Zone] = self.received.get(&from.id).map_or(&[], |(zs, _)| &zs[..]);
            for t in zones {
                if given && t.contains_zone(m) {
                    // Handed over (and maybe merged there); the answer is on the way.
                    left.clear();
                } else if t.contains_zone(m) && t != m {
                    // A wider claim: if we only took this over and the
                    // claimant holds it otherwise, it is theirs (a hand-over
                    // we had not heard of when the zone looked released).
                    // Between two take-overs the other side carves.
                    if self.holds_by_take_over(m) && !covered(m, taken) {
                        left.clear();
                    }
                } else if !m.contains_zone(t) {
                    // Not a claim on this zone or a part of it.
                } else if received.iter().any(|r| r.overlaps(t)) || !self.holds_by_take_over(t) {
                    // Just handed to us, the giver not yet knowing; or ours
                    // by a join or a hand-over, which no claim undoes.
                } else if !covered(t, taken) {
                    // We took over what its live holder still claims.
                    left = carve(left, t);
                } else if t == m {
                    // Both of us took it over: the one holding less apart
                    // from it keeps it, ties to the lower id.
                    let keep_mine = (volume(mine) - m.volume(), self.local().id);
                    let keep_theirs = (volume(zones) - m.volume(), from.id);
                    if keep_theirs.0.total_cmp(&keep_mine.0).then(keep_theirs.1.cmp(&keep_mine.1)).is_lt() {
                        left.clear();
                    }
                } else {
                    // Both took over: the narrower claim stands.
                    left = carve(left, t);
                }
            }
            kept.extend(left);
        }
        kept
    }

    /// Whether `zone` lies in what we took over from a silent neighbour.
    fn holds_by_take_over(&self, zone: &Zone) -> bool {
        covered(zone, &self.taken)
    }

    /// Forgets take-overs of zones no longer ours.
    pub(crate) fn forget_given_up(&mut self) {
        let own = self.view.own();
        self.taken.retain(|k| own.iter().any(|o| o.overlaps(k)));
    }

    /// Live peers claim `zones`: those parts of dead neighbours' zones are
    /// no longer waiting for a taker.
    pub(crate) fn claimed(&mut self, zones: &[Zone]) {
        for orphan in &mut self.orphans {
            orphan.zones = carve_all(std::mem::take(&mut orphan.zones), zones);
        }
        self.orphans.retain(|o| !o.zones.is_empty());
    }

    /// A neighbour is silent: forget it and time the take-over of its zones.
    pub(crate) fn declare_dead(&mut self, peer: &Peer) {
        let Some((zones, theirs)) = self.view.remove(&peer.id) else { return };
        self.orphan(peer.id, true, zones, theirs, 0);
    }

    /// A neighbour found dead answers again. It may have been slow, or it
    /// may have restarted with nothing (the same id, no zones): its zones
    /// wait on as if it had let them go — a release's grace, then the
    /// take-over — and it is sent an update, whose answer's claim settles
    /// them. Dropping the take-over on any sign of life left a restarted
    /// node's old zone without an owner for good, once the node, joining
    /// elsewhere, was no longer our neighbour (`dht soak` lost 42–73 of 500
    /// keys that way in two minutes of restarts).
    pub(crate) fn revived(&mut self, peer: &Peer) {
        let due = self.rounds + RELEASE_GRACE_ROUNDS;
        let mut waiting = false;
        for orphan in self.orphans.iter_mut().filter(|o| o.silent && o.owner == peer.id) {
            orphan.silent = false;
            orphan.due = orphan.due.max(due);
            waiting = true;
        }
        if waiting {
            self.view.owe_update(*peer);
        }
    }

    /// A point that no zone this node knows of holds and that no orphan
    /// covers, asked of this joined node: a hole in the space, if it lies
    /// next to our zones. A zone is waited
    /// on only by the neighbours that saw its owner die or let it go; when
    /// those are restarted before their turn, nobody knows any more that
    /// the zone is unowned. The largest zone around the point that no
    /// known claim overlaps becomes an orphan here, taken over after a
    /// release's grace if nobody claims it meanwhile.
    pub(crate) fn hole_at(&mut self, point: &Point) {
        let claims: Vec<Zone> =
            self.view.own().iter().copied().chain(self.view.all_known().into_iter().flat_map(|o| o.zones)).collect();
        let mut zone = Zone::WHOLE;
        while claims.iter().any(|c| c.overlaps(&zone)) {
            let Some((a, b)) = zone.split() else { return };
            zone = if a.contains(point) { a } else { b };
        }
        if self.view.abuts_me(&[zone]) {
            self.orphan(self.local().id, false, vec![zone], Owners::default(), RELEASE_GRACE_ROUNDS);
        }
    }

    /// Times the take-over of `zones`: one round per live candidate ahead
    /// of this node, after `grace` rounds.
    fn orphan(&mut self, owner: Id, silent: bool, zones: Vec<Zone>, theirs: Owners, grace: u64) {
        let me = self.local().id;
        let mine = takeover_order(&zones, self.view.own(), &me);
        let is_silent = |id: &Id| self.orphans.iter().any(|o| o.silent && o.owner == *id);
        let ahead = theirs
            .iter()
            .filter(|o| o.peer.id != me && o.peer.id != owner && !is_silent(&o.peer.id))
            .filter(|o| takeover_order(&zones, &o.zones, &o.peer.id) < mine)
            .count();
        let due = self.rounds + grace + ahead as u64;
        self.orphans.push(Orphan { owner, silent, zones, theirs, due });
    }

    /// Takes over the zones of dead neighbours whose turn has come and that
    /// nobody has claimed.
    pub(crate) fn take_over_due(&mut self) -> Vec<Action<CanMessage>> {
        let rounds = self.rounds;
        let (due, waiting): (Vec<Orphan>, Vec<Orphan>) =
            std::mem::take(&mut self.orphans).into_iter().partition(|o| o.due <= rounds);
        self.orphans = waiting;
        let mut taken = Vec::new();
        for dead in due {
            let free = self.view.unclaimed(&dead.zones, &dead.owner);
            let free = carve_all(free, self.view.own());
            // Only regions next to ours: their own neighbours see to the rest.
            let free: Vec<Zone> = free.into_iter().filter(|z| self.view.abuts_me(&[*z])).collect();
            if free.is_empty() {
                continue;
            }
            self.view.add_own(&free);
            for o in dead.theirs.iter() {
                self.view.consider(o);
            }
            taken.extend(free);
        }
        if taken.is_empty() {
            return Vec::new();
        }
        self.taken.extend(taken);
        let message = CanMessage::TakeOver { taken: self.taken.clone(), zones: self.view.own().to_vec() };
        self.view.contacts().map(|p| Action::Send(p, message.clone())).collect()
    }

    /// With several zones, offers one to a neighbour that can merge it, or
    /// that can merge its own zone away and keep ours.
    pub(crate) fn reassign(&mut self) -> Vec<Action<CanMessage>> {
        if let Some((_, _, since)) = self.giving {
            if self.rounds < since + GIVE_TIMEOUT_ROUNDS {
                return Vec::new();
            }
            self.giving = None;
        }
        let own = self.view.own().to_vec();
        if own.len() < 2 {
            return Vec::new();
        }
        let single = |o: &Owner| (o.zones.len() == 1).then(|| o.zones[0]);
        let neighbours: Vec<Owner> = self.view.neighbours().collect();
        let sibling_owner = own.iter().find_map(|z| {
            let sibling = z.sibling()?;
            neighbours.iter().find(|o| single(o) == Some(sibling)).map(|o| (o.peer, *z))
        });
        let me = self.local().id;
        let target = sibling_owner.or_else(|| {
            neighbours.iter().find_map(|b| {
                let sibling = single(b)?.sibling()?;
                let paired = self.view.theirs(&b.peer.id).iter().any(|c| c.peer.id != me && single(c) == Some(sibling));
                paired.then(|| (b.peer, own[own.len() - 1]))
            })
        });
        let Some((to, zone)) = target else { return Vec::new() };
        self.giving = Some((to.id, vec![zone], self.rounds));
        vec![Action::Send(to, self.give(vec![zone]))]
    }

    /// Forgets hand-overs received long enough ago for the giver to know.
    pub(crate) fn expire_received(&mut self) {
        let since = self.rounds.saturating_sub(GIVE_TIMEOUT_ROUNDS);
        self.received.retain(|_, (_, at)| *at >= since);
    }

    /// A hand-over was accepted.
    pub(crate) fn given(&mut self, to: &Peer, zones: &[Zone]) {
        if self.giving.as_ref().is_some_and(|(id, _, _)| *id == to.id) {
            self.giving = None;
        }
        self.view.remove_own(zones);
        self.forget_given_up();
        self.view.grant(*to, zones);
        if self.view.own().is_empty() {
            // What we kept went to a double claim meanwhile: the taker holds
            // our last zone now, so we join again through it.
            self.joined = false;
            self.bootstrap.push(*to);
        }
    }

    /// Who takes this node's zones when it leaves: the owner of its
    /// sibling zone, which merges them, else the smallest neighbour.
    pub(crate) fn taker_on_leave(&self) -> Option<Peer> {
        let own = self.view.own();
        let neighbours: Vec<Owner> = self.view.neighbours().collect();
        if let [zone] = own {
            let sibling = zone.sibling();
            if let Some(o) = neighbours.iter().find(|o| o.zones.len() == 1 && Some(o.zones[0]) == sibling) {
                return Some(o.peer);
            }
        }
        neighbours
            .iter()
            .min_by(|a, b| volume(&a.zones).total_cmp(&volume(&b.zones)).then(a.peer.id.cmp(&b.peer.id)))
            .map(|o| o.peer)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Can, CanConfig, CanMessage, Zone};
    use dht_core::{Address, Id, Overlay, Peer, Rng, Time};

    /// A joined node holding half the space and knowing nobody else: the
    /// other half is a hole, as after every node that knew its owner was
    /// gone restarted before taking it over.
    #[test]
    fn a_lookup_into_a_hole_beside_us_has_us_take_it_over() {
        let me = Peer::new(Id::hash(b"me"), Address::Memory(1));
        let asker = Peer::new(Id::hash(b"asker"), Address::Memory(2));
        let mut can = Can::new(me, CanConfig::default());
        let (half, hole) = Zone::WHOLE.split().expect("the whole space splits");
        can.view.set_own(vec![half]);
        can.joined = true;
        let key =
            (0u32..1_000).map(|n| Id::hash(&n.to_be_bytes())).find(|k| hole.contains(&can.point(k))).expect("a key");
        let mut rng = Rng::new(1);
        for _ in 0..=super::RELEASE_GRACE_ROUNDS {
            can.tick(Time::ZERO, &mut rng);
        }
        assert_eq!(can.view.own(), [half], "nobody asked: nothing known of a hole");
        can.handle_request(&asker, CanMessage::Route(key), Time::ZERO);
        for _ in 0..=super::RELEASE_GRACE_ROUNDS {
            can.tick(Time::ZERO, &mut rng);
        }
        assert!(can.view.owns(&can.point(&key)), "the hole is ours after a release's grace: {:?}", can.view.own());
    }
}
