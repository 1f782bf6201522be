//! The ring converges: after many concurrent joins, and after crashes,
//! stabilization leaves every node with its true successor and predecessor.
#![allow(clippy::expect_used)]

use dht_chord::{Chord, ChordConfig};
use dht_core::{Id, SimOverlay};
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;

/// Nodes whose successor or predecessor is not the true one.
fn wrong_pointers(sim: &Simulation<Chord>) -> usize {
    let mut ids: Vec<(Id, u32)> = sim.live_nodes().into_iter().filter_map(|n| Some((sim.peer(n)?.id, n))).collect();
    ids.sort();
    let len = ids.len();
    ids.iter()
        .enumerate()
        .filter(|(i, (_, n))| {
            let ring = sim.node(*n).expect("live").overlay().ring();
            ring.successor().id != ids[(i + 1) % len].0
                || ring.predecessor().map(|p| p.id) != Some(ids[(i + len - 1) % len].0)
        })
        .count()
}

#[test]
fn concurrent_joins_converge_to_the_true_ring() {
    let mut sim = Simulation::new(SimConfig::new(21), |peer| Chord::new(peer, ChordConfig::default()));
    // A join every 20 ms: dozens of joins are in flight at once.
    sim.grow(400, Duration::from_millis(20), Duration::ZERO);
    assert!(wrong_pointers(&sim) > 0, "concurrent joins leave the ring unsettled at first");
    sim.run_for(Duration::from_secs(90));
    assert_eq!(wrong_pointers(&sim), 0);
    let node = sim.node(sim.live_nodes()[0]).expect("live");
    assert!(node.overlay().ring().fingers().len() >= 5, "fingers were fixed");
    assert!(node.overlay().routing_entries() > 16);
}

#[test]
fn crashes_are_healed_by_successor_lists() {
    let mut sim = Simulation::new(SimConfig::new(22), |peer| Chord::new(peer, ChordConfig::default()));
    sim.grow(300, Duration::from_millis(50), Duration::from_secs(60));
    sim.crash_fraction(0.3);
    sim.run_for(Duration::from_secs(120));
    assert_eq!(wrong_pointers(&sim), 0);
}
