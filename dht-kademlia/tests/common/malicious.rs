//! The malicious-node experiment shared by the test and the example: a
//! share of the nodes answer every lookup request with their colluders
//! (the malicious ids closest to the target), acknowledge stores they drop,
//! and answer every fetch with "not found". Honest nodes put and get keys;
//! the result is the share of lookups that still find the closest honest
//! node, and of gets that read back what was put.

use dht_core::{Id, OpOutcome, Peer, Request, Response};
use dht_kademlia::{KadMessage, Kademlia, KademliaConfig};
use dht_testkit::sim::{SimConfig, Simulation};
use std::collections::BTreeSet;
use std::time::Duration;

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Lookups whose result held the closest honest node to the target.
    pub lookups: f64,
    /// Gets that read back the value put.
    pub gets: f64,
    /// Requests per lookup.
    pub messages: f64,
}

/// Runs `trials` puts, gets and lookups from honest nodes in a network of
/// `nodes` where `malicious` of them (a fraction) attack.
pub fn run(nodes: usize, k: usize, malicious: f64, paths: usize, trials: usize, seed: u64) -> Outcome {
    let mut config = KademliaConfig::default();
    config.k = k;
    config.disjoint_paths = paths;
    let mut sim = Simulation::new(SimConfig::new(seed), move |p| Kademlia::new(p, config.clone()));
    sim.grow(nodes, Duration::from_millis(10), Duration::from_secs(30));
    let live = sim.live_nodes();
    let bad: BTreeSet<u32> = live.iter().copied().filter(|_| sim.rng().chance(malicious)).collect();
    let honest: Vec<u32> = live.iter().copied().filter(|n| !bad.contains(n)).collect();
    let colluders: Vec<Peer> = bad.iter().filter_map(|&n| sim.peer(n)).collect();
    let honest_peers: Vec<Peer> = honest.iter().filter_map(|&n| sim.peer(n)).collect();
    sim.set_adversary(bad.iter().copied(), Box::new(move |_, _, request| attack(&colluders, k, request)));

    let pick = |sim: &mut Simulation<Kademlia>| honest[sim.rng().index(honest.len())];
    let keys: Vec<(Id, u32, u32)> = (0..trials)
        .map(|i| (Id::hash(format!("malicious-{seed}-{i}").as_bytes()), pick(&mut sim), pick(&mut sim)))
        .collect();
    let puts: Vec<_> = keys.iter().filter_map(|(key, via, _)| sim.put(*via, *key, key.to_hex())).collect();
    sim.wait_for(&puts, Duration::from_secs(120));
    let gets: Vec<_> = keys.iter().filter_map(|(key, _, reader)| sim.get(*reader, *key)).collect();
    sim.wait_for(&gets, Duration::from_secs(120));
    let read_back = gets
        .iter()
        .zip(&keys)
        .filter(|(op, (key, ..))| {
            matches!(sim.take_result(**op).map(|e| e.outcome),
                Some(OpOutcome::Get(Ok(Some(r)))) if r.value == key.to_hex().as_bytes())
        })
        .count();

    let targets: Vec<(Id, u32)> =
        (0..trials).map(|i| (Id::hash(format!("target-{seed}-{i}").as_bytes()), pick(&mut sim))).collect();
    let lookups: Vec<_> = targets.iter().filter_map(|(t, via)| sim.find_peers(*via, *t)).collect();
    sim.wait_for(&lookups, Duration::from_secs(120));
    let (mut found, mut messages) = (0, 0u64);
    for (op, (target, _)) in lookups.iter().zip(&targets) {
        let Some(event) = sim.take_result(*op) else { continue };
        messages += u64::from(event.stats.messages);
        let closest_honest = honest_peers.iter().min_by_key(|p| p.id.distance(target)).map(|p| p.id);
        if let OpOutcome::FindPeers(peers) = event.outcome {
            found += usize::from(peers.iter().any(|p| Some(p.id) == closest_honest));
        }
    }
    let share = |n: usize| n as f64 / trials as f64;
    Outcome { lookups: share(found), gets: share(read_back), messages: messages as f64 / trials as f64 }
}

fn attack(colluders: &[Peer], k: usize, request: &Request<KadMessage>) -> Option<Response<KadMessage>> {
    match request {
        Request::Overlay(KadMessage::FindNode(target)) => {
            let mut peers = colluders.to_vec();
            peers.sort_by_key(|p| p.id.distance(target));
            peers.truncate(k);
            Some(Response::Overlay(KadMessage::Nodes(peers)))
        }
        Request::Store(_) | Request::Replicate(_) => Some(Response::Stored(true)),
        Request::Fetch(_) => Some(Response::Value(None)),
        _ => None,
    }
}
