//! Pastry after a third of the nodes fail at once: within a minute of
//! maintenance, every lookup ends at the key's live root — the leaf sets
//! and routing tables have dropped the dead and refilled.

use dht_core::{Id, OpOutcome};
use dht_pastry::digits::root_of;
use dht_pastry::{Pastry, PastryConfig};
use dht_testkit::sim::{SimConfig, Simulation};
use std::time::Duration;

#[test]
fn lookups_reach_the_live_root_a_minute_after_a_third_of_the_nodes_fail() {
    let mut sim = Simulation::new(SimConfig::new(11), |peer| Pastry::new(peer, PastryConfig::default()));
    assert!(sim.warm_start(3000));
    sim.crash_fraction(0.35);
    sim.run_for(Duration::from_secs(60));
    let mut live: Vec<Id> = sim.live_nodes().iter().filter_map(|&n| sim.peer(n)).map(|p| p.id).collect();
    live.sort_unstable();
    let mut started = Vec::new();
    for _ in 0..500 {
        let key = sim.rng().id();
        let node = sim.random_live_node().expect("live nodes");
        started.push((sim.find_peers(node, key).expect("a live node"), key));
    }
    let ops: Vec<_> = started.iter().map(|(op, _)| *op).collect();
    sim.wait_for(&ops, Duration::from_secs(120));
    let mut wrong = Vec::new();
    for (op, key) in started {
        let found = match sim.take_result(op).map(|e| e.outcome) {
            Some(OpOutcome::FindPeers(peers)) => {
                peers.into_iter().map(|p| p.id).find(|id| live.binary_search(id).is_ok())
            }
            _ => None,
        };
        if found != root_of(&live, &key) {
            wrong.push((key, found));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 500 lookups missed the live root: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}
