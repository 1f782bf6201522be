//! A node's zones change only through exchanges it took part in: no peer's
//! claim takes a zone the node joined into or was handed, a leave notice
//! credits the taker only with the leaver's zones, and a hand-over moves
//! only zones the giver holds. Zones a node took over from a silent
//! neighbour give way to that neighbour's own claim.
#![allow(clippy::expect_used)]

use dht_can::{Can, CanConfig, CanMessage, Owners, Zone};
use dht_core::{Address, Id, Overlay, Peer, Rng, Role, Time};

fn peer(name: &str, last: u8) -> Peer {
    Peer::new(Id::hash(name.as_bytes()), Address::Socket(([198, 51, 100, last], 4000).into()))
}

/// A node alone in the space, holding all of it.
fn alone() -> Can {
    let mut node = Can::new(peer("victim", 1), CanConfig::default());
    node.bootstrap(&[], Role::Member, Time::ZERO);
    node
}

/// The victim and one neighbour it admitted, each holding half the space:
/// (victim, neighbour, the victim's half, the neighbour's half).
fn pair() -> (Can, Peer, Zone, Zone) {
    let mut victim = alone();
    let neighbour = peer("neighbour", 2);
    let answer = victim.handle_request(&neighbour, CanMessage::Join { redirected: None }, Time::ZERO);
    let CanMessage::Welcome { zones, .. } = answer else { panic!("the newcomer is admitted: {answer:?}") };
    let kept = victim.view().own().to_vec();
    assert_eq!((kept.len(), zones.len()), (1, 1));
    (victim, neighbour, kept[0], zones[0])
}

fn update(zones: Vec<Zone>, taken: Vec<Zone>) -> CanMessage {
    CanMessage::Update { zones, taken, neighbours: Owners::default() }
}

#[test]
fn a_peers_claim_does_not_take_a_zone_the_node_joined_into() {
    let (lower, upper) = Zone::WHOLE.split().expect("the whole space splits");
    let attacker = peer("attacker", 66);
    let claims = [
        update(vec![lower, upper], Vec::new()),
        update(vec![Zone::WHOLE], Vec::new()),
        update(vec![lower, upper], vec![lower, upper]),
        CanMessage::TakeOver { taken: vec![Zone::WHOLE], zones: vec![Zone::WHOLE] },
    ];
    for claim in claims {
        let mut victim = alone();
        victim.handle_request(&attacker, claim.clone(), Time(1));
        victim.handle_response(&attacker, claim.clone(), Time(2));
        assert_eq!(victim.view().own(), &[Zone::WHOLE], "after {claim:?}");
        assert!(victim.is_joined(), "after {claim:?}");
    }
    let (mut victim, _, mine, theirs) = pair();
    victim.handle_request(&attacker, update(vec![mine], Vec::new()), Time(1));
    assert_eq!(victim.view().own(), &[mine], "a joined node keeps its half");
    assert_ne!(mine, theirs);
}

/// The victim, after its neighbour fell silent and it took the
/// neighbour's half over.
fn after_take_over() -> (Can, Peer, Zone, Zone) {
    let (mut victim, neighbour, mine, theirs) = pair();
    let mut rng = Rng::new(7);
    for round in 0..u64::from(CanConfig::default().failures_to_drop) {
        victim.peer_failed(&neighbour, Time(round));
    }
    for round in 0..3 {
        victim.tick(Time(10 + round), &mut rng);
    }
    assert_eq!(victim.view().own(), &[Zone::WHOLE], "the silent neighbour's half is taken over");
    (victim, neighbour, mine, theirs)
}

#[test]
fn a_zone_taken_over_gives_way_to_its_live_holder() {
    let (mut victim, neighbour, mine, theirs) = after_take_over();
    // It was only slow: its own claim wins back what it never gave up.
    victim.handle_request(&neighbour, update(vec![theirs], Vec::new()), Time(20));
    assert_eq!(victim.view().own(), &[mine]);
    assert!(victim.is_joined());
}

#[test]
fn between_two_take_overs_the_narrower_or_smaller_claim_stands() {
    let (mut victim, _, mine, theirs) = after_take_over();
    let rival = peer("rival", 3);
    // Another neighbour took the same half over and holds nothing else:
    // it holds less apart from the zone, so it keeps it.
    victim.handle_request(&rival, update(vec![theirs], vec![theirs]), Time(20));
    assert_eq!(victim.view().own(), &[mine]);
}

#[test]
fn a_leave_notice_credits_the_taker_only_with_the_leavers_zones() {
    let (mut victim, neighbour, mine, theirs) = pair();
    let (stranger, accomplice) = (peer("stranger", 66), peer("accomplice", 67));
    victim.handle_request(&stranger, CanMessage::Leaving { zones: vec![theirs, mine], to: accomplice }, Time(1));
    assert_eq!(victim.view().zones_of(&accomplice.id), None, "credited on a stranger's word");
    assert_eq!(victim.view().zones_of(&neighbour.id), Some(&[theirs][..]));

    // The neighbour's own notice hands its zone, and only its zone, on.
    victim.handle_request(&neighbour, CanMessage::Leaving { zones: vec![theirs, mine], to: accomplice }, Time(2));
    assert_eq!(victim.view().zones_of(&accomplice.id), Some(&[theirs][..]));
    assert_eq!(victim.view().zones_of(&neighbour.id), None);
    assert_eq!(victim.view().own(), &[mine]);
}

#[test]
fn zones_are_taken_only_from_the_peer_that_holds_them() {
    let (mut victim, neighbour, mine, theirs) = pair();
    let stranger = peer("stranger", 66);
    let give = CanMessage::Give { zones: vec![theirs], taken: Vec::new(), neighbours: Vec::new() };
    let answer = victim.handle_request(&stranger, give.clone(), Time(1));
    assert!(matches!(answer, CanMessage::Refused), "{answer:?}");
    assert_eq!(victim.view().own(), &[mine]);

    let answer = victim.handle_request(&neighbour, give, Time(2));
    assert!(matches!(answer, CanMessage::Taken(_)), "{answer:?}");
    assert_eq!(victim.view().own(), &[Zone::WHOLE], "the halves merge");
}

/// Between finding a neighbour dead and taking its zone over, a node
/// answers lookups for points in that zone with the holders it knows,
/// instead of pointing at the dead owner.
#[test]
fn a_zone_waiting_for_its_taker_is_served_by_its_neighbour() {
    let (mut victim, neighbour, _, _) = pair();
    let asker = peer("asker", 3);
    let route = |node: &mut Can, key| node.handle_request(&asker, CanMessage::Route(key), Time(1));
    // Keys whose points lie in the neighbour's half: the victim points there.
    let theirs: Vec<Id> = (0u32..64)
        .map(|i| Id::hash(&i.to_be_bytes()))
        .filter(|key| matches!(route(&mut victim, *key), CanMessage::Closer(_)))
        .collect();
    assert!(!theirs.is_empty());
    for _ in 0..CanConfig::default().failures_to_drop {
        victim.peer_failed(&neighbour, Time(2));
    }
    for key in theirs {
        assert!(matches!(route(&mut victim, key), CanMessage::Owner(_)), "key {key}");
    }
}
