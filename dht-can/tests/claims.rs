//! Leave notices and hand-overs move only zones their sender held: no peer
//! credits a third party with zones it never had, or hands a node zones
//! that are not its own to give.
#![allow(clippy::expect_used)]

use dht_can::{Can, CanConfig, CanMessage, Zone};
use dht_core::{Address, Id, Overlay, Peer, Role, Time};

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
    let give = CanMessage::Give { zones: vec![theirs], neighbours: Vec::new() };
    let answer = victim.handle_request(&stranger, give.clone(), Time(1));
    assert!(matches!(answer, CanMessage::Refused), "{answer:?}");
    assert_eq!(victim.view().own(), &[mine]);

    let answer = victim.handle_request(&neighbour, give, Time(2));
    assert!(matches!(answer, CanMessage::Taken(_)), "{answer:?}");
    assert_eq!(victim.view().own(), &[Zone::WHOLE], "the halves merge");
}
