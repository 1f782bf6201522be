//! A hostile hop that answers every lookup step with fresh peers nearer
//! the target — all of them its colluders, who do the same — cannot keep a
//! lookup running: the node ends it once it has spent its request budget.

use dht_chord::{Chord, ChordConfig, ChordMessage};
use dht_core::{Address, Id, OpOutcome, Peer, Request, Response};
use dht_kademlia::{KadMessage, Kademlia, KademliaConfig};
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;

#[test]
fn a_lookup_fed_ever_nearer_fakes_ends_within_its_budget() {
    let mut sim = Simulation::new(SimConfig::new(3), |p| Kademlia::new(p, KademliaConfig::default()));
    sim.grow(40, Duration::from_millis(20), Duration::from_secs(20));
    let colluders: Vec<u32> = (1..=5).collect();
    let target = Id::hash(b"target");
    let mut fresh: u64 = 0;
    let addresses = colluders.clone();
    sim.set_adversary(
        colluders.clone(),
        Box::new(move |_, _, request| {
            let Request::Overlay(KadMessage::FindNode(wanted)) = request else { return None };
            // Twenty ids each nearer `wanted` than any named before, at the
            // colluders' addresses: every one answers, with more of the same.
            let fakes = (0..20)
                .map(|i| {
                    fresh += 1;
                    // Distance to `wanted`: zero but for the last eight bytes,
                    // which shrink with every fake.
                    let mut id = *wanted;
                    for (byte, d) in id.0[24..].iter_mut().zip((u64::MAX - fresh).to_be_bytes()) {
                        *byte ^= d;
                    }
                    Peer::new(id, Address::Memory(addresses[i % addresses.len()]))
                })
                .collect();
            Some(Response::Overlay(KadMessage::Nodes(fakes)))
        }),
    );
    let honest = 20;
    let budget = sim.config().node.max_lookup_requests;
    let sent_before = sim.delivered();
    let op = sim.find_peers(honest, target).expect("node is up");
    assert!(sim.wait_for(&[op], Duration::from_secs(600)), "the lookup ended");
    let event = sim.take_result(op).expect("a result");
    assert!(matches!(event.outcome, OpOutcome::FindPeers(_)));
    assert!(event.stats.messages as usize <= budget + 3, "{} requests, budget {budget}", event.stats.messages);
    // Requests and answers of the whole network while the lookup ran.
    eprintln!("lookup sent {} requests; {} messages delivered", event.stats.messages, sim.delivered() - sent_before);
}

/// A get whose first lookup spends its whole budget on such fakes, and so
/// finds nobody, looks again at the next tick with a fresh budget: once
/// the hops answer honestly it gets the value. (When the budget counted
/// the whole operation's requests, every later look ended at once, spent,
/// and the get failed.)
#[test]
fn a_get_whose_lookup_spent_its_budget_on_fakes_looks_again_with_a_fresh_one() {
    let mut sim = Simulation::new(SimConfig::new(5), |p| Chord::new(p, ChordConfig::default()));
    sim.grow(24, Duration::from_millis(20), Duration::from_secs(30));
    let key = Id::hash(b"key");
    let put = sim.put(0, key, &b"value"[..]).expect("node is up");
    assert!(sim.wait_for(&[put], Duration::from_secs(60)), "the put ended");
    assert!(matches!(sim.take_result(put).map(|e| e.outcome), Some(OpOutcome::Put(Ok(_)))));

    let budget = sim.config().node.max_lookup_requests;
    let requester = 23;
    let others: Vec<u32> = (0..requester).collect();
    let addresses = others.clone();
    let (mut fooled, mut fresh) = (0, 0u64);
    sim.set_adversary(
        others,
        Box::new(move |_, _, request| {
            let Request::Overlay(ChordMessage::FindSuccessor(wanted)) = request else { return None };
            if *wanted != key || fooled >= budget {
                return None;
            }
            fooled += 1;
            // Three fresh ids within 2^64 of the key, nearer it than any
            // real node, at real nodes' addresses: asked next, and they do
            // the same.
            let next = (0..3)
                .map(|i| {
                    fresh += 1;
                    let mut id = *wanted;
                    for (byte, d) in id.0[24..].iter_mut().zip(fresh.to_be_bytes()) {
                        *byte = byte.wrapping_sub(d);
                    }
                    Peer::new(id, Address::Memory(addresses[i % addresses.len()]))
                })
                .collect();
            Some(Response::Overlay(ChordMessage::Closer { next, beyond: Vec::new() }))
        }),
    );
    let get = sim.get(requester, key).expect("node is up");
    assert!(sim.wait_for(&[get], Duration::from_secs(300)), "the get ended");
    let event = sim.take_result(get).expect("a result");
    assert!(event.stats.messages as usize > budget, "the first look spent its budget: {}", event.stats.messages);
    assert!(matches!(&event.outcome, OpOutcome::Get(Ok(Some(r))) if r.value == b"value"[..]), "{:?}", event.outcome);
}
