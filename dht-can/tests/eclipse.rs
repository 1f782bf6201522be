//! An eclipse attempt on CAN: one host sends 1,000 joins under minted ids
//! to a node, each asking for half its zone. Past the per-network cap the
//! node refuses to split, keeps most of its zone, and still admits honest
//! newcomers from other networks.

use dht_can::{Can, CanConfig, CanMessage};
use dht_core::{Address, Id, Overlay, Peer, Role, Time};

fn peer(name: &str, ip: [u8; 4], port: u16) -> Peer {
    Peer::new(Id::hash(name.as_bytes()), Address::Socket((ip, port).into()))
}

/// Joins accepted from the flooding host, and the victim's own share of the space.
fn flood(config: CanConfig) -> (usize, f64, bool) {
    let mut victim = Can::new(peer("victim", [198, 51, 100, 1], 4000), config);
    victim.bootstrap(&[], Role::Member, Time::ZERO);
    let mut accepted = 0;
    for n in 0..1_000u16 {
        let from = peer(&format!("forged-{n}"), [203, 0, 113, 7], 10_000 + n);
        let answer = victim.handle_request(&from, CanMessage::Join { redirected: Some(u8::MAX) }, Time(u64::from(n)));
        accepted += usize::from(matches!(answer, CanMessage::Welcome { .. }));
    }
    let share: f64 = victim.view().own().iter().map(|z| z.volume()).sum();
    let honest = peer("honest", [192, 0, 2, 9], 4000);
    let answer = victim.handle_request(&honest, CanMessage::Join { redirected: Some(u8::MAX) }, Time(5_000));
    (accepted, share, matches!(answer, CanMessage::Welcome { .. }))
}

#[test]
fn a_thousand_joins_from_one_host_do_not_surround_a_node() {
    let config = CanConfig::default();
    let (accepted, share, honest_admitted) = flood(config.clone());
    eprintln!("capped: {accepted} joins accepted from one host; victim keeps {share} of the space");
    assert_eq!(accepted, config.max_per_prefix, "joins accepted from one host");
    assert!(share >= 0.5f64.powi(config.max_per_prefix as i32), "victim keeps {share} of the space");
    assert!(honest_admitted, "a newcomer from another network is still admitted");

    let mut uncapped = config;
    uncapped.max_per_prefix = usize::MAX;
    let (accepted, share, _) = flood(uncapped);
    eprintln!("uncapped: {accepted} joins accepted from one host; victim keeps {share} of the space");
    assert!(accepted > 100, "without the cap the host takes {accepted} pieces, leaving the victim {share}");
}
