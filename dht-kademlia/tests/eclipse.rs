//! An eclipse attempt: one host mints 1,000 node ids and answers every
//! request, hoping to fill a victim's buckets. The per-network caps keep it
//! to a handful of entries, and every honest peer keeps its place.

use dht_core::{Address, Id, Overlay, Peer, Time};
use dht_kademlia::{Kademlia, KademliaConfig};

fn public(n: u32) -> Address {
    // Honest peers: one per /24, in 198.18.0.0/15 (benchmarking range, not
    // private, so the caps apply).
    Address::Socket(std::net::SocketAddr::from(([198, 18 + (n / 256) as u8, (n % 256) as u8, 1], 4000)))
}

fn attacker(n: u32) -> Peer {
    let addr = Address::Socket(std::net::SocketAddr::from(([203, 0, 113, 7], 10_000 + n as u16)));
    Peer::new(Id::hash(format!("forged-{n}").as_bytes()), addr)
}

/// How many of the victim's contacts the attacker holds, and how many of
/// the honest peers it kept, after honest peers and the flood are seen.
fn flood(config: KademliaConfig, forged_ids: u32) -> (usize, usize, usize) {
    let victim = Peer::new(Id::hash(b"victim"), public(9999));
    let mut kad = Kademlia::new(victim, config);
    let honest: Vec<Peer> = (0..60).map(|n| Peer::new(Id::hash(format!("honest-{n}").as_bytes()), public(n))).collect();
    for (i, peer) in honest.iter().enumerate() {
        kad.peer_alive(peer, Time(i as u64));
    }
    for n in 0..forged_ids {
        kad.peer_alive(&attacker(n), Time(1_000 + u64::from(n)));
    }
    let contacts = kad.neighbours();
    let forged = contacts.iter().filter(|p| p.addr.net_prefix() == attacker(0).addr.net_prefix()).count();
    let kept = honest.iter().filter(|h| contacts.contains(h)).count();
    (forged, kept, contacts.len())
}

#[test]
fn a_thousand_ids_from_one_host_do_not_take_over_the_buckets() {
    let config = KademliaConfig::default();
    let (_, alone, _) = flood(config.clone(), 0);
    let (forged, kept, total) = flood(config.clone(), 1_000);
    eprintln!("capped: {forged} forged of {total} contacts; {kept} honest kept of {alone}");
    assert!(forged <= config.max_per_prefix_table, "{forged} forged contacts of {total}");
    assert_eq!(kept, alone, "every honest contact keeps its place");

    // The same flood without caps: the attacker's ids outnumber the honest ones.
    let mut uncapped = config;
    uncapped.max_per_prefix_bucket = usize::MAX;
    uncapped.max_per_prefix_table = usize::MAX;
    let (forged, kept, total) = flood(uncapped, 1_000);
    eprintln!("uncapped: {forged} forged of {total} contacts; {kept} honest kept");
    assert!(forged > total / 2, "without caps the flood holds {forged} of {total}");
}

#[test]
fn peers_on_one_local_network_are_not_capped() {
    let victim = Peer::new(Id::hash(b"victim"), Address::Socket("127.0.0.1:4000".parse().expect("addr")));
    let mut kad = Kademlia::new(victim, KademliaConfig::default());
    for n in 0..100u16 {
        let peer = Peer::new(Id::hash(&n.to_be_bytes()), Address::Socket(([127, 0, 0, 1], 5000 + n).into()));
        kad.peer_alive(&peer, Time(u64::from(n)));
    }
    assert!(kad.neighbours().len() > 50, "a loopback cluster fills the table: {}", kad.neighbours().len());
}
